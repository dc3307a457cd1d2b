import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { RelayerError } from "../../core/errors.js";
import { JOB_STATES, newJob, transition, type JobEvent, type JobOrigin, type JobRecord, type JobState } from "../../core/job-state.js";
import {
  BATCH_STATUSES,
  TX_STATUSES,
  type BatchInfo,
  type BatchStatus,
  type JournalMetrics,
  type ReceiptPage,
  type ReceiptQuery,
  type ReceiptWithProof,
  type RelayerReadModel,
  type StoredReceipt,
  type StoredResult,
  type TxStatus,
} from "../../core/read-model.js";
import { applyMigrations, type Migration, MIGRATIONS } from "./schema.js";

export interface JournalOptions {
  /** How long a writer waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Processed blocks kept for reorg detection (the rest are pruned). */
  keepBlocks?: number;
  /** Schema steps; tests pass their own to exercise migrations. */
  migrations?: readonly Migration[];
}

export interface BlockRef {
  number: number;
  hash: string;
  parentHash: string;
}

export interface SeenJob {
  origin: JobOrigin;
  /** Prompt bytes, kept so the job can be run again after a restart without re-reading the event. */
  prompt: Uint8Array | null;
}

export interface TxIntentInput {
  purpose: "accept" | "settle" | "other";
  /** What the transaction is for: a job id for `accept`, a batch id for `settle`. */
  ref: string;
  to: string;
  /** 0x calldata. */
  data: string;
  value: bigint;
}

export interface TxAttemptInput {
  /** Hash of the signed transaction, known before it is broadcast. */
  hash: string;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gasLimit: bigint;
  /** 0x signed raw transaction, so it can be rebroadcast unchanged after a restart. */
  raw: string;
}

export interface TxAttempt extends TxAttemptInput {
  txId: number;
  sentAt: number;
}

export interface TxRecord extends TxIntentInput {
  txId: number;
  nonce: number | null;
  status: TxStatus;
  minedHash: string | null;
  minedBlock: number | null;
  error: string | null;
  attempts: TxAttempt[];
  createdAt: number;
  updatedAt: number;
}

export interface SignedReceiptInput {
  receiptId: string;
  receiptHash: string;
  leafHash: string;
  jobId: bigint;
  client: string;
  provider: string;
  unitsMilli: bigint;
  priceBase: bigint;
  /** The document exactly as signed. */
  json: string;
}

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

/** What a journal belongs to, recorded when it is created and checked at every start. */
export interface JournalIdentity {
  chainId: string;
  /** Hash of block 0. */
  genesisHash: string;
  /** The deployment block and its hash: a chain reset (same genesis, new history) changes it. */
  anchorBlock: number;
  anchorHash: string;
  provider: string;
  contracts: { escrow: string; providerRegistry: string; modelRegistry: string };
  /** keccak256 of each contract's runtime code at creation. */
  codeHashes: { escrow: string; providerRegistry: string; modelRegistry: string };
  createdAt: number;
}

type Row = Record<string, SQLInputValue>;

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

function corrupt(path: string, cause: unknown): RelayerError {
  return new RelayerError("JOURNAL_CORRUPT", `journal ${path} is damaged or not a SQLite file (${cause instanceof Error ? cause.message : String(cause)})`, {
    cause,
    hint: `restore ${path} (with its -wal file) from a backup, or move it aside to start a new journal; the relayer never re-runs jobs it accepted before`,
  });
}

/** Refuses, before SQLite touches it, a journal file that is empty or does not start with the SQLite header. */
function checkJournalFile(path: string): void {
  const stat = statSync(path);
  if (!stat.isFile()) {
    throw new RelayerError("JOURNAL_CORRUPT", `journal ${path} is not a regular file`, {
      details: { path },
      hint: "point journalPath (--journal, AITBC_RELAYER_JOURNAL) at a journal file, or at a path that does not exist yet",
    });
  }
  const size = stat.size;
  if (size === 0) {
    throw new RelayerError("JOURNAL_EMPTY", `journal ${path} is an empty (0-byte) file`, {
      details: { path },
      hint: `the journal's contents are gone (a failed copy, a full disk, a truncation): restore it from a backup, or delete ${path} to start a new journal; it is not silently taken as new`,
    });
  }
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 512 || !head.equals(SQLITE_HEADER)) throw corrupt(path, new Error(`${size} bytes without a SQLite header`));
}

function hasMetaTable(db: DatabaseSync): boolean {
  return db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'journal_meta'").get() !== undefined;
}

const CURSOR_VERSION = 1;

function str(row: Row, key: string): string {
  return row[key] as string;
}
function optStr(row: Row, key: string): string | null {
  const v = row[key];
  return v === null || v === undefined ? null : (v as string);
}
function num(row: Row, key: string): number {
  return Number(row[key]);
}
function optNum(row: Row, key: string): number | null {
  const v = row[key];
  return v === null || v === undefined ? null : Number(v);
}
function optBig(row: Row, key: string): bigint | null {
  const v = row[key];
  return v === null || v === undefined ? null : BigInt(v as string);
}

