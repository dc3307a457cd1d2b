/**
 * Process-level faults between the relayer and the chain: the relayer runs as its own process and reaches anvil
 * (1 s interval mining) only through a fault proxy that drops connections, stalls, answers 500/429 bursts and
 * swallows `eth_sendRawTransaction`. The relayer must report each outage honestly on `/health` within 5 s, recover
 * from all of them, and still settle every job exactly once with receipts that verify. A start while the endpoint is
 * down is an outage (its own code and exit status), and a second relayer process for the same provider is refused.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { JobEscrow__factory } from "../../typechain-types/index.js";
import { startAnvil } from "../../tools/anvil.js";
import { FaultProxy } from "../fixtures/fault-proxy.js";
import { freePort, REPO_ROOT, type HardhatNode } from "../../tools/hardhat-node.js";
import { settlementRootOfJobs, verifyServedReceipt } from "../fixtures/relayer/system.js";
import { createJobs, deployForRelayer, type SystemFixture } from "../../tools/relayer-fixture.js";
import { spawnRelayer, type RelayerProcess } from "../../tools/relayer-process.js";

const STATUS_SETTLED = 3n;

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

interface Health {
  status: string;
  reasons: { code: string; detail: string }[];
}

async function health(api: string): Promise<Health | null> {
  try {
    const res = await fetch(`${api}/health`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as Health;
  } catch {
    return null;
  }
}

/** Milliseconds from `since` until `/health` names `code` (fails past `limitMs`). */
async function degradedWithin(api: string, code: string, since: number, limitMs: number): Promise<number> {
  for (;;) {
    const h = await health(api);
    if (h?.reasons.some((r) => r.code === code)) return Date.now() - since;
    if (Date.now() - since > limitMs) throw new Error(`/health did not report ${code} within ${limitMs} ms: ${JSON.stringify(h)}`);
    await sleep(100);
  }
}

