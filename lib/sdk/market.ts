/**
 * The marketplace contracts of one deployment, and the reads every role needs (jobs, provider entries, payouts).
 */
import type { ContractRunner, Provider, Signer } from "ethers";

import { contractAddress, type Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { jobStatusName, type JobStatusName } from "../market/jobs.js";
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
import { describeContractRevert } from "./reverts.js";

export interface MarketAddresses {
  token: string;
  models: string;
  providers: string;
  escrow: string;
}

/** Typed handles on the marketplace contracts, bound to one runner (a provider to read, a signer to send). */
export interface MarketContracts {
  token: AITBCToken;
  models: ModelRegistry;
  providers: ProviderRegistry;
  escrow: JobEscrow;
  addresses: MarketAddresses;
}

/**
 * Connects the marketplace contracts of `deployment` to `runner`.
 *
 * @throws {AitbcError} `CONTRACT_NOT_DEPLOYED` for a deployment without the marketplace.
 */
export function connectMarket(deployment: Deployment, runner: ContractRunner): MarketContracts {
  const addresses: MarketAddresses = {
    token: deployment.contracts.AITBCToken,
    models: contractAddress(deployment, "ModelRegistry"),
    providers: contractAddress(deployment, "ProviderRegistry"),
    escrow: contractAddress(deployment, "JobEscrow"),
  };
  return {
    addresses,
    token: AITBCToken__factory.connect(addresses.token, runner),
    models: ModelRegistry__factory.connect(addresses.models, runner),
    providers: ProviderRegistry__factory.connect(addresses.providers, runner),
    escrow: JobEscrow__factory.connect(addresses.escrow, runner),
  };
}

/** The provider behind `signer`; `NO_PROVIDER` for a signer that is not connected to a node. */
export function providerOf(signer: Signer): Provider {
  if (signer.provider === null) {
    throw new AitbcError("NO_PROVIDER", "the signer is not connected to a node", { hint: "Connect it first, e.g. `new Wallet(key, new JsonRpcProvider(url))`." });
  }
  return signer.provider;
}

/** Timestamp of the latest block: what the contracts compare deadlines and windows with. */
export async function chainTime(provider: Provider): Promise<bigint> {
  const block = await provider.getBlock("latest");
  if (block === null) throw new AitbcError("RPC_UNREACHABLE", "the node returned no latest block", { hint: "Check the node." });
  return BigInt(block.timestamp);
}

/** One job as `JobEscrow.job(id)` reports it. */
export interface JobInfo {
  id: bigint;
  status: JobStatusName;
  modelId: number;
  client: string;
  provider: string;
  rate: bigint;
  /** Protocol fee of the job, snapshotted at creation like the rate. */
  feeBps: bigint;
  maxUnitsMilli: bigint;
  escrow: bigint;
  deadline: bigint;
  unitsMilli: bigint;
  price: bigint;
  batchId: bigint;
}

/**
 * Reads job `id`.
 *
 * @throws {AitbcError} `UNKNOWN_JOB` when the escrow has no such job.
 */
export async function readJob(escrow: JobEscrow, id: bigint, networkName = "the chain"): Promise<JobInfo> {
  let v;
  try {
    v = await escrow.job(id);
  } catch (error) {
    if (describeContractRevert(error)?.name === "JobEscrowUnknownJob") {
      const [jobs] = await escrow.counters();
      throw new AitbcError("UNKNOWN_JOB", `job ${id} does not exist on ${networkName}`, {
        hint: jobs === 0n ? "No job has been created yet; create one with `job:submit`." : `Job ids run from 1 to ${jobs}.`,
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
    feeBps: v.feeBps,
    maxUnitsMilli: v.maxUnitsMilli,
    escrow: v.escrow,
    deadline: v.deadline,
    unitsMilli: v.unitsMilli,
    price: v.price,
    batchId: v.batchId,
  };
}

/**
 * @throws {AitbcError} `JOB_WRONG_STATE` unless the job is in one of `allowed`.
 */
export function requireJobStatus(job: JobInfo, allowed: readonly JobStatusName[], action: string, hint: string): void {
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
export function providerEntry(providers: ProviderRegistry, address: string) {
  return providers.getFunction("provider")(address);
}

/** A provider's settlement batch and its payout. */
export interface BatchPayout {
  batchId: bigint;
  amount: bigint;
  releasableAt: bigint;
  released: boolean;
}

/** Every settlement batch of `provider` since `fromBlock` (from `BatchSettled` events), with its payout state. */
export async function providerBatches(escrow: JobEscrow, provider: string, fromBlock: number): Promise<BatchPayout[]> {
  const events = await escrow.queryFilter(escrow.filters.BatchSettled(undefined, provider), fromBlock);
  return Promise.all(
    events.map(async (e) => {
      const batchId = e.args.batchId;
      const p = await escrow.payoutOf(batchId);
      return { batchId, amount: p.amount, releasableAt: p.releasableAt, released: p.released };
    }),
  );
}
