/**
 * What a confirmed escrow event (or one that left the canonical chain) means for the relayer's jobs and batches,
 * pure: the app reads the journal into an {@link EventView}, calls {@link reduceEvent} / {@link reduceRemovedEvent},
 * and applies the effects it gets back in the delivery's transaction (journal effects) or after it commits (planner
 * and bookkeeping effects).
 */
import type { JobEvent, JobRecord } from "./job-state.js";

/** The escrow events the relayer acts on, decoded (addresses and roots lower-case). */
export type EscrowEvent =
  | { name: "JobCreated"; jobId: bigint }
  | { name: "JobAccepted"; jobId: bigint; provider: string }
  | { name: "JobCancelled" | "JobExpired"; jobId: bigint }
  | { name: "JobGivenBack"; jobId: bigint; provider: string }
  | { name: "BatchSettled"; provider: string; root: string; onChainBatchId: number }
  | { name: "other"; event: string };

/** Where the event was mined. */
export interface EventOrigin {
  txHash: string;
  blockNumber: number;
}

/** What the reducer may read of the journal. */
export interface EventView {
  /** This relayer's provider address (lower-case). */
  provider: string;
  job(jobId: bigint): JobRecord | null;
  /** Whether a transaction attempt with this hash was signed from this journal. */
  sentByUs(txHash: string): boolean;
  /** The batch with this root in the given statuses, if any. */
  batchByRoot(root: string, statuses: "live" | "confirmed"): { batchId: number; itemCount: number } | null;
}

export type EventEffect =
  /** Journal: move the job through the state machine. */
  | { type: "job"; jobId: bigint; event: JobEvent }
  /** Journal: the batch's settlement was mined; planner: the batch is confirmed. */
  | { type: "batch-confirmed"; batchId: number; itemCount: number; onChainBatchId: number; txHash: string; blockNumber: number }
  /** Journal: the batch's settlement left the chain; planner: its receipts are in flight again. */
  | { type: "batch-reorged"; batchId: number }
  /** Planner: the receipt will not be settled. */
  | { type: "drop-receipt"; receiptId: string }
  /** The job's accept landed on-chain (for anyone): it is not waiting for its accept transaction any more. */
  | { type: "accept-landed"; jobId: bigint }
  /** Something the operator should know. */
  | { type: "warn"; message: string; details: Record<string, unknown> };

const EXPIRABLE = new Set(["accepted", "running", "done", "signed"]);

/** A confirmed event. */
export function reduceEvent(event: EscrowEvent, origin: EventOrigin, view: EventView): EventEffect[] {
  switch (event.name) {
    case "JobAccepted": {
      const out: EventEffect[] = [{ type: "accept-landed", jobId: event.jobId }];
      const job = view.job(event.jobId);
      if (job === null || job.state !== "seen") return out;
      const mine = event.provider === view.provider;
      if (mine && !view.sentByUs(origin.txHash)) {
        // Accepted by this provider, but not by a transaction this journal signed: another relayer (or an earlier
        // life with a lost journal) has it. Running it here would sign a second, different receipt for the job.
        const reason = `ACCEPTED_ELSEWHERE: accepted by this provider in transaction ${origin.txHash}, which this journal did not send; not run again`;
        out.push({ type: "job", jobId: event.jobId, event: { type: "refuse", reason } });
        out.push({ type: "warn", message: "job accepted by this provider from another journal; not run here", details: { jobId: event.jobId.toString(), tx: origin.txHash } });
      } else if (mine) {
        out.push({ type: "job", jobId: event.jobId, event: { type: "accept", txHash: origin.txHash } });
      } else {
        out.push({ type: "job", jobId: event.jobId, event: { type: "refuse", reason: `TAKEN: accepted by ${event.provider}` } });
      }
      return out;
    }
    case "JobCancelled":
    case "JobExpired": {
      const job = view.job(event.jobId);
      if (job === null) return [];
      if (job.state === "seen") {
        const reason = event.name === "JobCancelled" ? "CANCELLED by the client" : "EXPIRED on-chain";
        return [{ type: "job", jobId: event.jobId, event: { type: "refuse", reason } }];
      }
      if (!EXPIRABLE.has(job.state)) return [];
      const out: EventEffect[] = [];
      if (job.state === "signed" && job.receiptId !== null) out.push({ type: "drop-receipt", receiptId: job.receiptId });
      out.push({ type: "job", jobId: event.jobId, event: { type: "expire" } });
      return out;
    }
    case "JobGivenBack": {
      // Normally the job is `given_back` already (the state moves with the journaled intent); this catches a give-back
      // sent from another journal of this provider, so the job is not run here for nothing.
      const job = view.job(event.jobId);
      if (job === null || event.provider !== view.provider || (job.state !== "accepted" && job.state !== "running")) return [];
      return [
        { type: "job", jobId: event.jobId, event: { type: "give_back", code: "GIVEN_BACK_ELSEWHERE", message: `given back on-chain in transaction ${origin.txHash}, which this journal did not send` } },
        { type: "warn", message: "job given back by this provider from another journal", details: { jobId: event.jobId.toString(), tx: origin.txHash } },
      ];
    }
    case "BatchSettled": {
      if (event.provider !== view.provider) return [];
      const batch = view.batchByRoot(event.root, "live");
      if (batch === null) return [];
      return [{ type: "batch-confirmed", batchId: batch.batchId, itemCount: batch.itemCount, onChainBatchId: event.onChainBatchId, ...origin }];
    }
    default:
      return [];
  }
}

/** An event delivered earlier whose block left the canonical chain. */
export function reduceRemovedEvent(event: EscrowEvent, origin: EventOrigin, view: EventView): EventEffect[] {
  if (event.name === "BatchSettled" && event.provider === view.provider) {
    const batch = view.batchByRoot(event.root, "confirmed");
    if (batch === null) return [];
    // The settlement vanished: the jobs wait for it again; the sender rebroadcasts the same signed transaction.
    return [
      { type: "batch-reorged", batchId: batch.batchId },
      { type: "warn", message: "settlement reorged out; waiting for it again", details: { batchId: batch.batchId } },
    ];
  }
  if (event.name === "JobCreated") {
    const job = view.job(event.jobId);
    if (job?.state !== "seen") return [];
    return [{ type: "job", jobId: event.jobId, event: { type: "refuse", reason: "REORGED_OUT: the job left the chain" } }];
  }
  return [{ type: "warn", message: "event reorged out", details: { event: event.name === "other" ? event.event : event.name, block: origin.blockNumber } }];
}
