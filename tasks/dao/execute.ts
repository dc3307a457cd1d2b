import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { executeGate, parseProposalId, requireGate } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { openProposal, transact } from "./shared.js";

interface ExecuteArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function executeAction(args: ExecuteArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const { dao, sender, view, hints } = await openProposal(ctx, id, args.from);
    requireGate(executeGate(view, view.now, sender.address), view, "execute", sender.address, hints);

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
