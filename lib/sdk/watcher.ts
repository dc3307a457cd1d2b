/**
 * Following anchored receipt batches: the oracle agent's view of the chain. Every `settleBatch` emits
 * `RootAnchored(batchId, root, submitter, count)` and `BatchSettled(batchId, provider, root, …)`; the two are joined
 * by batch id.
 */
import type { Provider } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { connectMarket } from "./market.js";

/** One anchored batch. */
export interface AnchoredBatch {
  batchId: bigint;
  root: string;
  /** Account that anchored it (the provider's relayer for settlement batches). */
  submitter: string;
  /** Receipts in the batch. */
  count: bigint;
  blockNumber: number;
  txHash: string;
  /** The settlement in the same transaction, when the batch settled jobs. */
  settlement: { provider: string; providerAmount: bigint; fee: bigint; refunds: bigint } | null;
}

/** Anchored batches in blocks `[fromBlock, toBlock]`, in batch-id order. */
export async function readAnchoredBatches(provider: Provider, deployment: Deployment, range: { fromBlock?: number; toBlock?: number } = {}): Promise<AnchoredBatch[]> {
  const { escrow } = connectMarket(deployment, provider);
  const from = range.fromBlock ?? deployment.block;
  const to = range.toBlock ?? "latest";
  const [anchored, settled] = await Promise.all([escrow.queryFilter(escrow.filters.RootAnchored(), from, to), escrow.queryFilter(escrow.filters.BatchSettled(), from, to)]);
  const settlements = new Map(settled.map((e) => [e.args.batchId, { provider: e.args.provider, providerAmount: e.args.providerAmount, fee: e.args.fee, refunds: e.args.refunds }]));
  return anchored
    .map((e) => ({
      batchId: e.args.batchId,
      root: e.args.root,
      submitter: e.args.submitter,
      count: e.args.count,
      blockNumber: e.blockNumber,
      txHash: e.transactionHash,
      settlement: settlements.get(e.args.batchId) ?? null,
    }))
    .sort((a, b) => (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0));
}

export interface FollowOptions {
  /** First block to scan (default: the deployment's block). */
  fromBlock?: number;
  /** Called once per batch, in order; the next batch waits for it. */
  onBatch: (batch: AnchoredBatch) => void | Promise<void>;
  /** Blocks to stay behind the head, so a reorg cannot retract a reported batch (default 0: local chains). */
  confirmations?: number;
  pollIntervalMs?: number;
  /** Largest block range per log query (default 2,000; public RPCs cap ranges). */
  maxBlockRange?: number;
  signal?: AbortSignal;
}

/** A running follower. */
export interface BatchFollower {
  /** Stops after the current step; resolves when it has stopped. */
  stop(): Promise<void>;
  /** Settles when the follower stops: resolves on `stop()`/abort, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** The next block it will scan: a resume point to persist. */
  nextBlock(): number;
}

/**
 * Reports every anchored batch from `fromBlock` on, then keeps polling for new ones until stopped. An error from the
 * node or from `onBatch` stops the follower and rejects `done`; resume from `nextBlock()`.
 */
export function followAnchoredBatches(provider: Provider, deployment: Deployment, options: FollowOptions): BatchFollower {
  const confirmations = options.confirmations ?? 0;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const range = options.maxBlockRange ?? 2_000;
  if (!Number.isSafeInteger(confirmations) || confirmations < 0 || !Number.isSafeInteger(range) || range < 1) {
    throw new AitbcError("BAD_OPTION", "confirmations must be ≥ 0 and maxBlockRange ≥ 1", { hint: "Pass whole numbers." });
  }
  let next = options.fromBlock ?? deployment.block;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stopNow = () => {
    stopping = true;
    wake?.();
  };
  options.signal?.addEventListener("abort", stopNow, { once: true });
  const idle = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const done = (async () => {
    try {
      while (!stopping && options.signal?.aborted !== true) {
        const head = (await provider.getBlockNumber()) - confirmations;
        if (head >= next) {
          const to = Math.min(head, next + range - 1);
          for (const batch of await readAnchoredBatches(provider, deployment, { fromBlock: next, toBlock: to })) await options.onBatch(batch);
          next = to + 1;
          if (to < head) continue;
        }
        await idle();
      }
    } finally {
      options.signal?.removeEventListener("abort", stopNow);
    }
  })();
  // Callers that only use stop() must not see an unhandled rejection; `done` still rejects for those who await it.
  done.catch(() => undefined);
  return {
    stop() {
      stopNow();
      return done.catch(() => undefined);
    },
    done,
    nextBlock: () => next,
  };
}
