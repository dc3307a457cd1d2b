import type { TxStatus } from "../../core/read-model.js";

export type { TxStatus } from "../../core/read-model.js";

/*
 * What the transaction sender needs from its durable memory; the relayer journal's `transactions` table
 * (adapters/journal/transactions.ts) is that memory, so the sender's records commit with the jobs and batches they
 * serve.
 *
 * Lifecycle of one outgoing transaction ({@link TxStatus}): `intent` (journaled, no nonce yet) → `pending` (signed and
 * broadcast, at least one attempt) → `mined` → `confirmed`; `mined` → `pending` again when a reorg removes it;
 * `reverted` (mined with status 0, final); `abandoned` (never mined and given up before a nonce was consumed, final).
 *
 * A record holds its (purpose, key) unless it is `abandoned` or `reverted`: both are final and nothing of theirs can
 * still land, so the key may be submitted again (the relayer re-accepts a job alone under the key of a group accept
 * that reverted).
 */

export const TX_PURPOSES = ["accept", "settle", "other"] as const;
export type TxPurpose = (typeof TX_PURPOSES)[number];

export interface TxIntent {
  /** What the transaction is for: one of {@link TX_PURPOSES}. */
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
 * on the wire. State changes outside the lifecycle above throw `TX_STORE_STATE`.
 */
export interface TxStore {
  /** @throws ChainError `TX_KEY_CONFLICT` when a record holds (purpose, key), `TX_INVALID_REQUEST` for another purpose. */
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
