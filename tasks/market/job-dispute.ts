import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { parseJobId } from "../../lib/market/jobs.js";
import { disputeJob } from "../../lib/sdk/client.js";
import { runTask } from "../shared/cli.js";
import { openMarket, pickSender, txJson } from "./shared.js";

interface JobActionArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function jobDisputeAction(args: JobActionArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const disputed = await disputeJob(sender, m.deployment, id, { onProgress: (line) => ctx.say(line), networkName: ctx.networkName });
    ctx.say(`Disputed job ${id}; the provider's earnings are held. The DAO resolves it with a proposal calling JobEscrow.resolveDispute.`);
    return { jobId: id, status: "Disputed", held: disputed.held, transaction: txJson(disputed.transaction) };
  });
}
