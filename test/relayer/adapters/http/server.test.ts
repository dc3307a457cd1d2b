import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { pino } from "pino";

import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { createApiServer, splitRefusal, type ApiServer, type ProcessProbe } from "../../../../relayer/adapters/http/server.js";
import { parseOffer } from "../../../../lib/market/offer.js";
import { JOB_STATES } from "../../../../relayer/core/job-state.js";
import { CLIENT_A, CLIENT_B, hash32, origin, PROVIDER, receiptInput, seedSignedJob } from "../../../fixtures/relayer/journal/seed.js";

/** Minimal parser of the Prometheus text format, independent of the renderer. */
function parseMetrics(text: string) {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  expect(text.endsWith("\n")).to.equal(true);
  for (const line of text.trimEnd().split("\n")) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/))) help.set(m[1], m[2]);
    else if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) type.set(m[1], m[2]);
    else if ((m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/))) {
      const labels: Record<string, string> = {};
      for (const pair of (m[2] ?? "").split(",").filter(Boolean)) {
        const lm = pair.match(/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/);
        expect(lm, `label ${pair}`).to.not.equal(null);
        labels[(lm as RegExpMatchArray)[1]] = (lm as RegExpMatchArray)[2];
      }
      expect(type.has(m[1]), `TYPE before sample ${m[1]}`).to.equal(true);
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    } else expect.fail(`unparseable line: ${line}`);
  }
  for (const name of type.keys()) expect(help.has(name), `HELP for ${name}`).to.equal(true);
  return { help, type, samples };
}

