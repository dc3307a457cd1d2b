import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTimestamp } from "../../lib/time.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { runTask } from "../shared/cli.js";
import { aitbc, chainNow, openMarket, pickSender, readJob, requireStatus, send, txJson } from "./shared.js";

interface JobActionArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function jobReclaimAction(args: JobActionArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const job = await readJob(m, id);
    requireStatus(job, ["Open", "Accepted"], "reclaiming", "Only unsettled jobs can be reclaimed; a settled job's refund is in the client's withdrawable balance (`withdraw`).");
    const now = await chainNow(ctx);
    if (now <= job.deadline) {
      throw new AitbcError("DEADLINE_NOT_PASSED", `job ${id} runs until ${formatTimestamp(job.deadline)}; it can be reclaimed only after that`, {
        hint: job.status === "Open" ? "An Open job can be cancelled right away with `job:cancel`." : "Wait for the deadline (the provider may still settle it).",
        details: { deadline: job.deadline.toString(), now: now.toString() },
      });
    }
    const escrow = m.market.escrow.connect(sender);
    const tx = await send(m, `reclaim job ${id}`, { estimate: () => escrow.reclaimExpired.estimateGas(id), send: () => escrow.reclaimExpired(id) });
    ctx.say(`Job ${id} expired; ${aitbc(job.escrow)} returned to ${job.client}.`);
    return { jobId: id, status: "Expired", refund: job.escrow, client: job.client, transaction: txJson(tx) };
  });
}