describe("relayer behind a fault proxy (separate process, anvil with 1 s blocks)", function () {
  this.timeout(300_000);

  let node: HardhatNode;
  let proxy: FaultProxy;
  let fixture: SystemFixture;
  let configFile: string;
  let api: string;
  let relayer: RelayerProcess | null = null;

  before(async function () {
    node = await startAnvil({ blockTime: 1 });
    proxy = new FaultProxy(node.url);
    await proxy.start();
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    const signers = await connection.ethers.getSigners();
    fixture = await deployForRelayer(signers[0], signers[1], signers.slice(2, 4), "localhost");
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    configFile = path.join(fixture.dir, "relayer.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        network: "localhost",
        rpcUrl: proxy.url,
        deploymentFile: fixture.deploymentFile,
        evm: { devAccountIndex: 1 },
        providerKeyFile: fixture.keyFile,
        journalPath: path.join(fixture.dir, "journal.sqlite"),
        runtime: { kind: "embedded" },
        models: { "llama3.2": {} },
        run: { maxTokens: 4, timeoutMs: 30_000 },
        policy: { maxConcurrentJobs: 64, maxAcceptBatch: 20 },
        batching: { maxItems: 40, maxAgeSeconds: 1, deadlineMarginSeconds: 30 },
        chain: { confirmations: 0, pollIntervalMs: 200, stuckAfterSeconds: 3, rpcMaxAttempts: 3, rpcTimeoutMs: 1_500, startupRetrySeconds: 2 },
        health: { maxPollSilenceSeconds: 3, probeIntervalMs: 500 },
        http: { port },
        logLevel: "warn",
      }),
    );
  });

  after(async function () {
    if (relayer !== null && relayer.child.exitCode === null) {
      relayer.child.kill("SIGTERM");
      await Promise.race([relayer.exited, sleep(10_000)]);
      if (relayer.child.exitCode === null) relayer.child.kill("SIGKILL");
    }
    await proxy?.stop();
    await node?.stop();
  });

  it("started while the endpoint is down, it exits with RELAYER_RPC_UNAVAILABLE (exit 3), not a config error", async function () {
    proxy.mode = "drop";
    const p = spawnRelayer(configFile, fixture.dir);
    const code = await p.exited;
    proxy.mode = "pass";
    expect(code, p.output()).to.equal(3);
    expect(p.output()).to.contain("RELAYER_RPC_UNAVAILABLE");
    expect(p.output()).to.not.contain("RELAYER_INVALID_CONFIG");
  });

  it("through swallowed sends, 500/429 bursts, stalls and drops: honest /health within 5 s, and every job settles once", async function () {
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    const provider = connection.ethers.provider;
    const model = fixture.modelIds.get("llama3.2") as number;
    const now = async () => Number((await provider.getBlock("latest"))?.timestamp);
    const ids: bigint[] = [];
    const submit = async (n: number, tag: string) => {
      for (const [c, client] of fixture.clients.entries()) {
        ids.push(...(await createJobs(fixture, client, Array.from({ length: n }, (_, k) => ({ model, prompt: `${tag} client ${c} job ${k}` })), await now())));
      }
    };
    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, provider);
    const allSettled = async (limitMs: number) => {
      const deadline = Date.now() + limitMs;
      for (;;) {
        const statuses = await Promise.all(ids.map((id) => escrow.job(id).then((v) => v.status)));
        if (statuses.every((s) => s === STATUS_SETTLED)) return;
        if (Date.now() > deadline) throw new Error(`${statuses.filter((s) => s !== STATUS_SETTLED).length} jobs not settled\n${relayer?.output().slice(-5_000)}`);
        if (relayer?.child.exitCode !== null) throw new Error(`relayer exited (${relayer?.child.exitCode}):\n${relayer?.output().slice(-5_000)}`);
        await sleep(500);
      }
    };

    relayer = spawnRelayer(configFile, fixture.dir);
    for (let i = 0; (await health(api))?.status !== "ok"; i++) {
      if (i > 300 || relayer.child.exitCode !== null) throw new Error(`relayer did not become healthy:\n${relayer.output().slice(-5_000)}`);
      await sleep(100);
    }

    // A second relayer process for the same provider is refused at start; the first one is not disturbed.
    const second = spawnRelayer(configFile, fixture.dir);
    expect(await second.exited, second.output()).to.equal(4);
    expect(second.output()).to.contain("RELAYER_ALREADY_RUNNING");
    expect((await health(api))?.status).to.equal("ok");

    await submit(3, "calm");
    await allSettled(60_000);

    // Swallowed sends: the accept never reaches the node. /health says so within 5 s of the first swallowed send.
    proxy.mode = "swallow-sends";
    await submit(2, "swallowed");
    for (let i = 0; proxy.firstSwallowAt === null; i++) {
      if (i > 200) throw new Error("the relayer sent nothing to swallow");
      await sleep(100);
    }
    const swallowMs = await degradedWithin(api, "TX_NOT_LANDING", proxy.firstSwallowAt, 5_000);
    await sleep(2_000);
    proxy.mode = "pass";

    // 500/429 bursts, then a stall (detected within 5 s), then dropped connections.
    proxy.mode = "errors";
    await sleep(3_000);
    proxy.mode = "pass";
    await sleep(1_000);
    const stallStart = Date.now();
    proxy.mode = "stall";
    const stallMs = await degradedWithin(api, "WATCHER_STALLED", stallStart, 5_000);
    await sleep(3_000);
    proxy.mode = "drop";
    await sleep(2_000);
    proxy.mode = "pass";

    await submit(2, "after the storm");
    await allSettled(120_000);
    console.log(`      fault proxy: TX_NOT_LANDING after ${swallowMs} ms, WATCHER_STALLED after ${stallMs} ms; ${JSON.stringify(proxy.stats)}`);
    expect(proxy.stats.swallowed).to.be.greaterThan(0);
    expect(proxy.stats.dropped).to.be.greaterThan(0);
    expect(proxy.stats.errors).to.be.greaterThan(0);

    // Healthy again, and each job is in exactly one settlement batch.
    for (let i = 0; (await health(api))?.status !== "ok"; i++) {
      if (i > 150) throw new Error(`relayer did not recover: ${JSON.stringify(await health(api))}`);
      await sleep(100);
    }
    const batchOf = await settlementRootOfJobs(fixture, provider);
    expect(batchOf.size).to.equal(ids.length);
    for (const id of ids) {
      const deadline = Date.now() + 30_000;
      let job: { state: string; receipt_id: string };
      for (;;) {
        job = (await (await fetch(`${api}/api/v1/jobs/${id}`)).json()) as { state: string; receipt_id: string };
        if (job.state === "settled" || Date.now() > deadline) break;
        await sleep(200);
      }
      expect(job.state).to.equal("settled");
      const res = await fetch(`${api}/api/v1/receipts/${job.receipt_id}`);
      const { verification, root } = await verifyServedReceipt(await res.text(), { provider: provider, deployment: fixture.deployment });
      expect(verification.valid).to.equal(true);
      expect(root).to.equal(batchOf.get(id.toString()));
    }
  });
});
