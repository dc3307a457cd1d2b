/**
 * Whether a deployment is the one a node serves: the one check every caller runs before it reads or sends (the CLI
 * tasks, `deploy`, the dashboard, SDK users), with one set of error codes. Browser-safe.
 */
import type { Provider } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";

/** Chains whose state is disposable (Hardhat, anvil, Ganache): short governance windows, dev accounts, instant confirmations. */
export function isLocalChain(chainId: bigint | number): boolean {
  return BigInt(chainId) === 31337n || BigInt(chainId) === 1337n;
}

/** `live`: the node is the deployment's chain and its contracts exist there. */
export type DeploymentState = "live" | "wrong-network" | "stale";

/**
 * What the node says about `deployment`. `chainId` is the node's chain id when the caller already asked the node
 * (a provider with a static network never asks); otherwise the provider is asked.
 */
export async function deploymentState(provider: Provider, deployment: Deployment, chainId?: bigint): Promise<DeploymentState> {
  const nodeChainId = chainId ?? (await provider.getNetwork()).chainId;
  if (nodeChainId !== BigInt(deployment.chainId)) return "wrong-network";
  return (await provider.getCode(deployment.contracts.AITBCGovernor)) === "0x" ? "stale" : "live";
}

/**
 * Checks that `deployment` is live on the node `provider` talks to ({@link deploymentState}).
 *
 * @throws {AitbcError} `WRONG_NETWORK` when the node is another chain, `DEPLOYMENT_STALE` when the deployment's
 *   contracts do not exist on it (a restarted local node). `options.target` names what the user points at the
 *   chain (`--network`, the dashboard, the RPC URL) in the hint.
 */
export async function assertDeployment(provider: Provider, deployment: Deployment, options: { chainId?: bigint; target?: string } = {}): Promise<void> {
  const nodeChainId = options.chainId ?? (await provider.getNetwork()).chainId;
  const state = await deploymentState(provider, deployment, nodeChainId);
  const file = `deployments/${deployment.network}.json`;
  const redeploy = `\`npx hardhat deploy --network ${deployment.network} --redeploy\``;
  if (state === "wrong-network") {
    throw new AitbcError("WRONG_NETWORK", `${file} is for chain ${deployment.chainId}, but the node answers with chain ${nodeChainId}`, {
      hint: `Point ${options.target ?? "the RPC URL"} at the chain it was deployed to, or redeploy: ${redeploy}.`,
      details: { node: nodeChainId.toString(), deployment: deployment.chainId },
    });
  }
  if (state === "stale") {
    throw new AitbcError("DEPLOYMENT_STALE", `${file} names contracts that do not exist on this chain (was the node restarted?)`, { hint: `Redeploy: ${redeploy}.` });
  }
}
