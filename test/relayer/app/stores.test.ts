import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Journal } from "../../../relayer/adapters/journal/journal.js";
import { adoptLegacyCursorFile, JournalCursorStore } from "../../../relayer/app/stores.js";
import { isRelayerError } from "../../../relayer/core/errors.js";

const cursorAt = (n: number) => ({ blockNumber: n, blockHash: `0x${n.toString(16).padStart(64, "0")}`, history: [] });

describe("relayer/app/stores: the watcher cursor lives in the journal", () => {
  let dir: string;
  let journal: Journal;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "aitbc-stores-"));
    journal = Journal.open(join(dir, "journal.sqlite"));
  });
  afterEach(() => {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves and loads the cursor through the journal, surviving a reopen", () => {
    const store = new JournalCursorStore(journal);
    expect(store.load()).to.equal(null);
    store.save(cursorAt(12));
    journal.close();
    journal = Journal.open(join(dir, "journal.sqlite"));
    expect(new JournalCursorStore(journal).load()).to.deep.equal(cursorAt(12));
  });

  it("moves an old cursor file into a journal that has none, and deletes the file", () => {
    const file = join(dir, "journal.sqlite.cursor.json");
    writeFileSync(file, JSON.stringify({ format: 1, cursor: cursorAt(40) }));
    adoptLegacyCursorFile(journal, file);
    expect(existsSync(file)).to.equal(false);
    expect(new JournalCursorStore(journal).load()).to.deep.equal(cursorAt(40));
  });

  it("refuses an old cursor file that is ahead of the journal's cursor (the journal lost commits) and keeps the file", () => {
    new JournalCursorStore(journal).save(cursorAt(10));
    const file = join(dir, "journal.sqlite.cursor.json");
    writeFileSync(file, JSON.stringify({ format: 1, cursor: cursorAt(20) }));
    let caught: unknown;
    try {
      adoptLegacyCursorFile(journal, file);
    } catch (error) {
      caught = error;
    }
    expect(isRelayerError(caught, "JOURNAL_ROLLED_BACK"), String(caught)).to.equal(true);
    expect(existsSync(file)).to.equal(true);
    expect(new JournalCursorStore(journal).load()?.blockNumber).to.equal(10);
  });

  it("refuses a cursor that is not valid JSON with JOURNAL_CORRUPT", () => {
    journal.saveWatcherCursor("{not json");
    let caught: unknown;
    try {
      new JournalCursorStore(journal).load();
    } catch (error) {
      caught = error;
    }
    expect(isRelayerError(caught, "JOURNAL_CORRUPT")).to.equal(true);
  });
});
