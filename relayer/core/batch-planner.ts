import { RelayerError } from "./errors.js";

/** A signed receipt waiting for settlement, as the planner needs it. */
export interface PlannedReceipt {
  receiptId: string;
  jobId: bigint;
  /** 0x hex of the receipt's Merkle leaf; the on-chain batch must list records by ascending leaf. */
  leafHash: string;
  /** Unix seconds when the receipt was signed; the age threshold counts from here. */
  signedAt: number;
  /** The job's deadline (unix seconds): settlement after it is refused on-chain. */
  deadline: number;
}

export interface GasModel {
  /** Gas of a `settleBatch` call with no items (intrinsic + calldata header + root anchoring). */
  baseGas: bigint;
  /** Gas each additional item adds (calldata + settlement + tree hashing). */
  perItemGas: bigint;
  /** Gas limit one settlement transaction may use (below the block gas limit, with headroom). */
  gasBudget: bigint;
}

export interface BatchPlannerConfig {
  /** Cut a batch as soon as this many receipts are pending (also the largest batch, unless gas caps it lower). */
  maxItems: number;
  /** Cut a batch when the oldest pending receipt is this old, however few are pending. */
  maxAgeSeconds: number;
  /** Cut a batch when the earliest pending deadline is this close, so settlement lands before it. */
  deadlineMarginSeconds: number;
  gas: GasModel;
  /** Batches that may be awaiting confirmation at the same time (the tx sender orders them by nonce). */
  maxInFlight: number;
}

export type CutReason = "size" | "age" | "deadline" | "retry";

export interface PlannedBatch {
  reason: CutReason;
  /** The receipts of the batch, in on-chain order. */
  items: PlannedReceipt[];
}

export type PlanResult =
  | { kind: "cut"; batch: PlannedBatch; expired: PlannedReceipt[] }
  | {
      kind: "wait";
      /** Unix seconds when a threshold will trip without new receipts arriving, or `null` if nothing is pending. */
      wakeAt: number | null;
      /** `true` when receipts are pending but the in-flight limit holds them back. */
      blocked: boolean;
      expired: PlannedReceipt[];
    };

