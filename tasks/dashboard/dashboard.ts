import { JsonRpcProvider } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { isLocalChain } from "../../lib/sdk/deployment.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { readDeployment } from "../../lib/node/deployments-fs.js";
import { AitbcError } from "../../lib/errors.js";
import { runTask, withDeployment } from "../shared/cli.js";
import { dashboardDist, ensureDashboardBuilt } from "./build.js";
import { redact, startDashboardServer } from "./server.js";

/** Reads providers' registered service URLs for the dashboard's provider proxy. */
function serviceUrlReader(rpcUrl: string, deployment: Awaited<ReturnType<typeof readDeployment>>) {
  const chain = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  const address = deployment.contracts.ProviderRegistry;
  const providers = address === undefined ? undefined : IProviderRegistry__factory.connect(address, chain);
  return {
    async serviceUrlOf(provider: string): Promise<string | null> {
      if (providers === undefined) return null;
      const url = (await providers.endpointOf(provider)).serviceUrl;
      return url === "" ? null : url;
    },
  };
}

interface DashboardArgs {
  port: number;
  relayer: string;
  rebuild: boolean;
}

/** What `/config.json` tells the app. The browser reaches the node at `rpcProxy` and the relayer at `relayerProxy`. */
export interface DashboardConfig {
  network: string;
  chainId: number;
  local: boolean;
  deployment: Awaited<ReturnType<typeof readDeployment>>;
  /** The node's URL; only on local chains, since hosted RPC URLs carry API keys. */
  rpcUrl?: string;
  rpcProxy: "/rpc";
  /** The relayer's base URL (for display), when one was configured. */
  relayerUrl?: string;
  relayerProxy?: "/relayer";
  /** Unlocked accounts of a local node, usable without a browser wallet. Empty elsewhere. */
  devAccounts: string[];
}

export default async function dashboardAction(args: DashboardArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, {}, async (base) => {
    const ctx = await withDeployment(base);
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65_535) {
      throw new AitbcError("BAD_PORT", `--port ${args.port} is not a TCP port`, { hint: "Pass a number from 1 to 65535, or 0 for a free port." });
    }
    const relayerUrl = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer.trim());
    const connection = await hre.network.getOrCreate();
    const networkConfig = connection.networkConfig;
    if (networkConfig.type !== "http") {
      throw new AitbcError("EPHEMERAL_NETWORK", "The dashboard needs a network with an RPC URL", { hint: "Pass --network localhost (or another http network)." });
    }
    const rpcUrl = await networkConfig.url.get();
    const local = isLocalChain(ctx.chainId);

    const root = hre.config.paths.root;
    if (await ensureDashboardBuilt(root, { force: args.rebuild, say: ctx.say })) ctx.say("Built dashboard/dist");

    const devAccounts = local ? ((await ctx.ethers.provider.send("eth_accounts", [])) as string[]) : [];
    const config = async (): Promise<DashboardConfig> => ({
      network: ctx.networkName,
      chainId: Number(ctx.chainId),
      local,
      // The same file withDeployment checked: deployments/ under the working directory.
      deployment: await readDeployment(ctx.networkName),
      rpcUrl: local ? rpcUrl : undefined,
      rpcProxy: "/rpc",
      relayerUrl,
      relayerProxy: relayerUrl === undefined ? undefined : "/relayer",
      devAccounts,
    });

    const registry = serviceUrlReader(rpcUrl, await readDeployment(ctx.networkName));
    const server = await startDashboardServer({ dist: dashboardDist(root), port: args.port, rpcUrl, relayerUrl, config, serviceUrlOf: registry.serviceUrlOf });
    ctx.say(`Dashboard for ${ctx.networkName} (chain ${ctx.chainId}, node ${redact(rpcUrl)}${relayerUrl === undefined ? "" : `, relayer ${relayerUrl}`})`);
    // Scripts and tests read this exact line to learn the URL (the port may have been chosen by the OS).
    console.log(`Dashboard listening on ${server.url}`);
    ctx.say("Press Ctrl-C to stop.");

    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await server.close();
    return undefined;
  });
}

function parseRelayerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AitbcError("BAD_URL", `--relayer ${text} is not a URL`, { hint: "Pass the relayer's base URL, e.g. http://127.0.0.1:8788." });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AitbcError("BAD_URL", `--relayer must be an http(s) URL, got ${url.protocol}`, { hint: "Pass the relayer's base URL, e.g. http://127.0.0.1:8788." });
  }
  return url.href.replace(/\/$/, "");
}
