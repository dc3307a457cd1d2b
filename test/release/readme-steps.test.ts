/**
 * The README's step-by-step list, run as written on a real `hardhat node`: the commands are read from README.md (the
 * code block after "step by step"), not copied here. The documented fixed ports are moved to free ones so the test
 * cannot collide with anything else on the machine; the `hardhat node` line is the test's own node; lines marked
 * "terminal N" keep running in the background, as they would in their own terminal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";

import { freePort, REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";

interface Step {
  /** The arguments after `npx hardhat`. */
  args: string[];
  background: boolean;
  line: string;
}

/** Splits a shell line into words (double quotes only, as the README uses). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]);
  return out;
}

export function readmeSteps(readme: string): Step[] {
  const start = readme.indexOf("step by step");
  expect(start, "README has a step-by-step list").to.be.greaterThan(-1);
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(start));
  expect(block, "a bash block follows").to.not.equal(null);
  return (block?.[1] ?? "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [command, comment = ""] = line.split(/\s+#\s/);
      const w = words(command);
      expect(w.slice(0, 2), line).to.deep.equal(["npx", "hardhat"]);
      return { args: w.slice(2), background: /terminal \d/.test(comment), line };
    });
}

describe("README: the step-by-step commands work on hardhat node", function () {
  this.timeout(400_000);
  let node: HardhatNode;
  let ws: Workspace;
  const background: ChildProcess[] = [];

  after(async function () {
    for (const child of background) child.kill("SIGINT");
    await Promise.all(background.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
    await node?.stop();
    await ws?.remove();
  });

  it("runs every listed command in order, in the README's words, and each succeeds", async function () {
    const steps = readmeSteps(await readFile(path.join(REPO_ROOT, "README.md"), "utf8"));
    expect(steps.map((s) => s.args[0])).to.include.members(["node", "deploy", "miner:start", "job:submit", "dao:delegate", "dao:propose"]);
    expect(steps.findIndex((s) => s.args[0] === "dao:delegate"), "dao:delegate comes before dao:propose").to.be.lessThan(steps.findIndex((s) => s.args[0] === "dao:propose"));

    node = await startHardhatNode();
    ws = await createWorkspace("readme-steps", node.url);
    const ports = new Map([["8788", String(await freePort())], ["8787", String(await freePort())]]);
    const env = { ...process.env, AITBC_RPC_URL: node.url, AITBC_RELAYER_PORT: ports.get("8788") };
    const entry = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
    const rewrite = (a: string) => [...ports].reduce((text, [from, to]) => text.replace(new RegExp(`\\b${from}\\b`, "g"), to), a);

    for (const step of steps) {
      if (step.args[0] === "node") continue; // the test's own node stands in for terminal 1
      const args = step.args.map(rewrite);
      if (step.background) {
        const child = spawn(process.execPath, [entry, "--config", "hardhat.config.ts", ...args], { cwd: ws.dir, env, stdio: ["ignore", "pipe", "pipe"] });
        background.push(child);
        let out = "";
        child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
        const deadline = Date.now() + 150_000;
        // Ready when it says where it serves: the relayer's "Serving … API http://…", the dashboard's "listening on http://…".
        while (!/^(Serving .*API|Dashboard listening on) http:\/\/127\.0\.0\.1:\d+/m.test(out)) {
          if (child.exitCode !== null) throw new Error(`\`${step.line}\` exited ${child.exitCode}:\n${out}`);
          if (Date.now() > deadline) throw new Error(`\`${step.line}\` not ready in 150 s:\n${out}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        continue;
      }
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [entry, "--config", "hardhat.config.ts", ...args], { cwd: ws.dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
      expect(result.code, `\`${step.line}\`\n${result.out}`).to.equal(0);
    }
  });
});
