/**
 * The whole marketplace in one process, on the embedded chain:
 *
 *   npm run demo                      (hardhat run scripts/demo.ts)
 *   AITBC_DEMO_OUT=/tmp/demo npm run demo
 *
 * Deploys the system, registers two providers (each with its own Ed25519 receipt key, relayer and journal, both on one
 * embedded llama.cpp runtime serving a tiny generated model), lets three clients submit a dozen jobs, and lets the real
 * relayers accept, run, sign, anchor and settle them in batches. Every job is private: its prompt is sealed to the
 * providers serving its model and to the client, each result to the client, who fetches it and checks it against the
 * signed receipt before reading it. A client then disputes a job and the DAO resolves it,
 * the DAO changes a rate and a new job pays it, every receipt is verified against the provider key registered on-chain
 * and its anchored Merkle root (off-chain and by the contract), and the payouts are released and withdrawn.
 *
 * Writes every receipt and its proof to `<out>/receipts/` and a machine-readable `<out>/summary.json`
 * (`<out>` = `AITBC_DEMO_OUT`, default `demo-output`). Exits non-zero if any check fails.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { toUtf8Bytes, ZeroAddress, type ContractTransactionResponse, type TransactionReceipt } from "ethers";
import { network } from "hardhat";
import { pino } from "pino";

import { deploySystem } from "../lib/deploy/system.js";
import { AitbcError, isAitbcError } from "../lib/errors.js";
import { buildProposal, decodeAction } from "../lib/governance/kinds.js";
import { withProposerSuffix } from "../lib/governance/proposals.js";
import { loadOrCreateEncryptionKeyFile, loadOrCreateKeyFile, type EncryptionKey, type ReceiptKey } from "../lib/node/key-file.js";
import { nodeHpke } from "../lib/node/hpke-node.js";
import type { EncryptionKeyPair } from "../lib/privacy/envelope.js";
import { sealJobRequest } from "../lib/privacy/request.js";
import { fetchResult, resultKeyFor } from "../lib/sdk/results.js";
import { freePort } from "../tools/hardhat-node.js";
import { readRateCard, type RateCardRow } from "../lib/market/rates.js";
import { escrowFor, priceFor, settle } from "../lib/money/prices.js";
import { formatTokenAmount, milliToUnits, parseTokenAmount, unitsToMilli } from "../lib/money/amounts.js";
import { nodeBackend } from "../lib/node/ed25519-node.js";
import { serializeReceipt } from "../lib/receipts/receipt.js";
import { Eip1193Transport } from "../relayer/adapters/chain/rpc.js";
import { EmbeddedRuntime } from "../relayer/adapters/runtimes/embedded.js";
import { parseRelayerConfig } from "../relayer/app/config.js";
import { startRelayerApp, type RelayerApp } from "../relayer/app/start.js";
import { writeProofFile } from "../lib/sdk/proof-files.js";
import { parseRelayerReceipt, relayerGet, type RelayerBatch } from "../lib/sdk/relayer-api.js";
import { receiptProofBundle, verifyReceiptOnChain } from "../lib/sdk/verify.js";
import {
  AITBCGovernor__factory,
  AITBCToken__factory,
  JobEscrow__factory,
  ModelRegistry__factory,
  ProviderRegistry__factory,
} from "../typechain-types/index.js";
import { GasLedger } from "./lib/gas.js";
import { formatTable, Steps } from "./lib/report.js";

const OUT = path.resolve(process.env.AITBC_DEMO_OUT ?? "demo-output");
const RECEIPTS_DIR = path.join(OUT, "receipts");
const SETTLE_TIMEOUT_MS = 120_000;
const VOTE_FOR = 1;
/** `IJobEscrow.JobStatus` values the demo waits for. */
const STATUS = { Accepted: 2n, Settled: 3n, Finalized: 4n, Disputed: 7n, Resolved: 8n } as const;

interface ProviderPlan {
  label: string;
  account: number;
  models: string[];
}

/** Overlapping subsets: llama3.2 and codellama are served by both, the others by one provider each. */
const PROVIDERS: ProviderPlan[] = [
  { label: "provider A", account: 1, models: ["llama3.2", "llama3.2:1b", "codellama"] },
  { label: "provider B", account: 2, models: ["llama3.2", "codellama", "stable-diffusion"] },
];

interface JobPlan {
  model: string;
  prompt: string;
  /** GPU-seconds the client escrows for. */
  maxUnits: string;
  /** Index into PROVIDERS when the job is addressed to one provider; open to any otherwise. */
  provider?: number;
}

