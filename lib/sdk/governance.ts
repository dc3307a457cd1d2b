/**
 * Governance reads, the one implementation shared by the `dao:*` tasks and the dashboard: a proposal (or all of them)
 * as a {@link ProposalView} — state, windows, tally against quorum, timelock ETA, decoded actions — the Governor's
 * settings, and one account's standing on a proposal. The rules over these views are pure functions in
 * `lib/governance/proposals.ts`. Browser-safe (only ethers contracts).
 */
import { ModelRegistry__factory } from "../../typechain-types/factories/market/ModelRegistry__factory.js";
import type { AITBCGovernor, AITBCTimelock, AITBCToken } from "../../typechain-types/index.js";
import { AitbcError } from "../errors.js";
// Registers the marketplace kinds and decoders, so every reader of proposals understands marketplace calls.
import "../governance/market-kinds.js";
import { decodeAction, type DecodeContext, type DecodedAction, type DeployedContracts, type GovernanceSettings, type ProposalAction } from "../governance/kinds.js";
import { proposalStateName, type ProposalView, type VoterStatus, type VoteTally } from "../governance/proposals.js";
import { readRateCard, type RateCardRow } from "../market/rates.js";

export interface GovernanceContracts {
  governor: AITBCGovernor;
  token: AITBCToken;
  timelock: AITBCTimelock;
}

export interface ReadProposalOptions {
  contracts: DeployedContracts;
  network: string;
  /** First block to search for proposal events (the deployment block). */
  fromBlock?: number;
  /** Descriptions by id, when the caller has read them already. */
  descriptions?: Map<bigint, string>;
  /** Reads one action; the dashboard adds a fallback for calls the shared decoder has no sentence for. */
  decode?: (action: ProposalAction, ctx: DecodeContext) => DecodedAction;
}

/** Throws `UNKNOWN_PROPOSAL` unless the Governor knows `id`. */
export async function requireProposal(governor: AITBCGovernor, id: bigint, network: string): Promise<void> {
  if ((await governor.proposalSnapshot(id)) === 0n) {
    const count = await governor.proposalCount();
    throw new AitbcError("UNKNOWN_PROPOSAL", `there is no proposal ${id} on ${network} (${count} proposal${count === 1n ? "" : "s"} so far)`, {
      hint: `Run \`npx hardhat dao:list --network ${network}\` to see them.`,
      details: { id: id.toString(), count: count.toString() },
    });
  }
}

export async function readGovernanceSettings(c: GovernanceContracts): Promise<GovernanceSettings> {
  const [votingDelay, votingPeriod, proposalThreshold, quorumPercent, lateQuorumExtension, timelockDelay, guardian] = await Promise.all([
    c.governor.votingDelay(),
    c.governor.votingPeriod(),
    c.governor.proposalThreshold(),
    c.governor["quorumNumerator()"](),
    c.governor.lateQuorumVoteExtension(),
    c.timelock.getMinDelay(),
    c.governor.proposalGuardian(),
  ]);
  return { votingDelay, votingPeriod, proposalThreshold, quorumPercent, lateQuorumExtension, timelockDelay, guardian };
}

/** Descriptions of every proposal created since `fromBlock`, by id (the Governor stores only their hash). */
export async function readProposalDescriptions(governor: AITBCGovernor, fromBlock: number): Promise<Map<bigint, string>> {
  const events = await governor.queryFilter(governor.filters.ProposalCreated(), fromBlock);
  return new Map(events.map((e) => [e.args.proposalId, e.args.description]));
}

/** The block before the one that executed proposal `id`, or undefined when its execution is not in the logs. */
async function blockBeforeExecution(governor: AITBCGovernor, id: bigint, fromBlock: number): Promise<number | undefined> {
  const events = await governor.queryFilter(governor.filters.ProposalExecuted(), fromBlock).catch(() => []);
  const executed = events.find((e) => e.args.proposalId === id);
  return executed === undefined ? undefined : executed.blockNumber - 1;
}

function readRateCardAt(registry: ReturnType<typeof ModelRegistry__factory.connect>, blockTag: number | "latest"): Promise<RateCardRow[]> {
  return readRateCard({ modelCount: () => registry.modelCount({ blockTag }), model: (modelId) => registry.model(modelId, { blockTag }) });
}

/** What the proposals of one read share: descriptions, live settings and the live rate card, each read once. */
interface SharedReads {
  descriptions: Map<bigint, string>;
  settings: () => Promise<GovernanceSettings>;
  rateCard: (blockTag: number | "latest") => Promise<RateCardRow[] | undefined>;
}

