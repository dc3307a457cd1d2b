/**
 * Governance test kit: deploys the real system on an in-process chain and drives one proposal through
 * propose → vote → queue → execute, recording gas at each step.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import { id as keccakText, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";

import { deploySystem } from "../../lib/deploy-system.js";
import type { Deployment } from "../../lib/deployments.js";
import type { ProposalAction } from "../../lib/governance/kinds.js";
import {
  AITBCGovernor__factory,
  AITBCTimelock__factory,
  AITBCToken__factory,
  type AITBCGovernor,
  type AITBCTimelock,
  type AITBCToken,
} from "../../typechain-types/index.js";

export const E18 = 10n ** 18n;

/** `GovernorCountingSimple` ballots. */
export const Vote = { Against: 0, For: 1, Abstain: 2 } as const;

/** `IGovernor.ProposalState` values. */
export const State = { Pending: 0n, Active: 1n, Canceled: 2n, Defeated: 3n, Succeeded: 4n, Queued: 5n, Expired: 6n, Executed: 7n } as const;

export interface GovernanceSystem {
  ethers: HardhatEthers;
  networkHelpers: NetworkHelpers;
  deployment: Deployment;
  token: AITBCToken;
  governor: AITBCGovernor;
  timelock: AITBCTimelock;
  /** Holds 31M AITBC after a local deployment; also the proposal guardian. */
  deployer: HardhatEthersSigner;
  /** Dev accounts with 1M AITBC each (not delegated). */
  holders: HardhatEthersSigner[];
  /** Accounts with no tokens. */
  outsiders: HardhatEthersSigner[];
}

/** Deploys token, timelock and governor with the local-chain parameters (the CLI's defaults for `hardhat node`). */
export async function deployGovernanceSystem(ethers: HardhatEthers, networkHelpers: NetworkHelpers): Promise<GovernanceSystem> {
  const [deployer, ...rest] = await ethers.getSigners();
  const holders = rest.slice(0, 4);
  const outsiders = rest.slice(4, 8);
  const deployment = await deploySystem(deployer, { network: "test", devAccounts: holders.map((h) => h.address) });
  const c = deployment.contracts;
  return {
    ethers,
    networkHelpers,
    deployment,
    token: AITBCToken__factory.connect(c.AITBCToken, deployer),
    governor: AITBCGovernor__factory.connect(c.AITBCGovernor, deployer),
    timelock: AITBCTimelock__factory.connect(c.AITBCTimelock, deployer),
    deployer,
    holders,
    outsiders,
  };
}

export interface StepGas {
  propose?: bigint;
  /** The first vote on the proposal (it initialises the tally). */
  castVote?: bigint;
  queue?: bigint;
  execute?: bigint;
}

/** One proposal and the steps of its life. Create it with the actions, then call the steps in order. */
export class ProposalDriver {
  readonly targets: string[];
  readonly values: bigint[];
  readonly calldatas: string[];
  readonly gas: StepGas = {};
  private proposalId?: bigint;

  constructor(
    private readonly sys: GovernanceSystem,
    actions: ProposalAction[],
    readonly description: string,
  ) {
    this.targets = actions.map((a) => a.target);
    this.values = actions.map((a) => a.value);
    this.calldatas = actions.map((a) => a.calldata);
  }

  get descriptionHash(): string {
    return keccakText(this.description);
  }

  /** The id the Governor assigned; only after {@link propose}. */
  get id(): bigint {
    if (this.proposalId === undefined) throw new Error("propose() first");
    return this.proposalId;
  }

  private static async mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new Error("transaction was dropped");
    return receipt;
  }

  async propose(signer: HardhatEthersSigner = this.sys.deployer): Promise<ContractTransactionReceipt> {
    const governor = this.sys.governor.connect(signer);
    const receipt = await ProposalDriver.mined(governor.propose(this.targets, this.values, this.calldatas, this.description));
    const created = receipt.logs.map((l) => governor.interface.parseLog(l)).find((p) => p?.name === "ProposalCreated");
    if (created === undefined || created === null) throw new Error("no ProposalCreated event");
    this.proposalId = created.args.proposalId as bigint;
    this.gas.propose = receipt.gasUsed;
    return receipt;
  }

  async snapshot(): Promise<bigint> {
    return this.sys.governor.proposalSnapshot(this.id);
  }

  async deadline(): Promise<bigint> {
    return this.sys.governor.proposalDeadline(this.id);
  }

  async state(): Promise<bigint> {
    return this.sys.governor.state(this.id);
  }

  /** Moves the clock to `snapshot + offset` (1: the first second votes are accepted). */
  async waitForSnapshot(offset = 1n): Promise<void> {
    await this.sys.networkHelpers.time.increaseTo((await this.snapshot()) + offset);
  }

  /** Moves the clock to `deadline + offset` (1: the first second the outcome is final). */
  async waitForDeadline(offset = 1n): Promise<void> {
    await this.sys.networkHelpers.time.increaseTo((await this.deadline()) + offset);
  }

  async vote(signer: HardhatEthersSigner, support: number = Vote.For, reason?: string): Promise<ContractTransactionReceipt> {
    const governor = this.sys.governor.connect(signer);
    const receipt = await ProposalDriver.mined(reason === undefined ? governor.castVote(this.id, support) : governor.castVoteWithReason(this.id, support, reason));
    this.gas.castVote ??= receipt.gasUsed;
    return receipt;
  }

  async queue(signer: HardhatEthersSigner = this.sys.deployer): Promise<ContractTransactionReceipt> {
    const receipt = await ProposalDriver.mined(this.sys.governor.connect(signer)["queue(uint256)"](this.id));
    this.gas.queue = receipt.gasUsed;
    return receipt;
  }

  /** Moves the clock to the timelock ETA (+ offset): the first second execution is allowed. */
  async waitForEta(offset = 0n): Promise<void> {
    const eta = await this.sys.governor.proposalEta(this.id);
    if (eta === 0n) throw new Error("not queued");
    await this.sys.networkHelpers.time.setNextBlockTimestamp(eta + offset);
  }

  async execute(signer: HardhatEthersSigner = this.sys.deployer): Promise<ContractTransactionReceipt> {
    const receipt = await ProposalDriver.mined(this.sys.governor.connect(signer)["execute(uint256)"](this.id));
    this.gas.execute = receipt.gasUsed;
    return receipt;
  }

  /** Propose, pass with `voters` voting For, queue and wait for the ETA; the next transaction can execute. */
  async passAndQueue(voters: HardhatEthersSigner[], proposer: HardhatEthersSigner = this.sys.deployer): Promise<void> {
    await this.propose(proposer);
    await this.waitForSnapshot();
    for (const v of voters) await this.vote(v, Vote.For);
    await this.waitForDeadline();
    await this.queue();
    await this.waitForEta();
  }
}

/** Delegates each signer's votes to itself and mines, so they count for proposals created afterwards. */
export async function selfDelegate(token: AITBCToken, signers: HardhatEthersSigner[]): Promise<void> {
  for (const s of signers) await (await token.connect(s).delegate(s.address)).wait();
}
