import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { parseProposalId, requireGate, voteGate } from "../../lib/governance/proposals.js";
import { VOTE_SUPPORT } from "../../lib/protocol.js";
import { readVoter } from "../../lib/sdk/governance.js";
import { runTask } from "../shared/cli.js";
import { at, openProposal, transact } from "./shared.js";

interface VoteArgs {
  id: string;
  support: string;
  reason: string;
  from: string;
  json: boolean;
}

export default async function voteAction(args: VoteArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const supportName = args.support.trim().toLowerCase();
    // GovernorCountingSimple's encoding of a ballot: its index in VOTE_SUPPORT.
    const support = VOTE_SUPPORT.findIndex((name) => name.toLowerCase() === supportName);
    if (support < 0) {
      throw new AitbcError("BAD_SUPPORT", `--support \`${args.support}\` is not a ballot`, { hint: "Pass --support for, --support against or --support abstain." });
    }
    const { dao, sender, view, reread, hints } = await openProposal(ctx, id, args.from);
    const voter = await readVoter(dao.dao, view, sender.address);
    requireGate(voteGate(view, view.now, voter), view, "vote on", sender.address, hints);
    const weight = voter.power;

    const governor = dao.dao.governor.connect(sender);

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
