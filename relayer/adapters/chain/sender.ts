import { EventEmitter } from "node:events";

import { getAddress, keccak256, type TransactionRequest } from "ethers";

import { quoteFees, replacementFees, withGasMargin, type FeePolicy, type FeeQuote } from "../../core/fees.js";
import { ChainError, type ChainErrorCode, rootChainCode } from "./errors.js";
import type { RpcClient } from "./rpc.js";
import type { StoredTx, TxAttempt, TxStore } from "./tx-store.js";

/** What a caller asks the sender to do. */
export interface TxRequest {
  purpose: string;
  /** Submitting the same (purpose, key) again returns the existing transaction instead of sending another. */
  idempotencyKey: string;
  to: string;
  data: string;
  value?: bigint;
  /** Skips estimation. */
  gasLimit?: bigint;
}

/** The signing half of an ethers `Wallet`; the key never leaves the process. */
export interface TxSigner {
  readonly address: string;
  signTransaction(tx: TransactionRequest): Promise<string>;
}

export interface TxSenderOptions {
  rpc: RpcClient;
  signer: TxSigner;
  store: TxStore;
  /** Hard ceiling for `maxFeePerGas`, wei. Fee bumps stop here. */
  maxFeePerGasCap: bigint;
  /** Fetched with `eth_chainId` at start when omitted. */
  chainId?: bigint;
  /** Blocks (the including block counts as one) before a mined transaction is final. Default 2. */
  confirmations?: number;
  /** How often open transactions are checked. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Not mined this long after its latest attempt → replaced with higher fees. Default 30 s. */
  stuckAfterMs?: number;
  /** Fee increase per replacement, per mille; at least 125 (12.5 %, above every client's replacement rule). */
  feeBumpPermille?: number;
  /** Floor for the priority fee, wei; the median tip of recent blocks is used when higher. Default 1 gwei. */
  minPriorityFeePerGas?: bigint;
  /** `maxFeePerGas` = next base fee × this + tip. Default 2 (survives six full blocks of base-fee rises). */
  baseFeeMultiplier?: bigint;
  /** Safety margin on estimated gas, per mille. Default 200 (+20 %). */
  gasMarginPermille?: number;
  /** After "nonce too low" with none of our hashes mined, wait this long for a late receipt before re-queuing. */
  nonceConsumedGraceMs?: number;
  now?: () => number;
}

export type { FeeQuote } from "../../core/fees.js";

export interface SentEvent extends FeeQuote {
  tx: StoredTx;
  hash: string;
  nonce: number;
}
export interface ReplacedEvent extends SentEvent {
  previousHash: string;
  reason: "stuck" | "underpriced";
}
export interface MinedEvent {
  tx: StoredTx;
  hash: string;
  blockNumber: number;
  blockHash: string;
  success: boolean;
}
export interface FailedEvent {
  tx: StoredTx;
  code: ChainErrorCode;
  reason: string;
}
export interface WarningEvent {
  tx: StoredTx | null;
  error: ChainError;
}

export interface TxSenderEvents {
  sent: [SentEvent];
  replaced: [ReplacedEvent];
  /** The same signed payload was broadcast again (dropped from the mempool, or its block was reorged out). */
  rebroadcast: [{ tx: StoredTx; hash: string; reason: "dropped" | "reorged" }];
  mined: [MinedEvent];
  reorged: [{ tx: StoredTx; hash: string; blockNumber: number }];
  confirmed: [MinedEvent];
  failed: [FailedEvent];
  /** Abandoned because its nonce was consumed by a transaction we did not sign, and queued again as `tx`. */
  requeued: [{ previous: StoredTx; tx: StoredTx }];
  /** Something went wrong that the sender will retry on its own (RPC trouble, fee cap reached). */
  warning: [WarningEvent];
}

export interface TxSenderMetrics {
  submitted: number;
  deduplicated: number;
  sent: number;
  replacements: number;
  rebroadcasts: number;
  reorgs: number;
  nonceTooLowReconciled: number;
  confirmed: number;
  reverted: number;
  abandoned: number;
  broadcastErrors: number;
}

interface ReceiptLike {
  transactionHash: string;
  blockHash: string;
  blockNumber: string;
  status?: string;
}

interface FeeHistory {
  baseFeePerGas: string[];
  reward?: string[][];
}

const FINAL: ReadonlySet<StoredTx["status"]> = new Set(["confirmed", "reverted", "abandoned"]);

