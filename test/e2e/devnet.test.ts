/**
 * `npm run devnet` end to end: the supervisor starts node, deploy, relayer and dashboard on free ports in a temporary
 * directory; a job submitted through the CLI is settled by the relayer; SIGINT then stops the supervisor and every
 * process it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { freePort, REPO_ROOT } from "../../tools/hardhat-node.js";

const HARDHAT = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
const CONFIG = path.join(REPO_ROOT, "hardhat.config.ts");
const TSX = import.meta.resolve("tsx");

/** Every live process below `root` in the process tree (Linux /proc). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may hold spaces, so split after it.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(entry), Number(rest[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still has a pid but no longer runs.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARDHAT, "--config", CONFIG, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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

describe("e2e: npm run devnet", function () {
  this.timeout(180_000);

  let work: string;
  let devnet: ChildProcess;
  let output = "";
  let ports: { rpc: number; relayer: number; dashboard: number };
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  before(async function () {
    work = await mkdtemp(path.join(tmpdir(), "aitbc-devnet-"));
    ports = { rpc: await freePort(), relayer: await freePort(), dashboard: await freePort() };
    devnet = spawn(
      process.execPath,
      ["--import", TSX, path.join(REPO_ROOT, "scripts", "devnet.ts"), "--port", String(ports.rpc), "--relayer-port", String(ports.relayer), "--dashboard-port", String(ports.dashboard)],
      { cwd: work, stdio: ["ignore", "pipe", "pipe"] },
    );
    exited = new Promise((resolve) => devnet.once("exit", (code, signal) => resolve({ code, signal })));
    devnet.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    devnet.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 150_000;
    while (!output.includes("devnet ready")) {
      if (devnet.exitCode !== null) throw new Error(`devnet exited with ${devnet.exitCode} before it was ready:\n${output}`);
      if (Date.now() > deadline) throw new Error(`devnet was not ready within 150 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async function () {
    if (devnet?.exitCode === null && devnet.signalCode === null) {
      devnet.kill("SIGKILL");
      for (const pid of devnet.pid === undefined ? [] : descendants(devnet.pid)) process.kill(pid, "SIGKILL");
    }
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("prints the chain, relayer and dashboard URLs and the commands to try", function () {
    expect(output).to.include(`chain      http://127.0.0.1:${ports.rpc}`);
    expect(output).to.include(`relayer    http://127.0.0.1:${ports.relayer}`);
    expect(output).to.include(`dashboard  http://127.0.0.1:${ports.dashboard}/`);
    expect(output).to.include(`job:submit --network localhost --model llama3.2 --prompt "hi" --max-units 2`);
  });

  it("settles a job submitted through the CLI, seen through the relayer API", async function () {
    const submitted = await run(
      ["job:submit", "--network", "localhost", "--model", "llama3.2", "--prompt", "hi", "--max-units", "2", "--json"],
      work,
      { AITBC_RPC_URL: `http://127.0.0.1:${ports.rpc}` },
    );
    expect(submitted.code, submitted.stdout + submitted.stderr).to.equal(0);
    const { jobId } = JSON.parse(submitted.stdout) as { jobId: string };
    const deadline = Date.now() + 60_000;
    let state = "";
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${ports.relayer}/api/v1/jobs/${jobId}`);
      if (res.status === 200) state = ((await res.json()) as { state: string }).state;
      if (state === "settled" || state === "finalized") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).to.be.oneOf(["settled", "finalized"]);
    const health = await fetch(`http://127.0.0.1:${ports.relayer}/health`);
    expect(health.status).to.equal(200);
    const config = await fetch(`http://127.0.0.1:${ports.dashboard}/config.json`);
    expect(((await config.json()) as { relayerUrl: string }).relayerUrl).to.match(new RegExp(`^http://127\\.0\\.0\\.1:${ports.relayer}/?$`));
  });

  const rpcEnv = () => ({ AITBC_RPC_URL: `http://127.0.0.1:${ports.rpc}` });

  async function waitSettled(relayer: number, jobId: string): Promise<void> {
    const deadline = Date.now() + 90_000;
    let state = "";
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${relayer}/api/v1/jobs/${jobId}`);
      if (res.status === 200) state = ((await res.json()) as { state: string }).state;
      if (state === "settled" || state === "finalized") return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`job ${jobId} is ${state || "unknown"} at the relayer on ${relayer}`);
  }

  async function receiptIsValid(jobId: string, relayer: number): Promise<string> {
    const shown = await run(["receipt:show", jobId, "--network", "localhost", "--relayer", `http://127.0.0.1:${relayer}`, "--json"], work, rpcEnv());
    expect(shown.code, shown.stdout + shown.stderr).to.equal(0);
    const signed = (JSON.parse(shown.stdout) as { signed: { valid: boolean; code?: string } | null }).signed;
    return signed === null ? "NO_RECEIPT" : signed.valid ? "VALID" : (signed.code ?? "INVALID");
  }

  it("refuses miner:start for the devnet's own account before changing anything: port taken, key on chain differs", async function () {
    const registryKey = async () => {
      const shown = await run(["provider:status", "--network", "localhost", "--from", "1", "--json"], work, rpcEnv());
      return (JSON.parse(shown.stdout) as { receiptKey: string }).receiptKey;
    };
    const before = await registryKey();
    const portTaken = await run(["miner:start", "--network", "localhost", "--account", "1", "--port", String(ports.relayer)], work, rpcEnv());
    expect(portTaken.code).to.not.equal(0);
    expect(portTaken.stderr).to.match(/✖ .*\[PORT_IN_USE\]\n {2}→ /);
    const otherKey = await run(["miner:start", "--network", "localhost", "--account", "1", "--port", "0", "--key-file", "other-key.json"], work, rpcEnv());
    expect(otherKey.code).to.not.equal(0);
    expect(otherKey.stderr).to.match(/✖ .*\[RECEIPT_KEY_MISMATCH\]\n {2}→ .*--rotate-key/);
    expect(await registryKey(), "the registered key is untouched").to.equal(before);
    expect(await receiptIsValid("1", ports.relayer)).to.equal("VALID");
  });

  it("runs miner:start for a second account beside the devnet's relayer: both settle, every receipt stays valid", async function () {
    const minerPort = await freePort();
    const miner = spawn(process.execPath, [HARDHAT, "--config", CONFIG, "miner:start", "--network", "localhost", "--account", "2", "--port", String(minerPort), "--model", "llama3.2"], {
      cwd: work,
      env: { ...process.env, ...rpcEnv() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let minerOut = "";
    miner.stdout.on("data", (c: Buffer) => (minerOut += c.toString()));
    miner.stderr.on("data", (c: Buffer) => (minerOut += c.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while (!/^Serving .*; API http/m.test(minerOut)) {
        if (miner.exitCode !== null) throw new Error(`miner:start exited ${miner.exitCode}:\n${minerOut}`);
        if (Date.now() > deadline) throw new Error(`miner:start not serving within 120 s:\n${minerOut}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const accounts = (await (await fetch(`http://127.0.0.1:${ports.rpc}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_accounts", params: [] }) })).json()) as { result: string[] };
      const submit = async (provider: string) => {
        const r = await run(["job:submit", "--network", "localhost", "--model", "llama3.2", "--prompt", "hi", "--max-units", "2", "--provider", provider, "--json"], work, rpcEnv());
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        return (JSON.parse(r.stdout) as { jobId: string }).jobId;
      };
      const toSecond = await submit(accounts.result[2]);
      const toDevnet = await submit(accounts.result[1]);
      await Promise.all([waitSettled(minerPort, toSecond), waitSettled(ports.relayer, toDevnet)]);
      expect(await receiptIsValid(toSecond, minerPort)).to.equal("VALID");
      expect(await receiptIsValid(toDevnet, ports.relayer)).to.equal("VALID");
      expect(await receiptIsValid("1", ports.relayer), "the devnet's first receipt").to.equal("VALID");
      const health = (await (await fetch(`http://127.0.0.1:${ports.relayer}/health`)).json()) as { status: string };
      expect(health.status).to.equal("ok");
    } finally {
      miner.kill("SIGINT");
      await new Promise((r) => miner.once("exit", r));
    }
  });

  it("stops every child on SIGINT and exits 0", async function () {
    const pid = devnet.pid as number;
    const children = descendants(pid);
    expect(children.length, "node, relayer and dashboard run as children").to.be.at.least(3);
    devnet.kill("SIGINT");
    const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 40_000))]);
    expect(exit, `devnet did not exit within 40 s:\n${output}`).to.not.equal(null);
    expect(exit?.code, output).to.equal(0);
    expect(output).to.include("devnet: stopped");
    const deadline = Date.now() + 5_000;
    while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(children.filter(alive), "processes left running").to.deep.equal([]);
  });
});
