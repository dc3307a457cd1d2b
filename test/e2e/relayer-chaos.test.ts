/**
 * Chaos end-to-end, on two chain clients: a real `hardhat node` (automining) and Foundry's anvil mining a block every
 * second (like a live chain). The deployed system and the relayer as a separate process run the embedded llama.cpp
 * runtime (tiny generated model). Jobs from four clients arrive while the relayer is killed with SIGKILL at random
 * moments and restarted. In the end every job is settled exactly once on-chain, every receipt verifies against the
 * provider's registered key and its anchored batch, and the API serves every receipt and result.
 *
 * Sizes are bounded so both runs together stay near two minutes: 200 jobs and 6 kills on hardhat, 60 jobs and 4 kills
 * on anvil (where each transaction waits for its block).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { JobEscrow__factory } from "../../typechain-types/index.js";
import { startAnvil } from "../../tools/anvil.js";
import { freePort, REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import { settlementRootOfJobs, verifyServedReceipt } from "../fixtures/relayer/system.js";
import { createJobs, deployForRelayer, type SystemFixture } from "../../tools/relayer-fixture.js";
import { spawnRelayer, type RelayerProcess } from "../../tools/relayer-process.js";

const STATUS_SETTLED = 3n;

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

const CLIENTS = [
  { name: "hardhat node", start: () => startHardhatNode(), jobsPerClient: 50, waves: 5, kills: 6 },
  { name: "anvil, 1 s blocks", start: () => startAnvil({ blockTime: 1 }), jobsPerClient: 15, waves: 3, kills: 4 },
];

for (const chain of CLIENTS) describe(`relayer chaos (separate process, SIGKILL, ${chain.name})`, function () {
  this.timeout(300_000);
  const JOBS_PER_CLIENT = chain.jobsPerClient;
  const KILLS = chain.kills;

  let node: HardhatNode;
  let fixture: SystemFixture;
  let relayer: RelayerProcess | null = null;

  before(async function () {
    node = await chain.start();
  });

  after(async function () {
    if (relayer !== null) {
      relayer.child.kill("SIGTERM");
      await Promise.race([relayer.exited, sleep(10_000)]);
      await relayer.kill9();
    }
    await node?.stop();
  });

  it("settles every job exactly once across repeated kill -9 and restarts", async function () {
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    const provider = connection.ethers.provider;
    const signers = await connection.ethers.getSigners();
    fixture = await deployForRelayer(signers[0], signers[1], signers.slice(2, 6), "localhost");
    const port = await freePort();
    const configFile = path.join(fixture.dir, "relayer.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        network: "localhost",
        rpcUrl: node.url,
        deploymentFile: fixture.deploymentFile,
        evm: { devAccountIndex: 1 },
        providerKeyFile: fixture.keyFile,
        journalPath: path.join(fixture.dir, "journal.sqlite"),
        runtime: { kind: "embedded" },
        models: { "llama3.2": {} },
        run: { maxTokens: 4, timeoutMs: 30_000 },
        policy: { maxConcurrentJobs: 64, maxAcceptBatch: 20 },
        batching: { maxItems: 40, maxAgeSeconds: 1, deadlineMarginSeconds: 30 },
        chain: { confirmations: 0, pollIntervalMs: 100 },
        http: { port },
        logLevel: "warn",
      }),
    );
    const model = fixture.modelIds.get("llama3.2") as number;
    const now = async () => Number((await provider.getBlock("latest"))?.timestamp);

    // Jobs arrive in waves while a chaos loop kills and restarts the relayer.
    const ids: bigint[] = [];
    const creating = (async () => {
      for (let wave = 0; wave < chain.waves; wave++) {
        for (const [c, client] of fixture.clients.entries()) {
          const specs = Array.from({ length: JOBS_PER_CLIENT / chain.waves }, (_, k) => ({ model, prompt: `wave ${wave} client ${c} job ${k}: say something` }));
          ids.push(...(await createJobs(fixture, client, specs, await now())));
        }
        await sleep(700);
      }
    })();
    relayer = spawnRelayer(configFile, fixture.dir);
    let kills = 0;
    while (kills < KILLS) {
      await sleep(1_500 + Math.floor(Math.random() * 2_500));
      await relayer.kill9();
      kills++;
      relayer = spawnRelayer(configFile, fixture.dir);
    }
    await creating;
    expect(ids.length).to.equal(4 * JOBS_PER_CLIENT);

    const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, provider);
    const deadline = Date.now() + 150_000;
    for (;;) {
      const statuses = await Promise.all(ids.map((id) => escrow.job(id).then((v) => v.status)));
      if (statuses.every((s) => s === STATUS_SETTLED)) break;
      if (Date.now() > deadline) {
        throw new Error(`not all jobs settled: ${statuses.filter((s) => s !== STATUS_SETTLED).length} left\n${relayer.output().slice(-5_000)}`);
      }
      if (relayer.child.exitCode !== null) throw new Error(`relayer exited (${relayer.child.exitCode}):\n${relayer.output().slice(-5_000)}`);
      await sleep(500);
    }

    // Each job id appears in exactly one settlement batch, read back from the BatchSettled transactions' calldata.
    const batchOf = await settlementRootOfJobs(fixture, provider);
    expect(batchOf.size).to.equal(ids.length);

    // The last restart may still be starting, or catching up on the settlement events: wait until its API reports
    // every job settled (bounded), then check what it serves.
    const api = `http://127.0.0.1:${port}`;
    const apiDeadline = Date.now() + 60_000;
    for (;;) {
      const states = await Promise.all(
        ids.map((id) =>
          fetch(`${api}/api/v1/jobs/${id}`)
            .then(async (r) => (r.ok ? ((await r.json()) as { state: string }).state : `http ${r.status}`))
            .catch(() => "unreachable"),
        ),
      );
      if (states.every((s) => s === "settled")) break;
      if (Date.now() > apiDeadline) {
        const pending = states.filter((s) => s !== "settled");
        throw new Error(`relayer API still reports ${pending.length} jobs not settled (e.g. ${pending[0]})\n${relayer.output().slice(-5_000)}`);
      }
      if (relayer.child.exitCode !== null) throw new Error(`relayer exited (${relayer.child.exitCode}):\n${relayer.output().slice(-5_000)}`);
      await sleep(500);
    }

    // Every receipt is served, verifies against the registered key, and proves into the batch that settled its job.
    for (const id of ids) {
      const job = (await (await fetch(`${api}/api/v1/jobs/${id}`)).json()) as { state: string; receipt_id: string };
      expect(job.state).to.equal("settled");
      const res = await fetch(`${api}/api/v1/receipts/${job.receipt_id}`);
      expect(res.status).to.equal(200);
      const { verification, root } = await verifyServedReceipt(await res.text(), { provider: provider, deployment: fixture.deployment });
      expect(verification.valid, verification.valid ? "" : `${verification.code}: ${verification.reason}`).to.equal(true);
      expect(root).to.equal(batchOf.get(id.toString()));
      expect((await fetch(`${api}/api/v1/jobs/${id}/result`)).status).to.equal(200);
    }
    expect(kills).to.be.at.least(KILLS);
  });
});