function jobFromRow(row: Row): JobRecord {
  const failureCode = optStr(row, "failure_code");
  return {
    jobId: BigInt(str(row, "job_id")),
    state: str(row, "state") as JobState,
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

function attemptFromRow(row: Row, nonce: number): TxAttempt {
  return {
    txId: num(row, "tx_id"),
    hash: str(row, "hash"),
    nonce,
    maxFeePerGas: BigInt(str(row, "max_fee_per_gas")),
    maxPriorityFeePerGas: BigInt(str(row, "max_priority_fee_per_gas")),
    gasLimit: BigInt(str(row, "gas_limit")),
    raw: str(row, "raw"),
    sentAt: num(row, "sent_at"),
  };
}

const SQLITE_CONSTRAINT = 19;

function isConstraintError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  // Extended result codes keep the primary code in the low byte.
  return typeof errcode === "number" && (errcode & 0xff) === SQLITE_CONSTRAINT;
}

function countsOf<K extends string>(keys: readonly K[], rows: Row[], column: string): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const r of rows) out[str(r, column) as K] = num(r, "n");
  return out;
}

/**
 * The relayer's durable memory: one SQLite file in WAL mode with `synchronous=FULL`, so a committed transaction
 * survives `kill -9` and power loss. Every method that changes state runs in one SQLite transaction; the app writes
 * the intent of a side effect (a transaction to send, a receipt to publish, a batch to settle) before performing it.
 *
 * Single writer: one relayer process owns the file. Readers in the same process share the connection.
 */
export class Journal implements RelayerReadModel {
  readonly #db: DatabaseSync;
  readonly #keepBlocks: number;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  readonly #onDisk: boolean;
  #closed = false;

  private constructor(db: DatabaseSync, keepBlocks: number, onDisk: boolean) {
    this.#db = db;
    this.#keepBlocks = keepBlocks;
    this.#onDisk = onDisk;
  }

  /**
   * Opens (creating if needed) and migrates the journal at `path`.
   *
   * A file that exists is never silently replaced: an empty (0-byte) file, a file that is not SQLite or fails its
   * integrity check, a SQLite database of something else, and a journal whose write-ahead log was deleted after a crash
   * (which would roll it back to its last checkpoint) are each refused with their own code and the fix.
   *
   * @throws RelayerError `JOURNAL_EMPTY`, `JOURNAL_CORRUPT`, `JOURNAL_FOREIGN`, `JOURNAL_ROLLED_BACK`,
   *         `JOURNAL_SCHEMA_TOO_NEW`, `JOURNAL_MIGRATION_FAILED`.
   */
  static open(path: string, options: JournalOptions = {}): Journal {
    const onDisk = path !== ":memory:" && !path.startsWith("file:");
    const existed = onDisk && existsSync(path);
    const walExisted = onDisk && existsSync(`${path}-wal`);
    if (existed) checkJournalFile(path);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (cause) {
      throw corrupt(path, cause);
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
      // WAL is refused for in-memory databases; anything else is a journal we cannot trust.
      if (mode.journal_mode !== "wal" && path !== ":memory:") {
        throw new RelayerError("RELAYER_INVALID_CONFIG", `journal ${path} cannot use WAL mode (got ${mode.journal_mode})`, {
          hint: "put the journal on a local file system that supports shared memory (not a network share)",
        });
      }
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      if (existed) {
        const check = (db.prepare("PRAGMA quick_check").get() as Row | undefined) ?? {};
        const verdict = String(Object.values(check)[0] ?? "");
        if (verdict !== "ok") throw corrupt(path, new Error(`quick_check: ${verdict}`));
        const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Row[];
        const names = new Set(tables.map((t) => String(t.name)));
        if ((version === 0 && names.size > 0) || (version > 0 && !names.has("jobs"))) {
          throw new RelayerError("JOURNAL_FOREIGN", `${path} is a SQLite database, but not a relayer journal`, {
            details: { tables: [...names].slice(0, 10), userVersion: version },
            hint: "point journalPath (--journal, AITBC_RELAYER_JOURNAL) at the relayer's own journal, or at a path that does not exist yet",
          });
        }
      }
      applyMigrations(db, options.migrations ?? MIGRATIONS);
      if (onDisk && hasMetaTable(db)) {
        const running = db.prepare("SELECT value FROM journal_meta WHERE key = 'running'").get() as Row | undefined;
        if (running?.value === "1" && !walExisted) {
          throw new RelayerError("JOURNAL_ROLLED_BACK", `journal ${path} was in use when its process stopped, and its write-ahead log ${path}-wal is gone`, {
            details: { walFile: `${path}-wal` },
            hint: `restore ${path}-wal from where it was moved (or from a backup of the whole journal); without it the journal has lost its latest commits and is not used. To start over, move ${path} aside: the relayer then rebuilds what it can from the chain and never re-runs jobs it accepted before`,
          });
        }
        // From here until a clean close, the main file says the journal is live. The checkpoint puts the marker in
        // the main file itself, so a later deletion of the write-ahead log cannot remove it too.
        db.exec("INSERT INTO journal_meta (key, value) VALUES ('running', '1') ON CONFLICT (key) DO UPDATE SET value = '1'");
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      }
    } catch (error) {
      db.close();
      if (error instanceof RelayerError) throw error;
      throw corrupt(path, error);
    }
    return new Journal(db, options.keepBlocks ?? 256, onDisk);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    if (this.#onDisk && hasMetaTable(this.#db)) {
      try {
        this.#db.exec("UPDATE journal_meta SET value = '0' WHERE key = 'running'");
      } catch {
        // A journal that cannot record its clean close is treated as crashed at the next start, which is safe.
      }
    }
    this.#db.close();
  }

