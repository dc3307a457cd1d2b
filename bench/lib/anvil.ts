/**
 * Foundry's anvil (the npm prebuilt binary, a devDependency) for benchmarks: a free loopback port, interval mining
 * like a live chain, the development mnemonic and chain id 31337 of `hardhat node`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ANVIL_BIN = path.join(REPO_ROOT, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

export interface Anvil {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  /** Seconds between blocks. Default 1. */
  blockTime?: number;
  /** Development accounts funded. Default 10. */
  accounts?: number;
  /** Block gas limit. Default anvil's own. */
  gasLimit?: bigint;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts anvil and resolves once it answers JSON-RPC. Always `stop()` it. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  if (!existsSync(ANVIL_BIN)) throw new Error(`anvil is not installed at ${ANVIL_BIN}: run \`npm ci\` (devDependency @foundry-rs/anvil-linux-amd64)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--block-time", String(options.blockTime ?? 1), "--chain-id", "31337", "--accounts", String(options.accounts ?? 10)];
  if (options.gasLimit !== undefined) args.push("--gas-limit", options.gasLimit.toString());
  const child = spawn(ANVIL_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-50_000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-50_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}:\n${output}`);
    if (await answers(url)) return { url, output: () => output, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`anvil did not answer on ${url}:\n${output}`);
}
