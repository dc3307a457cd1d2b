/**
 * Reading proposals from the Governor: state, windows, tallies against quorum, timelock ETA and decoded actions, and the
 * sentence that tells a user what can happen next. Browser-safe (only ethers contracts), shared by CLI and dashboard.
 */
import type { AITBCGovernor, AITBCTimelock, AITBCToken } from "../../typechain-types/index.js";
import { AitbcError } from "../errors.js";
import { readRateCard } from "../market/rates.js";
import { ModelRegistry__factory } from "../../typechain-types/factories/market/ModelRegistry__factory.js";
import { formatDuration, formatTimestamp } from "../time.js";
// Registers the marketplace kinds and decoders, so every reader of proposals understands marketplace calls.
import "./market-kinds.js";
import { decodeAction, type DecodedAction, type DeployedContracts, type GovernanceSettings } from "./kinds.js";

/** `IGovernor.ProposalState`, in enum order. */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

export function proposalStateName(value: bigint | number): ProposalStateName {
  const name = PROPOSAL_STATES[Number(value)];
  if (name === undefined) throw new Error(`unknown proposal state ${value}`);
  return name;
}

/** Parses a state name typed by a user (case-insensitive); `BAD_STATE` lists the valid ones. */
export function parseProposalState(text: string): ProposalStateName {
  const found = PROPOSAL_STATES.find((s) => s.toLowerCase() === text.trim().toLowerCase());
  if (found === undefined) {
    throw new AitbcError("BAD_STATE", `\`${text}\` is not a proposal state`, { hint: `Use one of: ${PROPOSAL_STATES.join(", ")}.` });
  }
  return found;
}

export interface GovernanceContracts {
  governor: AITBCGovernor;
  token: AITBCToken;
  timelock: AITBCTimelock;
}

export interface VoteTally {
  against: bigint;
  for: bigint;
  abstain: bigint;
}

export interface ProposalView {
  id: bigint;
  state: ProposalStateName;
  proposer: string;
  /** Votes are counted at this timestamp: delegations after it do not count. */
  snapshot: bigint;
  /** Voting closes after this timestamp (it moves when a late quorum extends the vote). */
  deadline: bigint;
  /** Timelock ETA (0 until queued). */
  eta: bigint;
  /** The Governor's clock (latest block timestamp). */
  now: bigint;
  votes: VoteTally;
  quorum: bigint;
  /** The snapshot is still in the future, so `quorum` is computed from the current supply. */
  quorumIsEstimate: boolean;
  quorumReached: boolean;
  descriptionHash: string;
  /** From the `ProposalCreated` event; undefined when the logs are not available from the node. */
  description?: string;
  actions: DecodedAction[];
}

/** Throws `BAD_PROPOSAL_ID` for text that is not a positive integer. */
export function parseProposalId(text: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || BigInt(trimmed) === 0n) {
    throw new AitbcError("BAD_PROPOSAL_ID", `\`${text}\` is not a proposal id`, {
      hint: "Proposal ids are 1, 2, 3, …; run `npx hardhat dao:list` to see them.",
    });
  }
  return BigInt(trimmed);
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

/** Descriptions of every proposal created since `fromBlock`, by id. */
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

function readRateCardAt(registry: ReturnType<typeof ModelRegistry__factory.connect>, blockTag: number | "latest") {
  return readRateCard({ modelCount: () => registry.modelCount({ blockTag }), model: (modelId) => registry.model(modelId, { blockTag }) });
}

export async function readProposal(
  c: GovernanceContracts,
  id: bigint,
  options: { contracts: DeployedContracts; network: string; fromBlock?: number; descriptions?: Map<bigint, string> },
): Promise<ProposalView> {
  await requireProposal(c.governor, id, options.network);
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
  // Past timepoints only: quorum(t) reverts for t >= now, so a pending proposal shows today's quorum as an estimate.
  const quorumIsEstimate = snapshot >= now;
  const quorum = await c.governor.quorum(quorumIsEstimate ? now - 1n : snapshot);
  const votes: VoteTally = { against: tally[0], for: tally[1], abstain: tally[2] };
  const descriptions = options.descriptions ?? (await readProposalDescriptions(c.governor, options.fromBlock ?? 0).catch(() => new Map<bigint, string>()));
  // "from X to Y" only makes sense while X is still the live value.
  const current = state === "Executed" ? undefined : await readGovernanceSettings(c);
  const registry = options.contracts.ModelRegistry;
  // An executed proposal is described with the rate card as it was just before its execution, so a rate change
  // reads the same sentence ("set rate of llama3.2 from 2 to 2.5") before and after.
  const cardBlock = state === "Executed" ? await blockBeforeExecution(c.governor, id, options.fromBlock ?? 0) : "latest";
  const rateCard =
    registry === undefined || cardBlock === undefined ? undefined : await readRateCardAt(ModelRegistry__factory.connect(registry, c.governor.runner), cardBlock);
  const [targets, values, calldatas, descriptionHash] = details;
  const actions = targets.map((target, i) =>
    decodeAction({ target, value: values[i], calldata: calldatas[i] }, { contracts: options.contracts, current, rateCard }),
  );
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
    quorumReached: votes.for + votes.abstain >= quorum,
    descriptionHash,
    description: descriptions.get(id),
    actions,
  };
}

