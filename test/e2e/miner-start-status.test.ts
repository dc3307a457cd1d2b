/**
 * `miner:start` prints the relayer's full status line (relayer/app/status-line.ts) when its output is not a terminal:
 * while healthy `[ok] … | gpu_seconds … |`, and once the chain stops answering the reasons and the last warning, by
 * default (no log level to raise). It runs private jobs with the encryption key it published (its offer says so).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

import { expect } from "chai";

import { parseOffer } from "../../lib/market/offer.js";
import { REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";

describe("miner:start: the status line shows why the relayer is degraded", function () {
  this.timeout(300_000);
  let node: HardhatNode | undefined;
  let ws: Workspace;
  let miner: ChildProcess | undefined;
  let out = "";

  after(async function () {
    if (miner !== undefined && miner.exitCode === null) {
      const exited = new Promise((r) => miner!.once("exit", r));
      miner.kill("SIGKILL");
      await exited;
    }
    await node?.stop();
    await ws?.remove();
  });

  /** Waits until the miner's output matches `pattern` (the deadline only keeps a broken run from hanging). */
  async function outputMatches(pattern: RegExp, what: string): Promise<RegExpExecArray> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const match = pattern.exec(out);
      if (match !== null) return match;
      if (miner?.exitCode !== null) throw new Error(`miner:start exited ${miner?.exitCode} before ${what}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`no ${what} in 120 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("prints `[ok]` lines with gpu_seconds, then `[DEGRADED: …]` with the last warning when the node goes away", async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("miner-status-line", node.url);
    const deployed = await ws.run(["deploy", "--network", "localhost"]);
    expect(deployed.code, deployed.stderr).to.equal(0);

    const entry = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
    miner = spawn(process.execPath, [entry, "--config", "hardhat.config.ts", "miner:start", "--network", "localhost", "--port", "0"], {
      cwd: ws.dir,
      env: { ...process.env, AITBC_RPC_URL: node.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    miner.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    miner.stderr?.on("data", (c: Buffer) => (out += c.toString()));

    const serving = await outputMatches(/^Serving .*API (http:\/\/127\.0\.0\.1:\d+)/m, "start");
    // On a local chain the endpoint is published for the port the API really listens on (here one picked at start).
    const published = await outputMatches(/^Endpoint: (http:\/\/127\.0\.0\.1:\d+) published with encryption key (0x[0-9a-f]{64})$/m, "endpoint");
    expect(published[1]).to.equal(serving[1]);
    // The key it published is the one it opens private prompts with: private jobs on, in the output and the offer.
    const jobs = await outputMatches(/^Jobs: private and public \(offer at (http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/offer\)$/m, "private jobs on");
    expect(jobs[1]).to.equal(serving[1]);
    const offer = parseOffer(await (await fetch(`${serving[1]}/api/v1/offer`)).text());
    expect(offer.accepts).to.deep.equal({ public: true, private: true });
    expect(`0x${Buffer.from(offer.encryptionKey ?? new Uint8Array()).toString("hex")}`).to.equal(published[2]);
    await outputMatches(/^\[ok\] jobs seen \d+ run \d+ .*given back \d+ \| gpu_seconds \d+\.\d{2} \| receipts \d+ \| batches \d+\/\d+ \| private\+public$/m, "healthy status line");

    await node.stop();
    node = undefined;
    const degraded = await outputMatches(/^\[DEGRADED: ([^\]]+)\] jobs seen .*\| last warning ([A-Z_]+): (.+)$/m, "degraded status line with a warning");
    expect(degraded[1]).to.match(/[A-Z_]+ \(.+\)/); // each reason with its detail
    expect(degraded[3]).to.not.equal("");
  });
});
