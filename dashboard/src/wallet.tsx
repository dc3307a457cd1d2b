import { BrowserProvider, getAddress, JsonRpcSigner, type Eip1193Provider, type Signer } from "ethers";
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

import { describeError, useChain } from "./chain.js";

declare global {
  interface Window {
    ethereum?: Eip1193Provider & { on?: (event: string, handler: (...args: unknown[]) => void) => void; removeListener?: (event: string, handler: (...args: unknown[]) => void) => void };
  }
}

export type WalletKind = "injected" | "dev";

export interface Wallet {
  account?: string;
  kind?: WalletKind;
  /** Why the selected wallet cannot send transactions right now (wrong chain, …). */
  problem?: string;
  error?: string;
  hasInjected: boolean;
  devAccounts: string[];
  connectInjected(): Promise<void>;
  switchInjectedChain(): Promise<void>;
  useDevAccount(address: string): void;
  disconnect(): void;
  /** A signer for the selected account; throws with a readable message when there is none. */
  signer(): Promise<Signer>;
}

const WalletContext = createContext<Wallet | undefined>(undefined);

export function useWallet(): Wallet {
  const wallet = useContext(WalletContext);
  if (wallet === undefined) throw new Error("useWallet outside <WalletProvider>");
  return wallet;
}

const STORAGE_KEY = "aitbc.dashboard.wallet";

export function WalletProvider(props: { children: ReactNode }) {
  const { config, provider } = useChain();
  const injected = window.ethereum;
  const [account, setAccount] = useState<string>();
  const [kind, setKind] = useState<WalletKind>();
  const [walletChain, setWalletChain] = useState<bigint>();
  const [error, setError] = useState<string>();

  const useDevAccount = useCallback(
    (address: string) => {
      const match = config.devAccounts.find((a) => a.toLowerCase() === address.toLowerCase());
      if (match === undefined) {
        setError(`${address} is not an unlocked account of this node`);
        return;
      }
      setError(undefined);
      setKind("dev");
      setAccount(getAddress(match));
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: "dev", account: match }));
    },
    [config.devAccounts],
  );

  const connectInjected = useCallback(async () => {
    if (injected === undefined) {
      setError("No browser wallet found (window.ethereum is missing)");
      return;
    }
    try {
      const accounts = (await injected.request({ method: "eth_requestAccounts" })) as string[];
      const chainId = BigInt((await injected.request({ method: "eth_chainId" })) as string);
      if (accounts.length === 0) throw new Error("The wallet shared no account");
      setError(undefined);
      setKind("injected");
      setAccount(getAddress(accounts[0]));
      setWalletChain(chainId);
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: "injected" }));
    } catch (e) {
      setError(describeError(e));
    }
  }, [injected]);

  const switchInjectedChain = useCallback(async () => {
    if (injected === undefined) return;
    try {
      await injected.request({ method: "wallet_switchEthereumChain", params: [{ chainId: `0x${config.chainId.toString(16)}` }] });
    } catch (e) {
      setError(`Could not switch the wallet to chain ${config.chainId}: ${describeError(e)}`);
    }
  }, [injected, config.chainId]);

  const disconnect = useCallback(() => {
    setAccount(undefined);
    setKind(undefined);
    localStorage.removeItem(STORAGE_KEY);
  }, []);

  // Restore the last choice; a dev account only if this node still has it unlocked.
  useEffect(() => {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === null) return;
    try {
      const parsed = JSON.parse(saved) as { kind?: string; account?: string };
      if (parsed.kind === "dev" && typeof parsed.account === "string" && config.devAccounts.some((a) => a.toLowerCase() === parsed.account!.toLowerCase())) {
        useDevAccount(parsed.account);
      }
    } catch {
      localStorage.removeItem(STORAGE_KEY);
    }
  }, [config.devAccounts, useDevAccount]);

  useEffect(() => {
    if (injected?.on === undefined || kind !== "injected") return;
    const onAccounts = (...args: unknown[]) => {
      const accounts = args[0] as string[];
      if (accounts.length === 0) disconnect();
      else setAccount(getAddress(accounts[0]));
    };
    const onChain = (...args: unknown[]) => setWalletChain(BigInt(args[0] as string));
    injected.on("accountsChanged", onAccounts);
    injected.on("chainChanged", onChain);
    return () => {
      injected.removeListener?.("accountsChanged", onAccounts);
      injected.removeListener?.("chainChanged", onChain);
    };
  }, [injected, kind, disconnect]);

  const problem =
    kind === "injected" && walletChain !== undefined && walletChain !== BigInt(config.chainId)
      ? `Wrong network: the wallet is on chain ${walletChain}, this deployment is on chain ${config.chainId}`
      : undefined;

  const signer = useCallback(async (): Promise<Signer> => {
    if (account === undefined) throw new Error("Select an account in the account menu first");
    if (problem !== undefined) throw new Error(problem);
    if (kind === "dev") return new JsonRpcSigner(provider, account);
    if (injected === undefined) throw new Error("The browser wallet disappeared; reload the page");
    return new BrowserProvider(injected).getSigner(account);
  }, [account, kind, problem, provider, injected]);

  const wallet: Wallet = {
    account,
    kind,
    problem,
    error,
    hasInjected: injected !== undefined,
    devAccounts: config.devAccounts,
    connectInjected,
    switchInjectedChain,
    useDevAccount,
    disconnect,
    signer,
  };
  return <WalletContext.Provider value={wallet}>{props.children}</WalletContext.Provider>;
}