/** Three clients, four jobs each: open jobs go to whichever provider serving the model accepts first. */
const CLIENT_JOBS: JobPlan[][] = [
  [
    { model: "llama3.2", prompt: "Explain escrowed compute jobs in one sentence.", maxUnits: "2" },
    { model: "llama3.2:1b", prompt: "Name three uses of a Merkle tree.", maxUnits: "1.5" },
    { model: "codellama", prompt: "Write a Solidity function that adds two numbers.", maxUnits: "2", provider: 1 },
    { model: "stable-diffusion", prompt: "A lighthouse at dawn, watercolour.", maxUnits: "3" },
  ],
  [
    { model: "llama3.2", prompt: "Summarise what a signed receipt proves.", maxUnits: "2", provider: 0 },
    { model: "codellama", prompt: "Refactor: for (i = 0; i < n; i++) sum += a[i];", maxUnits: "2.5" },
    { model: "llama3.2:1b", prompt: "Translate 'good morning' into French.", maxUnits: "1" },
    { model: "llama3.2", prompt: "Why do rates live on a rate card governed by a DAO?", maxUnits: "2" },
  ],
  [
    { model: "stable-diffusion", prompt: "A GPU cluster drawn as a city skyline.", maxUnits: "3" },
    { model: "codellama", prompt: "Write a TypeScript type for a job receipt.", maxUnits: "2", provider: 0 },
    { model: "llama3.2", prompt: "What is a dispute window?", maxUnits: "1.5" },
    { model: "llama3.2", prompt: "Give a haiku about GPU-seconds.", maxUnits: "2", provider: 1 },
  ],
];

const NEW_RATE = "2.5";
const REPRICED_MODEL = "llama3.2";

type Connection = Awaited<ReturnType<typeof network.getOrCreate>>;
type Signer = Awaited<ReturnType<Connection["ethers"]["getSigners"]>>[number];

interface RunningProvider {
  plan: ProviderPlan;
  signer: Signer;
  key: ReceiptKey;
  encryptionKey: EncryptionKey;
  keyFile: string;
  app: RelayerApp;
}

const aitbc = (base: bigint): string => `${formatTokenAmount(base)} AITBC`;

async function mined(tx: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new AitbcError("DEMO_TX_DROPPED", "a transaction was dropped");
  return receipt;
}

