/**
 * The relayer protects its operator from ordinary mistakes and tells the truth about itself (in-process chain):
 * one relayer per journal and per provider, a journal that knows the chain it belongs to, no second receipt for a
 * job even with a lost journal, health that degrades within 5 s for each way of not working, and admission that
 * matches what the runtime and the batcher can finish.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";
import { pino } from "pino";

import { Eip1193Transport } from "../../../relayer/adapters/chain/rpc.js";
import { createRuntime } from "../../../relayer/adapters/runtimes/index.js";
import type { RunRequest, RunResult, Runtime, RuntimeInfo } from "../../../relayer/adapters/runtimes/types.js";
import { RuntimeError } from "../../../relayer/adapters/runtimes/types.js";
import { parseRelayerConfig, type RelayerConfigInput } from "../../../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../../../relayer/app/start.js";
import { isRelayerError, type RelayerErrorCode } from "../../../relayer/core/errors.js";
import type { HealthReason } from "../../../relayer/core/health.js";
import { JobEscrow__factory } from "../../../typechain-types/index.js";
import { FaultyTransport } from "../../fixtures/relayer/faults.js";
import { ScriptedRuntime } from "../../fixtures/relayer/system.js";
import { createJobs, deployForRelayer, type SystemFixture } from "../../../tools/relayer-fixture.js";
import { waitFor as waitUntil } from "../../fixtures/wait.js";

const waitFor = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => waitUntil(what, check, timeoutMs);

const STATUS_OPEN = 1n;
const STATUS_ACCEPTED = 2n;
const STATUS_SETTLED = 3n;

type Connection = Awaited<ReturnType<typeof network.create>>;

async function expectRefused(start: Promise<unknown>, code: RelayerErrorCode): Promise<Error> {
  try {
    const app = (await start) as RelayerApp;
    await app.close();
  } catch (error) {
    expect(isRelayerError(error, code), `expected ${code}, got ${String(error)}`).to.equal(true);
    return error as Error;
  }
  expect.fail(`expected the start to be refused with ${code}`);
}

/** Seconds from the first moment `check` is false until it is true (bounded by `limitMs`). */
async function secondsUntil(check: () => boolean, limitMs: number): Promise<number> {
  const started = Date.now();
  await waitFor("the health change", check, limitMs);
  return (Date.now() - started) / 1000;
}

function reasons(app: RelayerApp): HealthReason[] {
  return app.relayer.health().reasons.map((r) => r.code);
}

/** A runtime that holds every run until released, so a test can stop the relayer while jobs are mid-run. */
class GatedRuntime implements Runtime {
  readonly inner = new ScriptedRuntime();
  #open = false;
  #waiters: (() => void)[] = [];
  started = 0;
  infoHangs = false;

  release(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async run(request: RunRequest): Promise<RunResult> {
    this.started++;
    if (!this.#open) {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve);
        request.signal?.addEventListener("abort", () => reject(new RuntimeError("RUNTIME_ABORTED", "stopped")), { once: true });
      });
    }
    return this.inner.run(request);
  }

  async info(): Promise<RuntimeInfo> {
    if (this.infoHangs) await new Promise<void>(() => undefined);
    return this.inner.info();
  }

  async close(): Promise<void> {}
}

