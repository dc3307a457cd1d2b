import { ChainError } from "../chain/errors.js";
import { TX_PURPOSES, type MinedRef, type StoredTx, type TxAttempt, type TxIntent, type TxStore } from "../chain/tx-store.js";
import { TX_STATUSES, type TxStatus } from "../../core/read-model.js";
import { countsOf, isConstraintError, num, optNum, optStr, str, type Params, type Row, type Sql } from "./sql.js";

function stateError(tx: StoredTx, action: string): ChainError {
  return new ChainError("TX_STORE_STATE", `transaction ${tx.id} is ${tx.status}; cannot ${action}`, { details: { id: tx.id, status: tx.status } });
}

function attemptFromRow(row: Row, nonce: number): TxAttempt {
  return {
    hash: str(row, "hash"),
    nonce,
    maxFeePerGas: BigInt(str(row, "max_fee_per_gas")),
    maxPriorityFeePerGas: BigInt(str(row, "max_priority_fee_per_gas")),
    gasLimit: BigInt(str(row, "gas_limit")),
    raw: str(row, "raw"),
    sentAt: num(row, "sent_at"),
  };
}

/**
 * `transactions` and `tx_attempts`: the transaction sender's {@link TxStore}, in the journal itself, so its records
 * commit with the same durability (WAL, `synchronous=FULL`) as the jobs and batches they serve. One live transaction
 * per nonce is a constraint of the table: two different payloads can never be in flight at the same nonce.
 */
