import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Interface, type ContractTransactionResponse, type TransactionReceipt } from "ethers";

import { contractAddress } from "../../lib/deployments.js";
import { AitbcError } from "../../lib/errors.js";
import { formatTokenAmount } from "../../lib/governance/amounts.js";
import { jobStatusName, type JobStatusName } from "../../lib/market/jobs.js";
import {
  AITBCToken__factory,
  JobEscrow__factory,
  ModelRegistry__factory,
  ProviderRegistry__factory,
  type AITBCToken,
  type JobEscrow,
  type ModelRegistry,
  type ProviderRegistry,
} from "../../typechain-types/index.js";
import { type DeployedContext, type TaskContext, withDeployment } from "../shared/cli.js";

export { pickSender } from "../dao/shared.js";

export interface MarketContracts {
  token: AITBCToken;
  models: ModelRegistry;
  providers: ProviderRegistry;
  escrow: JobEscrow;
}

export interface MarketContext extends DeployedContext {
  /** Read-only handles; `.connect(signer)` to send. */
  market: MarketContracts;
  addresses: { token: string; models: string; providers: string; escrow: string };
}

/** Loads the deployment and the marketplace contracts; `CONTRACT_NOT_DEPLOYED` for a deployment without them. */
export async function openMarket(ctx: TaskContext): Promise<MarketContext> {
  const deployed = await withDeployment(ctx);
  const d = deployed.deployment;
  const addresses = {
    token: d.contracts.AITBCToken,
    models: contractAddress(d, "ModelRegistry"),
    providers: contractAddress(d, "ProviderRegistry"),
    escrow: contractAddress(d, "JobEscrow"),
  };
  const runner = ctx.ethers.provider;
  return {
    ...deployed,
    addresses,
    market: {
      token: AITBCToken__factory.connect(addresses.token, runner),
      models: ModelRegistry__factory.connect(addresses.models, runner),
      providers: ProviderRegistry__factory.connect(addresses.providers, runner),
      escrow: JobEscrow__factory.connect(addresses.escrow, runner),
    },
  };
}

/** Timestamp of the latest block: what the contracts compare deadlines and windows with. */
export async function chainNow(ctx: TaskContext): Promise<bigint> {
  const block = await ctx.ethers.provider.getBlock("latest");
  if (block === null) throw new AitbcError("RPC_UNREACHABLE", "the node returned no latest block", { hint: "Check the node." });
  return BigInt(block.timestamp);
}

/** `12.5 AITBC` */
export function aitbc(base: bigint): string {
  return `${formatTokenAmount(base)} AITBC`;
}

const errorInterfaces: Interface[] = [
  JobEscrow__factory.createInterface(),
  ProviderRegistry__factory.createInterface(),
  ModelRegistry__factory.createInterface(),
  AITBCToken__factory.createInterface(),
];

function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown): string | undefined => {
    if (typeof e !== "object" || e === null || seen.has(e)) return undefined;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8}/.test(o.data)) return o.data;
    for (const key of ["data", "error", "info", "cause"]) {
      const found = walk(o[key]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(error);
}

/** The custom error a call reverted with (`JobEscrowUnexpectedStatus(3, 2)`), when a marketplace contract defines it. */
export function describeMarketRevert(error: unknown): { name: string; text: string } | undefined {
  const data = revertData(error);
  if (data === undefined) return undefined;
  for (const iface of errorInterfaces) {
    try {
      const parsed = iface.parseError(data);
      if (parsed !== null) return { name: parsed.name, text: `${parsed.name}(${parsed.args.toArray().map(String).join(", ")})` };
    } catch {
      // another contract's error: try the next interface
    }
  }
  return { name: "UnknownError", text: `unknown error ${data.slice(0, 10)}` };
}

export interface SentTx {
  hash: string;
  block: number;
  gasUsed: bigint;
  receipt: TransactionReceipt;
}

/**
 * Simulates, then sends one transaction and waits for it, with progress lines. A call that would revert is reported
 * as `TX_WOULD_REVERT` naming the contract error, and nothing is sent.
 */
export async function send(
  ctx: TaskContext,
  label: string,
  call: { estimate: () => Promise<bigint>; send: () => Promise<ContractTransactionResponse> },
  hint = "The chain changed since the checks ran; re-run the command to see the current state.",
): Promise<SentTx> {
  try {
    await call.estimate();
  } catch (error) {
    const reason = describeMarketRevert(error);
    if (reason === undefined) throw error;
    throw new AitbcError("TX_WOULD_REVERT", `${label} would revert with ${reason.text}; nothing was sent`, { hint, details: { revert: reason.name }, cause: error });
  }
  const tx = await call.send();
  ctx.say(`  → ${label}: sent ${tx.hash}, waiting for it to be mined…`);
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) {
    throw new AitbcError("TX_FAILED", `${label} failed on-chain (${tx.hash})`, { hint: "Inspect the transaction on the node; nothing else was sent." });
  }
  ctx.say(`  ✓ mined in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`);
  return { hash: tx.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
}

/** Transaction summary for `--json` output. */
export function txJson(tx: SentTx): { hash: string; block: number; gasUsed: bigint } {
  return { hash: tx.hash, block: tx.block, gasUsed: tx.gasUsed };
}

export type Signer = HardhatEthersSigner;

/** One job as the CLI reports it. */
export interface JobInfo {
  id: bigint;
  status: JobStatusName;
  modelId: number;
  client: string;
  provider: string;
  rate: bigint;
  maxUnitsMilli: bigint;
  escrow: bigint;
  deadline: bigint;
  unitsMilli: bigint;
  price: bigint;
  batchId: bigint;
}

/** Reads job `id`; `UNKNOWN_JOB` when the escrow has no such job. */
export async function readJob(m: MarketContext, id: bigint): Promise<JobInfo> {
  let v;
  try {
    v = await m.market.escrow.job(id);
  } catch (error) {
    if (describeMarketRevert(error)?.name === "JobEscrowUnknownJob") {
      const [jobs] = await m.market.escrow.counters();
      throw new AitbcError("UNKNOWN_JOB", `job ${id} does not exist on ${m.networkName}`, {
        hint: jobs === 0n ? "No job has been created yet; create one with `job:submit`." : `Job ids run from 1 to ${jobs}; list them with \`npx hardhat receipts --network ${m.networkName}\`.`,
        details: { jobId: id.toString() },
      });
    }
    throw error;
  }
  return {
    id,
    status: jobStatusName(v.status),
    modelId: Number(v.modelId),
    client: v.client,
    provider: v.provider,
    rate: v.rate,
    maxUnitsMilli: v.maxUnitsMilli,
    escrow: v.escrow,
    deadline: v.deadline,
    unitsMilli: v.unitsMilli,
    price: v.price,
    batchId: v.batchId,
  };
}

/** `JOB_WRONG_STATE` unless the job is in one of `allowed`. */
export function requireStatus(job: JobInfo, allowed: readonly JobStatusName[], action: string, hint: string): void {
  if (!allowed.includes(job.status)) {
    throw new AitbcError("JOB_WRONG_STATE", `job ${job.id} is ${job.status}; ${action} needs ${allowed.join(" or ")}`, {
      hint,
      details: { jobId: job.id.toString(), status: job.status, allowed: [...allowed] },
    });
  }
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `ProviderRegistry.provider(address)`: the name collides with ethers' `Contract.provider`, so it is fetched by name. */
export function providerEntry(m: MarketContext, address: string) {
  return m.market.providers.getFunction("provider")(address);
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
