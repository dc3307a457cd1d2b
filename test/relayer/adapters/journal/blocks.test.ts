import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { isRelayerError } from "../../../../relayer/core/errors.js";

const cursorAt = (n: number) => ({ blockNumber: n, blockHash: `0x${n.toString(16).padStart(64, "0")}`, history: [] });

describe("relayer/adapters/journal/blocks: the watcher cursor lives in the journal", () => {
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
    const store = journal.blocks;
    expect(store.load()).to.equal(null);
    store.save(cursorAt(12));
    journal.close();
    journal = Journal.open(join(dir, "journal.sqlite"));
    expect(journal.blocks.load()).to.deep.equal(cursorAt(12));
  });

  it("moves an old cursor file into a journal that has none, and deletes the file", () => {
    const file = join(dir, "journal.sqlite.cursor.json");
    writeFileSync(file, JSON.stringify({ format: 1, cursor: cursorAt(40) }));
    journal.blocks.adoptLegacyFile(file);
    expect(existsSync(file)).to.equal(false);
    expect(journal.blocks.load()).to.deep.equal(cursorAt(40));
  });

  it("refuses an old cursor file that is ahead of the journal's cursor (the journal lost commits) and keeps the file", () => {
    journal.blocks.save(cursorAt(10));
    const file = join(dir, "journal.sqlite.cursor.json");
    writeFileSync(file, JSON.stringify({ format: 1, cursor: cursorAt(20) }));
    let caught: unknown;
    try {
      journal.blocks.adoptLegacyFile(file);
    } catch (error) {
      caught = error;
    }
    expect(isRelayerError(caught, "JOURNAL_ROLLED_BACK"), String(caught)).to.equal(true);
    expect(existsSync(file)).to.equal(true);
    expect(journal.blocks.load()?.blockNumber).to.equal(10);
  });

  it("refuses a cursor that is not valid JSON with JOURNAL_CORRUPT", () => {
    journal.meta.set("watcher_cursor", "{not json");
    let caught: unknown;
    try {
      journal.blocks.load();
    } catch (error) {
      caught = error;
    }
    expect(isRelayerError(caught, "JOURNAL_CORRUPT")).to.equal(true);
  });

  it("moves a cursor an older relayer wrote with every mark and its logs into the tables, once", () => {
    const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
    const log = (n: number, i: number) => ({
      address: `0x${"ee".repeat(20)}`,
      topics: [hash(900 + i)],
      data: "0x",
      blockNumber: n,
      blockHash: hash(n),
      transactionHash: hash(800 + n),
      transactionIndex: 0,
      logIndex: i,
    });
    const history = [
      { number: 5, hash: hash(5), logs: [log(5, 0), log(5, 1)] },
      { number: 9, hash: hash(9), logs: [] },
      { number: 12, hash: hash(12), logs: [log(12, 3)] },
    ];
    journal.meta.set("watcher_cursor", JSON.stringify({ format: 1, cursor: { blockNumber: 12, blockHash: hash(12), history } }));
    expect(journal.blocks.load()).to.deep.equal({ blockNumber: 12, blockHash: hash(12), history: history.map((m) => ({ number: m.number, hash: m.hash })) });
    expect(JSON.parse(journal.blocks.cursorText() as string)).to.deep.equal({ format: 2, cursor: { blockNumber: 12, blockHash: hash(12) } });
    expect(journal.blocks.deliveredAbove(4)).to.deep.equal([log(12, 3), log(5, 1), log(5, 0)]);
    expect(journal.blocks.deliveredAbove(9)).to.deep.equal([log(12, 3)]);
    expect(journal.blocks.position()).to.deep.equal({ blockNumber: 12, blockHash: hash(12) });
  });

  describe("deliveries: the journal's own fork check", () => {
    const h = (tag: string, n: number) => `0x${tag}${n.toString(16).padStart(64 - tag.length, "0")}`;
    const mark = (n: number, tag = "a") => ({ number: n, hash: h(tag, n) });
    /** A delivery of blocks `from..to` building on `parent`, with marks for `marked` blocks (and `to`). */
    const delivery = (from: number, to: number, parent: string, marked: number[] = [], history: ReturnType<typeof mark>[] = []) => {
      const marks = [...history, ...marked.map((n) => mark(n)), mark(to)];
      return { added: [], removed: [], fromBlock: from, toBlock: to, parentHash: parent, cursor: { blockNumber: to, blockHash: h("a", to) }, marks };
    };

    it("records a range with its marks and the cursor in one step, and refuses one that does not build on it", () => {
      journal.blocks.recordDelivery(delivery(1, 10, h("a", 0), [4]), [], 1);
      expect(journal.blocks.position()).to.deep.equal({ blockNumber: 10, blockHash: h("a", 10) });
      expect(journal.blocks.load()?.blockNumber).to.equal(10);
      journal.blocks.recordDelivery(delivery(11, 20, h("a", 10)), [], 2);
      let caught: unknown;
      try {
        journal.blocks.recordDelivery(delivery(21, 30, h("x", 20)), [], 3);
      } catch (error) {
        caught = error;
      }
      expect(isRelayerError(caught, "JOURNAL_BLOCK_CONFLICT"), String(caught)).to.equal(true);
      expect(journal.blocks.load()?.blockNumber, "the refused delivery left the cursor alone").to.equal(20);
    });

    it("steps back to the fork block the watcher found, so the new fork builds on it", () => {
      journal.blocks.recordDelivery(delivery(1, 10, h("a", 0), [4]), [], 1);
      // A reorg below block 10: the watcher rewinds to its mark at block 4 (delivering nothing, then saving).
      journal.blocks.save({ blockNumber: 4, blockHash: h("a", 4) });
      expect(journal.blocks.position()).to.deep.equal({ blockNumber: 4, blockHash: h("a", 4) });
      journal.blocks.recordDelivery(delivery(5, 12, h("a", 4), [], [mark(4)]), [], 2);
      expect(journal.blocks.position()?.blockNumber).to.equal(12);
    });
  });
});
