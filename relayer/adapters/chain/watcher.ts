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

/** A processed block the watcher remembers for reorg detection, with the logs it delivered from it. */
export interface BlockMark {
  number: number;
  hash: string;
  logs: WatchedLog[];
}

/**
 * Where the watcher stands: the last processed block (number and hash) and the recent marks, oldest first, the last
 * one being the cursor block itself. The marks are what lets a restarted watcher find the fork point after a reorg
 * and tell its consumer exactly which logs to undo.
 */
export interface WatcherCursor {
  blockNumber: number;
  blockHash: string;
  history: BlockMark[];
}

/** Durable cursor. `save` must be atomic: the watcher calls it after each batch the consumer accepted. */
export interface CursorStore {
  load(): WatcherCursor | null;
  save(cursor: WatcherCursor): void;
}

export class MemoryCursorStore implements CursorStore {
  #cursor: WatcherCursor | null = null;

  constructor(initial: WatcherCursor | null = null) {
    this.#cursor = initial === null ? null : structuredClone(initial);
  }

  load(): WatcherCursor | null {
    return this.#cursor === null ? null : structuredClone(this.#cursor);
  }

  save(cursor: WatcherCursor): void {
    this.#cursor = structuredClone(cursor);
  }
}

/**
 * One delivery. `removed` (newest first) are logs delivered earlier whose blocks left the canonical chain: undo them
 * before applying `added` (in chain order). `cursor` is what the watcher will save once the handler returns; a
 * consumer that wants exactly-once across crashes saves it in the same transaction as its own effects and hands the
 * watcher a {@link CursorStore} that reads it back.
 */
export interface LogBatch {
  added: WatchedLog[];
  removed: WatchedLog[];
  /** Blocks this batch covers (inclusive); for a removal-only batch, the fork point + 1 and the old cursor block. */
  fromBlock: number;
  toBlock: number;
  /** Hash of `fromBlock`'s parent as the chain has it now: the block this delivery builds on. */
  parentHash: string;
  cursor: WatcherCursor;
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
  /** Blocks of marks kept behind the cursor: the deepest reorg the watcher can undo. Default 256. */
  historyBlocks?: number;
  pollIntervalMs?: number;
}

export interface LogWatcherEvents {
  reorg: [{ forkBlock: number; oldCursor: number; removed: number }];
  progress: [{ cursor: WatcherCursor; head: number; delivered: number }];
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

function logKey(log: { blockHash: string; logIndex: number }): string {
  return `${log.blockHash}:${log.logIndex}`;
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
 * logs of the abandoned blocks as `removed`, and reads forward from there, skipping any log already delivered (by
 * block hash and log index). The consumer therefore sees no gap and no duplicate.
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
  #cursor: WatcherCursor | null;
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
    this.#cursor = this.#store.load();
  }

  /** The cursor as last saved. */
  get cursor(): WatcherCursor | null {
    return this.#cursor === null ? null : structuredClone(this.#cursor);
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
    if (this.#cursor !== null) this.emit("progress", { cursor: this.cursor as WatcherCursor, head, delivered });
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

    const seen = new Set<string>();
    for (const mark of this.#cursor?.history ?? []) for (const log of mark.logs) seen.add(logKey(log));
    const logs = raw
      .filter((l) => l.removed !== true)
      .map(toLog)
      .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    for (const log of logs) {
      if (log.blockNumber < from || log.blockNumber > to) {
        throw new ChainError("WATCHER_INCONSISTENT_CHAIN", `eth_getLogs returned a log of block ${log.blockNumber} for range ${from}-${to}`, {
          details: { from, to, block: log.blockNumber },
          hint: "the RPC endpoint is inconsistent; use another one",
        });
      }
      if (log.blockNumber === to && log.blockHash !== lastHash) return "retry";
    }
    const added = logs.filter((l) => !seen.has(logKey(l)));

    const marks = new Map<number, BlockMark>();
    for (const log of added) {
      const mark = marks.get(log.blockNumber) ?? { number: log.blockNumber, hash: log.blockHash, logs: [] };
      mark.logs.push(log);
      marks.set(log.blockNumber, mark);
    }
    if (!marks.has(to)) marks.set(to, { number: to, hash: lastHash, logs: [] });
    const history = [...(this.#cursor?.history ?? []), ...[...marks.values()].sort((a, b) => a.number - b.number)].filter(
      (m, i, all) => m.number > to - this.#historyBlocks || i === all.length - 1,
    );
    const next: WatcherCursor = { blockNumber: to, blockHash: lastHash, history };
    await this.#onLogs({ added, removed: [], fromBlock: from, toBlock: to, parentHash: first.parentHash.toLowerCase(), cursor: structuredClone(next) });
    this.#commit(next);
    if (this.#range < this.#maxRange) this.#range = Math.min(this.#maxRange, this.#range * 2);
    return added.length;
  }

  #commit(next: WatcherCursor): void {
    this.#store.save(next);
    this.#cursor = next;
  }

  /** Walks the marks back to the newest canonical one and reports what the abandoned blocks had delivered. */
  async #rewind(): Promise<number> {
    const cursor = this.#cursor as WatcherCursor;
    const history = cursor.history;
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
    const removed = history
      .slice(keep + 1)
      .flatMap((m) => m.logs)
      .reverse();
    const next: WatcherCursor = { blockNumber: fork.number, blockHash: fork.hash, history: history.slice(0, keep + 1) };
    if (removed.length > 0) {
      await this.#onLogs({ added: [], removed, fromBlock: fork.number + 1, toBlock: cursor.blockNumber, parentHash: fork.hash, cursor: structuredClone(next) });
    }
    this.#commit(next);
    this.emit("reorg", { forkBlock: fork.number, oldCursor: cursor.blockNumber, removed: removed.length });
    return removed.length;
  }
}
