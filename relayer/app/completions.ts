import { keccak256 } from "ethers";

import { priceFor } from "../../lib/money/prices.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { buildReceipt, receiptHash, receiptLeaf, serializeReceipt, signReceipt } from "../../lib/receipts/receipt.js";
import type { Journal } from "../adapters/journal/journal.js";
import type { PlannedReceipt } from "../core/batch-planner.js";
import type { JobRecord } from "../core/job-state.js";

export const RESULT_CONTENT_TYPE = "text/plain; charset=utf-8";

/** Who signs the receipts and for which deployment. */
export interface ReceiptSigner {
  chainId: bigint;
  escrow: string;
  /** Lowercase provider address. */
  provider: string;
  /** The provider's Ed25519 receipt key (32-byte seed). */
  secretKey: Uint8Array;
}

/** A run that finished on the runtime and was metered, not yet journaled. */
export interface Completion {
  jobId: bigint;
  unitsMilli: bigint;
  output: string;
  /** The bytes to journal instead of `output` (a private job's sealed result), with their content type. */
  body?: { bytes: Uint8Array; contentType: string };
  /** Unix milliseconds, from the runtime's timings. */
  startedAtMs: number;
  completedAtMs: number;
}

function sec(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Builds, signs and journals the receipt of a `done` job; returns what the planner needs when it was new.
 *
 * Safe to call again for the same job (after a crash, or from the start-up sweep of `done` jobs): the receipt id is
 * derived from (chain, escrow, job) and Ed25519 signing is deterministic, so the document is the same, and the journal
 * is idempotent by receipt id (`inserted: false`) — one receipt per job, never two different ones.
 */
export function signJobReceipt(journal: Journal, signer: ReceiptSigner, job: JobRecord, nowSec: number): PlannedReceipt | null {
  if (job.unitsMilli === null || job.resultHash === null || job.startedAt === null || job.completedAt === null) return null;
  const signed = signReceipt(
    buildReceipt({
      chainId: signer.chainId,
      escrow: signer.escrow,
      jobId: job.jobId,
      provider: signer.provider,
      client: job.client,
      model: job.model,
      unitsMilli: job.unitsMilli,
      priceBase: priceFor(job.unitsMilli, job.rate),
      startedAt: job.startedAt,
      completedAt: job.completedAt,
      inputHash: job.inputHash,
      resultHash: job.resultHash,
    }),
    signer.secretKey,
    nodeBackend,
  );
  const { inserted, receipt } = journal.receipts.record(
    {
      receiptId: signed.receipt_id,
      receiptHash: receiptHash(signed).slice(2),
      leafHash: receiptLeaf(signed),
      jobId: job.jobId,
      client: job.client,
      provider: signer.provider,
      unitsMilli: job.unitsMilli,
      priceBase: BigInt(signed.price_base),
      json: serializeReceipt(signed),
    },
    nowSec,
  );
  return inserted ? { receiptId: receipt.receiptId, jobId: job.jobId, leafHash: receipt.leafHash, signedAt: receipt.signedAt, deadline: job.deadline } : null;
}

/**
 * Group commit: journals every completion of the group — result, `done`, signed receipt, `signed` — in ONE durable
 * transaction (one fsync under `synchronous=FULL`), however many finished together.
 *
 * Each completion runs in its own savepoint, so one that the journal refuses (its job expired or was cancelled while
 * it ran) is reported through `onError` and undone alone while the rest of the group commits. Nothing of the group is
 * visible (API, planner, batches) before the commit returns; a crash before it leaves those jobs `running`, and they
 * run again on start.
 */
export function commitCompletions(
  journal: Journal,
  signer: ReceiptSigner,
  completions: readonly Completion[],
  nowSec: number,
  onError: (completion: Completion, error: unknown) => void,
): PlannedReceipt[] {
  const encoder = new TextEncoder();
  return journal.transaction(() => {
    const planned: PlannedReceipt[] = [];
    for (const c of completions) {
      try {
        const item = journal.transaction(() => {
          const body = c.body?.bytes ?? encoder.encode(c.output);
          const done = journal.jobs.recordDone(
            c.jobId,
            { unitsMilli: c.unitsMilli, resultHash: keccak256(body), startedAt: sec(c.startedAtMs), completedAt: sec(c.completedAtMs) },
            { body, contentType: c.body?.contentType ?? RESULT_CONTENT_TYPE },
            nowSec,
          );
          return signJobReceipt(journal, signer, done, nowSec);
        });
        if (item !== null) planned.push(item);
      } catch (error) {
        onError(c, error);
      }
    }
    return planned;
  });
}
