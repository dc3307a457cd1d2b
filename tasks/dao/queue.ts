import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { describeNextStep, parseProposalId, queueGate, requireGate } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { at, openProposal, transact } from "./shared.js";

interface QueueArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function queueAction(args: QueueArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const { dao, sender, view, reread, hints } = await openProposal(ctx, id, args.from);
    requireGate(queueGate(view, view.now, sender.address), view, "queue", sender.address, hints);

    const governor = dao.dao.governor.connect(sender);
    ctx.say(`Queueing proposal ${id} in the timelock`);
    const tx = await transact(ctx, "queue", {
      estimate: () => governor["queue(uint256)"].estimateGas(id),
      send: () => governor["queue(uint256)"](id),
    });
    const after = await reread();
    ctx.say(`Executable from ${at(after.eta)}.`);
    ctx.say(describeNextStep(after, hints));
    return { id, eta: after.eta, state: after.state, tx };
  });
}
