import { getAddress, ZeroAddress, type LogDescription } from "ethers";

import { JOB_STATUSES } from "../../lib/protocol.js";
import { IJobChannels__factory } from "../../typechain-types/factories/interfaces/IJobChannels__factory.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IModelRegistry__factory } from "../../typechain-types/factories/interfaces/IModelRegistry__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { rootChainCode } from "../adapters/chain/errors.js";
import type { RpcClient } from "../adapters/chain/rpc.js";
import type { WatchedLog } from "../adapters/chain/watcher.js";

/** ABI access to the three market contracts over the relayer's own RPC client (retries, health accounting). */

export const escrowInterface = IJobEscrow__factory.createInterface();
export const providerRegistryInterface = IProviderRegistry__factory.createInterface();
export const modelRegistryInterface = IModelRegistry__factory.createInterface();
export const channelsInterface = IJobChannels__factory.createInterface();

/** `IJobEscrow.JobStatus`, by index (mirrored once, in `lib/protocol.ts`). */
export const JOB_STATUS = JOB_STATUSES;
export type OnChainJobStatus = (typeof JOB_STATUS)[number];

/** The escrow events the relayer follows, by topic. */
export const WATCHED_EVENTS = ["JobCreated", "JobAccepted", "JobExpired", "JobCancelled", "JobGivenBack", "BatchSettled"] as const;
export type WatchedEvent = (typeof WATCHED_EVENTS)[number];

export const WATCHED_TOPICS: string[] = WATCHED_EVENTS.map((name) => escrowInterface.getEvent(name).topicHash.toLowerCase());

export interface OnChainJob {
  status: OnChainJobStatus;
  modelId: number;
  client: string;
  /** Lower-case; the zero address for an open job nobody accepted. */
  provider: string;
  deadline: number;
  batchId: number;
}

export interface ProviderEntry {
  registered: boolean;
  bond: bigint;
  unbondingSince: number;
  /** 0x hex of the registered Ed25519 key. */
  receiptKey: string;
}

export function parseEscrowLog(log: WatchedLog): LogDescription | null {
  try {
    return escrowInterface.parseLog({ topics: log.topics, data: log.data });
  } catch {
    return null;
  }
}

export function acceptCalldata(jobIds: readonly bigint[]): string {
  return jobIds.length === 1
    ? escrowInterface.encodeFunctionData("acceptJob", [jobIds[0]])
    : escrowInterface.encodeFunctionData("acceptJobs", [[...jobIds]]);
}

export function settleCalldata(items: Uint8Array): string {
  return escrowInterface.encodeFunctionData("settleBatch", [items]);
}

export function giveBackCalldata(jobId: bigint): string {
  return escrowInterface.encodeFunctionData("giveBackJob", [jobId]);
}

export function releaseCalldata(batchIds: readonly bigint[]): string {
  return escrowInterface.encodeFunctionData("releaseBatches", [[...batchIds]]);
}

export function normalizeProvider(address: string): string | null {
  return address.toLowerCase() === ZeroAddress ? null : address.toLowerCase();
}

/** Read-only calls the relayer makes. */
export class MarketReader {
  readonly #rpc: RpcClient;
  readonly #escrow: string;
  readonly #providers: string;
  readonly #models: string;
  readonly #modelNames = new Map<number, string | null>();

  constructor(rpc: RpcClient, addresses: { escrow: string; providerRegistry: string; modelRegistry: string }) {
    this.#rpc = rpc;
    this.#escrow = getAddress(addresses.escrow);
    this.#providers = getAddress(addresses.providerRegistry);
    this.#models = getAddress(addresses.modelRegistry);
  }

