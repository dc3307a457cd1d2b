/**
 * Gas of the channel job mode, shared by `bench/gas-channel.ts` (table + JSON) and `test/market/channel-gas.ts`
 * (ceilings). Gas from transaction receipts on the in-process chain, so runs are reproducible.
 *
 * Traffic: one provider serves 256 distinct clients × 10 jobs each (2,560 jobs). Each client's channel was opened by
 * one deposit; each client signs one cumulative voucher covering its 10 jobs; the provider redeems the 256 vouchers
 * and anchors the root of the 2,560 receipt leaves in ONE claim transaction. Definitions:
 * - channel_open_per_client: a first deposit into a fresh (client, provider) channel, whole transaction, averaged
 *   over the 256 clients (reported apart: a client opens once and tops up rarely).
 * - claim_256_clients_total: the claim transaction (256 vouchers + root), intrinsic and calldata gas included.
 * - claim_per_client / claim_per_job: that total divided by 256 / 2,560 — the amortised cost of a job.
 * - claim_single_voucher_tx: a claim of one client's voucher alone (no root) — the worst case: one client per claim.
 * - anchor_root_tx: a stand-alone anchorRoot transaction (the fallback path's anchor).
 * - claim_unvouched_tx: the fallback claim of one job (signed request + receipt proof under a 2,560-leaf root).
 * - withdraw_tx: the provider withdrawing its earnings (one per many claims).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet, keccak256, toBeHex } from "ethers";

import type { ReceiptLeafValue } from "../lib/receipts/leaf.js";
import { ReceiptMerkleTree } from "../lib/receipts/proof-bundle.js";
import { channelsDomain, jobRequestDigest, signJobRequest, signVoucher, type ChannelJobRequest, type SignedVoucher } from "../lib/sdk/channels.js";
import { JobChannels__factory, type JobChannels } from "../typechain-types/index.js";
import { deployMarketFixture, E18, type MarketFixture } from "../tools/market-fixture.js";

export const CHANNEL_CLIENTS = 256;
export const JOBS_PER_CLIENT = 10;
const RATE = 2n * E18;

async function gasOf(tx: Promise<{ wait: () => Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

/** JobChannels next to the fixture's market, with the local channel parameters. */
export async function deployChannels(f: MarketFixture): Promise<JobChannels> {
  const [deployer] = await f.ethers.getSigners();
  const channels = await new JobChannels__factory(deployer).deploy(
    await f.token.getAddress(),
    f.market.addresses.modelRegistry,
    f.market.addresses.providerRegistry,
    f.treasury.address,
    f.owner.address,
    { feeBps: 250, disputeWindow: 600, disputeTimeout: 3_600, withdrawalDelay: 7_200, disputeBond: E18 },
  );
  await channels.waitForDeployment();
  return channels;
}

