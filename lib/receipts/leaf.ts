/**
 * The receipt leaf: the value `JobEscrow.settleBatch` commits to for each settled job, its ABI encoding and its
 * `StandardMerkleTree` leaf hash. The one TypeScript definition, tested against the escrow and against
 * `@openzeppelin/merkle-tree`. Pure and browser-safe.
 */
import { AitbcError } from "../errors.js";
import { doubleKeccak256_224 } from "../keccak.js";
import { type Hex, standardLeafHash, verifyProof } from "../merkle.js";
import { toHex } from "./encoding.js";

/** The leaf tuple's ABI types, in the `leafEncoding` form `StandardMerkleTree.of` takes. */
export const RECEIPT_LEAF_ENCODING = ["uint256", "address", "uint256", "address", "uint64", "uint256", "bytes32"] as const;

/**
 * The on-chain leaf of one receipt: `(chainId, escrow, jobId, provider, unitsMilli, price, receiptHash)`.
 * `chainId` and `escrow` bind it to one deployment; `receiptHash` is the SHA-256 of the receipt's canonical bytes.
 */
export interface ReceiptLeafValue {
  readonly chainId: bigint;
  readonly escrow: string;
  readonly jobId: bigint;
  readonly provider: string;
  readonly unitsMilli: bigint;
  readonly price: bigint;
  readonly receiptHash: string;
}

const UINT256_MAX = (1n << 256n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Writes the hex digits `text[from, text.length)` right-aligned so they end at `out[end]`; false on a non-hex digit. */
function writeHexRightAligned(out: Uint8Array, end: number, text: string, from: number): boolean {
  let o = end;
  let i = text.length;
  while (i > from) {
    const lo = text.charCodeAt(--i);
    const hi = i > from ? text.charCodeAt(--i) : 0x30;
    const l = lo < 128 ? HEX_VALUE[lo] : -1;
    const h = hi < 128 ? HEX_VALUE[hi] : -1;
    if (l < 0 || h < 0) return false;
    out[--o] = (h << 4) | l;
  }
  return true;
}

function writeUint(out: Uint8Array, offset: number, value: bigint, max: bigint, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value > max) {
    throw new AitbcError("MERKLE_LEAF_INVALID", `${field} must be a bigint in [0, ${max}]`, { details: { field } });
  }
  writeHexRightAligned(out, offset + 32, value.toString(16), 0);
}

function writeFixedBytes(out: Uint8Array, offset: number, hex: string, size: number, field: string): void {
  // Addresses are right-aligned in their word, bytes32 fills it.
  const ok =
    typeof hex === "string" &&
    hex.length === 2 + 2 * size &&
    hex.charCodeAt(0) === 0x30 &&
    (hex.charCodeAt(1) === 0x78 || hex.charCodeAt(1) === 0x58) &&
    writeHexRightAligned(out, offset + 32, hex, 2);
  if (!ok) throw new AitbcError("MERKLE_LEAF_INVALID", `${field} must be 0x-prefixed hex of ${size} bytes`, { details: { field } });
}

/** `abi.encode(uint256, address, uint256, address, uint64, uint256, bytes32)`: seven static words, 224 bytes. */
export function encodeReceiptLeaf(value: ReceiptLeafValue): Uint8Array {
  const out = new Uint8Array(224);
  encodeReceiptLeafInto(value, out);
  return out;
}

/** {@link encodeReceiptLeaf} into a caller-owned 224-byte buffer (cleared first). */
function encodeReceiptLeafInto(value: ReceiptLeafValue, out: Uint8Array): void {
  out.fill(0);
  writeUint(out, 0, value.chainId, UINT256_MAX, "chainId");
  writeFixedBytes(out, 32, value.escrow, 20, "escrow");
  writeUint(out, 64, value.jobId, UINT256_MAX, "jobId");
  writeFixedBytes(out, 96, value.provider, 20, "provider");
  writeUint(out, 128, value.unitsMilli, UINT64_MAX, "unitsMilli");
  writeUint(out, 160, value.price, UINT256_MAX, "price");
  writeFixedBytes(out, 192, value.receiptHash, 32, "receiptHash");
}

/** Leaf hashes of many values, back to back in one buffer, with no per-leaf allocation. */
export function receiptLeafHashesFlat(values: readonly ReceiptLeafValue[]): Uint8Array {
  const flat = new Uint8Array(values.length * 32);
  const scratch = new Uint8Array(224);
  for (let i = 0; i < values.length; i++) {
    encodeReceiptLeafInto(values[i], scratch);
    doubleKeccak256_224(scratch, 0, flat, i * 32);
  }
  return flat;
}

export function receiptLeafHashBytes(value: ReceiptLeafValue): Uint8Array {
  return standardLeafHash(encodeReceiptLeaf(value));
}

/** The leaf hash of a receipt, as `StandardMerkleTree.leafHash(value)` returns it. */
export function receiptLeafHash(value: ReceiptLeafValue): Hex {
  return toHex(receiptLeafHashBytes(value));
}

/** The value as `StandardMerkleTree.of(values, RECEIPT_LEAF_ENCODING)` expects it (decimal strings and hex). */
export function toOzLeafValue(value: ReceiptLeafValue): string[] {
  return [
    value.chainId.toString(),
    value.escrow,
    value.jobId.toString(),
    value.provider,
    value.unitsMilli.toString(),
    value.price.toString(),
    value.receiptHash,
  ];
}

/** Checks that a receipt's leaf value is in the tree with this root. Never throws. */
export function verifyReceiptLeafProof(root: Uint8Array | string, value: ReceiptLeafValue, proof: readonly (Uint8Array | string)[]): boolean {
  let leaf: Uint8Array;
  try {
    leaf = receiptLeafHashBytes(value);
  } catch {
    return false;
  }
  return verifyProof(root, leaf, proof);
}
