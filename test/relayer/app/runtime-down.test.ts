/**
 * The runtime behind the relayer goes away: the real relayer app on an in-process Hardhat chain, with the OpenAI
 * adapter talking HTTP to the compat server of tools/compat-server.ts, which the test stops and starts. A job accepted
 * before the runtime died is given back on-chain (the client refunded long before the deadline); a relayer started
 * while the runtime does not answer is degraded from the start, accepts nothing, and takes work once it answers.
 */
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";
import { pino } from "pino";

import { Eip1193Transport } from "../../../relayer/adapters/chain/rpc.js";
import { RuntimeError, type RunRequest, type RunResult, type Runtime, type RuntimeInfo } from "../../../relayer/adapters/runtimes/types.js";
import { parseRelayerConfig } from "../../../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../../../relayer/app/start.js";
import { AITBCToken__factory, JobEscrow__factory } from "../../../typechain-types/index.js";
import { startCompatServer, type CompatServer } from "../../../tools/compat-server.js";
import { freePort } from "../../../tools/hardhat-node.js";
import { createJobs, deployForRelayer, type SystemFixture } from "../../../tools/relayer-fixture.js";
import { waitFor } from "../../fixtures/wait.js";

const STATUS_ACCEPTED = 2n;
const STATUS_SETTLED = 3n;
const STATUS_GIVEN_BACK = 9n;

/** The model behind the compat server: answers at once, or holds every run until released (or the server stops). */
class HeldRuntime implements Runtime {
  hold = false;
  started = 0;
  readonly #waiting: (() => void)[] = [];

  async run(request: RunRequest): Promise<RunResult> {
    this.started++;
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.#waiting.push(resolve);
        request.signal?.addEventListener("abort", () => reject(new RuntimeError("RUNTIME_ABORTED", "stopped")), { once: true });
      });
    }
    const startedAt = Date.now();
    return {
      output: "ok",
      tokens: { prompt: 1, generated: 1 },
      // 1 ms of compute: less than any HTTP round trip, which the OpenAI adapter's metering is bounded by.
      timings: { startedAt, completedAt: startedAt + 1, computeMs: 1, promptMs: null, generationMs: null, source: "measured" },
      device: "cpu",
      finishReason: "stop",
    };
  }

  async info(): Promise<RuntimeInfo> {
    return { kind: "embedded", name: "held", device: "cpu", models: ["llama3.2"] };
  }

  async close(): Promise<void> {
    for (const w of this.#waiting.splice(0)) w();
  }
}

interface Health {
  status: string;
  reasons: { code: string }[];
}

