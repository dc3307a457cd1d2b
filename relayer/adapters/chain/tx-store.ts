import { ChainError } from "./errors.js";

/**
 * Lifecycle of one outgoing transaction, the same states the SQLite journal's `transactions.status` column uses:
 * `intent` (journaled, no nonce yet) → `pending` (signed and broadcast, at least one attempt) → `mined` → `confirmed`;
 * `mined` → `pending` again when a reorg removes it; `reverted` (mined with status 0, final); `abandoned` (never
 * mined and given up before a nonce was consumed, final).
 *
 * A record holds its (purpose, key) unless it is `abandoned` or `reverted`: both are final and nothing of theirs can
 * still land, so the key may be submitted again (the relayer re-accepts a job alone under the key of a group accept
 * that reverted). Every store follows this one rule.
 */
export type TxStatus = "intent" | "pending" | "mined" | "confirmed" | "reverted" | "abandoned";

export const OPEN_TX_STATUSES: readonly TxStatus[] = ["intent", "pending", "mined"];

export interface TxIntent {
  /** What the transaction is for (the journal allows `accept`, `settle`, `other`). */
  purpose: string;
  /** Idempotency key, unique per purpose among records that hold it (see {@link TxStatus}): a job id, a batch id. */
  key: string;
  to: string;
  /** 0x calldata. */
  data: string;
  value: bigint;
  /** Requested gas limit; `null` = estimate when signing. */
  gasLimit: bigint | null;
}

/** One signed version of the transaction: the first send or a fee bump. Journaled before it is broadcast. */
export interface TxAttempt {
  hash: string;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gasLimit: bigint;
  /** 0x signed raw transaction, rebroadcast unchanged after a restart or a reorg. */
  raw: string;
  sentAt: number;
}

export interface StoredTx extends TxIntent {
  id: number;
  nonce: number | null;
  status: TxStatus;
  minedHash: string | null;
  minedBlock: number | null;
  error: string | null;
  /** Oldest first. */
  attempts: TxAttempt[];
  createdAt: number;
  updatedAt: number;
}

export interface MinedRef {
  hash: string;
  blockNumber: number;
}

/**
 * Durable memory of the transaction sender. Every method is atomic; the sender calls `createIntent` before it
 * assigns a nonce and `recordAttempt` before each broadcast, so after a crash `listOpen` holds everything that may be
 * on the wire. State changes outside the transitions listed on {@link TxStatus} throw `TX_STORE_STATE`.
 */
export interface TxStore {
  /** @throws ChainError `TX_KEY_CONFLICT` when a record holds (purpose, key). */
  createIntent(intent: TxIntent, now: number): StoredTx;
  /** The record that holds (purpose, key) — open or confirmed — or `null`. */
  findByKey(purpose: string, key: string): StoredTx | null;
  get(id: number): StoredTx | null;
  /** Fixes the nonce on the first attempt (later attempts must use it) and moves `intent` → `pending`. */
  recordAttempt(id: number, attempt: TxAttempt, now: number): void;
  markMined(id: number, mined: MinedRef, now: number): void;
  /** `mined` → `pending`: the block was reorged out. */
  markUnmined(id: number, now: number): void;
  markConfirmed(id: number, now: number): void;
  markReverted(id: number, mined: MinedRef, error: string, now: number): void;
  markAbandoned(id: number, error: string, now: number): void;
  /** Records in `intent`, `pending` or `mined`, by nonce (unassigned last), then id. */
  listOpen(): StoredTx[];
  /** One past the highest nonce held by a record that is not abandoned, or `null`. */
  nextNonceHint(): number | null;
}

function stateError(tx: StoredTx, action: string): ChainError {
  return new ChainError("TX_STORE_STATE", `transaction ${tx.id} is ${tx.status}; cannot ${action}`, { details: { id: tx.id, status: tx.status } });
}

function holdsKey(status: TxStatus): boolean {
  return status !== "abandoned" && status !== "reverted";
}

function copy(tx: StoredTx): StoredTx {
  return { ...tx, attempts: tx.attempts.map((a) => ({ ...a })) };
}

/** A {@link TxStore} in memory, for tests and for runs that accept losing their state on exit. */
export class MemoryTxStore implements TxStore {
  readonly #rows = new Map<number, StoredTx>();
  #nextId = 1;