export class TransactionsTable implements TxStore {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  createIntent(intent: TxIntent, now: number): StoredTx {
    if (!(TX_PURPOSES as readonly string[]).includes(intent.purpose)) {
      throw new ChainError("TX_INVALID_REQUEST", `purpose ${intent.purpose} is not one the journal records`, {
        details: { purpose: intent.purpose },
        hint: `use one of ${TX_PURPOSES.join(", ")}`,
      });
    }
    return this.#sql.transaction(() => {
      const existing = this.findByKey(intent.purpose, intent.key);
      if (existing !== null) {
        throw new ChainError("TX_KEY_CONFLICT", `a transaction for ${intent.purpose}/${intent.key} already exists`, {
          details: { id: existing.id, status: existing.status },
          hint: "look the existing transaction up instead of creating another",
        });
      }
      const id = this.#sql.run(
        `INSERT INTO transactions (purpose, ref, to_address, data, value, status, created_at, updated_at)
         VALUES ($purpose, $ref, $to, $data, $value, 'intent', $now, $now)`,
        { purpose: intent.purpose, ref: intent.key, to: intent.to.toLowerCase(), data: intent.data, value: intent.value.toString(), now },
      ).lastInsertRowid;
      return this.get(id) as StoredTx;
    });
  }

  /** The record for `purpose`/`key` that is neither abandoned nor reverted (the one that holds the key), if any. */
  findByKey(purpose: string, key: string): StoredTx | null {
    const row = this.#sql.get(
      "SELECT * FROM transactions WHERE purpose = $p AND ref = $r AND status NOT IN ('abandoned','reverted') ORDER BY tx_id DESC LIMIT 1",
      { p: purpose, r: key },
    );
    return row === undefined ? null : this.#fromRow(row);
  }

  get(id: number): StoredTx | null {
    const row = this.#sql.get("SELECT * FROM transactions WHERE tx_id = $id", { id });
    return row === undefined ? null : this.#fromRow(row);
  }

  require(id: number): StoredTx {
    const tx = this.get(id);
    if (tx === null) throw new ChainError("TX_STORE_STATE", `transaction ${id} is not in the journal`, { details: { id } });
    return tx;
  }

  /**
   * Journals one signed attempt (first send or fee bump) before it is broadcast. All attempts of a transaction share
   * its nonce; the first attempt fixes it.
   *
   * @throws ChainError `TX_STORE_STATE` when the transaction is unknown or no longer open, the nonce differs from the
   *         first attempt's, or another live transaction holds the nonce.
   */
  recordAttempt(id: number, attempt: TxAttempt, now: number): void {
    this.#sql.transaction(() => {
      const tx = this.require(id);
      if (tx.status !== "intent" && tx.status !== "pending") throw stateError(tx, "record an attempt");
      if (tx.nonce !== null && tx.nonce !== attempt.nonce) throw stateError(tx, `change its nonce ${tx.nonce} to ${attempt.nonce}`);
      try {
        this.#sql.run("UPDATE transactions SET nonce = $nonce, status = 'pending', updated_at = $now WHERE tx_id = $id", { id, nonce: attempt.nonce, now });
        this.#sql.run(
          `INSERT INTO tx_attempts (hash, tx_id, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, raw, sent_at)
           VALUES ($hash, $id, $maxFee, $tip, $gas, $raw, $now) ON CONFLICT (hash) DO NOTHING`,
          {
            hash: attempt.hash.toLowerCase(),
            id,
            maxFee: attempt.maxFeePerGas.toString(),
            tip: attempt.maxPriorityFeePerGas.toString(),
            gas: attempt.gasLimit.toString(),
            raw: attempt.raw,
            now,
          },
        );
      } catch (cause) {
        if (!isConstraintError(cause)) throw cause;
        throw new ChainError("TX_STORE_STATE", `nonce ${attempt.nonce} is held by another live transaction`, {
          cause,
          details: { id, nonce: attempt.nonce },
          hint: "the nonce owner must reconcile the transaction at that nonce first",
        });
      }
    });
  }

  #move(id: number, from: readonly TxStatus[], fields: Params, now: number): void {
    this.#sql.transaction(() => {
      const tx = this.require(id);
      if (!from.includes(tx.status)) throw stateError(tx, `move to ${String(fields.status)}`);
      const sets = Object.keys(fields).map((k) => `${k} = $${k}`);
      this.#sql.run(`UPDATE transactions SET ${sets.join(", ")}, updated_at = $now WHERE tx_id = $id`, { ...fields, id, now });
    });
  }

  /** One of the attempts was mined (successfully) in `blockNumber`. */
  markMined(id: number, mined: MinedRef, now: number): void {
    this.#move(id, ["pending", "mined"], { status: "mined", mined_hash: mined.hash.toLowerCase(), mined_block: mined.blockNumber }, now);
  }

  /** The mined block was reorged out: the transaction is pending again and its attempts may be rebroadcast. */
  markUnmined(id: number, now: number): void {
    this.#move(id, ["mined"], { status: "pending", mined_hash: null, mined_block: null }, now);
  }

  /** The mined transaction is below the confirmation depth. */
  markConfirmed(id: number, now: number): void {
    this.#move(id, ["mined"], { status: "confirmed" }, now);
  }

  /** Mined but reverted: final, the caller decides what it means for the job or batch. */
  markReverted(id: number, mined: MinedRef, error: string, now: number): void {
    this.#move(id, ["pending", "mined"], { status: "reverted", mined_hash: mined.hash.toLowerCase(), mined_block: mined.blockNumber, error }, now);
  }

  /** Never mined and given up (the nonce was consumed by nothing of ours): frees the nonce. */
  markAbandoned(id: number, error: string, now: number): void {
    this.#move(id, ["intent", "pending"], { status: "abandoned", error }, now);
  }

  /** Transactions the sender must still drive (intent, pending, mined), by nonce then id. */
  listOpen(): StoredTx[] {
    return this.#sql.all("SELECT * FROM transactions WHERE status IN ('intent','pending','mined') ORDER BY nonce IS NULL, nonce, tx_id").map((row) => this.#fromRow(row));
  }

  /** One past the highest nonce any live transaction holds, or `null` if none: compared with the chain's count. */
  nextNonceHint(): number | null {
    const row = this.#sql.get("SELECT MAX(nonce) AS n FROM transactions WHERE nonce IS NOT NULL AND status <> 'abandoned'") as Row;
    return row.n === null ? null : num(row, "n") + 1;
  }

  /** Whether a transaction attempt with this hash was signed from this journal. */
  hasAttempt(hash: string): boolean {
    return this.#sql.get("SELECT 1 AS x FROM tx_attempts WHERE hash = $h", { h: hash.toLowerCase() }) !== undefined;
  }

  countsByStatus(): Record<TxStatus, number> {
    return countsOf(TX_STATUSES, this.#sql.all("SELECT status, COUNT(*) AS n FROM transactions GROUP BY status"), "status");
  }

  /** Attempts beyond the first of each transaction (fee bumps). */
  retries(): number {
    return num(this.#sql.get("SELECT COUNT(*) - COUNT(DISTINCT tx_id) AS n FROM tx_attempts") as Row, "n");
  }

  #fromRow(row: Row): StoredTx {
    const id = num(row, "tx_id");
    const nonce = optNum(row, "nonce");
    const attempts = this.#sql.all("SELECT * FROM tx_attempts WHERE tx_id = $id ORDER BY sent_at, rowid", { id }).map((a) => attemptFromRow(a, nonce ?? -1));
    return {
      id,
      purpose: str(row, "purpose"),
      key: str(row, "ref"),
      to: str(row, "to_address"),
      data: str(row, "data"),
      value: BigInt(str(row, "value")),
      // The gas limit is kept per attempt only; an intent that never got an attempt is estimated again, which also
      // refuses a transaction that would revert before it costs a nonce.
      gasLimit: attempts[0]?.gasLimit ?? null,
      nonce,
      status: str(row, "status") as TxStatus,
      minedHash: optStr(row, "mined_hash"),
      minedBlock: optNum(row, "mined_block"),
      error: optStr(row, "error"),
      attempts,
      createdAt: num(row, "created_at"),
      updatedAt: num(row, "updated_at"),
    };
  }
}
