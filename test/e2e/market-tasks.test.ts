/**
 * The marketplace CLI end to end on a real `hardhat node`: deploy, register a provider, submit a job, settle it with a
 * small driver standing in for the relayer, see the client's refund, and change a rate through the DAO.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, type JsonRpcSigner } from "ethers";

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

  const cli = async (...args: string[]) => ws.run([...args, ...NET, "--json"]);
  const ok = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return parseJsonOutput<T>(result);
  };

  before(async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("market-e2e", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    provider = await rpc.getSigner(1);
    client = await rpc.getSigner(2);
  });

  after(async function () {
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
      "provider:endpoint", "--url", "https://miner.example.org:8788/", "--from", "1",
    );
    expect(endpoint).to.deep.include({ serviceUrl: "https://miner.example.org:8788", keyCreated: true });
    expect(endpoint.keyFile).to.match(/\.x25519\.json$/);
    expect((await stat(path.join(ws.dir, endpoint.keyFile))).mode & 0o777).to.equal(0o600);
    const status = await ok<{ state: string; models: string[]; keyId: string; bond: string; serviceUrl: string; encryptionKey: string }>("provider:status", "--from", "1");
    expect(status).to.deep.include({
      state: "active",
      models: ["llama3.2"],
      keyId: reg.keyId,
      bond: (100n * E18).toString(),
      serviceUrl: "https://miner.example.org:8788",
      encryptionKey: endpoint.encryptionKey,
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
    const submitted = await ok<{ jobId: string; escrow: string; funding: string; inputHash: string }>(
      "job:submit", "--model", "llama3.2", "--prompt", "Say hello", "--max-units", "2.5", "--deadline", "600", "--from", "2",
    );
    expect(submitted).to.deep.include({ jobId: "1", escrow: (5n * E18).toString(), funding: "permit" });
    expect(errorCode(await cli("job:reclaim", "--id", "1", "--from", "2"))).to.equal("DEADLINE_NOT_PASSED");

    // The stand-in relayer: accept, meter 1.2 GPU-seconds, sign the receipt with the registered key, settle.
    const escrow = JobEscrow__factory.connect(escrowAddress, provider);
    await (await escrow.acceptJob(1n)).wait();
    expect(errorCode(await cli("job:cancel", "--id", "1", "--from", "2"))).to.equal("JOB_WRONG_STATE");
    const keyFile = JSON.parse(await readFile(path.join(ws.dir, ".aitbc", "keys", "localhost", `${(await provider.getAddress()).toLowerCase()}.ed25519.json`), "utf8")) as { secret_key: string };
    const now = Math.floor(Date.now() / 1000);
    const unitsMilli = 1_200n;
    const price = priceFor(unitsMilli, 2n * E18);
    const receipt = signReceipt(
      buildReceipt({
        chainId: 31337n, escrow: escrowAddress, jobId: 1n, provider: await provider.getAddress(), client: await client.getAddress(),
        model: "llama3.2", unitsMilli, priceBase: price, startedAt: now - 2, completedAt: now,
        inputHash: submitted.inputHash, resultHash: `0x${"ab".repeat(32)}`,
      }),
      base64UrlDecode(keyFile.secret_key) as Uint8Array,
    );
    await (await escrow.settleBatch(encodeSettlementRecords([{ jobId: 1n, unitsMilli, receiptHash: receiptHash(receipt) }]))).wait();
    settledReceipt = serializeReceipt(receipt);

    const status = await ok<{ status: string; unitsMilli: string; price: string; refund: string; fee: string }>("job:status", "--id", "1");
    expect(status).to.deep.include({ status: "Settled", unitsMilli: "1200", price: price.toString(), refund: (5n * E18 - price).toString() });
    const withdrawn = await ok<{ amount: string }>("withdraw", "--from", "2");
    expect(withdrawn.amount).to.equal((5n * E18 - price).toString());
    expect(errorCode(await cli("withdraw", "--from", "2"))).to.equal("NOTHING_TO_WITHDRAW");
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
