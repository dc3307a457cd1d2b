/**
 * Receipt Merkle trees, identical to `@openzeppelin/merkle-tree`'s `StandardMerkleTree` (same roots, same proofs,
 * same dumps) but built with a plain keccak loop over one flat buffer, so a million leaves take seconds instead of
 * minutes.
 *
 * The OpenZeppelin construction:
 * - leaf = `keccak256(keccak256(abi.encode(value)))` — the double hash means no 64-byte string (two concatenated
 *   internal nodes) can pose as a leaf;
 * - leaves sorted by hash, ascending (stable);
 * - an array-form complete binary tree of `2n − 1` nodes where the sorted leaves occupy the last `n` slots in
 *   reverse order and `node[i] = hashPair(node[2i + 1], node[2i + 2])`;
 * - `hashPair(a, b) = keccak256(min(a, b) ‖ max(a, b))`, so proofs need no left/right flags.
 *
 * Pure: no Node-specific imports, usable in a browser.
 */
import { AitbcError } from "./errors.js";
import { doubleKeccak256_224, keccak256_32, keccak256Into, keccak256SortedPair } from "./keccak.js";
import { fromHex, toHex } from "./receipts/encoding.js";

export type Hex = `0x${string}`;

// ───────────────────────────── node and leaf hashes ─────────────────────────────

function compareAt(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let i = 0; i < 32; i++) {
    const d = a[ai + i] - b[bi + i];
    if (d !== 0) return d;
  }
  return 0;
}

/** `keccak256(sort(a, b))`, the node hash of `StandardMerkleTree` and of OpenZeppelin's `MerkleProof`. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256SortedPair(a, 0, b, 0, out, 0);
  return out;
}

/** `keccak256(keccak256(encoded))`: the `StandardMerkleTree` leaf hash of an ABI-encoded value. */
export function standardLeafHash(encoded: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(encoded, 0, encoded.length, out, 0);
  keccak256_32(out, 0, out, 0);
  return out;
}

// ───────────────────────────── the receipt leaf ─────────────────────────────

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

// ───────────────────────────── the tree ─────────────────────────────

function toLeafBytes(leaf: Uint8Array | string, index: number): Uint8Array {
  const bytes = typeof leaf === "string" ? fromHex(leaf) : leaf;
  if (bytes === undefined || bytes.length !== 32) {
    throw new AitbcError("MERKLE_LEAF_INVALID", `leaf ${index} is not 32 bytes`, { details: { index } });
  }
  return bytes;
}

/**
 * Returns the input indices ordered by ascending leaf hash, ties kept in input order (as the stable sort in
 * `StandardMerkleTree.of`). `hashes` holds `n` hashes of 32 bytes back to back.
 */
function sortLeafIndices(hashes: Uint8Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  const fullCompare = (a: number, b: number): number => compareAt(hashes, a * 32, hashes, b * 32) || a - b;
  if (n > 1 << 21) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort(fullCompare);
  }
  // Sort numbers natively: the first four hash bytes above the index (32 + 21 bits fit a double exactly), then fix up
  // the runs that share those four bytes.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 32;
    const prefix = ((hashes[o] << 24) | (hashes[o + 1] << 16) | (hashes[o + 2] << 8) | hashes[o + 3]) >>> 0;
    keys[i] = prefix * 2097152 + i;
  }
  keys.sort();
  for (let i = 0; i < n; i++) order[i] = keys[i] % 2097152;
  let runStart = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && Math.floor(keys[i] / 2097152) === Math.floor(keys[runStart] / 2097152)) continue;
    if (i - runStart > 1) order.subarray(runStart, i).sort(fullCompare);
    runStart = i;
  }
  return order;
}

/**
 * A `StandardMerkleTree`-compatible tree over 32-byte leaf hashes. "Input index" is the position of a leaf in the
 * list the tree was built from; "tree index" its slot in the array-form tree (as in OpenZeppelin's dump).
 */
export class MerkleTree {
  /** All `2n − 1` nodes, 32 bytes each, in OpenZeppelin's array order (root first). */
  private readonly nodes: Uint8Array;
  private readonly treeIndexOf: Uint32Array;
  private lookup?: Map<string, number>;
  readonly length: number;

