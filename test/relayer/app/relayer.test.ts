import { expect } from "chai";
import { network } from "hardhat";
import { pino } from "pino";

import { Eip1193Transport } from "../../../relayer/adapters/chain/rpc.js";
import { parseRelayerConfig } from "../../../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../../../relayer/app/start.js";
import { JobEscrow__factory } from "../../../typechain-types/index.js";
import { ScriptedRuntime, verifyServedReceipt } from "../../fixtures/relayer/system.js";
import { createJobs, deployForRelayer, type SystemFixture } from "../../../tools/relayer-fixture.js";
import { waitFor } from "../../fixtures/wait.js";

const STATUS_SETTLED = 3n;
const STATUS_GIVEN_BACK = 9n;

describe("relayer app (in-process chain)", function () {
  this.timeout(180_000);

  let fixture: SystemFixture;
  let app: RelayerApp;
  let runtime: ScriptedRuntime;
  let chainNow: number;
  let ethersProvider: Awaited<ReturnType<typeof network.create>>["ethers"]["provider"];
  let startApp: () => Promise<RelayerApp>;

  before(async function () {
    const connection = await network.create();
    ethersProvider = connection.ethers.provider;
    const [deployer, provider, ...rest] = await connection.ethers.getSigners();
    fixture = await deployForRelayer(deployer, provider, rest.slice(0, 3));
    chainNow = Number((await ethersProvider.getBlock("latest"))?.timestamp);
    runtime = new ScriptedRuntime();
    const config = parseRelayerConfig({
      network: "hardhat",
      rpcUrl: "http://in-process.invalid",
      deploymentFile: fixture.deploymentFile,
      evm: { devAccountIndex: 1 },
      providerKeyFile: fixture.keyFile,
      journalPath: `${fixture.dir}/journal.sqlite`,
      models: { "llama3.2": { maxUnitsMilli: "600000" }, "llama3.2:1b": {} },
      policy: { maxConcurrentJobs: 64, maxPromptBytes: 64, deadlineMarginSeconds: 10, maxAcceptBatch: 25 },
      batching: { maxItems: 40, maxAgeSeconds: 0, deadlineMarginSeconds: 5, maxInFlight: 2 },
      chain: { confirmations: 0, pollIntervalMs: 50 },
      http: { port: 0 },
      logLevel: "silent",
    });
    startApp = () =>
      startRelayerApp(config, {
        transport: new Eip1193Transport(connection.provider, "in-process"),
        runtime,
        logger: pino({ level: "silent" }),
        // Locks of this test's own: other runs on the machine may use the same development account.
        lockDir: fixture.dir,
      });
    app = await startApp();
  });

  after(async function () {
    await app?.close();
  });

  it("takes jobs from several clients to settlement, with receipts that verify against the registered key and the anchored root", async function () {
    const model = fixture.modelIds.get("llama3.2") as number;
    const ids: bigint[] = [];
    for (const [i, client] of fixture.clients.entries()) {
      ids.push(...(await createJobs(fixture, client, Array.from({ length: 20 }, (_, k) => ({ model, prompt: `client ${i} job ${k} ✓` })), chainNow)));
    }
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, ethersProvider);
    await waitFor("every job settled", async () => app.journal.metrics().jobsByState.settled === ids.length);
    const roots = new Set<string>();
    for (const id of ids) {
      const view = await escrow.job(id);
      expect(view.status).to.equal(STATUS_SETTLED);
      const receipt = app.journal.receipts.forJob(id);
      expect(receipt).to.not.equal(null);
      const res = await fetch(`${app.relayer.apiUrl}/api/v1/receipts/${receipt?.receiptId}`);
      expect(res.status).to.equal(200);
      const { verification, root } = await verifyServedReceipt(await res.text(), { provider: ethersProvider, deployment: fixture.deployment });
      expect(verification.valid, verification.valid ? "" : `${verification.code}: ${verification.reason}`).to.equal(true);
      expect(root).to.be.a("string");
      roots.add(root as string);
      const result = await fetch(`${app.relayer.apiUrl}/api/v1/jobs/${id}/result`);
      expect(result.status).to.equal(200);
    }
    for (const root of roots) {
      const batch = await escrow.batch(root);
      expect(batch.settlement).to.equal(true);
    }
    const settledJobs = [...roots].length;
    expect(settledJobs).to.be.greaterThan(0);
    expect(app.relayer.health().status).to.equal("ok");
  });

  it("refuses or fails malformed jobs with a reason and keeps running", async function () {
    const served = fixture.modelIds.get("llama3.2") as number;
    const notServed = fixture.modelIds.get("codellama") as number;
    const client = fixture.clients[0];
    const [tooLong, notUtf8, unknownModel, failing, good] = await createJobs(
      fixture,
      client,
      [
        { model: served, prompt: "x".repeat(200) },
        { model: served, prompt: new Uint8Array([0xc3, 0x28, 0x41]) },
        { model: notServed, prompt: "hello" },
        { model: served, prompt: "please FAIL-ME" },
        { model: served, prompt: "still alive" },
      ],
      chainNow,
    );
    await waitFor("the good job settled", () => app.journal.getJob(good)?.state === "settled");
    expect(app.journal.getJob(tooLong)?.state).to.equal("refused");
    expect(app.journal.getJob(tooLong)?.refusal).to.match(/^PROMPT_TOO_LONG/);
    expect(app.journal.getJob(notUtf8)?.refusal).to.match(/^PROMPT_NOT_UTF8/);
    expect(app.journal.getJob(unknownModel)?.refusal).to.match(/^MODEL_NOT_SERVED/);
    // A run that fails is given back on-chain at once: the client has its escrow back long before the deadline.
    await waitFor("the failing job given back", () => app.journal.getJob(failing)?.state === "given_back");
    expect(app.journal.getJob(failing)?.failure?.code).to.equal("RUNTIME_BAD_INPUT");
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, ethersProvider);
    await waitFor("the give-back mined", async () => (await escrow.job(failing)).status === STATUS_GIVEN_BACK);
    const res = await fetch(`${app.relayer.apiUrl}/api/v1/jobs/${failing}`);
    const body = (await res.json()) as { state: string; private: boolean; failure: { code: string } };
    expect(body.state).to.equal("given_back");
    expect(body.private).to.equal(false);
    expect(body.failure.code).to.equal("RUNTIME_BAD_INPUT");
    const refused = (await (await fetch(`${app.relayer.apiUrl}/api/v1/jobs/${tooLong}`)).json()) as { refusal: string; refusal_detail: string };
    expect(refused.refusal).to.equal("PROMPT_TOO_LONG");
    expect(refused.refusal_detail).to.match(/200 bytes/);
  });

  it("resumes from the journal after a restart without signing or settling anything twice", async function () {
    const model = fixture.modelIds.get("llama3.2") as number;
    const before = app.journal.metrics();
    const ids = await createJobs(fixture, fixture.clients[1], Array.from({ length: 10 }, (_, k) => ({ model, prompt: `restart ${k}` })), chainNow);
    // Stop as soon as the first of them is seen, then start again from the same journal.
    await waitFor("jobs seen", () => app.journal.getJob(ids[0]) !== null);
    await app.close();
    app = await startApp();
    await waitFor("restarted jobs settled", () => ids.every((id) => app.journal.getJob(id)?.state === "settled"));
    const after = app.journal.metrics();
    expect(after.receiptsSigned - before.receiptsSigned).to.equal(ids.length);
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, ethersProvider);
    for (const id of ids) expect((await escrow.job(id)).status).to.equal(STATUS_SETTLED);
  });

  it("releases its payouts once their dispute window has passed, so they leave its exposure in the escrow", async function () {
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, ethersProvider);
    const provider = await fixture.provider.getAddress();
    expect(await escrow.exposureOf(provider) > 0n, "unreleased payouts count as exposure").to.equal(true);
    const [, disputeWindow] = await escrow.parameters();
    await ethersProvider.send("evm_increaseTime", [Number(disputeWindow) + 1]);
    await ethersProvider.send("evm_mine", []);
    // Runs last in this file: the chain is now past the dispute window of every batch above. What remains is the
    // escrow of jobs still accepted and unsettled (a job whose run failed was given back, so it holds none).
    const [jobCount] = await escrow.counters();
    let stillAccepted = 0n;
    for (let id = 1n; id <= jobCount; id++) {
      const j = await escrow.job(id);
      if (j.status === 2n && j.provider.toLowerCase() === provider.toLowerCase()) stillAccepted += j.escrow;
    }
    await waitFor("payouts released", async () => {
      app.relayer.kick();
      const e = await escrow.exposureOf(provider);
      return e === stillAccepted;
    });
    expect(await escrow.balanceOf(provider) > 0n, "earnings withdrawable").to.equal(true);
  });
});