  async #call(to: string, data: string): Promise<string> {
    return this.#rpc.call<string>("eth_call", [{ to, data }, "latest"]);
  }

  async job(jobId: bigint): Promise<OnChainJob> {
    const raw = await this.#call(this.#escrow, escrowInterface.encodeFunctionData("job", [jobId]));
    const [view] = escrowInterface.decodeFunctionResult("job", raw);
    return {
      status: JOB_STATUS[Number(view.status)] ?? "None",
      modelId: Number(view.modelId),
      client: String(view.client).toLowerCase(),
      provider: String(view.provider).toLowerCase(),
      deadline: Number(view.deadline),
      batchId: Number(view.batchId),
    };
  }

  /** `releasableAt` of the settlement batch anchored under `root` (0 when unknown). */
  async batchReleasableAt(root: string): Promise<number> {
    return (await this.settlementBatch(root)).releasableAt;
  }

  /** The on-chain id, release time and release flag of the settlement batch of `root`. */
  async settlementBatch(root: string): Promise<{ id: bigint; releasableAt: number; released: boolean }> {
    const raw = await this.#call(this.#escrow, escrowInterface.encodeFunctionData("batch", [root]));
    const [view] = escrowInterface.decodeFunctionResult("batch", raw);
    return { id: view.id as bigint, releasableAt: Number(view.releasableAt), released: view.released as boolean };
  }

  async provider(address: string): Promise<ProviderEntry> {
    const raw = await this.#call(this.#providers, providerRegistryInterface.encodeFunctionData("provider", [address]));
    const [p] = providerRegistryInterface.decodeFunctionResult("provider", raw);
    return { registered: Boolean(p.registered), bond: BigInt(p.bond), unbondingSince: Number(p.unbondingSince), receiptKey: String(p.receiptKey).toLowerCase() };
  }

  /** The provider's published endpoint: its X25519 encryption key (`null` when none) and service URL. */
  async endpoint(address: string): Promise<{ encryptionKey: string | null; serviceUrl: string }> {
    const raw = await this.#call(this.#providers, providerRegistryInterface.encodeFunctionData("endpointOf", [address]));
    const [e] = providerRegistryInterface.decodeFunctionResult("endpointOf", raw);
    const key = String(e.encryptionKey).toLowerCase();
    return { encryptionKey: /^0x0{64}$/.test(key) ? null : key, serviceUrl: String(e.serviceUrl) };
  }

  async minBond(): Promise<bigint> {
    const raw = await this.#call(this.#providers, providerRegistryInterface.encodeFunctionData("minBond"));
    return BigInt(providerRegistryInterface.decodeFunctionResult("minBond", raw)[0]);
  }

  async serves(address: string, modelId: number): Promise<boolean> {
    const raw = await this.#call(this.#providers, providerRegistryInterface.encodeFunctionData("serves", [address, modelId]));
    return Boolean(providerRegistryInterface.decodeFunctionResult("serves", raw)[0]);
  }

  /** Every model on the rate card: id → name. */
  async rateCard(): Promise<Map<number, string>> {
    const raw = await this.#call(this.#models, modelRegistryInterface.encodeFunctionData("modelCount"));
    const count = Number(modelRegistryInterface.decodeFunctionResult("modelCount", raw)[0]);
    const out = new Map<number, string>();
    for (let id = 1; id <= count; id++) {
      const name = await this.modelName(id);
      if (name !== null) out.set(id, name);
    }
    return out;
  }

  /** The model's name, or `null` for an id the rate card does not know (cached either way; names never change). */
  async modelName(modelId: number): Promise<string | null> {
    const cached = this.#modelNames.get(modelId);
    if (cached !== undefined) return cached;
    let name: string | null;
    try {
      const raw = await this.#call(this.#models, modelRegistryInterface.encodeFunctionData("model", [modelId]));
      name = String(modelRegistryInterface.decodeFunctionResult("model", raw)[0].name);
    } catch (error) {
      if (rootChainCode(error) !== "RPC_EXECUTION_REVERTED") throw error;
      name = null;
    }
    this.#modelNames.set(modelId, name);
    return name;
  }

  async latestTimestamp(): Promise<number> {
    const block = await this.#rpc.call<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    return Number(block.timestamp);
  }
}

/** A client's channel with this provider, as `JobChannels.channel` returns it. */
export interface OnChainChannel {
  balance: bigint;
  spent: bigint;
  /** 0 when no withdrawal is pending. */
  closesAt: number;
  coveredThrough: bigint;
}

/** A voucher as `JobChannels.claim` takes it. */
export interface ClaimVoucher {
  client: string;
  cumulativeAmount: bigint;
  coveredThrough: bigint;
  signature: string;
}

export function claimCalldata(root: string, receiptCount: number, vouchers: readonly ClaimVoucher[]): string {
  const list = vouchers.map((v) => ({ client: v.client, cumulativeAmount: v.cumulativeAmount, coveredThrough: v.coveredThrough, signature: v.signature }));
  return channelsInterface.encodeFunctionData("claim", [root, BigInt(receiptCount), list]);
}

export function anchorRootCalldata(root: string, receiptCount: number): string {
  return channelsInterface.encodeFunctionData("anchorRoot", [root, BigInt(receiptCount)]);
}

