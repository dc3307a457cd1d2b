/**
 * Merkle trees identical to `@openzeppelin/merkle-tree`'s `StandardMerkleTree` (same roots, same proofs, same dumps)
 * but built with a plain keccak loop over one flat buffer, so a million leaves take seconds instead of minutes. This
 * module is the tree only; what a receipt leaf is lives in `receipts/leaf.ts`.
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
import { keccak256_32, keccak256Into, keccak256SortedPair } from "./keccak.js";
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
