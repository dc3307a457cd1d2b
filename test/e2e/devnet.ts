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

import { freePort, REPO_ROOT } from "../helpers/hardhat-node.js";

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
