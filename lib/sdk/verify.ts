/**
 * Verification against the chain: the receipt's signature with the key its provider registered in
 * `ProviderRegistry` (never the key inside the receipt), and that it was settled as signed — its leaf is the record
 * its provider settled for the job, in that job's settlement batch ({@link checkSettledReceipt}). A plain anchor
 * never makes a receipt valid.
 */
import type { Provider } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { leafValueToJson, RECEIPT_PROOFS_FORMAT, type ReceiptProofBundle } from "../receipts/proof-bundle.js";
import { RECEIPT_LEAF_ENCODING, type ReceiptLeafValue, verifyReceiptLeafProof } from "../receipts/leaf.js";
import type { Hex } from "../merkle.js";
import { nodeBackend } from "../node/ed25519-node.js";
import { verifyReceipt, type ReceiptErrorCode, type ReceiptFields } from "../receipts/receipt.js";
import { receiptTrustedKey } from "./key-history.js";
import { connectMarket, providerEntry } from "./market.js";
import { checkSettledReceipt, type SettlementCheck, type SettlementFailureCode } from "./settled-receipt.js";

const ZERO_KEY = `0x${"0".repeat(64)}`;

/**
 * An inclusion proof: one proof for the receipt's leaf, or a set of leaves with their proofs under one root (the
 * `aitbc-receipt-proofs-v1` bundle after `importProofBundle`), from which the receipt's leaf is picked.
 */
export type InclusionProof = { root: string; proof: readonly string[] } | { root: string; items: readonly { leaf: string; proof: readonly string[] }[] };

export type OnChainVerification =
  | {
      valid: true;
      receiptHash: string;
      leaf: string;
      fields: ReceiptFields;
      /** base64url key the receipt was signed with: the provider's registered key. */
      keyId: string;
      anchored: { root: string; batchId: bigint };
      /** The settlement checks, in order (see {@link checkSettledReceipt}). */
      checks: SettlementCheck[];
    }
  | {
      valid: false;
      /**
       * A receipt refusal code; `NOT_ANCHORED` when no proof was given or the root is not anchored,
       * `PLAIN_ANCHOR_ONLY` when the root is only a plain anchor, `NOT_SETTLED_AS_SIGNED` when the settlement does not
       * hold this job's record as the receipt states it.
       */
      code: ReceiptErrorCode | SettlementFailureCode;
      reason: string;
      /** When the receipt itself could be read. */
      receiptHash?: string;
      /** The settlement checks that ran, when the receipt got that far. */
      checks?: SettlementCheck[];
    };

function pickProof(proof: InclusionProof, leaf: string): readonly string[] | undefined {
  if ("proof" in proof) return proof.proof;
  return proof.items.find((i) => i.leaf === leaf)?.proof;
}

/**
 * Verifies a receipt (the JSON text as served, or its UTF-8 bytes) against `deployment`: chain id and escrow, the
 * provider's key registered on-chain, the receipt's inclusion proof off-chain, that the root is anchored in the
 * escrow, and that the escrow itself accepts the proof. Never throws for a bad receipt: the verdict carries a stable
 * `code`; only transport failures throw.
 */
