import type { JobRecord, JobState } from "./job-state.js";

/** A signed receipt as journaled. `json` is the document byte for byte as signed (number lexemes included). */
export interface StoredReceipt {
  receiptId: string;
  /** Hex SHA-256 of the canonical bytes (64 lower-case hex digits, no 0x). */
  receiptHash: string;
  /** 0x hex of the Merkle leaf. */
  leafHash: string;
  jobId: bigint;
  client: string;
  provider: string;
  unitsMilli: bigint;
  priceBase: bigint;
  json: string;
  signedAt: number;
  batchId: number | null;
}

export const BATCH_STATUSES = ["intent", "sent", "confirmed", "failed", "finalized"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchInfo {
  batchId: number;
  root: string;
  status: BatchStatus;
  itemCount: number;
  txId: number | null;
  txHash: string | null;
  blockNumber: number | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ReceiptWithProof {
  receipt: StoredReceipt;
  /** The batch currently carrying the receipt, or `null` while it waits for one. */
  batch: BatchInfo | null;
  /** Sibling hashes (0x hex) from the leaf to the root of `batch`, or `null` without a batch. */
  proof: string[] | null;
}

export interface StoredResult {
  jobId: bigint;
  body: Uint8Array;
  contentType: string;
  resultHash: string;
  createdAt: number;
}

export interface ReceiptQuery {
  client?: string;
  provider?: string;
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface ReceiptPage {
  items: StoredReceipt[];
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export const TX_STATUSES = ["intent", "pending", "mined", "confirmed", "reverted", "abandoned"] as const;
export type TxStatus = (typeof TX_STATUSES)[number];

export interface JournalMetrics {
  jobsByState: Record<JobState, number>;
  /** Metered milli-GPU-seconds of every job that completed a run. */
  gpuMilliSecondsTotal: number;
  receiptsSigned: number;
  batchesByStatus: Record<BatchStatus, number>;
  txsByStatus: Record<TxStatus, number>;
  /** Attempts beyond the first per transaction (fee bumps and rebroadcasts). */
  txRetries: number;
  /** Last fully processed block, or `null` before the first. */
  cursorBlock: number | null;
}

/** What the read API needs; the journal implements it. All lookups return `null` for unknown ids. */
export interface RelayerReadModel {
  listReceipts(query: ReceiptQuery): ReceiptPage;
  getReceipt(receiptId: string): ReceiptWithProof | null;
  getJob(jobId: bigint): JobRecord | null;
  getResult(jobId: bigint): StoredResult | null;
  metrics(): JournalMetrics;
}