function hex(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}

function config(ok: boolean, what: string, hint: string): void {
  if (!ok) throw new ChainError("CHAIN_INVALID_CONFIG", what, { hint });
}

/**
 * The only component that sends transactions for its account, so it alone owns the nonce sequence.
 *
 * Every request is journaled (`TxStore.createIntent`) before a nonce is assigned and every signed attempt before it
 * is broadcast, so a restart (`start()` runs the reconciliation) finds everything that may be on the wire and never
 * signs a second transaction for the same key. One loop drives all open transactions: it sends intents in order,
 * polls receipts, replaces stuck or under-priced attempts at the same nonce with higher fees, treats "nonce too low"
 * as "find out which of our attempts was mined", and rebroadcasts a transaction whose block was reorged out.
 */
export class TxSender extends EventEmitter<TxSenderEvents> {
  readonly address: string;
  readonly #rpc: RpcClient;
  readonly #signer: TxSigner;
  readonly #store: TxStore;
  readonly #cap: bigint;
  readonly #fees: FeePolicy;
  #chainId: bigint | undefined;
  readonly #confirmations: number;
  readonly #pollIntervalMs: number;
  readonly #stuckAfterMs: number;
  readonly #bumpPermille: bigint;
  readonly #minTip: bigint;
  readonly #baseFeeMultiplier: bigint;
  readonly #gasMarginPermille: bigint;
  readonly #graceMs: number;
  readonly #now: () => number;

