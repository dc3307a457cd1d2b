import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";
import { getBytes, keccak256, type Signer } from "ethers";
import { network } from "hardhat";
import { pino, type Logger } from "pino";

import { parseOffer } from "../../../lib/market/offer.js";
import { loadOrCreateEncryptionKeyFile } from "../../../lib/node/key-file.js";
import { nodeHpke } from "../../../lib/node/hpke-node.js";
import { deriveResultKeyPair, generateEncryptionKeyPair, openEnvelope, resultKeyMessage, type EncryptionKeyPair } from "../../../lib/privacy/envelope.js";
import { sealJobRequest } from "../../../lib/privacy/request.js";
import { Eip1193Transport } from "../../../relayer/adapters/chain/rpc.js";
import { RuntimeError, type RunRequest, type RunResult } from "../../../relayer/adapters/runtimes/types.js";
import { parseRelayerConfig } from "../../../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../../../relayer/app/start.js";
import { formatStatusLine } from "../../../relayer/app/status-line.js";
import { ScriptedRuntime } from "../../fixtures/relayer/system.js";
import { createJobs, deployForRelayer, publishEncryptionKey, type SystemFixture } from "../../../tools/relayer-fixture.js";
import { waitFor } from "../../fixtures/wait.js";

/** A logger at debug level whose every line is kept, to search for what must never be logged. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: "debug" }, { write: (line: string) => lines.push(line) }), lines };
}

/** The scripted runtime, able to hold runs until the relayer stops (they end RUNTIME_ABORTED and run again on start). */
class GatedRuntime extends ScriptedRuntime {
  hold = false;
  started = 0;

  override async run(request: RunRequest): Promise<RunResult> {
    this.started++;
    if (this.hold) {
      await new Promise<never>((_resolve, reject) => {
        request.signal?.addEventListener("abort", () => reject(new RuntimeError("RUNTIME_ABORTED", "the relayer stopped")), { once: true });
      });
    }
    return super.run(request);
  }
}

function contains(haystack: Uint8Array | string, needle: string): boolean {
  const h = typeof haystack === "string" ? Buffer.from(haystack, "utf8") : Buffer.from(haystack);
  return h.includes(Buffer.from(needle, "utf8"));
}

