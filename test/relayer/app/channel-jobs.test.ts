/**
 * The relayer's channel API under attack, in process (real relayer app, in-process chain, journal on disk): every
 * request and voucher a malicious or careless client can send is refused with its code, nothing of it is journaled
 * or run, and the money on-chain only ever moves by what a client's own voucher says, once.
 */
import { expect } from "chai";
import { keccak256, toUtf8Bytes, type Signer } from "ethers";
import { network } from "hardhat";
import { pino } from "pino";

import { priceFor } from "../../../lib/money/prices.js";
import { JOB_REQUEST_TYPES, channelsDomain, signVoucher, type ChannelJobRequest } from "../../../lib/sdk/channels.js";
import { ChannelClient } from "../../../lib/sdk/channel-jobs.js";
import { depositToChannel, requestChannelWithdrawal } from "../../../lib/sdk/channel-funds.js";
import { Eip1193Transport } from "../../../relayer/adapters/chain/rpc.js";
import type { RunRequest, RunResult } from "../../../relayer/adapters/runtimes/types.js";
import { parseRelayerConfig } from "../../../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../../../relayer/app/start.js";
import { JobChannels__factory } from "../../../typechain-types/index.js";
import { ScriptedRuntime } from "../../fixtures/relayer/system.js";
import { deployForRelayer, type SystemFixture } from "../../../tools/relayer-fixture.js";
import { waitFor } from "../../fixtures/wait.js";

const E18 = 10n ** 18n;

/** The scripted runtime, except that a prompt containing HOLD waits until {@link release} is called. */
class HeldRuntime extends ScriptedRuntime {
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }
  release(): void {
    this.#open();
  }
  override async run(request: RunRequest): Promise<RunResult> {
    const prompt = typeof request.prompt === "string" ? request.prompt : new TextDecoder().decode(request.prompt);
    if (prompt.includes("HOLD")) await this.#gate;
    return super.run(request);
  }
}

/** The relayer's configuration for these tests: the fixture's provider, claims at once, a local automining chain. */
function relayerConfig(fixture: SystemFixture, extra: Record<string, unknown>) {
  return parseRelayerConfig({
    network: "hardhat",
    rpcUrl: "http://in-process.invalid",
    deploymentFile: fixture.deploymentFile,
    evm: { devAccountIndex: 1 },
    providerKeyFile: fixture.keyFile,
    journalPath: `${fixture.dir}/journal.sqlite`,
    models: { "llama3.2": { maxUnitsMilli: "600000" } },
    policy: { maxConcurrentJobs: 16, deadlineMarginSeconds: 10 },
    batching: { maxItems: 40, maxAgeSeconds: 0, deadlineMarginSeconds: 5 },
    chain: { confirmations: 0, pollIntervalMs: 50 },
    http: { port: 0 },
    logLevel: "silent",
    ...extra,
  });
}

