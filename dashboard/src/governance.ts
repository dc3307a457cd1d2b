import { ZeroAddress, type Interface } from "ethers";

import { formatTokenAmount } from "../../lib/money/amounts.js";
import type { ContractName } from "../../lib/deployments.js";
import "../../lib/governance/market-kinds.js";
import { decodeAction, type DecodeContext, type DecodedAction, type GovernanceSettings, type ProposalAction } from "../../lib/governance/kinds.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IModelRegistry__factory } from "../../typechain-types/factories/interfaces/IModelRegistry__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { readRateCard, type RateCardRow } from "../../lib/market/rates.js";
import type { Chain } from "./chain.js";

/** `IGovernor.ProposalState`, in enum order. */
export const STATE_NAMES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type StateName = (typeof STATE_NAMES)[number];

export const enum ProposalState {
  Pending = 0,
  Active = 1,
  Canceled = 2,
  Defeated = 3,
  Succeeded = 4,
  Queued = 5,
  Expired = 6,
  Executed = 7,
}

/** ABIs of the deployment's contracts, for calls the shared decoder has no sentence for. */
const FALLBACK_ABIS: Partial<Record<ContractName, Interface>> = {
  ModelRegistry: IModelRegistry__factory.createInterface(),
  ProviderRegistry: IProviderRegistry__factory.createInterface(),
  JobEscrow: IJobEscrow__factory.createInterface(),
};

/**
 * The shared decoder's sentence; for a call to one of our contracts that it does not know, the call read with that
 * contract's ABI (`call ModelRegistry.setRate(1, 2500000000000000000)`) rather than a bare selector.
 */
export function describeAction(action: ProposalAction, ctx: DecodeContext): DecodedAction {
  const decoded = decodeAction(action, ctx);
  const iface = decoded.contract === undefined ? undefined : FALLBACK_ABIS[decoded.contract as ContractName];
  if (decoded.signature !== undefined || iface === undefined) return decoded;
  let call: ReturnType<Interface["parseTransaction"]>;
  try {
    call = iface.parseTransaction({ data: action.calldata, value: action.value });
  } catch {
    // Known selector, malformed arguments: the raw form is the honest one.
    return decoded;
  }
  if (call === null) return decoded;
  const args = call.args.toArray().map((a: unknown) => (Array.isArray(a) ? `[${a.map(String).join(", ")}]` : String(a)));
  return { ...decoded, signature: call.signature, args, summary: `call ${decoded.contract}.${call.name}(${args.join(", ")})` };
}

export interface Proposal {
  id: bigint;
  index: number;
  proposer: string;
  description: string;
  state: ProposalState;
  /** Timestamps (the token clock is a timestamp): votes count from `snapshot + 1` to `deadline` inclusive. */
  snapshot: number;
  deadline: number;
  /** When a queued proposal becomes executable (zero unless queued). */
  eta: number;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  quorum: bigint;
  actions: DecodedAction[];
}

export interface Settings extends GovernanceSettings {
  quorumDenominator: bigint;
}

export async function loadSettings(chain: Chain): Promise<Settings> {
  const { governor, timelock } = chain.contracts;
  const [votingDelay, votingPeriod, proposalThreshold, quorumPercent, quorumDenominator, lateQuorumExtension, timelockDelay, guardian] = await Promise.all([
    governor.votingDelay(),
    governor.votingPeriod(),
    governor.proposalThreshold(),
    governor["quorumNumerator()"](),
    governor.quorumDenominator(),
    governor.lateQuorumVoteExtension(),
    timelock.getMinDelay(),
    governor.proposalGuardian(),
  ]);
  return { votingDelay, votingPeriod, proposalThreshold, quorumPercent, quorumDenominator, lateQuorumExtension, timelockDelay, guardian };
}

/** Proposer and description of every proposal, from the creation events (the Governor stores only the hash). */
async function loadCreations(chain: Chain): Promise<Map<bigint, { proposer: string; description: string }>> {
  const { governor } = chain.contracts;
  const events = await governor.queryFilter(governor.filters.ProposalCreated(), chain.config.deployment.block);
  return new Map(events.map((e) => [e.args.proposalId, { proposer: e.args.proposer, description: e.args.description }]));
}