/** Runs the scenario on a fresh deployment and returns gas figures by metric name. */
export async function measureChannelGas(ethers: HardhatEthers): Promise<Record<string, number>> {
  const f = await deployMarketFixture(ethers, { clients: 1, providers: 1 });
  const channels = await deployChannels(f);
  const address = await channels.getAddress();
  const provider = f.providers[0];
  const funder = f.clients[0];
  const domain = channelsDomain(f.chainId, address);
  await (await f.token.connect(funder).approve(address, ethers.MaxUint256)).wait();

  // 256 clients with their own keys; one funder opens each channel (a client may as well deposit for itself).
  const clients = Array.from({ length: CHANNEL_CLIENTS }, (_, i) => new Wallet(keccak256(toBeHex(i + 1, 32))));
  let open = 0n;
  for (const c of clients) open += await gasOf(channels.connect(funder).deposit(c.address, provider.address, 500n * E18));

  // 10 jobs per client: each job's request digest is its id in the receipt leaf; the voucher covers all 10 prices.
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
  const leaves: ReceiptLeafValue[] = [];
  const requests: ChannelJobRequest[] = [];
  const vouchers: SignedVoucher[] = [];
  for (const [ci, c] of clients.entries()) {
    let owed = 0n;
    for (let j = 0; j < JOBS_PER_CLIENT; j++) {
      const unitsMilli = 1_000n + BigInt((ci * 7_919 + j * 104_729) % 9_000);
      const price = (unitsMilli * RATE) / 1_000n;
      const request: ChannelJobRequest = {
        client: c.address,
        provider: provider.address,
        requestId: BigInt(j + 1),
        modelId: 1,
        maxUnitsMilli: 10_000n,
        deadline,
        inputHash: keccak256(toBeHex(ci * 1_000 + j, 32)),
      };
      requests.push(request);
      leaves.push({
        chainId: f.chainId,
        escrow: address,
        jobId: BigInt(jobRequestDigest(domain, request)),
        provider: provider.address,
        unitsMilli,
        price,
        receiptHash: keccak256(toBeHex(1_000_000 + ci * 1_000 + j, 32)),
      });
      // Client 1 leaves its last job unvouched: the provider claims it below through the fallback.
      if (ci !== 1 || j < JOBS_PER_CLIENT - 1) owed += price;
    }
    const covered = BigInt(ci === 1 ? JOBS_PER_CLIENT - 1 : JOBS_PER_CLIENT);
    vouchers.push(await signVoucher(c, domain, { client: c.address, provider: provider.address, cumulativeAmount: owed, coveredThrough: covered }));
  }
  const tree = ReceiptMerkleTree.of(leaves);
  const claim = await gasOf(channels.connect(provider).claim(tree.root, leaves.length, vouchers, { gasLimit: 16_000_000n }));

  // The worst case: one client's voucher alone (its next job), no root.
  const next = await signVoucher(clients[0], domain, { client: clients[0].address, provider: provider.address, cumulativeAmount: vouchers[0].cumulativeAmount + RATE, coveredThrough: BigInt(JOBS_PER_CLIENT + 1) });
  const single = await gasOf(channels.connect(provider).claim(ethers.ZeroHash, 0, [next]));

  // The fallback path: an anchor of its own, then one job claimed from its signed request and receipt proof.
  const anchor = await gasOf(channels.connect(provider).anchorRoot(keccak256("0x1234"), 1));
  // Client 1's last request, which its voucher does not cover (a covered one is refused: JobChannelsRequestVouched).
  const k = JOBS_PER_CLIENT - 1;
  const signature = await signJobRequest(clients[1], domain, requests[JOBS_PER_CLIENT + k]);
  const leaf = leaves[JOBS_PER_CLIENT + k];
  const unvouched = await gasOf(
    channels.connect(provider).claimUnvouched({
      request: requests[JOBS_PER_CLIENT + k],
      requestSignature: signature,
      unitsMilli: leaf.unitsMilli,
      price: leaf.price,
      receiptHash: leaf.receiptHash,
      root: tree.root,
      proof: tree.getProof(JOBS_PER_CLIENT + k),
    }),
  );
  const withdraw = await gasOf(channels.connect(provider).withdraw());

  const jobs = CHANNEL_CLIENTS * JOBS_PER_CLIENT;
  const results: Record<string, number> = {
    clients: CHANNEL_CLIENTS,
    jobs_per_client: JOBS_PER_CLIENT,
    channel_open_per_client: Number(open) / CHANNEL_CLIENTS,
    claim_256_clients_total: Number(claim),
    claim_per_client: Number(claim) / CHANNEL_CLIENTS,
    claim_per_job: Number(claim) / jobs,
    claim_single_voucher_tx: Number(single),
    anchor_root_tx: Number(anchor),
    claim_unvouched_tx: Number(unvouched),
    withdraw_tx: Number(withdraw),
  };
  return Object.fromEntries(Object.entries(results).map(([key, v]) => [key, Math.round(v)]));
}