  // ── identity and watcher cursor ──────────────────────────────────────────────────────────────────────────────

  getMeta(key: string): string | null {
    const row = this.#get("SELECT value FROM journal_meta WHERE key = $k", { k: key });
    return row === undefined ? null : str(row, "value");
  }

  setMeta(key: string, value: string): void {
    this.transaction(() => {
      this.#run("INSERT INTO journal_meta (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = $v", { k: key, v: value });
    });
  }

  /** What chain and deployment this journal belongs to, or `null` for a journal that never recorded it. */
  identity(): JournalIdentity | null {
    const text = this.getMeta("identity");
    return text === null ? null : (JSON.parse(text) as JournalIdentity);
  }

  /** Records the journal's identity once; a journal keeps the identity it was created with. */
  recordIdentity(identity: JournalIdentity): void {
    this.transaction(() => {
      if (this.getMeta("identity") !== null) {
        throw new RelayerError("JOURNAL_FOREIGN", "this journal already records the chain it belongs to", {
          hint: "use a new journal path for another chain or deployment",
        });
      }
      this.setMeta("identity", JSON.stringify(identity));
    });
  }

  /** The event watcher's cursor (with its recent block marks), kept in the journal with the effects it produced. */
  getWatcherCursor(): string | null {
    return this.getMeta("watcher_cursor");
  }

  saveWatcherCursor(json: string): void {
    this.setMeta("watcher_cursor", json);
  }

  /** Whether a transaction attempt with this hash was signed from this journal. */
  hasTxAttempt(hash: string): boolean {
    return this.#get("SELECT 1 AS x FROM tx_attempts WHERE hash = $h", { h: hash.toLowerCase() }) !== undefined;
  }

