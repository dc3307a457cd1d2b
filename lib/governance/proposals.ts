/**
 * The rules of a proposal's life, as pure functions over a {@link ProposalView}: state names, what happens next and
 * the sentence that says so, and the gates that say whether a user may vote, queue, execute or cancel now (and why
 * not). The `dao:*` tasks and the dashboard both call them; `lib/sdk/governance.ts` reads the view from the chain.
 * Pure and browser-safe.
 */
import { ZeroAddress } from "ethers";

import { AitbcError } from "../errors.js";
import { PROPOSAL_STATES } from "../protocol.js";
import { formatCountdown, formatDuration, formatIn, formatTimestamp } from "../time.js";
import type { DecodedAction } from "./kinds.js";
// Registers the marketplace kinds and decoders, so every user of proposals understands marketplace calls.
import "./market-kinds.js";

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
  /** The snapshot is still in the future, so `quorum` is the Governor's quorum of one second ago (an estimate). */
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

/** The description as written: without the `#proposer=0x…` suffix that {@link withProposerSuffix} appends. */
export function cleanDescription(description: string): string {
  return description.replace(/\s*#proposer=0x[0-9a-fA-F]{40}\s*$/, "");
}

// ── what a user may do now, and why not ─────────────────────────────────────────────────────────────────────────

/**
 * Whether an action is open to the user now. `why` is a short reason a person reads (the dashboard shows it next to
 * the disabled button); `code` is the stable error code the CLI raises with it.
 */
export type Gate = { ok: true } | { ok: false; code: GateCode; why: string };
export type GateCode = "WRONG_STATE" | "NOT_READY" | "NO_ACCOUNT" | "ALREADY_VOTED" | "NO_VOTING_POWER" | "NOT_ALLOWED" | "ALREADY_DELEGATED" | "NO_TOKENS";

/** The part of a {@link ProposalView} the gates read. */
export type GateView = Pick<ProposalView, "state" | "proposer" | "snapshot" | "deadline" | "eta" | "quorumReached">;

/** One account's standing on one proposal (see `readVoter` in `lib/sdk/governance.ts`). */
export interface VoterStatus {
  account?: string;
  /** Votes the account had at the snapshot (or has now, before the snapshot). */
  power: bigint;
  /** Current delegated votes, to tell "delegate first" from "delegated too late". */
  currentVotes: bigint;
  hasVoted: boolean;
}

const OK: Gate = { ok: true };
const no = (code: GateCode, why: string): Gate => ({ ok: false, code, why });
const sameAddress = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

function closedReason(p: GateView): string {
  switch (p.state) {
    case "Canceled":
      return "the proposal was cancelled";
    case "Defeated":
      return p.quorumReached ? "defeated: more votes against than for" : "defeated: quorum not reached";
    case "Expired":
      return "the proposal expired";
    case "Executed":
      return "already executed";
    default:
      return `the proposal is ${p.state}`;
  }
}

/** May `voter` vote now? Only while Active, once, with voting power at the snapshot. */
export function voteGate(p: GateView, now: bigint, voter: VoterStatus): Gate {
  if (p.state === "Pending") return no("WRONG_STATE", `voting opens in ${formatIn(p.snapshot + 1n - now)}`);
  if (p.state !== "Active") {
    const how = p.state === "Succeeded" || p.state === "Queued" ? `the proposal passed and is ${p.state.toLowerCase()}` : closedReason(p);
    return no("WRONG_STATE", `voting has ended: ${how}`);
  }
  if (voter.account === undefined) return no("NO_ACCOUNT", "select an account to vote");
  if (voter.hasVoted) return no("ALREADY_VOTED", "you have already voted on this proposal");
  if (voter.power === 0n) {
    return no("NO_VOTING_POWER", voter.currentVotes > 0n ? "no voting power at the snapshot — your delegation came after it" : "no voting power at the snapshot — delegate first");
  }
  return OK;
}

/** May `account` queue the proposal in the timelock now? Only once it Succeeded. */
export function queueGate(p: GateView, now: bigint, account: string | undefined): Gate {
  switch (p.state) {
    case "Pending":
      return no("WRONG_STATE", `voting has not started (opens in ${formatIn(p.snapshot + 1n - now)})`);
    case "Active":
      return no("WRONG_STATE", `voting is open: closes in ${formatIn(p.deadline + 1n - now)}`);
    case "Succeeded":
      return account === undefined ? no("NO_ACCOUNT", "select an account to send the transaction") : OK;
    case "Queued":
      return no("WRONG_STATE", "already queued");
    default:
      return no("WRONG_STATE", closedReason(p));
  }
}

/** May `account` execute the proposal now? Only when Queued and the timelock's ETA has passed. */
export function executeGate(p: GateView, now: bigint, account: string | undefined): Gate {
  switch (p.state) {
    case "Queued":
      if (now < p.eta) return no("NOT_READY", `queued: executable in ${formatCountdown(p.eta - now)}`);
      return account === undefined ? no("NO_ACCOUNT", "select an account to send the transaction") : OK;
    case "Succeeded":
      return no("WRONG_STATE", "passed: queue it in the timelock first");
    case "Pending":
    case "Active":
      return no("WRONG_STATE", "the vote is not over");
    default:
      return no("WRONG_STATE", closedReason(p));
  }
}

/**
 * May `account` cancel the proposal now? `GovernorProposalGuardian`'s rule: the guardian may cancel any live
 * proposal; the proposer only while it is Pending, or at any stage when no guardian is set. Canceled, Executed and
 * Expired proposals cannot be cancelled.
 */
export function cancelGate(p: GateView, account: string | undefined, guardian: string): Gate {
  if (p.state === "Canceled" || p.state === "Executed" || p.state === "Expired") return no("WRONG_STATE", closedReason(p));
  const noGuardian = guardian === ZeroAddress;
  const isGuardian = !noGuardian && sameAddress(account, guardian);
  const isProposer = sameAddress(account, p.proposer);
  if (isGuardian) return OK;
  if (isProposer && (noGuardian || p.state === "Pending")) return OK;
  if (noGuardian) return no("NOT_ALLOWED", "only the proposer can cancel");
  if (isProposer) return no("NOT_ALLOWED", "the proposer can cancel only before voting opens; after that only the proposal guardian");
  return no("NOT_ALLOWED", `only the proposal guardian (${guardian.slice(0, 6)}…${guardian.slice(-4)}) or, before voting opens, the proposer can cancel`);
}

/** An account's delegation as the token reports it. */
export interface DelegationStatus {
  account: string;
  balance: bigint;
  /** `delegates(account)`: the zero address until the account delegates. */
  delegatee: string;
}

/**
 * May the account delegate its votes to `to` (itself when omitted)? `ALREADY_DELEGATED` when that is already its
 * delegate; `NO_TOKENS` when it holds no AITBC (the delegation would only apply to tokens it receives later, so the
 * CLI warns and goes on, the dashboard keeps the button closed).
 */
export function delegateGate(status: DelegationStatus, to: string = status.account): Gate {
  if (sameAddress(status.delegatee, to)) return no("ALREADY_DELEGATED", sameAddress(status.account, to) ? "already delegated to yourself" : "already delegated to this address");
  if (status.balance === 0n) return no("NO_TOKENS", "you hold no AITBC");
  return OK;
}

/** What the CLI tells the user to do when a gate is closed; the reason itself comes from the gate. */
const GATE_HINTS: Partial<Record<GateCode, string>> = {
  ALREADY_VOTED: "Each account votes once; vote from another account with --from.",
  NO_VOTING_POWER: "Votes count from the snapshot, so delegating now only helps future proposals: `npx hardhat dao:delegate`. Vote from another account with --from.",
  NOT_ALLOWED: "A proposer can cancel only while the proposal is Pending (or at any time when no guardian is set); after that only the proposal guardian can. Send from that account with --from.",
};

/**
 * Throws the gate's code (nothing sent) unless `gate` is open, e.g. `WRONG_STATE` "cannot queue proposal 3 (Active)
 * from 0x…: voting is open: closes in 2 min". The hint is the next step for state gates, the fix for the others.
 */
export function requireGate(gate: Gate, view: Parameters<typeof describeNextStep>[0], action: string, who: string, hints: { network: string; local: boolean }): void {
  if (gate.ok) return;
  const hint = GATE_HINTS[gate.code] ?? describeNextStep(view, hints);
  throw new AitbcError(gate.code, `cannot ${action} proposal ${view.id} (${view.state}) from ${who}: ${gate.why}`, {
    hint,
    details: { id: view.id.toString(), state: view.state },
  });
}