function check(condition: boolean, message: string, details?: Record<string, unknown>): void {
  if (!condition) throw new AitbcError("DEMO_CHECK_FAILED", message, { details });
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const steps = new Steps(9);
  const gas = new GasLedger();
  const connection = await network.getOrCreate();
  const { ethers, networkHelpers, networkName } = connection;
  const signers = await ethers.getSigners();
  const [deployer] = signers;
  const clients = signers.slice(3, 6);
  const state = await mkdtemp(path.join(tmpdir(), "aitbc-demo-"));
  await rm(RECEIPTS_DIR, { recursive: true, force: true });
  await mkdir(RECEIPTS_DIR, { recursive: true });

  const providers: RunningProvider[] = [];
  let runtime: EmbeddedRuntime | undefined;
  try {
    // ── 1. deploy ────────────────────────────────────────────────────────────────────────────────────────────────
    steps.begin("deploying token, governor, timelock, rate card, provider registry, escrow");
    const deployment = await deploySystem(deployer, {
      network: networkName,
      devAccounts: await Promise.all(signers.slice(1, 6).map((s) => s.getAddress())),
      progress: (what) => steps.progress(what),
    });
    const deploymentFile = path.join(state, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(deployment, null, 2));
    const c = deployment.contracts;
    const chainId = BigInt(deployment.chainId);
    const escrowAddress = c.JobEscrow as string;
    const token = AITBCToken__factory.connect(c.AITBCToken, deployer);
    const escrow = JobEscrow__factory.connect(escrowAddress, deployer);
    const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, deployer);
    const rateRegistry = ModelRegistry__factory.connect(c.ModelRegistry as string, deployer);
    const governor = AITBCGovernor__factory.connect(c.AITBCGovernor, deployer);
    const rateCard = await readRateCard(rateRegistry);
    const model = (name: string): RateCardRow => {
      const row = rateCard.find((m) => m.name === name);
      if (row === undefined) throw new AitbcError("DEMO_UNKNOWN_MODEL", `${name} is not on the deployed rate card`);
      return row;
    };
    const [feeBps] = await escrow.parameters();
    steps.done(`chain ${chainId}, escrow ${escrowAddress}`);
    steps.detail(`rate card: ${rateCard.map((m) => `${m.name} ${formatTokenAmount(m.rate)}`).join(", ")} AITBC per gpu_seconds; fee ${Number(feeBps) / 100} %`);

    // ── 2. runtime ───────────────────────────────────────────────────────────────────────────────────────────────
    steps.begin("loading the embedded llama.cpp runtime (tiny generated model)");
    runtime = await EmbeddedRuntime.open({ aliases: rateCard.map((m) => m.name) });
    const info = await runtime.info();
    steps.done(`${path.basename(info.name)} on ${info.device}, serving ${info.models.length} names`);

    // ── 3. providers and relayers ────────────────────────────────────────────────────────────────────────────────
    steps.begin("registering two providers and starting their relayers");
    const bond = await registry.minBond();
    for (const plan of PROVIDERS) {
      const signer = signers[plan.account];
      const keyFile = path.join(state, `provider-${plan.account}-key.json`);
      const { key } = await loadOrCreateKeyFile(keyFile);
      gas.add("provider: approve bond", await mined(token.connect(signer).approve(c.ProviderRegistry as string, bond)));
      gas.add("provider: register", await mined(registry.connect(signer).register(key.publicKeyHex, plan.models.map((m) => model(m).id), bond)));
      // The endpoint: where clients read the offer, and the X25519 key private prompts are sealed to.
      const encryptionKeyFile = path.join(state, `provider-${plan.account}-encryption-key.json`);
      const { key: encryptionKey } = await loadOrCreateEncryptionKeyFile(encryptionKeyFile);
      const port = await freePort();
      gas.add("provider: set endpoint", await mined(registry.connect(signer).setEndpoint(encryptionKey.publicKeyHex, `http://127.0.0.1:${port}`)));
      const config = parseRelayerConfig({
        network: networkName,
        rpcUrl: "http://in-process.invalid",
        deploymentFile,
        evm: { devAccountIndex: plan.account },
        providerKeyFile: keyFile,
        encryptionKeyFile,
        journalPath: path.join(state, `relayer-${plan.account}.sqlite`),
        models: Object.fromEntries(plan.models.map((m) => [m, {}])),
        policy: { maxConcurrentJobs: 32, deadlineMarginSeconds: 10, maxAcceptBatch: 10 },
        run: { maxTokens: 48, concurrency: 1 },
        // Small batches, so the dozen jobs settle in several batches per provider.
        batching: { maxItems: 3, maxAgeSeconds: 1, deadlineMarginSeconds: 30, maxInFlight: 2 },
        chain: { confirmations: 0, pollIntervalMs: 100 },
        http: { port, host: "127.0.0.1" },
        logLevel: "error",
      });
      const app = await startRelayerApp(config, {
        transport: new Eip1193Transport(connection.provider, "in-process"),
        runtime,
        logger: pino({ level: "error", base: { service: "aitbc-relayer", provider: plan.label } }, pino.destination(2)),
      });
      const privateJobs = app.relayer.status().privateJobs;
      check(privateJobs.enabled, `${plan.label}'s relayer does not take private jobs: ${privateJobs.warning ?? ""}`);
      providers.push({ plan, signer, key, encryptionKey, keyFile, app });
      steps.detail(`${plan.label} ${signer.address}: key ${key.keyId}, serves ${plan.models.join(", ")}, API ${app.relayer.apiUrl}`);
    }
    steps.done("2 relayers running");
    const providerByAddress = new Map(providers.map((p) => [p.signer.address.toLowerCase(), p]));

    // ── 4. clients submit jobs ───────────────────────────────────────────────────────────────────────────────────
    const jobCount = CLIENT_JOBS.reduce((n, jobs) => n + jobs.length, 0);
    steps.begin(`three clients submitting ${jobCount} private jobs`);
    const deadlineOf = async (): Promise<number> => Number((await ethers.provider.getBlock("latest"))?.timestamp) + 3_600;
    const created = new Map<bigint, { maxUnitsMilli: bigint; escrow: bigint }>();
    // Each client's result key comes from one signature of its wallet (the CLI and the dashboard derive the same).
    const resultKeys = new Map<string, EncryptionKeyPair>();
    const resultKeyOf = async (client: Signer): Promise<EncryptionKeyPair> => {
      const known = resultKeys.get(client.address);
      if (known !== undefined) return known;
      const pair = await resultKeyFor(client, chainId);
      resultKeys.set(client.address, pair);
      return pair;
    };
    /** A private prompt: sealed to the directed provider, or to every provider serving the model, and to the client. */
    const sealPrompt = async (client: Signer, p: JobPlan): Promise<Uint8Array> => {
      const recipients = p.provider === undefined ? providers.filter((x) => x.plan.models.includes(p.model)) : [providers[p.provider]];
      const request = { prompt: toUtf8Bytes(p.prompt), resultKey: (await resultKeyOf(client)).publicKey };
      return sealJobRequest(request, recipients.map((x) => x.encryptionKey.publicKey), { chainId, market: escrowAddress, client: client.address }, nodeHpke);
    };
    const createJobs = async (client: Signer, plans: JobPlan[]): Promise<bigint[]> => {
      const requests = await Promise.all(
        plans.map(async (p) => ({
          modelId: model(p.model).id,
          maxUnitsMilli: unitsToMilli(p.maxUnits),
          provider: p.provider === undefined ? ZeroAddress : providers[p.provider].signer.address,
          deadline: 0,
          prompt: await sealPrompt(client, p),
        })),
      );
      const deadline = await deadlineOf();
      for (const r of requests) r.deadline = deadline;
      // Escrow at today's rate (lib/money), cross-checked with the contract's own quote.
      let needed = 0n;
      for (const r of requests) {
        const owed = escrowFor(r.maxUnitsMilli, (await rateRegistry.model(r.modelId)).rate);
        check(owed === (await escrow.quote(r.modelId, r.maxUnitsMilli)), `lib/money and JobEscrow.quote disagree on model ${r.modelId}`);
        needed += owed;
      }
      gas.add("client: approve escrow", await mined(token.connect(client).approve(escrowAddress, needed)));
      const receipt = await mined(escrow.connect(client).createJobs(requests));
      gas.add("client: createJobs", receipt, requests.length);
      const ids: bigint[] = [];
      for (const log of receipt.logs) {
        const event = escrow.interface.parseLog(log);
        if (event?.name !== "JobCreated") continue;
        // Settled jobs no longer report their escrow: keep what creation locked, for the final accounting.
        created.set(event.args.jobId as bigint, { maxUnitsMilli: event.args.maxUnitsMilli as bigint, escrow: event.args.escrow as bigint });
        ids.push(event.args.jobId as bigint);
      }
      check(ids.length === requests.length, "createJobs did not emit one JobCreated per job");
      return ids;
    };
    const jobIds: bigint[] = [];
    for (const [i, client] of clients.entries()) {
      jobIds.push(...(await createJobs(client, CLIENT_JOBS[i])));
      steps.progress(`${jobIds.length}/${jobCount} submitted`);
    }
    steps.done(`jobs #${jobIds[0]}–#${jobIds[jobIds.length - 1]} escrowed`);

    /** Adds the relayers' accept and settle transactions mined since `fromBlock`; returns the next block to read. */
    const recordRelayerGas = async (fromBlock: number): Promise<number> => {
      const toBlock = await ethers.provider.getBlockNumber();
      const perTx = new Map<string, number>();
      for (const e of await escrow.queryFilter(escrow.filters.JobAccepted(), fromBlock, toBlock)) {
        perTx.set(e.transactionHash, (perTx.get(e.transactionHash) ?? 0) + 1);
      }
      for (const [hash, jobs] of perTx) gas.add("relayer: acceptJobs", await ethers.provider.getTransactionReceipt(hash), jobs);
      const counts = new Map<bigint, bigint>();
      for (const e of await escrow.queryFilter(escrow.filters.RootAnchored(), fromBlock, toBlock)) counts.set(e.args.batchId, e.args.count);
      for (const e of await escrow.queryFilter(escrow.filters.BatchSettled(), fromBlock, toBlock)) {
        gas.add("relayer: settleBatch (settle + anchor)", await ethers.provider.getTransactionReceipt(e.transactionHash), Number(counts.get(e.args.batchId) ?? 0n));
      }
      return toBlock + 1;
    };

    // ── 5. relayers run and settle ───────────────────────────────────────────────────────────────────────────────
    steps.begin(`running ${jobCount} jobs`);
    const waitSettled = async (ids: bigint[]): Promise<void> => {
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      for (;;) {
        const views = await Promise.all(ids.map((id) => escrow.job(id)));
        const accepted = views.filter((v) => v.status >= STATUS.Accepted).length;
        const settled = views.filter((v) => v.status === STATUS.Settled || v.status === STATUS.Finalized).length;
        // Counted on-chain, like the summary: the distinct settlement batches holding these jobs.
        const batches = new Set(views.filter((v) => v.status === STATUS.Settled || v.status === STATUS.Finalized).map((v) => v.batchId)).size;
        steps.progress(`${accepted}/${ids.length} accepted, ${settled}/${ids.length} settled in ${batches} batch${batches === 1 ? "" : "es"}`);
        if (settled === ids.length) return;
        if (Date.now() > deadline) {
          const states = ids.map((id) => `#${id}: ${providers.map((p) => `${p.plan.label} ${p.app.journal.getJob(id)?.state ?? "-"}`).join(", ")}`);
          throw new AitbcError("DEMO_TIMEOUT", `jobs did not settle within ${SETTLE_TIMEOUT_MS / 1000} s`, { details: { states } });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    await waitSettled(jobIds);
    let gasFromBlock = await recordRelayerGas(deployment.block);
    // Each client fetches its results: checked against the signed receipt, then opened with its own key.
    for (const [i, client] of clients.entries()) {
      const mine = (await Promise.all(jobIds.map(async (id) => ({ id, view: await escrow.job(id) })))).filter((j) => j.view.client === client.address);
      for (const { id } of mine) {
        const result = await fetchResult({ provider: ethers.provider, deployment, jobId: id, keyPair: await resultKeyOf(client), ed25519: nodeBackend, hpke: nodeHpke });
        check(result.private && result.text !== null, `job ${id}: the result is not a private text result`);
      }
      steps.progress(`client ${i + 1} read its ${mine.length} private results`);
    }
    steps.done(`${jobIds.length} private results fetched, each matching its signed receipt and opened by its client alone`);
    for (const p of providers) {
      const mine = (await Promise.all(jobIds.map((id) => escrow.job(id)))).filter((v) => v.provider.toLowerCase() === p.signer.address.toLowerCase());
      steps.detail(`${p.plan.label}: ${mine.length} jobs, ${milliToUnits(mine.reduce((s, v) => s + v.unitsMilli, 0n))} gpu_seconds`);
    }

    // ── 6. dispute and DAO resolution ────────────────────────────────────────────────────────────────────────────
    const passProposal = async (label: string, kind: string, input: Record<string, string>, description: string): Promise<void> => {
      const built = buildProposal(kind, input, c, withProposerSuffix(description, deployer.address));
      const card = await readRateCard(rateRegistry);
      for (const action of built.actions) steps.detail(`proposal: ${decodeAction(action, { contracts: c, rateCard: card }).summary}`);
      const proposed = await mined(governor.propose(built.targets, built.values, built.calldatas, built.description));
      gas.add(`dao: propose (${label})`, proposed);
      const created = proposed.logs.map((l) => governor.interface.parseLog(l)).find((e) => e?.name === "ProposalCreated");
      const id = created?.args.proposalId as bigint;
      steps.progress(`proposal ${id} pending; advancing to the vote`);
      await networkHelpers.time.increaseTo((await governor.proposalSnapshot(id)) + 1n);
      for (const voter of [deployer, clients[1]]) {
        gas.add(`dao: vote (${label})`, await mined(governor.connect(voter).castVoteWithReason(id, VOTE_FOR, "demo: looks right")));
      }
      steps.progress(`proposal ${id} voted; advancing past the deadline`);
      await networkHelpers.time.increaseTo((await governor.proposalDeadline(id)) + 1n);
      gas.add(`dao: queue (${label})`, await mined(governor["queue(uint256)"](id)));
      steps.progress(`proposal ${id} queued; advancing to the timelock ETA`);
      await networkHelpers.time.increaseTo(await governor.proposalEta(id));
      gas.add(`dao: execute (${label})`, await mined(governor["execute(uint256)"](id)));
      steps.progress(`proposal ${id} executed`);
    };

    steps.begin("a client disputes a job; the DAO resolves it");
    const disputed = jobIds[0];
    const disputer = clients[0];
    // A dispute costs the client the DAO-set dispute bond, returned because the DAO finds for the client below.
    const disputeBond = await escrow.disputeBond();
    gas.add("client: approve dispute bond", await mined(token.connect(disputer).approve(escrowAddress, disputeBond)));
    gas.add("client: dispute", await mined(escrow.connect(disputer).dispute(disputed)), 1);
    const [held] = await escrow.disputeOf(disputed);
    steps.detail(`client ${disputer.address} disputed job #${disputed} with a ${aitbc(disputeBond)} bond; ${aitbc(held)} of the provider's earnings held`);
    for (const holder of [deployer, clients[1]]) gas.add("dao: delegate", await mined(token.connect(holder).delegate(holder.address)));
    await passProposal("resolve-dispute", "resolve-dispute", { job: disputed.toString(), share: "50%", slash: "10" }, `Resolve the dispute on job ${disputed}: the output was partial`);
    const resolvedView = await escrow.job(disputed);
    check(resolvedView.status === STATUS.Resolved, `job ${disputed} is not Resolved after execution`);
    const resolution = (await escrow.queryFilter(escrow.filters.DisputeResolved(disputed)))[0];
    check(resolution !== undefined, `no DisputeResolved event for job ${disputed}`);
    const { providerAmount, clientAmount, slashed } = resolution.args;
    steps.done(`provider ${aitbc(providerAmount)}, client ${aitbc(clientAmount)}, bond slashed ${aitbc(slashed)}`);

    // ── 7. rate change and a job at the new rate ─────────────────────────────────────────────────────────────────
    const oldRate = model(REPRICED_MODEL).rate;
    const newRate = parseTokenAmount(NEW_RATE);
    steps.begin(`the DAO changes the ${REPRICED_MODEL} rate from ${formatTokenAmount(oldRate)} to ${NEW_RATE} AITBC per gpu_seconds`);
    await passProposal("set-rate", "set-rate", { model: model(REPRICED_MODEL).id.toString(), rate: NEW_RATE }, `Reprice ${REPRICED_MODEL} to ${NEW_RATE} AITBC per gpu_seconds`);
    check((await rateRegistry.model(model(REPRICED_MODEL).id)).rate === newRate, "the rate card does not show the new rate");
    const [lateJob] = await createJobs(clients[1], [{ model: REPRICED_MODEL, prompt: "Quote me the new llama3.2 price.", maxUnits: "2" }]);
    steps.progress(`job #${lateJob} submitted; escrow ${aitbc(escrowFor(unitsToMilli("2"), newRate))} at the new rate`);
    await waitSettled([lateJob]);
    gasFromBlock = await recordRelayerGas(gasFromBlock);
    const lateView = await escrow.job(lateJob);
    check(lateView.rate === newRate, `job ${lateJob} snapshotted rate ${lateView.rate}, expected ${newRate}`);
    check(lateView.price === priceFor(lateView.unitsMilli, newRate), `job ${lateJob} was not priced at the new rate`);
    steps.done(`job #${lateJob}: ${milliToUnits(lateView.unitsMilli)} gpu_seconds × ${NEW_RATE} = ${aitbc(lateView.price)} (at the old rate: ${aitbc(priceFor(lateView.unitsMilli, oldRate))})`);
    const allJobs = [...jobIds, lateJob];

    // ── 8. verify and write every receipt ────────────────────────────────────────────────────────────────────────
    steps.begin(`verifying ${allJobs.length} receipts against the registered keys and the anchored roots`);
    const written: { jobId: string; file: string; receiptHash: string; root: string; provider: string }[] = [];
    for (const id of allJobs) {
      const view = await escrow.job(id);
      const p = providerByAddress.get(view.provider.toLowerCase());
      check(p !== undefined, `job ${id} was accepted by an unknown provider ${view.provider}`);
      const owner = p as RunningProvider;
      const stored = owner.app.journal.receipts.forJob(id);
      check(stored !== null, `${owner.plan.label} has no receipt for job ${id}`);
      // Fetched the way any client gets it: from the provider's API, with the batch root and the Merkle proof.
      const body = await relayerGet(owner.app.relayer.apiUrl ?? "", `/api/v1/receipts/${stored?.receiptId}`);
      check(body !== undefined, `GET receipt of job ${id}: the relayer has no such receipt`);
      const served = parseRelayerReceipt(body as string);
      const { batch, proof } = served;
      check(batch !== null && proof !== null, `the receipt of job ${id} is not anchored yet`);
      const root = (batch as RelayerBatch).root;
      // The SDK's one on-chain verification: the registered key, the settlement batch, JobEscrow.verifyReceiptInclusion.
      const verdict = await verifyReceiptOnChain(ethers.provider, deployment, served.receiptText, { root, proof: proof as string[] }, { backend: nodeBackend });
      if (!verdict.valid) throw new AitbcError("DEMO_RECEIPT_INVALID", `receipt of job ${id}: ${verdict.code}: ${verdict.reason}`);
      const f = verdict.fields;
      check(f.jobId === id && f.unitsMilli === view.unitsMilli && f.priceBase === view.price, `receipt of job ${id} disagrees with the settlement on-chain`);
      const file = path.join(RECEIPTS_DIR, `job-${id.toString().padStart(3, "0")}.json`);
      await writeFile(file, `${serializeReceipt(served.document)}\n`);
      await writeProofFile(file, {
        ...receiptProofBundle(served.receiptText, root, proof as string[]),
        batchId: verdict.anchored.batchId.toString(),
        chainId: chainId.toString(),
        escrow: escrowAddress.toLowerCase(),
        tx: (batch as RelayerBatch).txHash ?? "",
      });
      written.push({ jobId: id.toString(), file: path.relative(OUT, file), receiptHash: verdict.receiptHash, root, provider: f.provider });
      steps.progress(`${written.length}/${allJobs.length} valid`);
    }
    steps.done(`all ${written.length} valid: Ed25519 (registered key), Merkle proof, JobEscrow.verifyReceiptInclusion`);
    steps.detail(`receipts and proofs written to ${RECEIPTS_DIR}`);

    // ── 9. payouts ───────────────────────────────────────────────────────────────────────────────────────────────
    steps.begin("releasing payouts after the dispute window and withdrawing");
    const views = await Promise.all(allJobs.map((id) => escrow.job(id)));
    const batchIds = [...new Set(views.map((v) => v.batchId))];
    const payouts = await Promise.all(batchIds.map((b) => escrow.payoutOf(b)));
    const releasableAt = payouts.reduce((max, p) => (p.releasableAt > max ? p.releasableAt : max), 0n);
    const now = BigInt((await ethers.provider.getBlock("latest"))?.timestamp ?? 0);
    if (now < releasableAt) await networkHelpers.time.increaseTo(releasableAt);
    gas.add("anyone: releaseBatches", await mined(escrow.releaseBatches(batchIds)));
    const withdrawn = new Map<string, bigint>();
    for (const account of [...providers.map((p) => p.signer), ...clients]) {
      if ((await escrow.balanceOf(account.address)) === 0n) continue;
      const receipt = await mined(escrow.connect(account).withdraw());
      gas.add("anyone: withdraw", receipt);
      const event = receipt.logs.map((l) => escrow.interface.parseLog(l)).find((e) => e?.name === "Withdrawn");
      withdrawn.set(account.address.toLowerCase(), event?.args.amount as bigint);
    }
    const swept = await mined(escrow.sweepFees());
    gas.add("anyone: sweepFees", swept);
    const fees = swept.logs.map((l) => escrow.interface.parseLog(l)).find((e) => e?.name === "FeesSwept")?.args.amount as bigint;

    // What lib/money says each party is owed, job by job; the chain must have paid exactly that.
    let expectProviders = 0n;
    let expectClients = 0n;
    let expectFees = 0n;
    let unitsMilli = 0n;
    /** Per client: what its jobs locked, and where that money went. */
    const perClient = new Map<string, { escrowed: bigint; paid: bigint; refunded: bigint; fees: bigint; jobs: number }>();
    for (const [i, v] of views.entries()) {
      const batchFee = v.feeBps;
      const locked = created.get(allJobs[i]);
      check(locked !== undefined, `job ${allJobs[i]} was not created by this run`);
      const split = settle({ maxUnitsMilli: locked?.maxUnitsMilli ?? 0n, unitsMilli: v.unitsMilli, rate: v.rate, feeBps: batchFee });
      check(split.escrow === locked?.escrow, `job ${allJobs[i]}: the escrow locked at creation differs from lib/money`);
      unitsMilli += v.unitsMilli;
      expectFees += split.fee;
      expectClients += split.client;
      expectProviders += allJobs[i] === disputed ? providerAmount : split.provider;
      if (allJobs[i] === disputed) expectClients += clientAmount + disputeBond;
      const row = perClient.get(v.client.toLowerCase()) ?? { escrowed: 0n, paid: 0n, refunded: 0n, fees: 0n, jobs: 0 };
      row.escrowed += locked?.escrow ?? 0n;
      row.paid += allJobs[i] === disputed ? providerAmount : split.provider;
      row.refunded += split.client + (allJobs[i] === disputed ? clientAmount : 0n);
      row.fees += split.fee;
      row.jobs += 1;
      perClient.set(v.client.toLowerCase(), row);
    }
    for (const [client, row] of perClient) {
      check(row.escrowed === row.paid + row.refunded + row.fees, `client ${client}: escrowed ${row.escrowed} is not paid ${row.paid} + refunded ${row.refunded} + fees ${row.fees}`);
    }
    const escrowedTotal = [...perClient.values()].reduce((sum, r) => sum + r.escrowed, 0n);
    const firstBatches = new Set(views.filter((_, i) => jobIds.includes(allJobs[i])).map((v) => v.batchId)).size;
    const sumOf = (addresses: string[]): bigint => addresses.reduce((s, a) => s + (withdrawn.get(a.toLowerCase()) ?? 0n), 0n);
    const paid = sumOf(providers.map((p) => p.signer.address));
    const refunded = sumOf(clients.map((cl) => cl.address));
    check(paid === expectProviders, `providers withdrew ${paid}, lib/money says ${expectProviders}`);
    check(refunded === expectClients, `clients withdrew ${refunded}, lib/money says ${expectClients}`);
    check(fees === expectFees, `fees swept ${fees}, lib/money says ${expectFees}`);
    // Clients withdrew their escrow refunds and the dispute bond they got back by winning; only the first is escrow.
    const refundedEscrow = refunded - disputeBond;
    check((await token.balanceOf(escrowAddress)) === 0n, "the escrow still holds tokens after every withdrawal");
    steps.done("the escrow is empty; every amount matches lib/money");

    // ── summary ──────────────────────────────────────────────────────────────────────────────────────────────────
    const seconds = (performance.now() - startedAt) / 1000;
    console.log("\nSummary");
    console.log(
      formatTable(
        ["total", ""],
        [
          ["jobs", `${allJobs.length} (${jobIds.length} + 1 after the rate change)`],
          ["settlement batches", `${batchIds.length} (${firstBatches} for the first ${jobIds.length} jobs, ${batchIds.length - firstBatches} after the rate change)`],
          ["gpu_seconds", milliToUnits(unitsMilli)],
          ["escrowed by clients", aitbc(escrowedTotal)],
          ["paid to providers", aitbc(paid)],
          ["refunded to clients", aitbc(refundedEscrow)],
          ["dispute bond returned", aitbc(disputeBond)],
          ["fees to the treasury", aitbc(fees)],
          ["bond slashed to the treasury", aitbc(slashed)],
          ["receipts verified", `${written.length} / ${allJobs.length}`],
          ["wall time", `${seconds.toFixed(1)} s`],
        ],
      ),
    );
    console.log("\nPer client (escrowed = paid + refunded + fees)");
    console.log(
      formatTable(
        ["client", "jobs", "escrowed", "paid", "refunded", "fees"],
        [...perClient].map(([client, r]) => [client, String(r.jobs), aitbc(r.escrowed), aitbc(r.paid), aitbc(r.refunded), aitbc(r.fees)]),
        ["left", "right", "right", "right", "right", "right"],
      ),
    );
    console.log("\nPer provider");
    console.log(
      formatTable(
        ["provider", "address", "models", "jobs", "gpu_seconds", "withdrawn"],
        providers.map((p) => {
          const mine = views.filter((v) => v.provider.toLowerCase() === p.signer.address.toLowerCase());
          return [
            p.plan.label,
            p.signer.address,
            p.plan.models.join(", "),
            String(mine.length),
            milliToUnits(mine.reduce((s, v) => s + v.unitsMilli, 0n)),
            aitbc(withdrawn.get(p.signer.address.toLowerCase()) ?? 0n),
          ];
        }),
        ["left", "left", "left", "right", "right", "right"],
      ),
    );
    console.log("\nGas");
    console.log(gas.format());
    const summary = {
      format: "aitbc-demo-summary-v1",
      chainId: chainId.toString(),
      escrow: escrowAddress.toLowerCase(),
      providers: await Promise.all(
        providers.map(async (p) => ({
          label: p.plan.label,
          address: p.signer.address.toLowerCase(),
          models: p.plan.models,
          receiptKey: (await registry.getFunction("provider")(p.signer.address)).receiptKey as string,
          keyId: p.key.keyId,
        })),
      ),
      jobs: allJobs.length,
      disputedJob: disputed.toString(),
      repricedJob: { jobId: lateJob.toString(), model: REPRICED_MODEL, oldRate: oldRate.toString(), newRate: newRate.toString() },
      unitsMilli: unitsMilli.toString(),
      escrowedByClients: escrowedTotal.toString(),
      settlementBatches: batchIds.length,
      clients: [...perClient].map(([address, r]) => ({ address, jobs: r.jobs, escrowed: r.escrowed.toString(), paid: r.paid.toString(), refunded: r.refunded.toString(), fees: r.fees.toString() })),
      paidToProviders: paid.toString(),
      refundedToClients: refundedEscrow.toString(),
      disputeBondReturned: disputeBond.toString(),
      fees: fees.toString(),
      slashed: slashed.toString(),
      receipts: written,
      gas: gas.toJson(),
      seconds: Number(seconds.toFixed(1)),
    };
    await writeFile(path.join(OUT, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    // The README runs the demo through `npx -y -p node@22 -c …` for machines whose Node is older than Hardhat needs,
    // and npx cannot be nested inside that, so the hint calls the project's Hardhat binary under the same Node 22.
    console.log(`\nReceipts: ${RECEIPTS_DIR}`);
    console.log(`  verify one: npx -y -p node@22 -c './node_modules/.bin/hardhat receipt:verify ${written[0] === undefined ? "<file>" : path.relative(process.cwd(), path.join(OUT, written[0].file))} --embedded-key'`);
    console.log(`Summary:  ${path.join(OUT, "summary.json")}`);
    console.log(`\nDemo complete in ${seconds.toFixed(1)} s.`);
  } finally {
    for (const p of providers) await p.app.close();
    await runtime?.close();
    await rm(state, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  if (isAitbcError(error)) {
    console.error(`\ndemo failed: ${error.message} [${error.code}]`);
    if (error.details !== undefined) console.error(JSON.stringify(error.details, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
  } else {
    console.error("\ndemo failed:", error);
  }
}
