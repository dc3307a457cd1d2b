import type { Signer } from "ethers";

import {
  AITBCGovernor__factory,
  AITBCTimelock__factory,
  AITBCToken__factory,
} from "../typechain-types/index.js";
import type { Deployment, GovernanceParameters } from "./deployments.js";
import { AitbcError } from "./errors.js";

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
  };
}

export type ProgressFn = (step: string) => void;

/** Chains whose state is disposable: short governance windows and dev-account funding are allowed there. */
export function isLocalChain(chainId: bigint | number): boolean {
  return BigInt(chainId) === 31337n || BigInt(chainId) === 1337n;
}

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
    holders.push({ address: options.deployer, amount: initialSupply - treasury });
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
  return { governance, token: { cap: 1_000_000_000n * E18, holders, treasury } };
}

export interface DeployedGovernance {
  token: string;
  timelock: string;
  governor: string;
  block: number;
}

/**
 * Deploys token, timelock and governor, and wires the roles: the Governor becomes the timelock's only proposer and
 * canceller, execution is open to anyone (the timelock delay is the protection), and the token's minter is the timelock.
 *
 * The deployer keeps the timelock admin role until {@link finalizeGovernance} renounces it, so further contracts
 * (the marketplace) can be deployed and wired in between.
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

  progress("timelock");
  const timelock = await new AITBCTimelock__factory(deployer).deploy(g.timelockDelay, [], [ZERO_ADDRESS], deployerAddress);
  const receipt = await timelock.deploymentTransaction()?.wait();
  const block = receipt?.blockNumber ?? (await provider.getBlockNumber());
  const timelockAddress = await timelock.getAddress();

  progress("token");
  const recipients = [timelockAddress, ...params.token.holders.map((h) => h.address)];
  const amounts = [params.token.treasury, ...params.token.holders.map((h) => h.amount)];
  const token = await new AITBCToken__factory(deployer).deploy(params.token.cap, timelockAddress, recipients, amounts);
  await token.waitForDeployment();

  progress("governor");
  const governor = await new AITBCGovernor__factory(deployer).deploy(await token.getAddress(), timelockAddress, {
    votingDelay: g.votingDelay,
    votingPeriod: g.votingPeriod,
    proposalThreshold: BigInt(g.proposalThreshold),
    quorumNumerator: g.quorumPercent,
    lateQuorumExtension: g.lateQuorumExtension,
    guardian: g.guardian,
  });
  await governor.waitForDeployment();
  const governorAddress = await governor.getAddress();

  progress("roles: governor proposes and cancels on the timelock");
  await (await timelock.grantRole(await timelock.PROPOSER_ROLE(), governorAddress)).wait();
  await (await timelock.grantRole(await timelock.CANCELLER_ROLE(), governorAddress)).wait();

  return { token: await token.getAddress(), timelock: timelockAddress, governor: governorAddress, block };
}

/** Renounces the deployer's timelock admin role: from here on only the DAO changes anything. */
export async function finalizeGovernance(deployer: Signer, timelockAddress: string): Promise<void> {
  const timelock = AITBCTimelock__factory.connect(timelockAddress, deployer);
  const admin = await timelock.DEFAULT_ADMIN_ROLE();
  await (await timelock.renounceRole(admin, await deployer.getAddress())).wait();
}

/** Builds the JSON document written to `deployments/<network>.json`. */
export function describeDeployment(input: {
  network: string;
  chainId: bigint;
  deployer: string;
  governance: DeployedGovernance;
  params: DeployParameters;
  market?: {
    contracts: Partial<Record<"ModelRegistry" | "ProviderRegistry" | "JobEscrow", string>>;
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
