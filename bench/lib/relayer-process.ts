/** The relayer as a separate process (`relayer/main.ts --config <file>`), as operators run it. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { REPO_ROOT } from "./anvil.js";

const TSX = import.meta.resolve("tsx/esm");

export interface RelayerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export function spawnRelayer(configFile: string, lockDir: string): RelayerProcess {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--import", TSX, path.join(REPO_ROOT, "relayer", "main.ts"), "--config", configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, AITBC_RELAYER_LOCK_DIR: lockDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-100_000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-100_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
