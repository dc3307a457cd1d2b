import { existsSync, readFileSync, rmSync } from "node:fs";

import type { CursorStore, WatcherCursor } from "../adapters/chain/watcher.js";
import type { Journal } from "../adapters/journal/journal.js";
import { RelayerError } from "../core/errors.js";

function parseCursor(text: string, where: string): WatcherCursor {
  let parsed: { format?: unknown; cursor?: WatcherCursor };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    throw new RelayerError("JOURNAL_CORRUPT", `the watcher cursor in ${where} is not JSON`, {
      cause,
      hint: "restore the journal from a backup, or move it aside to start a new one",
    });
  }
  if (parsed.format !== 1 || parsed.cursor === undefined || !Number.isSafeInteger(parsed.cursor.blockNumber)) {
    throw new RelayerError("JOURNAL_CORRUPT", `the watcher cursor in ${where} is not valid`, {
      hint: "restore the journal from a backup, or move it aside to start a new one",
    });
  }
  return parsed.cursor;
}

/**
 * The event watcher's cursor (with the recent block marks it needs to undo a reorg), kept in the journal itself.
 *
 * The relayer writes the cursor of each delivery inside the same journal transaction as that delivery's effects, so
 * after a crash the cursor and the jobs it produced agree: there is no second file that can survive, vanish or lag
 * on its own. `save` (called by the watcher after the handler returned) rewrites it only when it differs, which is
 * the case for a rewind that delivered nothing.
 */
export class JournalCursorStore implements CursorStore {
  readonly #journal: Journal;
  #last: string | null = null;

  constructor(journal: Journal) {
    this.#journal = journal;
  }

  static encode(cursor: WatcherCursor): string {
    return JSON.stringify({ format: 1, cursor });
  }

  load(): WatcherCursor | null {
    const text = this.#journal.getWatcherCursor();
    this.#last = text;
    return text === null ? null : parseCursor(text, "the journal");
  }

  save(cursor: WatcherCursor): void {
    const text = JournalCursorStore.encode(cursor);
    if (text === this.#last) return;
    this.#journal.saveWatcherCursor(text);
    this.#last = text;
  }

  /** Marks `text` as already written (the relayer wrote it inside its own transaction). */
  noteWritten(text: string): void {
    this.#last = text;
  }
}

/**
 * Moves a cursor left by an older relayer in `<journal>.cursor.json` into the journal, once, and deletes the file.
 * The journal is authoritative: a file that disagrees with a cursor the journal already holds is refused.
 */
export function adoptLegacyCursorFile(journal: Journal, file: string): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  const fromFile = parseCursor(text, file);
  const inJournal = journal.getWatcherCursor();
  if (inJournal === null) {
    journal.saveWatcherCursor(JournalCursorStore.encode(fromFile));
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
