import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatTokenAmount } from "../../lib/money/amounts.js";
import { describeNextStep, parseProposalId } from "../../lib/governance/proposals.js";
import { readProposal, readVoter } from "../../lib/sdk/governance.js";
import { runTask } from "../shared/cli.js";
import { at, openDao, pickSender } from "./shared.js";

interface ShowArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function showAction(args: ShowArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const dao = await openDao(ctx);
    const account = await pickSender(ctx, args.from);
    const view = await readProposal(dao.dao, id, { contracts: dao.deployment.contracts, network: ctx.networkName, fromBlock: dao.deployment.block });
    // Before the snapshot the weight is not fixed yet: show what the account would have if the snapshot were now.
    const snapshotPassed = view.snapshot < view.now;
    const { power, hasVoted: voted } = await readVoter(dao.dao, view, account.address);
    const next = describeNextStep(view, { network: ctx.networkName, local: dao.local });
    const t = formatTokenAmount;

    ctx.say(`Proposal ${id} — ${view.state}`);
    if (view.description !== undefined) ctx.say(`  ${view.description.split("\n").join("\n  ")}`);
    ctx.say(`  proposer   ${view.proposer}`);
    ctx.say(`  snapshot   ${at(view.snapshot)}`);
    ctx.say(`  deadline   ${at(view.deadline)}`);
    ctx.say(`  votes      for ${t(view.votes.for)} · against ${t(view.votes.against)} · abstain ${t(view.votes.abstain)} AITBC`);
    ctx.say(`  quorum     ${t(view.quorum)} AITBC${view.quorumIsEstimate ? " (estimate: snapshot not reached)" : ""} — ${view.quorumReached ? "reached" : `${t(view.quorum - view.votes.for - view.votes.abstain)} more needed`}`);
    ctx.say(`  you        ${account.address}: ${t(power)} AITBC ${snapshotPassed ? "at the snapshot" : "now"}${voted ? ", already voted" : ""}`);
    if (view.eta > 0n) ctx.say(`  timelock   executable from ${at(view.eta)}`);
    ctx.say(`  actions`);
    for (const [i, a] of view.actions.entries()) ctx.say(`    ${i + 1}. ${a.summary}`);
    ctx.say(`Next: ${next}`);
    return { ...view, account: { address: account.address, votingPower: power, atSnapshot: snapshotPassed, hasVoted: voted }, next };
  });
}
