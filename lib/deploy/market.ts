import { getCreateAddress, type Signer } from "ethers";

import {
  JobChannels__factory,
  JobEscrow__factory,
  ModelRegistry__factory,
  ProviderRegistry__factory,
  type JobChannels,
  type JobEscrow,
  type ModelRegistry,
  type ProviderRegistry,
} from "../../typechain-types/index.js";
import { AitbcError } from "../errors.js";
import { parseTokenAmount } from "../money/amounts.js";

/** One entry of the rate card as deployed. `rate` is base units per ONE unit. */
export interface RateCardEntry {
  name: string;
  unitType: string;
  rate: bigint;
}

/** The default rate card (AITBC per gpu_seconds). */
export const DEFAULT_RATE_CARD: readonly RateCardEntry[] = [
  { name: "llama3.2", unitType: "gpu_seconds", rate: parseTokenAmount("2.0") },
  { name: "llama3.2:1b", unitType: "gpu_seconds", rate: parseTokenAmount("0.5") },
  { name: "codellama", unitType: "gpu_seconds", rate: parseTokenAmount("2.5") },
  { name: "stable-diffusion", unitType: "gpu_seconds", rate: parseTokenAmount("5.0") },
];

/** Marketplace parameters. Times in seconds, amounts in base units. */
export interface MarketParameters {
  feeBps: number;
  disputeWindow: number;
  disputeTimeout: number;
  maxDeadlineDelay: number;
  minBond: bigint;
  unbondingPeriod: number;
  /** A provider accepts jobs only while its exposure stays within `exposureMultiple × bond`. */
  exposureMultiple: number;
  /** What a client pays to open a dispute (returned when it wins), base units. */
  disputeBond: bigint;
  rateCard: readonly RateCardEntry[];
  /** The channel job mode (`JobChannels`), deployed beside the escrow with the same token, registries and owner. */
  channels: ChannelParameters;
}

/** `JobChannels` parameters (docs/CHANNELS.md §3). Times in seconds, amounts in base units. */
export interface ChannelParameters {
  feeBps: number;
  /** How long a client's withdrawal waits: longer than any job takes to be served, anchored and claimed. */
  withdrawalDelay: number;
  /** How long a fallback (unvouched) claim can be disputed. */
  disputeWindow: number;
  /** An unresolved dispute closes in the provider's favour after this. */
  disputeTimeout: number;
  disputeBond: bigint;
}

/**
 * Defaults. Public chains: fee 2.5 %, a 3-day dispute window, disputes time out after 14 days, jobs run at most
 * 30 days, bond 1,000 AITBC that unbonds in 21 days, exposure up to 10 × the bond (10,000 AITBC of jobs in flight per
 * 1,000 bonded), a 10 AITBC dispute bond. Whatever the unbonding period, a bond stays while its provider has exposure.
 * Local chains: the same shape in minutes, and room for the large batches of tests and benchmarks.
 */
export function defaultMarketParameters(local: boolean): MarketParameters {
  return local
    ? {
        feeBps: 250,
        disputeWindow: 600,
        disputeTimeout: 3_600,
        maxDeadlineDelay: 86_400,
        minBond: parseTokenAmount("100"),
        unbondingPeriod: 2 * 3_600,
        exposureMultiple: 1_000,
        disputeBond: parseTokenAmount("1"),
        rateCard: DEFAULT_RATE_CARD,
        channels: { feeBps: 250, withdrawalDelay: 2 * 3_600, disputeWindow: 600, disputeTimeout: 3_600, disputeBond: parseTokenAmount("1") },
      }
    : {
        feeBps: 250,
        disputeWindow: 3 * 86_400,
        disputeTimeout: 14 * 86_400,
        maxDeadlineDelay: 30 * 86_400,
        minBond: parseTokenAmount("1000"),
        unbondingPeriod: 21 * 86_400,
        exposureMultiple: 10,
        disputeBond: parseTokenAmount("10"),
        rateCard: DEFAULT_RATE_CARD,
        channels: { feeBps: 250, withdrawalDelay: 7 * 86_400, disputeWindow: 3 * 86_400, disputeTimeout: 14 * 86_400, disputeBond: parseTokenAmount("10") },
      };
}

export interface MarketAddresses {
  modelRegistry: string;
  providerRegistry: string;
  jobEscrow: string;
  jobChannels: string;
}

