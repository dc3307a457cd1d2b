/**
 * End-to-end relayer benchmark on a chain with real block times: submission to settled on anvil mining a block every
 * second, the real relayer process (`relayer/main.ts`) with the embedded runtime and the tiny generated model (4 tokens
 * a job), and clients submitting at stepped offered loads. Each step offers `load` jobs/s for a fixed window, then
 * waits (bounded) until its jobs are settled; per step it reports settled jobs/s (the step's settled jobs over the span
 * they settled in, at least the window) and the latency from sending the
 * `createJobs` transaction to seeing the job's `settleBatch` in a block. It runs once with the shipped defaults and
 * once with a tuned configuration, then times `/health` and `/metrics` at 1M journaled jobs (bench/health.ts).
 *
 *   npm run bench:e2e
 *
 * Jobs are small (at most 2 GPU-seconds of escrow each) and the provider bonds half its balance, so the exposure cap
 * does not refuse accepts at high load. The chain is not the bottleneck on purpose: anvil's block gas limit is raised to 1e9 so every submitted job fits the
 * next block. Figures from a shared 2-core machine are bounded by its CPU (anvil, the relayer, inference and the load
 * generator share it); `machine` in the output says where they were taken.
 *
 * Environment: AITBC_E2E_LOADS (default "25,50,100,200,400"), AITBC_E2E_WINDOW_S (default 5), AITBC_E2E_DRAIN_S
 * (default 20), AITBC_E2E_CLIENTS (default 16), AITBC_E2E_CONFIGS ("defaults,tuned"), AITBC_E2E_OUT
 * (default bench/results/e2e.json), AITBC_E2E_BASELINE (label=file of an earlier run to keep beside this one),
 * AITBC_E2E_RELAYER_LOG (a file prefix: each run's relayer output is kept there).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";

import { HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, ZeroAddress, type Signer, type Wallet } from "ethers";

import { deploySystem } from "../lib/deploy/system.js";
import { loadOrCreateKeyFile } from "../lib/node/key-file.js";
import { decodeSettlementRecords } from "../lib/receipts/settlement.js";
import { escrowInterface } from "../relayer/app/contracts.js";
import { AITBCToken__factory, JobEscrow__factory, ModelRegistry__factory, ProviderRegistry__factory } from "../typechain-types/index.js";
import { startAnvil } from "../tools/anvil.js";
import { freePort, type HardhatNode as Anvil } from "../tools/hardhat-node.js";
import { spawnRelayer, type RelayerProcess } from "../tools/relayer-process.js";

const LOADS = (process.env.AITBC_E2E_LOADS ?? "25,50,100,200,400").split(",").map(Number);
const WINDOW_S = Number(process.env.AITBC_E2E_WINDOW_S ?? 5);
const DRAIN_S = Number(process.env.AITBC_E2E_DRAIN_S ?? 20);
const CLIENTS = Number(process.env.AITBC_E2E_CLIENTS ?? 16);
const CONFIGS = (process.env.AITBC_E2E_CONFIGS ?? "defaults,tuned").split(",");
const OUT = process.env.AITBC_E2E_OUT ?? path.join("bench", "results", "e2e.json");
/** A labelled earlier run kept next to this one (AITBC_E2E_BASELINE=label=file): e.g. the defaults before a change. */
const BASELINE = (() => {
  const spec = process.env.AITBC_E2E_BASELINE;
  if (spec === undefined) return undefined;
  const [label, file] = spec.split("=");
  const doc = JSON.parse(readFileSync(file, "utf8")) as { variants: Record<string, unknown>; measuredAt: string };
  return { label, variants: doc.variants, measuredAt: doc.measuredAt };
})();
const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
/** Sub-ticks per second the load is spread over. */
const TICKS_PER_S = 4;
const JOBS_PER_CALL = 50;

/** What each variant sets on top of the fields every run needs. */
const VARIANTS: Record<string, Record<string, unknown>> = {
  defaults: {},
  tuned: {
    policy: { maxConcurrentJobs: 1024, maxAcceptBatch: 400 },
    batching: { maxItems: 390, maxAgeSeconds: 1, maxInFlight: 4 },
    chain: { pollIntervalMs: 200 },
  },
};

