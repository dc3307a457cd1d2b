/**
 * The `aitbc-miner` command (relayer/main.ts, what bin/aitbc-miner.js runs once built) keeps the project's error
 * contract: a stable code, the message and a fix that makes sense to someone who installed the package, an exit status
 * by cause (2 configuration, 3 RPC outage, 4 port taken), and with `--json` one JSON object on stdout.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, NonceManager } from "ethers";

import { toContractError } from "../../../lib/node/error-contract.js";
import { deploySystem } from "../../../lib/deploy/system.js";
import type { Deployment } from "../../../lib/deployments.js";
import { defaultKeyFile, loadOrCreateKeyFile } from "../../../lib/node/key-file.js";
import { registerProvider } from "../../../lib/sdk/miner.js";
import { MINER_HINTS } from "../../../relayer/app/command-errors.js";
import { exitCodeFor } from "../../../relayer/app/status-line.js";
import { freePort, REPO_ROOT, startHardhatNode, type HardhatNode } from "../../../tools/hardhat-node.js";

const TSX = import.meta.resolve("tsx/esm");
const MAIN = path.join(REPO_ROOT, "relayer", "main.ts");
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const dev = (i: number) => HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function miner(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
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

/** The one JSON error object `--json` prints, after checking that stdout holds nothing else. */
function jsonError(run: Run): { code: string; message: string; hint?: string } {
  const parsed = JSON.parse(run.stdout) as { error: { code: string; message: string; hint?: string } };
  expect(Object.keys(parsed)).to.deep.equal(["error"]);
  return parsed.error;
}

/** A fix for a package user: no project task to run. */
function expectPackageHint(hint: string | undefined): void {
  expect(hint, "hint").to.be.a("string").and.not.equal("");
  expect(hint).to.not.match(/npx hardhat/);
}

