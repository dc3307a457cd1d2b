import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatTimestamp } from "../../lib/time.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { readRateCard } from "../../lib/market/rates.js";
import { feeFor } from "../../lib/money/prices.js";
import { milliToUnits } from "../../lib/money/amounts.js";
import { computeReceiptId } from "../../lib/receipts/receipt.js";
import { refusalHint } from "../../lib/sdk/offers.js";
import { parseRelayerUrl } from "../../lib/sdk/relayer-api.js";
import { jobRelayerState, type RelayerJobView } from "../../lib/sdk/results.js";
import { runTask } from "../shared/cli.js";
import { aitbc, chainNow, jobCreation, openMarket, readJob } from "./shared.js";

interface JobStatusArgs {
  id: string;
  relayer: string;
  json: boolean;
}

/** One line per relayer: what it says about the job, and for a refusal what to do. */
function describeRelayer(v: RelayerJobView): string[] {
  const who = `  relayer    ${v.provider}${v.relayerUrl === null ? "" : ` (${v.relayerUrl})`}`;
  if (v.error !== null) return [`${who}: not reachable (${v.error.code}: ${v.error.message})`];
  if (!v.known) return [`${who}: has not seen the job`];
  if (v.state === "refused" && v.refusal !== null) {
    return [`${who}: refused — ${v.refusal}${v.refusalDetail === null ? "" : `: ${v.refusalDetail}`}`, `             → ${refusalHint(v.refusal)}`];
  }
  if (v.state === "given_back") {
    return [`${who}: gave the job back on-chain (the escrow was refunded)${v.failure === null ? "" : ` — ${v.failure.code}: ${v.failure.message}`}`];
  }
  if (v.failure !== null) return [`${who}: ${v.state} — ${v.failure.code}: ${v.failure.message}`];
  return [`${who}: ${v.state}${v.private === true ? " (private)" : ""}`];
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export default async function jobStatusAction(args: JobStatusArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const relayerUrl = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
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
    const relayers = await jobRelayerState({ provider: ctx.ethers.provider, deployment: m.deployment, jobId: id, relayerUrl });

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
    if (relayers.length === 0) ctx.say("  relayer    no provider's relayer knows the job yet");
    for (const v of relayers) for (const line of describeRelayer(v)) ctx.say(line);
    return {
      ...job,
      model: model?.name ?? null,
      unitType: model?.unitType ?? null,
      refund: settled ? job.escrow - job.price : null,
      fee: fee ?? null,
      disputeWindowEndsAt: payout?.releasableAt ?? null,
      dispute: held > 0n || openedAt > 0n ? { held, openedAt } : null,
      receiptId,
      relayers: relayers.map((v) => ({ ...v, hint: v.refusal === null ? null : refusalHint(v.refusal) })),
      now,
    };
  });
}