function wallet(i: number, provider: JsonRpcProvider): Wallet {
  return HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${i}`).connect(provider) as unknown as Wallet;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

interface System {
  dir: string;
  escrow: string;
  deploymentFile: string;
  keyFile: string;
  model: number;
  clients: Signer[];
  block: number;
}

async function deploy(chain: Anvil, provider: JsonRpcProvider): Promise<System> {
  const dir = mkdtempSync(path.join(tmpdir(), "aitbc-e2e-"));
  const deployer = new NonceManager(wallet(0, provider));
  const prov = new NonceManager(wallet(1, provider));
  const clients = Array.from({ length: CLIENTS }, (_, i) => wallet(2 + i, provider));
  const deployment = await deploySystem(deployer, { network: "localhost", devAccounts: [await prov.getAddress(), ...clients.map((c) => c.address)] });
  const deploymentFile = path.join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify(deployment, null, 2));
  const keyFile = path.join(dir, "provider-key.json");
  const { key } = await loadOrCreateKeyFile(keyFile);
  const c = deployment.contracts;
  const models = ModelRegistry__factory.connect(c.ModelRegistry as string, provider);
  const modelIds: number[] = [];
  let model = 1;
  for (let id = 1; id <= Number(await models.modelCount()); id++) {
    modelIds.push(id);
    if ((await models.model(id)).name === "llama3.2") model = id;
  }
  const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, prov);
  // The provider's exposure cap is a multiple of its bond: bond half its balance, so in-flight escrow at the highest
  // offered load stays under the cap and the figures measure the relayer, not the provider's collateral.
  const token = AITBCToken__factory.connect(c.AITBCToken, provider);
  const minBond = await registry.minBond();
  const half = (await token.balanceOf(await prov.getAddress())) / 2n;
  const bond = half > minBond ? half : minBond;
  await (await AITBCToken__factory.connect(c.AITBCToken, prov).approve(c.ProviderRegistry as string, bond)).wait();
  await (await registry.register(key.publicKeyHex, modelIds, bond)).wait();
  await Promise.all(clients.map(async (client) => (await AITBCToken__factory.connect(c.AITBCToken, client).approve(c.JobEscrow as string, 2n ** 255n)).wait()));
  void chain;
  return { dir, escrow: c.JobEscrow as string, deploymentFile, keyFile, model, clients, block: deployment.block };
}

interface StepResult {
  offeredJobsPerS: number;
  submitted: number;
  settled: number;
  jobsPerS: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p50Blocks: number | null;
  drained: boolean;
}

/** Follows the chain: when each job was created (by its transaction) and when it was seen settled. */
class Observer {
  readonly createdBy = new Map<string, string>();
  readonly settledAt = new Map<string, number>();
  readonly #provider: JsonRpcProvider;
  readonly #escrow: string;
  #next: number;
  #running = true;
  #loop: Promise<void>;

  constructor(provider: JsonRpcProvider, escrow: string, from: number) {
    this.#provider = provider;
    this.#escrow = escrow;
    this.#next = from;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const created = escrowInterface.getEvent("JobCreated").topicHash;
    const settled = escrowInterface.getEvent("BatchSettled").topicHash;
    while (this.#running) {
      try {
        const head = await this.#provider.getBlockNumber();
        if (head >= this.#next) {
          const logs = await this.#provider.getLogs({ address: this.#escrow, topics: [[created, settled]], fromBlock: this.#next, toBlock: head });
          const seen = Date.now();
          for (const log of logs) {
            if (log.topics[0] === created) this.createdBy.set(BigInt(log.topics[1]).toString(), log.transactionHash);
            else {
              const tx = await this.#provider.getTransaction(log.transactionHash);
              const items = escrowInterface.decodeFunctionData("settleBatch", tx?.data as string)[0] as string;
              for (const r of decodeSettlementRecords(items)) if (!this.settledAt.has(r.jobId.toString())) this.settledAt.set(r.jobId.toString(), seen);
            }
          }
          this.#next = head + 1;
        }
      } catch {
        // A missed poll is retried from the same block.
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

async function runVariant(name: string, chain: Anvil, provider: JsonRpcProvider, system: System): Promise<{ steps: StepResult[]; config: unknown }> {
  const port = await freePort();
  const variant = VARIANTS[name];
  const config = {
    network: "localhost",
    rpcUrl: chain.url,
    deploymentFile: system.deploymentFile,
    evm: { devAccountIndex: 1 },
    providerKeyFile: system.keyFile,
    journalPath: path.join(system.dir, `journal-${name}.sqlite`),
    runtime: { kind: "embedded" },
    models: { "llama3.2": {} },
    run: { maxTokens: 4, timeoutMs: 30_000 },
    http: { port },
    logLevel: "warn",
    ...variant,
  };
  const configFile = path.join(system.dir, `relayer-${name}.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const startBlock = await provider.getBlockNumber();
  const observer = new Observer(provider, system.escrow, startBlock + 1);
  let relayer: RelayerProcess | null = spawnRelayer(configFile, system.dir);
  const steps: StepResult[] = [];
  try {
    const ready = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (relayer.child.exitCode !== null || Date.now() > ready) throw new Error(`relayer did not start:\n${relayer.output().slice(-4_000)}`);
      await sleep(250);
    }
    const escrows = system.clients.map((c) => JobEscrow__factory.connect(system.escrow, c));
    const nonces = await Promise.all(system.clients.map((c) => c.getNonce("pending")));
    const feeOverrides = { maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
    let rr = 0;
    for (const load of LOADS) {
      const sentAt = new Map<string, number>();
      const stepStart = Date.now();
      const sends: Promise<void>[] = [];
      let owed = 0;
      let submitted = 0;
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 3_600);
      for (let tick = 0; tick < WINDOW_S * TICKS_PER_S; tick++) {
        owed += load / TICKS_PER_S;
        while (owed >= 1) {
          const n = Math.min(JOBS_PER_CALL, Math.floor(owed));
          owed -= n;
          submitted += n;
          const c = rr++ % escrows.length;
          const nonce = nonces[c]++;
          const requests = Array.from({ length: n }, (_, k) => ({
            modelId: system.model,
            maxUnitsMilli: 2_000n,
            provider: ZeroAddress,
            deadline,
            prompt: new TextEncoder().encode(`load ${load} tick ${tick} job ${k}: say something`),
          }));
          const t = Date.now();
          sends.push(
            escrows[c].createJobs(requests, { nonce, gasLimit: 200_000n + 90_000n * BigInt(n), ...feeOverrides }).then((tx) => {
              sentAt.set(tx.hash.toLowerCase(), t);
            }),
          );
        }
        const next = stepStart + ((tick + 1) * 1000) / TICKS_PER_S;
        await sleep(Math.max(0, next - Date.now()));
      }
      await Promise.all(sends);
      // The step's jobs are those its transactions created; wait until each is settled or the drain time is up.
      const drainEnd = Date.now() + DRAIN_S * 1000;
      let ids: string[] = [];
      for (;;) {
        ids = [...observer.createdBy.entries()].filter(([, tx]) => sentAt.has(tx.toLowerCase())).map(([id]) => id);
        const done = ids.length === submitted && ids.every((id) => observer.settledAt.has(id));
        if (done || Date.now() > drainEnd) break;
        if (relayer.child.exitCode !== null) throw new Error(`relayer exited:\n${relayer.output().slice(-4_000)}`);
        await sleep(250);
      }
      const latencies: number[] = [];
      let first = Number.POSITIVE_INFINITY;
      let last = stepStart;
      for (const id of ids) {
        const settledAt = observer.settledAt.get(id);
        const tx = observer.createdBy.get(id) as string;
        if (settledAt === undefined) continue;
        latencies.push(settledAt - (sentAt.get(tx.toLowerCase()) as number));
        first = Math.min(first, settledAt);
        last = Math.max(last, settledAt);
      }
      latencies.sort((a, b) => a - b);
      const settled = latencies.length;
      // Sustained rate: the jobs over the span they settled in (a block at least), never shorter than the window they
      // were offered in; a relayer that falls behind stretches the span, one that keeps up settles at the offered rate.
      const seconds = Math.max(WINDOW_S, settled === 0 ? 0 : (last - first) / 1000 + 1);
      const p50 = quantile(latencies, 0.5);
      const step: StepResult = {
        offeredJobsPerS: load,
        submitted,
        settled,
        jobsPerS: Math.round((settled / seconds) * 10) / 10,
        p50Ms: p50,
        p95Ms: quantile(latencies, 0.95),
        p50Blocks: p50 === null ? null : Math.round(p50 / 100) / 10,
        drained: settled === submitted,
      };
      steps.push(step);
      console.log(
        `  ${name.padEnd(8)} offered ${String(load).padStart(4)} jobs/s: settled ${settled}/${submitted}, ${step.jobsPerS} jobs/s, p50 ${p50 ?? "-"} ms, p95 ${step.p95Ms ?? "-"} ms${step.drained ? "" : " (not drained)"}`,
      );
    }
    await relayer.stop();
    if (process.env.AITBC_E2E_RELAYER_LOG !== undefined) writeFileSync(`${process.env.AITBC_E2E_RELAYER_LOG}.${name}`, relayer.output());
    relayer = null;
    return { steps, config };
  } finally {
    await observer.stop();
    if (relayer !== null) await relayer.stop();
  }
}

