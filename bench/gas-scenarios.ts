/**
 * Gas scenarios of the marketplace, shared by `bench/gas.ts` (table + JSON) and `test/bench/gas.test.ts` (ceilings).
 *
 * Every figure is gas from transaction receipts on the in-process
 * chain, so runs are reproducible. Definitions:
 * - create_single / accept_single / settle_single: one job, steady state (the client and provider already have escrow
 *   accounts; their first job pays a one-time account set-up on top).
 * - settle_per_job_batch256: one settleBatch of 256 jobs of one provider from 16 clients (16 each), anchoring
 *   included, divided by 256. settle_per_job_batch1000: the same with 1,000 jobs (checklist item 10).
 * - lifecycle_per_job_batch100: createJobs by 4 clients (25 each) + acceptJobs + settleBatch of the 100 jobs, total
 *   divided by 100.
 * - anchor_root: gas of an anchorRoot transaction minus the 21,000 base transaction cost — the anchoring share of a
 *   batch, which rides inside the settlement transaction (anchor_root_tx: the whole stand-alone transaction).
 * - naive_lifecycle_per_job: create + accept + settle of one job on contracts/bench/NaiveEscrow.sol (one token
 *   transfer per payee), averaged over 20 jobs.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";

import { encodeSettlementRecords, type SettlementRecord, sortForSettlement } from "../lib/receipts/settlement.js";
import { NaiveEscrow__factory } from "../typechain-types/index.js";
import { createJobs, deployMarketFixture, receiptHashFor, type MarketFixture } from "../tools/market-fixture.js";

const RATE = 2n * 10n ** 18n;

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
  const f = await deployMarketFixture(ethers, { clients: 16, providers: 1 });
  const results: Record<string, number> = {};
  const escrowOf = (i: number) => f.market.jobEscrow.connect(f.clients[i]);
  const now = async () => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const prompt = ethers.hexlify(ethers.toUtf8Bytes("Summarise the AITBC receipt format in two sentences, please."));

  // Warm-up: every client and the provider get their escrow account, so single-job figures are steady state.
  const warm: bigint[] = [];
  for (let c = 0; c < 16; c++) warm.push(...(await createJobs(f, f.clients[c], 1)));
  await acceptAndSettle(f, warm);

  const createSingle = await gasOf(escrowOf(0).createJob(1, 10_000n, ethers.ZeroAddress, (await now()) + 3_600n, prompt));
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
    const deadline = (await now()) + 3_600n;
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
    const create = await gasOf(naive.createJob(RATE, 10_000n, (await now()) + 3_600n, prompt));
    const id = await naive.jobCount();
    const accept = await gasOf(naive.connect(f.providers[0]).acceptJob(id));
    const settle = await gasOf(naive.connect(f.providers[0]).settle(id, 4_321n, receiptHashFor(id)));
    if (i > 0) naiveTotal += create + accept + settle; // round 0 warms the payees' balances
  }
  results.naive_lifecycle_per_job = Number(naiveTotal) / (rounds - 1);

  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v)]));
}
