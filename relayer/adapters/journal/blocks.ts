import { existsSync, readFileSync, rmSync } from "node:fs";

import { RelayerError } from "../../core/errors.js";
import type { BlockMark, CursorPoint, CursorStore, LogBatch, WatchedLog, WatcherCursor } from "../chain/watcher.js";
import type { JobsTable, SeenJob } from "./jobs.js";
import type { MetaTable } from "./meta.js";
import { num, str, type Row, type Sql } from "./sql.js";

export interface BlockRef {
  number: number;
  hash: string;
  /** Hash of the block this one builds on: its parent, or the block before the first of a delivered range. */
  parentHash: string;
  /** First block of the range `number` ends (`number` itself by default). */
  from?: number;
}

const CURSOR_KEY = "watcher_cursor";

/** A cursor as stored: format 2 is the position alone; format 1 (older relayers) carried every mark and its logs. */
interface StoredCursor extends CursorPoint {
  history?: (BlockMark & { logs?: WatchedLog[] })[];
}

function parseCursor(text: string, where: string): StoredCursor {
  let parsed: { format?: unknown; cursor?: StoredCursor };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    throw new RelayerError("JOURNAL_CORRUPT", `the watcher cursor in ${where} is not JSON`, {
      cause,
      hint: "restore the journal from a backup, or move it aside to start a new one",
    });
  }
  if ((parsed.format !== 1 && parsed.format !== 2) || parsed.cursor === undefined || !Number.isSafeInteger(parsed.cursor.blockNumber)) {
    throw new RelayerError("JOURNAL_CORRUPT", `the watcher cursor in ${where} is not valid`, {
      hint: "restore the journal from a backup, or move it aside to start a new one",
    });
  }
  return parsed.cursor;
}

function encodeCursor(cursor: CursorPoint): string {
  return JSON.stringify({ format: 2, cursor: { blockNumber: cursor.blockNumber, blockHash: cursor.blockHash } });
}

/**
 * `processed_blocks`, `watched_logs` and the event watcher's cursor: where the journal stands on the chain. It is the
 * watcher's {@link CursorStore}, and {@link recordDelivery} writes a delivery's blocks, its logs, the jobs first seen
 * in it and the cursor in the caller's transaction, so after a crash the cursor and the effects it produced agree
 * (exactly once). Each delivery inserts its own rows once and prunes those older than `keepBlocks`: the stored
 * history stays bounded and nothing is rewritten per delivery.
 *
 * The fork check is the journal's own: a delivery must build on the last block the journal processed (its first
 * block's parent is that block), or repeat blocks it already holds; a reorg the watcher found rewinds the journal to
 * the fork block first.
 */
export class BlocksTable implements CursorStore {
  readonly #sql: Sql;
  readonly #meta: MetaTable;
  readonly #jobs: JobsTable;
  readonly #keepBlocks: number;

  constructor(sql: Sql, meta: MetaTable, jobs: JobsTable, keepBlocks: number) {
    this.#sql = sql;
    this.#meta = meta;
    this.#jobs = jobs;
    this.#keepBlocks = keepBlocks;
  }

  /** The last fully processed block, or `null` on a fresh journal. */
  position(): { blockNumber: number; blockHash: string } | null {
    const row = this.#sql.get("SELECT number, hash FROM processed_blocks ORDER BY number DESC LIMIT 1");
    return row === undefined ? null : { blockNumber: num(row, "number"), blockHash: str(row, "hash") };
  }

