/**
 * The marketplace CLI end to end on a real `hardhat node`: deploy, register a provider, publish its endpoint, check
 * jobs against its offer before any token moves (one test per admission case), submit a private job, settle it with a
 * small driver standing in for the relayer, fetch the result checked against the signed receipt, see the client's
 * refund, and change a rate through the DAO. The provider's relayer API is a real `node:http` server serving fixed
 * answers (an offer built with `offerJson`, the result, the receipt): the real relayer has its own end-to-end tests.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { getBytes, JsonRpcProvider, keccak256, toUtf8Bytes, type JsonRpcSigner } from "ethers";

import { offerJson, type Offer } from "../../lib/market/offer.js";
import { sealEnvelope } from "../../lib/privacy/envelope.js";
import { computeReceiptId } from "../../lib/receipts/receipt.js";
import { resultKeyFor } from "../../lib/sdk/results.js";
import { AITBCToken__factory } from "../../typechain-types/index.js";
import { startFixedServer, type FixedServer } from "../fixtures/fixed-server.js";

import { priceFor } from "../../lib/money/prices.js";
import { base64UrlDecode } from "../../lib/receipts/encoding.js";
import { buildReceipt, receiptHash, signReceipt } from "../../lib/receipts/receipt.js";
import { encodeSettlementRecords } from "../../lib/receipts/settlement.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { serializeReceipt, verifyReceipt } from "../../lib/receipts/receipt.js";
import { providerEntry } from "../../lib/sdk/market.js";
import { receiptTrustedKeyForText } from "../../lib/sdk/key-history.js";
import { proofPathOf } from "../../lib/sdk/proof-files.js";
import { JobEscrow__factory, ProviderRegistry__factory } from "../../typechain-types/index.js";
import { type HardhatNode, parseJsonOutput, startHardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, errorCode, type Workspace } from "../fixtures/cli.js";

const NET = ["--network", "localhost"];
const E18 = 10n ** 18n;

describe("e2e: marketplace tasks on hardhat node", function () {
  this.timeout(240_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let escrowAddress: string;
  let provider: JsonRpcSigner;
  let client: JsonRpcSigner;
  /** The receipt of job 1, signed with the provider's first key and settled on-chain. */
  let settledReceipt: string;
  /** The provider's relayer API, as far as the client's side needs it. */
  let relayerApi: FixedServer;
  let encryptionKey: string;
  const RESULT = "Hello! (a private answer)";

  /** The provider's offer: llama3.2 up to 10 gpu_seconds, prompts up to 1,024 bytes, 60 s before the deadline. */
  async function publishOffer(overrides: Partial<Offer> = {}) {
    const offer: Offer = {
      provider: (await provider.getAddress()).toLowerCase(),
      chainId: 31337n,
      escrow: escrowAddress.toLowerCase(),
      encryptionKey: getBytes(encryptionKey),
      accepts: { public: true, private: true },
      models: [{ name: "llama3.2", minRate: 0n, maxUnitsMilli: 10_000n }],
      limits: { maxPromptBytes: 1024, contextTokens: null, maxTokens: 64, deadlineMarginSeconds: 60, maxJobPrice: null },
      capacity: { maxConcurrentJobs: 4, activeJobs: 0 },
      health: { status: "ok", reasons: [] },
      ...overrides,
    };
    relayerApi.json("/api/v1/offer", offerJson(offer));
  }

  /** What must not change when a job is refused before escrow: the client's tokens, its allowance, the job count. */
  async function moneyState() {
    const deployment = JSON.parse(await readFile(path.join(ws.dir, "deployments", "localhost.json"), "utf8")) as { contracts: Record<string, string> };
    const token = AITBCToken__factory.connect(deployment.contracts.AITBCToken, rpc);
    const escrow = JobEscrow__factory.connect(escrowAddress, rpc);
    const address = await client.getAddress();
    return {
      balance: (await token.balanceOf(address)).toString(),
      allowance: (await token.allowance(address, escrowAddress)).toString(),
      jobs: (await escrow.counters())[0].toString(),
      block: await rpc.getBlockNumber(),
    };
  }

  /** Runs `job:submit` from the client with `args` and expects `code`, with nothing sent and no token moved. */
  async function refusedBeforeEscrow(code: string, args: string[]): Promise<{ hint: string }> {
    const before = await moneyState();
    const defaults = [...(args.includes("--model") ? [] : ["--model", "llama3.2"]), ...(args.includes("--max-units") ? [] : ["--max-units", "2"])];
    const result = await cli("job:submit", ...defaults, "--from", "2", ...args);
    expect(errorCode(result), result.stdout).to.equal(code);
    expect(await moneyState(), "no token moved, nothing was sent").to.deep.equal(before);
    return (JSON.parse(result.stdout) as { error: { hint: string } }).error;
  }

  const cli = async (...args: string[]) => ws.run([...args, ...NET, "--json"]);
  const ok = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return parseJsonOutput<T>(result);
  };

  before(async function () {
    relayerApi = await startFixedServer();
    node = await startHardhatNode();
    ws = await createWorkspace("market-e2e", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    provider = await rpc.getSigner(1);
    client = await rpc.getSigner(2);
  });

  after(async function () {
    await relayerApi?.close();
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("refuses every command before a deployment exists", async function () {
    expect(errorCode(await cli("rates"))).to.equal("DEPLOYMENT_MISSING");
  });

  it("deploys, lists the rate card and registers a provider with a fresh 0600 key file", async function () {
    const deployed = await ok<{ deployment: { contracts: Record<string, string> } }>("deploy");
    escrowAddress = deployed.deployment.contracts.JobEscrow;
    const rates = await ok<{ models: { name: string; id: number; rate: string; enabled: boolean }[] }>("rates");
    expect(rates.models.map((m) => [m.name, m.rate])).to.deep.include(["llama3.2", (2n * E18).toString()]);

    const reg = await ok<{ actions: string[]; keyFile: string; keyCreated: boolean; keyId: string }>("provider:register", "--models", "llama3.2,codellama", "--bond", "100", "--from", "1");
    expect(reg.actions).to.deep.equal(["register"]);
    expect(reg.keyCreated).to.equal(true);
    const keyPath = path.join(ws.dir, reg.keyFile);
    const { stat } = await import("node:fs/promises");
    expect((await stat(keyPath)).mode & 0o777).to.equal(0o600);

    // Running it again with one model less only updates the models; the key file is reused.
    const again = await ok<{ actions: string[]; keyCreated: boolean }>("provider:register", "--models", "llama3.2", "--from", "1");
    expect(again).to.deep.include({ actions: ["update-models"], keyCreated: false });
    // The endpoint clients reach it at, with a fresh 0600 X25519 key file beside the receipt key.
    const endpoint = await ok<{ serviceUrl: string; encryptionKey: string; keyFile: string; keyCreated: boolean }>(
      "provider:endpoint", "--url", `${relayerApi.url}/`, "--from", "1",
    );
    expect(endpoint).to.deep.include({ serviceUrl: relayerApi.url, keyCreated: true });
    encryptionKey = endpoint.encryptionKey;
    expect(endpoint.keyFile).to.match(/\.x25519\.json$/);
    expect((await stat(path.join(ws.dir, endpoint.keyFile))).mode & 0o777).to.equal(0o600);
    const status = await ok<{ state: string; models: string[]; keyId: string; bond: string; serviceUrl: string; encryptionKey: string }>("provider:status", "--from", "1");
    expect(status).to.deep.include({
      state: "active",
      models: ["llama3.2"],
      keyId: reg.keyId,
      bond: (100n * E18).toString(),
      serviceUrl: relayerApi.url,
      encryptionKey: endpoint.encryptionKey,
    });
  });

  it("lists the provider with its endpoint and its offer (`providers`), and says so when the offer does not answer", async function () {
    await publishOffer();
    const listed = await ok<{ providers: { address: string; models: string[]; canServe: boolean; serviceUrl: string; offer: { limits: { max_prompt_bytes: number } } | null; offerError: unknown }[] }>(
      "providers", "--model", "llama3.2",
    );
    expect(listed.providers).to.have.length(1);
    expect(listed.providers[0]).to.deep.include({ address: await provider.getAddress(), models: ["llama3.2"], canServe: true, serviceUrl: relayerApi.url, offerError: null });
    expect(listed.providers[0].offer?.limits.max_prompt_bytes).to.equal(1024);
    expect((await ok<{ providers: unknown[] }>("providers", "--model", "codellama")).providers).to.deep.equal([]);
    relayerApi.routes.delete("/api/v1/offer");
    const silent = await ok<{ providers: { offer: unknown; offerError: { code: string } }[] }>("providers");
    expect(silent.providers[0].offer).to.equal(null);
    expect(silent.providers[0].offerError.code).to.equal("OFFER_UNREACHABLE");
  });

  describe("admission: a job no provider would run is refused before any token moves", function () {
    beforeEach(async function () {
      await publishOffer();
    });

    it("a model nobody serves: MODEL_NOT_OFFERED", async function () {
      await refusedBeforeEscrow("MODEL_NOT_OFFERED", ["--model", "codellama", "--prompt", "hi"]);
    });

    it("--max-units above every provider's cap: UNITS_TOO_LARGE, naming the largest", async function () {
      const { hint } = await refusedBeforeEscrow("UNITS_TOO_LARGE", ["--prompt", "hi", "--max-units", "11"]);
      expect(hint).to.include("--max-units, at most 10");
    });

    it("a deadline too close: DEADLINE_TOO_CLOSE, naming a deadline that fits", async function () {
      const { hint } = await refusedBeforeEscrow("DEADLINE_TOO_CLOSE", ["--prompt", "hi", "--deadline", "30"]);
      expect(hint).to.match(/--deadline \d+/);
    });

    it("a prompt that is not UTF-8: PROMPT_NOT_UTF8", async function () {
      const file = path.join(ws.dir, "latin1.bin");
      await writeFile(file, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
      await refusedBeforeEscrow("PROMPT_NOT_UTF8", ["--prompt-file", file]);
    });

    it("a prompt longer than the offer takes: PROMPT_TOO_LONG", async function () {
      const { hint } = await refusedBeforeEscrow("PROMPT_TOO_LONG", ["--prompt", "x".repeat(1025)]);
      expect(hint).to.include("1024 bytes");
    });

    it("a degraded provider: DEGRADED, naming --force and --provider", async function () {
      await publishOffer({ health: { status: "degraded", reasons: ["runtime does not answer"] } });
      const { hint } = await refusedBeforeEscrow("DEGRADED", ["--prompt", "hi", "--provider", await provider.getAddress()]);
      expect(hint).to.include("--force").and.include("--provider");
    });

    it("a provider whose relayer does not answer: OFFER_UNREACHABLE, naming --force and --provider", async function () {
      relayerApi.routes.delete("/api/v1/offer");
      const { hint } = await refusedBeforeEscrow("OFFER_UNREACHABLE", ["--prompt", "hi"]);
      expect(hint).to.include("--force").and.include("--provider");
    });

    it("private jobs not offered: PRIVATE_NOT_OFFERED, naming --public", async function () {
      await publishOffer({ accepts: { public: true, private: false } });
      const { hint } = await refusedBeforeEscrow("PRIVATE_NOT_OFFERED", ["--prompt", "hi"]);
      expect(hint).to.include("--public");
    });
  });

  it("refuses bad input with a coded error and sends nothing", async function () {
    const before = await rpc.getBlockNumber();
    expect(errorCode(await cli("job:submit", "--model", "llama3.3", "--prompt", "x", "--max-units", "1"))).to.equal("UNKNOWN_MODEL");
    expect(errorCode(await cli("job:submit", "--model", "llama3.2", "--prompt", "x", "--max-units", "1e3"))).to.equal("BAD_UNITS");
    expect(errorCode(await cli("job:submit", "--model", "llama3.2", "--prompt", "x", "--max-units", "1", "--provider", "0x1234"))).to.equal("BAD_ADDRESS");
    expect(errorCode(await cli("provider:register", "--models", "llama3.2", "--bond", "-5", "--from", "3"))).to.equal("BAD_AMOUNT");
    expect(errorCode(await cli("provider:endpoint", "--url", "ftp://miner.example.org", "--from", "1"))).to.equal("BAD_SERVICE_URL");
    expect(errorCode(await cli("provider:endpoint", "--url", "https://miner.example.org", "--from", "3"))).to.equal("PROVIDER_NOT_REGISTERED");
    expect(errorCode(await cli("job:status", "--id", "7"))).to.equal("UNKNOWN_JOB");
    expect(await rpc.getBlockNumber()).to.equal(before);
  });

  it("submits a job with a permit, settles it through a stand-in relayer, and refunds the client", async function () {
    await publishOffer();
    const submitted = await ok<{ jobId: string; escrow: string; funding: string; inputHash: string; private: boolean; recipients: string[]; resultKey: string }>(
      "job:submit", "--model", "llama3.2", "--prompt", "Say hello", "--max-units", "2.5", "--deadline", "600", "--from", "2",
    );
    expect(submitted).to.deep.include({ jobId: "1", escrow: (5n * E18).toString(), funding: "permit", private: true });
    expect(submitted.recipients).to.deep.equal([await provider.getAddress()]);
    // The result key the CLI derived is the one the client's own wallet derives.
    const resultKey = await resultKeyFor(client, 31337n);
    expect(submitted.resultKey).to.equal(`0x${Buffer.from(resultKey.publicKey).toString("hex")}`);
    expect(errorCode(await cli("job:reclaim", "--id", "1", "--from", "2"))).to.equal("DEADLINE_NOT_PASSED");

    // The stand-in relayer: accept, meter 1.2 GPU-seconds, sign the receipt with the registered key, settle.
    const escrow = JobEscrow__factory.connect(escrowAddress, provider);
    await (await escrow.acceptJob(1n)).wait();
    expect(errorCode(await cli("job:cancel", "--id", "1", "--from", "2"))).to.equal("JOB_WRONG_STATE");
    const keyFile = JSON.parse(await readFile(path.join(ws.dir, ".aitbc", "keys", "localhost", `${(await provider.getAddress()).toLowerCase()}.ed25519.json`), "utf8")) as { secret_key: string };
    const now = Math.floor(Date.now() / 1000);
    const unitsMilli = 1_200n;
    const envelope = await sealEnvelope("result", toUtf8Bytes(RESULT), [resultKey.publicKey], { chainId: 31337n, market: escrowAddress, client: await client.getAddress(), jobId: 1n });
    const price = priceFor(unitsMilli, 2n * E18);
    const receipt = signReceipt(
      buildReceipt({
        chainId: 31337n, escrow: escrowAddress, jobId: 1n, provider: await provider.getAddress(), client: await client.getAddress(),
        model: "llama3.2", unitsMilli, priceBase: price, startedAt: now - 2, completedAt: now,
        inputHash: submitted.inputHash, resultHash: keccak256(envelope),
      }),
      base64UrlDecode(keyFile.secret_key) as Uint8Array,
    );
    await (await escrow.settleBatch(encodeSettlementRecords([{ jobId: 1n, unitsMilli, receiptHash: receiptHash(receipt) }]))).wait();
    settledReceipt = serializeReceipt(receipt);
    // The stand-in relayer serves the sealed result and the signed receipt.
    const receiptId = computeReceiptId(31337n, escrowAddress, 1n);
    relayerApi.routes.set("/api/v1/jobs/1/result", { body: envelope, headers: { "content-type": "application/vnd.aitbc.envelope", "x-result-hash": keccak256(envelope) } });
    relayerApi.json(`/api/v1/receipts/${receiptId}`, `{"receipt_id":"${receiptId}","receipt":${settledReceipt},"batch":null,"proof":null}`);
    relayerApi.json("/api/v1/jobs/1", { job_id: "1", state: "settled", private: true, receipt_id: receiptId, refusal: null, refusal_detail: null, failure: null });

    const status = await ok<{ status: string; unitsMilli: string; price: string; refund: string; fee: string }>("job:status", "--id", "1");
    expect(status).to.deep.include({ status: "Settled", unitsMilli: "1200", price: price.toString(), refund: (5n * E18 - price).toString() });
    expect((status as unknown as { relayers: { state: string }[] }).relayers.map((r) => r.state)).to.deep.equal(["settled"]);
    const withdrawn = await ok<{ amount: string }>("withdraw", "--from", "2");
    expect(withdrawn.amount).to.equal((5n * E18 - price).toString());
    expect(errorCode(await cli("withdraw", "--from", "2"))).to.equal("NOTHING_TO_WITHDRAW");
  });

  it("job:result prints the private result after checking it against the signed receipt, writes --out without overwriting, and refuses a wrong hash", async function () {
    const result = await ok<{ text: string; private: boolean; resultHash: string; receipt: { result_hash: string; job_id: string }; contentKey: string }>("job:result", "--id", "1");
    expect(result).to.deep.include({ text: RESULT, private: true });
    expect(result.resultHash).to.equal(result.receipt.result_hash);
    expect(result.contentKey).to.match(/^0x[0-9a-f]{64}$/);
    const out = path.join(ws.dir, "answer.txt");
    await ok("job:result", "--id", "1", "--out", out);
    expect(await readFile(out, "utf8")).to.equal(RESULT);
    expect(errorCode(await cli("job:result", "--id", "1", "--out", out)), "an existing file is kept").to.equal("OUT_EXISTS");
    await ok("job:result", "--id", "1", "--out", out, "--force");
    // Another account's key does not open it.
    expect(errorCode(await cli("job:result", "--id", "1", "--from", "3"))).to.equal("RESULT_NOT_FOR_YOU");

    // A relayer that serves other bytes than it signed: refused, nothing printed or written.
    const served = relayerApi.routes.get("/api/v1/jobs/1/result")!;
    const tampered = new Uint8Array(served.body as Uint8Array);
    tampered[tampered.length - 1] ^= 1;
    relayerApi.routes.set("/api/v1/jobs/1/result", { ...served, body: tampered });
    const tamperedOut = path.join(ws.dir, "tampered.txt");
    const refused = await cli("job:result", "--id", "1", "--out", tamperedOut);
    expect(errorCode(refused)).to.equal("RESULT_HASH_MISMATCH");
    expect(existsSync(tamperedOut), "nothing written").to.equal(false);
    relayerApi.routes.set("/api/v1/jobs/1/result", served);
  });

  it("--force escrows a job the offer refuses; --public sends it in the clear; job:status shows the relayer's refusal and the fix", async function () {
    await publishOffer({ health: { status: "degraded", reasons: ["runtime does not answer"] } });
    const forced = await ok<{ jobId: string; private: boolean; recipients: string[] }>("job:submit", "--model", "llama3.2", "--prompt", "hi", "--max-units", "2", "--force", "--from", "2");
    expect(forced.private).to.equal(true);
    expect(forced.recipients).to.deep.equal([await provider.getAddress()]);
    await publishOffer({ accepts: { public: true, private: false } });
    const pub = await ok<{ jobId: string; private: boolean; recipients: string[]; txHash: string }>("job:submit", "--model", "llama3.2", "--prompt", "hi in the clear", "--max-units", "2", "--public", "--from", "2");
    expect(pub).to.deep.include({ private: false, recipients: [] });
    const tx = await rpc.getTransaction(pub.txHash);
    expect(tx?.data.includes(Buffer.from("hi in the clear").toString("hex"))).to.equal(true);

    relayerApi.json(`/api/v1/jobs/${forced.jobId}`, {
      job_id: forced.jobId, state: "refused", private: true, receipt_id: null, refusal: "UNITS_TOO_LARGE", refusal_detail: "maxUnitsMilli 2000 exceeds 1000 for llama3.2", failure: null,
    });
    const status = await ok<{ status: string; relayers: { provider: string; state: string; refusal: string; refusalDetail: string; hint: string }[] }>("job:status", "--id", forced.jobId);
    expect(status.status).to.equal("Open");
    expect(status.relayers).to.have.length(1);
    expect(status.relayers[0]).to.deep.include({ provider: await provider.getAddress(), state: "refused", refusal: "UNITS_TOO_LARGE" });
    expect(status.relayers[0].hint).to.include("--max-units");
    const human = await ws.run(["job:status", "--id", forced.jobId, ...NET]);
    expect(human.stdout).to.include("refused — UNITS_TOO_LARGE");
    expect(errorCode(await cli("job:result", "--id", forced.jobId, "--from", "2"))).to.equal("RESULT_NOT_READY");
    await ok("job:cancel", "--id", forced.jobId, "--from", "2");
    await ok("job:cancel", "--id", pub.jobId, "--from", "2");
  });

  it("re-anchoring settled receipts whose proof files are lost: the dry run and the real run agree, then nothing is left", async function () {
    const dir = path.join(ws.dir, "lost-proofs");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "job-1.json"), settledReceipt);
    const dry = await ok<{ batches: { path: string; batchId: string; tx: string | null }[] }>("receipt:anchor", "--dir", dir, "--from", "1", "--dry-run");
    expect(dry.batches.map((b) => b.path)).to.deep.equal(["existing"]);
    expect(existsSync(proofPathOf(path.join(dir, "job-1.json"))), "the dry run writes nothing").to.equal(false);
    const blockBefore = await rpc.getBlockNumber();
    const real = await ok<{ batches: { path: string; batchId: string }[] }>("receipt:anchor", "--dir", dir, "--from", "1");
    expect(real.batches.map((b) => [b.path, b.batchId])).to.deep.equal(dry.batches.map((b) => [b.path, b.batchId]));
    expect(await rpc.getBlockNumber(), "nothing was sent").to.equal(blockBefore);
    expect(existsSync(proofPathOf(path.join(dir, "job-1.json")))).to.equal(true);
    expect(errorCode(await cli("receipt:anchor", "--dir", dir, "--from", "1"))).to.equal("NOTHING_TO_ANCHOR");
  });

  it("never replaces a registered receipt key without --rotate-key; after rotation old receipts keep verifying", async function () {
    const registry = ProviderRegistry__factory.connect((await ok<{ deployment: { contracts: Record<string, string> } }>("deploy")).deployment.contracts.ProviderRegistry, rpc);
    const address = await provider.getAddress();
    const oldKey = (await providerEntry(registry, address)).receiptKey;
    const otherFile = path.join(".aitbc", "other-key.json");

    // The attack on a running marketplace: another key file for the same account. Refused, nothing sent.
    const blockBefore = await rpc.getBlockNumber();
    const refused = await cli("provider:register", "--models", "llama3.2", "--from", "1", "--key-file", otherFile);
    expect(errorCode(refused)).to.equal("RECEIPT_KEY_MISMATCH");
    expect(JSON.parse(refused.stdout).error.hint).to.include("--rotate-key");
    expect(await rpc.getBlockNumber()).to.equal(blockBefore);
    expect((await providerEntry(registry, address)).receiptKey).to.equal(oldKey);

    // The honest rotation.
    const rotated = await ok<{ actions: string[]; receiptKey: string }>("provider:register", "--models", "llama3.2", "--from", "1", "--key-file", otherFile, "--rotate-key");
    expect(rotated.actions).to.deep.equal(["set-key"]);
    expect((await providerEntry(registry, address)).receiptKey).to.equal(rotated.receiptKey);

    // The receipt the old key signed before the rotation is still trusted with the old key ...
    const trusted = await receiptTrustedKeyForText(registry, settledReceipt, rotated.receiptKey);
    expect(trusted.toLowerCase()).to.equal(oldKey.toLowerCase());
    expect(verifyReceipt(settledReceipt, { trustedKey: trusted, backend: nodeBackend }).valid).to.equal(true);
    // ... but a receipt the old key signs after the rotation is not.
    const keyFile = JSON.parse(await readFile(path.join(ws.dir, ".aitbc", "keys", "localhost", `${address.toLowerCase()}.ed25519.json`), "utf8")) as { secret_key: string };
    const later = Number((await rpc.getBlock("latest"))?.timestamp ?? 0) + 60;
    const forged = signReceipt(
      buildReceipt({
        chainId: 31337n, escrow: escrowAddress, jobId: 1n, provider: address, client: await client.getAddress(),
        model: "llama3.2", unitsMilli: 1_000n, priceBase: priceFor(1_000n, 2n * E18), startedAt: later - 1, completedAt: later,
        inputHash: `0x${"cd".repeat(32)}`, resultHash: `0x${"ab".repeat(32)}`,
      }),
      base64UrlDecode(keyFile.secret_key) as Uint8Array,
    );
    const forgedText = serializeReceipt(forged);
    const forgedKey = await receiptTrustedKeyForText(registry, forgedText, rotated.receiptKey);
    expect(forgedKey).to.equal(rotated.receiptKey);
    const verdict = verifyReceipt(forgedText, { trustedKey: forgedKey, backend: nodeBackend });
    expect(verdict.valid ? "valid" : verdict.code).to.equal("KEY_NOT_TRUSTED");
  });

  it("changes a rate through the DAO, and `rates` shows it", async function () {
    await ok("dao:delegate");
    const proposal = await ok<{ id: string }>(
      "dao:propose", "--kind", "set-rate", "--model", "llama3.2", "--rate", "2.5", "--description", "Reprice llama3.2 to 2.5 AITBC per GPU-second",
    );
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:vote", "--id", proposal.id, "--support", "for");
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:queue", "--id", proposal.id);
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:execute", "--id", proposal.id);
    const rates = await ok<{ models: { name: string; rate: string }[] }>("rates");
    expect(rates.models.find((m) => m.name === "llama3.2")?.rate).to.equal(((5n * E18) / 2n).toString());
  });
});