describe("relayer operator safety (in-process chain)", function () {
  this.timeout(180_000);

  let connection: Connection;
  let fixture: SystemFixture;
  let lockDir: string;
  let transport: FaultyTransport;
  const apps: RelayerApp[] = [];

  function config(over: Partial<RelayerConfigInput> = {}) {
    return parseRelayerConfig({
      network: "hardhat",
      rpcUrl: "http://in-process.invalid",
      deploymentFile: fixture.deploymentFile,
      evm: { devAccountIndex: 1 },
      providerKeyFile: fixture.keyFile,
      journalPath: path.join(fixture.dir, "journal.sqlite"),
      models: { "llama3.2": { maxUnitsMilli: "600000" } },
      policy: { maxConcurrentJobs: 64, deadlineMarginSeconds: 10, maxAcceptBatch: 25 },
      batching: { maxItems: 40, maxAgeSeconds: 0, deadlineMarginSeconds: 5, maxInFlight: 2 },
      chain: { confirmations: 0, pollIntervalMs: 50, startupRetrySeconds: 1, rpcMaxAttempts: 2, rpcTimeoutMs: 1_000 },
      health: { probeIntervalMs: 250, maxPollSilenceSeconds: 2, maxTxPendingSeconds: 30 },
      http: { port: 0 },
      logLevel: "silent",
      ...over,
    });
  }

  async function start(over: Partial<RelayerConfigInput> = {}, runtime: Runtime = new ScriptedRuntime(), via: FaultyTransport = transport): Promise<RelayerApp> {
    const app = await startRelayerApp(config(over), { transport: via, runtime, logger: pino({ level: "silent" }), lockDir });
    apps.push(app);
    return app;
  }

  async function chainNow(): Promise<number> {
    return Number((await connection.ethers.provider.getBlock("latest"))?.timestamp);
  }

  function escrow() {
    return JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, connection.ethers.provider);
  }

  async function freshSystem(): Promise<void> {
    connection = await network.create();
    const [deployer, provider, ...rest] = await connection.ethers.getSigners();
    fixture = await deployForRelayer(deployer, provider, rest.slice(0, 2));
    transport = new FaultyTransport(new Eip1193Transport(connection.provider, "in-process"));
  }

  before(async function () {
    lockDir = mkdtempSync(path.join(tmpdir(), "aitbc-locks-"));
    await freshSystem();
  });

  afterEach(async function () {
    transport.mode = "none";
    for (const app of apps.splice(0)) await app.close();
  });

  after(function () {
    rmSync(lockDir, { recursive: true, force: true });
  });

  describe("one provider, one relayer", function () {
    it("refuses a second relayer on the same journal before it sends a single RPC call", async function () {
      const first = await start();
      const counting = new FaultyTransport(new Eip1193Transport(connection.provider, "second"));
      const error = await expectRefused(
        startRelayerApp(config({ providerKeyFile: path.join(fixture.dir, "other-key.json") }), { transport: counting, runtime: new ScriptedRuntime(), logger: pino({ level: "silent" }), lockDir }),
        "RELAYER_ALREADY_RUNNING",
      );
      expect(error.message).to.contain("journal");
      expect(counting.calls, "nothing opened: no RPC call").to.equal(0);
      expect(existsSync(path.join(fixture.dir, "other-key.json")), "no key file created").to.equal(false);
      expect(first.relayer.health().status).to.equal("ok");
    });

    it("refuses a second relayer with the same receipt key and another journal, before any RPC call", async function () {
      await start();
      const counting = new FaultyTransport(new Eip1193Transport(connection.provider, "second"));
      const other = path.join(fixture.dir, "other-journal.sqlite");
      await expectRefused(
        startRelayerApp(config({ journalPath: other }), { transport: counting, runtime: new ScriptedRuntime(), logger: pino({ level: "silent" }), lockDir }),
        "RELAYER_ALREADY_RUNNING",
      );
      expect(counting.calls).to.equal(0);
      expect(existsSync(other), "the second journal was never created").to.equal(false);
    });

    it("refuses a second relayer for the same provider address (other key file, other journal) before its journal opens", async function () {
      await start();
      const other = path.join(fixture.dir, "third-journal.sqlite");
      const error = await expectRefused(start({ journalPath: other, providerKeyFile: path.join(fixture.dir, "third-key.json") }), "RELAYER_ALREADY_RUNNING");
      expect(error.message).to.contain("provider address");
      expect(existsSync(other)).to.equal(false);
    });

    it("refuses a taken API port with RELAYER_PORT_IN_USE before the journal opens, and releases its locks", async function () {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
      const port = (blocker.address() as { port: number }).port;
      const journalPath = path.join(fixture.dir, "port-journal.sqlite");
      try {
        await expectRefused(start({ journalPath, http: { port } }), "RELAYER_PORT_IN_USE");
        expect(existsSync(journalPath), "journal not opened").to.equal(false);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
      // Nothing was left held: the same configuration starts once the port is free.
      const app = await start({ journalPath, http: { port } });
      expect(app.relayer.apiUrl).to.equal(`http://127.0.0.1:${port}`);
    });

    it("never signs a second receipt for a job: a fresh journal does not re-run jobs this provider accepted before", async function () {
      const journalA = path.join(fixture.dir, "life-a.sqlite");
      const journalB = path.join(fixture.dir, "life-b.sqlite");
      const model = fixture.modelIds.get("llama3.2") as number;
      // Life A settles 6 jobs, then accepts 4 more and is stopped while they run.
      let a = await start({ journalPath: journalA });
      const settledIds = await createJobs(fixture, fixture.clients[0], Array.from({ length: 6 }, (_, k) => ({ model, prompt: `settled ${k}` })), await chainNow());
      await waitFor("life A settles its jobs", () => a.journal.metrics().jobsByState.settled === 6);
      await a.close();
      const gated = new GatedRuntime();
      a = await start({ journalPath: journalA }, gated);
      const inFlight = await createJobs(fixture, fixture.clients[1], Array.from({ length: 4 }, (_, k) => ({ model, prompt: `in flight ${k}` })), await chainNow());
      await waitFor("life A accepts and starts the new jobs", async () => (await Promise.all(inFlight.map((id) => escrow().job(id)))).every((j) => j.status === STATUS_ACCEPTED) && gated.started > 0);
      await a.close();

      // Life B: same provider and key, the journal lost. It reads the whole history from the deployment block.
      const runtimeB = new ScriptedRuntime();
      const b = await start({ journalPath: journalB }, runtimeB);
      await waitFor("life B has seen every job", () => b.journal.metrics().jobsByState.refused === 10);
      await new Promise((r) => setTimeout(r, 500));
      expect(runtimeB.runs, "no job ran in life B").to.equal(0);
      expect(b.journal.metrics().receiptsSigned, "no receipt signed in life B").to.equal(0);
      for (const id of [...settledIds, ...inFlight]) expect(b.journal.getJob(id)?.refusal).to.match(/^ACCEPTED_ELSEWHERE/);
      await b.close();

      // Life A, back with its journal, finishes its own jobs: each job has exactly one receipt, signed once.
      gated.release();
      const again = await start({ journalPath: journalA }, gated);
      await waitFor("life A settles the jobs it accepted", async () => (await Promise.all(inFlight.map((id) => escrow().job(id)))).every((j) => j.status === STATUS_SETTLED));
      expect(again.journal.metrics().receiptsSigned).to.equal(10);
    });
  });

  describe("a journal that knows what it belongs to", function () {
    it("records chain id, genesis, deployment block, addresses and code hashes, and keeps the cursor inside the journal", async function () {
      const app = await start({ journalPath: path.join(fixture.dir, "identity.sqlite") });
      const id = app.journal.meta.identity();
      expect(id?.chainId).to.equal("31337");
      expect(id?.genesisHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(id?.anchorBlock).to.equal(fixture.deployment.block);
      expect(id?.contracts.escrow).to.equal((fixture.deployment.contracts.JobEscrow as string).toLowerCase());
      expect(Object.values(id?.codeHashes ?? {})).to.have.length(3);
      await waitFor("a watcher cursor", () => app.journal.blocks.cursorText() !== null);
      const cursor = JSON.parse(app.journal.blocks.cursorText() as string) as { cursor: { blockNumber: number } };
      expect(cursor.cursor.blockNumber).to.be.at.least(fixture.deployment.block);
      expect(existsSync(`${app.journalPath}.cursor.json`), "no separate cursor file").to.equal(false);
    });

    it("refuses an empty (0-byte) journal with JOURNAL_EMPTY and leaves it untouched", async function () {
      const file = path.join(fixture.dir, "empty.sqlite");
      writeFileSync(file, "");
      const error = await expectRefused(start({ journalPath: file }), "JOURNAL_EMPTY");
      expect(error.message).to.contain("0-byte");
      expect(statSync(file).size).to.equal(0);
    });

    it("refuses a garbage file, a directory and a truncated journal with JOURNAL_CORRUPT, not a raw SQLite error", async function () {
      const garbage = path.join(fixture.dir, "garbage.sqlite");
      writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
      await expectRefused(start({ journalPath: garbage }), "JOURNAL_CORRUPT");
      await expectRefused(start({ journalPath: fixture.dir }), "JOURNAL_CORRUPT");
      const real = path.join(fixture.dir, "to-truncate.sqlite");
      const app = await start({ journalPath: real });
      await app.close();
      apps.pop();
      const size = statSync(real).size;
      const { truncateSync } = await import("node:fs");
      truncateSync(real, Math.floor(size / 2));
      await expectRefused(start({ journalPath: real }), "JOURNAL_CORRUPT");
    });

    it("refuses another program's SQLite database with JOURNAL_FOREIGN", async function () {
      const { DatabaseSync } = await import("node:sqlite");
      const file = path.join(fixture.dir, "foreign.sqlite");
      const db = new DatabaseSync(file);
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')");
      db.close();
      await expectRefused(start({ journalPath: file }), "JOURNAL_FOREIGN");
    });

    it("notices a contract redeployed at the same address (code hash), at start and while running", async function () {
      const file = path.join(fixture.dir, "code-hash.sqlite");
      const app = await start({ journalPath: file });
      const escrowAddress = fixture.deployment.contracts.JobEscrow as string;
      const original = (await connection.provider.request({ method: "eth_getCode", params: [escrowAddress, "latest"] })) as string;
      const other = (await connection.provider.request({ method: "eth_getCode", params: [fixture.deployment.contracts.ModelRegistry as string, "latest"] })) as string;
      await connection.provider.request({ method: "hardhat_setCode", params: [escrowAddress, other] });
      try {
        const took = await secondsUntil(() => reasons(app).includes("CHAIN_CHANGED"), 5_000);
        expect(took).to.be.below(5);
        expect(app.relayer.status().halted?.code).to.equal("RELAYER_DEPLOYMENT_CHANGED");
        expect(app.relayer.health().status).to.equal("degraded");
        await app.close();
        apps.pop();
        const error = await expectRefused(start({ journalPath: file }), "RELAYER_DEPLOYMENT_CHANGED");
        expect(error.message).to.contain("redeployed at the same address");
      } finally {
        await connection.provider.request({ method: "hardhat_setCode", params: [escrowAddress, original] });
      }
    });

    it("refuses a journal whose write-ahead log was deleted after a crash (JOURNAL_ROLLED_BACK); with the log it resumes", async function () {
      const { spawn } = await import("node:child_process");
      const file = path.join(fixture.dir, "rolled.sqlite");
      const holder = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "fixtures", "relayer", "journal", "hold-open.ts");
      const crash = async () => {
        const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--import", import.meta.resolve("tsx/esm"), holder, file], { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((resolve) => child.stdout?.on("data", (c: Buffer) => c.toString().includes("ready") && resolve()));
        child.kill("SIGKILL");
        await new Promise<void>((resolve) => child.once("exit", () => resolve()));
      };
      const { Journal } = await import("../../../relayer/adapters/journal/journal.js");
      await crash();
      expect(existsSync(`${file}-wal`)).to.equal(true);
      // With its log the crashed journal opens and has what was committed.
      const reopened = Journal.open(file);
      expect(reopened.getJob(7n)?.state).to.equal("seen");
      reopened.close();
      await crash();
      rmSync(`${file}-wal`);
      try {
        Journal.open(file).close();
        expect.fail("expected JOURNAL_ROLLED_BACK");
      } catch (error) {
        expect(isRelayerError(error, "JOURNAL_ROLLED_BACK"), String(error)).to.equal(true);
      }
    });
  });

  describe("health that tells the truth", function () {
    it("an RPC outage at start is RELAYER_RPC_UNAVAILABLE after retries, not a config error", async function () {
      const down = new FaultyTransport(new Eip1193Transport(connection.provider, "down"));
      down.mode = "down";
      const error = await expectRefused(
        startRelayerApp(config({ journalPath: path.join(fixture.dir, "outage.sqlite") }), { transport: down, runtime: new ScriptedRuntime(), logger: pino({ level: "silent" }), lockDir }),
        "RELAYER_RPC_UNAVAILABLE",
      );
      expect(error.message).to.match(/tried \d+ times/);
      expect(down.calls, "retried").to.be.greaterThan(2);
      expect(existsSync(path.join(fixture.dir, "outage.sqlite"))).to.equal(false);
    });

    it("degrades within 5 s when the RPC endpoint stalls, and recovers", async function () {
      const app = await start({ journalPath: path.join(fixture.dir, "stall.sqlite") });
      await waitFor("ok", () => app.relayer.health().status === "ok");
      transport.mode = "stall";
      const took = await secondsUntil(() => reasons(app).includes("WATCHER_STALLED"), 5_000);
      expect(took).to.be.below(5);
      transport.mode = "none";
      await waitFor("recovery", () => !reasons(app).includes("WATCHER_STALLED"), 10_000);
    });

    it("degrades within 5 s when sent transactions are swallowed and jobs sit accepted-but-not-landed", async function () {
      const app = await start({ journalPath: path.join(fixture.dir, "swallow.sqlite") });
      await waitFor("ok", () => app.relayer.health().status === "ok");
      transport.mode = "swallow-sends";
      const model = fixture.modelIds.get("llama3.2") as number;
      const ids = await createJobs(fixture, fixture.clients[0], [{ model, prompt: "swallowed accept" }], await chainNow());
      await waitFor("an accept was swallowed", () => transport.swallowed.length > 0, 10_000);
      const took = await secondsUntil(() => reasons(app).includes("TX_NOT_LANDING"), 5_000);
      expect(took).to.be.below(5);
      expect((await escrow().job(ids[0])).status).to.equal(STATUS_OPEN);
      transport.mode = "none";
    });

    it("degrades within 5 s when the runtime stops answering", async function () {
      const runtime = new GatedRuntime();
      runtime.release();
      const app = await start({ journalPath: path.join(fixture.dir, "runtime.sqlite") }, runtime);
      await waitFor("ok", () => app.relayer.health().status === "ok");
      runtime.infoHangs = true;
      const took = await secondsUntil(() => reasons(app).includes("RUNTIME_DOWN"), 5_000);
      expect(took).to.be.below(5);
    });

    it("a chain reset under a running relayer: degraded within 5 s, stops serving, and a restart names the dead chain", async function () {
      const file = path.join(fixture.dir, "reset.sqlite");
      const app = await start({ journalPath: file });
      const model = fixture.modelIds.get("llama3.2") as number;
      await createJobs(fixture, fixture.clients[0], [{ model, prompt: "before the reset" }], await chainNow());
      await waitFor("settled before the reset", () => app.journal.metrics().jobsByState.settled === 1);
      // The node is replaced behind the same URL by a fresh chain with the same id and genesis, and the system is
      // redeployed at the same addresses: only the history differs.
      const oldFixture = fixture;
      const oldTransport = transport;
      await freshSystem();
      expect(fixture.deployment.contracts.JobEscrow).to.equal(oldFixture.deployment.contracts.JobEscrow);
      oldTransport.inner = new Eip1193Transport(connection.provider, "replaced");
      const took = await secondsUntil(() => reasons(app).includes("CHAIN_CHANGED"), 5_000);
      expect(took).to.be.below(5);
      expect(app.relayer.status().halted?.code).to.equal("RELAYER_CHAIN_RESET");
      // The new chain's jobs reuse ids the journal knows for other jobs: none is taken or mixed into the journal.
      const known = app.journal.metrics().jobsByState;
      const [newId] = await createJobs(fixture, fixture.clients[0], [{ model: fixture.modelIds.get("llama3.2") as number, prompt: "after the reset" }], await chainNow());
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await escrow().job(newId)).status).to.equal(STATUS_OPEN);
      expect(app.journal.metrics().jobsByState).to.deep.equal(known);
      expect(app.relayer.health().status).to.equal("degraded");
      await app.close();
      apps.pop();
      const error = await expectRefused(
        startRelayerApp(config({ journalPath: file, deploymentFile: oldFixture.deploymentFile, providerKeyFile: oldFixture.keyFile }), {
          transport,
          runtime: new ScriptedRuntime(),
          logger: pino({ level: "silent" }),
          lockDir,
        }),
        "RELAYER_CHAIN_RESET",
      );
      expect(error.message).to.contain("belongs to a chain that no longer exists");
      expect(error.message).to.not.contain("reorg");
    });
  });

  describe("admission matches what can run", function () {
    it("refuses at the policy what the runtime's 2,048-token context or the batcher's margin cannot finish; the rest settles", async function () {
      const runtime = await createRuntime({ kind: "embedded", aliases: ["llama3.2"] });
      try {
        const limits = runtime.limits?.();
        expect(limits?.contextTokens).to.equal(2048);
        const app = await start(
          {
            journalPath: path.join(fixture.dir, "admission.sqlite"),
            policy: { maxConcurrentJobs: 64, deadlineMarginSeconds: 30, maxPromptBytes: 64 * 1024, maxAcceptBatch: 25 },
            batching: { maxItems: 40, maxAgeSeconds: 10, deadlineMarginSeconds: 60, maxInFlight: 2 },
            run: { maxTokens: 4, timeoutMs: 30_000, concurrency: 1 },
          },
          runtime,
        );
        const model = fixture.modelIds.get("llama3.2") as number;
        const long = "word ".repeat(6_000); // 30 KB: under the 64 KiB byte limit, far over 2,048 tokens
        const now = await chainNow();
        // maxUnits 1,000 milli = 1 s of run. 50 s left passes a 30 s margin but not batching's 60 + 10 s.
        const [tooLong, tooClose, fine] = await createJobs(
          fixture,
          fixture.clients[1],
          [
            { model, prompt: long, maxUnitsMilli: 1_000n, ttl: 3_600 },
            { model, prompt: "short but late", maxUnitsMilli: 1_000n, ttl: 50 },
            { model, prompt: "short and in time", maxUnitsMilli: 1_000n, ttl: 3_600 },
          ],
          now,
        );
        await waitFor("the good job settles", async () => (await escrow().job(fine)).status === STATUS_SETTLED, 60_000);
        expect(app.journal.getJob(tooLong)?.state).to.equal("refused");
        expect(app.journal.getJob(tooLong)?.refusal).to.match(/^PROMPT_TOO_LONG: prompt is \d+ tokens/);
        expect(app.journal.getJob(tooClose)?.refusal).to.match(/^DEADLINE_TOO_CLOSE/);
        // Refused, not accepted-then-dropped: the client's escrow is not locked to this provider.
        expect((await escrow().job(tooLong)).status).to.equal(STATUS_OPEN);
        expect((await escrow().job(tooClose)).status).to.equal(STATUS_OPEN);
        expect(app.journal.metrics().jobsByState.failed).to.equal(0);
        expect(app.journal.metrics().jobsByState.expired).to.equal(0);
      } finally {
        for (const app of apps.splice(0)) await app.close();
        await runtime.close();
      }
    });
  });
});
