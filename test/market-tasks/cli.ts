/**
 * Runs the marketplace and receipt tasks as a user would, in an isolated working folder.
 *
 * Each workspace is a folder under `test-artifacts/` (ignored by git) holding a Hardhat config that extends the
 * project's config with these tasks (when it does not register them already) and points every project path back at
 * the repository. Commands run with that folder as their working directory, so `deployments/` and `.aitbc/` land there
 * and parallel runs never share a deployment file.
 */
import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { REPO_ROOT, type CliResult } from "../helpers/hardhat-node.js";

const CONFIG = `import base from "../../hardhat.config.js";
import { marketTasks } from "../../tasks/market/index.js";
import { receiptTasks } from "../../tasks/receipts/index.js";

const registered = new Set((base.tasks ?? []).map((t) => t.id.join(":")));
const root = ${JSON.stringify(REPO_ROOT)};

export default {
  ...base,
  tasks: [...(base.tasks ?? []), ...[...marketTasks, ...receiptTasks].filter((t) => !registered.has(t.id.join(":")))],
  paths: { artifacts: root + "/artifacts", cache: root + "/cache", sources: root + "/contracts", tests: root + "/test" },
  typechain: { ...base.typechain, outDir: root + "/typechain-types" },
};
`;

export interface Workspace {
  dir: string;
  /** Runs `hardhat <args>` in the workspace against the node at `rpcUrl` (when given). */
  run(args: string[], options?: { timeoutMs?: number }): Promise<CliResult>;
  remove(): Promise<void>;
}

export async function createWorkspace(name: string, rpcUrl?: string): Promise<Workspace> {
  const dir = path.join(REPO_ROOT, "test-artifacts", `${name}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "hardhat.config.ts"), CONFIG);
  const entry = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
  return {
    dir,
    run(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [entry, "--config", "hardhat.config.ts", ...args], {
          cwd: dir,
          env: { ...process.env, ...(rpcUrl === undefined ? {} : { AITBC_RPC_URL: rpcUrl }) },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
        child.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The `error.code` of a failed `--json` command (asserting the exit code too). */
export function errorCode(result: CliResult): string {
  if (result.code === 0) throw new Error(`expected a failure, got exit 0:\n${result.stdout}`);
  try {
    return (JSON.parse(result.stdout) as { error: { code: string } }).error.code;
  } catch {
    throw new Error(`expected a JSON error on stdout (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}
