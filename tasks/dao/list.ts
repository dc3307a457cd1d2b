import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { parseProposalState, proposalStateName, type ProposalStateName } from "../../lib/governance/proposals.js";
import { readProposalDescriptions } from "../../lib/sdk/governance.js";
import { runTask } from "../shared/cli.js";
import { at, openDao } from "./shared.js";

interface ListArgs {
  state: string;
  json: boolean;
}

export default async function listAction(args: ListArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const only: ProposalStateName | undefined = args.state.trim() === "" ? undefined : parseProposalState(args.state);
    const dao = await openDao(ctx);
    const governor = dao.dao.governor;
    const count = await governor.proposalCount();
    const descriptions = await readProposalDescriptions(governor, dao.deployment.block);
    const rows = [];
    for (let index = 0n; index < count; index++) {
      const [id] = await governor.proposalDetailsAt(index);
      const [state, proposer, deadline] = await Promise.all([governor.state(id), governor.proposalProposer(id), governor.proposalDeadline(id)]);
      const name = proposalStateName(state);
      if (only !== undefined && name !== only) continue;
      const description = descriptions.get(id) ?? "";
      rows.push({ id, state: name, proposer, deadline, title: description.split("\n")[0].slice(0, 80), description });
    }
    if (rows.length === 0) {
      ctx.say(only === undefined ? `No proposals on ${ctx.networkName} yet. Create one with \`npx hardhat dao:propose --network ${ctx.networkName}\`.` : `No ${only} proposals on ${ctx.networkName}.`);
    }
    for (const r of rows) ctx.say(`#${r.id}  ${r.state.padEnd(9)}  voting ends ${at(r.deadline)}  ${r.title}`);
    return { network: ctx.networkName, count: Number(count), shown: rows.length, proposals: rows };
  });
}
