import { isConstraintError, num, optStr, str, type Row, type Sql } from "./sql.js";

/** The states of a channel job: received and journaled, on the runtime, finished with its receipt, or not run. */
export const CHANNEL_JOB_STATES = ["queued", "running", "done", "failed"] as const;
export type ChannelJobState = (typeof CHANNEL_JOB_STATES)[number];

/** A channel job's request as the client signed it, with what the relayer resolved from the rate card. */
export interface ChannelRequestRecord {
  /** The request's EIP-712 digest (0x + 64 hex): the job id of its receipt. */
  digest: string;
  client: string;
  requestId: bigint;
  modelId: number;
  model: string;
  maxUnitsMilli: bigint;
  /** The rate card's rate when the request was taken (base units per unit). */
  rate: bigint;
  deadline: number;
  inputHash: string;
  signature: string;
}

export interface ChannelJobRecord extends ChannelRequestRecord {
  state: ChannelJobState;
  unitsMilli: bigint | null;
  price: bigint | null;
  resultHash: string | null;
  receiptJson: string | null;
  receiptHash: string | null;
  leaf: string | null;
  /** The receipt root of the claim that anchored this job's leaf. */
  root: string | null;
  /** A fallback claim (`claimUnvouched`) of this job: sent, held for the dispute window, released, disputed, failed. */
  fallback: { status: ChannelFallbackStatus; txId: number | null; releasableAt: number | null } | null;
  failure: string | null;
  receivedAt: number;
  updatedAt: number;
}

export interface ChannelCompletion {
  unitsMilli: bigint;
  price: bigint;
  result: Uint8Array;
  contentType: string;
  resultHash: string;
  receiptJson: string;
  receiptHash: string;
  leaf: string;
}

export interface StoredVoucher {
  client: string;
  cumulativeAmount: bigint;
  coveredThrough: bigint;
  signature: string;
  receivedAt: number;
}

export type ChannelFallbackStatus = "covered" | "sent" | "held" | "released" | "disputed" | "failed";

export type ChannelClaimStatus = "sent" | "confirmed" | "failed";

export interface ChannelClaimRecord {
  claimId: string;
  /** The receipt root the claim anchors, or the zero hash when it only redeems vouchers. */
  root: string;
  txId: number;
  /** The leaf hashes in the order the tree was built from. */
  leaves: string[];
  vouchers: { client: string; cumulativeAmount: bigint; coveredThrough: bigint; signature: string }[];
  status: ChannelClaimStatus;
  createdAt: number;
}

const COLUMNS = [
  "digest, client, request_id, model_id, model, max_units_milli, rate, deadline, input_hash, signature, state",
  "units_milli, price, result_hash, receipt_json, receipt_hash, leaf, root, fallback_status, fallback_tx_id",
  "fallback_releasable_at, failure",
  "received_at, updated_at",
].join(", ");

function optBig(row: Row, key: string): bigint | null {
  const v = optStr(row, key);
  return v === null ? null : BigInt(v);
}

function jobFromRow(row: Row): ChannelJobRecord {
  return {
    digest: str(row, "digest"),
    client: str(row, "client"),
    requestId: BigInt(str(row, "request_id")),
    modelId: num(row, "model_id"),
    model: str(row, "model"),
    maxUnitsMilli: BigInt(str(row, "max_units_milli")),
    rate: BigInt(str(row, "rate")),
    deadline: num(row, "deadline"),
    inputHash: str(row, "input_hash"),
    signature: str(row, "signature"),
    state: str(row, "state") as ChannelJobState,
    unitsMilli: optBig(row, "units_milli"),
    price: optBig(row, "price"),
    resultHash: optStr(row, "result_hash"),
    receiptJson: optStr(row, "receipt_json"),
    receiptHash: optStr(row, "receipt_hash"),
    leaf: optStr(row, "leaf"),
    root: optStr(row, "root"),
    fallback:
      optStr(row, "fallback_status") === null
        ? null
        : {
            status: str(row, "fallback_status") as ChannelFallbackStatus,
            txId: row.fallback_tx_id === null ? null : num(row, "fallback_tx_id"),
            releasableAt: row.fallback_releasable_at === null ? null : num(row, "fallback_releasable_at"),
          },
    failure: optStr(row, "failure"),
    receivedAt: num(row, "received_at"),
    updatedAt: num(row, "updated_at"),
  };
}

