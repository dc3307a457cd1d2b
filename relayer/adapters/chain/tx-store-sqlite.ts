import { DatabaseSync } from "node:sqlite";

import { isRelayerError } from "../../core/errors.js";
import type { Journal, TxIntentInput, TxRecord } from "../journal/journal.js";
import { ChainError } from "./errors.js";
import type { MinedRef, StoredTx, TxAttempt, TxIntent, TxStore } from "./tx-store.js";

const PURPOSES: readonly TxIntentInput["purpose"][] = ["accept", "settle", "other"];

function toStored(r: TxRecord): StoredTx {
  return {
    id: r.txId,
    purpose: r.purpose,
    key: r.ref,
    to: r.to,
    data: r.data,
    value: r.value,
    // The journal keeps the gas limit per attempt only; an intent that never got an attempt is estimated again.
    gasLimit: r.attempts[0]?.gasLimit ?? null,
    nonce: r.nonce,
    status: r.status,
    minedHash: r.minedHash,
    minedBlock: r.minedBlock,
    error: r.error,
    attempts: r.attempts.map((a) => ({
      hash: a.hash,
      nonce: a.nonce,
      maxFeePerGas: a.maxFeePerGas,
      maxPriorityFeePerGas: a.maxPriorityFeePerGas,
      gasLimit: a.gasLimit,
      raw: a.raw,
      sentAt: a.sentAt,
    })),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/**
 * {@link TxStore} over the relayer journal's `transactions` and `tx_attempts` tables, so the sender's records commit
 * with the same durability (WAL, `synchronous=FULL`) as the jobs and batches they belong to. `key` is the journal's
 * `ref` and `purpose` one of its purposes (`accept`, `settle`, `other`).
 *
 * Writes go through the {@link Journal}'s own methods (one writer, its state checks). The idempotency lookup also
 * needs reverted records, which the journal's `findLiveTx` leaves out, so it reads them over a second, read-only
 * connection to the same file.
 */
export class SqliteTxStore implements TxStore {
  readonly #journal: Journal;
  readonly #reader: DatabaseSync;

  /** @param path the journal's file (a WAL database; `:memory:` journals cannot be shared). */
  constructor(journal: Journal, path: string) {
    if (path === ":memory:") {
      throw new ChainError("CHAIN_INVALID_CONFIG", "an in-memory journal cannot back the transaction store", {
        hint: "open the journal on a file, or use MemoryTxStore",
      });
    }
    this.#journal = journal;
    this.#reader = new DatabaseSync(path, { readOnly: true });
  }

  close(): void {
    this.#reader.close();
  }

  #wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (isRelayerError(error, "JOURNAL_TX_STATE") || isRelayerError(error, "JOURNAL_TX_NOT_FOUND")) {
        throw new ChainError("TX_STORE_STATE", error.message, { cause: error, details: error.details });
      }
      throw error;
    }
  }

  createIntent(intent: TxIntent, now: number): StoredTx {
    const purpose = intent.purpose as TxIntentInput["purpose"];
    if (!PURPOSES.includes(purpose)) {
      throw new ChainError("TX_INVALID_REQUEST", `purpose ${intent.purpose} is not one the journal records`, {
        details: { purpose: intent.purpose },
        hint: `use one of ${PURPOSES.join(", ")}`,
      });
    }
    return this.#journal.transaction(() => {
      const existing = this.findByKey(intent.purpose, intent.key);
      if (existing !== null) {
        throw new ChainError("TX_KEY_CONFLICT", `a transaction for ${intent.purpose}/${intent.key} already exists`, {
          details: { id: existing.id, status: existing.status },
          hint: "look the existing transaction up instead of creating another",
        });
      }
      const id = this.#journal.recordTxIntent({ purpose, ref: intent.key, to: intent.to, data: intent.data, value: intent.value }, now);
      return this.get(id) as StoredTx;
    });
  }

  findByKey(purpose: string, key: string): StoredTx | null {
    const row = this.#reader
      .prepare("SELECT tx_id FROM transactions WHERE purpose = ? AND ref = ? AND status <> 'abandoned' ORDER BY tx_id DESC LIMIT 1")
      .get(purpose, key) as { tx_id: number } | undefined;
    return row === undefined ? null : this.get(Number(row.tx_id));
  }

  get(id: number): StoredTx | null {
    const r = this.#journal.getTx(id);
    return r === null ? null : toStored(r);
  }

  recordAttempt(id: number, a: TxAttempt, now: number): void {
    this.#wrap(() =>
      this.#journal.recordTxAttempt(
        id,
        { hash: a.hash, nonce: a.nonce, maxFeePerGas: a.maxFeePerGas, maxPriorityFeePerGas: a.maxPriorityFeePerGas, gasLimit: a.gasLimit, raw: a.raw },
        now,
      ),
    );
  }

  markMined(id: number, mined: MinedRef, now: number): void {
    this.#wrap(() => this.#journal.markTxMined(id, mined, now));
  }

  markUnmined(id: number, now: number): void {
    this.#wrap(() => this.#journal.markTxUnmined(id, now));
  }

  markConfirmed(id: number, now: number): void {
    this.#wrap(() => this.#journal.markTxConfirmed(id, now));
  }

  markReverted(id: number, mined: MinedRef, error: string, now: number): void {
    this.#wrap(() => this.#journal.markTxReverted(id, mined, error, now));
  }

  markAbandoned(id: number, error: string, now: number): void {
    this.#wrap(() => this.#journal.markTxAbandoned(id, error, now));
  }

  listOpen(): StoredTx[] {
    return this.#journal.listOpenTxs().map(toStored);
  }

  nextNonceHint(): number | null {
    return this.#journal.nextNonceHint();
  }
}
