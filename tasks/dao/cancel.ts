import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { cancelGate, parseProposalId, requireGate } from "../../lib/governance/proposals.js";
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
    const guardian = await dao.dao.governor.proposalGuardian();
    requireGate(cancelGate(view, sender.address, guardian), view, "cancel", sender.address, hints);
    const governor = dao.dao.governor.connect(sender);
    ctx.say(`Cancelling proposal ${id} (${view.state})`);
    const tx = await transact(ctx, "cancel", {
      estimate: () => governor["cancel(uint256)"].estimateGas(id),
      send: () => governor["cancel(uint256)"](id),
    });
    return { id, state: "Canceled", tx };
  });
}
