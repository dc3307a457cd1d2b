/**
 * The release as a user gets it: `npm run release` builds dist/ and packs the package; the tarball is installed into
 * an empty project, where the `aitbc-miner` command prints its usage and the SDK verifies a receipt through the
 * package's entry point (and serves an ABI through `aitbc-evm/abi/*`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { priceFor } from "../../lib/money/prices.js";
import { getPublicKey, randomSecretKey } from "../../lib/receipts/ed25519.js";
import { buildReceipt, computeReceiptId, keyIdOf, receiptHash, serializeReceipt, signReceipt } from "../../lib/receipts/receipt.js";
import { buildRelease } from "../../scripts/release.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.npm_config_call;
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** npm as the test's runner found it: the npm that started the tests, else `npm` on PATH. */
function npm(args: string[], cwd: string): Promise<Run> {
  const cli = process.env.npm_execpath;
  return cli !== undefined && cli.endsWith(".js") ? run(process.execPath, [cli, ...args], cwd) : run("npm", args, cwd);
}

const CHECK_SCRIPT = `import { readFileSync } from "node:fs";
import { computeReceiptId, verifyReceipt } from "aitbc-evm";
import abi from "aitbc-evm/abi/JobEscrow.json" with { type: "json" };

const [file, key] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const good = verifyReceipt(text, { trustedKey: key });
const tampered = verifyReceipt(text.replace('"model":"llama3.2"', '"model":"codellama"'), { trustedKey: key });
const untrusted = verifyReceipt(text);
console.log(JSON.stringify({
  valid: good.valid,
  receiptHash: good.valid ? good.receiptHash : null,
  receiptId: computeReceiptId(31337n, "0x${"5f".repeat(20)}", 7n),
  tampered: tampered.valid ? "valid" : tampered.code,
  untrusted: untrusted.valid ? "valid" : untrusted.code,
  abiHasSettleBatch: abi.some((f) => f.type === "function" && f.name === "settleBatch"),
}));
`;

describe("release: npm pack, install and use", function () {
  this.timeout(240_000);
  let dir: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-release-"));
  });

  after(async function () {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("packs the package, installs the tarball, runs aitbc-miner --help and verifies a receipt through the SDK", async function () {
    const { tarball, abis } = await buildRelease({ outDir: path.join(dir, "release"), log: () => undefined });
    expect(path.basename(tarball)).to.equal("aitbc-evm-0.2.0.tgz");
    expect(abis).to.be.greaterThan(5);

    const project = path.join(dir, "consumer");
    await mkdir(project);
    await writeFile(path.join(project, "package.json"), `${JSON.stringify({ name: "consumer", private: true, type: "module" })}\n`);
    // Dependencies come from the local npm cache; a version it lacks (a newer transitive release) is fetched.
    const common = ["install", "--no-audit", "--no-fund", "--omit=optional", "--ignore-scripts", tarball];
    let installed = await npm(["--offline", ...common], project);
    if (installed.code !== 0 && /ENOTCACHED/.test(installed.stdout + installed.stderr)) installed = await npm(["--prefer-offline", ...common], project);
    expect(installed.code, installed.stdout + installed.stderr).to.equal(0);

    // Every document the packaged README links to is in the package.
    const installedRoot = path.join(project, "node_modules", "aitbc-evm");
    const readme = await readFile(path.join(installedRoot, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).to.be.greaterThan(3);
    for (const link of links) expect(existsSync(path.join(installedRoot, link)), `README links ${link}, which the package lacks`).to.equal(true);

    // The miner is its own entry; the benchmark contract's ABI is not shipped.
    expect(existsSync(path.join(installedRoot, "dist", "abi", "NaiveEscrow.json")), "the benchmark ABI is packaged").to.equal(false);
    expect(existsSync(path.join(installedRoot, "dist", "abi", "JobEscrow.json"))).to.equal(true);
    const miner = await run(process.execPath, ["--input-type=module", "-e", 'const m = await import("aitbc-evm/miner"); console.log(typeof m.startMiner, typeof m.registerProvider);'], project);
    expect(miner.code, miner.stderr).to.equal(0);
    expect(miner.stdout.trim()).to.equal("function function");

    const help = await run(process.execPath, [path.join(project, "node_modules", ".bin", "aitbc-miner"), "--help"], project);
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^usage: /);
    expect(help.stdout).to.include("--rpc-url");

    const secret = randomSecretKey();
    const receipt = signReceipt(
      buildReceipt({
        chainId: 31337n, escrow: `0x${"5f".repeat(20)}`, jobId: 7n, provider: `0x${"aa".repeat(20)}`, client: `0x${"bb".repeat(20)}`,
        model: "llama3.2", unitsMilli: 1500n, priceBase: priceFor(1500n, 2n * 10n ** 18n), startedAt: 1_790_000_000, completedAt: 1_790_000_002,
        inputHash: `0x${"01".repeat(32)}`, resultHash: `0x${"02".repeat(32)}`,
      }),
      secret,
    );
    const receiptFile = path.join(project, "receipt.json");
    await writeFile(receiptFile, serializeReceipt(receipt));
    expect(await readFile(receiptFile, "utf8")).to.include('"model":"llama3.2"');
    await writeFile(path.join(project, "check.mjs"), CHECK_SCRIPT);
    const checked = await run(process.execPath, ["check.mjs", receiptFile, keyIdOf(getPublicKey(secret))], project);
    expect(checked.code, checked.stderr).to.equal(0);
    expect(JSON.parse(checked.stdout)).to.deep.equal({
      valid: true,
      receiptHash: receiptHash(receipt),
      receiptId: computeReceiptId(31337n, `0x${"5f".repeat(20)}`, 7n),
      tampered: "ED25519_SIGNATURE_INVALID",
      untrusted: "KEY_NOT_TRUSTED",
      abiHasSettleBatch: true,
    });
  });
});
