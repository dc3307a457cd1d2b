/**
 * Gas scenarios of the marketplace, shared by `bench/gas.ts` (table + JSON) and `test/bench/gas.test.ts` (ceilings).
 *
 * Every figure is gas from transaction receipts on the in-process
 * chain, so runs are reproducible. Definitions:
 * - create_single / accept_single / settle_single: one job (deadline: see {@link deadlineIn}), steady state (the client and provider already have escrow
 *   accounts; their first job pays a one-time account set-up on top).
 * - settle_per_job_batch256: one settleBatch of 256 jobs of one provider from 16 clients (16 each), anchoring
 *   included, divided by 256. settle_per_job_batch1000: the same with 1,000 jobs (checklist item 10).
 * - lifecycle_per_job_batch100: createJobs by 4 clients (25 each) + acceptJobs + settleBatch of the 100 jobs, total
 *   divided by 100.
 * - anchor_root: gas of an anchorRoot transaction minus the 21,000 base transaction cost — the anchoring share of a
 *   batch, which rides inside the settlement transaction (anchor_root_tx: the whole stand-alone transaction).
 * - naive_lifecycle_per_job: create + accept + settle of one job on contracts/bench/NaiveEscrow.sol (one token
 *   transfer per payee), averaged over 20 jobs. Kept for comparison only: the yardstick is the project's own
 *   one-job-per-transaction path, `one_job_per_tx_lifecycle`.
 *
 * The rows after those (see {@link TRAFFIC} for each one's traffic):
 * - create_single_directed: create_single naming the provider. create_private_directed_1_recipient /
 *   create_private_open_4_recipients: the same 60-byte plaintext as a private prompt, sealed with sealJobRequest to 1
 *   provider (a directed job) or 4 (an open job), plus the client's own slot. Envelopes carry random bytes and a zero
 *   byte of calldata is 12 gas cheaper than another, so the bench seals until the envelope has no zero byte: the
 *   dearest envelope of that size, and a reproducible figure (a random one is ~12 gas x length/256 cheaper).
 * - accept_single_private / settle_single_private: accepting and settling the 4-recipient private job, measured back
 *   to back with a public job in the same state (accept_single_public_rerun / settle_single_public_rerun): the prompt
 *   is never read again after creation, so the figures are equal.
 * - prompt_gas_per_kib_1k_2k / _16k_32k: extra createJob gas per extra KiB of prompt (divide by 1,024 for a byte),
 *   between 1 and 2 KiB and between 16 and 32 KiB of prompt (the second is above the EIP-7623 calldata floor). An
 *   envelope's bytes cost the same: only the length and the zero bytes count.
 * - give_back_single: giveBackJob of an accepted job (the whole escrow to the client in one transfer).
 * - release_single_tx, withdraw_provider_tx, withdraw_client_tx: releaseBatches of one batch past its dispute
 *   window, and a withdraw by its provider and by a client with a balance.
 * - one_job_per_tx_lifecycle: the project's own path for one job, one transaction each: createJob + acceptJob +
 *   settleBatch of 1 + releaseBatches of that batch + the provider's withdraw + the client's withdraw (its refund).
 * - lifecycle_full_per_job_25_per_create: lifecycle_per_job_batch100's traffic (4 clients x 25 jobs per createJobs,
 *   one acceptJobs, one settleBatch) plus releaseBatches, the provider's withdraw and each client's withdraw, / 100.
 * - lifecycle_full_per_job_1_per_create: the same 100 jobs with 1 job per createJob call from 100 distinct clients,
 *   and 100 client withdraws, / 100.
 * - settle_per_job_batch256_256_clients: settle_per_job_batch256 with 256 distinct clients (1 job each): one refund
 *   credit per client instead of one per 16 jobs. Whether a client has withdrawn before makes no difference: its
 *   balance shares a storage slot with its account's owner, so the slot is never zero.
 * Every client of these rows already has its escrow account (a first job pays a one-time account set-up on top).
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { getBytes, hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";

import { deriveEncryptionKeyPair } from "../lib/privacy/envelope.js";
import { sealJobRequest } from "../lib/privacy/request.js";

import { encodeSettlementRecords, type SettlementRecord, sortForSettlement } from "../lib/receipts/settlement.js";
import { NaiveEscrow__factory } from "../typechain-types/index.js";
import { createJobs, deployMarketFixture, receiptHashFor, type MarketFixture } from "../tools/market-fixture.js";

const RATE = 2n * 10n ** 18n;
const PROMPT_TEXT = "Summarise the AITBC receipt format in two sentences, please.";

/** The traffic behind a figure: who pays, how jobs are grouped, how big the prompt is. */
export interface Traffic {
  /** Distinct clients whose jobs the figure covers. */
  clients: number;
  /** Jobs per createJob(s) call. */
  jobsPerCreate: number;
  /** Prompt bytes per job, as sent on-chain (an envelope for private prompts). */
  promptBytes: number;
  /** Jobs the figure is divided by (1: a single transaction or job). */
  jobs: number;
  /** What is counted. */
  counts: string;
}

