import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { describeNextStep, parseProposalId, readProposal, requireState } from "../../lib/governance/proposals.js";
import { runTask } from "../shared/cli.js";
import { at, openDao, pickSender, transact } from "./shared.js";

interface QueueArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function queueAction(args: QueueArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseProposalId(args.id);
    const dao = await openDao(ctx);
    const sender = await pickSender(ctx, args.from);
    const options = { contracts: dao.deployment.contracts, network: ctx.networkName, fromBlock: dao.deployment.block };
    const view = await readProposal(dao.dao, id, options);
    requireState(view, ["Succeeded"], "queue", { network: ctx.networkName, local: dao.local });

    const governor = dao.dao.governor.connect(sender);
    ctx.say(`Queueing proposal ${id} in the timelock`);
    const tx = await transact(ctx, "queue", {
      estimate: () => governor["queue(uint256)"].estimateGas(id),
      send: () => governor["queue(uint256)"](id),
    });
    const after = await readProposal(dao.dao, id, options);
    ctx.say(`Executable from ${at(after.eta)}.`);
    ctx.say(describeNextStep(after, { network: ctx.networkName, local: dao.local }));
    return { id, eta: after.eta, state: after.state, tx };
  });
}