  private constructor(nodes: Uint8Array, treeIndexOf: Uint32Array) {
    this.nodes = nodes;
    this.treeIndexOf = treeIndexOf;
    this.length = treeIndexOf.length;
  }

  /**
   * Builds the tree from leaf hashes: a flat buffer of `n × 32` bytes, or a list of 32-byte arrays or hex strings.
   * @throws {AitbcError} `MERKLE_EMPTY` for no leaves, `MERKLE_LEAF_INVALID` for a leaf that is not 32 bytes.
   */
  static fromLeafHashes(leaves: Uint8Array | readonly (Uint8Array | string)[]): MerkleTree {
    let flat: Uint8Array;
    if (leaves instanceof Uint8Array) {
      if (leaves.length % 32 !== 0) throw new AitbcError("MERKLE_LEAF_INVALID", "flat leaf buffer length is not a multiple of 32");
      flat = leaves;
    } else {
      flat = new Uint8Array(leaves.length * 32);
      leaves.forEach((leaf, i) => flat.set(toLeafBytes(leaf, i), i * 32));
    }
    const n = flat.length / 32;
    if (n === 0) throw new AitbcError("MERKLE_EMPTY", "a Merkle tree needs at least one leaf");
    const order = sortLeafIndices(flat, n);
    const size = 2 * n - 1;
    const nodes = new Uint8Array(size * 32);
    const treeIndexOf = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const input = order[k];
      const treeIndex = size - 1 - k;
      nodes.set(flat.subarray(input * 32, input * 32 + 32), treeIndex * 32);
      treeIndexOf[input] = treeIndex;
    }
    for (let i = size - 1 - n; i >= 0; i--) keccak256SortedPair(nodes, (2 * i + 1) * 32, nodes, (2 * i + 2) * 32, nodes, i * 32);
    return new MerkleTree(nodes, treeIndexOf);
  }

  private node(treeIndex: number): Uint8Array {
    return this.nodes.subarray(treeIndex * 32, treeIndex * 32 + 32);
  }

  get rootBytes(): Uint8Array {
    return this.node(0).slice();
  }

  get root(): Hex {
    return toHex(this.node(0));
  }

  /** Slot of the input's leaf in the array-form tree. */
  treeIndex(inputIndex: number): number {
    this.checkIndex(inputIndex);
    return this.treeIndexOf[inputIndex];
  }

  leafHash(inputIndex: number): Hex {
    return toHex(this.node(this.treeIndex(inputIndex)));
  }

  /** Input index of a leaf hash, or `undefined` if it is not in the tree. */
  indexOfLeaf(leafHash: Uint8Array | string): number | undefined {
    if (this.lookup === undefined) {
      this.lookup = new Map();
      for (let i = 0; i < this.length; i++) {
        const hex = this.leafHash(i);
        if (!this.lookup.has(hex)) this.lookup.set(hex, i);
      }
    }
    const hex = typeof leafHash === "string" ? leafHash.toLowerCase() : toHex(leafHash);
    return this.lookup.get(hex);
  }

  /** Sibling hashes from the leaf up to the root, exactly as `StandardMerkleTree.getProof` returns them. */
  getProof(inputIndex: number): Hex[] {
    let i = this.treeIndex(inputIndex);
    const proof: Hex[] = [];
    while (i > 0) {
      const sibling = i % 2 === 1 ? i + 1 : i - 1;
      proof.push(toHex(this.node(sibling)));
      i = (i - 1) >> 1;
    }
    return proof;
  }

  /** Leaf hashes in strictly ascending order (the order `settleBatch` wants), with duplicates kept. */
  sortedLeafHashes(): Hex[] {
    const out: Hex[] = [];
    const size = 2 * this.length - 1;
    for (let k = 0; k < this.length; k++) out.push(toHex(this.node(size - 1 - k)));
    return out;
  }

  /** Every node in array order, as in `StandardMerkleTree.dump().tree`. */
  nodeHashes(): Hex[] {
    const out: Hex[] = [];
    for (let i = 0; i < 2 * this.length - 1; i++) out.push(toHex(this.node(i)));
    return out;
  }

  private checkIndex(inputIndex: number): void {
    if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= this.length) {
      throw new AitbcError("MERKLE_INDEX_OUT_OF_RANGE", `leaf index ${inputIndex} is not in [0, ${this.length})`);
    }
  }
}