describe("relayer/adapters/http", () => {
  let dir: string;
  let journal: Journal;
  let api: ApiServer;
  let base: string;
  const probe = { errorsRecent: 0, errorsTotal: 4, up: true, head: 12 as number | null };
  const processProbe: ProcessProbe = {
    rpcErrorsRecent: () => probe.errorsRecent,
    rpcErrorsTotal: () => probe.errorsTotal,
    runtimeUp: () => probe.up,
    chainHead: () => probe.head,
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aitbc-http-"));
    journal = Journal.open(join(dir, "journal.sqlite"));
    journal.blocks.recordBlock({ number: 10, hash: hash32("b", 10), parentHash: hash32("b", 9) }, [], 1);
    for (let i = 1n; i <= 5n; i++) seedSignedJob(journal, i, 100 + Number(i), i === 5n ? CLIENT_B : CLIENT_A);
    const batchId = journal.batches.recordIntent(
      { root: hash32("root", 1), items: new Uint8Array(92), entries: [1n, 2n].map((id) => ({ receiptId: `rcpt-${id}`, proof: [hash32("p", id)] })) },
      200,
    );
    journal.batches.markConfirmed(batchId, { txHash: hash32("stx", 1), blockNumber: 9 }, 201);
    journal.jobs.recordSeen({ origin: origin(6n), prompt: null }, 300);
    api = createApiServer({
      source: journal,
      probe: processProbe,
      health: { maxRecentRpcErrors: 3, maxJournalLagBlocks: 5 },
      logger: pino({ level: "silent" }),
      maxLimit: 100,
    });
    const address = await api.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await api.close();
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function getJson(path: string, status = 200) {
    const res = await fetch(base + path);
    expect(res.status, `${path}: ${res.status}`).to.equal(status);
    expect(res.headers.get("access-control-allow-origin")).to.equal("*");
    return { res, text: await res.text() };
  }

  async function expectError(path: string, status: number, code: string) {
    const { res, text } = await getJson(path, status);
    expect(res.headers.get("content-type")).to.match(/^application\/json/);
    const body = JSON.parse(text) as { error: { code: string; message: string; hint: string } };
    expect(body.error.code, path).to.equal(code);
    expect(body.error.message).to.be.a("string").and.not.equal("");
    expect(body.error.hint).to.be.a("string").and.not.equal("");
  }

  describe("receipts", () => {
    it("lists a client's receipts newest first and pages with the cursor", async () => {
      const first = JSON.parse((await getJson(`/api/v1/receipts?client=${CLIENT_A}&limit=3`)).text);
      expect(first.items.map((r: { receipt_id: string }) => r.receipt_id)).to.deep.equal(["rcpt-4", "rcpt-3", "rcpt-2"]);
      expect(first.items[0]).to.deep.include({ job_id: "4", client: CLIENT_A, provider: PROVIDER, units_milli: "2500", batch_id: null });
      const second = JSON.parse((await getJson(`/api/v1/receipts?client=${CLIENT_A}&limit=3&cursor=${first.next_cursor}`)).text);
      expect(second.items.map((r: { receipt_id: string }) => r.receipt_id)).to.deep.equal(["rcpt-1"]);
      expect(second.next_cursor).to.equal(null);
      const byProvider = JSON.parse((await getJson(`/api/v1/receipts?provider=${PROVIDER}`)).text);
      expect(byProvider.items).to.have.length(5);
    });

    it("serves the signed document verbatim, number lexemes included", async () => {
      const { text } = await getJson("/api/v1/receipts?client=" + CLIENT_B);
      expect(text).to.contain(`"receipt":${receiptInput(5n, CLIENT_B).json}`);
    });

    it("serves one receipt with its Merkle proof and batch", async () => {
      const { text } = await getJson("/api/v1/receipts/rcpt-2");
      expect(text).to.contain(`"receipt":${receiptInput(2n).json}`);
      const body = JSON.parse(text);
      expect(body.proof).to.deep.equal([hash32("p", 2n)]);
      expect(body.batch).to.deep.include({ root: hash32("root", 1), status: "confirmed", tx_hash: hash32("stx", 1), block_number: 9, item_count: 2 });
      const unbatched = JSON.parse((await getJson("/api/v1/receipts/rcpt-3")).text);
      expect([unbatched.batch, unbatched.proof]).to.deep.equal([null, null]);
    });

    it("rejects bad input with a 4xx and a code", async () => {
      await expectError("/api/v1/receipts?client=0x1234", 400, "HTTP_INVALID_ADDRESS");
      await expectError(`/api/v1/receipts?provider=0x${"Ab".repeat(20)}`, 400, "HTTP_INVALID_ADDRESS");
      await expectError("/api/v1/receipts?limit=0", 400, "HTTP_INVALID_LIMIT");
      await expectError("/api/v1/receipts?limit=101", 400, "HTTP_INVALID_LIMIT");
      await expectError("/api/v1/receipts?limit=abc", 400, "HTTP_INVALID_LIMIT");
      await expectError("/api/v1/receipts?cursor=garbage!", 400, "HTTP_INVALID_CURSOR");
      const c = JSON.parse((await getJson(`/api/v1/receipts?client=${CLIENT_A}&limit=1`)).text).next_cursor;
      await expectError(`/api/v1/receipts?client=${CLIENT_B}&cursor=${c}`, 400, "HTTP_INVALID_CURSOR");
      await expectError("/api/v1/receipts?clinet=x", 400, "HTTP_UNKNOWN_PARAMETER");
      await expectError("/api/v1/receipts?limit=1&limit=2", 400, "HTTP_UNKNOWN_PARAMETER");
      await expectError("/api/v1/receipts/nope", 404, "HTTP_RECEIPT_NOT_FOUND");
      await expectError("/api/v1/receipts/%20bad%20", 400, "HTTP_INVALID_RECEIPT_ID");
    });

    it("accepts an EIP-55 checksummed address", async () => {
      // keccak-derived checksum of 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed (EIP-55 test vector)
      await getJson("/api/v1/receipts?client=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
      await expectError("/api/v1/receipts?client=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", 400, "HTTP_INVALID_ADDRESS");
    });
  });

  describe("jobs and results", () => {
    it("serves a job with amounts as decimal strings", async () => {
      const job = JSON.parse((await getJson("/api/v1/jobs/1")).text);
      expect(job).to.deep.include({ job_id: "1", state: "settled", max_units_milli: "10000", rate: "2000000000000000000", units_milli: "2500", receipt_id: "rcpt-1", settle_block: 9 });
    });

    it("serves the result bytes with their hash", async () => {
      const { res, text } = await getJson("/api/v1/jobs/3/result");
      expect(text).to.equal("result of 3");
      expect(res.headers.get("content-type")).to.equal("text/plain; charset=utf-8");
      expect(res.headers.get("x-result-hash")).to.equal(hash32("res", 3n));
    });

    it("rejects unknown or malformed ids, and results not yet produced", async () => {
      await expectError("/api/v1/jobs/99", 404, "HTTP_JOB_NOT_FOUND");
      await expectError("/api/v1/jobs/99/result", 404, "HTTP_JOB_NOT_FOUND");
      await expectError("/api/v1/jobs/6/result", 409, "HTTP_RESULT_NOT_READY");
      for (const bad of ["abc", "-1", "01", "1.5", "0x10", "1".repeat(79), (1n << 256n).toString()]) {
        await expectError(`/api/v1/jobs/${bad}`, 400, "HTTP_INVALID_JOB_ID");
      }
      await expectError("/api/v1/jobs/1?x=1", 400, "HTTP_UNKNOWN_PARAMETER");
    });
  });

  describe("routing, methods and CORS", () => {
    it("unknown routes are 404, writes are 405, preflight is 204", async () => {
      await expectError("/api/v2/receipts", 404, "HTTP_ROUTE_NOT_FOUND");
      await expectError("/api/v1/jobs/1/result/extra", 404, "HTTP_ROUTE_NOT_FOUND");
      const post = await fetch(`${base}/api/v1/receipts`, { method: "POST", body: "{}" });
      expect(post.status).to.equal(405);
      expect(post.headers.get("allow")).to.equal("GET, HEAD, OPTIONS");
      expect((await post.json()).error.code).to.equal("HTTP_METHOD_NOT_ALLOWED");
      const pre = await fetch(`${base}/api/v1/receipts`, { method: "OPTIONS", headers: { origin: "http://dash.example", "access-control-request-method": "GET" } });
      expect(pre.status).to.equal(204);
      expect(pre.headers.get("access-control-allow-origin")).to.equal("*");
      expect(pre.headers.get("access-control-allow-methods")).to.contain("GET");
      const head = await fetch(`${base}/api/v1/jobs/1`, { method: "HEAD" });
      expect(head.status).to.equal(200);
      expect(await head.text()).to.equal("");
    });
  });

  describe("health and metrics", () => {
    afterEach(() => Object.assign(probe, { errorsRecent: 0, up: true, head: 12 }));

    it("reports ok, then degraded with every reason", async () => {
      expect(JSON.parse((await getJson("/health")).text)).to.deep.equal({ status: "ok", reasons: [], journal_block: 10, journal_lag_blocks: 2 });
      Object.assign(probe, { errorsRecent: 5, up: false, head: 40 });
      const h = JSON.parse((await getJson("/health")).text);
      expect(h.status).to.equal("degraded");
      expect(h.reasons.map((r: { code: string }) => r.code)).to.deep.equal(["RPC_ERRORS", "RUNTIME_DOWN", "JOURNAL_LAG"]);
    });

    it("exposes Prometheus text with HELP/TYPE for every family", async () => {
      Object.assign(probe, { up: false });
      const { res, text } = await getJson("/metrics");
      expect(res.headers.get("content-type")).to.equal("text/plain; version=0.0.4; charset=utf-8");
      const { type, samples } = parseMetrics(text);
      const value = (name: string, labels: Record<string, string> = {}) =>
        samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
      expect(value("aitbc_relayer_jobs", { state: "settled" })).to.equal(2);
      expect(value("aitbc_relayer_jobs", { state: "signed" })).to.equal(3);
      expect(value("aitbc_relayer_jobs", { state: "seen" })).to.equal(1);
      expect(samples.filter((s) => s.name === "aitbc_relayer_jobs")).to.have.length(JOB_STATES.length);
      expect(value("aitbc_relayer_gpu_seconds_total")).to.equal(12.5);
      expect(value("aitbc_relayer_receipts_signed_total")).to.equal(5);
      expect(value("aitbc_relayer_batches", { status: "confirmed" })).to.equal(1);
      expect(value("aitbc_relayer_tx_retries_total")).to.equal(0);
      expect(value("aitbc_relayer_rpc_errors_total")).to.equal(4);
      expect(value("aitbc_relayer_journal_block")).to.equal(10);
      expect(value("aitbc_relayer_degraded")).to.equal(1);
      expect(type.get("aitbc_relayer_gpu_seconds_total")).to.equal("counter");
      expect(type.get("aitbc_relayer_jobs")).to.equal("gauge");
    });
  });

  describe("offer", () => {
    it("is 404 HTTP_ROUTE_NOT_FOUND without terms; with terms it adds the /health assessment and the active jobs from the counters", async () => {
      await expectError("/api/v1/offer", 404, "HTTP_ROUTE_NOT_FOUND");
      const withOffer = createApiServer({
        source: journal,
        probe: processProbe,
        health: { maxRecentRpcErrors: 3, maxJournalLagBlocks: 5 },
        logger: pino({ level: "silent" }),
        offer: () => ({
          provider: PROVIDER,
          chainId: 31337n,
          escrow: `0x${"ee".repeat(20)}`,
          encryptionKey: new Uint8Array(32).fill(7),
          accepts: { public: true, private: true },
          models: [{ name: "llama3.2", minRate: 3n, maxUnitsMilli: 90_000n }],
          limits: { maxPromptBytes: 100, contextTokens: 2048, maxTokens: 16, deadlineMarginSeconds: 45, maxJobPrice: null },
          maxConcurrentJobs: 9,
        }),
      });
      try {
        expect(withOffer.respond("/api/v1/offer?x=1").status).to.equal(400);
        journal.jobs.recordSeen({ origin: origin(40n), prompt: new TextEncoder().encode("p") }, 400);
        journal.jobs.applyEvent(40n, { type: "accept", txHash: hash32("acc", 40) }, 400);
        const ok = parseOffer(String(withOffer.respond("/api/v1/offer").body));
        expect(ok.capacity).to.deep.equal({ maxConcurrentJobs: 9, activeJobs: journal.metrics().jobsByState.accepted + journal.metrics().jobsByState.running });
        expect(ok.capacity.activeJobs).to.be.greaterThan(0);
        expect(ok.models).to.deep.equal([{ name: "llama3.2", minRate: 3n, maxUnitsMilli: 90_000n }]);
        expect(ok.limits).to.deep.equal({ maxPromptBytes: 100, contextTokens: 2048, maxTokens: 16, deadlineMarginSeconds: 45, maxJobPrice: null });
        expect(ok.health).to.deep.equal({ status: "ok", reasons: [] });
        Object.assign(probe, { up: false });
        const degraded = parseOffer(String(withOffer.respond("/api/v1/offer").body));
        expect(degraded.health.status).to.equal("degraded");
        expect(degraded.health.reasons[0]).to.match(/^RUNTIME_DOWN: /);
      } finally {
        Object.assign(probe, { up: true });
        journal.jobs.applyEvent(40n, { type: "give_back", code: "RUNTIME_UNAVAILABLE", message: "down" }, 401);
      }
      const given = JSON.parse((await getJson("/api/v1/jobs/40")).text) as { state: string; private: boolean; failure: unknown; refusal: unknown; refusal_detail: unknown };
      expect(given).to.deep.include({ state: "given_back", private: false, failure: { code: "RUNTIME_UNAVAILABLE", message: "down" }, refusal: null, refusal_detail: null });
    });

    it("splits a journaled refusal into its code and its text", () => {
      expect(splitRefusal("UNITS_TOO_LARGE: maxUnitsMilli 9 exceeds 8")).to.deep.equal({ code: "UNITS_TOO_LARGE", detail: "maxUnitsMilli 9 exceeds 8" });
      expect(splitRefusal("CANCELLED by the client")).to.deep.equal({ code: "CANCELLED", detail: "by the client" });
      expect(splitRefusal("PROMPT_TOO_LONG")).to.deep.equal({ code: "PROMPT_TOO_LONG", detail: null });
      expect(splitRefusal(null)).to.deep.equal({ code: null, detail: null });
    });
  });

  it("a failing data source gives a 500 with a generic body, not a stack trace", async () => {
    const broken = createApiServer({
      source: { metrics: () => journal.metrics(), listReceipts: () => { throw new Error("disk on fire"); }, getReceipt: () => null, getJob: () => null, getResult: () => null },
      probe: processProbe,
      health: { maxRecentRpcErrors: 3, maxJournalLagBlocks: 5 },
      logger: pino({ level: "silent" }),
    });
    const address = await broken.listen(0, "127.0.0.1");
    try {
      const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/receipts`);
      expect(res.status).to.equal(500);
      const text = await res.text();
      expect(JSON.parse(text).error.code).to.equal("HTTP_INTERNAL");
      expect(text).to.not.contain("disk on fire");
    } finally {
      await broken.close();
    }
  });
});