/** One configuration on a chain of its own (a fresh anvil and deployment), so no backlog carries over. */
async function onFreshChain(name: string): Promise<{ steps: StepResult[]; config: unknown }> {
  const chain = await startAnvil({ blockTime: 1, accounts: 2 + CLIENTS, gasLimit: 1_000_000_000n });
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, batchMaxCount: 1, pollingInterval: 250 });
  let system: System | null = null;
  try {
    const t = Date.now();
    system = await deploy(chain, provider);
    console.log(`${name}: deployed on anvil (1 s blocks) in ${((Date.now() - t) / 1000).toFixed(0)} s; loads ${LOADS.join(", ")} jobs/s, ${WINDOW_S} s each`);
    return await runVariant(name, chain, provider, system);
  } finally {
    provider.destroy();
    await chain.stop();
    if (system !== null) rmSync(system.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const variants: Record<string, { steps: StepResult[]; config: unknown; peakJobsPerS: number }> = {};
  for (const name of CONFIGS) {
    const { steps, config } = await onFreshChain(name);
    variants[name] = { steps, config, peakJobsPerS: Math.max(...steps.map((s) => s.jobsPerS)) };
  }
    const lowest = (name: string) => variants[name]?.steps[0]?.p50Ms ?? undefined;
    const result = {
      // Top-level numbers are the figures bench/report.ts compares; everything else is nested.
      ...Object.fromEntries(Object.entries(variants).map(([name, v]) => [`${name}_peak_jobs_per_s`, v.peakJobsPerS])),
      ...Object.fromEntries(Object.keys(variants).map((name) => [`${name}_p50_ms_lowest_load`, lowest(name)])),
      setup: {
        chain: "anvil, 1 s blocks, block gas limit 1e9",
        runtime: "embedded, tiny generated model, 4 tokens a job",
        windowSeconds: WINDOW_S,
        drainSeconds: DRAIN_S,
        clients: CLIENTS,
        jobsPerCreateCall: `up to ${JOBS_PER_CALL}, ${TICKS_PER_S} submissions a second`,
        latency: "from sending createJobs to seeing the settleBatch that carries the job in a block (polled every 100 ms)",
        jobsPerS: "a step's settled jobs over the span they settled in (at least the offered window)",
        totalSeconds: Math.round((Date.now() - started) / 1000),
      },
      variants,
      ...(BASELINE === undefined ? {} : { baseline: BASELINE }),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", loadavg1: Math.round(loadavg()[0] * 100) / 100, node: process.version, note: "a shared, loaded machine: anvil, the relayer, inference and the load generator share its cores" },
      measuredAt: new Date().toISOString(),
    };
    await mkdir(path.dirname(OUT), { recursive: true });
    await writeFile(`${OUT}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    await rename(`${OUT}.tmp`, OUT);
    console.log(`wrote ${OUT} (${result.setup.totalSeconds} s)`);
}

await main();
