import { ReceiptMerkleTree, type ReceiptLeafValue } from "../../lib/merkle.js";
import { encodeSettlementRecords } from "../../lib/settlement.js";
import { BatchPlanner, type PlannedReceipt } from "../core/batch-planner.js";
import { isRelayerError } from "../core/errors.js";
import { releaseCalldata, settleCalldata, type OnChainJob } from "./contracts.js";
import { sec, type Work } from "./work.js";

const FINALIZE_EVERY_MS = 5_000;

/**
 * Batch and settle: hands signed receipts to the batch planner, cuts batches (root and proofs journaled before the
 * transaction exists), sends `settleBatch`, returns the receipts of a settlement that will not land to the planner,
 * and finalizes and releases batches past their dispute window.
 */
export class Settler {
  readonly #w: Work;
  readonly #planner: BatchPlanner;
  #lastFinalizeCheck = 0;

  constructor(work: Work) {
    this.#w = work;
    const b = work.settings.batching;
    this.#planner = new BatchPlanner({
      maxItems: b.maxItems,
      maxAgeSeconds: b.maxAgeSeconds,
      deadlineMarginSeconds: b.deadlineMarginSeconds,
      maxInFlight: b.maxInFlight,
      gas: { baseGas: b.baseGas, perItemGas: b.perItemGas, gasBudget: b.gasBudget },
    });
  }

  /** A signed receipt waits for a batch. */
  add(receipt: PlannedReceipt): void {
    this.#planner.add(receipt);
  }

  /** The receipt will not be settled (its job ended on-chain); one the planner no longer holds is left alone. */
  drop(receiptId: string): void {
    try {
      this.#planner.drop(receiptId);
    } catch (error) {
      if (!isRelayerError(error, "RELAYER_RECEIPT_NOT_PENDING")) throw error;
    }
  }

  /** The batch's settlement is confirmed on-chain (the journal already says so). */
  confirmed(batchId: number): void {
    this.#planner.onBatchConfirmed(batchId);
  }

  /** The batch's settlement left the chain (the journal already says so): its receipts are in flight again. */
  reorged(batchId: number): void {
    this.#planner.restoreInFlight(batchId, this.#plannedItems(batchId));
  }

  /** The sender queued the settlement again under a new transaction. */
  requeued(batchId: number, txId: number): void {
    const batch = this.#w.journal.batches.get(batchId);
    if (batch !== null && (batch.status === "intent" || batch.status === "sent")) this.#w.journal.batches.attachTx(batchId, txId, sec(this.#w.now()));
  }

  /** One pass: cut every batch the planner has ready, and now and then finalize. */
  async step(): Promise<void> {
    this.#plan();
    if (this.#w.now() - this.#lastFinalizeCheck >= FINALIZE_EVERY_MS) {
      this.#lastFinalizeCheck = this.#w.now();
      await this.#finalize();
    }
  }

  #plan(): void {
    for (;;) {
      const nowSec = sec(this.#w.now());
      const plan = this.#planner.plan(nowSec);
      for (const r of plan.expired) {
        this.#planner.drop(r.receiptId);
        this.#w.journal.jobs.applyEvent(r.jobId, { type: "expire" }, nowSec);
        this.#w.log.warn({ jobId: r.jobId.toString() }, "receipt expired before settlement");
      }
      if (plan.kind === "wait") return;
      this.#cut(plan.batch.items);
    }
  }

  #cut(items: readonly PlannedReceipt[]): void {
    const { journal, provider } = this.#w;
    const receipts = items.map((r) => {
      const stored = journal.receipts.get(r.receiptId);
      if (stored === null) throw new Error(`receipt ${r.receiptId} is planned but not journaled`);
      return stored;
    });
    const values: ReceiptLeafValue[] = receipts.map((r) => ({
      chainId: this.#w.chainId,
      escrow: this.#w.contracts.escrow.toLowerCase(),
      jobId: r.jobId,
      provider,
      unitsMilli: r.unitsMilli,
      price: r.priceBase,
      receiptHash: `0x${r.receiptHash}`,
    }));
    const tree = ReceiptMerkleTree.of(values);
    // The planner hands items over in ascending leaf order, the order settleBatch requires.
    const records = encodeSettlementRecords(receipts.map((r) => ({ jobId: r.jobId, unitsMilli: r.unitsMilli, receiptHash: `0x${r.receiptHash}` })));
    const batchId = journal.batches.recordIntent(
      { root: tree.root, items: records, entries: receipts.map((r, i) => ({ receiptId: r.receiptId, proof: tree.getProof(i) })) },
      sec(this.#w.now()),
    );
    this.#planner.commit(batchId, items.map((r) => r.receiptId));
    this.#w.log.info({ batchId, items: items.length, root: tree.root }, "batch cut");
    this.#submit(batchId);
  }

  #submit(batchId: number): void {
    const { journal } = this.#w;
    const items = journal.batches.calldataItems(batchId);
    if (items === null) return;
    const { tx } = this.#w.sender.submit({ purpose: "settle", idempotencyKey: `batch-${batchId}`, to: this.#w.contracts.escrow, data: settleCalldata(items) });
    const batch = journal.batches.get(batchId);
    if (batch !== null && batch.txId !== tx.id) journal.batches.attachTx(batchId, tx.id, sec(this.#w.now()));
  }

  /**
   * The settlement will not land. Before the receipts go back to the planner, ask the chain which jobs can still be
   * settled, so a job that expired (or was reclaimed) cannot make every later batch fail too.
   */
  async onFailed(batchId: number, reason: string): Promise<void> {
    const { journal, log } = this.#w;
    const batch = journal.batches.get(batchId);
    if (batch === null || (batch.status !== "intent" && batch.status !== "sent")) return;
    const receipts = journal.batches.items(batchId).map((i) => journal.receipts.get(i.receiptId));
    const views = new Map<string, OnChainJob>();
    for (const r of receipts) if (r !== null) views.set(r.receiptId, await this.#w.market.job(r.jobId));
    const chainNow = await this.#w.chainNow();
    const again = journal.batches.get(batchId);
    if (again === null || (again.status !== "intent" && again.status !== "sent")) return;
    const nowSec = sec(this.#w.now());
    journal.batches.markFailed(batchId, reason, nowSec);
    this.#planner.onBatchFailed(batchId);
    for (const r of receipts) {
      if (r === null) continue;
      const view = views.get(r.receiptId) as OnChainJob;
      const settleable = view.status === "Accepted" && view.provider === this.#w.provider && view.deadline > chainNow;
      if (settleable) continue;
      this.#planner.drop(r.receiptId);
      journal.jobs.applyEvent(r.jobId, { type: "expire" }, nowSec);
      log.warn({ jobId: r.jobId.toString(), status: view.status }, "job can no longer be settled");
    }
    log.warn({ batchId, reason }, "settlement failed; receipts returned to the planner");
  }

  async #finalize(): Promise<void> {
    const { journal, market } = this.#w;
    const confirmed = journal.batches.list(["confirmed"]);
    if (confirmed.length === 0) return;
    const chainNow = await market.latestTimestamp();
    const releasable: bigint[] = [];
    for (const batch of confirmed) {
      const onChain = await market.settlementBatch(batch.root);
      if (onChain.releasableAt > 0 && chainNow >= onChain.releasableAt) {
        journal.batches.markFinalized(batch.batchId, sec(this.#w.now()));
        this.#w.log.info({ batchId: batch.batchId }, "batch finalized");
        if (!onChain.released) releasable.push(onChain.id);
      }
    }
    // Released payouts leave the provider's exposure in the escrow, which caps what it may accept and keeps its bond:
    // release them as soon as their dispute window has passed (anyone may; the earnings go to the provider).
    if (releasable.length > 0) {
      this.#w.sender.submit({ purpose: "other", idempotencyKey: `release-${releasable.join(",")}`, to: this.#w.contracts.escrow, data: releaseCalldata(releasable) });
      this.#w.log.info({ batches: releasable.map(String) }, "releasing payouts past their dispute window");
    }
  }

  // ── start-up ─────────────────────────────────────────────────────────────────────────────────────────────────

  #planned(receiptId: string): PlannedReceipt | null {
    const { journal } = this.#w;
    const r = journal.receipts.get(receiptId);
    const job = r === null ? null : journal.jobs.get(r.jobId);
    if (r === null || job === null) return null;
    return { receiptId, jobId: r.jobId, leafHash: r.leafHash, signedAt: r.signedAt, deadline: job.deadline };
  }

  #plannedItems(batchId: number): PlannedReceipt[] {
    return this.#w.journal.batches.items(batchId).map((i) => this.#planned(i.receiptId)).filter((x): x is PlannedReceipt => x !== null);
  }

  /** Puts the journal's batches in flight and its unbatched receipts back into the planner. */
  restore(): void {
    const { journal } = this.#w;
    for (const batch of journal.batches.list(["intent", "sent"])) this.#planner.restoreInFlight(batch.batchId, this.#plannedItems(batch.batchId));
    for (const { receipt, deadline } of journal.receipts.listUnbatched()) {
      this.#planner.add({ receiptId: receipt.receiptId, jobId: receipt.jobId, leafHash: receipt.leafHash, signedAt: receipt.signedAt, deadline });
    }
  }

  /** Batches journaled before a crash: send the ones that never got a transaction, fail the ones whose transaction did. */
  async reconcile(): Promise<void> {
    const { journal } = this.#w;
    for (const batch of journal.batches.list(["intent", "sent"])) {
      const tx = batch.txId === null ? null : journal.transactions.get(batch.txId);
      if (tx === null || tx.status === "abandoned") {
        const live = journal.transactions.findByKey("settle", `batch-${batch.batchId}`);
        if (live === null || batch.status === "intent") this.#submit(batch.batchId);
        else journal.batches.attachTx(batch.batchId, live.id, sec(this.#w.now()));
      } else if (tx.status === "reverted") {
        await this.onFailed(batch.batchId, tx.error ?? "the settlement transaction reverted");
      }
    }
  }
}