/** The root a proof leads to from a leaf hash (`MerkleProof.processProof`). */
export function processProof(leafHash: Uint8Array | string, proof: readonly (Uint8Array | string)[]): Hex {
  let node = toLeafBytes(leafHash, 0);
  proof.forEach((sibling, i) => {
    node = hashPair(node, toLeafBytes(sibling, i));
  });
  return toHex(node);
}

/**
 * Checks a proof for a leaf hash. Low level: the caller must have computed `leafHash` from a value itself (see
 * {@link verifyReceiptLeafProof}); a bare 32-byte "leaf" from an untrusted party could be an internal node.
 */
export function verifyProof(root: Uint8Array | string, leafHash: Uint8Array | string, proof: readonly (Uint8Array | string)[]): boolean {
  try {
    return processProof(leafHash, proof) === toHex(toLeafBytes(root, 0));
  } catch {
    return false;
  }
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

// ───────────────────────────── receipt trees, proofs as JSON, settlement order ─────────────────────────────

/** A tree over receipt leaves that remembers the values, so it can export proofs and OpenZeppelin dumps. */
export class ReceiptMerkleTree {
  readonly tree: MerkleTree;
  readonly values: readonly ReceiptLeafValue[];

  private constructor(tree: MerkleTree, values: readonly ReceiptLeafValue[]) {
    this.tree = tree;
    this.values = values;
  }

  static of(values: readonly ReceiptLeafValue[]): ReceiptMerkleTree {
    return new ReceiptMerkleTree(MerkleTree.fromLeafHashes(receiptLeafHashesFlat(values)), [...values]);
  }

  get root(): Hex {
    return this.tree.root;
  }

  getProof(inputIndex: number): Hex[] {
    return this.tree.getProof(inputIndex);
  }

  /** Proofs for the chosen inputs (all by default) in the `aitbc-receipt-proofs-v1` JSON format. */
  exportProofs(inputIndices?: readonly number[]): ReceiptProofBundle {
    const indices = inputIndices ?? this.values.map((_, i) => i);
    return {
      format: RECEIPT_PROOFS_FORMAT,
      leafEncoding: [...RECEIPT_LEAF_ENCODING],
      root: this.root,
      items: indices.map((i) => ({
        value: leafValueToJson(this.values[i]),
        leaf: this.tree.leafHash(i),
        proof: this.getProof(i),
      })),
    };
  }

  /** The tree in OpenZeppelin's dump format: `StandardMerkleTree.load(tree.toOzDump())` accepts it. */
  toOzDump(): { format: "standard-v1"; leafEncoding: string[]; tree: Hex[]; values: { value: string[]; treeIndex: number }[] } {
    return {
      format: "standard-v1",
      leafEncoding: [...RECEIPT_LEAF_ENCODING],
      tree: this.tree.nodeHashes(),
      values: this.values.map((value, i) => ({ value: toOzLeafValue(value), treeIndex: this.tree.treeIndex(i) })),
    };
  }
}

export const RECEIPT_PROOFS_FORMAT = "aitbc-receipt-proofs-v1";

/** A leaf value in JSON: integers as decimal strings (they exceed 2^53), addresses and hashes as lowercase hex. */
export interface ReceiptLeafValueJson {
  chainId: string;
  escrow: string;
  jobId: string;
  provider: string;
  unitsMilli: string;
  price: string;
  receiptHash: string;
}

/** Inclusion proofs of several receipts in one tree. See docs/RECEIPTS.md. */
export interface ReceiptProofBundle {
  format: typeof RECEIPT_PROOFS_FORMAT;
  leafEncoding: string[];
  root: Hex;
  items: { value: ReceiptLeafValueJson; leaf: Hex; proof: Hex[] }[];
}

export function leafValueToJson(value: ReceiptLeafValue): ReceiptLeafValueJson {
  return {
    chainId: value.chainId.toString(),
    escrow: value.escrow.toLowerCase(),
    jobId: value.jobId.toString(),
    provider: value.provider.toLowerCase(),
    unitsMilli: value.unitsMilli.toString(),
    price: value.price.toString(),
    receiptHash: value.receiptHash.toLowerCase(),
  };
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const HEX32 = /^0x[0-9a-f]{64}$/;

function bundleError(message: string, details?: Record<string, unknown>): AitbcError {
  return new AitbcError("MERKLE_PROOF_FORMAT", message, { details, hint: `expected the ${RECEIPT_PROOFS_FORMAT} format described in docs/RECEIPTS.md` });
}

export function leafValueFromJson(json: unknown): ReceiptLeafValue {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bundleError("leaf value must be an object");
  const o = json as Record<string, unknown>;
  const decimal = (field: string): bigint => {
    const v = o[field];
    if (typeof v !== "string" || !DECIMAL.test(v)) throw bundleError(`value.${field} must be a decimal string`, { field });
    return BigInt(v);
  };
  const hex = (field: string, pattern: RegExp): string => {
    const v = o[field];
    if (typeof v !== "string" || !pattern.test(v)) throw bundleError(`value.${field} must be lowercase 0x hex`, { field });
    return v;
  };
  const value: ReceiptLeafValue = {
    chainId: decimal("chainId"),
    escrow: hex("escrow", /^0x[0-9a-f]{40}$/),
    jobId: decimal("jobId"),
    provider: hex("provider", /^0x[0-9a-f]{40}$/),
    unitsMilli: decimal("unitsMilli"),
    price: decimal("price"),
    receiptHash: hex("receiptHash", HEX32),
  };
  encodeReceiptLeaf(value); // range checks
  return value;
}

/**
 * Reads an `aitbc-receipt-proofs-v1` document (parsed JSON), recomputes every leaf from its value and checks every
 * proof against the root. Returns the items with decoded values.
 *
 * @throws {AitbcError} `MERKLE_PROOF_FORMAT` when the document is malformed, `MERKLE_PROOF_INVALID` when a leaf does
 *   not match its value or a proof does not lead to the root.
 */
export function importProofBundle(json: unknown): { root: Hex; items: { value: ReceiptLeafValue; leaf: Hex; proof: Hex[] }[] } {
  if (typeof json !== "object" || json === null) throw bundleError("proof bundle must be an object");
  const doc = json as Record<string, unknown>;
  if (doc.format !== RECEIPT_PROOFS_FORMAT) throw bundleError(`unknown format ${JSON.stringify(doc.format)}`);
  if (!Array.isArray(doc.leafEncoding) || doc.leafEncoding.join(",") !== RECEIPT_LEAF_ENCODING.join(",")) {
    throw bundleError("leafEncoding does not match the receipt leaf");
  }
  if (typeof doc.root !== "string" || !HEX32.test(doc.root)) throw bundleError("root must be lowercase 0x hex of 32 bytes");
  if (!Array.isArray(doc.items)) throw bundleError("items must be an array");
  const root = doc.root as Hex;
  const items = doc.items.map((raw: unknown, index: number) => {
    if (typeof raw !== "object" || raw === null) throw bundleError(`item ${index} must be an object`, { index });
    const item = raw as Record<string, unknown>;
    const value = leafValueFromJson(item.value);
    const proof = item.proof;
    if (!Array.isArray(proof) || !proof.every((p): p is Hex => typeof p === "string" && HEX32.test(p))) {
      throw bundleError(`item ${index}: proof must be an array of lowercase 0x hashes`, { index });
    }
    const leaf = receiptLeafHash(value);
    if (item.leaf !== leaf) throw new AitbcError("MERKLE_PROOF_INVALID", `item ${index}: leaf does not match its value`, { details: { index } });
    if (!verifyProof(root, leaf, proof)) {
      throw new AitbcError("MERKLE_PROOF_INVALID", `item ${index}: proof does not lead to root ${root}`, { details: { index } });
    }
    return { value, leaf, proof: [...proof] };
  });
  return { root, items };
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