  createIntent(intent: TxIntent, now: number): StoredTx {
    const existing = this.findByKey(intent.purpose, intent.key);
    if (existing !== null) {
      throw new ChainError("TX_KEY_CONFLICT", `a transaction for ${intent.purpose}/${intent.key} already exists`, {
        details: { id: existing.id, status: existing.status },
        hint: "look the existing transaction up instead of creating another",
      });
    }
    const row: StoredTx = {
      ...intent,
      to: intent.to.toLowerCase(),
      id: this.#nextId++,
      nonce: null,
      status: "intent",
      minedHash: null,
      minedBlock: null,
      error: null,
      attempts: [],
      createdAt: now,
      updatedAt: now,
    };
    this.#rows.set(row.id, row);
    return copy(row);
  }

  findByKey(purpose: string, key: string): StoredTx | null {
    let found: StoredTx | null = null;
    for (const row of this.#rows.values()) {
      if (row.purpose === purpose && row.key === key && holdsKey(row.status) && (found === null || row.id > found.id)) found = row;
    }
    return found === null ? null : copy(found);
  }

  get(id: number): StoredTx | null {
    const row = this.#rows.get(id);
    return row === undefined ? null : copy(row);
  }

  #require(id: number): StoredTx {
    const row = this.#rows.get(id);
    if (row === undefined) throw new ChainError("TX_STORE_STATE", `transaction ${id} is not in the store`, { details: { id } });
    return row;
  }

  recordAttempt(id: number, attempt: TxAttempt, now: number): void {
    const row = this.#require(id);
    if (row.status !== "intent" && row.status !== "pending") throw stateError(row, "record an attempt");
    if (row.nonce !== null && row.nonce !== attempt.nonce) throw stateError(row, `change its nonce ${row.nonce} to ${attempt.nonce}`);
    for (const other of this.#rows.values()) {
      if (other.id !== id && other.nonce === attempt.nonce && other.status !== "abandoned") {
        throw new ChainError("TX_STORE_STATE", `nonce ${attempt.nonce} is held by transaction ${other.id}`, { details: { id, other: other.id } });
      }
    }
    row.nonce = attempt.nonce;
    row.status = "pending";
    if (!row.attempts.some((a) => a.hash === attempt.hash.toLowerCase())) row.attempts.push({ ...attempt, hash: attempt.hash.toLowerCase() });
    row.updatedAt = now;
  }

  #move(id: number, from: readonly TxStatus[], to: TxStatus, now: number, fields: Partial<StoredTx> = {}): void {
    const row = this.#require(id);
    if (!from.includes(row.status)) throw stateError(row, `move to ${to}`);
    Object.assign(row, fields, { status: to, updatedAt: now });
  }

  markMined(id: number, mined: MinedRef, now: number): void {
    this.#move(id, ["pending", "mined"], "mined", now, { minedHash: mined.hash.toLowerCase(), minedBlock: mined.blockNumber });
  }

  markUnmined(id: number, now: number): void {
    this.#move(id, ["mined"], "pending", now, { minedHash: null, minedBlock: null });
  }

  markConfirmed(id: number, now: number): void {
    this.#move(id, ["mined"], "confirmed", now);
  }

  markReverted(id: number, mined: MinedRef, error: string, now: number): void {
    this.#move(id, ["pending", "mined"], "reverted", now, { minedHash: mined.hash.toLowerCase(), minedBlock: mined.blockNumber, error });
  }

  markAbandoned(id: number, error: string, now: number): void {
    this.#move(id, ["intent", "pending"], "abandoned", now, { error });
  }

  listOpen(): StoredTx[] {
    return [...this.#rows.values()]
      .filter((r) => r.status === "intent" || r.status === "pending" || r.status === "mined")
      .sort((a, b) => (a.nonce ?? Infinity) - (b.nonce ?? Infinity) || a.id - b.id)
      .map(copy);
  }

  nextNonceHint(): number | null {
    let max: number | null = null;
    for (const r of this.#rows.values()) if (r.nonce !== null && r.status !== "abandoned" && (max === null || r.nonce > max)) max = r.nonce;
    return max === null ? null : max + 1;
  }
}
