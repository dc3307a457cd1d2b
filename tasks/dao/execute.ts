import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatDuration } from "../../lib/time.js";
import { describeNextStep, parseProposalId, requireState } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { at, openProposal, transact } from "./shared.js";

interface ExecuteArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function executeAction(args: ExecuteArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const { dao, sender, view, hints } = await openProposal(ctx, id, args.from);
    requireState(view, ["Queued"], "execute", hints);
    if (view.eta > view.now) {
      throw new AitbcError("NOT_READY", `proposal ${id} is Queued until ${at(view.eta)} (in ${formatDuration(view.eta - view.now)}); the timelock refuses it before then`, {
        hint: describeNextStep(view, hints),
        details: { eta: view.eta.toString(), now: view.now.toString() },
      });
    }

    const governor = dao.dao.governor.connect(sender);
    ctx.say(`Executing proposal ${id}:`);
    for (const action of view.actions) ctx.say(`  • ${action.summary}`);
    const tx = await transact(ctx, "execute", {
      estimate: () => governor["execute(uint256)"].estimateGas(id),
      send: () => governor["execute(uint256)"](id),
    });
    ctx.say(`Proposal ${id} executed.`);
    return { id, state: "Executed", actions: view.actions, tx };
  });
}
