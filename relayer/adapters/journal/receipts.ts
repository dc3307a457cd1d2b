import { RelayerError } from "../../core/errors.js";
import type { ReceiptPage, ReceiptQuery, StoredReceipt } from "../../core/read-model.js";
import type { JobsTable } from "./jobs.js";
import { isConstraintError, num, optNum, str, type Params, type Row, type Sql } from "./sql.js";

/** A receipt to journal: the stored receipt before the journal adds when it was signed and its batch. */
export type SignedReceiptInput = Omit<StoredReceipt, "signedAt" | "batchId">;

function receiptFromRow(row: Row): StoredReceipt {
  return {
    receiptId: str(row, "receipt_id"),
    receiptHash: str(row, "receipt_hash"),
    leafHash: str(row, "leaf_hash"),
    jobId: BigInt(str(row, "job_id")),
    client: str(row, "client"),
    provider: str(row, "provider"),
    unitsMilli: BigInt(str(row, "units_milli")),
    priceBase: BigInt(str(row, "price_base")),
    json: str(row, "json"),
    signedAt: num(row, "signed_at"),
    batchId: optNum(row, "batch_id"),
  };
}

const PAGE_CURSOR_VERSION = 1;

function encodePageCursor(signedAt: number, receiptId: string, filter: string): string {
  return Buffer.from(JSON.stringify([PAGE_CURSOR_VERSION, signedAt, receiptId, filter]), "utf8").toString("base64url");
}

function decodePageCursor(cursor: string, filter: string): { signedAt: number; receiptId: string } {
  const bad = (why: string) =>
    new RelayerError("JOURNAL_BAD_CURSOR", `cursor is not valid: ${why}`, {
      hint: "pass the nextCursor of the previous page unchanged, with the same client/provider filter, or omit it to start over",
    });
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw bad("not base64url");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad("not a cursor");
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== PAGE_CURSOR_VERSION) throw bad("not a cursor");
  const [, signedAt, receiptId, boundFilter] = parsed as [unknown, unknown, unknown, unknown];
  if (typeof signedAt !== "number" || !Number.isSafeInteger(signedAt) || typeof receiptId !== "string") throw bad("not a cursor");
  if (boundFilter !== filter) throw bad("issued for another filter");
  return { signedAt, receiptId };
}

/** `receipts`: every signed receipt, exactly as signed, with the batch that carries it now. */
export class ReceiptsTable {
  readonly #sql: Sql;
  readonly #jobs: JobsTable;

  constructor(sql: Sql, jobs: JobsTable) {
    this.#sql = sql;
    this.#jobs = jobs;
  }