export interface DeployedMarket {
  addresses: MarketAddresses;
  modelRegistry: ModelRegistry;
  providerRegistry: ProviderRegistry;
  jobEscrow: JobEscrow;
  jobChannels: JobChannels;
  /** Block of the first marketplace deployment transaction. */
  block: number;
}

/**
 * Deploys the rate card, the provider registry, the escrow and the channel contract, owned by the timelock from the first block (the rate
 * card is seeded through the constructor, so no deployer privilege ever exists).
 *
 * The registry's escrow link is immutable: the escrow's address is predicted from the deployer's nonce and checked
 * after deployment. Do not send other transactions from the deployer while this runs.
 *
 * @throws {AitbcError} `NO_PROVIDER`, `BAD_PARAMETER`, `DEPLOY_ADDRESS_MISMATCH`.
 */
export async function deployMarket(
  deployer: Signer,
  links: { token: string; timelock: string; treasury: string },
  params: MarketParameters,
  options: { nonce?: number } = {},
): Promise<DeployedMarket> {
  const provider = deployer.provider;
  if (provider === null) throw new AitbcError("NO_PROVIDER", "The deployer signer is not connected to a chain");
  if (params.rateCard.length === 0) {
    throw new AitbcError("BAD_PARAMETER", "the rate card is empty", { hint: "deploy with at least one model (see DEFAULT_RATE_CARD)" });
  }
  const deployerAddress = await deployer.getAddress();
  const nonce = options.nonce ?? (await provider.getTransactionCount(deployerAddress, "pending"));
  const predictedEscrow = getCreateAddress({ from: deployerAddress, nonce: nonce + 2 });

  const modelRegistry = await new ModelRegistry__factory(deployer).deploy(
    links.timelock,
    params.rateCard.map((m) => m.name),
    params.rateCard.map((m) => m.unitType),
    params.rateCard.map((m) => m.rate),
    { nonce },
  );
  const first = await modelRegistry.deploymentTransaction()?.wait();
  const providerRegistry = await new ProviderRegistry__factory(deployer).deploy(
    links.token,
    await modelRegistry.getAddress(),
    predictedEscrow,
    links.treasury,
    links.timelock,
    params.minBond,
    params.unbondingPeriod,
    params.exposureMultiple,
    { nonce: nonce + 1 },
  );
  await providerRegistry.waitForDeployment();
  const jobEscrow = await new JobEscrow__factory(deployer).deploy(
    links.token,
    await modelRegistry.getAddress(),
    await providerRegistry.getAddress(),
    links.treasury,
    links.timelock,
    {
      feeBps: params.feeBps,
      disputeWindow: params.disputeWindow,
      disputeTimeout: params.disputeTimeout,
      maxDeadlineDelay: params.maxDeadlineDelay,
      disputeBond: params.disputeBond,
    },
    { nonce: nonce + 2 },
  );
  await jobEscrow.waitForDeployment();
  const escrowAddress = await jobEscrow.getAddress();
  if (escrowAddress.toLowerCase() !== predictedEscrow.toLowerCase()) {
    throw new AitbcError("DEPLOY_ADDRESS_MISMATCH", `JobEscrow landed at ${escrowAddress}, the registry expects ${predictedEscrow}`, {
      hint: "another transaction used the deployer's nonce during deployment; redeploy from an idle account",
    });
  }
  const c = params.channels;
  const jobChannels = await new JobChannels__factory(deployer).deploy(
    links.token,
    await modelRegistry.getAddress(),
    await providerRegistry.getAddress(),
    links.treasury,
    links.timelock,
    { feeBps: c.feeBps, disputeWindow: c.disputeWindow, disputeTimeout: c.disputeTimeout, withdrawalDelay: c.withdrawalDelay, disputeBond: c.disputeBond },
    { nonce: nonce + 3 },
  );
  await jobChannels.waitForDeployment();
  return {
    addresses: {
      modelRegistry: await modelRegistry.getAddress(),
      providerRegistry: await providerRegistry.getAddress(),
      jobEscrow: escrowAddress,
      jobChannels: await jobChannels.getAddress(),
    },
    modelRegistry,
    providerRegistry,
    jobEscrow,
    jobChannels,
    block: first?.blockNumber ?? (await provider.getBlockNumber()),
  };
}