export interface GasReport {
  figures: Record<string, number>;
  traffic: Record<string, Traffic>;
}

const T = (clients: number, jobsPerCreate: number, promptBytes: number, jobs: number, counts: string): Traffic => ({ clients, jobsPerCreate, promptBytes, jobs, counts });

/**
 * A deadline about an hour ahead whose significant bytes are all non-zero. A zero byte of calldata costs 12 gas less
 * than another, so a deadline taken straight from the (wall-clock) chain time would move create figures by 12 gas
 * from run to run; this keeps them reproducible.
 */
function deadlineIn(now: bigint): bigint {
  let deadline = now + 3_600n;
  const hasZeroByte = (v: bigint) => {
    for (let x = v; x > 0n; x >>= 8n) if ((x & 0xffn) === 0n) return true;
    return false;
  };
  while (hasZeroByte(deadline)) deadline += 1n;
  return deadline;
}

async function gasOf(tx: Promise<{ wait: () => Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

/** Accepts and settles `jobIds` for the first provider; returns [acceptGas, settleGas]. */
async function acceptAndSettle(f: MarketFixture, jobIds: bigint[]): Promise<[bigint, bigint]> {
  const provider = f.providers[0];
  const escrow = f.market.jobEscrow.connect(provider);
  let accept = 0n;
  for (let i = 0; i < jobIds.length; i += 500) accept += await gasOf(escrow.acceptJobs(jobIds.slice(i, i + 500)));
  const records: SettlementRecord[] = jobIds.map((jobId, i) => ({
    jobId,
    unitsMilli: 1_000n + ((BigInt(i) * 7_919n) % 9_000n),
    receiptHash: receiptHashFor(jobId),
  }));
  const sorted = sortForSettlement({ chainId: f.chainId, escrow: f.market.addresses.jobEscrow, provider: provider.address }, records, () => RATE);
  const settle = await gasOf(escrow.settleBatch(encodeSettlementRecords(sorted), { gasLimit: 16_000_000n }));
  return [accept, settle];
}

/** Runs every scenario on a fresh deployment and returns gas figures by metric name. */
export async function measureGas(ethers: HardhatEthers): Promise<Record<string, number>> {
  return (await measureGasReport(ethers)).figures;
}

/** {@link measureGas} with the traffic of every figure. */
export async function measureGasReport(ethers: HardhatEthers): Promise<GasReport> {
  const f = await deployMarketFixture(ethers, { clients: 16, providers: 1 });
  const results: Record<string, number> = {};
  const escrowOf = (i: number) => f.market.jobEscrow.connect(f.clients[i]);
  const now = async () => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const prompt = ethers.hexlify(ethers.toUtf8Bytes(PROMPT_TEXT));

  // Warm-up: every client and the provider get their escrow account, so single-job figures are steady state.
  const warm: bigint[] = [];
  for (let c = 0; c < 16; c++) warm.push(...(await createJobs(f, f.clients[c], 1)));
  await acceptAndSettle(f, warm);

  const createSingle = await gasOf(escrowOf(0).createJob(1, 10_000n, ethers.ZeroAddress, deadlineIn(await now()), prompt));
  const [jobs] = await f.market.jobEscrow.counters();
  const acceptSingle = await gasOf(f.market.jobEscrow.connect(f.providers[0]).acceptJob(jobs));
  const single = sortForSettlement({ chainId: f.chainId, escrow: f.market.addresses.jobEscrow, provider: f.providers[0].address }, [{ jobId: jobs, unitsMilli: 4_321n, receiptHash: receiptHashFor(jobs) }], () => RATE);
  const settleSingle = await gasOf(f.market.jobEscrow.connect(f.providers[0]).settleBatch(encodeSettlementRecords(single)));
  results.create_single = Number(createSingle);
  results.accept_single = Number(acceptSingle);
  results.settle_single = Number(settleSingle);

  // 256 jobs from 16 clients settled in one batch.
  const batch256: bigint[] = [];
  for (let c = 0; c < 16; c++) batch256.push(...(await createJobs(f, f.clients[c], 16)));
  const [, settle256] = await acceptAndSettle(f, batch256);
  results.settle_per_job_batch256 = Number(settle256) / 256;

  // Lifecycle of 100 jobs: 4 clients create 25 each in one call, one acceptJobs, one settleBatch.
  let lifecycle = 0n;
  const batch100: bigint[] = [];
  for (let c = 0; c < 4; c++) {
    const [before] = await f.market.jobEscrow.counters();
    const deadline = deadlineIn(await now());
    const requests = Array.from({ length: 25 }, () => ({ modelId: 1, maxUnitsMilli: 10_000n, provider: ethers.ZeroAddress, deadline, prompt }));
    lifecycle += await gasOf(escrowOf(c).createJobs(requests));
    for (let i = 1n; i <= 25n; i++) batch100.push(before + i);
  }
  const [accept100, settle100] = await acceptAndSettle(f, batch100);
  lifecycle += accept100 + settle100;
  results.lifecycle_per_job_batch100 = Number(lifecycle) / 100;

  // 1,000 jobs in one batch (checklist item 10: bounded and measured).
  const batch1000: bigint[] = [];
  for (let c = 0; c < 16; c++) batch1000.push(...(await createJobs(f, f.clients[c], c < 8 ? 63 : 62)));
  const [, settle1000] = await acceptAndSettle(f, batch1000);
  results.settle_batch1000_total = Number(settle1000);
  results.settle_per_job_batch1000 = Number(settle1000) / 1000;

  // Plain anchoring.
  const anchorTx = await gasOf(f.market.jobEscrow.connect(f.providers[0]).anchorRoot(ethers.keccak256("0x1234"), 256));
  results.anchor_root = Number(anchorTx) - 21_000;
  results.anchor_root_tx = Number(anchorTx);

  // The yardstick: one job at a time, paying each party by transfer.
  const naive = await new NaiveEscrow__factory(f.clients[0]).deploy(await f.token.getAddress(), f.treasury.address, 250);
  await naive.waitForDeployment();
  await (await f.token.connect(f.clients[0]).approve(await naive.getAddress(), ethers.MaxUint256)).wait();
  let naiveTotal = 0n;
  const rounds = 21;
  for (let i = 0; i < rounds; i++) {
    const create = await gasOf(naive.createJob(RATE, 10_000n, deadlineIn(await now()), prompt));
    const id = await naive.jobCount();
    const accept = await gasOf(naive.connect(f.providers[0]).acceptJob(id));
    const settle = await gasOf(naive.connect(f.providers[0]).settle(id, 4_321n, receiptHashFor(id)));
    if (i > 0) naiveTotal += create + accept + settle; // round 0 warms the payees' balances
  }
  results.naive_lifecycle_per_job = Number(naiveTotal) / (rounds - 1);

  const traffic = await measureHonestRows(ethers, f, results);
  const figures = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v)]));
  return { figures, traffic: { ...firstRowsTraffic((prompt.length - 2) / 2), ...traffic } };
}