function when(timestamp: bigint, now: bigint): string {
  const delta = timestamp - now;
  return `${formatTimestamp(timestamp)} (${delta > 0n ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`})`;
}

/** The earliest chain timestamp at which the proposal's next step becomes possible, or undefined when nothing waits. */
export function nextActionableTime(view: Pick<ProposalView, "state" | "snapshot" | "deadline" | "eta" | "now">): bigint | undefined {
  switch (view.state) {
    case "Pending":
      return view.snapshot + 1n;
    case "Active":
      return view.deadline + 1n;
    case "Queued":
      return view.eta > view.now ? view.eta : undefined;
    default:
      return undefined;
  }
}

/**
 * One sentence: where the proposal stands and the exact command that moves it on.
 * `local` adds the `dao:advance` shortcut, which only exists on disposable chains.
 */
export function describeNextStep(view: Pick<ProposalView, "id" | "state" | "snapshot" | "deadline" | "eta" | "now" | "votes" | "quorumReached">, options: { network: string; local: boolean }): string {
  const cmd = (task: string, extra = ""): string => `\`npx hardhat ${task} --id ${view.id}${extra} --network ${options.network}\``;
  const advance = options.local ? `; run ${cmd("dao:advance")} to get there now` : "";
  switch (view.state) {
    case "Pending":
      return `proposal ${view.id} is Pending until ${when(view.snapshot + 1n, view.now)}, when voting opens${advance}`;
    case "Active":
      return `proposal ${view.id} is Active until ${when(view.deadline, view.now)}; vote with ${cmd("dao:vote", " --support for")}${options.local ? `, or skip to the end with ${cmd("dao:advance")}` : ""}`;
    case "Succeeded":
      return `proposal ${view.id} Succeeded; queue it in the timelock with ${cmd("dao:queue")}`;
    case "Queued":
      return view.eta > view.now
        ? `proposal ${view.id} is Queued until ${when(view.eta, view.now)}, when the timelock releases it${advance}`
        : `proposal ${view.id} is Queued and ready; execute it with ${cmd("dao:execute")}`;
    case "Defeated":
      return `proposal ${view.id} was Defeated (${view.quorumReached ? "more votes against than for" : "quorum not reached"}); nothing more can happen to it`;
    case "Canceled":
      return `proposal ${view.id} was Canceled; nothing more can happen to it`;
    case "Expired":
      return `proposal ${view.id} Expired; nothing more can happen to it`;
    case "Executed":
      return `proposal ${view.id} was Executed; nothing more can happen to it`;
  }
}

/**
 * Throws `WRONG_STATE` (nothing sent) unless the proposal is in one of `expected`; the message names the current state
 * and the next step.
 */
export function requireState(
  view: Parameters<typeof describeNextStep>[0],
  expected: readonly ProposalStateName[],
  action: string,
  options: { network: string; local: boolean },
): void {
  if (expected.includes(view.state)) return;
  throw new AitbcError("WRONG_STATE", `cannot ${action} proposal ${view.id}: it is ${view.state}, not ${expected.join(" or ")}`, {
    hint: describeNextStep(view, options),
    details: { id: view.id.toString(), state: view.state, expected },
  });
}

const PROPOSER_SUFFIX = /#proposer=(0x[0-9a-fA-F]{40})$/;

/**
 * Binds the proposal to its sender: the Governor rejects a description ending in `#proposer=<address>` from anyone
 * else, so a copy of the transaction cannot be front-run by someone who then controls (and may cancel) the proposal.
 */
export function withProposerSuffix(description: string, proposer: string): string {
  const existing = PROPOSER_SUFFIX.exec(description);
  if (existing !== null) {
    if (existing[1].toLowerCase() !== proposer.toLowerCase()) {
      throw new AitbcError("PROPOSER_MISMATCH", `the description ends with #proposer=${existing[1]}, but the sender is ${proposer}`, {
        hint: "Remove the suffix (it is added for you) or send from that account with --from.",
      });
    }
    return description;
  }
  return `${description}\n\n#proposer=${proposer}`;
}
