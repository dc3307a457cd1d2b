/**
 * The relayer as a separate process (`relayer/main.ts --config <file>`), as operators run it: for the chaos, fault
 * and anvil end-to-end tests and for `bench:e2e`. Dev-only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { REPO_ROOT } from "./hardhat-node.js";

const TSX = import.meta.resolve("tsx/esm");

export interface RelayerProcess {
  child: ChildProcess;
  /** The last 200,000 characters it printed (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash. */
  kill9(): Promise<void>;
}

/** Starts `relayer/main.ts --config <configFile>` with its instance locks in `lockDir`. */
export function spawnRelayer(configFile: string, lockDir: string): RelayerProcess {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--import", TSX, path.join(REPO_ROOT, "relayer", "main.ts"), "--config", configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, AITBC_RELAYER_LOCK_DIR: lockDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-200_000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (running()) child.kill("SIGKILL");
      await exited;
    },
  };
}
