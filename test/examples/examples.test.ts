/**
 * Runs every script in examples/ against a real `hardhat node`: a miner embeds the relayer, a client submits a job
 * and verifies its receipt on-chain, a watcher follows the anchored batch and audits the relayer, and the receipt file
 * is verified offline (also as a separate process, the way the scripts are meant to be run).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider } from "ethers";

import { useSourceCondition, SOURCE_CONDITION } from "../fixtures/source-condition.js";
import { deploySystem } from "../../lib/deploy/system.js";
import { REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";

// The examples import the package by its name; from this repository that resolves to the TypeScript sources through
// the `aitbc-source` export condition (no dist/ build needed), in-process and in the child processes alike.
useSourceCondition();
const client = (await import("../../examples/client-submit-and-verify.js")) as typeof import("../../examples/client-submit-and-verify.js");
const miner = (await import("../../examples/miner-embedded-relayer.js")) as typeof import("../../examples/miner-embedded-relayer.js");
const offline = (await import("../../examples/verify-receipt-offline.js")) as typeof import("../../examples/verify-receipt-offline.js");
const watcher = (await import("../../examples/watcher-follow-batches.js")) as typeof import("../../examples/watcher-follow-batches.js");

const EXAMPLES_DIR = path.join(REPO_ROOT, "examples");
const TSX = import.meta.resolve("tsx/esm");
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const dev = (i: number) => HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);

/** Every example this suite runs; the first test checks that it is the whole folder. */
const RUN = ["client-submit-and-verify.ts", "miner-embedded-relayer.ts", "verify-receipt-offline.ts", "watcher-follow-batches.ts"];

