import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";

import { ChainError } from "../adapters/chain/errors.js";
import type { CursorStore, WatcherCursor } from "../adapters/chain/watcher.js";

/**
 * The event watcher's cursor (with the recent block marks it needs to undo a reorg) in a JSON file beside the journal,
 * replaced atomically (temp file, fsync, rename).
 *
 * The watcher saves the cursor after the consumer has applied a delivery, so a crash in between re-delivers that
 * range: the consumer's handlers are idempotent (a job already journaled is not inserted again, an event for a job
 * already past it is ignored), which makes at-least-once delivery exactly-once in effect.
 */
export class FileCursorStore implements CursorStore {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  load(): WatcherCursor | null {
    let text: string;
    try {
      text = readFileSync(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const parsed = JSON.parse(text) as { format?: unknown; cursor?: WatcherCursor };
    if (parsed.format !== 1 || parsed.cursor === undefined || !Number.isSafeInteger(parsed.cursor.blockNumber)) {
      throw new ChainError("CHAIN_INVALID_CONFIG", `watcher cursor file ${this.#file} is not valid`, {
        hint: "delete the file: the watcher then re-reads events from the deployment block, and the journal skips what it already knows",
      });
    }
    return parsed.cursor;
  }

  save(cursor: WatcherCursor): void {
    mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify({ format: 1, cursor }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#file);
  }
}
