import { isEnvelope } from "../../../lib/privacy/envelope.js";
import { RelayerError } from "../../core/errors.js";
import { JOB_STATES, newJob, transition, type JobEvent, type JobOrigin, type JobRecord, type JobState } from "../../core/job-state.js";
import type { StoredResult } from "../../core/read-model.js";
import { countsOf, inList, num, optBig, optNum, optStr, str, type Row, type Sql } from "./sql.js";

export interface SeenJob {
  origin: JobOrigin;
  /**
   * Prompt bytes as they are on-chain, kept so the job can be run again after a restart without re-reading the event.
   * A private job's prompt is its sealed envelope: the journal never holds the plaintext.
   */
  prompt: Uint8Array | null;
}

/**
 * Every column of a job but its prompt, of which only the first byte is read (it says whether the job is private):
 * a prompt can be 64 KiB, and the lists the relayer's loop reads on every pass must not copy them.
 */
const JOB_COLUMNS = [
  "job_id, state, model, client, addressed_provider, max_units_milli, rate, deadline, input_hash",
  "substr(prompt, 1, 1) AS prompt_head, created_block, created_tx_hash, accept_tx_hash, run_attempts, started_at",
  "completed_at, units_milli, result_hash, receipt_id, receipt_hash, batch_id, settle_tx_hash, settle_block",
  "failure_code, failure_message, refusal, seen_at, updated_at",
].join(", ");

function jobFromRow(row: Row): JobRecord {
  const failureCode = optStr(row, "failure_code");
  const prompt = row.prompt_head as Uint8Array | null | undefined;
  return {
    jobId: BigInt(str(row, "job_id")),
    state: str(row, "state") as JobState,
    private: prompt !== null && prompt !== undefined && isEnvelope(prompt),
    model: str(row, "model"),
    client: str(row, "client"),
    addressedProvider: optStr(row, "addressed_provider"),
    maxUnitsMilli: BigInt(str(row, "max_units_milli")),
    rate: BigInt(str(row, "rate")),
    deadline: num(row, "deadline"),
    inputHash: str(row, "input_hash"),
    createdBlock: num(row, "created_block"),
    createdTxHash: str(row, "created_tx_hash"),
    acceptTxHash: optStr(row, "accept_tx_hash"),
    runAttempts: num(row, "run_attempts"),
    startedAt: optNum(row, "started_at"),
    completedAt: optNum(row, "completed_at"),
    unitsMilli: optBig(row, "units_milli"),
    resultHash: optStr(row, "result_hash"),
    receiptId: optStr(row, "receipt_id"),
    receiptHash: optStr(row, "receipt_hash"),
    batchId: optNum(row, "batch_id"),
    settleTxHash: optStr(row, "settle_tx_hash"),
    settleBlock: optNum(row, "settle_block"),
    failure: failureCode === null ? null : { code: failureCode, message: str(row, "failure_message") },
    refusal: optStr(row, "refusal"),
    seenAt: num(row, "seen_at"),
    updatedAt: num(row, "updated_at"),
  };
}