describe("relayer app: private jobs (in-process chain)", function () {
  this.timeout(180_000);

  let fixture: SystemFixture;
  let app: RelayerApp;
  let chainId: bigint;
  let escrow: string;
  let chainNow: number;
  let providerAddress: string;
  let published: { file: string; key: { publicKey: Uint8Array; publicKeyHex: string } };
  let connection: Awaited<ReturnType<typeof network.create>>;
  let log: ReturnType<typeof capturingLogger>;
  let start: (encryptionKeyFile: string) => Promise<RelayerApp>;
  const runtime = new GatedRuntime();
  /** Every API answer read in this file, searched for plaintext at the end. */
  const answers: string[] = [];

  async function get(url: string): Promise<Response> {
    const res = await fetch(url);
    const copy = res.clone();
    answers.push(Buffer.from(await copy.arrayBuffer()).toString("latin1"));
    return res;
  }

  async function resultKeys(client: Signer): Promise<EncryptionKeyPair> {
    return deriveResultKeyPair(getBytes(await client.signMessage(resultKeyMessage(chainId, await client.getAddress()))));
  }

  async function sealedPrompt(client: Signer, prompt: string, recipients: Uint8Array[], context?: { chainId: bigint; client: string }): Promise<Uint8Array> {
    const clientAddress = (await client.getAddress()).toLowerCase();
    const keys = await resultKeys(client);
    return sealJobRequest(
      { prompt: new TextEncoder().encode(prompt), resultKey: keys.publicKey },
      recipients,
      { chainId: context?.chainId ?? chainId, market: escrow, client: context?.client ?? clientAddress },
      nodeHpke,
    );
  }

  before(async function () {
    connection = await network.create();
    const [deployer, provider, ...rest] = await connection.ethers.getSigners();
    fixture = await deployForRelayer(deployer, provider, rest.slice(0, 2));
    published = await publishEncryptionKey(fixture);
    chainId = (await connection.ethers.provider.getNetwork()).chainId;
    escrow = (fixture.deployment.contracts.JobEscrow as string).toLowerCase();
    providerAddress = (await provider.getAddress()).toLowerCase();
    chainNow = Number((await connection.ethers.provider.getBlock("latest"))?.timestamp);
    log = capturingLogger();
    start = (encryptionKeyFile) =>
      startRelayerApp(
        parseRelayerConfig({
          network: "hardhat",
          rpcUrl: "http://in-process.invalid",
          deploymentFile: fixture.deploymentFile,
          evm: { devAccountIndex: 1 },
          providerKeyFile: fixture.keyFile,
          encryptionKeyFile,
          journalPath: path.join(fixture.dir, "journal.sqlite"),
          models: { "llama3.2": { maxUnitsMilli: "600000", minRate: "1" }, "llama3.2:1b": {} },
          policy: { maxConcurrentJobs: 16, maxPromptBytes: 64, deadlineMarginSeconds: 10, maxAcceptBatch: 25, maxJobPrice: "5000000000000000000000" },
          run: { maxTokens: 32 },
          batching: { maxItems: 40, maxAgeSeconds: 0, deadlineMarginSeconds: 20, maxInFlight: 2 },
          chain: { confirmations: 0, pollIntervalMs: 50 },
          http: { port: 0 },
          logLevel: "debug",
        }),
        { transport: new Eip1193Transport(connection.provider, "in-process"), runtime, logger: log.logger, lockDir: fixture.dir },
      );
    app = await start(published.file);
  });

  after(async function () {
    await app?.close();
  });

  it("publishes an offer that parses and carries its own policy, its key and private jobs accepted", async function () {
    const res = await get(`${app.relayer.apiUrl}/api/v1/offer`);
    expect(res.status).to.equal(200);
    const offer = parseOffer(await res.text());
    expect(offer.provider).to.equal(providerAddress);
    expect(offer.chainId).to.equal(chainId);
    expect(offer.escrow).to.equal(escrow);
    expect(Buffer.from(offer.encryptionKey as Uint8Array).equals(Buffer.from(published.key.publicKey))).to.equal(true);
    expect(offer.accepts).to.deep.equal({ public: true, private: true });
    expect(offer.models).to.deep.equal([
      { name: "llama3.2", minRate: 1n, maxUnitsMilli: 600_000n },
      { name: "llama3.2:1b", minRate: 0n, maxUnitsMilli: offer.models[1].maxUnitsMilli },
    ]);
    expect(offer.models[1].maxUnitsMilli > 0n).to.equal(true);
    // No context window known (the scripted runtime reports none): the byte limit is the published one.
    expect(offer.limits).to.deep.equal({ maxPromptBytes: 64, contextTokens: null, maxTokens: 32, deadlineMarginSeconds: 20, maxJobPrice: 5_000n * 10n ** 18n });
    expect(offer.capacity).to.deep.equal({ maxConcurrentJobs: 16, activeJobs: 0 });
    expect(offer.health.status).to.equal("ok");
    expect(app.relayer.status().privateJobs).to.deep.equal({ enabled: true, warning: null });
  });

  it("runs a private job: the result envelope opens with the client's key, matches the receipt, and no plaintext is anywhere", async function () {
    const client = fixture.clients[0];
    const clientAddress = (await client.getAddress()).toLowerCase();
    const prompt = "private question 5f1c9e about payroll";
    const envelope = await sealedPrompt(client, prompt, [published.key.publicKey]);
    const model = fixture.modelIds.get("llama3.2") as number;
    const [id] = await createJobs(fixture, client, [{ model, prompt: envelope, provider: providerAddress }], chainNow);
    await waitFor("the private job settled", () => app.journal.getJob(id)?.state === "settled");

    const job = (await (await get(`${app.relayer.apiUrl}/api/v1/jobs/${id}`)).json()) as { private: boolean; input_hash: string; result_hash: string; receipt_id: string; refusal: string | null };
    expect(job.private).to.equal(true);
    expect(job.refusal).to.equal(null);
    expect(job.input_hash).to.equal(keccak256(envelope));

    const res = await get(`${app.relayer.apiUrl}/api/v1/jobs/${id}/result`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.equal("application/vnd.aitbc.envelope");
    const sealed = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("x-result-hash")).to.equal(keccak256(sealed));
    const receipt = (await (await get(`${app.relayer.apiUrl}/api/v1/receipts/${job.receipt_id}`)).json()) as { receipt: { result_hash: string; input_hash: string } };
    expect(receipt.receipt.result_hash).to.equal(keccak256(sealed));
    expect(receipt.receipt.input_hash).to.equal(keccak256(envelope));

    const opened = await openEnvelope("result", sealed, await resultKeys(client), { chainId, market: escrow, client: clientAddress, jobId: id }, nodeHpke);
    const resultText = new TextDecoder().decode(opened);
    expect(resultText).to.equal(`echo:${prompt}`);

    // The journal keeps envelopes only: neither the prompt nor the result is in the database or its WAL.
    const files = [app.journalPath, `${app.journalPath}-wal`].filter((f) => existsSync(f));
    expect(files.length).to.be.greaterThan(0);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(contains(bytes, prompt), `prompt in ${f}`).to.equal(false);
      expect(contains(bytes, resultText), `result in ${f}`).to.equal(false);
    }
    for (const route of ["/health", "/metrics", "/api/v1/offer", `/api/v1/receipts?client=${clientAddress}`]) await get(`${app.relayer.apiUrl}${route}`);
    for (const text of [...answers, log.lines.join("")]) {
      expect(contains(text, prompt)).to.equal(false);
      expect(contains(text, "payroll")).to.equal(false);
    }
    expect(log.lines.length).to.be.greaterThan(10);
  });

  it("refuses a private job not sealed to its key (NOT_A_RECIPIENT) and one that does not open (BAD_ENVELOPE); a public job runs as before", async function () {
    const client = fixture.clients[1];
    const model = fixture.modelIds.get("llama3.2") as number;
    const stranger = await generateEncryptionKeyPair();
    const notForUs = await sealedPrompt(client, "meant for someone else 81b2", [stranger.publicKey]);
    // Sealed to this provider, but for another client: the context does not match the job's, so it does not open.
    const otherContext = await sealedPrompt(client, "replayed from elsewhere 42aa", [published.key.publicKey], { chainId, client: await fixture.clients[0].getAddress() });
    const [a, b, pub] = await createJobs(
      fixture,
      client,
      [
        { model, prompt: notForUs },
        { model, prompt: otherContext },
        { model, prompt: "a public prompt" },
      ],
      chainNow,
    );
    await waitFor("both refused and the public job settled", () => app.journal.getJob(a)?.state === "refused" && app.journal.getJob(b)?.state === "refused" && app.journal.getJob(pub)?.state === "settled");
    const ja = (await (await get(`${app.relayer.apiUrl}/api/v1/jobs/${a}`)).json()) as { private: boolean; refusal: string; refusal_detail: string };
    expect(ja).to.include({ private: true, refusal: "NOT_A_RECIPIENT" });
    expect(ja.refusal_detail).to.be.a("string").and.not.equal("");
    const jb = (await (await get(`${app.relayer.apiUrl}/api/v1/jobs/${b}`)).json()) as { private: boolean; refusal: string };
    expect(jb).to.include({ private: true, refusal: "BAD_ENVELOPE" });

    const jp = (await (await get(`${app.relayer.apiUrl}/api/v1/jobs/${pub}`)).json()) as { private: boolean; result_hash: string; refusal: string | null };
    expect(jp).to.include({ private: false, refusal: null });
    const res = await get(`${app.relayer.apiUrl}/api/v1/jobs/${pub}/result`);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    const text = await res.text();
    expect(text).to.equal("echo:a public prompt");
    expect(jp.result_hash).to.equal(keccak256(new TextEncoder().encode(text)));
    const journalBytes = () => Buffer.concat([app.journalPath, `${app.journalPath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    // The search sees what the journal holds: the public job's prompt and result are there in clear.
    expect(contains(journalBytes(), "echo:a public prompt"), "the search finds a public result").to.equal(true);
    for (const secret of ["meant for someone else", "replayed from elsewhere"]) {
      expect(contains(log.lines.join(""), secret)).to.equal(false);
      expect(contains(journalBytes(), secret)).to.equal(false);
    }
  });

  it("a private job interrupted mid-run is opened again from its journaled envelope after a restart and settles", async function () {
    const client = fixture.clients[1];
    const clientAddress = (await client.getAddress()).toLowerCase();
    const prompt = "interrupted private prompt 9d0e";
    const envelope = await sealedPrompt(client, prompt, [published.key.publicKey]);
    runtime.hold = true;
    const startedBefore = runtime.started;
    const [id] = await createJobs(fixture, client, [{ model: fixture.modelIds.get("llama3.2") as number, prompt: envelope }], chainNow);
    await waitFor("the run started", () => runtime.started > startedBefore);
    await app.close();
    runtime.hold = false;
    app = await start(published.file);
    await waitFor("settled after the restart", () => app.journal.getJob(id)?.state === "settled");
    expect(app.journal.getJob(id)?.runAttempts).to.equal(2);
    expect(Buffer.from(app.journal.jobs.prompt(id) as Uint8Array).equals(Buffer.from(envelope)), "the journal keeps the envelope as it is on-chain").to.equal(true);
    const sealed = new Uint8Array(await (await get(`${app.relayer.apiUrl}/api/v1/jobs/${id}/result`)).arrayBuffer());
    const opened = await openEnvelope("result", sealed, await resultKeys(client), { chainId, market: escrow, client: clientAddress, jobId: id }, nodeHpke);
    expect(new TextDecoder().decode(opened)).to.equal(`echo:${prompt}`);
    expect(contains(log.lines.join(""), prompt)).to.equal(false);
  });

  it("with a key file that is not the published key it runs public jobs only and says so (status line, offer)", async function () {
    await app.close();
    const other = path.join(fixture.dir, "other.x25519.json");
    await loadOrCreateEncryptionKeyFile(other);
    app = await start(other);
    const status = app.relayer.status();
    expect(status.privateJobs.enabled).to.equal(false);
    expect(status.privateJobs.warning).to.match(/not the one published on-chain/);
    expect(formatStatusLine(status)).to.contain("PUBLIC ONLY");
    const offer = parseOffer(await (await get(`${app.relayer.apiUrl}/api/v1/offer`)).text());
    expect(offer.accepts).to.deep.equal({ public: true, private: false });
    expect(offer.encryptionKey).to.equal(null);
    const client = fixture.clients[0];
    const model = fixture.modelIds.get("llama3.2") as number;
    const [id] = await createJobs(fixture, client, [{ model, prompt: await sealedPrompt(client, "sealed to the published key", [published.key.publicKey]) }], chainNow);
    await waitFor("refused", () => app.journal.getJob(id)?.state === "refused");
    expect(app.journal.getJob(id)?.refusal).to.match(/^NOT_A_RECIPIENT/);
  });
});
