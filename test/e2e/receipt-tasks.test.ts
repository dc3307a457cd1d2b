/**
 * The receipt CLI end to end on a real `hardhat node`: verify files offline (exit codes), anchor a folder of receipts
 * with settle-and-anchor, then verify them against the chain (registered key + anchored inclusion proof).
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { priceFor } from "../../lib/money/prices.js";
import { base64UrlDecode } from "../../lib/receipts/encoding.js";
import { buildReceipt, receiptHash, serializeReceipt, signReceipt } from "../../lib/receipts/receipt.js";
import { JobEscrow__factory } from "../../typechain-types/index.js";
import { type HardhatNode, parseJsonOutput, REPO_ROOT, startHardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, errorCode, type Workspace } from "../fixtures/cli.js";

const NET = ["--network", "localhost"];
const E18 = 10n ** 18n;

describe("e2e: receipt tasks on hardhat node", function () {
  this.timeout(240_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let dir: string;
  let keyId: string;
  const hashes: string[] = [];

  const cli = (...args: string[]) => ws.run([...args, ...NET]);
  const ok = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const result = await cli(...args, "--json");
    expect(result.code, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return parseJsonOutput<T>(result);
  };

  before(async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("receipt-e2e", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    const deployed = await ok<{ deployment: { contracts: Record<string, string> } }>("deploy");
    const escrowAddress = deployed.deployment.contracts.JobEscrow;
    const reg = await ok<{ keyFile: string; keyId: string }>("provider:register", "--models", "llama3.2", "--from", "1");
    // A base64url key id may start with "-", which Hardhat's parser reads as an option: pass such a key as 0x hex,
    // as docs/CLI.md tells users to.
    keyId = reg.keyId.startsWith("-") ? `0x${Buffer.from(reg.keyId, "base64url").toString("hex")}` : reg.keyId;
    const secret = base64UrlDecode((JSON.parse(await readFile(path.join(ws.dir, reg.keyFile), "utf8")) as { secret_key: string }).secret_key) as Uint8Array;

    // Two jobs, accepted by the provider; their receipts are written as a relayer would serve them.
    const provider = await rpc.getSigner(1);
    const client = await rpc.getSigner(2);
    const escrow = JobEscrow__factory.connect(escrowAddress, provider);
    dir = path.join(ws.dir, "receipts");
    await mkdir(dir);
    for (const [i, prompt] of ["first", "second"].entries()) {
      const job = await ok<{ jobId: string; inputHash: string }>("job:submit", "--model", "llama3.2", "--prompt", prompt, "--max-units", "3", "--public", "--force", "--from", "2");
      await (await escrow.acceptJob(BigInt(job.jobId))).wait();
      const unitsMilli = 1_000n + BigInt(i) * 250n;
      const now = Math.floor(Date.now() / 1000);
      const receipt = signReceipt(
        buildReceipt({
          chainId: 31337n, escrow: escrowAddress, jobId: BigInt(job.jobId), provider: await provider.getAddress(), client: await client.getAddress(),
          model: "llama3.2", unitsMilli, priceBase: priceFor(unitsMilli, 2n * E18), startedAt: now - 3, completedAt: now,
          inputHash: job.inputHash, resultHash: `0x${"cd".repeat(32)}`,
        }),
        secret,
      );
      hashes.push(receiptHash(receipt));
      await writeFile(path.join(dir, `job-${job.jobId}.json`), serializeReceipt(receipt));
    }
    // A tampered copy: the metered units changed after signing.
    const tampered = (await readFile(path.join(dir, "job-1.json"), "utf8")).replace('"units_milli":1000', '"units_milli":1001');
    await writeFile(path.join(ws.dir, "tampered.json"), tampered);
  });

  after(async function () {
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("verifies files with a given key: VALID lines and exit 0, INVALID and exit 1 for a tampered file", async function () {
    const files = [path.join(dir, "job-1.json"), path.join(dir, "job-2.json")];
    const good = await cli("receipt:verify", ...files, "--key", keyId);
    expect(good.code, good.stderr).to.equal(0);
    expect(good.stdout.trim().split("\n")).to.deep.equal(
      files.map((f, i) => `VALID ${f} ${hashes[i]} | signature: pass (the given key) | settlement profile: pass`),
    );

    const bad = await cli("receipt:verify", files[0], path.join(ws.dir, "tampered.json"), "--key", keyId, "--json");
    expect(bad.code).to.equal(1);
    const report = parseJsonOutput<{ allValid: boolean; results: { valid: boolean; code?: string }[] }>(bad);
    expect(report.allValid).to.equal(false);
    expect(report.results.map((r) => r.code ?? "ok")).to.deep.equal(["ok", "UNITS_MISMATCH"]);
    expect(errorCode(await cli("receipt:verify", files[0], "--json"))).to.equal("NO_TRUSTED_KEY");
    expect(errorCode(await cli("receipt:verify", files[0], "--key", "AQ", "--json"))).to.equal("BAD_KEY");
  });

  it("finds nothing anchored yet, anchors the folder with settleBatch and writes the proofs", async function () {
    const unanchored = await cli("receipt:verify", path.join(dir, "job-1.json"), "--onchain", "--json");
    expect(unanchored.code).to.equal(1);
    expect(parseJsonOutput<{ results: { code: string }[] }>(unanchored).results[0].code).to.equal("NOT_ANCHORED");

    const dry = await ok<{ batches: { path: string; count: number; batchId: null }[] }>("receipt:anchor", "--dir", dir, "--from", "1", "--dry-run");
    expect(dry.batches).to.deep.equal([{ ...dry.batches[0], path: "settle", count: 2, batchId: null }]);
    const anchored = await ok<{ batches: { path: string; count: number; batchId: string; root: string; gasUsed: string }[] }>("receipt:anchor", "--dir", dir, "--from", "1");
    expect(anchored.batches).to.have.length(1);
    expect(anchored.batches[0]).to.deep.include({ path: "settle", count: 2, batchId: "1" });
    expect(Number(anchored.batches[0].gasUsed)).to.be.greaterThan(0);
    expect(errorCode(await cli("receipt:anchor", "--dir", dir, "--from", "1", "--json"))).to.equal("NOTHING_TO_ANCHOR");

    const status = await ok<{ status: string }>("job:status", "--id", "2");
    expect(status.status).to.equal("Settled");
  });

  it("verifies the anchored receipts against the chain, and lists and shows them", async function () {
    const files = [path.join(dir, "job-1.json"), path.join(dir, "job-2.json")];
    const result = await cli("receipt:verify", ...files, "--onchain");
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout.trim().split("\n")).to.deep.equal(
      files.map((f, i) => `VALID ${f} ${hashes[i]} | signature: pass (the key registered on-chain) | settlement profile: pass | on-chain: pass (batch 1)`),
    );

    // A glob over the folder also matches the proofs: they are reported as the proofs of their receipts, never as
    // INVALID receipts, and --onchain reads them with their receipts.
    const everything = (await readdir(dir)).sort().map((f) => path.join(dir, f));
    expect(everything.filter((f) => f.endsWith(".proof.json"))).to.have.length(2);
    const globbed = await cli("receipt:verify", ...everything, "--onchain");
    expect(globbed.code, globbed.stdout + globbed.stderr).to.equal(0);
    const lines = globbed.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("INVALID"))).to.deep.equal([]);
    expect(lines.filter((l) => l.startsWith("VALID"))).to.have.length(2);
    expect(lines.filter((l) => l.startsWith("PROOF")).map((l) => l.split(":")[0])).to.deep.equal(files.map((f) => `PROOF ${f}.proof.json`));
    const offline = await cli("receipt:verify", ...everything, "--key", keyId);
    expect(offline.code, offline.stdout).to.equal(0);
    expect(offline.stdout).to.not.match(/^INVALID/m);
    expect(errorCode(await cli("receipt:verify", `${files[0]}.proof.json`, "--key", keyId, "--json"))).to.equal("NO_RECEIPTS");

    // A receipt of the AITBC network that is no settlement receipt (the payments guide's example) cannot be checked
    // on-chain: it is refused for the missing profile field, naming what on-chain checks need.
    const reference = JSON.parse(await readFile(path.join(REPO_ROOT, "test", "vectors", "reference.json"), "utf8")) as { valid: { name: string; document: string }[] };
    await writeFile(path.join(ws.dir, "guide.json"), reference.valid.find((v) => v.name === "payments guide example")!.document);
    const guide = await cli("receipt:verify", path.join(ws.dir, "guide.json"), "--onchain", "--json");
    expect(guide.code).to.equal(1);
    const guideVerdict = parseJsonOutput<{ results: { code: string; reason: string; layers: { settlement: { status: string }; onchain: { status: string } } }[] }>(guide).results[0];
    expect([guideVerdict.code, guideVerdict.layers.settlement.status, guideVerdict.layers.onchain.status]).to.deep.equal(["MISSING_FIELD", "fail", "skip"]);
    expect(guideVerdict.reason).to.match(/^on-chain checks need the settlement profile: field version is missing/);

    // The relayer's answer for a receipt, saved as a file, is verified as the receipt it carries.
    const answerText = `{"receipt_id":"${"0x" + "00".repeat(32)}","batch_id":1,"receipt":${await readFile(files[1], "utf8")},"batch":null,"proof":null}`;
    await writeFile(path.join(ws.dir, "served.json"), answerText);
    const answer = parseJsonOutput<{ results: { file: string; valid: boolean; receiptHash: string }[] }>(await cli("receipt:verify", path.join(ws.dir, "served.json"), "--key", keyId, "--json"));
    expect(answer.results.map((r) => [r.valid, r.receiptHash])).to.deep.equal([[true, hashes[1]]]);

    const list = await ok<{ receipts: { jobId: string; anchored: boolean; batchId: string }[] }>("receipts", "--provider", await (await rpc.getSigner(1)).getAddress());
    expect(list.receipts.map((r) => [r.jobId, r.anchored, r.batchId])).to.deep.equal([["1", true, "1"], ["2", true, "1"]]);
    const shown = await ok<{ receiptId: string; jobId: string }>("receipt:show", "2");
    const byReceiptId = await ok<{ jobId: string }>("receipt:show", shown.receiptId);
    expect(byReceiptId.jobId).to.equal("2");
    expect(errorCode(await cli("receipt:show", `0x${"11".repeat(32)}`, "--json"))).to.equal("UNKNOWN_RECEIPT");

    // With --relayer, the signed receipt is shown verified; one that does not verify is INVALID and the exit code says so.
    // The answer is served in the relayer's /api/v1/receipts/:id format by a plain HTTP server.
    const genuine = await readFile(path.join(dir, "job-2.json"), "utf8");
    let served = genuine;
    const server = createServer((req, res) => {
      if (req.url !== `/api/v1/receipts/${shown.receiptId}`) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NOT_FOUND"}}');
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(`{"receipt_id":"${shown.receiptId}","batch_id":1,"receipt":${served},"batch":null,"proof":null}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const relayer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const valid = await cli("receipt:show", "2", "--relayer", relayer);
      expect(valid.code, valid.stdout + valid.stderr).to.equal(0);
      expect(valid.stdout).to.contain(`signed receipt VALID ${hashes[1]}`);
      served = genuine.replace('"model":"llama3.2"', '"model":"llama3.3"');
      const invalid = await cli("receipt:show", "2", "--relayer", relayer);
      expect(invalid.stdout).to.match(/signed receipt INVALID: .*\[ED25519_SIGNATURE_INVALID\]/);
      expect(invalid.code).to.equal(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
