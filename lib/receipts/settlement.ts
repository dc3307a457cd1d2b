/**
 * `JobEscrow.settleBatch(bytes items)` records: one provider's jobs packed as 46-byte records
 *
 *   uint48 jobId | uint64 unitsMilli | bytes32 receiptHash
 *
 * ordered by strictly ascending receipt leaf hash (the escrow builds the `StandardMerkleTree` root without sorting,
 * and the strict order rules out duplicates). The one encoder, decoder and ordering used by the relayer, the tasks,
 * the benchmarks and the tests.
 */
import { AitbcError } from "../errors.js";
import type { Hex } from "../merkle.js";
import { priceFor } from "../money/prices.js";
import { MAX_JOB_ID, SETTLEMENT_RECORD_BYTES } from "../protocol.js";
import { fromHex, toHex } from "./encoding.js";
import { receiptLeafHash, type ReceiptLeafValue } from "./leaf.js";

const UINT64_MAX = (1n << 64n) - 1n;

export interface SettlementRecord {
  jobId: bigint;
  unitsMilli: bigint;
  /** `0x` + 64 hex digits: SHA-256 of the receipt's canonical bytes. */
  receiptHash: string;
}

/** What binds a record to a leaf besides its own fields: the deployment and the settling provider. */
export interface SettlementContext {
  chainId: bigint;
  escrow: string;
  provider: string;
}

function invalid(message: string, details: Record<string, unknown>): AitbcError {
  return new AitbcError("SETTLEMENT_RECORD_INVALID", message, {
    details,
    hint: "job ids must fit in uint48, units in uint64, and receipt hashes must be 32 bytes of hex",
  });
}

function writeUint(out: Uint8Array, offset: number, width: number, value: bigint): void {
  let v = value;
  for (let i = offset + width - 1; i >= offset; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function readUint(bytes: Uint8Array, offset: number, width: number): bigint {
  let v = 0n;
  for (let i = offset; i < offset + width; i++) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

/**
 * Packs records in the order given (see {@link sortForSettlement} for the order the escrow requires).
 *
 * @throws {AitbcError} `SETTLEMENT_RECORD_INVALID` when a field does not fit its width.
 */
export function encodeSettlementRecords(records: readonly SettlementRecord[]): Uint8Array {
  const out = new Uint8Array(records.length * SETTLEMENT_RECORD_BYTES);
  records.forEach((r, index) => {
    if (r.jobId < 0n || r.jobId > MAX_JOB_ID) throw invalid(`record ${index}: job id ${r.jobId} does not fit in uint48`, { index });
    if (r.unitsMilli < 0n || r.unitsMilli > UINT64_MAX) throw invalid(`record ${index}: units ${r.unitsMilli} do not fit in uint64`, { index });
    const hash = /^0x[0-9a-fA-F]{64}$/.test(r.receiptHash) ? fromHex(r.receiptHash) : undefined;
    if (hash === undefined) throw invalid(`record ${index}: receipt hash ${r.receiptHash} is not 32 bytes of 0x hex`, { index });
    const at = index * SETTLEMENT_RECORD_BYTES;
    writeUint(out, at, 6, r.jobId);
    writeUint(out, at + 6, 8, r.unitsMilli);
    out.set(hash, at + 14);
  });
  return out;
}

/** {@link encodeSettlementRecords} as `0x` hex. */
export function encodeSettlementRecordsHex(records: readonly SettlementRecord[]): Hex {
  return toHex(encodeSettlementRecords(records));
}

/**
 * Unpacks `settleBatch` items (bytes or `0x` hex), in their order.
 *
 * @throws {AitbcError} `SETTLEMENT_RECORD_INVALID` when the input is not hex or not a whole number of records.
 */
export function decodeSettlementRecords(items: Uint8Array | string): SettlementRecord[] {
  const bytes = typeof items === "string" ? fromHex(items) : items;
  if (bytes === undefined) throw invalid("settlement items are not hex", {});
  if (bytes.length % SETTLEMENT_RECORD_BYTES !== 0) {
    throw invalid(`settlement items are ${bytes.length} bytes, not a multiple of ${SETTLEMENT_RECORD_BYTES}`, { length: bytes.length });
  }
  const records: SettlementRecord[] = [];
  for (let at = 0; at < bytes.length; at += SETTLEMENT_RECORD_BYTES) {
    records.push({
      jobId: readUint(bytes, at, 6),
      unitsMilli: readUint(bytes, at + 6, 8),
      receiptHash: toHex(bytes.subarray(at + 14, at + SETTLEMENT_RECORD_BYTES)),
    });
  }
  return records;
}

/** The receipt leaf the escrow computes for a record settled at `rate` (price = floor(unitsMilli × rate / 1000)). */
export function settlementLeafValue(context: SettlementContext, record: SettlementRecord, rate: bigint): ReceiptLeafValue {
  return {
    chainId: context.chainId,
    escrow: context.escrow,
    jobId: record.jobId,
    provider: context.provider,
    unitsMilli: record.unitsMilli,
    price: priceFor(record.unitsMilli, rate),
    receiptHash: record.receiptHash,
  };
}

/**
 * Orders records by strictly ascending leaf hash, the order `settleBatch` requires; `rateOf` gives each job's
 * snapshotted rate.
 *
 * @throws {AitbcError} `MERKLE_DUPLICATE_LEAF` when two records have the same leaf.
 */
export function sortForSettlement<T extends SettlementRecord>(context: SettlementContext, records: readonly T[], rateOf: (jobId: bigint) => bigint): T[] {
  return settlementOrder(records, (r) => settlementLeafValue(context, r, rateOf(r.jobId)));
}

/**
 * Orders items by strictly ascending leaf hash, the order `JobEscrow.settleBatch` requires (it builds the same root
 * without sorting, and the strict order rules out duplicates).
 *
 * @throws {AitbcError} `MERKLE_DUPLICATE_LEAF` when two items have the same leaf.
 */
export function settlementOrder<T>(items: readonly T[], leafOf: (item: T) => ReceiptLeafValue): T[] {
  const keyed = items.map((item) => ({ item, leaf: receiptLeafHash(leafOf(item)) }));
  keyed.sort((a, b) => (a.leaf < b.leaf ? -1 : a.leaf > b.leaf ? 1 : 0));
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i].leaf === keyed[i - 1].leaf) {
      throw new AitbcError("MERKLE_DUPLICATE_LEAF", `two items share leaf ${keyed[i].leaf}`, { details: { leaf: keyed[i].leaf } });
    }
  }
  return keyed.map((k) => k.item);
}
