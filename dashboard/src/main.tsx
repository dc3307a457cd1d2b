import { getAddress } from "ethers";
import { StrictMode, useEffect, useState, type ReactNode } from "react";
import { createRoot } from "react-dom/client";

import { ChainProvider, connectChain, useChain, type BlockInfo } from "./chain.js";
import { loadConfig, type AppConfig } from "./config.js";
import { MarketPage } from "./pages/Market.js";
import { MyJobsPage } from "./pages/MyJobs.js";
import { ProposalPage } from "./pages/Proposal.js";
import { ProposalsPage } from "./pages/Proposals.js";
import { RateCardPage } from "./pages/RateCard.js";
import { ReceiptPage, ReceiptsPage, VerifyPage } from "./pages/Receipts.js";
import { ErrorBoundary, ErrorPanel, Loading } from "./ui.js";
import { useWallet, WalletProvider } from "./wallet.js";
import "./styles.css";

function useHashRoute(): string {
  const [route, setRoute] = useState(() => window.location.hash.replace(/^#/, "") || "/proposals");
  useEffect(() => {
    const onChange = () => setRoute(window.location.hash.replace(/^#/, "") || "/proposals");
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function Page(props: { route: string }): ReactNode {
  const parts = props.route.split("/").filter((p) => p !== "");
  const [section, id] = [parts[0] ?? "proposals", parts[1]];
  switch (section) {
    case "proposals":
      return id === undefined ? <ProposalsPage /> : <ProposalPage id={decodeURIComponent(id)} />;
    case "rates":
      return <RateCardPage />;
    case "market":
      return <MarketPage />;
    case "jobs":
      return <MyJobsPage />;
    case "receipts":
      return id === undefined ? <ReceiptsPage /> : <ReceiptPage id={decodeURIComponent(id)} />;
    case "verify":
      return <VerifyPage />;
    default:
      return <ErrorPanel title="Page not found" error={{ code: "NOT_FOUND", message: `There is no page #${props.route}`, hint: "Use the navigation above." }} />;
  }
}

const NAV = [
  ["proposals", "Proposals"],
  ["rates", "Rate card"],
  ["market", "Marketplace"],
  ["jobs", "My jobs"],
  ["receipts", "Receipts"],
  ["verify", "Verify"],
] as const;

function AccountPicker() {
  const wallet = useWallet();
  const value = wallet.kind === "dev" ? wallet.account : wallet.kind === "injected" ? "injected" : "";
  return (
    <div className="account">
      <select
        aria-label="account"
        data-testid="account-select"
        value={value}
        onChange={(e) => {
          const v = e.target.value;
          if (v === "") wallet.disconnect();
          else if (v === "injected") void wallet.connectInjected();
          else wallet.useDevAccount(v);
        }}
      >
        <option value="">Read only</option>
        {wallet.hasInjected && <option value="injected">{wallet.kind === "injected" ? `Wallet ${wallet.account?.slice(0, 8)}…` : "Connect browser wallet"}</option>}
        {wallet.devAccounts.map((a, i) => (
          <option key={a} value={getAddress(a)}>
            dev #{i} {a.slice(0, 8)}…{a.slice(-4)}
          </option>
        ))}
      </select>
      {wallet.problem !== undefined && (
        <div className="bad small" role="alert">
          {wallet.problem} <button onClick={() => void wallet.switchInjectedChain()}>Switch network</button>
        </div>
      )}
      {wallet.error !== undefined && (
        <div className="bad small" role="alert">
          {wallet.error}
        </div>
      )}
    </div>
  );
}

function Shell() {
  const chain = useChain();
  const route = useHashRoute();
  const section = route.split("/")[1] ?? "proposals";
  return (
    <>
      <header>
        <div className="brand">
          <strong>AITBC DAO</strong>
          <span className="muted small" data-testid="network">
            {chain.config.network} · chain {chain.config.chainId} · block <span data-testid="block-number">{chain.block.number}</span>
          </span>
        </div>
        <nav>
          {NAV.map(([path, label]) => (
            <a key={path} href={`#/${path}`} className={section === path ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <AccountPicker />
      </header>
      {chain.rpcError !== undefined && (
        <div className="panel error banner" role="alert" data-testid="rpc-down">
          <strong>The node does not answer</strong> — showing the last known data. ({chain.rpcError})
        </div>
      )}
      <main>
        <ErrorBoundary resetKey={route}>
          <Page route={route} />
        </ErrorBoundary>
      </main>
    </>
  );
}

type Boot = { phase: "loading" } | { phase: "failed"; error: unknown } | { phase: "ready"; config: AppConfig; provider: Awaited<ReturnType<typeof connectChain>>["provider"]; block: BlockInfo };

function App() {
  const [boot, setBoot] = useState<Boot>({ phase: "loading" });
  useEffect(() => {
    loadConfig()
      .then(async (config) => ({ config, ...(await connectChain(config)) }))
      .then(
        ({ config, provider, block }) => setBoot({ phase: "ready", config, provider, block }),
        (error: unknown) => setBoot({ phase: "failed", error }),
      );
  }, []);
  if (boot.phase === "loading") return <Loading what="the deployment" />;
  if (boot.phase === "failed") {
    return (
      <main>
        <h1>AITBC DAO dashboard</h1>
        <ErrorPanel title="The dashboard cannot start" error={boot.error} testId="boot-error" />
        <button onClick={() => window.location.reload()}>Retry</button>
      </main>
    );
  }
  return (
    <ChainProvider config={boot.config} provider={boot.provider} initialBlock={boot.block}>
      <WalletProvider>
        <Shell />
      </WalletProvider>
    </ChainProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
