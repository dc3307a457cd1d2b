import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatDuration, parseDuration } from "../../lib/time.js";
import { describeNextStep, nextActionableTime, parseProposalId } from "../../lib/governance/proposals.js";
import { readProposal } from "../../lib/sdk/governance.js";
import { runTask } from "../shared/cli.js";
import { at, openDao } from "./shared.js";

interface AdvanceArgs {
  id: string;
  seconds: string;
  json: boolean;
}

export default async function advanceAction(args: AdvanceArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const byId = args.id.trim() !== "";
    const bySeconds = args.seconds.trim() !== "";
    if (byId === bySeconds) {
      throw new AitbcError("MISSING_OPTION", "dao:advance needs exactly one of --id or --seconds", {
        hint: "`--id 3` jumps to proposal 3's next step; `--seconds 600` moves time forward by ten minutes.",
      });
    }
    const id = byId ? parseProposalId(args.id) : undefined;
    const step = bySeconds ? parseDuration(args.seconds, "--seconds") : undefined;
    const dao = await openDao(ctx);
    if (!dao.local) {
      throw new AitbcError("NOT_LOCAL_CHAIN", `dao:advance moves the clock of a local development chain; \`${ctx.networkName}\` (chain ${ctx.chainId}) is a live network`, {
        hint: "On live networks, wait for the time shown by `npx hardhat dao:show --id <id>`.",
      });
    }
    const time = ctx.networkHelpers.time;
    const before = BigInt(await time.latest());

    if (step !== undefined) {
      if (step === 0n) await ctx.networkHelpers.mine();
      else await time.increase(step);
      const now = BigInt(await time.latest());
      ctx.say(`Moved the clock forward by ${formatDuration(now - before)} to ${at(now)}.`);
      return { advanced: now - before, now };
    }

    const proposalId = id as bigint;
    const options = { contracts: dao.deployment.contracts, network: ctx.networkName, fromBlock: dao.deployment.block };
    const view = await readProposal(dao.dao, proposalId, options);
    const target = nextActionableTime(view);
    if (target === undefined) {
      const next = describeNextStep(view, { network: ctx.networkName, local: true });
      ctx.say(`Nothing to wait for. ${next}`);
      return { id: proposalId, advanced: 0n, now: before, state: view.state, next };
    }
    if (target > before) await time.increaseTo(target);
    else await ctx.networkHelpers.mine();
    const after = await readProposal(dao.dao, proposalId, options);
    const next = describeNextStep(after, { network: ctx.networkName, local: true });
    ctx.say(`Moved the clock from ${at(before)} to ${at(after.now)}: proposal ${proposalId} is now ${after.state}.`);
    ctx.say(`Next: ${next}`);
    return { id: proposalId, advanced: after.now - before, now: after.now, state: after.state, next };
  });
}
