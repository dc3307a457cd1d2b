import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ChainError, type ChainErrorCode } from "../../../../relayer/adapters/chain/errors.js";
import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { applyMigrations, MIGRATIONS, type Migration } from "../../../../relayer/adapters/journal/schema.js";
import { isRelayerError, type RelayerErrorCode } from "../../../../relayer/core/errors.js";
import { JOB_STATES } from "../../../../relayer/core/job-state.js";
import { CLIENT_A, CLIENT_B, hash32, origin, PROVIDER, receiptInput, seedSignedJob } from "../../../fixtures/relayer/journal/seed.js";

function expectCode(fn: () => unknown, code: RelayerErrorCode | ChainErrorCode): void {
  try {
    fn();
  } catch (error) {
    const matches = isRelayerError(error, code as RelayerErrorCode) || (error instanceof ChainError && error.code === code);
    expect(matches, `expected ${code}, got ${String(error)}`).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("relayer/adapters/journal", () => {
  let dir: string;
  let path: string;
  let journal: Journal;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "aitbc-journal-"));
    path = join(dir, "journal.sqlite");
    journal = Journal.open(path);
  });
  afterEach(() => {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("durability settings and migrations", () => {
    it("runs in WAL mode with synchronous=FULL and foreign keys on, at the newest schema", () => {
      expect(journal.pragmas()).to.deep.equal({
        journalMode: "wal",
        synchronous: 2,
        foreignKeys: 1,
        userVersion: MIGRATIONS.length,
        integrity: "ok",
      });
    });

    it("reopening an up-to-date journal applies nothing and keeps the data", () => {
      seedSignedJob(journal, 1n, 100);
      journal.close();
      journal = Journal.open(path);
      expect(journal.getJob(1n)?.state).to.equal("signed");
      expect(journal.pragmas().synchronous).to.equal(2);
    });

    it("refuses a journal written by a newer relayer", () => {
      journal.close();
      const db = new DatabaseSync(path);
      db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
      db.close();
      expectCode(() => (journal = Journal.open(path)), "JOURNAL_SCHEMA_TOO_NEW");
      journal = Journal.open(join(dir, "other.sqlite"));
    });

    it("applies only missing steps, each with its version, and a failing step leaves the previous version", () => {
      const db = new DatabaseSync(join(dir, "m.sqlite"));
      const steps: Migration[] = [
        { version: 1, description: "a", sql: "CREATE TABLE a (x INTEGER)" },
        { version: 2, description: "b", sql: "CREATE TABLE b (x INTEGER)" },
      ];
      expect(applyMigrations(db, steps.slice(0, 1))).to.deep.equal([1]);
      expect(applyMigrations(db, steps)).to.deep.equal([2]);
      expect(applyMigrations(db, steps)).to.deep.equal([]);
      const broken: Migration[] = [...steps, { version: 3, description: "c", sql: "CREATE TABLE c (x INTEGER); CREATE TABLE a (y)" }];
      expectCode(() => applyMigrations(db, broken), "JOURNAL_MIGRATION_FAILED");
      expect((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version).to.equal(2);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get()).to.equal(undefined);
      expectCode(() => applyMigrations(db, [{ version: 2, description: "gap", sql: "" }]), "JOURNAL_MIGRATION_FAILED");
      db.close();
    });
  });

  describe("block cursor", () => {
    const block = (n: number, tag = "") => ({ number: n, hash: hash32(`b${tag}`, n), parentHash: hash32(`b${tag}`, n - 1) });

    it("records blocks with their jobs atomically and skips jobs already known", () => {
      expect(journal.blocks.position()).to.equal(null);
      expect(journal.blocks.recordBlock(block(10), [{ origin: origin(1n), prompt: new Uint8Array([104, 105]) }], 5)).to.deep.equal([1n]);
      expect(journal.blocks.recordBlock(block(11), [{ origin: origin(1n), prompt: null }, { origin: origin(2n), prompt: null }], 6)).to.deep.equal([2n]);
      expect(journal.blocks.position()).to.deep.equal({ blockNumber: 11, blockHash: block(11).hash });
      expect(journal.jobs.prompt(1n)).to.deep.equal(new Uint8Array([104, 105]));
      expect(journal.getJob(2n)?.state).to.equal("seen");
    });

    it("detects a block that does not extend the cursor, and a rewind lets the new fork in", () => {
      journal.blocks.recordBlock(block(10), [], 1);
      journal.blocks.recordBlock(block(11), [], 1);
      expectCode(() => journal.blocks.recordBlock(block(12, "fork"), [{ origin: origin(9n), prompt: null }], 1), "JOURNAL_BLOCK_CONFLICT");
      expect(journal.getJob(9n), "nothing of the refused block was written").to.equal(null);
      expectCode(() => journal.blocks.recordBlock(block(13), [], 1), "JOURNAL_BLOCK_CONFLICT");
      // Re-processing a block already recorded with the same hash is harmless.
      expect(journal.blocks.recordBlock(block(11), [], 1)).to.deep.equal([]);
      expect(journal.blocks.rewindTo(10)).to.equal(1);
      journal.blocks.recordBlock({ number: 11, hash: hash32("b2", 11), parentHash: block(10).hash }, [], 1);
      expect(journal.blocks.position()).to.deep.equal({ blockNumber: 11, blockHash: hash32("b2", 11) });
    });

    it("prunes blocks older than the keep window", () => {
      journal.close();
      journal = Journal.open(path, { keepBlocks: 3 });
      for (let n = 1; n <= 6; n++) journal.blocks.recordBlock(block(n), [], 1);
      // Blocks 4..6 are kept; 1..3 are gone.
      expect(journal.blocks.rewindTo(3)).to.equal(3);
      expect(journal.blocks.rewindTo(0)).to.equal(0);
    });
  });

  describe("jobs, results and receipts", () => {
    it("stores the job's resume data and its result with the done transition", () => {
      seedSignedJob(journal, 5n, 100);
      const job = journal.getJob(5n);
      expect(job).to.deep.include({ state: "signed", acceptTxHash: hash32("acc", 5n), runAttempts: 1, unitsMilli: 2_500n, receiptId: "rcpt-5" });
      expect(job?.maxUnitsMilli).to.equal(10_000n);
      expect(journal.getResult(5n)).to.deep.include({ contentType: "text/plain; charset=utf-8", resultHash: hash32("res", 5n) });
      expect(new TextDecoder().decode(journal.getResult(5n)?.body)).to.equal("result of 5");
      expect(journal.getJob(6n)).to.equal(null);
      expect(journal.getResult(6n)).to.equal(null);
    });

    it("illegal transitions leave the journal unchanged", () => {
      journal.jobs.recordSeen({ origin: origin(1n), prompt: null }, 1);
      expectCode(() => journal.jobs.applyEvent(1n, { type: "start" }, 2), "RELAYER_ILLEGAL_TRANSITION");
      expectCode(
        () => journal.jobs.recordDone(1n, { unitsMilli: 1n, resultHash: hash32("r", 1), startedAt: 1, completedAt: 2 }, { body: new Uint8Array(), contentType: "x" }, 2),
        "RELAYER_ILLEGAL_TRANSITION",
      );
      expect(journal.getResult(1n)).to.equal(null);
      expect(journal.getJob(1n)?.updatedAt).to.equal(1);
      expectCode(() => journal.jobs.applyEvent(77n, { type: "expire" }, 2), "JOURNAL_JOB_NOT_FOUND");
    });

    it("a receipt insert is idempotent by receipt id: re-signing returns the stored document", () => {
      seedSignedJob(journal, 1n, 100);
      const again = journal.receipts.record({ ...receiptInput(1n), json: '{"different":true}' }, 200);
      expect(again.inserted).to.equal(false);
      expect(again.receipt.json).to.equal(receiptInput(1n).json);
      expect(again.receipt.signedAt).to.equal(100);
      expect(journal.metrics().receiptsSigned).to.equal(1);
    });

    it("refuses a second receipt id for a job, and a hash or leaf reused by another receipt", () => {
      seedSignedJob(journal, 1n, 100);
      expectCode(() => journal.receipts.record({ ...receiptInput(1n), receiptId: "other" }, 1), "JOURNAL_RECEIPT_CONFLICT");
      expectCode(() => journal.receipts.record({ ...receiptInput(1n), jobId: 2n }, 1), "JOURNAL_RECEIPT_CONFLICT");
      seedSignedJob(journal, 2n, 100);
      journal.jobs.recordSeen({ origin: origin(3n), prompt: null }, 1);
      journal.jobs.applyEvent(3n, { type: "accept", txHash: hash32("a", 3) }, 1);
      journal.jobs.applyEvent(3n, { type: "start" }, 1);
      journal.jobs.recordDone(3n, { unitsMilli: 5n, resultHash: hash32("r", 3), startedAt: 1, completedAt: 1 }, { body: new Uint8Array([1]), contentType: "x" }, 1);
      expectCode(() => journal.receipts.record({ ...receiptInput(3n), receiptHash: receiptInput(2n).receiptHash }, 1), "JOURNAL_RECEIPT_CONFLICT");
      expectCode(() => journal.receipts.record({ ...receiptInput(3n), leafHash: receiptInput(2n).leafHash }, 1), "JOURNAL_RECEIPT_CONFLICT");
      expect(journal.getJob(3n)?.state, "the failed insert rolled back the transition").to.equal("done");
      expect(journal.receipts.record(receiptInput(3n), 1).inserted).to.equal(true);
    });

    it("keeps the signed document byte for byte", () => {
      seedSignedJob(journal, 1n, 100);
      expect(journal.receipts.get("rcpt-1")?.json).to.equal(receiptInput(1n).json);
      expect(journal.receipts.forJob(1n)?.receiptId).to.equal("rcpt-1");
    });
  });

  describe("pagination", () => {
    it("pages newest first with a stable keyset cursor, per client and per provider", () => {
      // Ties on signed_at are broken by receipt id.
      for (let i = 1n; i <= 7n; i++) seedSignedJob(journal, i, 100 + Number(i / 2n), i % 2n === 0n ? CLIENT_B : CLIENT_A);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = journal.listReceipts({ provider: PROVIDER, limit: 3, cursor });
        expect(page.items.length).to.be.at.most(3);
        seen.push(...page.items.map((r) => r.receiptId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen).to.deep.equal(["rcpt-7", "rcpt-6", "rcpt-5", "rcpt-4", "rcpt-3", "rcpt-2", "rcpt-1"]);

      const a = journal.listReceipts({ client: CLIENT_A.toUpperCase().replace("0X", "0x"), limit: 10 });
      expect(a.items.map((r) => r.receiptId)).to.deep.equal(["rcpt-7", "rcpt-5", "rcpt-3", "rcpt-1"]);
      expect(a.nextCursor).to.equal(null);
      expect(journal.listReceipts({ client: `0x${"99".repeat(20)}`, limit: 10 }).items).to.deep.equal([]);
    });

    it("an exact multiple of the limit ends without an empty extra page", () => {
      for (let i = 1n; i <= 4n; i++) seedSignedJob(journal, i, 100);
      const first = journal.listReceipts({ limit: 2 });
      const second = journal.listReceipts({ limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items).to.have.length(2);
      expect(second.nextCursor).to.equal(null);
    });

    it("new receipts arriving between pages neither repeat nor skip older ones", () => {
      for (let i = 1n; i <= 4n; i++) seedSignedJob(journal, i, 100 + Number(i));
      const first = journal.listReceipts({ limit: 2 });
      seedSignedJob(journal, 9n, 500);
      const second = journal.listReceipts({ limit: 2, cursor: first.nextCursor ?? undefined });
      expect([...first.items, ...second.items].map((r) => r.receiptId)).to.deep.equal(["rcpt-4", "rcpt-3", "rcpt-2", "rcpt-1"]);
    });

    it("refuses forged cursors and cursors issued for another filter", () => {
      for (let i = 1n; i <= 3n; i++) seedSignedJob(journal, i, 100);
      const c = journal.listReceipts({ client: CLIENT_A, limit: 1 }).nextCursor as string;
      expectCode(() => journal.listReceipts({ client: CLIENT_B, limit: 1, cursor: c }), "JOURNAL_BAD_CURSOR");
      for (const bad of ["", "!!!", "e30", Buffer.from('[1,"x","y",""]').toString("base64url"), "a".repeat(600)]) {
        expectCode(() => journal.listReceipts({ limit: 1, cursor: bad }), "JOURNAL_BAD_CURSOR");
      }
    });
  });

  describe("batches and transactions", () => {
    function batchOf(ids: bigint[]) {
      return journal.batches.recordIntent(
        { root: hash32("root", ids[0]), items: new Uint8Array(46 * ids.length), entries: ids.map((id) => ({ receiptId: `rcpt-${id}`, proof: [hash32("p", id)] })) },
        200,
      );
    }

    it("a batch intent moves jobs to batched with proofs; confirmation settles; a reorg and finality follow the table", () => {
      for (const id of [1n, 2n]) seedSignedJob(journal, id, 100);
      const b = batchOf([1n, 2n]);
      expect(journal.getJob(1n)).to.deep.include({ state: "batched", batchId: b });
      expect(journal.batches.items(b).map((i) => i.receiptId)).to.deep.equal(["rcpt-1", "rcpt-2"]);
      expect(journal.batches.calldataItems(b)).to.have.length(92);
      expect(journal.getReceipt("rcpt-2")).to.deep.include({ proof: [hash32("p", 2n)] });

      const txId = journal.transactions.createIntent({ purpose: "settle", key: String(b), to: PROVIDER, data: "0x", value: 0n, gasLimit: null }, 201).id;
      journal.batches.attachTx(b, txId, 202);
      expect(journal.batches.get(b)).to.deep.include({ status: "sent", txId });
      journal.batches.markConfirmed(b, { txHash: hash32("stx", 1), blockNumber: 50 }, 203);
      expect(journal.getJob(2n)).to.deep.include({ state: "settled", settleBlock: 50 });
      expect(journal.getReceipt("rcpt-1")?.batch).to.deep.include({ status: "confirmed", txHash: hash32("stx", 1), blockNumber: 50 });

      journal.batches.markReorged(b, 204);
      expect(journal.getJob(1n)?.state).to.equal("batched");
      expect(journal.batches.get(b)).to.deep.include({ status: "sent", txHash: null });
      expectCode(() => journal.batches.markFinalized(b, 205), "JOURNAL_BATCH_STATE");
      journal.batches.markConfirmed(b, { txHash: hash32("stx", 2), blockNumber: 51 }, 206);
      journal.batches.markFinalized(b, 207);
      expect(journal.jobs.list(["finalized"]).map((j) => j.jobId)).to.deep.equal([1n, 2n]);
      expect(journal.metrics().batchesByStatus.finalized).to.equal(1);
    });

    it("a failed batch returns its jobs to signed, and the receipts can be batched again", () => {
      for (const id of [1n, 2n]) seedSignedJob(journal, id, 100);
      const b = batchOf([1n, 2n]);
      journal.batches.markFailed(b, "reverted", 210);
      expect(journal.getJob(1n)).to.deep.include({ state: "signed", batchId: null });
      expect(journal.getReceipt("rcpt-1")).to.deep.include({ batch: null, proof: null });
      expect(journal.receipts.listUnbatched().map((r) => r.receipt.receiptId)).to.deep.equal(["rcpt-1", "rcpt-2"]);
      const b2 = batchOf([2n, 1n]);
      expect(b2).to.not.equal(b);
      expect(journal.getReceipt("rcpt-1")?.batch?.batchId).to.equal(b2);
      expectCode(() => journal.batches.markFailed(b, "again", 211), "JOURNAL_BATCH_STATE");
    });

    it("a batch intent that names an unknown or unsigned receipt writes nothing", () => {
      seedSignedJob(journal, 1n, 100);
      expectCode(() => batchOf([1n, 8n]), "JOURNAL_BATCH_STATE");
      expect(journal.getJob(1n)?.state).to.equal("signed");
      expect(journal.batches.list(["intent"])).to.deep.equal([]);
      const b = batchOf([1n]);
      expectCode(() => batchOf([1n]), "RELAYER_ILLEGAL_TRANSITION");
      expectCode(() => journal.batches.recordIntent({ root: "0x", items: new Uint8Array(), entries: [] }, 1), "JOURNAL_BATCH_STATE");
      expectCode(() => journal.batches.markConfirmed(99, { txHash: hash32("x", 1), blockNumber: 1 }, 1), "JOURNAL_BATCH_NOT_FOUND");
      expect(journal.batches.list(["intent"]).map((x) => x.batchId)).to.deep.equal([b]);
    });

    it("attempts share one nonce, count as retries, and one live transaction holds a nonce", () => {
      const a = journal.transactions.createIntent({ purpose: "other", key: "a", to: PROVIDER, data: "0x", value: 1n, gasLimit: null }, 1).id;
      const b = journal.transactions.createIntent({ purpose: "other", key: "b", to: PROVIDER, data: "0x", value: 2n, gasLimit: null }, 1).id;
      const attempt = (hash: string, nonce: number, fee: bigint) => ({ hash, nonce, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, gasLimit: 21_000n, raw: "0x02", sentAt: 0 });
      journal.transactions.recordAttempt(a, attempt(hash32("h", 1), 7, 100n), 2);
      journal.transactions.recordAttempt(a, attempt(hash32("h", 2), 7, 113n), 3);
      expectCode(() => journal.transactions.recordAttempt(a, attempt(hash32("h", 3), 8, 200n), 3), "TX_STORE_STATE");
      expectCode(() => journal.transactions.recordAttempt(b, attempt(hash32("h", 4), 7, 100n), 3), "TX_STORE_STATE");
      expect(journal.transactions.get(b)?.status, "the refused attempt changed nothing").to.equal("intent");
      expect(journal.transactions.nextNonceHint()).to.equal(8);
      const open = journal.transactions.listOpen();
      expect(open.map((t) => t.id)).to.deep.equal([a, b]);
      expect(open[0].attempts.map((x) => x.maxFeePerGas)).to.deep.equal([100n, 113n]);
      expect(journal.metrics().txRetries).to.equal(1);

      journal.transactions.markMined(a, { hash: hash32("h", 2), blockNumber: 9 }, 4);
      journal.transactions.markUnmined(a, 5);
      journal.transactions.markMined(a, { hash: hash32("h", 2), blockNumber: 10 }, 6);
      journal.transactions.markConfirmed(a, 7);
      expect(journal.transactions.get(a)).to.deep.include({ status: "confirmed", minedBlock: 10 });
      expectCode(() => journal.transactions.markConfirmed(a, 8), "TX_STORE_STATE");
      expectCode(() => journal.transactions.recordAttempt(a, attempt(hash32("h", 5), 7, 300n), 8), "TX_STORE_STATE");
      expectCode(() => journal.transactions.markMined(99, { hash: hash32("h", 1), blockNumber: 1 }, 1), "TX_STORE_STATE");
      expect(journal.transactions.listOpen().map((t) => t.id)).to.deep.equal([b]);
    });
  });

  it("metrics count jobs by state, GPU time, receipts and batches", () => {
    seedSignedJob(journal, 1n, 100);
    seedSignedJob(journal, 2n, 100);
    journal.jobs.recordSeen({ origin: origin(3n), prompt: null }, 1);
    journal.jobs.applyEvent(3n, { type: "refuse", reason: "MODEL_NOT_SERVED" }, 1);
    const m = journal.metrics();
    expect(m.jobsByState).to.deep.include({ signed: 2, refused: 1, seen: 0 });
    expect(Object.keys(m.jobsByState)).to.have.length(JOB_STATES.length);
    expect(m.gpuMilliSecondsTotal).to.equal(5_000);
    expect(m.receiptsSigned).to.equal(2);
    expect(m.cursorBlock).to.equal(null);
  });

  it("a nested transaction that fails undoes only itself", () => {
    journal.transaction(() => {
      journal.jobs.recordSeen({ origin: origin(1n), prompt: null }, 1);
      expectCode(() => journal.jobs.applyEvent(1n, { type: "start" }, 2), "RELAYER_ILLEGAL_TRANSITION");
      journal.jobs.applyEvent(1n, { type: "expire" }, 3);
    });
    expect(journal.getJob(1n)?.state).to.equal("expired");
  });
});