  /** The settings that make the journal durable, as SQLite reports them. */
  pragmas(): { journalMode: string; synchronous: number; foreignKeys: number; userVersion: number; integrity: string } {
    const q = (sql: string) => Object.values(this.#db.prepare(sql).get() as Row)[0];
    return {
      journalMode: String(q("PRAGMA journal_mode")),
      synchronous: Number(q("PRAGMA synchronous")),
      foreignKeys: Number(q("PRAGMA foreign_keys")),
      userVersion: Number(q("PRAGMA user_version")),
      integrity: String(q("PRAGMA integrity_check")),
    };
  }

  /**
   * Runs `fn` atomically. Nested calls join the outer transaction through a savepoint, so a failing inner step undoes
   * only itself when the caller catches it.
   */
  transaction<T>(fn: () => T): T {
    const outer = this.#depth === 0;
    const savepoint = `sp${this.#depth}`;
    this.#db.exec(outer ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
    this.#depth++;
    try {
      const result = fn();
      this.#depth--;
      this.#db.exec(outer ? "COMMIT" : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#depth--;
      this.#db.exec(outer ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #get(sql: string, params: Record<string, SQLInputValue> = {}): Row | undefined {
    return this.#stmt(sql).get(params) as Row | undefined;
  }

  #all(sql: string, params: Record<string, SQLInputValue> = {}): Row[] {
    return this.#stmt(sql).all(params) as Row[];
  }

  #run(sql: string, params: Record<string, SQLInputValue> = {}): { changes: number; lastInsertRowid: number } {
    const r = this.#stmt(sql).run(params);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  // ── chain cursor ─────────────────────────────────────────────────────────────────────────────────────────────

  /** The last fully processed block, or `null` on a fresh journal. */
  getCursor(): { blockNumber: number; blockHash: string } | null {
    const row = this.#get("SELECT number, hash FROM processed_blocks ORDER BY number DESC LIMIT 1");
    return row === undefined ? null : { blockNumber: num(row, "number"), blockHash: str(row, "hash") };
  }

  /** The hash recorded for block `n`, to find the fork point after a reorg; `null` if not kept. */
  blockHashAt(n: number): string | null {
    const row = this.#get("SELECT hash FROM processed_blocks WHERE number = $n", { n });
    return row === undefined ? null : str(row, "hash");
  }

  /**
   * Records block `block` as processed together with the jobs first seen in it, atomically: after a crash either both
   * are journaled or neither, so the watcher resumes with no gap and no duplicate. Jobs already known are left as
   * they are (re-processing a block is harmless).
   *
   * @returns the ids of the jobs that were new.
   * @throws RelayerError `JOURNAL_BLOCK_CONFLICT` when the block does not extend the cursor (the caller must
   *         {@link rewindTo} the fork point first).
   */
  recordBlock(block: BlockRef, jobs: readonly SeenJob[], now: number): bigint[] {
    return this.transaction(() => {
      const cursor = this.getCursor();
      if (cursor !== null) {
        const extends_ = block.number === cursor.blockNumber + 1 && block.parentHash === cursor.blockHash;
        const repeat = block.number <= cursor.blockNumber && this.blockHashAt(block.number) === block.hash;
        if (!extends_ && !repeat) {
          throw new RelayerError("JOURNAL_BLOCK_CONFLICT", `block ${block.number} does not extend the journal's cursor ${cursor.blockNumber}`, {
            details: { block: block.number, parentHash: block.parentHash, cursor: cursor.blockNumber, cursorHash: cursor.blockHash },
            hint: "a reorg or a gap: rewind the journal to the last common block and process from there",
          });
        }
      }
      const fresh: bigint[] = [];
      for (const job of jobs) if (this.#insertJob(job, now)) fresh.push(job.origin.jobId);
      this.#run(
        "INSERT INTO processed_blocks (number, hash, parent_hash, processed_at) VALUES ($n, $h, $p, $t) ON CONFLICT (number) DO NOTHING",
        { n: block.number, h: block.hash, p: block.parentHash, t: now },
      );
      this.#run("DELETE FROM processed_blocks WHERE number <= $floor", { floor: block.number - this.#keepBlocks });
      return fresh;
    });
  }

  /** Forgets processed blocks above `blockNumber` (the last block both forks share). Returns how many were removed. */
  rewindTo(blockNumber: number): number {
    return this.transaction(() => this.#run("DELETE FROM processed_blocks WHERE number > $n", { n: blockNumber }).changes);
  }

  // ── jobs ─────────────────────────────────────────────────────────────────────────────────────────────────────

  #insertJob(job: SeenJob, now: number): boolean {
    const r = newJob(job.origin, now);
    const inserted = this.#run(
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

  /** Journals a job outside block processing (e.g. one found by a catch-up scan). Returns `false` if already known. */
  recordJobSeen(job: SeenJob, now: number): boolean {
    return this.transaction(() => this.#insertJob(job, now));
  }

  getJob(jobId: bigint): JobRecord | null {
    const row = this.#get("SELECT * FROM jobs WHERE job_id = $id", { id: jobId.toString() });
    return row === undefined ? null : jobFromRow(row);
  }

  getPrompt(jobId: bigint): Uint8Array | null {
    const row = this.#get("SELECT prompt FROM jobs WHERE job_id = $id", { id: jobId.toString() });
    return row === undefined || row.prompt === null ? null : (row.prompt as Uint8Array);
  }

  /** Jobs in any of `states`, oldest first: what the app resumes on start-up. */
  listJobs(states: readonly JobState[]): JobRecord[] {
    if (states.length === 0) return [];
    const placeholders = states.map((_, i) => `$s${i}`).join(", ");
    const params = Object.fromEntries(states.map((s, i) => [`s${i}`, s]));
    return this.#all(`SELECT * FROM jobs WHERE state IN (${placeholders}) ORDER BY seen_at, CAST(job_id AS INTEGER)`, params).map(jobFromRow);
  }

  #requireJob(jobId: bigint): JobRecord {
    const job = this.getJob(jobId);
    if (job === null) {
      throw new RelayerError("JOURNAL_JOB_NOT_FOUND", `job ${jobId} is not in the journal`, { details: { jobId: jobId.toString() } });
    }
    return job;
  }

  #writeJob(job: JobRecord): void {
    this.#run(
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

  #apply(jobId: bigint, event: JobEvent, now: number): JobRecord {
    const next = transition(this.#requireJob(jobId), event, now);
    this.#writeJob(next);
    return next;
  }

  /**
   * Moves a job through the state machine (see `core/job-state.ts`). Events with their own side data have dedicated
   * methods ({@link recordJobDone}, {@link recordSignedReceipt}, the batch methods) that keep both in one transaction.
   */
  applyJobEvent(jobId: bigint, event: JobEvent, now: number): JobRecord {
    return this.transaction(() => this.#apply(jobId, event, now));
  }

  /** The run finished: stores the result and moves the job to `done` in one transaction. */
  recordJobDone(
    jobId: bigint,
    completion: { unitsMilli: bigint; resultHash: string; startedAt: number; completedAt: number },
    result: { body: Uint8Array; contentType: string },
    now: number,
  ): JobRecord {
    return this.transaction(() => {
      const job = this.#apply(jobId, { type: "complete", ...completion }, now);
      this.#run(
        `INSERT INTO results (job_id, body, content_type, result_hash, created_at) VALUES ($id, $body, $type, $hash, $now)
         ON CONFLICT (job_id) DO UPDATE SET body = excluded.body, content_type = excluded.content_type,
           result_hash = excluded.result_hash, created_at = excluded.created_at`,
        { id: jobId.toString(), body: result.body, type: result.contentType, hash: completion.resultHash, now },
      );
      return job;
    });
  }

  getResult(jobId: bigint): StoredResult | null {
    const row = this.#get("SELECT * FROM results WHERE job_id = $id", { id: jobId.toString() });
    if (row === undefined) return null;
    return {
      jobId,
      body: row.body as Uint8Array,
      contentType: str(row, "content_type"),
      resultHash: str(row, "result_hash"),
      createdAt: num(row, "created_at"),
    };
  }

  // ── receipts ─────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Journals a signed receipt and moves its job `done → signed` in one transaction.
   *
   * Idempotent by `receiptId`: if it is already journaled, nothing changes and the stored receipt is returned
   * (`inserted: false`), so a restart that signs again can never publish a second document for the same job.
   *
   * @throws RelayerError `JOURNAL_RECEIPT_CONFLICT` when the job already has another receipt id, or the hash or leaf
   *         belongs to another receipt; `RELAYER_ILLEGAL_TRANSITION` when the job is not `done`.
   */
  recordSignedReceipt(input: SignedReceiptInput, now: number): { inserted: boolean; receipt: StoredReceipt } {
    return this.transaction(() => {
      const existing = this.#get("SELECT * FROM receipts WHERE receipt_id = $id", { id: input.receiptId });
      if (existing !== undefined) {
        const stored = receiptFromRow(existing);
        if (stored.jobId !== input.jobId) {
          throw new RelayerError("JOURNAL_RECEIPT_CONFLICT", `receipt ${input.receiptId} belongs to job ${stored.jobId}, not ${input.jobId}`, {
            details: { receiptId: input.receiptId, storedJob: stored.jobId.toString(), jobId: input.jobId.toString() },
          });
        }
        return { inserted: false, receipt: stored };
      }
      const byJob = this.#get("SELECT receipt_id FROM receipts WHERE job_id = $id", { id: input.jobId.toString() });
      if (byJob !== undefined) {
        throw new RelayerError("JOURNAL_RECEIPT_CONFLICT", `job ${input.jobId} already has receipt ${str(byJob, "receipt_id")}`, {
          details: { jobId: input.jobId.toString(), stored: str(byJob, "receipt_id"), receiptId: input.receiptId },
          hint: "receipt ids are derived from (chain id, escrow, job id); a different id means the derivation changed",
        });
      }
      this.#apply(input.jobId, { type: "sign", receiptId: input.receiptId, receiptHash: input.receiptHash }, now);
      try {
        this.#run(
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
      const stored = this.#get("SELECT * FROM receipts WHERE receipt_id = $id", { id: input.receiptId }) as Row;
      return { inserted: true, receipt: receiptFromRow(stored) };
    });
  }

  getReceiptRecord(receiptId: string): StoredReceipt | null {
    const row = this.#get("SELECT * FROM receipts WHERE receipt_id = $id", { id: receiptId });
    return row === undefined ? null : receiptFromRow(row);
  }

  getReceiptForJob(jobId: bigint): StoredReceipt | null {
    const row = this.#get("SELECT * FROM receipts WHERE job_id = $id", { id: jobId.toString() });
    return row === undefined ? null : receiptFromRow(row);
  }

  /** Receipts of jobs in `signed` (waiting for a batch) with their job's deadline, for the batch planner. */
  listUnbatchedReceipts(): { receipt: StoredReceipt; deadline: number }[] {
    return this.#all(
      `SELECT r.*, j.deadline AS deadline FROM receipts r JOIN jobs j ON j.job_id = r.job_id
       WHERE j.state = 'signed' ORDER BY r.signed_at, r.receipt_id`,
    ).map((row) => ({ receipt: receiptFromRow(row), deadline: num(row, "deadline") }));
  }

  getReceipt(receiptId: string): ReceiptWithProof | null {
    const receipt = this.getReceiptRecord(receiptId);
    if (receipt === null) return null;
    if (receipt.batchId === null) return { receipt, batch: null, proof: null };
    const batch = this.getBatch(receipt.batchId);
    const item = this.#get("SELECT proof FROM batch_items WHERE batch_id = $b AND receipt_id = $r", {
      b: receipt.batchId,
      r: receiptId,
    });
    return { receipt, batch, proof: item === undefined ? null : (JSON.parse(str(item, "proof")) as string[]) };
  }

