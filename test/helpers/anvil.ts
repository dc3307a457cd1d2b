/**
 * Foundry's anvil as a second chain client for end-to-end tests: the npm prebuilt binary (a devDependency), on a free
 * loopback port, mining on an interval like a live chain (no automining), with the same development mnemonic and
 * chain id (31337) as `hardhat node`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

import { freePort, REPO_ROOT, rpcAnswers, type HardhatNode } from "./hardhat-node.js";

export const ANVIL_BIN = path.join(REPO_ROOT, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

export interface AnvilOptions {
  /** Seconds between blocks (interval mining). Default 1. */
  blockTime?: number;
  readyTimeoutMs?: number;
}

/** Starts anvil and resolves once it answers JSON-RPC. Always `stop()` it. */
export async function startAnvil(options: AnvilOptions = {}): Promise<HardhatNode> {
  if (!existsSync(ANVIL_BIN)) {
    throw new Error(`anvil is not installed at ${ANVIL_BIN}: run \`npm ci\` (it is the devDependency @foundry-rs/anvil-linux-amd64)`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(ANVIL_BIN, ["--host", "127.0.0.1", "--port", String(port), "--block-time", String(options.blockTime ?? 1), "--chain-id", "31337"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-100_000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-100_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode} before it was ready:\n${output}`);
    if (await rpcAnswers(url)) return { url, port, output: () => output, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`anvil did not answer on ${url}:\n${output}`);
}
