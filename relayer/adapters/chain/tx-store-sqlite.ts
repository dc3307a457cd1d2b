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
    // The journal keeps the gas limit per attempt only; an intent that never got an attempt is estimated again, which
    // also refuses a transaction that would revert before it costs a nonce.
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

function isPurpose(purpose: string): purpose is TxIntentInput["purpose"] {
  return (PURPOSES as readonly string[]).includes(purpose);
}

/**
 * {@link TxStore} over the relayer journal's `transactions` and `tx_attempts` tables, so the sender's records commit
 * with the same durability (WAL, `synchronous=FULL`) as the jobs and batches they serve. `key` is the journal's `ref`
 * and `purpose` one of its purposes (`accept`, `settle`, `other`).
 *
 * Writes go through the {@link Journal}'s own methods (one writer, its state checks); journal state errors become the
 * store's `TX_STORE_STATE`, so the sender treats them like any other store refusal. A key is held by a record that is
 * neither abandoned nor reverted (the rule of {@link TxStore}), which the relayer relies on: a job whose group accept
 * reverted (another member was taken) is accepted again alone under the same key.
 */
export class SqliteTxStore implements TxStore {
  readonly #journal: Journal;

  constructor(journal: Journal) {
    this.#journal = journal;
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
    const purpose = intent.purpose;
    if (!isPurpose(purpose)) {
      throw new ChainError("TX_INVALID_REQUEST", `purpose ${purpose} is not one the journal records`, {
        details: { purpose },
        hint: `use one of ${PURPOSES.join(", ")}`,
      });
    }
    return this.#journal.transaction(() => {
      const existing = this.#journal.findLiveTx(purpose, intent.key);
      if (existing !== null) {
        throw new ChainError("TX_KEY_CONFLICT", `a transaction for ${purpose}/${intent.key} already exists`, {
          details: { id: existing.txId, status: existing.status },
          hint: "look the existing transaction up instead of creating another",
        });
      }
      const id = this.#journal.recordTxIntent({ purpose, ref: intent.key, to: intent.to, data: intent.data, value: intent.value }, now);
      return toStored(this.#journal.getTx(id) as TxRecord);
    });
  }

  findByKey(purpose: string, key: string): StoredTx | null {
    if (!isPurpose(purpose)) return null;
    const tx = this.#journal.findLiveTx(purpose, key);
    return tx === null ? null : toStored(tx);
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
