import { EventEmitter } from "node:events";

import { ChainError } from "./errors.js";
import type { RpcClient } from "./rpc.js";

/** A log as the watcher delivers it (numbers decoded, hashes lower-case). */
export interface WatchedLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  transactionIndex: number;
  logIndex: number;
}

/** A processed block the watcher remembers for reorg detection: its number and hash, nothing else. */
export interface BlockMark {
  number: number;
  hash: string;
}

/** A position on the chain: the last processed block. */
export interface CursorPoint {
  blockNumber: number;
  blockHash: string;
}

/**
 * Where the watcher stands: the last processed block (number and hash) and the recent marks, oldest first, the last
 * one being the cursor block itself. The marks are what lets a restarted watcher find the fork point after a reorg.
 */
export interface WatcherCursor extends CursorPoint {
  history: BlockMark[];
}

/**
 * Durable cursor, written incrementally: each accepted delivery adds its marks and logs, a rewind drops those above
 * the fork. Nothing is rewritten per poll. The store keeps the logs it was handed for at least the watcher's
 * `historyBlocks`, so a rewind can tell the consumer exactly what to undo ({@link deliveredAbove}).
 */
export interface CursorStore {
  load(): WatcherCursor | null;
  /**
   * Called after the consumer accepted `batch` (or, for a rewind that removed nothing, without a consumer call). Must
   * be atomic and idempotent: a consumer that saved the batch in its own transaction makes this a no-op.
   */
  commit(batch: LogBatch): void;
  /** Logs delivered from blocks above `blockNumber` that were not removed since, newest first. */
  deliveredAbove(blockNumber: number): WatchedLog[];
}

/** A cursor store in memory (tests, tools): marks and delivered logs of the last `keepBlocks` blocks. */
export class MemoryCursorStore implements CursorStore {
  #point: CursorPoint | null = null;
  #marks: BlockMark[] = [];
  /** Delivered logs by block number, only for blocks that had some. */
  readonly #logs = new Map<number, WatchedLog[]>();
  readonly #keepBlocks: number;

  constructor(keepBlocks = 256) {
    this.#keepBlocks = keepBlocks;
  }

  load(): WatcherCursor | null {
    return this.#point === null ? null : { ...this.#point, history: this.#marks.map((m) => ({ ...m })) };
  }