describe("relayer channel API (in-process chain): attacks refused, money exact", function () {
  this.timeout(180_000);
  let fixture: SystemFixture;
  let app: RelayerApp;
  let runtime: HeldRuntime;
  let api: string;
  let chain: Awaited<ReturnType<typeof network.create>>;
  let alice: Signer;
  let mallory: Signer;
  let providerAddress: string;
  let channelsAddress: string;
  let modelId: number;
  let rate: bigint;

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; details?: Record<string, string> }; state?: string; digest?: string } };
  };
  const wire = (r: ChannelJobRequest) => ({ ...r, requestId: r.requestId.toString(), modelId: String(r.modelId), maxUnitsMilli: r.maxUnitsMilli.toString(), deadline: r.deadline.toString() });
  // What the relayer judges deadlines by: the later of the latest block and the wall clock (an idle in-process chain
  // lags the wall clock by however long the test process has run).
  const chainTime = async () => {
    const latest = BigInt((await chain.ethers.provider.getBlock("latest"))?.timestamp ?? 0);
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return latest > wall ? latest : wall;
  };

  async function request(client: Signer, overrides: Partial<ChannelJobRequest> = {}, prompt = "hello") {
    const r: ChannelJobRequest = {
      client: await client.getAddress(),
      provider: providerAddress,
      requestId: 1n,
      modelId,
      maxUnitsMilli: 1_000n,
      deadline: (await chainTime()) + 3_600n,
      inputHash: keccak256(toUtf8Bytes(prompt)),
      ...overrides,
    };
    return r;
  }
  async function send(signer: Signer, r: ChannelJobRequest, prompt = "hello") {
    const domain = channelsDomain(31337n, channelsAddress);
    // A forged request: `signer` signs fields that may name another client (signJobRequest would refuse that).
    const signature = await signer.signTypedData(domain, JOB_REQUEST_TYPES, r);
    return post("/api/v1/channel/jobs", { request: wire(r), signature, prompt: Buffer.from(prompt).toString("base64") });
  }

  before(async function () {
    chain = await network.create();
    const [deployer, provider, a, m] = await chain.ethers.getSigners();
    alice = a;
    mallory = m;
    fixture = await deployForRelayer(deployer, provider, [a, m]);
    providerAddress = await provider.getAddress();
    channelsAddress = fixture.deployment.contracts.JobChannels as string;
    modelId = fixture.modelIds.get("llama3.2") as number;
    rate = 2n * E18;
    runtime = new HeldRuntime();
    const config = relayerConfig(fixture, {});
    app = await startRelayerApp(config, { transport: new Eip1193Transport(chain.provider, "in-process"), runtime, logger: pino({ level: "silent" }), lockDir: fixture.dir });
    api = app.relayer.apiUrl as string;
    // Alice's channel holds 5 AITBC: one job of at most 2 GPU-seconds at 2 AITBC commits 4 of it.
    await depositToChannel(alice, fixture.deployment, { provider: providerAddress, amount: 5n * E18 });
  });

  after(async function () {
    runtime?.release();
    await app?.close();
  });

  it("refuses forged, misaddressed, mismatched and malformed requests; nothing is journaled", async function () {
    const aliceAddress = (await alice.getAddress()).toLowerCase();
    const forged = await send(mallory, await request(alice));
    expect([forged.status, forged.body.error?.code]).to.deep.equal([401, "CHANNEL_BAD_SIGNATURE"]);
    const elsewhere = await send(alice, await request(alice, { provider: await mallory.getAddress() }));
    expect(elsewhere.body.error?.code).to.equal("CHANNEL_WRONG_PROVIDER");
    const mismatched = await send(alice, await request(alice, {}, "hello"), "something else");
    expect(mismatched.body.error?.code).to.equal("CHANNEL_INPUT_MISMATCH");
    const noJson = await post("/api/v1/channel/jobs", "{not json");
    expect([noJson.status, noJson.body.error?.code]).to.deep.equal([400, "HTTP_INVALID_BODY"]);
    const huge = await post("/api/v1/channel/jobs", JSON.stringify({ prompt: "x".repeat(300 * 1024) }));
    expect([huge.status, huge.body.error?.code]).to.deep.equal([413, "HTTP_BODY_TOO_LARGE"]);
    const zeroId = await send(alice, await request(alice, { requestId: 0n }));
    expect(zeroId.body.error?.code).to.equal("CHANNEL_BAD_REQUEST");
    const mallorys = await send(mallory, await request(mallory));
    expect([mallorys.status, mallorys.body.error?.code], "no channel, no funds").to.deep.equal([402, "CHANNEL_UNDERFUNDED"]);
    expect(app.journal.channels.ofClient(aliceAddress)).to.have.length(0);
    expect(app.journal.channels.ofClient((await mallory.getAddress()).toLowerCase())).to.have.length(0);
    expect(runtime.runs).to.equal(0);
  });

  it("takes a request once however often it is sent, refuses its id for another request, and refuses over-commitment", async function () {
    runtime.hold();
    const first = await request(alice, { maxUnitsMilli: 2_000n }, "HOLD one");
    const taken = await send(alice, first, "HOLD one");
    expect([taken.status, taken.body.state]).to.deep.equal([202, "queued"]);
    const again = await send(alice, first, "HOLD one");
    expect([again.status, again.body.digest]).to.deep.equal([200, taken.body.digest]);
    const reused = await send(alice, await request(alice, { requestId: 1n, maxUnitsMilli: 500n }, "other"), "other");
    expect([reused.status, reused.body.error?.code]).to.deep.equal([409, "CHANNEL_REQUEST_ID_USED"]);
    // 4 AITBC of the 5 are committed to request 1: request 2 may cost 4 more.
    const over = await send(alice, await request(alice, { requestId: 2n, maxUnitsMilli: 2_000n }, "two"), "two");
    expect([over.status, over.body.error?.code]).to.deep.equal([402, "CHANNEL_UNDERFUNDED"]);
    expect(over.body.error?.details).to.deep.include({ committed: (4n * E18).toString(), cap: (4n * E18).toString() });
    const aliceAddress = (await alice.getAddress()).toLowerCase();
    expect(app.journal.channels.ofClient(aliceAddress).map((j) => j.requestId)).to.deep.equal([1n]);
  });

  it("refuses a voucher through an unfinished request, then any voucher below the price, stale, forged or above the deposit", async function () {
    const aliceAddress = await alice.getAddress();
    const domain = channelsDomain(31337n, channelsAddress);
    const voucherOf = async (signer: Signer, cumulativeAmount: bigint, coveredThrough: bigint) => {
      const signed = await signVoucher(signer, domain, { client: await signer.getAddress(), provider: providerAddress, cumulativeAmount, coveredThrough });
      return { voucher: { client: aliceAddress, provider: providerAddress, cumulativeAmount: cumulativeAmount.toString(), coveredThrough: coveredThrough.toString() }, signature: signed.signature };
    };
    const early = await post("/api/v1/channel/vouchers", await voucherOf(alice, 4n * E18, 1n));
    expect([early.status, early.body.error?.code], "request 1 is still on the runtime").to.deep.equal([409, "CHANNEL_VOUCHER_EARLY"]);
    runtime.release();
    const digest = app.journal.channels.byRequestId(aliceAddress.toLowerCase(), 1n)?.digest as string;
    await waitFor("request 1 done", () => app.journal.channels.get(digest)?.state === "done");
    const price = app.journal.channels.get(digest)?.price as bigint;
    expect(price).to.equal(priceFor(app.journal.channels.get(digest)?.unitsMilli as bigint, rate));

    const low = await post("/api/v1/channel/vouchers", await voucherOf(alice, price - 1n, 1n));
    expect([low.status, low.body.error?.code]).to.deep.equal([422, "CHANNEL_VOUCHER_TOO_LOW"]);
    const forged = await post("/api/v1/channel/vouchers", { ...(await voucherOf(mallory, price, 1n)), voucher: { client: aliceAddress, provider: providerAddress, cumulativeAmount: price.toString(), coveredThrough: "1" } });
    expect(forged.body.error?.code).to.equal("CHANNEL_BAD_SIGNATURE");
    const above = await post("/api/v1/channel/vouchers", await voucherOf(alice, 6n * E18, 1n));
    expect([above.status, above.body.error?.code]).to.deep.equal([402, "CHANNEL_VOUCHER_ABOVE_DEPOSIT"]);
    expect(app.journal.channels.voucher(aliceAddress.toLowerCase()), "no refused voucher is kept").to.equal(null);

    const good = await post("/api/v1/channel/vouchers", await voucherOf(alice, price, 1n));
    expect(good.status).to.equal(200);
    const replay = await post("/api/v1/channel/vouchers", await voucherOf(alice, price, 1n));
    expect(replay.status, "the same voucher again is harmless").to.equal(200);
    const channels = JobChannels__factory.connect(channelsAddress, chain.ethers.provider);
    await waitFor("the voucher claimed", async () => (await channels.channel(aliceAddress, providerAddress)).spent === price);
    const stale = await post("/api/v1/channel/vouchers", await voucherOf(alice, price - 1n, 1n));
    expect(stale.body.error?.code).to.equal("CHANNEL_VOUCHER_STALE");
    // Paid once: a few more relayer passes do not claim the same voucher again.
    await new Promise((r) => setTimeout(r, 500));
    const view = await channels.channel(aliceAddress, providerAddress);
    expect([view.spent, view.balance, view.coveredThrough]).to.deep.equal([price, 5n * E18 - price, 1n]);
    expect(await channels.balanceOf(providerAddress)).to.equal(price - (price * 250n) / 10_000n);
    expect(app.journal.channels.claims("failed"), "no claim was refused on-chain").to.have.length(0);
    // The covered request cannot be sent again under its id.
    const covered = await send(alice, await request(alice, { requestId: 1n, maxUnitsMilli: 10n }, "late"), "late");
    expect(covered.body.error?.code).to.be.oneOf(["CHANNEL_REQUEST_ID_COVERED", "CHANNEL_REQUEST_ID_USED"]);
  });

  it("serves the client SDK end to end, and refuses a request its channel's pending withdrawal would close under", async function () {
    const session = await ChannelClient.open(alice, fixture.deployment, providerAddress, { relayerUrl: api });
    const sent = await session.submit({ model: "llama3.2", prompt: "from the SDK", maxUnitsMilli: 100n });
    expect(sent.requestId).to.equal(2n);
    const result = await session.waitForResult(sent.requestId);
    expect(new TextDecoder().decode(result.result as Uint8Array)).to.equal("echo:from the SDK");
    expect(result.fields?.jobId).to.equal(BigInt(sent.digest));
    expect(result.fields?.escrow.toLowerCase()).to.equal(channelsAddress.toLowerCase());

    await requestChannelWithdrawal(alice, fixture.deployment, { provider: providerAddress });
    // The local withdrawal delay is 2 hours: a job due in 3 hours could not be claimed before the channel closes.
    const closing = await send(alice, await request(alice, { requestId: 3n, maxUnitsMilli: 100n, deadline: (await chainTime()) + 3n * 3_600n }, "late"), "late");
    expect([closing.status, closing.body.error?.code]).to.deep.equal([409, "CHANNEL_CLOSING"]);
    const soon = await send(alice, await request(alice, { requestId: 3n, maxUnitsMilli: 100n, deadline: (await chainTime()) + 600n }, "soon"), "soon");
    expect(soon.status, JSON.stringify(soon.body)).to.equal(202);
  });
});