  #hashAt(n: number): string | null {
    const row = this.#sql.get("SELECT hash FROM processed_blocks WHERE number = $n", { n });
    return row === undefined ? null : str(row, "hash");
  }

  #insert(block: { number: number; hash: string; parentHash: string }, now: number): void {
    this.#sql.run("INSERT INTO processed_blocks (number, hash, parent_hash, processed_at) VALUES ($n, $h, $p, $t) ON CONFLICT (number) DO NOTHING", {
      n: block.number,
      h: block.hash,
      p: block.parentHash,
      t: now,
    });
  }

  /**
   * Records block `block` (or the range it ends) as processed together with the jobs first seen in it, atomically:
   * after a crash either both are journaled or neither, so the watcher resumes with no gap and no duplicate. Jobs
   * already known are left as they are (re-processing a block is harmless).
   *
   * @returns the ids of the jobs that were new.
   * @throws RelayerError `JOURNAL_BLOCK_CONFLICT` when the block does not extend the journal's position (the caller
   *         must {@link rewindTo} the fork point first).
   */
  recordBlock(block: BlockRef, jobs: readonly SeenJob[], now: number, marks: readonly { number: number; hash: string }[] = []): bigint[] {
    return this.#sql.transaction(() => {
      const at = this.position();
      const from = block.from ?? block.number;
      if (at !== null) {
        const extends_ = from === at.blockNumber + 1 && block.parentHash === at.blockHash;
        const repeat = block.number <= at.blockNumber && this.#hashAt(block.number) === block.hash;
        if (!extends_ && !repeat) {
          throw new RelayerError("JOURNAL_BLOCK_CONFLICT", `block ${block.number} does not extend the journal's cursor ${at.blockNumber}`, {
            details: { block: block.number, from, parentHash: block.parentHash, cursor: at.blockNumber, cursorHash: at.blockHash },
            hint: "a reorg or a gap: rewind the journal to the last common block and process from there",
          });
        }
      }
      const fresh: bigint[] = [];
      for (const job of jobs) if (this.#jobs.insert(job, now)) fresh.push(job.origin.jobId);
      // The blocks inside the range the watcher remembers are kept too: a later reorg may rewind to any of them.
      let parentHash = block.parentHash;
      for (const mark of marks) {
        if (mark.number < from || mark.number >= block.number) continue;
        this.#insert({ ...mark, parentHash }, now);
        parentHash = mark.hash;
      }
      this.#insert({ number: block.number, hash: block.hash, parentHash }, now);
      this.#prune(block.number - this.#keepBlocks);
      return fresh;
    });
  }

  #prune(floor: number): void {
    this.#sql.run("DELETE FROM processed_blocks WHERE number <= $floor", { floor });
    this.#sql.run("DELETE FROM watched_logs WHERE block_number <= $floor", { floor });
  }

  /**
   * Forgets processed blocks (and their logs) above `blockNumber` (the last block both forks share). Returns how many
   * blocks were removed.
   */
  rewindTo(blockNumber: number): number {
    return this.#sql.transaction(() => {
      this.#sql.run("DELETE FROM watched_logs WHERE block_number > $n", { n: blockNumber });
      return this.#sql.run("DELETE FROM processed_blocks WHERE number > $n", { n: blockNumber }).changes;
    });
  }

  #insertLogs(logs: readonly WatchedLog[]): void {
    for (const log of logs) {
      this.#sql.run("INSERT INTO watched_logs (block_number, log_index, block_hash, log) VALUES ($n, $i, $h, $log) ON CONFLICT DO NOTHING", {
        n: log.blockNumber,
        i: log.logIndex,
        h: log.blockHash,
        log: JSON.stringify(log),
      });
    }
  }

  /** What the stored history holds (bounded by `keepBlocks`). */
  historySize(): { blocks: number; logs: number; bytes: number } {
    const b = this.#sql.get("SELECT COUNT(*) AS n FROM processed_blocks") as Row;
    const l = this.#sql.get("SELECT COUNT(*) AS n, TOTAL(LENGTH(log)) AS bytes FROM watched_logs") as Row;
    return { blocks: num(b, "n"), logs: num(l, "n"), bytes: num(l, "bytes") };
  }

  /** The watcher stepped back to the canonical block `fork` (a block it remembers): so does the journal. */
  #rewindToFork(fork: { blockNumber: number; blockHash: string }, now: number): void {
    this.rewindTo(fork.blockNumber);
    if (this.#hashAt(fork.blockNumber) === fork.blockHash) return;
    const below = this.position();
    this.#sql.run("DELETE FROM processed_blocks WHERE number = $n", { n: fork.blockNumber });
    this.#insert({ number: fork.blockNumber, hash: fork.blockHash, parentHash: below?.blockHash ?? fork.blockHash }, now);
  }

  /**
   * One delivery of the watcher, in the caller's transaction: the rewind to the fork block (a removal-only delivery)
   * or the fork check and the new blocks and logs, the jobs first seen, and the watcher cursor.
   *
   * @returns the ids of the jobs that were new.
   */
  recordDelivery(batch: LogBatch, jobs: readonly SeenJob[], now: number): bigint[] {
    return this.#sql.transaction(() => {
      let fresh: bigint[] = [];
      if (batch.cursor.blockNumber < batch.toBlock) this.#rewindToFork(batch.cursor, now);
      else {
        const block = { from: batch.fromBlock, number: batch.toBlock, hash: batch.cursor.blockHash, parentHash: batch.parentHash };
        fresh = this.recordBlock(block, jobs, now, batch.marks);
        this.#insertLogs(batch.added);
      }
      this.#write(batch.cursor);
      return fresh;
    });
  }

  #write(cursor: CursorPoint): void {
    this.#meta.set(CURSOR_KEY, encodeCursor(cursor));
  }

  #point(): CursorPoint | null {
    const text = this.cursorText();
    if (text === null) return null;
    const c = parseCursor(text, "the journal");
    return { blockNumber: c.blockNumber, blockHash: c.blockHash };
  }

  /** The watcher cursor as stored (JSON), or `null` on a fresh journal. */
  cursorText(): string | null {
    return this.#meta.get(CURSOR_KEY);
  }

  /**
   * The cursor and the blocks remembered at or below it, oldest first. A cursor written by an older relayer (all
   * marks and their logs in one document) is moved into the tables once, here.
   */
  load(): WatcherCursor | null {
    const text = this.cursorText();
    if (text === null) return null;
    const stored = parseCursor(text, "the journal");
    if (stored.history !== undefined) this.#adopt(stored);
    const history = this.#sql
      .all("SELECT number, hash FROM processed_blocks WHERE number <= $n ORDER BY number", { n: stored.blockNumber })
      .map((r) => ({ number: num(r, "number"), hash: str(r, "hash") }));
    return { blockNumber: stored.blockNumber, blockHash: stored.blockHash, history };
  }

  /** A format-1 cursor: its marks into `processed_blocks`, its logs into `watched_logs`, the cursor to format 2. */
  #adopt(stored: StoredCursor): void {
    this.#sql.transaction(() => {
      const now = Math.floor(Date.now() / 1000);
      let parentHash: string | null = null;
      for (const mark of stored.history ?? []) {
        this.#insert({ number: mark.number, hash: mark.hash, parentHash: parentHash ?? this.#hashAt(mark.number - 1) ?? mark.hash }, now);
        this.#insertLogs(mark.logs ?? []);
        parentHash = mark.hash;
      }
      this.#write(stored);
    });
  }

  /**
   * The watcher's commit after a delivery (already written with its effects: nothing to do) and after a rewind that
   * delivered nothing: the journal steps back to the fork block with it.
   */
  commit(batch: LogBatch): void {
    const at = this.#point();
    if (at !== null && at.blockNumber === batch.cursor.blockNumber && at.blockHash === batch.cursor.blockHash) return;
    if (batch.cursor.blockNumber < batch.toBlock) this.save(batch.cursor);
    else this.recordDelivery(batch, [], Math.floor(Date.now() / 1000));
  }

  /** Moves the cursor to `cursor`; a cursor below the journal's position rewinds the journal to that fork block. */
  save(cursor: CursorPoint): void {
    this.#sql.transaction(() => {
      const at = this.position();
      if (at !== null && cursor.blockNumber < at.blockNumber) this.#rewindToFork(cursor, Math.floor(Date.now() / 1000));
      this.#write(cursor);
    });
  }

  /** Logs delivered from blocks above `blockNumber` and still journaled, newest first: what a rewind to it undoes. */
  deliveredAbove(blockNumber: number): WatchedLog[] {
    return this.#sql
      .all("SELECT log FROM watched_logs WHERE block_number > $n ORDER BY block_number DESC, log_index DESC", { n: blockNumber })
      .map((r) => JSON.parse(str(r, "log")) as WatchedLog);
  }

  /**
   * Moves a cursor left by an older relayer in `<journal>.cursor.json` into the journal, once, and deletes the file.
   * The journal is authoritative: a file that disagrees with a cursor the journal already holds is refused.
   */
  adoptLegacyFile(file: string): void {
    if (!existsSync(file)) return;
    const fromFile = parseCursor(readFileSync(file, "utf8"), file);
    const inJournal = this.cursorText();
    if (inJournal === null) {
      this.#adopt(fromFile);
    } else {
      const current = parseCursor(inJournal, "the journal");
      if (current.blockNumber < fromFile.blockNumber) {
        throw new RelayerError("JOURNAL_ROLLED_BACK", `the cursor file ${file} is at block ${fromFile.blockNumber}, ahead of the journal's ${current.blockNumber}`, {
          hint: `the journal lost commits the old cursor file saw: restore the journal from a backup, or delete ${file} if the journal is known to be complete`,
        });
      }
    }
    rmSync(file, { force: true });
  }
}
