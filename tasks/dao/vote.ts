import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { parseProposalId, requireState } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { at, openProposal, transact } from "./shared.js";

interface VoteArgs {
  id: string;
  support: string;
  reason: string;
  from: string;
  json: boolean;
}

/** GovernorCountingSimple's encoding of a ballot. */
const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;

export default async function voteAction(args: VoteArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const supportName = args.support.trim().toLowerCase();
    if (!(supportName in SUPPORT)) {
      throw new AitbcError("BAD_SUPPORT", `--support \`${args.support}\` is not a ballot`, { hint: "Pass --support for, --support against or --support abstain." });
    }
    const support = SUPPORT[supportName as keyof typeof SUPPORT];
    const { dao, sender, view, reread, hints } = await openProposal(ctx, id, args.from);
    requireState(view, ["Active"], "vote on", hints);

    const governor = dao.dao.governor.connect(sender);
    if (await governor.hasVoted(id, sender.address)) {
      throw new AitbcError("ALREADY_VOTED", `${sender.address} has already voted on proposal ${id}`, {
        hint: "Each account votes once; vote from another account with --from.",
      });
    }
    const weight = await governor.getVotes(sender.address, view.snapshot);
    if (weight === 0n) {
      const [balance, delegate] = await Promise.all([dao.dao.token.balanceOf(sender.address), dao.dao.token.delegates(sender.address)]);
      const why =
        balance > 0n && delegate.toLowerCase() !== sender.address.toLowerCase()
          ? `it holds ${formatTokenAmount(balance)} AITBC but its votes were not delegated to itself at the snapshot`
          : "it had no delegated AITBC at the snapshot";
      throw new AitbcError("NO_VOTING_POWER", `${sender.address} has no voting power on proposal ${id}: ${why} (${at(view.snapshot)})`, {
        hint: "Votes count from the snapshot, so delegating now only helps future proposals: `npx hardhat dao:delegate`. Vote from another account with --from.",
        details: { snapshot: view.snapshot.toString() },
      });
    }

    ctx.say(`Voting ${supportName} on proposal ${id} with ${formatTokenAmount(weight)} AITBC from ${sender.address}`);
    const reason = args.reason.trim();
    const tx = await transact(ctx, "castVote", reason === ""
      ? { estimate: () => governor.castVote.estimateGas(id, support), send: () => governor.castVote(id, support) }
      : { estimate: () => governor.castVoteWithReason.estimateGas(id, support, reason), send: () => governor.castVoteWithReason(id, support, reason) });

    const after = await reread();
    ctx.say(`Tally: for ${formatTokenAmount(after.votes.for)}, against ${formatTokenAmount(after.votes.against)}, abstain ${formatTokenAmount(after.votes.abstain)}; quorum ${formatTokenAmount(after.quorum)} ${after.quorumReached ? "reached" : "not reached"}`);
    if (after.deadline !== view.deadline) ctx.say(`Quorum was reached late: voting is extended until ${at(after.deadline)}.`);
    return { id, voter: sender.address, support: supportName, weight, reason, votes: after.votes, quorum: after.quorum, deadline: after.deadline, tx };
  });
}