/** The traffic of the rows measured before {@link measureHonestRows} (their scenarios are unchanged). */
function firstRowsTraffic(promptBytes: number): Record<string, Traffic> {
  return {
    create_single: T(1, 1, promptBytes, 1, "createJob, open job"),
    accept_single: T(1, 1, promptBytes, 1, "acceptJob"),
    settle_single: T(1, 1, promptBytes, 1, "settleBatch of 1, anchoring included"),
    settle_per_job_batch256: T(16, 16, 0, 256, "settleBatch of 256 (16 jobs per client), anchoring included"),
    lifecycle_per_job_batch100: T(4, 25, promptBytes, 100, "createJobs + acceptJobs + settleBatch; no release, no withdraw"),
    settle_batch1000_total: T(16, 63, 0, 1, "one settleBatch of 1,000 (whole transaction)"),
    settle_per_job_batch1000: T(16, 63, 0, 1000, "settleBatch of 1,000, anchoring included"),
    anchor_root: T(0, 0, 0, 1, "anchorRoot less the 21,000 base cost"),
    anchor_root_tx: T(0, 0, 0, 1, "anchorRoot transaction"),
    naive_lifecycle_per_job: T(1, 1, promptBytes, 20, "create + accept + settle on NaiveEscrow (comparison only)"),
  };
}