/** A fallback claim as `JobChannels.claimUnvouched` takes it. */
export interface UnvouchedClaimInput {
  request: { client: string; provider: string; requestId: bigint; modelId: number; maxUnitsMilli: bigint; deadline: number; inputHash: string };
  requestSignature: string;
  unitsMilli: bigint;
  price: bigint;
  receiptHash: string;
  root: string;
  proof: readonly string[];
}

export function claimUnvouchedCalldata(c: UnvouchedClaimInput): string {
  const r = c.request;
  return channelsInterface.encodeFunctionData("claimUnvouched", [
    {
      request: { client: r.client, provider: r.provider, requestId: r.requestId, modelId: r.modelId, maxUnitsMilli: r.maxUnitsMilli, deadline: r.deadline, inputHash: r.inputHash },
      requestSignature: c.requestSignature,
      unitsMilli: c.unitsMilli,
      price: c.price,
      receiptHash: c.receiptHash,
      root: c.root,
      proof: [...c.proof],
    },
  ]);
}

export function releaseClaimsCalldata(digests: readonly string[]): string {
  return channelsInterface.encodeFunctionData("releaseClaims", [[...digests]]);
}

/** `IJobChannels.ClaimStatus`, by index. */
export const CHANNEL_CLAIM_STATUS = ["None", "Held", "Disputed", "Released", "Resolved"] as const;

/** Read-only calls of the channel mode: the channel contract and the rate card. */
export class ChannelReader {
  readonly #rpc: RpcClient;
  readonly #channels: string;
  readonly #models: string;
  readonly #provider: string;

  constructor(rpc: RpcClient, addresses: { channels: string; modelRegistry: string }, provider: string) {
    this.#rpc = rpc;
    this.#channels = getAddress(addresses.channels);
    this.#models = getAddress(addresses.modelRegistry);
    this.#provider = getAddress(provider);
  }

  async channel(client: string): Promise<OnChainChannel> {
    const raw = await this.#rpc.call<string>("eth_call", [{ to: this.#channels, data: channelsInterface.encodeFunctionData("channel", [getAddress(client), this.#provider]) }, "latest"]);
    const [view] = channelsInterface.decodeFunctionResult("channel", raw);
    return { balance: BigInt(view.balance), spent: BigInt(view.spent), closesAt: Number(view.closesAt), coveredThrough: BigInt(view.coveredThrough) };
  }

  /** The rate card's current rate of `modelId` and whether new jobs may use it; `null` for an unknown id. */
  async rate(modelId: number): Promise<{ rate: bigint; enabled: boolean } | null> {
    try {
      const raw = await this.#rpc.call<string>("eth_call", [{ to: this.#models, data: modelRegistryInterface.encodeFunctionData("rateOf", [modelId]) }, "latest"]);
      const [rate, enabled] = modelRegistryInterface.decodeFunctionResult("rateOf", raw);
      return { rate: BigInt(rate), enabled: Boolean(enabled) };
    } catch (error) {
      if (rootChainCode(error) !== "RPC_EXECUTION_REVERTED") throw error;
      return null;
    }
  }

  /** A fallback claim's status and when its held part may be released (unix seconds). */
  async claimOf(digest: string): Promise<{ status: (typeof CHANNEL_CLAIM_STATUS)[number]; releasableAt: number }> {
    const raw = await this.#rpc.call<string>("eth_call", [{ to: this.#channels, data: channelsInterface.encodeFunctionData("claimOf", [digest]) }, "latest"]);
    const [view] = channelsInterface.decodeFunctionResult("claimOf", raw);
    return { status: CHANNEL_CLAIM_STATUS[Number(view.status)] ?? "None", releasableAt: Number(view.releasableAt) };
  }

  /** When `root` was anchored in this provider's namespace (0: never). */
  async anchoredAt(root: string): Promise<number> {
    const raw = await this.#rpc.call<string>("eth_call", [{ to: this.#channels, data: channelsInterface.encodeFunctionData("anchorOf", [this.#provider, root]) }, "latest"]);
    return Number(channelsInterface.decodeFunctionResult("anchorOf", raw)[0]);
  }

  /** Runs `data` against the channel contract as the provider would send it; resolves when it would not revert. */
  async simulate(data: string): Promise<void> {
    await this.#rpc.call<string>("eth_call", [{ from: this.#provider, to: this.#channels, data }, "latest"], { retry: { maxAttempts: 2 } });
  }
}
