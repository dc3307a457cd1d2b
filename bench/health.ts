/**
 * `/health` and `/metrics` at 1M journaled jobs: both answer from the journal's counters, never by a scan.
 *
 *   node --import tsx bench/health.ts       (part of `npm run bench:e2e`)
 *
 * A temporary journal is created through the journal's own schema, then filled by bulk SQL inserts (the counters'
 * triggers fire for every row, as they do in the relayer): AITBC_BENCH_HEALTH_JOBS jobs (default 1,000,000) spread
 * over every state, a receipt for each signed-or-later job, one batch per 256 receipts, a settle transaction per
 * batch. The two handlers are timed through the API server's own routing (`respond`), and the full recount the
 * endpoints used to do is timed next to them.
 *
 * Environment: AITBC_BENCH_HEALTH_JOBS, AITBC_BENCH_HEALTH_OUT (default bench/results/health.json).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

import { pino } from "pino";

import { createApiServer } from "../relayer/adapters/http/server.js";
import { Journal } from "../relayer/adapters/journal/journal.js";
import { JOB_STATES } from "../relayer/core/job-state.js";

const JOBS = Number(process.env.AITBC_BENCH_HEALTH_JOBS ?? 1_000_000);
const OUT = process.env.AITBC_BENCH_HEALTH_OUT ?? path.join("bench", "results", "health.json");
const CALLS = 2_000;

/** Fills `file` (a journal at the newest schema) with `jobs` jobs in one transaction. */
function generate(file: string, jobs: number): void {
  const db = new DatabaseSync(file);
  db.exec("PRAGMA synchronous = OFF");
  db.exec("BEGIN");
  const states = JOB_STATES.map((s) => `'${s}'`).join(",");
  // Job i has state JOB_STATES[i % 11]; jobs from 'signed' on carry units, a receipt, and (from 'batched') a batch.
  db.exec(`
    CREATE TEMP TABLE st (k INTEGER PRIMARY KEY, state TEXT);
    INSERT INTO st (k, state) SELECT key, value FROM json_each('[${states.replace(/'/g, '"')}]');
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${jobs})
    INSERT INTO jobs (job_id, state, model, client, max_units_milli, rate, deadline, input_hash, created_block, created_tx_hash,
                      units_milli, result_hash, seen_at, updated_at)
    SELECT i, st.state, 'llama3.2', printf('0x%040x', i % 256), '10000', '2000000000000000000', 4000000000, printf('0x%064x', i),
           i / 100, printf('0x%064x', i),
           CASE WHEN st.state IN ('done','signed','batched','settled','finalized') THEN '2500' END,
           CASE WHEN st.state IN ('done','signed','batched','settled','finalized') THEN printf('0x%064x', i) END,
           1700000000 + i / 500, 1700000000 + i / 500
    FROM n JOIN st ON st.k = i % ${JOB_STATES.length};
    INSERT INTO receipts (receipt_id, receipt_hash, leaf_hash, job_id, client, provider, units_milli, price_base, json, signed_at)
    SELECT 'rcpt-' || job_id, printf('%064x', CAST(job_id AS INTEGER)), printf('0x%064x', CAST(job_id AS INTEGER)), job_id, client,
           '0x${"aa".repeat(20)}', '2500', '5000000000000000000', '{}', updated_at
    FROM jobs WHERE state IN ('signed','batched','settled','finalized');
    INSERT INTO transactions (purpose, ref, to_address, data, value, status, created_at, updated_at)
    SELECT 'settle', 'batch-' || (rowid / 256), '0x${"bb".repeat(20)}', '0x', '0', 'confirmed', 1700000000, 1700000000
    FROM receipts WHERE rowid % 256 = 0;
    INSERT INTO batches (root, items, item_count, status, tx_id, created_at, updated_at)
    SELECT printf('0x%064x', tx_id), x'00', 256, 'finalized', tx_id, 1700000000, 1700000000 FROM transactions;
    INSERT INTO processed_blocks (number, hash, parent_hash, processed_at) VALUES (${Math.floor(jobs / 100)}, '0x${"cd".repeat(32)}', '0x${"ce".repeat(32)}', 1700000000);
  `);
  db.exec("COMMIT");
  db.close();
}

function timeCalls(fn: () => unknown, calls: number): { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number } {
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  out.sort((a, b) => a - b);
  const q = (p: number) => out[Math.min(out.length - 1, Math.floor(p * out.length))];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50Ms: round(q(0.5)), p99Ms: round(q(0.99)), maxMs: round(out[out.length - 1]), meanMs: round(out.reduce((a, b) => a + b, 0) / out.length) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "aitbc-bench-health-"));
  const file = path.join(dir, "journal.sqlite");
  try {
    Journal.open(file).close();
    const t0 = Date.now();
    generate(file, JOBS);
    const generateS = (Date.now() - t0) / 1000;
    const journal = Journal.open(file);
    const api = createApiServer({
      source: journal,
      probe: { rpcErrorsRecent: () => 0, rpcErrorsTotal: () => 0, runtimeUp: () => true, chainHead: () => Math.floor(JOBS / 100) + 2 },
      health: { maxRecentRpcErrors: 5, maxJournalLagBlocks: 10 },
      logger: pino({ level: "silent" }),
    });
    const m = journal.metrics();
    const recount = journal.recountMetrics();
    const total = Object.values(m.jobsByState).reduce((a, b) => a + b, 0);
    if (JSON.stringify(m) !== JSON.stringify(recount) || total !== JOBS) {
      throw new Error(`counters disagree with the recount: ${JSON.stringify(m)} vs ${JSON.stringify(recount)}`);
    }
    for (const p of ["/health", "/metrics"]) if (api.respond(p).status !== 200) throw new Error(`${p} did not answer 200`);
    const health = timeCalls(() => api.respond("/health"), CALLS);
    const metrics = timeCalls(() => api.respond("/metrics"), CALLS);
    const scan = timeCalls(() => journal.recountMetrics(), 5);
    journal.close();
    const result = {
      // Top-level numbers are the figures bench/report.ts compares; the set-up is nested.
      health_p50_ms: health.p50Ms,
      health_p99_ms: health.p99Ms,
      metrics_p50_ms: metrics.p50Ms,
      metrics_p99_ms: metrics.p99Ms,
      full_recount_ms: scan.p50Ms,
      setup: {
        jobs: total,
        receipts: m.receiptsSigned,
        batches: Object.values(m.batchesByStatus).reduce((a, b) => a + b, 0),
        generateSeconds: generateS,
        calls: CALLS,
        goalMs: 1,
        meetsGoal: health.p99Ms < 1 && metrics.p99Ms < 1,
      },
      health,
      metrics,
      fullRecount: scan,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version, note: "shared, loaded machine" },
      measuredAt: new Date().toISOString(),
    };
    console.log(`journal: ${result.setup.jobs} jobs, ${result.setup.receipts} receipts, ${result.setup.batches} batches (generated in ${generateS.toFixed(1)} s)`);
    console.log(`/health  p50 ${health.p50Ms} ms  p99 ${health.p99Ms} ms  max ${health.maxMs} ms  (${CALLS} calls)`);
    console.log(`/metrics p50 ${metrics.p50Ms} ms  p99 ${metrics.p99Ms} ms  max ${metrics.maxMs} ms  (${CALLS} calls)`);
    console.log(`full recount (what both endpoints did before): p50 ${scan.p50Ms} ms`);
    await mkdir(path.dirname(OUT), { recursive: true });
    await writeFile(`${OUT}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    await rename(`${OUT}.tmp`, OUT);
    console.log(`wrote ${OUT}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