  /**
   * Journals a signed receipt and moves its job `done → signed` in one transaction.
   *
   * Idempotent by `receiptId`: if it is already journaled, nothing changes and the stored receipt is returned
   * (`inserted: false`), so a restart that signs again can never publish a second document for the same job.
   *
   * @throws RelayerError `JOURNAL_RECEIPT_CONFLICT` when the job already has another receipt id, or the hash or leaf
   *         belongs to another receipt; `RELAYER_ILLEGAL_TRANSITION` when the job is not `done`.
   */
  record(input: SignedReceiptInput, now: number): { inserted: boolean; receipt: StoredReceipt } {
    return this.#sql.transaction(() => {
      const existing = this.get(input.receiptId);
      if (existing !== null) {
        if (existing.jobId !== input.jobId) {
          throw new RelayerError("JOURNAL_RECEIPT_CONFLICT", `receipt ${input.receiptId} belongs to job ${existing.jobId}, not ${input.jobId}`, {
            details: { receiptId: input.receiptId, storedJob: existing.jobId.toString(), jobId: input.jobId.toString() },
          });
        }
        return { inserted: false, receipt: existing };
      }
      const byJob = this.#sql.get("SELECT receipt_id FROM receipts WHERE job_id = $id", { id: input.jobId.toString() });
      if (byJob !== undefined) {
        throw new RelayerError("JOURNAL_RECEIPT_CONFLICT", `job ${input.jobId} already has receipt ${str(byJob, "receipt_id")}`, {
          details: { jobId: input.jobId.toString(), stored: str(byJob, "receipt_id"), receiptId: input.receiptId },
          hint: "receipt ids are derived from (chain id, escrow, job id); a different id means the derivation changed",
        });
      }
      this.#jobs.apply(input.jobId, { type: "sign", receiptId: input.receiptId, receiptHash: input.receiptHash }, now);
      try {
        this.#sql.run(
          `INSERT INTO receipts (receipt_id, receipt_hash, leaf_hash, job_id, client, provider, units_milli, price_base, json, signed_at)
           VALUES ($id, $hash, $leaf, $job, $client, $provider, $units, $price, $json, $now)`,
          {
            id: input.receiptId,
            hash: input.receiptHash,
            leaf: input.leafHash.toLowerCase(),
            job: input.jobId.toString(),
            client: input.client.toLowerCase(),
            provider: input.provider.toLowerCase(),
            units: input.unitsMilli.toString(),
            price: input.priceBase.toString(),
            json: input.json,
            now,
          },
        );
      } catch (cause) {
        if (!isConstraintError(cause)) throw cause;
        throw new RelayerError("JOURNAL_RECEIPT_CONFLICT", `receipt ${input.receiptId} repeats the hash or leaf of another receipt`, {
          cause,
          details: { receiptId: input.receiptId, receiptHash: input.receiptHash, leafHash: input.leafHash },
        });
      }
      return { inserted: true, receipt: this.get(input.receiptId) as StoredReceipt };
    });
  }

  get(receiptId: string): StoredReceipt | null {
    const row = this.#sql.get("SELECT * FROM receipts WHERE receipt_id = $id", { id: receiptId });
    return row === undefined ? null : receiptFromRow(row);
  }

  forJob(jobId: bigint): StoredReceipt | null {
    const row = this.#sql.get("SELECT * FROM receipts WHERE job_id = $id", { id: jobId.toString() });
    return row === undefined ? null : receiptFromRow(row);
  }

  /** Receipts of jobs in `signed` (waiting for a batch) with their job's deadline, for the batch planner. */
  listUnbatched(): { receipt: StoredReceipt; deadline: number }[] {
    return this.#sql
      .all(
        `SELECT r.*, j.deadline AS deadline FROM receipts r JOIN jobs j ON j.job_id = r.job_id
         WHERE j.state = 'signed' ORDER BY r.signed_at, r.receipt_id`,
      )
      .map((row) => ({ receipt: receiptFromRow(row), deadline: num(row, "deadline") }));
  }

  /** The receipt now travels in `batchId` (`null`: in none, ready for another batch). */
  setBatch(receiptId: string, batchId: number | null): void {
    this.#sql.run("UPDATE receipts SET batch_id = $b WHERE receipt_id = $r", { b: batchId, r: receiptId });
  }

  /** Every receipt of `batchId` is in no batch any more. */
  detachBatch(batchId: number): void {
    this.#sql.run("UPDATE receipts SET batch_id = NULL WHERE batch_id = $b", { b: batchId });
  }

  /**
   * Newest first, by `(signed_at, receipt_id)`, so pages are stable while new receipts arrive. The cursor is bound to
   * the filter it was issued for.
   *
   * @throws RelayerError `JOURNAL_BAD_CURSOR` for a cursor this journal did not issue for this filter.
   */
  list(query: ReceiptQuery): ReceiptPage {
    const client = query.client?.toLowerCase();
    const provider = query.provider?.toLowerCase();
    const filter = `${client ?? ""}|${provider ?? ""}`;
    const where: string[] = [];
    const params: Params = { limit: query.limit + 1 };
    if (client !== undefined) {
      where.push("client = $client");
      params.client = client;
    }
    if (provider !== undefined) {
      where.push("provider = $provider");
      params.provider = provider;
    }
    if (query.cursor !== undefined) {
      const c = decodePageCursor(query.cursor, filter);
      where.push("(signed_at < $t OR (signed_at = $t AND receipt_id < $id))");
      params.t = c.signedAt;
      params.id = c.receiptId;
    }
    const sql = `SELECT * FROM receipts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY signed_at DESC, receipt_id DESC LIMIT $limit`;
    const rows = this.#sql.all(sql, params).map(receiptFromRow);
    const more = rows.length > query.limit;
    const items = more ? rows.slice(0, query.limit) : rows;
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodePageCursor(last.signedAt, last.receiptId, filter) : null };
  }

  count(): number {
    return num(this.#sql.get("SELECT COUNT(*) AS n FROM receipts") as Row, "n");
  }
}