/** Seals `plaintext` as a private job request until the envelope has no zero byte (see the header). */
async function sealedPrompt(plaintext: Uint8Array, providerKeys: Uint8Array[], resultKey: Uint8Array, context: { chainId: bigint; market: string; client: string }): Promise<string> {
  for (;;) {
    const envelope = await sealJobRequest({ prompt: plaintext, resultKey }, providerKeys, context);
    if (!envelope.includes(0)) return hexlify(envelope);
  }
}

async function increaseTime(ethers: HardhatEthers, seconds: number): Promise<void> {
  await ethers.provider.send("evm_increaseTime", [seconds]);
  await ethers.provider.send("evm_mine", []);
}

/**
 * The rows of the honest tables (private prompts, give-back, release and withdraw, worst traffic next to the best),
 * measured after the first rows so that those keep their state and figures. Writes into `results`.
 */
async function measureHonestRows(ethers: HardhatEthers, f: MarketFixture, results: Record<string, number>): Promise<Record<string, Traffic>> {
  const traffic: Record<string, Traffic> = {};
  const provider = f.providers[0];
  const escrow = f.market.jobEscrow;
  const asProvider = escrow.connect(provider);
  const market = f.market.addresses.jobEscrow;
  const now = async () => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const plaintext = toUtf8Bytes(PROMPT_TEXT);
  const prompt = hexlify(plaintext);
  const lastJob = async () => (await escrow.counters())[0];
  const settleOne = async (jobId: bigint) =>
    gasOf(asProvider.settleBatch(encodeSettlementRecords(sortForSettlement({ chainId: f.chainId, escrow: market, provider: provider.address }, [{ jobId, unitsMilli: 4_321n, receiptHash: receiptHashFor(jobId) }], () => RATE))));
  const createOne = async (client: HardhatEthersSigner | Wallet, body: string, directed = false) =>
    gasOf(escrow.connect(client).createJob(1, 10_000n, directed ? provider.address : ethers.ZeroAddress, deadlineIn(await now()), body));

  // Private prompts next to public ones: same plaintext, same client.
  const client = f.clients[0];
  const seed = (label: string) => getBytes(keccak256(toUtf8Bytes(`aitbc/bench/gas/${label}`)));
  const providerKeys = await Promise.all([0, 1, 2, 3].map(async (i) => (await deriveEncryptionKeyPair(seed(`provider-${i}`))).publicKey));
  const resultKey = (await deriveEncryptionKeyPair(seed("client-result"))).publicKey;
  const context = { chainId: f.chainId, market, client: client.address };
  const private1 = await sealedPrompt(plaintext, providerKeys.slice(0, 1), resultKey, context);
  const private4 = await sealedPrompt(plaintext, providerKeys, resultKey, context);
  const bytesOf = (hex: string) => (hex.length - 2) / 2;
  results.create_single_directed = Number(await createOne(client, prompt, true));
  traffic.create_single_directed = T(1, 1, plaintext.length, 1, "createJob, directed job, public prompt");
  results.create_private_directed_1_recipient = Number(await createOne(client, private1, true));
  traffic.create_private_directed_1_recipient = T(1, 1, bytesOf(private1), 1, `createJob, directed job, private prompt: ${plaintext.length}-byte plaintext sealed to 1 provider + the client`);
  results.create_private_open_4_recipients = Number(await createOne(client, private4));
  traffic.create_private_open_4_recipients = T(1, 1, bytesOf(private4), 1, `createJob, open job, private prompt: ${plaintext.length}-byte plaintext sealed to 4 providers + the client`);
  const privateJob = await lastJob();
  await createOne(client, prompt);
  const publicJob = await lastJob();
  results.accept_single_public_rerun = Number(await gasOf(asProvider.acceptJob(publicJob)));
  results.accept_single_private = Number(await gasOf(asProvider.acceptJob(privateJob)));
  results.settle_single_public_rerun = Number(await settleOne(publicJob));
  results.settle_single_private = Number(await settleOne(privateJob));
  traffic.accept_single_public_rerun = T(1, 1, plaintext.length, 1, "acceptJob of a public job, beside accept_single_private");
  traffic.accept_single_private = T(1, 1, bytesOf(private4), 1, "acceptJob of the 4-recipient private job");
  traffic.settle_single_public_rerun = T(1, 1, plaintext.length, 1, "settleBatch of 1, beside settle_single_private");
  traffic.settle_single_private = T(1, 1, bytesOf(private4), 1, "settleBatch of 1: the 4-recipient private job");

  // Calldata cost per prompt byte (text without zero bytes; an envelope's bytes cost the same).
  const textOf = (n: number) => hexlify(toUtf8Bytes("The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(n / 45)).slice(0, n)));
  const perKib = async (small: number) => {
    const a = await createOne(client, textOf(small));
    const b = await createOne(client, textOf(2 * small));
    return (Number(b - a) * 1024) / small;
  };
  results.prompt_gas_per_kib_1k_2k = await perKib(1024);
  traffic.prompt_gas_per_kib_1k_2k = T(1, 1, 2048, 1, "createJob with 2 KiB less 1 KiB of prompt (gas per KiB)");
  results.prompt_gas_per_kib_16k_32k = await perKib(16_384);
  traffic.prompt_gas_per_kib_16k_32k = T(1, 1, 32_768, 1, "createJob with 32 KiB less 16 KiB of prompt, per KiB (EIP-7623 floor)");

  // Give-back of an accepted job.
  await createOne(client, prompt);
  const givenBack = await lastJob();
  await (await asProvider.acceptJob(givenBack)).wait();
  results.give_back_single = Number(await gasOf(asProvider.giveBackJob(givenBack)));
  traffic.give_back_single = T(1, 1, plaintext.length, 1, "giveBackJob: whole escrow to the client");

  // The project's own one-job-per-transaction path, release and withdraws included.
  const window = Number(f.params.disputeWindow);
  const batchCount = async () => (await escrow.counters())[1];
  const releaseAndWithdraw = async (clients: (HardhatEthersSigner | Wallet)[]) => {
    await increaseTime(ethers, window + 1);
    const release = await gasOf(escrow.connect(f.clients[0]).releaseBatches([await batchCount()]));
    const withdrawProvider = await gasOf(asProvider.withdraw());
    let withdrawClients = 0n;
    for (const c of clients) withdrawClients += await gasOf(escrow.connect(c).withdraw());
    return { release, withdrawProvider, withdrawClients };
  };
  const create1 = await createOne(client, prompt);
  const job1 = await lastJob();
  const accept1 = await gasOf(asProvider.acceptJob(job1));
  const settle1 = await settleOne(job1);
  const rw = await releaseAndWithdraw([client]);
  results.release_single_tx = Number(rw.release);
  results.withdraw_provider_tx = Number(rw.withdrawProvider);
  results.withdraw_client_tx = Number(rw.withdrawClients);
  results.one_job_per_tx_lifecycle = Number(create1 + accept1 + settle1 + rw.release + rw.withdrawProvider + rw.withdrawClients);
  traffic.release_single_tx = T(1, 1, plaintext.length, 1, "releaseBatches of one batch");
  traffic.withdraw_provider_tx = T(1, 1, plaintext.length, 1, "withdraw by the provider");
  traffic.withdraw_client_tx = T(1, 1, plaintext.length, 1, "withdraw by a client (its refund)");
  traffic.one_job_per_tx_lifecycle = T(1, 1, plaintext.length, 1, "createJob + acceptJob + settleBatch of 1 + releaseBatches + 2 withdraws: the yardstick");

  // Full lifecycle, 25 jobs per createJobs call from 4 clients.
  {
    let total = 0n;
    const ids: bigint[] = [];
    for (let c = 0; c < 4; c++) {
      const before = await lastJob();
      const deadline = deadlineIn(await now());
      total += await gasOf(escrow.connect(f.clients[c]).createJobs(Array.from({ length: 25 }, () => ({ modelId: 1, maxUnitsMilli: 10_000n, provider: ethers.ZeroAddress, deadline, prompt }))));
      for (let i = 1n; i <= 25n; i++) ids.push(before + i);
    }
    const [accept, settle] = await acceptAndSettle(f, ids);
    const after = await releaseAndWithdraw(f.clients.slice(0, 4));
    total += accept + settle + after.release + after.withdrawProvider + after.withdrawClients;
    results.lifecycle_full_per_job_25_per_create = Number(total) / 100;
    traffic.lifecycle_full_per_job_25_per_create = T(4, 25, plaintext.length, 100, "createJobs + acceptJobs + settleBatch + releaseBatches + provider and 4 client withdraws");
  }

  // 256 distinct clients, funded and with an escrow account (a settled warm-up job each).
  const wallets = Array.from({ length: 256 }, (_, i) => new Wallet(keccak256(toUtf8Bytes(`aitbc/bench/gas/client-${i}`)), ethers.provider));
  for (const [i, w] of wallets.entries()) {
    await ethers.provider.send("hardhat_setBalance", [w.address, "0x56bc75e2d63100000"]);
    await (await f.token.connect(f.clients[4 + (i % 12)]).transfer(w.address, 200n * 10n ** 18n)).wait();
    await (await f.token.connect(w).approve(market, ethers.MaxUint256)).wait();
  }
  const oneEach = async (clients: Wallet[]) => {
    const ids: bigint[] = [];
    let create = 0n;
    for (const w of clients) {
      create += await createOne(w, prompt);
      ids.push(await lastJob());
    }
    return { ids, create };
  };
  await acceptAndSettle(f, (await oneEach(wallets)).ids);

  // Full lifecycle, 1 job per createJob call from 100 distinct clients.
  {
    const { ids, create } = await oneEach(wallets.slice(0, 100));
    const [accept, settle] = await acceptAndSettle(f, ids);
    const after = await releaseAndWithdraw(wallets.slice(0, 100));
    results.lifecycle_full_per_job_1_per_create = Number(create + accept + settle + after.release + after.withdrawProvider + after.withdrawClients) / 100;
    traffic.lifecycle_full_per_job_1_per_create = T(100, 1, plaintext.length, 100, "100 createJob + acceptJobs + settleBatch + releaseBatches + provider and 100 client withdraws");
  }

  // Settle 256 jobs of 256 distinct clients (1 job each).
  {
    const { ids } = await oneEach(wallets);
    const [, settle] = await acceptAndSettle(f, ids);
    results.settle_per_job_batch256_256_clients = Number(settle) / 256;
    traffic.settle_per_job_batch256_256_clients = T(256, 1, plaintext.length, 256, "settleBatch of 256, one job per client, anchoring included");
  }
  return traffic;
}