function sharedReads(c: GovernanceContracts, options: ReadProposalOptions, descriptions: Map<bigint, string>): SharedReads {
  let settings: Promise<GovernanceSettings> | undefined;
  let latestCard: Promise<RateCardRow[] | undefined> | undefined;
  const registry = options.contracts.ModelRegistry;
  const cardAt = (blockTag: number | "latest") =>
    registry === undefined ? Promise.resolve(undefined) : readRateCardAt(ModelRegistry__factory.connect(registry, c.governor.runner), blockTag);
  return {
    descriptions,
    settings: () => (settings ??= readGovernanceSettings(c)),
    rateCard: (blockTag) => (blockTag === "latest" ? (latestCard ??= cardAt("latest")) : cardAt(blockTag)),
  };
}

async function readOne(c: GovernanceContracts, id: bigint, options: ReadProposalOptions, shared: SharedReads): Promise<ProposalView> {
  const [stateValue, proposer, snapshot, deadline, eta, now, tally, details] = await Promise.all([
    c.governor.state(id),
    c.governor.proposalProposer(id),
    c.governor.proposalSnapshot(id),
    c.governor.proposalDeadline(id),
    c.governor.proposalEta(id),
    c.governor.clock(),
    c.governor.proposalVotes(id),
    c.governor.proposalDetails(id),
  ]);
  const state = proposalStateName(stateValue);
  // Past timepoints only: quorum(t) reverts for t >= now, so a pending proposal shows the quorum of one second ago
  // (the Governor's own formula over today's castable supply) as an estimate.
  const quorumIsEstimate = snapshot >= now;
  const quorum = await c.governor.quorum(quorumIsEstimate ? now - 1n : snapshot);
  const votes: VoteTally = { against: tally[0], for: tally[1], abstain: tally[2] };
  // "from X to Y" only makes sense while X is still the live value.
  const current = state === "Executed" ? undefined : await shared.settings();
  // An executed proposal is described with the rate card as it was just before its execution, so a rate change
  // reads the same sentence ("set rate of llama3.2 from 2 to 2.5") before and after.
  const cardBlock = state === "Executed" ? await blockBeforeExecution(c.governor, id, options.fromBlock ?? 0) : "latest";
  const rateCard = cardBlock === undefined ? undefined : await shared.rateCard(cardBlock);
  const [targets, values, calldatas, descriptionHash] = details;
  const decode = options.decode ?? decodeAction;
  const actions = targets.map((target, i) => decode({ target, value: values[i], calldata: calldatas[i] }, { contracts: options.contracts, current, rateCard }));
  return {
    id,
    state,
    proposer,
    snapshot,
    deadline,
    eta,
    now,
    votes,
    quorum,
    quorumIsEstimate,
    // GovernorCountingSimple counts For and Abstain towards quorum.
    quorumReached: votes.for + votes.abstain >= quorum,
    descriptionHash,
    description: shared.descriptions.get(id),
    actions,
  };
}

function descriptionsOf(c: GovernanceContracts, options: ReadProposalOptions): Promise<Map<bigint, string>> {
  return options.descriptions !== undefined
    ? Promise.resolve(options.descriptions)
    : readProposalDescriptions(c.governor, options.fromBlock ?? 0).catch(() => new Map<bigint, string>());
}

/** Proposal `id` as it is now. Throws `UNKNOWN_PROPOSAL` for an id the Governor does not know. */
export async function readProposal(c: GovernanceContracts, id: bigint, options: ReadProposalOptions): Promise<ProposalView> {
  await requireProposal(c.governor, id, options.network);
  return readOne(c, id, options, sharedReads(c, options, await descriptionsOf(c, options)));
}

/** Every proposal, newest first. */
export async function readProposals(c: GovernanceContracts, options: ReadProposalOptions): Promise<ProposalView[]> {
  const [count, descriptions] = await Promise.all([c.governor.proposalCount(), descriptionsOf(c, options)]);
  const shared = sharedReads(c, options, descriptions);
  const indexes = Array.from({ length: Number(count) }, (_, i) => Number(count) - 1 - i);
  return Promise.all(
    indexes.map(async (index) => {
      const [id] = await c.governor.proposalDetailsAt(index);
      return readOne(c, id, options, shared);
    }),
  );
}

/**
 * `account`'s standing on a proposal: its votes at the snapshot (before the snapshot, the votes it has now, which
 * are what will count if nothing changes), its current votes and whether it has voted.
 */
export async function readVoter(c: GovernanceContracts, view: Pick<ProposalView, "id" | "snapshot" | "now">, account: string | undefined): Promise<VoterStatus> {
  if (account === undefined) return { power: 0n, currentVotes: 0n, hasVoted: false };
  const [currentVotes, hasVoted] = await Promise.all([c.token.getVotes(account), c.governor.hasVoted(view.id, account)]);
  // Past votes exist only for past timepoints.
  const power = view.snapshot < view.now ? await c.governor.getVotes(account, view.snapshot) : currentVotes;
  return { account, power, currentVotes, hasVoted };
}