describe("relayer channel mode (in-process chain): a client that never pays", function () {
  this.timeout(180_000);
  let app: RelayerApp;
  let chain: Awaited<ReturnType<typeof network.create>>;

  after(async function () {
    await app?.close();
  });

  it("is claimed through the fallback after the grace period, held for the dispute window, released; its late voucher pays nothing twice", async function () {
    chain = await network.create();
    const [deployer, provider, bob] = await chain.ethers.getSigners();
    const fixture = await deployForRelayer(deployer, provider, [bob]);
    const providerAddress = await provider.getAddress();
    const bobAddress = await bob.getAddress();
    const config = relayerConfig(fixture, { channels: { unpaidGraceSeconds: 1 } });
    app = await startRelayerApp(config, { transport: new Eip1193Transport(chain.provider, "in-process"), runtime: new ScriptedRuntime(), logger: pino({ level: "silent" }), lockDir: fixture.dir });
    await depositToChannel(bob, fixture.deployment, { provider: providerAddress, amount: 5n * E18 });
    const session = await ChannelClient.open(bob, fixture.deployment, providerAddress, { relayerUrl: app.relayer.apiUrl as string });
    const sent = await session.submit({ model: "llama3.2", prompt: "never paid", maxUnitsMilli: 100n });
    const result = await session.waitForResult(sent.requestId);
    const channels = JobChannels__factory.connect(fixture.deployment.contracts.JobChannels as string, chain.ethers.provider);

    await waitFor("the fallback claim held", () => app.journal.channels.get(sent.digest)?.fallback?.status === "held");
    const held = await channels.claimOf(sent.digest);
    const fee = (result.price * 250n) / 10_000n;
    expect([held.status, held.client, held.provider, held.held]).to.deep.equal([1n, bobAddress, providerAddress, result.price - fee]);
    const view = await channels.channel(bobAddress, providerAddress);
    expect([view.spent, view.balance], "the charge left the channel at once").to.deep.equal([result.price, 5n * E18 - result.price]);
    expect(await channels.balanceOf(providerAddress), "held, not yet the provider's").to.equal(0n);

    // Bob vouches late for the same request: nothing is redeemed again (the chain already charged it).
    await session.pay();
    await new Promise((r) => setTimeout(r, 500));
    expect((await channels.channel(bobAddress, providerAddress)).spent).to.equal(result.price);
    expect(app.journal.channels.claims("failed")).to.have.length(0);

    // Past the dispute window the relayer releases it to the provider.
    await chain.provider.request({ method: "evm_increaseTime", params: [601] });
    await chain.provider.request({ method: "evm_mine", params: [] });
    await waitFor("the claim released", async () => (await channels.claimOf(sent.digest)).status === 3n);
    expect(await channels.balanceOf(providerAddress)).to.equal(result.price - fee);
    await waitFor("the journal says released", () => app.journal.channels.get(sent.digest)?.fallback?.status === "released");
    expect((await channels.channel(bobAddress, providerAddress)).balance + result.price).to.equal(5n * E18);
  });
});