describe("relayer app: the runtime goes away (in-process chain, OpenAI adapter over HTTP)", function () {
  this.timeout(180_000);

  let fixture: SystemFixture;
  let connection: Awaited<ReturnType<typeof network.create>>;
  let app: RelayerApp | null = null;
  let compat: CompatServer | null = null;
  let model: HeldRuntime;
  let runtimePort: number;
  let start: () => Promise<RelayerApp>;

  before(async function () {
    connection = await network.create();
    const [deployer, provider, ...rest] = await connection.ethers.getSigners();
    fixture = await deployForRelayer(deployer, provider, rest.slice(0, 1));
    model = new HeldRuntime();
    runtimePort = await freePort();
    const config = parseRelayerConfig({
      network: "hardhat",
      rpcUrl: "http://in-process.invalid",
      deploymentFile: fixture.deploymentFile,
      evm: { devAccountIndex: 1 },
      providerKeyFile: fixture.keyFile,
      journalPath: path.join(fixture.dir, "journal.sqlite"),
      runtime: { kind: "openai", baseUrl: `http://127.0.0.1:${runtimePort}/v1`, retries: 1, retryDelayMs: 50 },
      models: { "llama3.2": {} },
      policy: { maxConcurrentJobs: 8, deadlineMarginSeconds: 10 },
      run: { maxTokens: 4 },
      batching: { maxItems: 10, maxAgeSeconds: 0, deadlineMarginSeconds: 5 },
      chain: { confirmations: 0, pollIntervalMs: 50 },
      health: { probeIntervalMs: 200 },
      http: { port: 0 },
      logLevel: "silent",
    });
    start = () => startRelayerApp(config, { transport: new Eip1193Transport(connection.provider, "in-process"), logger: pino({ level: "silent" }), lockDir: fixture.dir });
  });

  after(async function () {
    await app?.close();
    await compat?.close();
    await model?.close();
  });

  async function health(): Promise<Health> {
    return (await (await fetch(`${app?.relayer.apiUrl}/health`)).json()) as Health;
  }

  it("started while the runtime does not answer: degraded (RUNTIME_DOWN) from the start, accepts nothing, then takes the job once it answers", async function () {
    app = await start();
    const h = await health();
    expect(h.status).to.equal("degraded");
    expect(h.reasons.map((r) => r.code)).to.include("RUNTIME_DOWN");
    const chainNow = Number((await connection.ethers.provider.getBlock("latest"))?.timestamp);
    const [id] = await createJobs(fixture, fixture.clients[0], [{ model: fixture.modelIds.get("llama3.2") as number, prompt: "waits for the runtime" }], chainNow);
    await waitFor("the job seen", () => app?.journal.getJob(id) !== null);
    // Several probe intervals and main-loop passes: still not accepted, on-chain or in the journal.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(app.journal.getJob(id)?.state).to.equal("seen");
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, connection.ethers.provider);
    expect((await escrow.job(id)).status).to.equal(1n);
    const offer = (await (await fetch(`${app.relayer.apiUrl}/api/v1/offer`)).json()) as { health: { status: string; reasons: string[] } };
    expect(offer.health.status).to.equal("degraded");
    expect(offer.health.reasons.some((r) => r.startsWith("RUNTIME_DOWN"))).to.equal(true);

    compat = await startCompatServer({ runtime: model, port: runtimePort });
    await waitFor("the job settled once the runtime answers", async () => (await escrow.job(id)).status === STATUS_SETTLED, 30_000);
    expect((await health()).status).to.equal("ok");
  });

  it("a job accepted before the runtime died is given back on-chain: the client is refunded long before the deadline", async function () {
    expect(compat, "the runtime runs from the previous case").to.not.equal(null);
    const client = fixture.clients[0];
    const clientAddress = await client.getAddress();
    const token = AITBCToken__factory.connect(fixture.deployment.contracts.AITBCToken, connection.ethers.provider);
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, connection.ethers.provider);
    const before = await token.balanceOf(clientAddress);
    model.hold = true;
    const startedBefore = model.started;
    const chainNow = Number((await connection.ethers.provider.getBlock("latest"))?.timestamp);
    const ttl = 3_600;
    const [id] = await createJobs(fixture, client, [{ model: fixture.modelIds.get("llama3.2") as number, prompt: "the runtime dies under me", ttl }], chainNow);
    expect(await token.balanceOf(clientAddress) < before, "the escrow left the client").to.equal(true);
    await waitFor("the run reached the runtime", () => model.started > startedBefore);
    expect((await escrow.job(id)).status).to.equal(STATUS_ACCEPTED);
    const diedAt = Date.now();
    await compat?.close();
    compat = null;

    await waitFor("given back on-chain", async () => (await escrow.job(id)).status === STATUS_GIVEN_BACK, 30_000);
    const took = Date.now() - diedAt;
    expect(took, "well before the deadline").to.be.lessThan(20_000);
    expect(await token.balanceOf(clientAddress)).to.equal(before);
    const jobNow = Number((await connection.ethers.provider.getBlock("latest"))?.timestamp);
    expect(jobNow).to.be.lessThan(chainNow + ttl - 600);
    const relayerJob = app?.journal.getJob(id);
    expect(relayerJob?.state).to.equal("given_back");
    expect(relayerJob?.failure?.code).to.equal("RUNTIME_UNAVAILABLE");
    const body = (await (await fetch(`${app?.relayer.apiUrl}/api/v1/jobs/${id}`)).json()) as { state: string; failure: { code: string } };
    expect(body.state).to.equal("given_back");
    expect(body.failure.code).to.equal("RUNTIME_UNAVAILABLE");
    const given = await escrow.queryFilter(escrow.filters.JobGivenBack(id));
    expect(given).to.have.length(1);

    // After a restart the journal still says given_back and nothing is sent twice.
    await app?.close();
    app = await start();
    await new Promise((r) => setTimeout(r, 500));
    expect(app.journal.getJob(id)?.state).to.equal("given_back");
    expect(await escrow.queryFilter(escrow.filters.JobGivenBack(id))).to.have.length(1);
  });
});