  /**
   * Newest first, by `(signed_at, receipt_id)`, so pages are stable while new receipts arrive. The cursor is bound to
   * the filter it was issued for.
   *
   * @throws RelayerError `JOURNAL_BAD_CURSOR` for a cursor this journal did not issue for this filter.
   */
  listReceipts(query: ReceiptQuery): ReceiptPage {
    const client = query.client?.toLowerCase();
    const provider = query.provider?.toLowerCase();
    const filter = `${client ?? ""}|${provider ?? ""}`;
    const where: string[] = [];
    const params: Record<string, SQLInputValue> = { limit: query.limit + 1 };
    if (client !== undefined) {
      where.push("client = $client");
      params.client = client;
    }
    if (provider !== undefined) {
      where.push("provider = $provider");
      params.provider = provider;
    }
    if (query.cursor !== undefined) {
      const c = decodeCursor(query.cursor, filter);
      where.push("(signed_at < $t OR (signed_at = $t AND receipt_id < $id))");
      params.t = c.signedAt;
      params.id = c.receiptId;
    }
    const sql = `SELECT * FROM receipts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY signed_at DESC, receipt_id DESC LIMIT $limit`;
    const rows = this.#all(sql, params).map(receiptFromRow);
    const more = rows.length > query.limit;
    const items = more ? rows.slice(0, query.limit) : rows;
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodeCursor(last.signedAt, last.receiptId, filter) : null };
  }

  // ── batches ──────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Journals a batch before its transaction exists: the calldata, the root, each receipt's position and proof, and
   * moves every job `signed → batched`, atomically. Returns the batch id.
   */
  recordBatchIntent(input: BatchIntentInput, now: number): number {
    if (input.entries.length === 0) {
      throw new RelayerError("JOURNAL_BATCH_STATE", "a batch needs at least one receipt");
    }
    return this.transaction(() => {
      const batchId = this.#run(
        `INSERT INTO batches (root, items, item_count, status, created_at, updated_at)
         VALUES ($root, $items, $count, 'intent', $now, $now)`,
        { root: input.root.toLowerCase(), items: input.items, count: input.entries.length, now },
      ).lastInsertRowid;
      input.entries.forEach((entry, position) => {
        const receipt = this.getReceiptRecord(entry.receiptId);
        if (receipt === null) {
          throw new RelayerError("JOURNAL_BATCH_STATE", `receipt ${entry.receiptId} is not in the journal`, {
            details: { receiptId: entry.receiptId },
          });
        }
        this.#apply(receipt.jobId, { type: "batch", batchId }, now);
        this.#run("UPDATE receipts SET batch_id = $b WHERE receipt_id = $r", { b: batchId, r: entry.receiptId });
        this.#run("INSERT INTO batch_items (batch_id, position, receipt_id, proof) VALUES ($b, $p, $r, $proof)", {
          b: batchId,
          p: position,
          r: entry.receiptId,
          proof: JSON.stringify(entry.proof),
        });
      });
      return batchId;
    });
  }

  getBatch(batchId: number): BatchInfo | null {
    const row = this.#get(
      "SELECT batch_id, root, status, item_count, tx_id, tx_hash, block_number, error, created_at, updated_at FROM batches WHERE batch_id = $b",
      { b: batchId },
    );
    return row === undefined ? null : batchFromRow(row);
  }

  /** The calldata argument journaled with the batch intent, to rebuild the transaction after a restart. */
  getBatchCalldataItems(batchId: number): Uint8Array | null {
    const row = this.#get("SELECT items FROM batches WHERE batch_id = $b", { b: batchId });
    return row === undefined ? null : (row.items as Uint8Array);
  }

  batchItems(batchId: number): BatchItem[] {
    return this.#all("SELECT position, receipt_id, proof FROM batch_items WHERE batch_id = $b ORDER BY position", { b: batchId }).map(
      (row) => ({ position: num(row, "position"), receiptId: str(row, "receipt_id"), proof: JSON.parse(str(row, "proof")) as string[] }),
    );
  }

  listBatches(statuses: readonly BatchStatus[]): BatchInfo[] {
    if (statuses.length === 0) return [];
    const placeholders = statuses.map((_, i) => `$s${i}`).join(", ");
    const params = Object.fromEntries(statuses.map((s, i) => [`s${i}`, s]));
    return this.#all(
      `SELECT batch_id, root, status, item_count, tx_id, tx_hash, block_number, error, created_at, updated_at
       FROM batches WHERE status IN (${placeholders}) ORDER BY batch_id`,
      params,
    ).map(batchFromRow);
  }

  #requireBatch(batchId: number, allowed: readonly BatchStatus[]): BatchInfo {
    const batch = this.getBatch(batchId);
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

  #batchJobs(batchId: number): bigint[] {
    return this.#all("SELECT r.job_id FROM batch_items i JOIN receipts r ON r.receipt_id = i.receipt_id WHERE i.batch_id = $b ORDER BY i.position", {
      b: batchId,
    }).map((row) => BigInt(str(row, "job_id")));
  }

  /** Links the batch to the transaction journaled to carry it (see {@link recordTxIntent}). */
  attachBatchTx(batchId: number, txId: number, now: number): void {
    this.transaction(() => {
      this.#requireBatch(batchId, ["intent", "sent"]);
      this.#requireTx(txId);
      this.#run("UPDATE batches SET status = 'sent', tx_id = $tx, updated_at = $now WHERE batch_id = $b", { b: batchId, tx: txId, now });
    });
  }

  /** The settlement was mined: every job `batched → settled`. */
  markBatchConfirmed(batchId: number, mined: { txHash: string; blockNumber: number }, now: number): void {
    this.transaction(() => {
      this.#requireBatch(batchId, ["intent", "sent"]);
      for (const jobId of this.#batchJobs(batchId)) {
        this.#apply(jobId, { type: "settle", txHash: mined.txHash, blockNumber: mined.blockNumber }, now);
      }
      this.#run("UPDATE batches SET status = 'confirmed', tx_hash = $h, block_number = $n, updated_at = $now WHERE batch_id = $b", {
        b: batchId,
        h: mined.txHash,
        n: mined.blockNumber,
        now,
      });
    });
  }

  /** The settlement failed for good: every job `batched → signed`, receipts detached, ready for another batch. */
  markBatchFailed(batchId: number, error: string, now: number): void {
    this.transaction(() => {
      this.#requireBatch(batchId, ["intent", "sent"]);
      for (const jobId of this.#batchJobs(batchId)) this.#apply(jobId, { type: "unbatch" }, now);
      this.#run("UPDATE receipts SET batch_id = NULL WHERE batch_id = $b", { b: batchId });
      this.#run("UPDATE batches SET status = 'failed', error = $e, updated_at = $now WHERE batch_id = $b", { b: batchId, e: error, now });
    });
  }

  /** The settlement vanished in a reorg: every job `settled → batched`; the batch waits for its transaction again. */
  markBatchReorged(batchId: number, now: number): void {
    this.transaction(() => {
      this.#requireBatch(batchId, ["confirmed"]);
      for (const jobId of this.#batchJobs(batchId)) this.#apply(jobId, { type: "reorg" }, now);
      this.#run("UPDATE batches SET status = 'sent', tx_hash = NULL, block_number = NULL, updated_at = $now WHERE batch_id = $b", {
        b: batchId,
        now,
      });
    });
  }

  /** The settlement is past reorg depth and the dispute window: every job `settled → finalized`. */
  markBatchFinalized(batchId: number, now: number): void {
    this.transaction(() => {
      this.#requireBatch(batchId, ["confirmed"]);
      for (const jobId of this.#batchJobs(batchId)) this.#apply(jobId, { type: "finalize" }, now);
      this.#run("UPDATE batches SET status = 'finalized', updated_at = $now WHERE batch_id = $b", { b: batchId, now });
    });
  }

  // ── outgoing transactions (one nonce owner) ──────────────────────────────────────────────────────────────────

  /** Journals a transaction to send, before it is signed. Returns its id. */
  recordTxIntent(input: TxIntentInput, now: number): number {
    return this.transaction(() => this.#insertTx(input, now));
  }

  #insertTx(input: TxIntentInput, now: number): number {
    return this.#run(
      `INSERT INTO transactions (purpose, ref, to_address, data, value, status, created_at, updated_at)
       VALUES ($purpose, $ref, $to, $data, $value, 'intent', $now, $now)`,
      { purpose: input.purpose, ref: input.ref, to: input.to.toLowerCase(), data: input.data, value: input.value.toString(), now },
    ).lastInsertRowid;
  }

  /**
   * Journals the intent to accept a job (the job must still be `seen` and have no live accept transaction).
   * Returns the transaction id; the job moves to `accepted` when the sender reports the transaction mined.
   */
  recordAcceptIntent(jobId: bigint, tx: Omit<TxIntentInput, "purpose" | "ref">, now: number): number {
    return this.transaction(() => {
      const job = this.#requireJob(jobId);
      if (job.state !== "seen") {
        throw new RelayerError("RELAYER_ILLEGAL_TRANSITION", `job ${jobId} is ${job.state}; only a seen job can be accepted`, {
          details: { jobId: jobId.toString(), from: job.state, to: "accepted", event: "accept" },
        });
      }
      const live = this.#get(
        "SELECT tx_id FROM transactions WHERE purpose = 'accept' AND ref = $ref AND status IN ('intent','pending','mined','confirmed')",
        { ref: jobId.toString() },
      );
      if (live !== undefined) {
        throw new RelayerError("JOURNAL_JOB_EXISTS", `job ${jobId} already has accept transaction ${num(live, "tx_id")}`, {
          details: { jobId: jobId.toString(), txId: num(live, "tx_id") },
          hint: "reconcile the existing transaction instead of sending another",
        });
      }
      return this.#insertTx({ ...tx, purpose: "accept", ref: jobId.toString() }, now);
    });
  }

  /**
   * Journals one signed attempt (first send or fee bump) before it is broadcast. All attempts of a transaction share
   * its nonce; the first attempt fixes it.
   *
   * @throws RelayerError `JOURNAL_TX_NOT_FOUND`; `JOURNAL_TX_STATE` when the nonce differs from the first attempt's,
   *         the transaction is no longer open, or another live transaction holds the nonce.
   */
  recordTxAttempt(txId: number, attempt: TxAttemptInput, now: number): void {
    this.transaction(() => {
      const tx = this.#requireTx(txId);
      if (tx.status !== "intent" && tx.status !== "pending") {
        throw txState(txId, tx.status, "record an attempt");
      }
      if (tx.nonce !== null && tx.nonce !== attempt.nonce) {
        throw new RelayerError("JOURNAL_TX_STATE", `transaction ${txId} uses nonce ${tx.nonce}, not ${attempt.nonce}`, {
          details: { txId, nonce: tx.nonce, attemptNonce: attempt.nonce },
        });
      }
      try {
        this.#run("UPDATE transactions SET nonce = $nonce, status = 'pending', updated_at = $now WHERE tx_id = $id", {
          id: txId,
          nonce: attempt.nonce,
          now,
        });
        this.#run(
          `INSERT INTO tx_attempts (hash, tx_id, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, raw, sent_at)
           VALUES ($hash, $id, $maxFee, $tip, $gas, $raw, $now) ON CONFLICT (hash) DO NOTHING`,
          {
            hash: attempt.hash.toLowerCase(),
            id: txId,
            maxFee: attempt.maxFeePerGas.toString(),
            tip: attempt.maxPriorityFeePerGas.toString(),
            gas: attempt.gasLimit.toString(),
            raw: attempt.raw,
            now,
          },
        );
      } catch (cause) {
        if (!isConstraintError(cause)) throw cause;
        throw new RelayerError("JOURNAL_TX_STATE", `nonce ${attempt.nonce} is held by another live transaction`, {
          cause,
          details: { txId, nonce: attempt.nonce },
          hint: "the nonce owner must reconcile the transaction at that nonce first",
        });
      }
    });
  }

  #requireTx(txId: number): TxRecord {
    const tx = this.getTx(txId);
    if (tx === null) throw new RelayerError("JOURNAL_TX_NOT_FOUND", `transaction ${txId} is not in the journal`, { details: { txId } });
    return tx;
  }

  #setTx(txId: number, from: readonly TxStatus[], fields: Record<string, SQLInputValue>, now: number): void {
    this.transaction(() => {
      const tx = this.#requireTx(txId);
      if (!from.includes(tx.status)) throw txState(txId, tx.status, `move to ${String(fields.status)}`);
      const sets = Object.keys(fields).map((k) => `${k} = $${k}`);
      this.#run(`UPDATE transactions SET ${sets.join(", ")}, updated_at = $now WHERE tx_id = $id`, { ...fields, id: txId, now });
    });
  }

  /** One of the attempts was mined (successfully) in `blockNumber`. */
  markTxMined(txId: number, mined: { hash: string; blockNumber: number }, now: number): void {
    this.#setTx(txId, ["pending", "mined"], { status: "mined", mined_hash: mined.hash.toLowerCase(), mined_block: mined.blockNumber }, now);
  }

  /** The mined transaction is below the confirmation depth. */
  markTxConfirmed(txId: number, now: number): void {
    this.#setTx(txId, ["mined"], { status: "confirmed" }, now);
  }

  /** The mined block was reorged out: the transaction is pending again and its attempts may be rebroadcast. */
  markTxUnmined(txId: number, now: number): void {
    this.#setTx(txId, ["mined"], { status: "pending", mined_hash: null, mined_block: null }, now);
  }

  /** Mined but reverted: final, the caller decides what it means for the job or batch. */
  markTxReverted(txId: number, mined: { hash: string; blockNumber: number }, error: string, now: number): void {
    this.#setTx(txId, ["pending", "mined"], { status: "reverted", mined_hash: mined.hash.toLowerCase(), mined_block: mined.blockNumber, error }, now);
  }

  /** Never mined and given up (the nonce was consumed by nothing of ours): frees the nonce. */
  markTxAbandoned(txId: number, error: string, now: number): void {
    this.#setTx(txId, ["intent", "pending"], { status: "abandoned", error }, now);
  }

  getTx(txId: number): TxRecord | null {
    const row = this.#get("SELECT * FROM transactions WHERE tx_id = $id", { id: txId });
    return row === undefined ? null : this.#txFromRow(row);
  }

  /** Transactions the sender must still drive (intent, pending, mined), by nonce then id. */
  listOpenTxs(): TxRecord[] {
    return this.#all(
      "SELECT * FROM transactions WHERE status IN ('intent','pending','mined') ORDER BY nonce IS NULL, nonce, tx_id",
    ).map((row) => this.#txFromRow(row));
  }

  /** The transaction journaled for `purpose`/`ref` that is not abandoned or reverted, if any. */
  findLiveTx(purpose: TxIntentInput["purpose"], ref: string): TxRecord | null {
    const row = this.#get(
      "SELECT * FROM transactions WHERE purpose = $p AND ref = $r AND status NOT IN ('abandoned','reverted') ORDER BY tx_id DESC LIMIT 1",
      { p: purpose, r: ref },
    );
    return row === undefined ? null : this.#txFromRow(row);
  }

  /** One past the highest nonce any live transaction holds, or `null` if none: compared with the chain's count. */
  nextNonceHint(): number | null {
    const row = this.#get("SELECT MAX(nonce) AS n FROM transactions WHERE nonce IS NOT NULL AND status <> 'abandoned'") as Row;
    return row.n === null ? null : num(row, "n") + 1;
  }

  #txFromRow(row: Row): TxRecord {
    const txId = num(row, "tx_id");
    const nonce = optNum(row, "nonce");
    const attempts = this.#all("SELECT * FROM tx_attempts WHERE tx_id = $id ORDER BY sent_at, rowid", { id: txId }).map((a) =>
      attemptFromRow(a, nonce ?? -1),
    );
    return {
      txId,
      purpose: str(row, "purpose") as TxIntentInput["purpose"],
      ref: str(row, "ref"),
      to: str(row, "to_address"),
      data: str(row, "data"),
      value: BigInt(str(row, "value")),
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

  // ── metrics ──────────────────────────────────────────────────────────────────────────────────────────────────

  metrics(): JournalMetrics {
    const gpu = this.#get("SELECT TOTAL(CAST(units_milli AS INTEGER)) AS total FROM jobs WHERE units_milli IS NOT NULL") as Row;
    const receipts = this.#get("SELECT COUNT(*) AS n FROM receipts") as Row;
    const retries = this.#get("SELECT COUNT(*) - COUNT(DISTINCT tx_id) AS n FROM tx_attempts") as Row;
    return {
      jobsByState: countsOf(JOB_STATES, this.#all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"), "state"),
      gpuMilliSecondsTotal: num(gpu, "total"),
      receiptsSigned: num(receipts, "n"),
      batchesByStatus: countsOf(BATCH_STATUSES, this.#all("SELECT status, COUNT(*) AS n FROM batches GROUP BY status"), "status"),
      txsByStatus: countsOf(TX_STATUSES, this.#all("SELECT status, COUNT(*) AS n FROM transactions GROUP BY status"), "status"),
      txRetries: num(retries, "n"),
      cursorBlock: this.getCursor()?.blockNumber ?? null,
    };
  }
}

function txState(txId: number, status: TxStatus, action: string): RelayerError {
  return new RelayerError("JOURNAL_TX_STATE", `transaction ${txId} is ${status}; cannot ${action}`, { details: { txId, status } });
}

function encodeCursor(signedAt: number, receiptId: string, filter: string): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, signedAt, receiptId, filter]), "utf8").toString("base64url");
}

function decodeCursor(cursor: string, filter: string): { signedAt: number; receiptId: string } {
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
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== CURSOR_VERSION) throw bad("not a cursor");
  const [, signedAt, receiptId, boundFilter] = parsed as [unknown, unknown, unknown, unknown];
  if (typeof signedAt !== "number" || !Number.isSafeInteger(signedAt) || typeof receiptId !== "string") throw bad("not a cursor");
  if (boundFilter !== filter) throw bad("issued for another filter");
  return { signedAt, receiptId };
}