async function loadOne(
  chain: Chain,
  index: number,
  settings: Settings,
  creations: Map<bigint, { proposer: string; description: string }>,
  rateCard: readonly RateCardRow[] | undefined,
): Promise<Proposal> {
  const { governor, token } = chain.contracts;
  const [id, targets, values, calldatas] = await governor.proposalDetailsAt(index);
  const [state, snapshot, deadline, eta, votes] = await Promise.all([
    governor.state(id),
    governor.proposalSnapshot(id),
    governor.proposalDeadline(id),
    governor.proposalEta(id),
    governor.proposalVotes(id),
  ]);
  let quorum: bigint;
  try {
    quorum = await governor.quorum(snapshot);
  } catch {
    // Before the snapshot the past supply is not final; today's supply is the best estimate.
    quorum = ((await token.totalSupply()) * settings.quorumPercent) / settings.quorumDenominator;
  }
  const st = Number(state) as ProposalState;
  const finished = st === ProposalState.Executed || st === ProposalState.Canceled || st === ProposalState.Expired || st === ProposalState.Defeated;
  const ctx = { contracts: chain.config.deployment.contracts, current: finished ? undefined : settings, rateCard: finished ? undefined : rateCard };
  const created = creations.get(id);
  return {
    id,
    index,
    proposer: created?.proposer ?? ZeroAddress,
    description: cleanDescription(created?.description ?? ""),
    state: st,
    snapshot: Number(snapshot),
    deadline: Number(deadline),
    eta: Number(eta),
    againstVotes: votes[0],
    forVotes: votes[1],
    abstainVotes: votes[2],
    quorum,
    actions: targets.map((target, i) => describeAction({ target, value: values[i], calldata: calldatas[i] }, ctx)),
  };
}

/** The rate card, so rate proposals are shown by model name with the rate they change. */
function loadRateCard(chain: Chain): Promise<RateCardRow[] | undefined> {
  const models = chain.contracts.models;
  return models === undefined ? Promise.resolve(undefined) : readRateCard(models);
}

/** Every proposal, newest first. */
export async function loadProposals(chain: Chain): Promise<{ settings: Settings; proposals: Proposal[] }> {
  const [settings, count, creations, rateCard] = await Promise.all([
    loadSettings(chain),
    chain.contracts.governor.proposalCount(),
    loadCreations(chain),
    loadRateCard(chain),
  ]);
  const indexes = Array.from({ length: Number(count) }, (_, i) => Number(count) - 1 - i);
  const proposals = await Promise.all(indexes.map((i) => loadOne(chain, i, settings, creations, rateCard)));
  return { settings, proposals };
}

/** One proposal by its (sequential) id, or `undefined` when there is none. */
export async function loadProposal(chain: Chain, id: bigint): Promise<{ settings: Settings; proposal?: Proposal }> {
  const [settings, count, creations, rateCard] = await Promise.all([
    loadSettings(chain),
    chain.contracts.governor.proposalCount(),
    loadCreations(chain),
    loadRateCard(chain),
  ]);
  for (let i = 0; i < Number(count); i++) {
    const [pid] = await chain.contracts.governor.proposalDetailsAt(i);
    if (pid === id) return { settings, proposal: await loadOne(chain, i, settings, creations, rateCard) };
  }
  return { settings };
}

export interface Vote {
  voter: string;
  support: number;
  weight: bigint;
  reason: string;
  block: number;
  tx: string;
}

export async function loadVotes(chain: Chain, id: bigint): Promise<Vote[]> {
  const { governor } = chain.contracts;
  const from = chain.config.deployment.block;
  const [plain, withParams] = await Promise.all([
    governor.queryFilter(governor.filters.VoteCast(), from),
    governor.queryFilter(governor.filters.VoteCastWithParams(), from),
  ]);
  return [...plain, ...withParams]
    .filter((e) => e.args.proposalId === id)
    .map((e) => ({ voter: e.args.voter, support: Number(e.args.support), weight: e.args.weight, reason: e.args.reason, block: e.blockNumber, tx: e.transactionHash }))
    .sort((a, b) => a.block - b.block);
}

export const SUPPORT_NAMES = ["Against", "For", "Abstain"] as const;

// ---------------------------------------------------------------------------------------------------------------------
// What a user may do now, and why not

export type Gate = { ok: true } | { ok: false; why: string };
const OK: Gate = { ok: true };
const no = (why: string): Gate => ({ ok: false, why });

/** `01:58` under an hour, `1:02:03` under a day, `2 d 03:04:05` beyond. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => n.toString().padStart(2, "0");
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const rest = s % 60;
  if (d > 0) return `${d} d ${pad(h)}:${pad(m)}:${pad(rest)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(rest)}`;
  return `${pad(m)}:${pad(rest)}`;
}

/** `42 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`: for "opens in …". */
export function formatIn(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? "" : ` ${s % 60} s`}`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h${Math.floor((s % 3_600) / 60) === 0 ? "" : ` ${Math.floor((s % 3_600) / 60)} min`}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3_600) === 0 ? "" : ` ${Math.floor((s % 86_400) / 3_600)} h`}`;
}

