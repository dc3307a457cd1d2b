import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse } from "ethers";

import { formatAitbc } from "../../lib/money/amounts.js";
import {
  chainTime,
  connectMarket,
  providerEntry as sdkProviderEntry,
  readJob as readSdkJob,
  requireJobStatus,
  type JobInfo,
  type MarketAddresses,
  type MarketContracts as SdkMarketContracts,
} from "../../lib/sdk/market.js";
import { sendTransaction, type SentTx } from "../../lib/sdk/tx.js";
import { type DeployedContext, type TaskContext, withDeployment } from "../shared/cli.js";

export { pickSender } from "../dao/shared.js";
export { describeContractRevert } from "../../lib/sdk/reverts.js";
export { sameAddress } from "../../lib/sdk/market.js";
export type { JobInfo } from "../../lib/sdk/market.js";
export type { SentTx } from "../../lib/sdk/tx.js";

export type MarketContracts = Omit<SdkMarketContracts, "addresses">;

export interface MarketContext extends DeployedContext {
  /** Read-only handles; `.connect(signer)` to send. */
  market: MarketContracts;
  addresses: MarketAddresses;
}

/** Loads the deployment and the marketplace contracts; `CONTRACT_NOT_DEPLOYED` for a deployment without them. */
export async function openMarket(ctx: TaskContext): Promise<MarketContext> {
  const deployed = await withDeployment(ctx);
  const { addresses, ...market } = connectMarket(deployed.deployment, ctx.ethers.provider);
  return { ...deployed, addresses, market };
}

/** Timestamp of the latest block: what the contracts compare deadlines and windows with. */
export function chainNow(ctx: TaskContext): Promise<bigint> {
  return chainTime(ctx.ethers.provider);
}

/** `12.5 AITBC` */
export const aitbc = formatAitbc;

/**
 * Simulates, then sends one transaction and waits for it, with progress lines. A call that would revert is reported
 * as `TX_WOULD_REVERT` naming the contract error, and nothing is sent.
 */
export function send(
  ctx: TaskContext,
  label: string,
  call: { estimate: () => Promise<bigint>; send: () => Promise<ContractTransactionResponse> },
  hint = "The chain changed since the checks ran; re-run the command to see the current state.",
): Promise<SentTx> {
  return sendTransaction(label, call, { onProgress: (line) => ctx.say(line), hint });
}

/** Transaction summary for `--json` output. */
export function txJson(tx: SentTx): { hash: string; block: number; gasUsed: bigint } {
  return { hash: tx.hash, block: tx.block, gasUsed: tx.gasUsed };
}

export type Signer = HardhatEthersSigner;

/** Reads job `id`; `UNKNOWN_JOB` when the escrow has no such job. */
export function readJob(m: MarketContext, id: bigint): Promise<JobInfo> {
  return readSdkJob(m.market.escrow, id, m.networkName);
}

/** `JOB_WRONG_STATE` unless the job is in one of `allowed`. */
export const requireStatus = requireJobStatus;

/** `ProviderRegistry.provider(address)` of the market's registry. */
export function providerEntry(m: MarketContext, address: string) {
  return sdkProviderEntry(m.market.providers, address);
}

/**
 * The job's `JobCreated` event: its original escrow, size and deadline, which `job()` stops reporting once the job is
 * settled (the escrow reuses those storage bits for the settlement).
 */
export async function jobCreation(m: MarketContext, id: bigint): Promise<{ escrow: bigint; maxUnitsMilli: bigint; deadline: bigint; inputHash: string } | undefined> {
  const escrow = m.market.escrow;
  const [event] = await escrow.queryFilter(escrow.filters.JobCreated(id), m.deployment.block);
  if (event === undefined) return undefined;
  return { escrow: event.args.escrow, maxUnitsMilli: event.args.maxUnitsMilli, deadline: event.args.deadline, inputHash: event.args.inputHash };
}
