import { getAddress, getCreateAddress, isAddress, type Signer } from "ethers";

import {
  AITBCGovernor__factory,
  AITBCTimelock__factory,
  AITBCToken__factory,
} from "../../typechain-types/index.js";
import type { Deployment, GovernanceParameters } from "../deployments.js";
import { AitbcError } from "../errors.js";

const E18 = 10n ** 18n;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export interface DeployParameters {
  governance: GovernanceParameters;
  token: {
    /** Hard cap, base units. */
    cap: bigint;
    /** Initial holders (base units). The treasury share goes to the timelock and needs no entry here. */
    holders: { address: string; amount: bigint }[];
    /** Initial balance of the treasury (the timelock), base units. */
    treasury: bigint;
    /**
     * Public networks: refuse a distribution in which one holder has quorum alone (see {@link assertDispersed}).
     * Local chains, whose state is disposable, may give the deployer everything.
     */
    dispersed: boolean;
  };
}

/** One initial holder of a public deployment's distribution list. */
export interface DistributionEntry {
  address: string;
  /** Base units. */
  amount: bigint;
}

export type ProgressFn = (step: string) => void;

/**
 * Default parameters.
 *
 * Public networks: voting delay 1 day, voting period 7 days, quorum 4 %, timelock 2 days, late-quorum extension 1 day,
 * proposal threshold 100,000 AITBC (0.1 % of the initial supply).
 * Local chains: the same shape with windows of minutes, so a full proposal lifecycle takes a few blocks.
 */
export function defaultParameters(options: {
  local: boolean;
  deployer: string;
  /** Extra funded accounts on local chains (dev accounts of the node). */
  devAccounts?: string[];
  guardian?: string;
  /**
   * Public networks: who receives the circulating 40 % at launch (required there: no default gives a single key the
   * supply). Ignored on local chains.
   */
  distribution?: readonly DistributionEntry[];
}): DeployParameters {
  const initialSupply = 100_000_000n * E18;
  const treasury = (initialSupply * 60n) / 100n;
  const holders: { address: string; amount: bigint }[] = [];
  if (options.local) {
    const dev = (options.devAccounts ?? []).filter((a) => a.toLowerCase() !== options.deployer.toLowerCase());
    const perDev = 1_000_000n * E18;
    holders.push({ address: options.deployer, amount: initialSupply - treasury - perDev * BigInt(dev.length) });
    for (const address of dev) holders.push({ address, amount: perDev });
  } else {
    if (options.distribution === undefined || options.distribution.length === 0) {
      throw new AitbcError("DISTRIBUTION_REQUIRED", "a public-network deployment needs an initial distribution list", {
        hint: 'Pass --distribution <file.json> with the initial holders ({ "holders": [{ "address": "0x…", "amount": "AITBC" }] }), none of them at or above quorum (see docs/GOVERNANCE.md).',
      });
    }
    for (const h of options.distribution) holders.push({ address: h.address, amount: h.amount });
  }
  const governance: GovernanceParameters = options.local
    ? {
        votingDelay: 60,
        votingPeriod: 600,
        proposalThreshold: (1_000n * E18).toString(),
        quorumPercent: 4,
        timelockDelay: 120,
        lateQuorumExtension: 120,
        guardian: options.guardian ?? options.deployer,
      }
    : {
        votingDelay: 86_400,
        votingPeriod: 7 * 86_400,
        proposalThreshold: (100_000n * E18).toString(),
        quorumPercent: 4,
        timelockDelay: 2 * 86_400,
        lateQuorumExtension: 86_400,
        guardian: options.guardian ?? ZERO_ADDRESS,
      };
  return { governance, token: { cap: 1_000_000_000n * E18, holders, treasury, dispersed: !options.local } };
}

/**
 * Refuses a distribution in which one holder has quorum alone at launch. Quorum counts the votes that can be cast
 * (the supply minus the treasury, which the Governor leaves out), so the bar is `quorumPercent` of the holders' total.
 *
 * @throws {AitbcError} `CONCENTRATED_DISTRIBUTION`, `BAD_DISTRIBUTION`.
 */
