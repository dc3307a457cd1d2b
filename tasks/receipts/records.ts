import { milliToUnits } from "../../lib/money/amounts.js";
import { computeReceiptId } from "../../lib/receipts/receipt.js";
import type { JobInfo, MarketContext } from "../market/shared.js";

/** A job's receipt as the chain knows it: settlement values and the batch that anchored it. */
export interface ReceiptRecord {
  receiptId: string;
  jobId: bigint;
  status: string;
  client: string;
  provider: string;
  unitsMilli: bigint;
  units: string;
  price: bigint;
  batchId: bigint | null;
  root: string | null;
  anchored: boolean;
  /** From the relayer, when asked. */
  receiptHash?: string;
}

export function recordOf(m: MarketContext, job: JobInfo, roots: Map<bigint, { root: string }>): ReceiptRecord {
  const batchId = job.batchId === 0n ? null : job.batchId;
  const root = batchId === null ? null : (roots.get(batchId)?.root ?? null);
  return {
    receiptId: computeReceiptId(m.chainId, m.addresses.escrow, job.id),
    jobId: job.id,
    status: job.status,
    client: job.client,
    provider: job.provider,
    unitsMilli: job.unitsMilli,
    units: milliToUnits(job.unitsMilli),
    price: job.price,
    batchId,
    root,
    anchored: root !== null,
  };
}
