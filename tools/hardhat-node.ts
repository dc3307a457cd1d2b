/**
 * Child-process helpers for end-to-end tests: a real `hardhat node` on a free loopback port, and the real CLI.
 *
 * Both run the project's Hardhat binary with the Node that runs the tests (`process.execPath`), so a different `node`
 * earlier on PATH cannot break them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { realpathSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in tools/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function hardhatEntry(root: string): string {
  return realpathSync(path.join(root, "node_modules", ".bin", "hardhat"));
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface HardhatNode {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Everything the node printed so far (stdout and stderr). */
  output(): string;
  /** Stops the node (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** Fixed port; by default a free one is picked (and picking is retried if another process grabs it first). */
  port?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the node to answer JSON-RPC. */
  readyTimeoutMs?: number;
}

/** Whether a JSON-RPC node answers `eth_chainId` at `url` (within a second). */
export async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await response.json()) as { result?: string };
    return typeof body.result === "string";
  } catch {
    return false;
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startOnce(port: number, options: StartNodeOptions): Promise<HardhatNode> {
  const cwd = options.cwd ?? REPO_ROOT;
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [hardhatEntry(cwd), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 5_000))) {
      child.kill("SIGKILL");
      await waitForExit(child, 5_000);
    }
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with code ${child.exitCode} before it was ready:\n${output}`);
    if (await rpcAnswers(url)) return { url, port, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await stop();
  throw new Error(`hardhat node did not answer on ${url} within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
}

/** Starts `hardhat node` on 127.0.0.1 and resolves once it answers JSON-RPC. Always `stop()` it (e.g. in `after`). */
export async function startHardhatNode(options: StartNodeOptions = {}): Promise<HardhatNode> {
  if (options.port !== undefined) return startOnce(options.port, options);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export interface CliResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hardhat <args>` as a child process and collects its output; never throws on a non-zero exit. */
export async function runHardhat(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const cwd = options.cwd ?? REPO_ROOT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [hardhatEntry(cwd), ...args], {
      cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses the JSON document a `--json` command printed (the whole of stdout). */
export function parseJsonOutput<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}
