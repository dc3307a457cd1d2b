/**
 * Receipt trees and the `aitbc-receipt-proofs-v1` proof-file format (see docs/RECEIPTS.md): a tree over receipt
 * leaves that exports inclusion proofs as JSON, and the importer that recomputes every leaf and checks every proof.
 * Pure and browser-safe.
 */
import { AitbcError } from "../errors.js";
import { type Hex, MerkleTree, verifyProof } from "../merkle.js";
import { encodeReceiptLeaf, RECEIPT_LEAF_ENCODING, receiptLeafHash, receiptLeafHashesFlat, toOzLeafValue, type ReceiptLeafValue } from "./leaf.js";

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
