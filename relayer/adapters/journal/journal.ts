import { existsSync, openSync, closeSync, readSync, statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

import { RelayerError } from "../../core/errors.js";
import { JOB_STATES, type JobRecord } from "../../core/job-state.js";
import { BATCH_STATUSES, TX_STATUSES, type JournalMetrics, type ReceiptPage, type ReceiptQuery, type ReceiptWithProof, type RelayerReadModel, type StoredResult } from "../../core/read-model.js";
import { BatchesTable } from "./batches.js";
import { BlocksTable } from "./blocks.js";
import { ChannelTable } from "./channels.js";
import { JobsTable } from "./jobs.js";
import { MetaTable } from "./meta.js";
import { ReceiptsTable } from "./receipts.js";
import { applyMigrations, type Migration, MIGRATIONS } from "./schema.js";
import { Sql, type Row } from "./sql.js";
import { TransactionsTable } from "./transactions.js";

export type { BatchIntentInput, BatchItem } from "./batches.js";
export type { BlockRef } from "./blocks.js";
export type { SeenJob } from "./jobs.js";
export type { JournalIdentity } from "./meta.js";
export type { SignedReceiptInput } from "./receipts.js";

export interface JournalOptions {
  /** How long a writer waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Processed blocks (and their delivered logs) kept for reorg detection, the rest are pruned; ≥ the watcher's history. */
  keepBlocks?: number;
  /** Schema steps; tests pass their own to exercise migrations. */
  migrations?: readonly Migration[];
}

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

/**
 * The relayer's durable memory: one SQLite file in WAL mode with `synchronous=FULL`, so a committed transaction
 * survives `kill -9` and power loss. One module per table does the work — {@link BlocksTable} (where the journal
 * stands on the chain: the watcher's cursor store), {@link JobsTable}, {@link ReceiptsTable}, {@link BatchesTable},
 * {@link TransactionsTable} (the transaction sender's store), {@link MetaTable} — over one connection, so a step that
 * spans tables commits as one SQLite transaction. The app writes the intent of a side effect (a transaction to send,
 * a receipt to publish, a batch to settle) before performing it.
 *
 * Single writer: one relayer process owns the file. Readers in the same process share the connection.
 */
export class Journal implements RelayerReadModel {
  readonly meta: MetaTable;
  readonly blocks: BlocksTable;
  readonly jobs: JobsTable;
  readonly receipts: ReceiptsTable;
  readonly batches: BatchesTable;
  readonly transactions: TransactionsTable;
  /** The channel mode's requests, results, vouchers and claims. */
  readonly channels: ChannelTable;
  readonly #sql: Sql;
  readonly #db: DatabaseSync;
  readonly #onDisk: boolean;
  #closed = false;

  private constructor(db: DatabaseSync, keepBlocks: number, onDisk: boolean) {
    this.#db = db;
    this.#onDisk = onDisk;
    this.#sql = new Sql(db);
    this.meta = new MetaTable(this.#sql);
    this.jobs = new JobsTable(this.#sql);
    this.blocks = new BlocksTable(this.#sql, this.meta, this.jobs, keepBlocks);
    this.receipts = new ReceiptsTable(this.#sql, this.jobs);
    this.transactions = new TransactionsTable(this.#sql);
    this.channels = new ChannelTable(this.#sql);
    this.batches = new BatchesTable(this.#sql, this.jobs, this.receipts, this.transactions);
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
    this.#sql.clear();
    if (this.#onDisk && hasMetaTable(this.#db)) {
      try {
        this.#db.exec("UPDATE journal_meta SET value = '0' WHERE key = 'running'");
      } catch {
        // A journal that cannot record its clean close is treated as crashed at the next start, which is safe.
      }
    }
    this.#db.close();
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
    return this.#sql.transaction(fn);
  }

  // ── the read model the API serves ────────────────────────────────────────────────────────────────────────────

  getJob(jobId: bigint): JobRecord | null {
    return this.jobs.get(jobId);
  }

  getResult(jobId: bigint): StoredResult | null {
    return this.jobs.result(jobId);
  }

  listReceipts(query: ReceiptQuery): ReceiptPage {
    return this.receipts.list(query);
  }

  getReceipt(receiptId: string): ReceiptWithProof | null {
    const receipt = this.receipts.get(receiptId);
    if (receipt === null) return null;
    if (receipt.batchId === null) return { receipt, batch: null, proof: null };
    return { receipt, batch: this.batches.get(receipt.batchId), proof: this.batches.proof(receipt.batchId, receiptId) };
  }

  /**
   * The journal's figures for `/health` and `/metrics`, from the counters the schema's triggers keep in the same
   * transaction as every change: a few rows, whatever the journal's size.
   */
  metrics(): JournalMetrics {
    const counters = new Map<string, number>();
    for (const row of this.#sql.all("SELECT name, n FROM journal_counters")) counters.set(String(row.name), Number(row.n));
    const pick = <K extends string>(prefix: string, keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, counters.get(`${prefix}:${k}`) ?? 0])) as Record<K, number>;
    return {
      jobsByState: pick("jobs", JOB_STATES),
      gpuMilliSecondsTotal: counters.get("units_milli") ?? 0,
      receiptsSigned: counters.get("receipts") ?? 0,
      batchesByStatus: pick("batches", BATCH_STATUSES),
      txsByStatus: pick("txs", TX_STATUSES),
      txRetries: counters.get("tx_retries") ?? 0,
      cursorBlock: this.blocks.position()?.blockNumber ?? null,
    };
  }

  /** The same figures as {@link metrics} by a full scan of the tables: the check the counters are held to. */
  recountMetrics(): JournalMetrics {
    return {
      jobsByState: this.jobs.countsByState(),
      gpuMilliSecondsTotal: this.jobs.unitsMilliTotal(),
      receiptsSigned: this.receipts.count(),
      batchesByStatus: this.batches.countsByStatus(),
      txsByStatus: this.transactions.countsByStatus(),
      txRetries: this.transactions.retries(),
      cursorBlock: this.blocks.position()?.blockNumber ?? null,
    };
  }
}