/** `jobs` and `results`: every job through the state machine of `core/job-state.ts`, and each finished run's output. */
export class JobsTable {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Inserts a job first seen; `false` when it is already known (re-processing a block is harmless). */
  insert(job: SeenJob, now: number): boolean {
    const r = newJob(job.origin, now);
    const inserted = this.#sql.run(
      `INSERT INTO jobs (job_id, state, model, client, addressed_provider, max_units_milli, rate, deadline, input_hash, prompt,
         created_block, created_tx_hash, seen_at, updated_at)
       VALUES ($id, 'seen', $model, $client, $provider, $maxUnits, $rate, $deadline, $input, $prompt, $block, $tx, $now, $now)
       ON CONFLICT (job_id) DO NOTHING`,
      {
        id: r.jobId.toString(),
        model: r.model,
        client: r.client,
        provider: r.addressedProvider,
        maxUnits: r.maxUnitsMilli.toString(),
        rate: r.rate.toString(),
        deadline: r.deadline,
        input: r.inputHash,
        prompt: job.prompt,
        block: r.createdBlock,
        tx: r.createdTxHash,
        now,
      },
    );
    return inserted.changes === 1;
  }

  get(jobId: bigint): JobRecord | null {
    const row = this.#sql.get(`SELECT ${JOB_COLUMNS} FROM jobs WHERE job_id = $id`, { id: jobId.toString() });
    return row === undefined ? null : jobFromRow(row);
  }

  prompt(jobId: bigint): Uint8Array | null {
    const row = this.#sql.get("SELECT prompt FROM jobs WHERE job_id = $id", { id: jobId.toString() });
    return row === undefined || row.prompt === null ? null : (row.prompt as Uint8Array);
  }

  /** Jobs in any of `states`, oldest first: what the app resumes on start-up. */
  list(states: readonly JobState[]): JobRecord[] {
    if (states.length === 0) return [];
    const { placeholders, params } = inList(states);
    return this.#sql.all(`SELECT ${JOB_COLUMNS} FROM jobs WHERE state IN (${placeholders}) ORDER BY seen_at, CAST(job_id AS INTEGER)`, params).map(jobFromRow);
  }

  /** At most `limit` jobs in `state`, oldest first (the same order as {@link list}). */
  oldest(state: JobState, limit: number): JobRecord[] {
    return this.#sql
      .all(`SELECT ${JOB_COLUMNS} FROM jobs WHERE state = $state ORDER BY seen_at, CAST(job_id AS INTEGER) LIMIT $limit`, { state, limit })
      .map(jobFromRow);
  }

  require(jobId: bigint): JobRecord {
    const job = this.get(jobId);
    if (job === null) {
      throw new RelayerError("JOURNAL_JOB_NOT_FOUND", `job ${jobId} is not in the journal`, { details: { jobId: jobId.toString() } });
    }
    return job;
  }

  #write(job: JobRecord): void {
    this.#sql.run(
      `UPDATE jobs SET state = $state, accept_tx_hash = $accept, run_attempts = $attempts, started_at = $started,
         completed_at = $completed, units_milli = $units, result_hash = $result, receipt_id = $receiptId,
         receipt_hash = $receiptHash, batch_id = $batch, settle_tx_hash = $settleTx, settle_block = $settleBlock,
         failure_code = $failCode, failure_message = $failMessage, refusal = $refusal, updated_at = $updated
       WHERE job_id = $id`,
      {
        id: job.jobId.toString(),
        state: job.state,
        accept: job.acceptTxHash,
        attempts: job.runAttempts,
        started: job.startedAt,
        completed: job.completedAt,
        units: job.unitsMilli?.toString() ?? null,
        result: job.resultHash,
        receiptId: job.receiptId,
        receiptHash: job.receiptHash,
        batch: job.batchId,
        settleTx: job.settleTxHash,
        settleBlock: job.settleBlock,
        failCode: job.failure?.code ?? null,
        failMessage: job.failure?.message ?? null,
        refusal: job.refusal,
        updated: job.updatedAt,
      },
    );
  }

  /** One transition of the state machine, written in the caller's transaction (see {@link applyEvent}). */
  apply(jobId: bigint, event: JobEvent, now: number): JobRecord {
    const next = transition(this.require(jobId), event, now);
    this.#write(next);
    return next;
  }

  /**
   * Moves a job through the state machine (see `core/job-state.ts`) in a transaction of its own. Events with their
   * own side data have dedicated methods ({@link recordDone}, the receipt and batch tables') that keep both in one.
   */
  applyEvent(jobId: bigint, event: JobEvent, now: number): JobRecord {
    return this.#sql.transaction(() => this.apply(jobId, event, now));
  }

  /** Journals a job outside block processing (e.g. one found by a catch-up scan). Returns `false` if already known. */
  recordSeen(job: SeenJob, now: number): boolean {
    return this.#sql.transaction(() => this.insert(job, now));
  }

  /** The run finished: the result and the move to `done`, in one transaction. */
  recordDone(
    jobId: bigint,
    completion: { unitsMilli: bigint; resultHash: string; startedAt: number; completedAt: number },
    result: { body: Uint8Array; contentType: string },
    now: number,
  ): JobRecord {
    return this.#sql.transaction(() => {
      const job = this.apply(jobId, { type: "complete", ...completion }, now);
      this.#sql.run(
        `INSERT INTO results (job_id, body, content_type, result_hash, created_at) VALUES ($id, $body, $type, $hash, $now)
         ON CONFLICT (job_id) DO UPDATE SET body = excluded.body, content_type = excluded.content_type,
           result_hash = excluded.result_hash, created_at = excluded.created_at`,
        { id: jobId.toString(), body: result.body, type: result.contentType, hash: completion.resultHash, now },
      );
      return job;
    });
  }

  result(jobId: bigint): StoredResult | null {
    const row = this.#sql.get("SELECT * FROM results WHERE job_id = $id", { id: jobId.toString() });
    if (row === undefined) return null;
    return {
      jobId,
      body: row.body as Uint8Array,
      contentType: str(row, "content_type"),
      resultHash: str(row, "result_hash"),
      createdAt: num(row, "created_at"),
    };
  }

  countsByState(): Record<JobState, number> {
    return countsOf(JOB_STATES, this.#sql.all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"), "state");
  }

  /** Milli-units metered over every run. */
  unitsMilliTotal(): number {
    return num(this.#sql.get("SELECT TOTAL(CAST(units_milli AS INTEGER)) AS total FROM jobs WHERE units_milli IS NOT NULL") as Row, "total");
  }
}