export async function verifyReceiptOnChain(provider: Provider, deployment: Deployment, receipt: string | Uint8Array, proof?: InclusionProof): Promise<OnChainVerification> {
  const m = connectMarket(deployment, provider);
  const bound = { expectedChainId: BigInt(deployment.chainId), expectedEscrow: m.addresses.escrow, backend: nodeBackend };
  // The first pass only reads the fields (which provider to look up); nothing is trusted yet.
  const peek = verifyReceipt(receipt, { ...bound, allowUntrustedKey: true });
  if (!peek.valid) return { valid: false, code: peek.code, reason: peek.reason };
  const entry = await providerEntry(m.providers, peek.fields.provider);
  if (!entry.registered || entry.receiptKey === ZERO_KEY) {
    return { valid: false, code: "KEY_NOT_TRUSTED", reason: `provider ${peek.fields.provider} has no receipt key registered on-chain`, receiptHash: peek.receiptHash };
  }
  if (proof === undefined) return { valid: false, code: "NOT_ANCHORED", reason: "no inclusion proof was given", receiptHash: peek.receiptHash };
  const path = pickProof(proof, peek.leaf);
  if (path === undefined) return { valid: false, code: "MERKLE_PROOF_INVALID", reason: "the proof does not cover this receipt's leaf", receiptHash: peek.receiptHash };
  const trustedKey = await receiptTrustedKey(m.providers, peek.fields, entry.receiptKey);
  const result = verifyReceipt(receipt, { ...bound, trustedKey, proof: { root: proof.root, proof: path } });
  if (!result.valid) return { valid: false, code: result.code, reason: result.reason, receiptHash: peek.receiptHash };
  const f = result.fields;
  const inclusion = await verifyInclusion(provider, deployment, {
    root: proof.root,
    proof: path,
    leaf: { chainId: f.chainId, escrow: f.escrow, jobId: f.jobId, provider: f.provider, unitsMilli: f.unitsMilli, price: f.priceBase, receiptHash: result.receiptHash },
  });
  if (!inclusion.included) {
    return { valid: false, code: inclusion.code, reason: inclusion.reason, receiptHash: result.receiptHash, checks: inclusion.checks };
  }
  return {
    valid: true,
    receiptHash: result.receiptHash,
    leaf: result.leaf,
    fields: f,
    keyId: result.keyId,
    anchored: { root: proof.root, batchId: inclusion.batchId },
    checks: inclusion.checks,
  };
}

export type InclusionCheck =
  | { included: true; batchId: bigint; checks: SettlementCheck[] }
  | { included: false; code: SettlementFailureCode; reason: string; checks: SettlementCheck[] };

/**
 * Checks that `leaf` was settled as signed on the deployment's escrow: the proof leads from it to `root`, `root` is
 * the settlement root of the batch in which the leaf's provider settled the leaf's job, with the leaf's units and
 * price, and `JobEscrow.verifyReceiptInclusion` agrees ({@link checkSettledReceipt}, whose ordered checks are returned).
 */
export async function verifyInclusion(
  provider: Provider,
  deployment: Deployment,
  input: { root: string; leaf: ReceiptLeafValue; proof: readonly string[] },
): Promise<InclusionCheck> {
  const m = connectMarket(deployment, provider);
  const verdict = await checkSettledReceipt(m.escrow, { chainId: BigInt(deployment.chainId), escrowAddress: m.addresses.escrow }, input);
  if (verdict.valid) return { included: true, batchId: verdict.batchId, checks: verdict.checks };
  return { included: false, code: verdict.code, reason: verdict.reason, checks: verdict.checks };
}

/**
 * The `aitbc-receipt-proofs-v1` document (docs/RECEIPTS.md) for one receipt and its proof: what `receipt:verify`
 * reads from `<receipt>.proof.json`, and what {@link importProofBundle} checks offline.
 *
 * @throws {AitbcError} `RECEIPT_INVALID` when the receipt cannot be read, `MERKLE_PROOF_INVALID` when the proof does
 *   not lead from its leaf to `root`.
 */
export function receiptProofBundle(receipt: string | Uint8Array, root: string, proof: readonly string[]): ReceiptProofBundle {
  // Only the leaf is needed; the signature is checked by whoever trusts the bundle, against the registered key.
  const read = verifyReceipt(receipt, { allowUntrustedKey: true, backend: nodeBackend });
  if (!read.valid) throw new AitbcError("RECEIPT_INVALID", `the receipt cannot be read: ${read.reason}`, { details: { code: read.code } });
  const f = read.fields;
  const value: ReceiptLeafValue = { chainId: f.chainId, escrow: f.escrow, jobId: f.jobId, provider: f.provider, unitsMilli: f.unitsMilli, price: f.priceBase, receiptHash: read.receiptHash };
  if (!verifyReceiptLeafProof(root, value, proof)) {
    throw new AitbcError("MERKLE_PROOF_INVALID", `the proof does not lead from the receipt's leaf to root ${root}`);
  }
  return {
    format: RECEIPT_PROOFS_FORMAT,
    leafEncoding: [...RECEIPT_LEAF_ENCODING],
    root: root.toLowerCase() as Hex,
    items: [{ value: leafValueToJson(value), leaf: read.leaf, proof: proof.map((p) => p.toLowerCase() as Hex) }],
  };
}
