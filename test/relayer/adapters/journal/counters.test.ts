import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { applyMigrations, MIGRATIONS } from "../../../../relayer/adapters/journal/schema.js";
import { isRelayerError } from "../../../../relayer/core/errors.js";
import { hash32, origin, PROVIDER, seedSignedJob } from "../../../fixtures/relayer/journal/seed.js";

/** /health and /metrics read counters the schema's triggers keep; they must equal a full recount at every point. */
describe("relayer/adapters/journal: counters for /health and /metrics", () => {
  let dir: string;
  let path: string;
  let journal: Journal;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "aitbc-counters-"));
    path = join(dir, "journal.sqlite");
    journal = Journal.open(path);
  });
  afterEach(() => {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const batchOf = (ids: bigint[], now: number) =>
    journal.batches.recordIntent(
      { root: hash32(`root${now}`, ids[0]), items: new Uint8Array(46 * ids.length), entries: ids.map((id) => ({ receiptId: `rcpt-${id}`, proof: [hash32("p", id)] })) },
      now,
    );
  const attempt = (hash: string, nonce: number, fee: bigint) => ({ hash, nonce, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, gasLimit: 21_000n, raw: "0x02", sentAt: 0 });

  function mix(): void {
    for (let id = 1n; id <= 6n; id++) seedSignedJob(journal, id, 100);
    for (let id = 7n; id <= 9n; id++) journal.jobs.recordSeen({ origin: origin(id), prompt: null }, 100);
    journal.jobs.applyEvent(7n, { type: "refuse", reason: "MODEL_NOT_SERVED" }, 101);
    journal.jobs.applyEvent(8n, { type: "expire" }, 101);
    // Re-seeing a known job changes nothing.
    expect(journal.jobs.recordSeen({ origin: origin(9n), prompt: null }, 102)).to.equal(false);

    const b1 = batchOf([1n, 2n], 200);
    const tx1 = journal.transactions.createIntent({ purpose: "settle", key: String(b1), to: PROVIDER, data: "0x", value: 0n, gasLimit: null }, 201).id;
    journal.transactions.recordAttempt(tx1, attempt(hash32("h", 1), 1, 100n), 202);
    journal.transactions.recordAttempt(tx1, attempt(hash32("h", 2), 1, 113n), 203);
    journal.transactions.recordAttempt(tx1, attempt(hash32("h", 3), 1, 130n), 204);
    journal.batches.attachTx(b1, tx1, 205);
    journal.batches.markConfirmed(b1, { txHash: hash32("h", 3), blockNumber: 50 }, 206);
    journal.batches.markReorged(b1, 207);
    journal.batches.markConfirmed(b1, { txHash: hash32("h", 3), blockNumber: 51 }, 208);
    journal.batches.markFinalized(b1, 209);
    journal.transactions.markMined(tx1, { hash: hash32("h", 3), blockNumber: 51 }, 209);
    journal.transactions.markConfirmed(tx1, 210);

    const b2 = batchOf([3n, 4n], 300);
    journal.batches.markFailed(b2, "reverted", 301);
    batchOf([4n, 3n], 302);

    const tx2 = journal.transactions.createIntent({ purpose: "other", key: "x", to: PROVIDER, data: "0x", value: 1n, gasLimit: null }, 400).id;
    journal.transactions.recordAttempt(tx2, attempt(hash32("h", 4), 2, 100n), 401);
    journal.transactions.markAbandoned(tx2, "dropped", 402);

    // A failing step inside a transaction leaves the counters as they were.
    try {
      journal.transaction(() => {
        journal.jobs.recordSeen({ origin: origin(20n), prompt: null }, 500);
        journal.jobs.applyEvent(5n, { type: "refuse", reason: "x" }, 500);
      });
    } catch (error) {
      expect(isRelayerError(error, "RELAYER_ILLEGAL_TRANSITION"), String(error)).to.equal(true);
    }
    journal.blocks.recordBlock({ number: 10, hash: hash32("b", 10), parentHash: hash32("b", 9) }, [], 600);
  }

  it("equal a full recount after a mix of job, receipt, batch and transaction changes, and after a restart", () => {
    const empty = journal.metrics();
    expect(empty).to.deep.equal(journal.recountMetrics());
    mix();
    const m = journal.metrics();
    expect(m).to.deep.equal(journal.recountMetrics());
    expect(m.jobsByState).to.deep.include({ signed: 2, batched: 2, finalized: 2, refused: 1, expired: 1, seen: 1 });
    expect(m.txRetries).to.equal(2);
    expect(m.receiptsSigned).to.equal(6);
    expect(m.gpuMilliSecondsTotal).to.equal(15_000);
    expect(m.batchesByStatus).to.deep.include({ finalized: 1, failed: 1, intent: 1 });
    expect(m.txsByStatus).to.deep.include({ confirmed: 1, abandoned: 1 });
    expect(m.cursorBlock).to.equal(10);

    journal.close();
    journal = Journal.open(path);
    expect(journal.metrics()).to.deep.equal(m);
    expect(journal.metrics()).to.deep.equal(journal.recountMetrics());
  });

  it("are filled from the existing rows when a journal of the previous schema is upgraded", () => {
    // A journal with data at schema version 2: the mix, then the version-3 objects dropped again.
    mix();
    const expected = journal.recountMetrics();
    journal.close();
    const v3 = new DatabaseSync(path);
    // (The later steps' own tables go too: they are created again on the way up.)
    v3.exec("DROP TABLE channel_claims; DROP TABLE channel_vouchers; DROP TABLE channel_jobs");
    v3.exec("DROP TABLE journal_counters; DROP TABLE watched_logs; PRAGMA user_version = 2");
    for (const row of v3.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()) v3.exec(`DROP TRIGGER ${String(row.name)}`);
    v3.close();
    journal = Journal.open(path);
    expect(journal.pragmas().userVersion).to.equal(MIGRATIONS.length);
    expect(journal.metrics()).to.deep.equal(expected);
  });

  it("a version-3 journal gains the given_back state with its rows, references and counters intact", () => {
    journal.close();
    const v3path = join(dir, "v3.sqlite");
    const db = new DatabaseSync(v3path);
    db.exec("PRAGMA foreign_keys = ON");
    applyMigrations(db, MIGRATIONS.slice(0, 3));
    db.exec(`INSERT INTO jobs (job_id, state, model, client, max_units_milli, rate, deadline, input_hash, prompt, created_block, created_tx_hash, seen_at, updated_at)
      VALUES ('7', 'seen', 'llama3.2', '${PROVIDER}', '1000', '1', 5000, '${hash32("in", 7)}', X'68690a', 3, '${hash32("tx", 7)}', 1, 1),
             ('8', 'seen', 'llama3.2', '${PROVIDER}', '1000', '1', 5000, '${hash32("in", 8)}', X'6869', 3, '${hash32("tx", 8)}', 1, 1)`);
    db.exec(`INSERT INTO results (job_id, body, content_type, result_hash, created_at) VALUES ('8', X'6f6b', 'text/plain', '${hash32("r", 8)}', 2)`);
    expect(() => db.exec("UPDATE jobs SET state = 'given_back' WHERE job_id = '7'")).to.throw(/CHECK/);
    db.close();
    journal = Journal.open(v3path);
    expect(journal.pragmas()).to.include({ userVersion: MIGRATIONS.length, foreignKeys: 1, integrity: "ok" });
    expect(journal.getResult(8n)?.body).to.deep.equal(new Uint8Array([0x6f, 0x6b]));
    expect(journal.jobs.prompt(7n)).to.deep.equal(new Uint8Array([0x68, 0x69, 0x0a]));
    journal.jobs.applyEvent(7n, { type: "accept", txHash: hash32("acc", 7) }, 3);
    journal.jobs.applyEvent(7n, { type: "give_back", code: "RUNTIME_UNAVAILABLE", message: "down" }, 4);
    const m = journal.metrics();
    expect(m.jobsByState).to.deep.include({ given_back: 1, seen: 1 });
    expect(m).to.deep.equal(journal.recountMetrics());
    expect(journal.getJob(7n)?.failure).to.deep.equal({ code: "RUNTIME_UNAVAILABLE", message: "down" });
  });
});