function runScript(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", `--conditions=${SOURCE_CONDITION}`, "--import", TSX, file, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("examples/ against hardhat node", function () {
  this.timeout(240_000);
  let node: HardhatNode;
  let dir: string;
  let deploymentFile: string;
  let deploymentBlock: number;
  let minerApp: Awaited<ReturnType<typeof miner.main>> | undefined;
  let clientResult: Awaited<ReturnType<typeof client.main>>;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  before(async function () {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-examples-"));
    const rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    try {
      const deployer = await rpc.getSigner(0);
      const deployment = await deploySystem(deployer, { network: "localhost", devAccounts: [dev(1).address, dev(2).address] });
      deploymentBlock = deployment.block;
      deploymentFile = path.join(dir, "localhost.json");
      await writeFile(deploymentFile, JSON.stringify(deployment, null, 2));
    } finally {
      rpc.destroy();
    }
  });

  after(async function () {
    await minerApp?.app.close();
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("runs every file in examples/", async function () {
    const files = (await readdir(EXAMPLES_DIR)).sort();
    expect(files).to.deep.equal(RUN);
  });

  it("imports the SDK by its package name only, so each example can be copied into a project that installs aitbc-evm", async function () {
    for (const file of RUN) {
      const source = await readFile(path.join(EXAMPLES_DIR, file), "utf8");
      const specifiers = [...source.matchAll(/^import [^;]*? from "([^"]+)";$/gms)].map((m) => m[1]);
      expect(specifiers, file).to.include("aitbc-evm");
      expect(specifiers.filter((s) => s.startsWith(".")), `${file} imports a repository path`).to.deep.equal([]);
    }
    // From a checkout the name maps to the sources; an installed package (no condition) resolves to the built dist/.
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>>; files: string[] };
    expect(Object.entries(pkg.exports["."])[0]).to.deep.equal([SOURCE_CONDITION, "./lib/sdk/index.ts"]);
    expect(pkg.exports["."].default).to.equal("./dist/lib/sdk/index.js");
    expect(pkg.files).to.not.include("lib/");
  });

  it("miner-embedded-relayer: registers the provider and serves the relayer API", async function () {
    minerApp = await miner.main({ rpcUrl: node.url, deploymentFile, privateKey: dev(1).privateKey, dataDir: path.join(dir, "miner"), port: 0, log });
    const health = await fetch(`${minerApp.apiUrl}/health`);
    expect(health.status).to.equal(200);
    expect(lines.some((l) => l.includes(": register"))).to.equal(true);
  });

  it("client-submit-and-verify: submits with a permit, waits for the anchored receipt and verifies it on-chain", async function () {
    clientResult = await client.main({
      rpcUrl: node.url,
      deploymentFile,
      relayerUrl: minerApp!.apiUrl,
      privateKey: dev(2).privateKey,
      outDir: path.join(dir, "receipts"),
      prompt: "Say hello.",
      maxUnits: "30",
      log,
    });
    expect(clientResult.jobId).to.equal(1n);
    expect(clientResult.batchId).to.equal(1n);
    expect(lines.some((l) => l.startsWith("job 1 created") && l.endsWith("(permit)"))).to.equal(true);
    const receipt = JSON.parse(await readFile(clientResult.receiptFile, "utf8")) as { job_id: string; client: string };
    expect(receipt.job_id).to.equal("1");
    expect(receipt.client).to.equal(dev(2).address.toLowerCase());
  });

  it("watcher-follow-batches: reports the anchored batch and verifies every receipt the relayer serves for it", async function () {
    const audited = await watcher.main({ rpcUrl: node.url, deploymentFile, relayerUrl: minerApp!.apiUrl, fromBlock: deploymentBlock, maxBatches: 1, log });
    expect(audited).to.have.length(1);
    const [first] = audited;
    expect(first.batch.batchId).to.equal(1n);
    expect(first.batch.root).to.equal(clientResult.root);
    expect(first.batch.settlement?.provider).to.equal(dev(1).address);
    expect({ served: first.served, verified: first.verified, problems: first.problems }).to.deep.equal({ served: 1, verified: 1, problems: [] });
  });

  it("watcher-follow-batches: stops on its signal while waiting for new batches", async function () {
    const stop = new AbortController();
    const pending = watcher.main({ rpcUrl: node.url, deploymentFile, fromBlock: (await new JsonRpcProvider(node.url).getBlockNumber()) + 1, signal: stop.signal, log });
    setTimeout(() => stop.abort(), 300);
    expect(await pending).to.deep.equal([]);
  });

  it("verify-receipt-offline: accepts the receipt with the registered key and its proof, refuses a tampered copy", async function () {
    const good = await offline.main({ receiptFile: clientResult.receiptFile, key: clientResult.keyId, log });
    expect(good.valid).to.equal(true);
    expect(good.proofChecked).to.equal(true);
    if (good.valid) expect(good.receiptHash).to.equal(clientResult.receiptHash);

    const tamperedFile = path.join(dir, "tampered.json");
    const text = await readFile(clientResult.receiptFile, "utf8");
    await writeFile(tamperedFile, text.replace(/"model":"llama3\.2"/, '"model":"codellama"'));
    const bad = await offline.main({ receiptFile: tamperedFile, key: clientResult.keyId, log });
    expect(bad.valid).to.equal(false);
    if (!bad.valid) expect(bad.code).to.equal("ED25519_SIGNATURE_INVALID");

    const otherKey = await offline.main({ receiptFile: clientResult.receiptFile, key: `0x${"11".repeat(32)}`, log });
    expect(otherKey.valid ? "valid" : otherKey.code).to.equal("KEY_NOT_TRUSTED");
  });

  it("verify-receipt-offline: runs as a script with exit code 0 for a valid receipt and 1 for a tampered one", async function () {
    const script = path.join(EXAMPLES_DIR, "verify-receipt-offline.ts");
    const ok = await runScript(script, [clientResult.receiptFile, "--key", clientResult.keyId]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal(`VALID ${clientResult.receiptHash} (in root ${clientResult.root})`);
    const bad = await runScript(script, [path.join(dir, "tampered.json"), "--key", clientResult.keyId]);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/^INVALID ED25519_SIGNATURE_INVALID:/);

    // One base64url key_id in 64 begins with "-": the script takes it as the value of --key, not as a flag. This key
    // is not the signer's, so the receipt is refused for that reason, with the verdict's exit code.
    const dashKey = Buffer.alloc(32, 0xf8).toString("base64url");
    expect(dashKey.startsWith("-")).to.equal(true);
    const dash = await runScript(script, [clientResult.receiptFile, "--key", dashKey]);
    expect(dash.code, dash.stderr).to.equal(1);
    expect(dash.stdout).to.match(/^INVALID KEY_NOT_TRUSTED:/);
    const joined = await runScript(script, [`--key=${clientResult.keyId}`, clientResult.receiptFile]);
    expect(joined.code, joined.stderr).to.equal(0);

    const usage = await runScript(script, [clientResult.receiptFile, "--kee", clientResult.keyId]);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include("usage: verify-receipt-offline.ts <receipt.json> --key <key_id>");
  });
});