/** Byte-wise order of two 0x hex strings of equal length (lower-case compare is byte order). */
export function compareLeafHash(a: PlannedReceipt, b: PlannedReceipt): number {
  const x = a.leafHash.toLowerCase();
  const y = b.leafHash.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Largest number of items one transaction can carry under the gas budget. */
export function maxItemsForGas(gas: GasModel): number {
  if (gas.perItemGas <= 0n || gas.baseGas < 0n) return 0;
  const room = gas.gasBudget - gas.baseGas;
  if (room < gas.perItemGas) return 0;
  const n = room / gas.perItemGas;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

function badConfig(problem: string, details: Record<string, unknown> = {}): RelayerError {
  return new RelayerError("RELAYER_INVALID_CONFIG", `invalid batch planner configuration: ${problem}`, {
    details,
    hint: "fix the batching section of the relayer configuration and restart",
  });
}

/**
 * Decides when to settle signed receipts and which go together. It holds no I/O and no clock: the driver tells it
 * about new receipts, asks it for a plan with the current time, records the batch intent, then reports the outcome
 * with {@link BatchPlanner.onBatchConfirmed} or {@link BatchPlanner.onBatchFailed}.
 *
 * Every receipt is in exactly one place: pending, or in one in-flight batch.
 */
export class BatchPlanner {
  readonly #config: BatchPlannerConfig;
  readonly #capacity: number;
  readonly #order: (a: PlannedReceipt, b: PlannedReceipt) => number;
  readonly #pending = new Map<string, PlannedReceipt>();
  readonly #inFlight = new Map<number, PlannedReceipt[]>();
  readonly #leaves = new Set<string>();
  /** Receipts returned by a failed batch: they are overdue by definition and go out first. */
  readonly #retry = new Set<string>();
  /**
   * Every set of receipts whose settlement has failed, as its sorted receipt ids. A batch is never cut again with a
   * set seen here: a transaction that reverted once reverts again (the same records give the same root and the same
   * checks), so a retry is always a different cut, and a receipt that failed alone is held until it expires.
   */
  readonly #failedSets = new Map<string, Set<string>>();

  constructor(config: BatchPlannerConfig, order: (a: PlannedReceipt, b: PlannedReceipt) => number = compareLeafHash) {
    if (!Number.isSafeInteger(config.maxItems) || config.maxItems < 1) badConfigThrow("maxItems must be an integer ≥ 1");
    if (!Number.isSafeInteger(config.maxAgeSeconds) || config.maxAgeSeconds < 0) {
      badConfigThrow("maxAgeSeconds must be an integer ≥ 0");
    }
    if (!Number.isSafeInteger(config.deadlineMarginSeconds) || config.deadlineMarginSeconds < 0) {
      badConfigThrow("deadlineMarginSeconds must be an integer ≥ 0");
    }
    if (!Number.isSafeInteger(config.maxInFlight) || config.maxInFlight < 1) badConfigThrow("maxInFlight must be an integer ≥ 1");
    const gasCap = maxItemsForGas(config.gas);
    if (gasCap < 1) {
      throw badConfig("the gas budget does not fit one item (gasBudget < baseGas + perItemGas)", {
        baseGas: config.gas.baseGas.toString(),
        perItemGas: config.gas.perItemGas.toString(),
        gasBudget: config.gas.gasBudget.toString(),
      });
    }
    this.#config = config;
    this.#capacity = Math.min(config.maxItems, gasCap);
    this.#order = order;
  }

  /** Items per batch after the gas cap. */
  get capacity(): number {
    return this.#capacity;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** Adds a newly signed receipt to the pending set. */
  add(receipt: PlannedReceipt): void {
    if (this.#pending.has(receipt.receiptId) || this.#inFlightBatchOf(receipt.receiptId) !== null) {
      throw new RelayerError("RELAYER_DUPLICATE_RECEIPT", `receipt ${receipt.receiptId} is already planned`, {
        details: { receiptId: receipt.receiptId },
      });
    }
    const leaf = receipt.leafHash.toLowerCase();
    if (this.#leaves.has(leaf)) {
      throw new RelayerError("RELAYER_DUPLICATE_LEAF", `leaf ${leaf} is already planned under another receipt id`, {
        details: { receiptId: receipt.receiptId, leafHash: leaf },
      });
    }
    this.#pending.set(receipt.receiptId, receipt);
    this.#leaves.add(leaf);
  }

  /** Rebuilds an in-flight batch from the journal after a restart. */
  restoreInFlight(batchId: number, items: readonly PlannedReceipt[]): void {
    if (this.#inFlight.has(batchId)) {
      throw new RelayerError("RELAYER_DUPLICATE_RECEIPT", `batch ${batchId} is already in flight`, { details: { batchId } });
    }
    for (const r of items) this.add(r);
    this.commit(batchId, items.map((r) => r.receiptId));
  }

  /** Forgets a pending receipt (its job expired or was settled by other means). */
  drop(receiptId: string): void {
    const r = this.#pending.get(receiptId);
    if (r === undefined) {
      throw new RelayerError("RELAYER_RECEIPT_NOT_PENDING", `receipt ${receiptId} is not pending`, { details: { receiptId } });
    }
    this.#pending.delete(receiptId);
    this.#retry.delete(receiptId);
    this.#leaves.delete(r.leafHash.toLowerCase());
    this.#forgetFailures([receiptId]);
  }

  /**
   * The next batch to settle at time `now`, if a threshold has tripped. Does not change the planner: after the
   * driver has journaled the batch intent, it calls {@link commit} with the journal's batch id.
   *
   * Receipts whose deadline leaves no time to settle (`deadline ≤ now`) are never planned; they are listed in
   * `expired` so the driver can expire the jobs and {@link drop} them.
   */
  plan(now: number): PlanResult {
    const expired: PlannedReceipt[] = [];
    const live: PlannedReceipt[] = [];
    let heldUntil = Infinity;
    for (const r of this.#pending.values()) {
      if (r.deadline <= now) expired.push(r);
      else if (this.#failedSets.has(r.receiptId)) heldUntil = Math.min(heldUntil, r.deadline);
      else live.push(r);
    }
    // Receipts that failed alone wait for their deadline, when they are listed in `expired` for the driver.
    const held = heldUntil === Infinity ? null : heldUntil;
    if (live.length === 0) return { kind: "wait", wakeAt: held, blocked: false, expired };

    let oldest = Infinity;
    let earliestDeadline = Infinity;
    for (const r of live) {
      oldest = Math.min(oldest, r.signedAt);
      earliestDeadline = Math.min(earliestDeadline, r.deadline);
    }
    const ageDue = oldest + this.#config.maxAgeSeconds;
    const deadlineDue = earliestDeadline - this.#config.deadlineMarginSeconds;

    let reason: CutReason | null = null;
    if (live.some((r) => this.#retry.has(r.receiptId))) reason = "retry";
    else if (deadlineDue <= now) reason = "deadline";
    else if (live.length >= this.#capacity) reason = "size";
    else if (ageDue <= now) reason = "age";

    if (reason === null) return { kind: "wait", wakeAt: Math.min(ageDue, deadlineDue, heldUntil), blocked: false, expired };
    if (this.#inFlight.size >= this.#config.maxInFlight) return { kind: "wait", wakeAt: null, blocked: true, expired };

    // When more are pending than fit, the most urgent go first: retried ones, then by deadline, then by age.
    live.sort(
      (a, b) =>
        Number(this.#retry.has(b.receiptId)) - Number(this.#retry.has(a.receiptId)) ||
        a.deadline - b.deadline ||
        a.signedAt - b.signedAt ||
        compareLeafHash(a, b),
    );
    // Never a set that already failed: halve it (the most urgent half goes) until the set is new. A set of one
    // that failed is held above, so this ends with at least one item.
    let chosen = live.slice(0, this.#capacity);
    while (chosen.length > 1 && this.#failedSets.has(setKey(chosen))) chosen = chosen.slice(0, Math.ceil(chosen.length / 2));
    const items = chosen.sort(this.#order);
    return { kind: "cut", batch: { reason, items }, expired };
  }

  /** Moves the planned receipts into in-flight batch `batchId` (the journal's id of the batch intent). */
  commit(batchId: number, receiptIds: readonly string[]): void {
    if (this.#inFlight.has(batchId)) {
      throw new RelayerError("RELAYER_DUPLICATE_RECEIPT", `batch ${batchId} is already in flight`, { details: { batchId } });
    }
    const items: PlannedReceipt[] = [];
    for (const id of receiptIds) {
      const r = this.#pending.get(id);
      if (r === undefined) {
        throw new RelayerError("RELAYER_RECEIPT_NOT_PENDING", `receipt ${id} is not pending`, { details: { receiptId: id, batchId } });
      }
      items.push(r);
    }
    if (new Set(receiptIds).size !== receiptIds.length) {
      throw new RelayerError("RELAYER_DUPLICATE_RECEIPT", `batch ${batchId} lists a receipt twice`, { details: { batchId } });
    }
    for (const r of items) {
      this.#pending.delete(r.receiptId);
      this.#retry.delete(r.receiptId);
    }
    this.#inFlight.set(batchId, items);
  }

  /** The batch's settlement is final enough for the driver: its receipts leave the planner. */
  onBatchConfirmed(batchId: number): PlannedReceipt[] {
    const items = this.#takeBatch(batchId);
    for (const r of items) this.#leaves.delete(r.leafHash.toLowerCase());
    this.#forgetFailures(items.map((r) => r.receiptId));
    return items;
  }

  /**
   * The batch's transaction failed for good: its receipts return to pending and are planned first, but never again
   * in this same set (see {@link plan}).
   */
  onBatchFailed(batchId: number): PlannedReceipt[] {
    const items = this.#takeBatch(batchId);
    for (const r of items) {
      this.#pending.set(r.receiptId, r);
      this.#retry.add(r.receiptId);
    }
    this.#failedSets.set(setKey(items), new Set(items.map((r) => r.receiptId)));
    return items;
  }

  /** Whether the set of `receiptIds` has already failed to settle. */
  hasFailed(receiptIds: readonly string[]): boolean {
    return this.#failedSets.has([...receiptIds].sort().join(","));
  }

  /** Failure records that name a receipt leaving the planner are no longer needed. */
  #forgetFailures(receiptIds: readonly string[]): void {
    for (const [key, ids] of this.#failedSets) if (receiptIds.some((id) => ids.has(id))) this.#failedSets.delete(key);
  }

  /** The receipts of an in-flight batch, in on-chain order. */
  inFlight(batchId: number): readonly PlannedReceipt[] {
    const items = this.#inFlight.get(batchId);
    if (items === undefined) throw unknownBatch(batchId);
    return items;
  }

  #takeBatch(batchId: number): PlannedReceipt[] {
    const items = this.#inFlight.get(batchId);
    if (items === undefined) throw unknownBatch(batchId);
    this.#inFlight.delete(batchId);
    return items;
  }

  #inFlightBatchOf(receiptId: string): number | null {
    for (const [id, items] of this.#inFlight) if (items.some((r) => r.receiptId === receiptId)) return id;
    return null;
  }
}

/** The identity of a set of receipts: its sorted receipt ids (a single receipt's key is its id). */
function setKey(items: readonly PlannedReceipt[]): string {
  return items
    .map((r) => r.receiptId)
    .sort()
    .join(",");
}

function unknownBatch(batchId: number): RelayerError {
  return new RelayerError("RELAYER_UNKNOWN_BATCH", `batch ${batchId} is not in flight`, { details: { batchId } });
}

function badConfigThrow(problem: string): never {
  throw badConfig(problem);
}
