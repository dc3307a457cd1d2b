import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTimestamp } from "../../lib/governance/amounts.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { runTask } from "../shared/cli.js";
import { chainNow, openMarket, pickSender, readJob, requireStatus, sameAddress, send, txJson } from "./shared.js";

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
    const job = await readJob(m, id);
    requireStatus(job, ["Settled"], "disputing", "Only a Settled job inside its dispute window can be disputed; see `job:status`.");
    if (!sameAddress(job.client, sender.address)) {
      throw new AitbcError("NOT_CLIENT", `${sender.address} is not the client of job ${id} (${job.client} is)`, { hint: "Dispute from the account that submitted the job (--from)." });
    }
    const [payout, now] = await Promise.all([m.market.escrow.payoutOf(job.batchId), chainNow(ctx)]);
    if (now >= payout.releasableAt) {
      throw new AitbcError("DISPUTE_WINDOW_CLOSED", `the dispute window of job ${id} closed at ${formatTimestamp(payout.releasableAt)}`, { hint: "Disputes must be opened inside the window; the settlement is final." });
    }
    const escrow = m.market.escrow.connect(sender);
    const tx = await send(m, `dispute job ${id}`, { estimate: () => escrow.dispute.estimateGas(id), send: () => escrow.dispute(id) });
    const [held] = await m.market.escrow.disputeOf(id);
    ctx.say(`Disputed job ${id}; the provider's earnings are held. The DAO resolves it with a proposal calling JobEscrow.resolveDispute.`);
    return { jobId: id, status: "Disputed", held, transaction: txJson(tx) };
  });
}