describe("aitbc-miner: the error contract of the command", function () {
  let dir: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-miner-cli-"));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("an unknown flag: UNKNOWN_OPTION, exit 2, pointing at aitbc-miner --help; with --json one JSON object", async function () {
    const human = await miner(["--bogus"], dir);
    expect(human.code).to.equal(2);
    expect(human.stdout).to.equal("");
    expect(human.stderr).to.match(/^✖ .*\[UNKNOWN_OPTION\]\n {2}→ Run `aitbc-miner --help`/);
    expect(human.stderr).to.not.match(/\n\s+at /); // no stack trace
    expect(human.stderr).to.not.include("ExperimentalWarning"); // node:sqlite's warning is not the user's problem

    const json = await miner(["--bogus", "--json"], dir);
    expect(json.code).to.equal(2);
    const error = jsonError(json);
    expect(error.code).to.equal("UNKNOWN_OPTION");
    expect(error.hint).to.include("aitbc-miner --help");
  });

  it("a port that is not a number: BAD_ARGUMENT, exit 2, before anything is read", async function () {
    const run = await miner(["--port", "eighty", "--json"], dir);
    expect(run.code).to.equal(2);
    expect(jsonError(run).code).to.equal("BAD_ARGUMENT");
  });

  it("no deployment file: RELAYER_INVALID_CONFIG, exit 2, saying how a package user gets one", async function () {
    const run = await miner(["--dev-account", "1", "--deployment-file", path.join(dir, "missing.json"), "--json"], dir);
    expect(run.code).to.equal(2);
    const error = jsonError(run);
    expect(error.code).to.equal("RELAYER_INVALID_CONFIG");
    expectPackageHint(error.hint);
    expect(error.hint).to.include("--deployment-file");
    expect(error.hint).to.include("operator");
    expect(run.stderr).to.not.include("ExperimentalWarning"); // the journal's node:sqlite loaded without the noise
  });

  it("an unexpected error is INTERNAL with exit 1; RPC outages exit 3; the hints name the command's own help", function () {
    const bug = toContractError(new TypeError("Cannot read properties of undefined"), MINER_HINTS);
    expect(bug.code).to.equal("INTERNAL");
    expect(exitCodeFor(bug.code)).to.equal(1);
    const refused = toContractError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), MINER_HINTS);
    expect(refused.code).to.equal("RPC_UNREACHABLE");
    expect(exitCodeFor(refused.code)).to.equal(3);
    expectPackageHint(refused.hint);
    const range = toContractError(new RangeError("Invalid array length"), MINER_HINTS);
    expect(range.code).to.equal("BAD_ARGUMENT");
    expect(range.hint).to.include("aitbc-miner --help");
  });

  describe("against a hardhat node", function () {
    let node: HardhatNode;
    let deploymentFile: string;
    let configFile: string;
    let deployment: Deployment;

    before(async function () {
      node = await startHardhatNode();
      const rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
      try {
        deployment = await deploySystem(await rpc.getSigner(0), { network: "localhost", devAccounts: [dev(1).address, dev(2).address] });
        deploymentFile = path.join(dir, "localhost.json");
        await writeFile(deploymentFile, JSON.stringify(deployment, null, 2));
      } finally {
        rpc.destroy();
      }
      configFile = path.join(dir, "fast.json");
      await writeFile(configFile, JSON.stringify({ chain: { startupRetrySeconds: 1 } }));
    });

    after(async function () {
      await node?.stop();
    });

    it("an unregistered provider: refused with exit 2 and a package user's fix; the key file is the account's own", async function () {
      const run = await miner(["--rpc-url", node.url, "--deployment-file", deploymentFile, "--dev-account", "7", "--port", "0", "--json"], dir);
      expect(run.code, run.stderr).to.equal(2);
      const error = jsonError(run);
      expect(error.code).to.equal("RELAYER_INVALID_CONFIG");
      expect(error.message).to.include("is not a registered provider");
      expectPackageHint(error.hint);
      expect(error.hint).to.include("registerProvider");
      // The receipt key went to the file of this network and account, not to one file shared by every account.
      expect(existsSync(path.join(dir, defaultKeyFile("localhost", dev(7).address))), "per-account key file").to.equal(true);
      expect(existsSync(path.join(dir, ".aitbc", "keys", "provider-ed25519.json")), "shared key file").to.equal(false);
    });

    it("the API port taken: RELAYER_PORT_IN_USE with exit 4", async function () {
      const port = await freePort();
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
      try {
        const run = await miner(["--rpc-url", node.url, "--deployment-file", deploymentFile, "--dev-account", "1", "--port", String(port), "--journal", path.join(dir, "port.sqlite")], dir);
        expect(run.code, run.stderr).to.equal(4);
        expect(run.stderr).to.include("[RELAYER_PORT_IN_USE]");
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    });

    it("nothing answers at the RPC URL: RELAYER_RPC_UNAVAILABLE with exit 3 and no project command in the fix", async function () {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = await miner(["--config", configFile, "--rpc-url", url, "--deployment-file", deploymentFile, "--dev-account", "2", "--port", "0", "--json"], dir);
      expect(run.code, run.stderr).to.equal(3);
      const error = jsonError(run);
      expect(error.code).to.equal("RELAYER_RPC_UNAVAILABLE");
      expectPackageHint(error.hint);
      expect(error.hint).to.include("--rpc-url");
    });

    it("a registered provider starts; with --json stdout holds exactly one `started` object and the logs go to stderr", async function () {
      const provider = dev(2); // funded by the local deployment
      const { key } = await loadOrCreateKeyFile(path.join(dir, defaultKeyFile("localhost", provider.address)));
      const rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
      try {
        await registerProvider(new NonceManager(provider.connect(rpc)), deployment, { receiptKey: key.publicKeyHex, models: ["llama3.2"] });
      } finally {
        rpc.destroy();
      }
      const child = spawn(process.execPath, ["--import", TSX, MAIN, "--rpc-url", node.url, "--deployment-file", deploymentFile, "--dev-account", "2", "--port", "0", "--json"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const deadline = Date.now() + 120_000;
      while (!stdout.trimEnd().endsWith("}")) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${stdout}\n${stderr}`);
        if (Date.now() > deadline) {
          child.kill("SIGKILL");
          throw new Error(`no start in 120 s:\n${stdout}\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      child.kill("SIGTERM");
      expect(await exited, stderr).to.equal(0);
      const parsed = JSON.parse(stdout) as { started: { provider: string; apiUrl: string; keyId: string } };
      expect(Object.keys(parsed)).to.deep.equal(["started"]);
      expect(parsed.started.provider).to.equal(provider.address.toLowerCase());
      expect(parsed.started.apiUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(parsed.started.keyId).to.equal(key.keyId);
      expect(stderr).to.include('"service":"aitbc-relayer"'); // the JSON log lines
    });
  });
});
