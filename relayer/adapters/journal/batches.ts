import { RelayerError } from "../../core/errors.js";
import { BATCH_STATUSES, type BatchInfo, type BatchStatus } from "../../core/read-model.js";
import type { JobsTable } from "./jobs.js";
import type { ReceiptsTable } from "./receipts.js";
import { countsOf, inList, num, optNum, optStr, str, type Row, type Sql } from "./sql.js";
import type { TransactionsTable } from "./transactions.js";

export interface BatchIntentInput {
  /** 0x Merkle root the contract will compute. */
  root: string;
  /** The `settleBatch` calldata argument (46-byte records). */
  items: Uint8Array;
  /** Receipts in on-chain order, each with its inclusion proof in this batch's tree. */
  entries: { receiptId: string; proof: string[] }[];
}

export interface BatchItem {
  position: number;
  receiptId: string;
  proof: string[];
}

const BATCH_COLUMNS = "batch_id, root, status, item_count, tx_id, tx_hash, block_number, error, created_at, updated_at";

function batchFromRow(row: Row): BatchInfo {
  return {
    batchId: num(row, "batch_id"),
    root: str(row, "root"),
    status: str(row, "status") as BatchStatus,
    itemCount: num(row, "item_count"),
    txId: optNum(row, "tx_id"),
    txHash: optStr(row, "tx_hash"),
    blockNumber: optNum(row, "block_number"),
    error: optStr(row, "error"),
    createdAt: num(row, "created_at"),
    updatedAt: num(row, "updated_at"),
  };
}

/** `batches` and `batch_items`: each settlement batch with its calldata, root and every receipt's proof. */
export class BatchesTable {
  readonly #sql: Sql;
  readonly #jobs: JobsTable;
  readonly #receipts: ReceiptsTable;
  readonly #transactions: TransactionsTable;

  constructor(sql: Sql, jobs: JobsTable, receipts: ReceiptsTable, transactions: TransactionsTable) {
    this.#sql = sql;
    this.#jobs = jobs;
    this.#receipts = receipts;
    this.#transactions = transactions;
  }

