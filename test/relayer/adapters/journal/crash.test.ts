import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { Journal } from "../../../../relayer/adapters/journal/journal.js";

const WRITER = fileURLToPath(new URL("../../../fixtures/relayer/journal/crash-writer.ts", import.meta.url));
const TSX = import.meta.resolve("tsx/esm");

interface Run {
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the writer; with `killAfterLines`, SIGKILLs it after that many committed steps plus a random delay. */
function runWriter(path: string, mode: "run" | "drain", killAfterLines?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--import", TSX, WRITER, path, mode], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let buffer = "";
    let stderr = "";
    let armed = killAfterLines !== undefined;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      lines.push(...parts);
      if (armed && lines.length >= (killAfterLines as number)) {
        armed = false;
        setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 15));
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL" && code !== 0) reject(new Error(`writer exited ${code}: ${stderr}`));
      else resolve({ lines, code, signal });
    });
  });
}

describe("relayer/adapters/journal: kill -9 crash safety", function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "aitbc-crash-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("after repeated SIGKILLs mid-write: nothing lost, nothing signed twice, no partial rows", async () => {
    const path = join(dir, "journal.sqlite");
    const reportedSigned = new Set<string>();
    const reportedBatches = new Set<string>();
    const resigns: string[] = [];
    let resumed = 0;
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const run = await runWriter(path, "run", 20 + Math.floor(Math.random() * 60));
      expect(run.signal, "the writer was killed, not finished").to.equal("SIGKILL");
      kills++;
      for (const line of run.lines) {
        const [kind, id, extra] = line.split(" ");
        if (kind === "signed") {
          expect(reportedSigned.has(id), `job ${id} signed twice`).to.equal(false);
          reportedSigned.add(id);
        }
        if (kind === "batched") reportedBatches.add(id);
        if (kind === "resigned") resigns.push(extra);
        if (kind === "resumed") resumed += Number(id);
      }
    }
    const drain = await runWriter(path, "drain");
    expect(drain.code).to.equal(0);
    for (const line of drain.lines) {
      const [kind, id, extra] = line.split(" ");
      if (kind === "resigned") resigns.push(extra);
      if (kind === "resumed") resumed += Number(id);
    }
    // Kills land while jobs are half-way (seen … done); the restarts found and finished them.
    expect(resumed, "some kill interrupted a job mid-way").to.be.greaterThan(0);
    expect(kills).to.equal(6);
    expect(reportedSigned.size).to.be.greaterThan(20);
    expect(resigns.length, "every restart re-signed a signed job").to.be.greaterThan(0);
    expect(resigns.every((inserted) => inserted === "false"), "re-signing never inserted a second receipt").to.equal(true);

    const journal = Journal.open(path);
    expect(journal.pragmas().integrity).to.equal("ok");
    // Everything the writer reported as committed survived.
    for (const id of reportedSigned) expect(journal.receipts.forJob(BigInt(id)), `receipt of job ${id}`).to.not.equal(null);
    for (const id of reportedBatches) expect(journal.batches.get(Number(id)), `batch ${id}`).to.not.equal(null);
    // The drain run finished every job it found: nothing is stuck half-way.
    const m = journal.metrics();
    expect(m.jobsByState.seen + m.jobsByState.accepted + m.jobsByState.running + m.jobsByState.done).to.equal(0);
    expect(m.jobsByState.signed).to.equal(0);
    journal.close();

    // Cross-table consistency, checked with plain SQL so the journal's own code is not the judge.
    const db = new DatabaseSync(path, { readOnly: true });
    const one = (sql: string) => Object.values(db.prepare(sql).get() as Record<string, unknown>)[0];
    expect(one("SELECT COUNT(*) FROM jobs WHERE state = 'batched'")).to.equal(one("SELECT COUNT(*) FROM jobs"));
    expect(one("SELECT COUNT(*) FROM receipts")).to.equal(one("SELECT COUNT(*) FROM jobs"));
    expect(one("SELECT COUNT(*) FROM results")).to.equal(one("SELECT COUNT(*) FROM jobs"));
    expect(one("SELECT COUNT(*) FROM jobs j JOIN receipts r ON r.job_id = j.job_id WHERE j.receipt_id IS NOT r.receipt_id OR j.batch_id IS NOT r.batch_id")).to.equal(0);
    expect(one("SELECT COUNT(*) FROM (SELECT receipt_hash FROM receipts GROUP BY receipt_hash HAVING COUNT(*) > 1)")).to.equal(0);
    expect(one("SELECT COUNT(*) FROM batches b WHERE item_count <> (SELECT COUNT(*) FROM batch_items i WHERE i.batch_id = b.batch_id)")).to.equal(0);
    expect(one("SELECT COUNT(*) FROM (SELECT receipt_id FROM batch_items GROUP BY receipt_id HAVING COUNT(*) > 1)")).to.equal(0);
    expect(one("SELECT COUNT(*) FROM jobs WHERE run_attempts < 1")).to.equal(0);
    // Blocks form an unbroken chain: the watcher's cursor never skipped or repeated a block.
    expect(one("SELECT COUNT(*) FROM processed_blocks")).to.equal(one("SELECT MAX(number) - MIN(number) + 1 FROM processed_blocks"));
    expect(one("SELECT COUNT(*) FROM jobs")).to.equal(Number(one("SELECT MAX(number) FROM processed_blocks")) * 2);
    db.close();
  });
});
