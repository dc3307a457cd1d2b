import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatTimestamp } from "../../lib/time.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { readRateCard } from "../../lib/market/rates.js";
import { feeFor } from "../../lib/money/prices.js";
import { milliToUnits } from "../../lib/money/amounts.js";
import { computeReceiptId } from "../../lib/receipts/receipt.js";
import { runTask } from "../shared/cli.js";
import { aitbc, chainNow, jobCreation, openMarket, readJob } from "./shared.js";

interface JobStatusArgs {
  id: string;
  json: boolean;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export default async function jobStatusAction(args: JobStatusArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const m = await openMarket(ctx);
    const current = await readJob(m, id);
    // Once settled, job() no longer reports the escrow, size and deadline; the creation event still has them.
    const created = current.batchId !== 0n ? await jobCreation(m, id) : undefined;
    const job = created === undefined ? current : { ...current, escrow: created.escrow, maxUnitsMilli: created.maxUnitsMilli, deadline: created.deadline };
    const [card, now] = await Promise.all([readRateCard(m.market.models), chainNow(ctx)]);
    const model = card.find((r) => r.id === job.modelId);
    const settled = job.batchId !== 0n;
    const payout = settled ? await m.market.escrow.payoutOf(job.batchId) : undefined;
    const fee = settled && payout !== undefined ? feeFor(job.price, job.feeBps) : undefined;
    const [held, openedAt] = job.status === "Disputed" || job.status === "Resolved" ? await m.market.escrow.disputeOf(id) : [0n, 0n];
    const receiptId = computeReceiptId(ctx.chainId, m.addresses.escrow, id);

    ctx.say(`Job ${id} — ${job.status}`);
    ctx.say(`  model      ${model?.name ?? `#${job.modelId}`} at ${aitbc(job.rate)} per ${model?.unitType ?? "unit"} (snapshotted)`);
    ctx.say(`  client     ${job.client}`);
    ctx.say(`  provider   ${job.provider === ZERO_ADDRESS ? "any provider serving the model" : job.provider}`);
    ctx.say(`  escrow     ${aitbc(job.escrow)} for up to ${milliToUnits(job.maxUnitsMilli)} units`);
    if (!settled) ctx.say(`  deadline   ${formatTimestamp(job.deadline)}${now > job.deadline ? " (passed)" : ""}`);
    if (settled && payout !== undefined && fee !== undefined) {
      ctx.say(`  settled    ${milliToUnits(job.unitsMilli)} units, price ${aitbc(job.price)} (fee ${aitbc(fee)}), refund to client ${aitbc(job.escrow - job.price)}`);
      ctx.say(`  batch      ${job.batchId}, dispute window until ${formatTimestamp(payout.releasableAt)}${now >= payout.releasableAt ? " (closed)" : " (open)"}`);
    }
    if (held > 0n || openedAt > 0n) ctx.say(`  dispute    ${aitbc(held)} held since ${formatTimestamp(openedAt)}`);
    ctx.say(`  receipt id ${receiptId}`);
    return {
      ...job,
      model: model?.name ?? null,
      unitType: model?.unitType ?? null,
      refund: settled ? job.escrow - job.price : null,
      fee: fee ?? null,
      disputeWindowEndsAt: payout?.releasableAt ?? null,
      dispute: held > 0n || openedAt > 0n ? { held, openedAt } : null,
      receiptId,
      now,
    };
  });
}