export function quorumReached(p: Proposal): boolean {
  // GovernorCountingSimple counts For and Abstain towards quorum.
  return p.forVotes + p.abstainVotes >= p.quorum;
}

function closedReason(p: Proposal): string {
  switch (p.state) {
    case ProposalState.Canceled:
      return "the proposal was cancelled";
    case ProposalState.Defeated:
      return quorumReached(p) ? "defeated: more votes against than for" : "defeated: quorum not reached";
    case ProposalState.Expired:
      return "the proposal expired";
    case ProposalState.Executed:
      return "already executed";
    default:
      return `the proposal is ${STATE_NAMES[p.state]}`;
  }
}

export interface VoterStatus {
  account?: string;
  /** Votes the account had at the snapshot (or has now, before the snapshot). */
  power: bigint;
  /** Current delegated votes, to tell "delegate first" from "delegated too late". */
  currentVotes: bigint;
  hasVoted: boolean;
}

export function voteGate(p: Proposal, now: number, voter: VoterStatus): Gate {
  if (p.state === ProposalState.Pending) return no(`voting opens in ${formatIn(p.snapshot + 1 - now)}`);
  if (p.state !== ProposalState.Active) {
    const how = p.state === ProposalState.Succeeded || p.state === ProposalState.Queued ? `the proposal passed and is ${STATE_NAMES[p.state].toLowerCase()}` : closedReason(p);
    return no(`voting has ended: ${how}`);
  }
  if (voter.account === undefined) return no("select an account to vote");
  if (voter.hasVoted) return no("you have already voted on this proposal");
  if (voter.power === 0n) {
    return no(voter.currentVotes > 0n ? "no voting power at the snapshot — your delegation came after it" : "no voting power at the snapshot — delegate first");
  }
  return OK;
}

export function queueGate(p: Proposal, now: number, account: string | undefined): Gate {
  switch (p.state) {
    case ProposalState.Pending:
      return no(`voting has not started (opens in ${formatIn(p.snapshot + 1 - now)})`);
    case ProposalState.Active:
      return no(`voting is open: closes in ${formatIn(p.deadline + 1 - now)}`);
    case ProposalState.Succeeded:
      return account === undefined ? no("select an account to send the transaction") : OK;
    case ProposalState.Queued:
      return no("already queued");
    default:
      return no(closedReason(p));
  }
}

export function executeGate(p: Proposal, now: number, account: string | undefined): Gate {
  switch (p.state) {
    case ProposalState.Queued:
      if (now < p.eta) return no(`queued: executable in ${formatCountdown(p.eta - now)}`);
      return account === undefined ? no("select an account to send the transaction") : OK;
    case ProposalState.Succeeded:
      return no("passed: queue it in the timelock first");
    case ProposalState.Pending:
    case ProposalState.Active:
      return no("the vote is not over");
    default:
      return no(closedReason(p));
  }
}

export function cancelGate(p: Proposal, account: string | undefined, guardian: string): Gate {
  if (p.state === ProposalState.Canceled || p.state === ProposalState.Executed || p.state === ProposalState.Expired) return no(closedReason(p));
  const isGuardian = account !== undefined && guardian !== ZeroAddress && account.toLowerCase() === guardian.toLowerCase();
  const isProposer = account !== undefined && account.toLowerCase() === p.proposer.toLowerCase();
  if (isGuardian) return OK;
  // GovernorProposalGuardian: without a guardian the proposer may cancel at any stage; otherwise only while pending.
  if (isProposer && (guardian === ZeroAddress || p.state === ProposalState.Pending)) return OK;
  if (guardian === ZeroAddress) return no("only the proposer can cancel");
  if (isProposer) return no("the proposer can cancel only before voting opens; after that only the proposal guardian");
  return no(`only the proposal guardian (${short(guardian)}) or, before voting opens, the proposer can cancel`);
}

/** The description as written: without the `#proposer=0x…` suffix the CLI appends (OZ front-running protection). */
export function cleanDescription(description: string): string {
  return description.replace(/\s*#proposer=0x[0-9a-fA-F]{40}\s*$/, "");
}

export function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function tokens(base: bigint): string {
  return `${formatTokenAmount(base)} AITBC`;
}

/** A compact amount for bars and tables: `31,000,000` → `31M`. */
export function compactTokens(base: bigint): string {
  const whole = Number(base / 10n ** 15n) / 1_000;
  return new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 }).format(whole);
}