function claimFromRow(row: Row): ChannelClaimRecord {
  const vouchers = JSON.parse(str(row, "vouchers")) as { client: string; cumulativeAmount: string; coveredThrough: string; signature: string }[];
  return {
    claimId: str(row, "claim_id"),
    root: str(row, "root"),
    txId: num(row, "tx_id"),
    leaves: JSON.parse(str(row, "leaves")) as string[],
    vouchers: vouchers.map((v) => ({ ...v, cumulativeAmount: BigInt(v.cumulativeAmount), coveredThrough: BigInt(v.coveredThrough) })),
    status: str(row, "status") as ChannelClaimStatus,
    createdAt: num(row, "created_at"),
  };
}

/**
 * `channel_jobs`, `channel_vouchers` and `channel_claims`: the channel mode's part of the journal. A request is
 * journaled before the client hears it was taken; its result and its one receipt commit in one transaction; a claim
 * commits with its transaction intent and the jobs it anchors.
 */
export class ChannelTable {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Journals a new request. `existing` is the job already journaled under the same client and request id (the same
   * request sent again, or another request reusing its number), in which case nothing is written.
   */
  insert(request: ChannelRequestRecord, prompt: Uint8Array, now: number): { inserted: true } | { inserted: false; existing: ChannelJobRecord } {
    const existing = this.byRequestId(request.client, request.requestId) ?? this.get(request.digest);
    if (existing !== null) return { inserted: false, existing };
    try {
      this.#sql.run(
        `INSERT INTO channel_jobs (digest, client, request_id, model_id, model, max_units_milli, rate, deadline, input_hash, signature, prompt, state, received_at, updated_at)
         VALUES ($digest, $client, $requestId, $modelId, $model, $maxUnits, $rate, $deadline, $inputHash, $signature, $prompt, 'queued', $now, $now)`,
        {
          digest: request.digest,
          client: request.client,
          requestId: request.requestId.toString(),
          modelId: request.modelId,
          model: request.model,
          maxUnits: request.maxUnitsMilli.toString(),
          rate: request.rate.toString(),
          deadline: request.deadline,
          inputHash: request.inputHash,
          signature: request.signature,
          prompt,
          now,
        },
      );
    } catch (error) {
      if (!isConstraintError(error)) throw error;
      const raced = this.byRequestId(request.client, request.requestId) ?? this.get(request.digest);
      if (raced === null) throw error;
      return { inserted: false, existing: raced };
    }
    return { inserted: true };
  }

  get(digest: string): ChannelJobRecord | null {
    const row = this.#sql.get(`SELECT ${COLUMNS} FROM channel_jobs WHERE digest = $digest`, { digest });
    return row === undefined ? null : jobFromRow(row);
  }

  byRequestId(client: string, requestId: bigint): ChannelJobRecord | null {
    const row = this.#sql.get(`SELECT ${COLUMNS} FROM channel_jobs WHERE client = $client AND request_id = $id`, { client, id: requestId.toString() });
    return row === undefined ? null : jobFromRow(row);
  }

  prompt(digest: string): Uint8Array | null {
    const row = this.#sql.get("SELECT prompt FROM channel_jobs WHERE digest = $digest", { digest });
    return row === undefined ? null : (row.prompt as Uint8Array);
  }

  result(digest: string): { body: Uint8Array; contentType: string; resultHash: string } | null {
    const row = this.#sql.get("SELECT result, content_type, result_hash FROM channel_jobs WHERE digest = $digest AND state = 'done'", { digest });
    if (row === undefined) return null;
    return { body: row.result as Uint8Array, contentType: str(row, "content_type"), resultHash: str(row, "result_hash") };
  }

  /** At most `limit` jobs in `state`, oldest first. */
  list(state: ChannelJobState, limit: number): ChannelJobRecord[] {
    return this.#sql.all(`SELECT ${COLUMNS} FROM channel_jobs WHERE state = $state ORDER BY received_at, digest LIMIT $limit`, { state, limit }).map(jobFromRow);
  }

  /** Every job of `client`, by request id. */
  ofClient(client: string): ChannelJobRecord[] {
    return this.#sql.all(`SELECT ${COLUMNS} FROM channel_jobs WHERE client = $client ORDER BY CAST(request_id AS INTEGER)`, { client }).map(jobFromRow);
  }

  /**
   * Every job of `client` numbered above `floor`, by request id. Ids are decimal text without leading zeros, so
   * (length, text) orders them exactly, whatever their size.
   */
  ofClientAbove(client: string, floor: bigint): ChannelJobRecord[] {
    const f = floor.toString();
    return this.#sql
      .all(
        `SELECT ${COLUMNS} FROM channel_jobs WHERE client = $client AND (length(request_id) > length($f) OR (length(request_id) = length($f) AND request_id > $f))
         ORDER BY length(request_id), request_id`,
        { client, f },
      )
      .map(jobFromRow);
  }

  count(states: readonly ChannelJobState[]): number {
    let n = 0;
    for (const state of states) n += num(this.#sql.get("SELECT COUNT(*) AS n FROM channel_jobs WHERE state = $state", { state }) as Row, "n");
    return n;
  }

  start(digest: string, now: number): void {
    this.#sql.run("UPDATE channel_jobs SET state = 'running', updated_at = $now WHERE digest = $digest AND state IN ('queued','running')", { digest, now });
  }

  /** Records the result and the signed receipt of a running job; `false` when the job is not running any more. */
  finish(digest: string, c: ChannelCompletion, now: number): boolean {
    const r = this.#sql.run(
      `UPDATE channel_jobs SET state = 'done', units_milli = $units, price = $price, result = $result, content_type = $contentType,
         result_hash = $resultHash, receipt_json = $receiptJson, receipt_hash = $receiptHash, leaf = $leaf, updated_at = $now
       WHERE digest = $digest AND state = 'running'`,
      {
        digest,
        units: c.unitsMilli.toString(),
        price: c.price.toString(),
        result: c.result,
        contentType: c.contentType,
        resultHash: c.resultHash,
        receiptJson: c.receiptJson,
        receiptHash: c.receiptHash,
        leaf: c.leaf,
        now,
      },
    );
    return r.changes === 1;
  }

  fail(digest: string, failure: string, now: number): void {
    this.#sql.run("UPDATE channel_jobs SET state = 'failed', failure = $failure, updated_at = $now WHERE digest = $digest AND state IN ('queued','running')", { digest, failure, now });
  }

  /** Finished jobs whose leaf no claim anchors yet, oldest first. */
  unanchored(limit: number): ChannelJobRecord[] {
    return this.#sql.all(`SELECT ${COLUMNS} FROM channel_jobs WHERE state = 'done' AND root IS NULL ORDER BY updated_at, digest LIMIT $limit`, { limit }).map(jobFromRow);
  }

  /** Finished, anchored jobs with no fallback claim yet, oldest first: the candidates for one. */
  unclaimedAnchored(limit: number): ChannelJobRecord[] {
    return this.#sql
      .all(`SELECT ${COLUMNS} FROM channel_jobs WHERE state = 'done' AND root IS NOT NULL AND fallback_status IS NULL ORDER BY updated_at, digest LIMIT $limit`, { limit })
      .map(jobFromRow);
  }

  /** Jobs whose fallback claim is in `status`. */
  withFallback(status: ChannelFallbackStatus, limit: number): ChannelJobRecord[] {
    return this.#sql.all(`SELECT ${COLUMNS} FROM channel_jobs WHERE fallback_status = $status ORDER BY updated_at, digest LIMIT $limit`, { status, limit }).map(jobFromRow);
  }

  setFallback(digest: string, status: ChannelFallbackStatus, txId: number | null, releasableAt: number | null = null): void {
    this.#sql.run(
      `UPDATE channel_jobs SET fallback_status = $status, fallback_tx_id = COALESCE($txId, fallback_tx_id),
         fallback_releasable_at = COALESCE($releasableAt, fallback_releasable_at) WHERE digest = $digest`,
      { digest, status, txId, releasableAt },
    );
  }

  voucher(client: string): StoredVoucher | null {
    const row = this.#sql.get("SELECT * FROM channel_vouchers WHERE client = $client", { client });
    if (row === undefined) return null;
    return {
      client: str(row, "client"),
      cumulativeAmount: BigInt(str(row, "cumulative")),
      coveredThrough: BigInt(str(row, "covered_through")),
      signature: str(row, "signature"),
      receivedAt: num(row, "received_at"),
    };
  }

  /** The vouchers no landed claim has redeemed yet, oldest first: the only ones a claim needs to look at. */
  pendingVouchers(limit: number): StoredVoucher[] {
    return this.#sql
      .all("SELECT client FROM channel_vouchers WHERE pending = 1 ORDER BY received_at, client LIMIT $limit", { limit })
      .map((row) => this.voucher(str(row, "client")) as StoredVoucher);
  }

  /** `client`'s voucher for `cumulative` needs no claim any more (redeemed, or nothing above what the chain redeemed). */
  settleVoucher(client: string, cumulative: bigint): void {
    this.#sql.run("UPDATE channel_vouchers SET pending = 0 WHERE client = $client AND cumulative = $cumulative", { client, cumulative: cumulative.toString() });
  }

  saveVoucher(v: Omit<StoredVoucher, "receivedAt">, now: number): void {
    this.#sql.run(
      `INSERT INTO channel_vouchers (client, cumulative, covered_through, signature, received_at) VALUES ($client, $cumulative, $covered, $signature, $now)
       ON CONFLICT (client) DO UPDATE SET cumulative = $cumulative, covered_through = $covered, signature = $signature, received_at = $now, pending = 1`,
      { client: v.client, cumulative: v.cumulativeAmount.toString(), covered: v.coveredThrough.toString(), signature: v.signature, now },
    );
  }

  /** Journals a claim and marks the jobs it anchors, in the caller's transaction (with the transaction intent). */
  recordClaim(claim: Omit<ChannelClaimRecord, "status" | "createdAt">, digests: readonly string[], now: number): void {
    this.#sql.run(
      // A claim whose earlier transaction failed (nothing was anchored or redeemed) may be sent again.
      `INSERT INTO channel_claims (claim_id, root, tx_id, leaves, vouchers, status, created_at, updated_at)
       VALUES ($claimId, $root, $txId, $leaves, $vouchers, 'sent', $now, $now)
       ON CONFLICT (claim_id) DO UPDATE SET tx_id = $txId, status = 'sent', updated_at = $now WHERE channel_claims.status = 'failed'`,
      {
        claimId: claim.claimId,
        root: claim.root,
        txId: claim.txId,
        leaves: JSON.stringify(claim.leaves),
        vouchers: JSON.stringify(claim.vouchers.map((v) => ({ ...v, cumulativeAmount: v.cumulativeAmount.toString(), coveredThrough: v.coveredThrough.toString() }))),
        now,
      },
    );
    for (const digest of digests) this.#sql.run("UPDATE channel_jobs SET root = $root WHERE digest = $digest AND root IS NULL", { root: claim.root, digest });
  }

  /** The claim that anchored `root` (sent or confirmed), if any. */
  claimOfRoot(root: string): ChannelClaimRecord | null {
    const row = this.#sql.get("SELECT * FROM channel_claims WHERE root = $root AND status <> 'failed' ORDER BY created_at DESC LIMIT 1", { root });
    return row === undefined ? null : claimFromRow(row);
  }

  claims(status: ChannelClaimStatus): ChannelClaimRecord[] {
    return this.#sql.all("SELECT * FROM channel_claims WHERE status = $status ORDER BY created_at, claim_id", { status }).map(claimFromRow);
  }

  /** The claim landed: its jobs stay anchored under its root. */
  markClaimConfirmed(claim: ChannelClaimRecord, now: number): void {
    this.#sql.run("UPDATE channel_claims SET status = 'confirmed', updated_at = $now WHERE claim_id = $claimId", { claimId: claim.claimId, now });
    // A newer voucher that arrived meanwhile has another amount and stays pending.
    for (const v of claim.vouchers) this.settleVoucher(v.client.toLowerCase(), v.cumulativeAmount);
  }

  /** The claim will not land: its jobs go back to wait for the next one. */
  markClaimFailed(claim: ChannelClaimRecord, now: number): void {
    this.#sql.run("UPDATE channel_claims SET status = 'failed', updated_at = $now WHERE claim_id = $claimId", { claimId: claim.claimId, now });
    if (/^0x0{64}$/.test(claim.root)) return;
    this.#sql.run("UPDATE channel_jobs SET root = NULL WHERE root = $root", { root: claim.root });
  }
}
