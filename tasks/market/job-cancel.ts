import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket, pickSender, readJob, requireStatus, sameAddress, send, txJson } from "./shared.js";

interface JobActionArgs {
  id: string;
  from: string;
  json: boolean;
}

export default async function jobCancelAction(args: JobActionArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const job = await readJob(m, id);
    requireStatus(job, ["Open"], "cancelling", job.status === "Accepted" ? "A provider accepted it; wait for settlement, or reclaim it with `job:reclaim` after its deadline." : "Only an Open job can be cancelled; see `job:status`.");
    if (!sameAddress(job.client, sender.address)) {
      throw new AitbcError("NOT_CLIENT", `${sender.address} is not the client of job ${id} (${job.client} is)`, { hint: "Cancel from the account that submitted the job (--from)." });
    }
    const escrow = m.market.escrow.connect(sender);
    const tx = await send(m, `cancel job ${id}`, { estimate: () => escrow.cancelJob.estimateGas(id), send: () => escrow.cancelJob(id) });
    ctx.say(`Cancelled job ${id}; ${aitbc(job.escrow)} returned to ${job.client}.`);
    return { jobId: id, status: "Cancelled", refund: job.escrow, client: job.client, transaction: txJson(tx) };
  });
}