  #nextNonce: number | null = null;
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #kicked = false;
  readonly #bumpNow = new Set<number>();
  readonly #consumedSince = new Map<number, number>();
  readonly #capWarned = new Set<number>();
  readonly #blockHashes = new Map<number, string>();
  readonly #waiters = new Map<number, ((tx: StoredTx) => void)[]>();
  readonly #metrics: TxSenderMetrics = {
    submitted: 0,
    deduplicated: 0,
    sent: 0,
    replacements: 0,
    rebroadcasts: 0,
    reorgs: 0,
    nonceTooLowReconciled: 0,
    confirmed: 0,
    reverted: 0,
    abandoned: 0,
    broadcastErrors: 0,
  };

  constructor(options: TxSenderOptions) {
    super();
    this.#rpc = options.rpc;
    this.#signer = options.signer;
    this.address = getAddress(options.signer.address);
    this.#store = options.store;
    this.#cap = options.maxFeePerGasCap;
    this.#chainId = options.chainId;
    this.#confirmations = options.confirmations ?? 2;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#stuckAfterMs = options.stuckAfterMs ?? 30_000;
    this.#bumpPermille = BigInt(options.feeBumpPermille ?? 125);
    this.#minTip = options.minPriorityFeePerGas ?? 1_000_000_000n;
    this.#baseFeeMultiplier = options.baseFeeMultiplier ?? 2n;
    this.#gasMarginPermille = BigInt(options.gasMarginPermille ?? 200);
    this.#graceMs = options.nonceConsumedGraceMs ?? 2 * this.#pollIntervalMs;
    this.#now = options.now ?? Date.now;
    this.#fees = { cap: this.#cap, minTip: this.#minTip, baseFeeMultiplier: this.#baseFeeMultiplier, bumpPermille: this.#bumpPermille };
    const hint = "fix the transaction sender section of the relayer configuration";
    config(this.#cap > 0n, "maxFeePerGasCap must be positive", hint);
    config(Number.isSafeInteger(this.#confirmations) && this.#confirmations >= 1, "confirmations must be an integer ≥ 1", hint);
    config(this.#pollIntervalMs > 0 && this.#stuckAfterMs > 0 && this.#graceMs >= 0, "sender intervals must be positive", hint);
    config(this.#bumpPermille >= 125n, "feeBumpPermille must be at least 125 (12.5 %)", hint);
    config(this.#minTip >= 0n && this.#baseFeeMultiplier >= 1n && this.#gasMarginPermille >= 0n, "fee parameters are out of range", hint);
  }

  // ── public surface ──────────────────────────────────────────────────────────────────────────────────────────────

  /** Reconciles every open record with the chain (crash recovery), then drives transactions until {@link stop}. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#chainId ??= BigInt(await this.#rpc.call<string>("eth_chainId"));
    await this.#syncNonce();
    this.#running = true;
    await this.#tick(true);
    this.#loop = this.#run();
  }

  /** Stops the loop after the current pass; open transactions stay in the store for the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = null;
  }

  /**
   * Journals a request and schedules it. Idempotent per (purpose, idempotencyKey): while a record holds the key (open
   * or confirmed) a second call returns it and sends nothing; after a revert or an abandonment the key is free again.
   *
   * @throws ChainError `TX_INVALID_REQUEST` for a malformed request.
   */
  submit(request: TxRequest): { tx: StoredTx; created: boolean } {
    validateRequest(request);
    const existing = this.#store.findByKey(request.purpose, request.idempotencyKey);
    if (existing !== null) {
      this.#metrics.deduplicated++;
      return { tx: existing, created: false };
    }
    const tx = this.#store.createIntent(
      {
        purpose: request.purpose,
        key: request.idempotencyKey,
        to: request.to,
        data: request.data.toLowerCase(),
        value: request.value ?? 0n,
        gasLimit: request.gasLimit ?? null,
      },
      this.#now(),
    );
    this.#metrics.submitted++;
    this.kick();
    return { tx, created: true };
  }

  /** Resolves with the record once it is final (confirmed, reverted or abandoned). */
  waitForFinal(id: number): Promise<StoredTx> {
    const tx = this.#store.get(id);
    if (tx === null) return Promise.reject(new ChainError("TX_STORE_STATE", `transaction ${id} is not in the store`, { details: { id } }));
    if (FINAL.has(tx.status)) return Promise.resolve(tx);
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
    });
  }

  /** Runs a pass now instead of at the next poll (new intents written to the store by someone else, a new block). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  metrics(): TxSenderMetrics {
    return { ...this.#metrics };
  }

  /** Fees for a new transaction now: next base fee × multiplier + tip, capped. */
  async suggestFees(): Promise<FeeQuote> {
    const history = await this.#rpc.call<FeeHistory>("eth_feeHistory", ["0x5", "latest", [50]]);
    const nextBaseFee = BigInt(history.baseFeePerGas[history.baseFeePerGas.length - 1] ?? "0x0");
    const tips = (history.reward ?? []).map((r) => BigInt(r[0] ?? "0x0"));
    return quoteFees({ nextBaseFee, tips }, this.#fees);
  }

  // ── loop ────────────────────────────────────────────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    while (this.#running) {
      if (!this.#kicked) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#pollIntervalMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
      this.#kicked = false;
      if (!this.#running) break;
      await this.#tick(false);
    }
  }

  async #tick(resuming: boolean): Promise<void> {
    const open = this.#store.listOpen();
    let head: number | null = null;
    const needHead = open.some((t) => t.status === "mined") || resuming;
    try {
      if (needHead) head = Number(await this.#rpc.call<string>("eth_blockNumber"));
      await Promise.all(
        open.filter((t) => t.status !== "intent").map((t) => this.#guard(t, () => (t.status === "mined" ? this.#checkMined(t, head) : this.#checkPending(t, resuming, head)))),
      );
    } catch (error) {
      this.#warn(null, error);
    }
    for (const t of open.filter((x) => x.status === "intent")) {
      if (!this.#running && !resuming) break;
      // A failing intent must not jump the queue: later intents would take its nonce's successors and wait on a gap.
      if (!(await this.#guard(t, () => this.#sendFirst(t)))) break;
    }
  }

  async #guard(tx: StoredTx, step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (error) {
      this.#warn(tx, error);
      return false;
    }
  }

  #warn(tx: StoredTx | null, error: unknown): void {
    const e = error instanceof ChainError ? error : new ChainError("RPC_ERROR", "unexpected failure in the transaction sender", { cause: error });
    this.emit("warning", { tx, error: e });
  }

  async #syncNonce(): Promise<void> {
    const pending = Number(await this.#rpc.call<string>("eth_getTransactionCount", [this.address, "pending"]));
    const hint = this.#store.nextNonceHint() ?? 0;
    this.#nextNonce = Math.max(pending, hint, this.#nextNonce ?? 0);
  }

  // ── sending ─────────────────────────────────────────────────────────────────────────────────────────────────────

  async #sendFirst(tx: StoredTx): Promise<void> {
    let gasLimit = tx.gasLimit;
    if (gasLimit === null) {
      try {
        const estimate = BigInt(await this.#rpc.call<string>("eth_estimateGas", [{ from: this.address, to: tx.to, data: tx.data, value: hex(tx.value) }]));
        gasLimit = withGasMargin(estimate, this.#gasMarginPermille);
      } catch (error) {
        if (rootChainCode(error) !== "RPC_EXECUTION_REVERTED") throw error;
        // Nothing was signed: the request fails without consuming a nonce.
        this.#store.markAbandoned(tx.id, "the transaction would revert (gas estimation failed)", this.#now());
        this.#metrics.abandoned++;
        this.#final(tx.id, "failed", { code: "TX_WOULD_REVERT", reason: (error as Error).message });
        return;
      }
    }
    if (this.#nextNonce === null) await this.#syncNonce();
    const nonce = this.#nextNonce as number;
    const fees = await this.suggestFees();
    const attempt = await this.#sign(tx, nonce, gasLimit, fees);
    this.#store.recordAttempt(tx.id, attempt, this.#now());
    this.#nextNonce = nonce + 1;
    this.#metrics.sent++;
    await this.#broadcast(tx.id, attempt, "first");
  }

  async #sign(tx: StoredTx, nonce: number, gasLimit: bigint, fees: FeeQuote): Promise<TxAttempt> {
    const raw = await this.#signer.signTransaction({
      type: 2,
      chainId: this.#chainId,
      nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value,
      gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    return { hash: keccak256(raw), nonce, gasLimit, raw, sentAt: this.#now(), ...fees };
  }

  /** @returns whether the node holds the attempt now. */
  async #broadcast(id: number, attempt: TxAttempt, kind: "first" | "replacement" | "rebroadcast"): Promise<boolean> {
    try {
      await this.#rpc.call("eth_sendRawTransaction", [attempt.raw]);
    } catch (error) {
      const code = rootChainCode(error);
      if (code === "RPC_ALREADY_KNOWN") return true;
      this.#metrics.broadcastErrors++;
      const tx = this.#store.get(id);
      if (code === "RPC_NONCE_TOO_LOW" && tx !== null) {
        await this.#reconcileConsumedNonce(tx);
        return false;
      }
      if (code === "RPC_UNDERPRICED") {
        this.#bumpNow.add(id);
        this.kick();
        return false;
      }
      // A revert reported at broadcast (automining nodes) still leaves a mined transaction; the next pass finds its
      // receipt. Anything else: the attempt is journaled and the next pass rebroadcasts it.
      if (code === "RPC_EXECUTION_REVERTED") return true;
      this.#warn(tx, error);
      return false;
    }
    const tx = this.#store.get(id);
    if (kind === "first" && tx !== null) {
      this.emit("sent", { tx, hash: attempt.hash, nonce: attempt.nonce, maxFeePerGas: attempt.maxFeePerGas, maxPriorityFeePerGas: attempt.maxPriorityFeePerGas });
    }
    return true;
  }

  async #replace(tx: StoredTx, reason: "stuck" | "underpriced"): Promise<void> {
    const last = tx.attempts[tx.attempts.length - 1];
    const suggested = await this.suggestFees();
    const replacement = replacementFees(last, suggested, this.#fees);
    if (!replacement.ok) {
      // At the cap: a replacement below the bump rule would only be refused. Wait for the base fee to fall.
      if (!this.#capWarned.has(tx.id)) {
        this.#capWarned.add(tx.id);
        this.#warn(tx, new ChainError("TX_FEE_CAP_TOO_LOW", `transaction ${tx.id} cannot be replaced: fees would exceed the cap`, {
          details: { id: tx.id, nonce: tx.nonce, cap: this.#cap.toString(), needed: replacement.needed.toString() },
          hint: "raise maxFeePerGasCap, or wait for the base fee to fall",
        }));
      }
      return;
    }
    const { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip } = replacement.fees;
    const attempt = await this.#sign(tx, tx.nonce as number, last.gasLimit, replacement.fees);
    this.#store.recordAttempt(tx.id, attempt, this.#now());
    this.#metrics.replacements++;
    if (await this.#broadcast(tx.id, attempt, "replacement")) {
      const fresh = this.#store.get(tx.id) as StoredTx;
      this.emit("replaced", { tx: fresh, hash: attempt.hash, previousHash: last.hash, nonce: attempt.nonce, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip, reason });
    }
  }

  async #rebroadcast(tx: StoredTx, attempt: TxAttempt, reason: "dropped" | "reorged"): Promise<void> {
    this.#metrics.rebroadcasts++;
    if (await this.#broadcast(tx.id, attempt, "rebroadcast")) this.emit("rebroadcast", { tx, hash: attempt.hash, reason });
  }

  // ── watching ────────────────────────────────────────────────────────────────────────────────────────────────────

  async #findReceipt(tx: StoredTx): Promise<ReceiptLike | null> {
    // Newest first: after a bump the replacement is the likely winner.
    for (const a of [...tx.attempts].reverse()) {
      const receipt = await this.#rpc.call<ReceiptLike | null>("eth_getTransactionReceipt", [a.hash]);
      if (receipt !== null && receipt.blockHash !== undefined && receipt.blockNumber !== undefined && receipt.blockNumber !== null) return receipt;
    }
    return null;
  }

  async #checkPending(tx: StoredTx, resuming: boolean, head: number | null): Promise<void> {
    const receipt = await this.#findReceipt(tx);
    if (receipt !== null) {
      await this.#onMined(tx, receipt, head);
      return;
    }
    if (this.#consumedSince.has(tx.id)) {
      await this.#reconcileConsumedNonce(tx);
      return;
    }
    const last = tx.attempts[tx.attempts.length - 1];
    if (this.#bumpNow.delete(tx.id)) {
      await this.#replace(tx, "underpriced");
      return;
    }
    if (resuming) {
      const known = await this.#rpc.call<unknown>("eth_getTransactionByHash", [last.hash]);
      if (known === null) await this.#rebroadcast(tx, last, "dropped");
      return;
    }
    if (this.#now() - last.sentAt >= this.#stuckAfterMs) await this.#replace(tx, "stuck");
  }

  async #reconcileConsumedNonce(tx: StoredTx): Promise<void> {
    const receipt = await this.#findReceipt(tx);
    if (receipt !== null) {
      this.#consumedSince.delete(tx.id);
      this.#metrics.nonceTooLowReconciled++;
      await this.#onMined(tx, receipt, null);
      return;
    }
    const latest = Number(await this.#rpc.call<string>("eth_getTransactionCount", [this.address, "latest"]));
    if (tx.nonce === null || latest <= tx.nonce) {
      // The nonce is free after all (the error came from a node that was ahead, or a reorg): keep going.
      this.#consumedSince.delete(tx.id);
      return;
    }
    const since = this.#consumedSince.get(tx.id) ?? this.#now();
    this.#consumedSince.set(tx.id, since);
    if (this.#now() - since < this.#graceMs) return;
    this.#consumedSince.delete(tx.id);
    const now = this.#now();
    this.#store.markAbandoned(tx.id, `nonce ${tx.nonce} was consumed by a transaction this sender did not sign`, now);
    this.#metrics.abandoned++;
    const previous = this.#store.get(tx.id) as StoredTx;
    const again = this.#store.createIntent(
      { purpose: tx.purpose, key: tx.key, to: tx.to, data: tx.data, value: tx.value, gasLimit: tx.gasLimit },
      now,
    );
    await this.#syncNonce();
    this.emit("requeued", { previous, tx: again });
    this.#moveWaiters(tx.id, again.id);
    this.kick();
  }

  async #onMined(tx: StoredTx, receipt: ReceiptLike, head: number | null): Promise<void> {
    const blockNumber = Number(receipt.blockNumber);
    const success = receipt.status === undefined || Number(receipt.status) === 1;
    this.#store.markMined(tx.id, { hash: receipt.transactionHash, blockNumber }, this.#now());
    this.#blockHashes.set(tx.id, receipt.blockHash);
    this.#bumpNow.delete(tx.id);
    const fresh = this.#store.get(tx.id) as StoredTx;
    this.emit("mined", { tx: fresh, hash: receipt.transactionHash.toLowerCase(), blockNumber, blockHash: receipt.blockHash, success });
    await this.#maybeFinal(fresh, receipt, head);
  }

  async #checkMined(tx: StoredTx, head: number | null): Promise<void> {
    const hash = tx.minedHash as string;
    const receipt = await this.#rpc.call<ReceiptLike | null>("eth_getTransactionReceipt", [hash]);
    if (receipt === null || receipt.blockNumber === null || receipt.blockNumber === undefined) {
      // The block that held it is gone: the transaction is pending again. Broadcast the same signed payload, so the
      // nonce and effects stay exactly what was journaled.
      this.#store.markUnmined(tx.id, this.#now());
      this.#blockHashes.delete(tx.id);
      this.#metrics.reorgs++;
      const pending = this.#store.get(tx.id) as StoredTx;
      this.emit("reorged", { tx: pending, hash, blockNumber: tx.minedBlock as number });
      const attempt = pending.attempts.find((a) => a.hash === hash.toLowerCase()) ?? pending.attempts[pending.attempts.length - 1];
      await this.#rebroadcast(pending, attempt, "reorged");
      return;
    }
    const known = this.#blockHashes.get(tx.id);
    if (known !== receipt.blockHash || Number(receipt.blockNumber) !== tx.minedBlock) {
      if (known !== undefined) this.#metrics.reorgs++;
      this.#store.markMined(tx.id, { hash, blockNumber: Number(receipt.blockNumber) }, this.#now());
      this.#blockHashes.set(tx.id, receipt.blockHash);
      if (known !== undefined) {
        const fresh = this.#store.get(tx.id) as StoredTx;
        this.emit("mined", { tx: fresh, hash, blockNumber: Number(receipt.blockNumber), blockHash: receipt.blockHash, success: Number(receipt.status ?? "0x1") === 1 });
      }
    }
    await this.#maybeFinal(this.#store.get(tx.id) as StoredTx, receipt, head);
  }

  async #maybeFinal(tx: StoredTx, receipt: ReceiptLike, head: number | null): Promise<void> {
    const h = head ?? Number(await this.#rpc.call<string>("eth_blockNumber"));
    const blockNumber = Number(receipt.blockNumber);
    if (h - blockNumber + 1 < this.#confirmations) return;
    const now = this.#now();
    const success = receipt.status === undefined || Number(receipt.status) === 1;
    this.#blockHashes.delete(tx.id);
    if (success) {
      this.#store.markConfirmed(tx.id, now);
      this.#metrics.confirmed++;
      this.#final(tx.id, "confirmed", { hash: receipt.transactionHash.toLowerCase(), blockNumber, blockHash: receipt.blockHash, success });
    } else {
      this.#store.markReverted(tx.id, { hash: receipt.transactionHash, blockNumber }, "the transaction reverted", now);
      this.#metrics.reverted++;
      this.#final(tx.id, "failed", { code: "TX_REVERTED", reason: `transaction ${receipt.transactionHash} reverted in block ${blockNumber}` });
    }
  }

  #final(id: number, kind: "confirmed", data: Omit<MinedEvent, "tx">): void;
  #final(id: number, kind: "failed", data: Omit<FailedEvent, "tx">): void;
  #final(id: number, kind: "confirmed" | "failed", data: Omit<MinedEvent, "tx"> | Omit<FailedEvent, "tx">): void {
    const tx = this.#store.get(id) as StoredTx;
    this.#capWarned.delete(id);
    if (kind === "confirmed") this.emit("confirmed", { tx, ...(data as Omit<MinedEvent, "tx">) });
    else this.emit("failed", { tx, ...(data as Omit<FailedEvent, "tx">) });
    const waiters = this.#waiters.get(id) ?? [];
    this.#waiters.delete(id);
    for (const resolve of waiters) resolve(tx);
  }

  #moveWaiters(from: number, to: number): void {
    const waiters = this.#waiters.get(from);
    if (waiters === undefined) return;
    this.#waiters.delete(from);
    this.#waiters.set(to, [...(this.#waiters.get(to) ?? []), ...waiters]);
  }
}

function validateRequest(r: TxRequest): void {
  const bad = (what: string) => new ChainError("TX_INVALID_REQUEST", what, { details: { purpose: r.purpose, key: r.idempotencyKey } });
  if (typeof r.purpose !== "string" || r.purpose.length === 0) throw bad("purpose must be a non-empty string");
  if (typeof r.idempotencyKey !== "string" || r.idempotencyKey.length === 0) throw bad("idempotencyKey must be a non-empty string");
  try {
    getAddress(r.to);
  } catch (cause) {
    throw new ChainError("TX_INVALID_REQUEST", `to ${String(r.to)} is not an address`, { cause });
  }
  if (typeof r.data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(r.data)) throw bad("data must be 0x-prefixed hex bytes");
  if (r.value !== undefined && r.value < 0n) throw bad("value must not be negative");
  if (r.gasLimit !== undefined && r.gasLimit < 21_000n) throw bad("gasLimit must be at least 21000");
}
