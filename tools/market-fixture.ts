/**
 * Shared set-up for marketplace tests and the gas benchmark: a token, the three marketplace contracts with a plain
 * account standing in for the timelock, registered providers and settlement records ordered by leaf.
 */
import { generateKeyPairSync } from "node:crypto";

import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toBeHex } from "ethers";

import { AITBCToken__factory, type AITBCToken } from "../typechain-types/index.js";
import { deployMarket, defaultMarketParameters, type DeployedMarket, type MarketParameters } from "../lib/deploy-market.js";
import { settle } from "../lib/money.js";

export const E18 = 10n ** 18n;

export interface MarketFixture {
  ethers: HardhatEthers;
  token: AITBCToken;
  market: DeployedMarket;
  /** Stands in for the timelock (owner of every parameter). */
  owner: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  clients: HardhatEthersSigner[];
  providers: HardhatEthersSigner[];
  params: MarketParameters;
  chainId: bigint;
}

/** A fresh valid Ed25519 public key as bytes32. */
export function randomReceiptKey(): string {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  return `0x${Buffer.from(jwk.x as string, "base64url").toString("hex")}`;
}

export async function deployMarketFixture(
  ethers: HardhatEthers,
  options: { clients?: number; providers?: number; params?: Partial<MarketParameters> } = {},
): Promise<MarketFixture> {
  const signers = await ethers.getSigners();
  const [deployer, owner, treasury] = signers;
  const clientCount = options.clients ?? 4;
  const providerCount = options.providers ?? 2;
  const clients = signers.slice(3, 3 + clientCount);
  const providers = signers.slice(3 + clientCount, 3 + clientCount + providerCount);
  if (clients.length < clientCount || providers.length < providerCount) throw new Error("not enough test accounts");
  const funded = [...clients, ...providers];
  const token = await new AITBCToken__factory(deployer).deploy(
    10n ** 9n * E18,
    owner.address,
    funded.map((s) => s.address),
    funded.map(() => 1_000_000n * E18),
  );
  await token.waitForDeployment();
  const params = { ...defaultMarketParameters(true), ...options.params };
  const market = await deployMarket(deployer, { token: await token.getAddress(), timelock: owner.address, treasury: treasury.address }, params);
  const escrow = market.addresses.jobEscrow;
  for (const c of clients) await token.connect(c).approve(escrow, ethers.MaxUint256);
  for (const p of providers) {
    await token.connect(p).approve(market.addresses.providerRegistry, ethers.MaxUint256);
    await market.providerRegistry.connect(p).register(randomReceiptKey(), [1, 2, 3, 4], params.minBond);
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return { ethers, token, market, owner, treasury, clients, providers, params, chainId };
}

export function receiptHashFor(jobId: bigint): string {
  return keccak256(toBeHex(jobId, 32));
}

/** Creates `count` jobs for `client` in one createJobs call; returns their ids. */
export async function createJobs(
  f: MarketFixture,
  client: HardhatEthersSigner,
  count: number,
  job: { modelId?: number; maxUnitsMilli?: bigint; provider?: string; deadlineIn?: number; prompt?: string } = {},
): Promise<bigint[]> {
  const now = BigInt((await f.ethers.provider.getBlock("latest"))!.timestamp);
  const request = {
    modelId: job.modelId ?? 1,
    maxUnitsMilli: job.maxUnitsMilli ?? 10_000n,
    provider: job.provider ?? f.ethers.ZeroAddress,
    deadline: now + BigInt(job.deadlineIn ?? 3_600),
    prompt: job.prompt ?? "0x",
  };
  const [jobsBefore] = await f.market.jobEscrow.counters();
  await (await f.market.jobEscrow.connect(client).createJobs(Array.from({ length: count }, () => request))).wait();
  return Array.from({ length: count }, (_, i) => jobsBefore + 1n + BigInt(i));
}

export { settle };