  commit(batch: LogBatch): void {
    const point = batch.cursor;
    if (this.#point !== null && this.#point.blockNumber === point.blockNumber && this.#point.blockHash === point.blockHash) return;
    if (this.#point !== null && point.blockNumber < this.#point.blockNumber) {
      for (const n of [...this.#logs.keys()]) if (n > point.blockNumber) this.#logs.delete(n);
      while (this.#marks.length > 0 && this.#marks[this.#marks.length - 1].number > point.blockNumber) this.#marks.pop();
      if (this.#marks[this.#marks.length - 1]?.hash !== point.blockHash) this.#marks.push({ number: point.blockNumber, hash: point.blockHash });
    } else {
      for (const log of batch.added) {
        const list = this.#logs.get(log.blockNumber) ?? [];
        list.push(log);
        this.#logs.set(log.blockNumber, list);
      }
      this.#marks.push(...batch.marks);
      const floor = point.blockNumber - this.#keepBlocks;
      let drop = 0;
      while (drop < this.#marks.length - 1 && this.#marks[drop].number <= floor) drop++;
      if (drop > 0) this.#marks.splice(0, drop);
      for (const n of this.#logs.keys()) if (n <= floor) this.#logs.delete(n);
    }
    this.#point = { ...point };
  }

  deliveredAbove(blockNumber: number): WatchedLog[] {
    const blocks = [...this.#logs.keys()].filter((n) => n > blockNumber).sort((a, b) => b - a);
    return blocks.flatMap((n) => [...(this.#logs.get(n) ?? [])].reverse());
  }

  /** Remembered marks and logs (what a size bound is checked against). */
  size(): { marks: number; logs: number } {
    let logs = 0;
    for (const list of this.#logs.values()) logs += list.length;
    return { marks: this.#marks.length, logs };
  }
}

/**
 * One delivery. `removed` (newest first) are logs delivered earlier whose blocks left the canonical chain: undo them
 * before applying `added` (in chain order). `cursor` is what the watcher will commit once the handler returns; a
 * consumer that wants exactly-once across crashes saves the batch in the same transaction as its own effects and
 * hands the watcher a {@link CursorStore} that reads it back.
 */
export interface LogBatch {
  added: WatchedLog[];
  removed: WatchedLog[];
  /** Blocks this batch covers (inclusive); for a removal-only batch, the fork point + 1 and the old cursor block. */
  fromBlock: number;
  toBlock: number;
  /** Hash of `fromBlock`'s parent as the chain has it now: the block this delivery builds on. */
  parentHash: string;
  cursor: CursorPoint;
  /**
   * The blocks of this range the watcher remembers, oldest first: those with delivered logs and `toBlock` itself
   * (empty for a removal-only batch).
   */
  marks: BlockMark[];
}

export type TopicFilter = (string | string[] | null)[];

export interface LogWatcherOptions {
  rpc: RpcClient;
  /** Contract whose logs are followed. */
  address: string;
  topics?: TopicFilter;
  /** First block to read when the store has no cursor (usually the contract's deployment block). */
  startBlock: number;
  /** Only blocks up to `head − confirmations` are read. */
  confirmations: number;
  cursorStore: CursorStore;
  onLogs: (batch: LogBatch) => void | Promise<void>;
  /** Largest `eth_getLogs` range; shrinks on "too many results" and grows back on success. Default 2000. */
  maxBlockRange?: number;
  /**
   * Blocks of marks kept behind the cursor: the deepest reorg the watcher can undo. Default 256. The cursor store must
   * keep delivered logs at least this deep.
   */
  historyBlocks?: number;
  pollIntervalMs?: number;
}

export interface LogWatcherEvents {
  reorg: [{ forkBlock: number; oldCursor: number; removed: number }];
  progress: [{ cursor: CursorPoint; head: number; delivered: number }];
  /** A failed poll; the next poll retries from the saved cursor. */
  warning: [{ error: ChainError }];
}

interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
}

const RANGE_TOO_LARGE = /more than \d+ results|too many (results|logs)|block range|range (is )?too (large|wide|big)|response size|exceed|query timeout|limit/i;

/** Whether an `eth_getLogs` failure means "ask for fewer blocks" rather than "the node is unwell". */
export function isRangeTooLarge(error: ChainError): boolean {
  const text = String(error.details?.rpcMessage ?? "");
  if (error.code === "RPC_LIMIT_EXCEEDED") return !/rate limit|too many requests|request limit/i.test(text);
  return (error.code === "RPC_INVALID_PARAMS" || error.code === "RPC_ERROR") && RANGE_TOO_LARGE.test(text);
}

function toLog(raw: RpcLog): WatchedLog {
  return {
    address: raw.address.toLowerCase(),
    topics: raw.topics.map((t) => t.toLowerCase()),
    data: raw.data.toLowerCase(),
    blockNumber: Number(raw.blockNumber),
    blockHash: raw.blockHash.toLowerCase(),
    transactionHash: raw.transactionHash.toLowerCase(),
    transactionIndex: Number(raw.transactionIndex),
    logIndex: Number(raw.logIndex),
  };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Follows one contract's logs from a saved cursor, confirmation depth behind the head, in bounded block ranges.
 *
 * Reorg handling: every poll first checks that the cursor block is still canonical; every range checks that its
 * first block's parent is the cursor block and that the range's last block did not change while its logs were read.
 * On a mismatch the watcher walks its marks back to the newest block still canonical (the fork point), delivers the
 * logs of the abandoned blocks as `removed` (the cursor store hands them back), and reads forward from there. Reading
 * always starts after the cursor block, so the consumer sees no gap and no duplicate.
 *
 * Memory and writes stay bounded at any load: the watcher holds only block number → hash for the last
 * `historyBlocks` marks; each delivery hands the store its new marks and logs once, and nothing is copied per poll.
 */
export class LogWatcher extends EventEmitter<LogWatcherEvents> {
  readonly #rpc: RpcClient;
  readonly #address: string;
  readonly #topics: TopicFilter;
  readonly #startBlock: number;
  readonly #confirmations: number;
  readonly #store: CursorStore;
  readonly #onLogs: LogWatcherOptions["onLogs"];
  readonly #maxRange: number;
  readonly #historyBlocks: number;
  readonly #pollIntervalMs: number;
  #range: number;
  #cursor: CursorPoint | null;
  /** Remembered blocks, oldest first; the last is the cursor block. */
  #marks: BlockMark[];
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #polling: Promise<number> | null = null;

  constructor(options: LogWatcherOptions) {
    super();
    this.#rpc = options.rpc;
    this.#address = options.address.toLowerCase();
    this.#topics = options.topics ?? [];
    this.#startBlock = options.startBlock;
    this.#confirmations = options.confirmations;
    this.#store = options.cursorStore;
    this.#onLogs = options.onLogs;
    this.#maxRange = options.maxBlockRange ?? 2000;
    this.#historyBlocks = options.historyBlocks ?? 256;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    const ok =
      /^0x[0-9a-f]{40}$/.test(this.#address) &&
      Number.isSafeInteger(this.#startBlock) &&
      this.#startBlock >= 0 &&
      Number.isSafeInteger(this.#confirmations) &&
      this.#confirmations >= 0 &&
      Number.isSafeInteger(this.#maxRange) &&
      this.#maxRange >= 1 &&
      Number.isSafeInteger(this.#historyBlocks) &&
      this.#historyBlocks >= this.#confirmations + 1 &&
      this.#pollIntervalMs > 0;
    if (!ok) {
      throw new ChainError("CHAIN_INVALID_CONFIG", "log watcher options are out of range", {
        details: { address: options.address, startBlock: options.startBlock, confirmations: options.confirmations },
        hint: "address must be a contract address; startBlock, confirmations ≥ 0; maxBlockRange ≥ 1; historyBlocks > confirmations",
      });
    }
    this.#range = this.#maxRange;
    const loaded = this.#store.load();
    this.#cursor = loaded === null ? null : { blockNumber: loaded.blockNumber, blockHash: loaded.blockHash };
    this.#marks = loaded === null ? [] : loaded.history.filter((m) => m.number <= loaded.blockNumber && m.number > loaded.blockNumber - this.#historyBlocks);
    if (loaded !== null && this.#marks[this.#marks.length - 1]?.number !== loaded.blockNumber) {
      this.#marks.push({ number: loaded.blockNumber, hash: loaded.blockHash });
    }
  }

  /** The cursor as last committed. */
  get cursor(): CursorPoint | null {
    return this.#cursor === null ? null : { ...this.#cursor };
  }

  /** How many block marks the watcher holds (at most `historyBlocks`). */
  get rememberedBlocks(): number {
    return this.#marks.length;
  }

  /** Current `eth_getLogs` range (shrinks on "too many results"). */
  get blockRange(): number {
    return this.#range;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.#polling?.catch(() => undefined);
    this.#loop = null;
  }

  /**
   * Reads everything up to the confirmed head once. Concurrent calls share one pass.
   *
   * @returns how many logs were delivered (added plus removed).
   */
  pollOnce(): Promise<number> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.pollOnce();
      } catch (error) {
        const e = error instanceof ChainError ? error : new ChainError("RPC_ERROR", "log watcher poll failed", { cause: error });
        this.emit("warning", { error: e });
      }
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async #block(n: number): Promise<RpcBlock | null> {
    return this.#rpc.call<RpcBlock | null>("eth_getBlockByNumber", [hex(n), false]);
  }

  async #poll(): Promise<number> {
    const head = Number(await this.#rpc.call<string>("eth_blockNumber"));
    const safe = head - this.#confirmations;
    let delivered = 0;
    if (this.#cursor !== null) {
      const current = await this.#block(this.#cursor.blockNumber);
      if (current === null || current.hash.toLowerCase() !== this.#cursor.blockHash) delivered += await this.#rewind();
    }
    // Bounded: each iteration either advances the cursor, shrinks the range, or rewinds (which needs a reorg).
    for (let guard = 0; guard < 10_000; guard++) {
      const from = this.#cursor === null ? this.#startBlock : this.#cursor.blockNumber + 1;
      if (from > safe) break;
      const to = Math.min(safe, from + this.#range - 1);
      const step = await this.#readRange(from, to);
      if (step === "rewind") {
        delivered += await this.#rewind();
        continue;
      }
      if (step === "retry") continue;
      delivered += step;
    }
    if (this.#cursor !== null) this.emit("progress", { cursor: { ...this.#cursor }, head, delivered });
    return delivered;
  }

  async #readRange(from: number, to: number): Promise<number | "rewind" | "retry"> {
    const first = await this.#block(from);
    const last = from === to ? first : await this.#block(to);
    if (first === null || last === null) return "retry";
    if (this.#cursor !== null && first.parentHash.toLowerCase() !== this.#cursor.blockHash) return "rewind";
    let raw: RpcLog[];
    try {
      raw = await this.#rpc.call<RpcLog[]>("eth_getLogs", [{ address: this.#address, topics: this.#topics, fromBlock: hex(from), toBlock: hex(to) }], {
        giveUpOn: isRangeTooLarge,
      });
    } catch (error) {
      if (error instanceof ChainError && isRangeTooLarge(error) && this.#range > 1) {
        this.#range = Math.max(1, Math.floor((to - from + 1) / 2));
        return "retry";
      }
      throw error;
    }
    const again = await this.#block(to);
    const lastHash = last.hash.toLowerCase();
    if (again === null || again.hash.toLowerCase() !== lastHash) return "retry";

    const added = raw
      .filter((l) => l.removed !== true)
      .map(toLog)
      .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    for (const log of added) {
      if (log.blockNumber < from || log.blockNumber > to) {
        throw new ChainError("WATCHER_INCONSISTENT_CHAIN", `eth_getLogs returned a log of block ${log.blockNumber} for range ${from}-${to}`, {
          details: { from, to, block: log.blockNumber },
          hint: "the RPC endpoint is inconsistent; use another one",
        });
      }
      if (log.blockNumber === to && log.blockHash !== lastHash) return "retry";
    }

    const marks: BlockMark[] = [];
    for (const log of added) {
      if (log.blockNumber !== to && marks[marks.length - 1]?.number !== log.blockNumber) marks.push({ number: log.blockNumber, hash: log.blockHash });
    }
    marks.push({ number: to, hash: lastHash });
    const batch: LogBatch = { added, removed: [], fromBlock: from, toBlock: to, parentHash: first.parentHash.toLowerCase(), cursor: { blockNumber: to, blockHash: lastHash }, marks };
    await this.#onLogs(batch);
    this.#store.commit(batch);
    this.#cursor = { blockNumber: to, blockHash: lastHash };
    for (const m of marks) this.#marks.push(m);
    // Bounded: marks older than historyBlocks are dropped (the cursor block always stays).
    let drop = 0;
    while (drop < this.#marks.length - 1 && this.#marks[drop].number <= to - this.#historyBlocks) drop++;
    if (drop > 0) this.#marks.splice(0, drop);
    if (this.#range < this.#maxRange) this.#range = Math.min(this.#maxRange, this.#range * 2);
    return added.length;
  }

  /** Walks the marks back to the newest canonical one and reports what the abandoned blocks had delivered. */
  async #rewind(): Promise<number> {
    const cursor = this.#cursor as CursorPoint;
    const history = this.#marks;
    let keep = -1;
    for (let i = history.length - 1; i >= 0; i--) {
      const block = await this.#block(history[i].number);
      if (block !== null && block.hash.toLowerCase() === history[i].hash) {
        keep = i;
        break;
      }
    }
    if (keep < 0) {
      throw new ChainError("WATCHER_REORG_TOO_DEEP", `no remembered block at or below ${cursor.blockNumber} is still canonical`, {
        details: { cursor: cursor.blockNumber, oldestMark: history[0]?.number ?? null },
        hint: "the reorg is deeper than historyBlocks; rebuild the consumer's state from the chain and reset the cursor",
      });
    }
    const fork = history[keep];
    const removed = this.#store.deliveredAbove(fork.number);
    const batch: LogBatch = {
      added: [],
      removed,
      fromBlock: fork.number + 1,
      toBlock: cursor.blockNumber,
      parentHash: fork.hash,
      cursor: { blockNumber: fork.number, blockHash: fork.hash },
      marks: [],
    };
    if (removed.length > 0) await this.#onLogs(batch);
    this.#store.commit(batch);
    this.#cursor = { blockNumber: fork.number, blockHash: fork.hash };
    this.#marks.splice(keep + 1);
    this.emit("reorg", { forkBlock: fork.number, oldCursor: cursor.blockNumber, removed: removed.length });
    return removed.length;
  }
}