  /**
   * Journals a batch before its transaction exists: the calldata, the root, each receipt's position and proof, and
   * moves every job `signed → batched`, atomically. Returns the batch id.
   */
  recordIntent(input: BatchIntentInput, now: number): number {
    if (input.entries.length === 0) {
      throw new RelayerError("JOURNAL_BATCH_STATE", "a batch needs at least one receipt");
    }
    return this.#sql.transaction(() => {
      const batchId = this.#sql.run(
        `INSERT INTO batches (root, items, item_count, status, created_at, updated_at)
         VALUES ($root, $items, $count, 'intent', $now, $now)`,
        { root: input.root.toLowerCase(), items: input.items, count: input.entries.length, now },
      ).lastInsertRowid;
      input.entries.forEach((entry, position) => {
        const receipt = this.#receipts.get(entry.receiptId);
        if (receipt === null) {
          throw new RelayerError("JOURNAL_BATCH_STATE", `receipt ${entry.receiptId} is not in the journal`, {
            details: { receiptId: entry.receiptId },
          });
        }
        this.#jobs.apply(receipt.jobId, { type: "batch", batchId }, now);
        this.#receipts.setBatch(entry.receiptId, batchId);
        this.#sql.run("INSERT INTO batch_items (batch_id, position, receipt_id, proof) VALUES ($b, $p, $r, $proof)", {
          b: batchId,
          p: position,
          r: entry.receiptId,
          proof: JSON.stringify(entry.proof),
        });
      });
      return batchId;
    });
  }

  get(batchId: number): BatchInfo | null {
    const row = this.#sql.get(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $b`, { b: batchId });
    return row === undefined ? null : batchFromRow(row);
  }

  /** The calldata argument journaled with the batch intent, to rebuild the transaction after a restart. */
  calldataItems(batchId: number): Uint8Array | null {
    const row = this.#sql.get("SELECT items FROM batches WHERE batch_id = $b", { b: batchId });
    return row === undefined ? null : (row.items as Uint8Array);
  }

  items(batchId: number): BatchItem[] {
    return this.#sql
      .all("SELECT position, receipt_id, proof FROM batch_items WHERE batch_id = $b ORDER BY position", { b: batchId })
      .map((row) => ({ position: num(row, "position"), receiptId: str(row, "receipt_id"), proof: JSON.parse(str(row, "proof")) as string[] }));
  }

  /** The proof of `receiptId` in `batchId`, or `null` when the batch does not carry it. */
  proof(batchId: number, receiptId: string): string[] | null {
    const item = this.#sql.get("SELECT proof FROM batch_items WHERE batch_id = $b AND receipt_id = $r", { b: batchId, r: receiptId });
    return item === undefined ? null : (JSON.parse(str(item, "proof")) as string[]);
  }

  list(statuses: readonly BatchStatus[]): BatchInfo[] {
    if (statuses.length === 0) return [];
    const { placeholders, params } = inList(statuses);
    return this.#sql.all(`SELECT ${BATCH_COLUMNS} FROM batches WHERE status IN (${placeholders}) ORDER BY batch_id`, params).map(batchFromRow);
  }

  #require(batchId: number, allowed: readonly BatchStatus[]): BatchInfo {
    const batch = this.get(batchId);
    if (batch === null) {
      throw new RelayerError("JOURNAL_BATCH_NOT_FOUND", `batch ${batchId} is not in the journal`, { details: { batchId } });
    }
    if (!allowed.includes(batch.status)) {
      throw new RelayerError("JOURNAL_BATCH_STATE", `batch ${batchId} is ${batch.status}, expected ${allowed.join(" or ")}`, {
        details: { batchId, status: batch.status, allowed },
      });
    }
    return batch;
  }

  #jobIds(batchId: number): bigint[] {
    return this.#sql
      .all("SELECT r.job_id FROM batch_items i JOIN receipts r ON r.receipt_id = i.receipt_id WHERE i.batch_id = $b ORDER BY i.position", { b: batchId })
      .map((row) => BigInt(str(row, "job_id")));
  }

  /** Links the batch to the transaction journaled to carry it. */
  attachTx(batchId: number, txId: number, now: number): void {
    this.#sql.transaction(() => {
      this.#require(batchId, ["intent", "sent"]);
      this.#transactions.require(txId);
      this.#sql.run("UPDATE batches SET status = 'sent', tx_id = $tx, updated_at = $now WHERE batch_id = $b", { b: batchId, tx: txId, now });
    });
  }

  /** The settlement was mined: every job `batched → settled`. */
  markConfirmed(batchId: number, mined: { txHash: string; blockNumber: number }, now: number): void {
    this.#sql.transaction(() => {
      this.#require(batchId, ["intent", "sent"]);
      for (const jobId of this.#jobIds(batchId)) this.#jobs.apply(jobId, { type: "settle", txHash: mined.txHash, blockNumber: mined.blockNumber }, now);
      this.#sql.run("UPDATE batches SET status = 'confirmed', tx_hash = $h, block_number = $n, updated_at = $now WHERE batch_id = $b", {
        b: batchId,
        h: mined.txHash,
        n: mined.blockNumber,
        now,
      });
    });
  }

  /** The settlement failed for good: every job `batched → signed`, receipts detached, ready for another batch. */
  markFailed(batchId: number, error: string, now: number): void {
    this.#sql.transaction(() => {
      this.#require(batchId, ["intent", "sent"]);
      for (const jobId of this.#jobIds(batchId)) this.#jobs.apply(jobId, { type: "unbatch" }, now);
      this.#receipts.detachBatch(batchId);
      this.#sql.run("UPDATE batches SET status = 'failed', error = $e, updated_at = $now WHERE batch_id = $b", { b: batchId, e: error, now });
    });
  }

  /** The settlement vanished in a reorg: every job `settled → batched`; the batch waits for its transaction again. */
  markReorged(batchId: number, now: number): void {
    this.#sql.transaction(() => {
      this.#require(batchId, ["confirmed"]);
      for (const jobId of this.#jobIds(batchId)) this.#jobs.apply(jobId, { type: "reorg" }, now);
      this.#sql.run("UPDATE batches SET status = 'sent', tx_hash = NULL, block_number = NULL, updated_at = $now WHERE batch_id = $b", { b: batchId, now });
    });
  }

  /** The settlement is past reorg depth and the dispute window: every job `settled → finalized`. */
  markFinalized(batchId: number, now: number): void {
    this.#sql.transaction(() => {
      this.#require(batchId, ["confirmed"]);
      for (const jobId of this.#jobIds(batchId)) this.#jobs.apply(jobId, { type: "finalize" }, now);
      this.#sql.run("UPDATE batches SET status = 'finalized', updated_at = $now WHERE batch_id = $b", { b: batchId, now });
    });
  }

  countsByStatus(): Record<BatchStatus, number> {
    return countsOf(BATCH_STATUSES, this.#sql.all("SELECT status, COUNT(*) AS n FROM batches GROUP BY status"), "status");
  }
}