export function assertDispersed(params: DeployParameters): void {
  const seen = new Set<string>();
  let castable = 0n;
  for (const h of params.token.holders) {
    if (!isAddress(h.address) || h.amount <= 0n) {
      throw new AitbcError("BAD_DISTRIBUTION", `distribution entry ${h.address}: ${h.amount} is not an address with a positive amount`, {
        hint: "Each holder needs a 0x-prefixed address and an amount above zero.",
      });
    }
    const key = getAddress(h.address);
    if (seen.has(key)) throw new AitbcError("BAD_DISTRIBUTION", `${key} appears twice in the distribution`, { hint: "List each holder once." });
    seen.add(key);
    castable += h.amount;
  }
  const quorum = (castable * BigInt(params.governance.quorumPercent)) / 100n;
  const top = params.token.holders.reduce<{ address: string; amount: bigint } | undefined>((max, h) => (max === undefined || h.amount > max.amount ? h : max), undefined);
  if (top === undefined || top.amount >= quorum) {
    throw new AitbcError(
      "CONCENTRATED_DISTRIBUTION",
      top === undefined
        ? "the distribution has no holder: no vote could ever reach quorum"
        : `${top.address} would hold ${top.amount} of ${castable} castable votes, at or above the quorum of ${quorum} (${params.governance.quorumPercent} %)`,
      {
        hint: `Spread the initial supply so that every holder stays below ${params.governance.quorumPercent} % of the distributed total (split or vest large allocations).`,
        details: { quorum: quorum.toString(), castable: castable.toString() },
      },
    );
  }
}

export interface DeployedGovernance {
  token: string;
  timelock: string;
  governor: string;
  block: number;
  /**
   * The deployer's next nonce. Pass it on to the next deployment step: a provider may answer a repeated
   * `getTransactionCount` from a short-lived cache with the nonce read before these three transactions.
   */
  nextNonce: number;
}

/**
 * Deploys token, timelock and governor: the Governor is the timelock's only proposer and canceller, execution is open
 * to anyone (the timelock delay is the protection), and the token's minter is the timelock.
 *
 * No admin ever exists: the timelock is created with the Governor's address (predicted from the deployer's nonce) as
 * its proposer and no admin, so a deployment that stops half-way leaves no one with a privilege over it. Do not send
 * other transactions from the deployer while this runs.
 *
 * @throws {AitbcError} `BAD_PARAMETER`, `CONCENTRATED_DISTRIBUTION`, `BAD_DISTRIBUTION`, `DEPLOY_ADDRESS_MISMATCH`.
 */
