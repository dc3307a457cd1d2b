import { ZeroAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { describeNextStep, parseProposalId } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { openProposal, transact } from "./shared.js";

interface CancelArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function cancelAction(args: CancelArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const { dao, sender, view, hints } = await openProposal(ctx, id, args.from);
    if (view.state === "Canceled" || view.state === "Executed" || view.state === "Expired") {
      throw new AitbcError("WRONG_STATE", `cannot cancel proposal ${id}: it is ${view.state}`, {
        hint: describeNextStep(view, hints),
        details: { id: id.toString(), state: view.state },
      });
    }
    // Mirrors the Governor's rule: the guardian may cancel any live proposal; the proposer only while it is Pending
    // (or at any time when no guardian is set).
    const guardian = await dao.dao.governor.proposalGuardian();
    const me = sender.address.toLowerCase();
    const isProposer = me === view.proposer.toLowerCase();
    const allowed = me === guardian.toLowerCase() || (isProposer && (guardian === ZeroAddress || view.state === "Pending"));
    if (!allowed) {
      throw new AitbcError("NOT_ALLOWED", `${sender.address} may not cancel proposal ${id} (${view.state})`, {
        hint: isProposer
          ? "A proposer can cancel only while the proposal is Pending; after that only the proposal guardian can."
          : `Only the proposer (${view.proposer}, while Pending) or the proposal guardian (${guardian === ZeroAddress ? "none set" : guardian}) can cancel.`,
      });
    }
    const governor = dao.dao.governor.connect(sender);
    ctx.say(`Cancelling proposal ${id} (${view.state})`);
    const tx = await transact(ctx, "cancel", {
      estimate: () => governor["cancel(uint256)"].estimateGas(id),
      send: () => governor["cancel(uint256)"](id),
    });
    return { id, state: "Canceled", tx };
  });
}
