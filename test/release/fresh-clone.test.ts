/**
 * A fresh clone that runs a task before any build: the tracked files without `typechain-types/`, `artifacts/` or
 * `cache/` (node_modules linked, as `npm ci` would have installed them). The task builds the contracts first and then
 * answers under the error contract — one JSON object on stdout — instead of failing to load its action (HHE411).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { REPO_ROOT } from "../../tools/hardhat-node.js";

// Not needed to load the config and run a task; leaving them out keeps the copy and the build small.
const SKIP = /^(test|bench|dashboard|docs)\//;

describe("fresh clone: a task before the first build", function () {
  this.timeout(300_000);
  let clone: string;

  before(async function () {
    clone = await mkdtemp(path.join(tmpdir(), "aitbc-fresh-clone-"));
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter((f) => f !== "" && !SKIP.test(f));
    for (const file of files) {
      if (!existsSync(path.join(REPO_ROOT, file))) continue;
      await mkdir(path.dirname(path.join(clone, file)), { recursive: true });
      await copyFile(path.join(REPO_ROOT, file), path.join(clone, file));
    }
    await symlink(path.join(REPO_ROOT, "node_modules"), path.join(clone, "node_modules"));
  });

  after(async function () {
    if (clone !== undefined) await rm(clone, { recursive: true, force: true });
  });

  it("builds the bindings first, then reports the node being down as one JSON error", async function () {
    expect(existsSync(path.join(clone, "typechain-types"))).to.equal(false);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(clone, "node_modules", "hardhat", "dist", "src", "cli.js"), "dao:list", "--network", "localhost", "--json"], {
        cwd: clone,
        // A shell's environment, not the test runner's (which points Hardhat and tsx at this repository).
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", AITBC_RPC_URL: "http://127.0.0.1:9" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code).to.equal(1);
    expect(`${result.stdout}${result.stderr}`).to.not.match(/HHE411|HHE\d+:/);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code, result.stdout).to.equal("RPC_UNREACHABLE");
    expect(result.stderr, `${result.stdout}\n---\n${result.stderr}`).to.include("building the contracts first");
    expect(existsSync(path.join(clone, "typechain-types", "index.ts"))).to.equal(true);
  });
});