export async function deployGovernance(
  deployer: Signer,
  params: DeployParameters,
  progress: ProgressFn = () => {},
): Promise<DeployedGovernance> {
  const deployerAddress = await deployer.getAddress();
  const provider = deployer.provider;
  if (provider === null) throw new AitbcError("NO_PROVIDER", "The deployer signer is not connected to a chain");
  const g = params.governance;
  if (g.quorumPercent <= 0 || g.quorumPercent > 100) {
    throw new AitbcError("BAD_PARAMETER", `quorumPercent must be in 1..100, got ${g.quorumPercent}`);
  }
  let total = params.token.treasury;
  for (const h of params.token.holders) total += h.amount;
  if (total > params.token.cap) {
    throw new AitbcError("BAD_PARAMETER", `initial distribution ${total} exceeds the cap ${params.token.cap}`);
  }
  if (params.token.dispersed) assertDispersed(params);

  const nonce = await provider.getTransactionCount(deployerAddress, "pending");
  const predictedGovernor = getCreateAddress({ from: deployerAddress, nonce: nonce + 2 });
  progress("timelock (proposer: the Governor, no admin)");
  const timelock = await new AITBCTimelock__factory(deployer).deploy(g.timelockDelay, [predictedGovernor], [ZERO_ADDRESS], ZERO_ADDRESS, { nonce });
  const receipt = await timelock.deploymentTransaction()?.wait();
  const block = receipt?.blockNumber ?? (await provider.getBlockNumber());
  const timelockAddress = await timelock.getAddress();

  progress("token");
  const recipients = [timelockAddress, ...params.token.holders.map((h) => h.address)];
  const amounts = [params.token.treasury, ...params.token.holders.map((h) => h.amount)];
  const token = await new AITBCToken__factory(deployer).deploy(params.token.cap, timelockAddress, recipients, amounts, { nonce: nonce + 1 });
  await token.waitForDeployment();

  progress("governor");
  const governor = await new AITBCGovernor__factory(deployer).deploy(
    await token.getAddress(),
    timelockAddress,
    {
      votingDelay: g.votingDelay,
      votingPeriod: g.votingPeriod,
      proposalThreshold: BigInt(g.proposalThreshold),
      quorumNumerator: g.quorumPercent,
      lateQuorumExtension: g.lateQuorumExtension,
      guardian: g.guardian,
    },
    { nonce: nonce + 2 },
  );
  await governor.waitForDeployment();
  const governorAddress = await governor.getAddress();
  if (governorAddress.toLowerCase() !== predictedGovernor.toLowerCase()) {
    throw new AitbcError("DEPLOY_ADDRESS_MISMATCH", `AITBCGovernor landed at ${governorAddress}, the timelock expects ${predictedGovernor}`, {
      hint: "another transaction used the deployer's nonce during deployment; redeploy from an idle account",
    });
  }

  return { token: await token.getAddress(), timelock: timelockAddress, governor: governorAddress, block, nextNonce: nonce + 3 };
}

/**
 * Checks that the deployer holds no role on the timelock: the timelock has no admin but itself, so only the DAO
 * changes anything.
 *
 * @throws {AitbcError} `DEPLOYER_HAS_ROLE`.
 */
export async function finalizeGovernance(deployer: Signer, timelockAddress: string): Promise<void> {
  const timelock = AITBCTimelock__factory.connect(timelockAddress, deployer);
  const who = await deployer.getAddress();
  for (const role of [await timelock.DEFAULT_ADMIN_ROLE(), await timelock.PROPOSER_ROLE(), await timelock.CANCELLER_ROLE()]) {
    if (await timelock.hasRole(role, who)) {
      throw new AitbcError("DEPLOYER_HAS_ROLE", `the deployer ${who} holds role ${role} on the timelock ${timelockAddress}`, {
        hint: "This deployment is not sound; deploy again with this version of the deployer.",
      });
    }
  }
}

/** Builds the JSON document written to `deployments/<network>.json`. */
export function describeDeployment(input: {
  network: string;
  chainId: bigint;
  deployer: string;
  governance: DeployedGovernance;
  params: DeployParameters;
  market?: {
    contracts: Partial<Record<"ModelRegistry" | "ProviderRegistry" | "JobEscrow" | "JobChannels", string>>;
    parameters: Record<string, unknown>;
  };
}): Deployment {
  const distribution: Record<string, string> = { [input.governance.timelock]: input.params.token.treasury.toString() };
  for (const h of input.params.token.holders) distribution[h.address] = h.amount.toString();
  return {
    format: 1,
    network: input.network,
    chainId: Number(input.chainId),
    block: input.governance.block,
    deployedAt: new Date().toISOString(),
    deployer: input.deployer,
    contracts: {
      AITBCToken: input.governance.token,
      AITBCTimelock: input.governance.timelock,
      AITBCGovernor: input.governance.governor,
      ...(input.market?.contracts ?? {}),
    },
    parameters: {
      governance: input.params.governance,
      token: { cap: input.params.token.cap.toString(), initialDistribution: distribution },
      ...(input.market === undefined ? {} : { market: input.market.parameters }),
    },
  };
}
