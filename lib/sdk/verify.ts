/**
 * Verification against the chain: the receipt's signature with the key its provider registered in
 * `ProviderRegistry` (never the key inside the receipt), and that it was settled as signed — its leaf is the record
 * its provider settled for the job, in that job's settlement batch ({@link checkSettledReceipt}). A plain anchor
 * never makes a receipt valid.
 *
 * This is the one on-chain verification of a receipt: the SDK, the CLI (`receipt:verify --onchain`), the dashboard
 * and the demo call {@link verifyReceiptOnChain} and show the steps it returns, in its order. Browser-safe: the
 * signature back-end is the portable one unless the caller passes another (Node callers pass `nodeBackend`).
 */
import type { Provider } from "ethers";

import { contractAddress, type Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import type { Hex } from "../merkle.js";
import { parseJson, type JsonObject } from "../receipts/canonical.js";
import type { Ed25519Backend } from "../receipts/ed25519.js";
import { base64UrlEncode, fromHex } from "../receipts/encoding.js";
import { RECEIPT_LEAF_ENCODING, verifyReceiptLeafProof, type ReceiptLeafValue } from "../receipts/leaf.js";
import { leafValueToJson, RECEIPT_PROOFS_FORMAT, type ReceiptProofBundle } from "../receipts/proof-bundle.js";
import { checkSettlementProfile, verifyReceipt, type ReceiptErrorCode, type ReceiptFields } from "../receipts/receipt.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { receiptTrustedKey } from "./key-history.js";
import { checkSettledReceipt, type SettlementCheck, type SettlementFailureCode } from "./settled-receipt.js";

const ZERO_KEY = `0x${"0".repeat(64)}`;

/**
 * An inclusion proof: one proof for the receipt's leaf, or a set of leaves with their proofs under one root (the
 * `aitbc-receipt-proofs-v1` bundle after `importProofBundle`), from which the receipt's leaf is picked.
 */
export type InclusionProof = { root: string; proof: readonly string[] } | { root: string; items: readonly { leaf: string; proof: readonly string[] }[] };

/** The steps of {@link verifyReceiptOnChain}, in the order they run. */
export const VERIFICATION_STEPS = ["document", "key", "signature", "anchor", "inclusion"] as const;
export type VerificationStepId = (typeof VERIFICATION_STEPS)[number];

/** One step of an on-chain verification; `code` is set when it failed. */
export interface VerificationStep {
  id: VerificationStepId;
  title: string;
  status: "pass" | "fail" | "skip";
  detail: string;
  code?: ReceiptErrorCode | SettlementFailureCode;
}

const TITLES: Record<VerificationStepId, string> = {
  document: "Receipt is well formed and bound to this deployment",
  key: "Signing key is the provider's key registered on-chain",
  signature: "Ed25519 signature is valid under the registered key",
  anchor: "Merkle root is a settlement root on-chain",
  inclusion: "Receipt was settled as signed under that root",
};

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
      /** Every step, in order; all passed. */
      steps: VerificationStep[];
    }
  | {
      valid: false;
      /**
       * The code of the first step that failed: a receipt refusal code; `KEY_NOT_TRUSTED` when the provider has no
       * registered key or another one; `NOT_ANCHORED` when no proof was given or the root is not anchored,
       * `PLAIN_ANCHOR_ONLY` when the root is only a plain anchor, `NOT_SETTLED_AS_SIGNED` when the settlement does
       * not hold this job's record as the receipt states it.
       */
      code: ReceiptErrorCode | SettlementFailureCode;
      reason: string;
      /** When the receipt itself could be read. */
      receiptHash?: string;
      /** The settlement checks that ran, when the receipt got that far. */
      checks?: SettlementCheck[];
      /** Every step, in order, with why each failed or was not checked. */
      steps: VerificationStep[];
    };

export interface VerifyOnChainOptions {
  /** Ed25519 back-end; the portable one by default (Node callers pass `nodeBackend`, ten times faster). */
  backend?: Ed25519Backend;
  /** What to say when no proof is given (where the caller looked for one). */
  noProofReason?: string;
}

function pickProof(proof: InclusionProof, leaf: string): readonly string[] | undefined {
  if ("proof" in proof) return proof.proof;
  return proof.items.find((i) => i.leaf === leaf)?.proof;
}

/** Refusals of the document itself (as opposed to its key or signature). */
const DOCUMENT_CODES: ReadonlySet<string> = new Set([
  "INVALID_JSON",
  "DUPLICATE_KEY",
  "NUMBER_NOT_CANONICAL",
  "NOT_AN_OBJECT",
  "MISSING_FIELD",
  "BAD_FIELD",
  "UNSUPPORTED_VERSION",
  "UNSUPPORTED_ALG",
  "RECEIPT_ID_MISMATCH",
  "UNITS_MISMATCH",
  "PRICE_MISMATCH",
  "TIME_ORDER",
  "CHAIN_MISMATCH",
  "ESCROW_MISMATCH",
]);

/** `signature.key_id` as the receipt names it, without trusting anything else in it. */
function namedKeyId(receipt: string | Uint8Array | JsonObject): string | undefined {
  try {
    const doc = receipt instanceof Map ? receipt : parseJson(receipt);
    const signature = doc instanceof Map ? doc.get("signature") : undefined;
    const keyId = signature instanceof Map ? signature.get("key_id") : undefined;
    return typeof keyId === "string" ? keyId : undefined;
  } catch {
    return undefined;
  }
}

/** The settlement checks shown as two steps: the root (`settlement-root`, `batch-provider`) and the record (the rest). */
const ROOT_CHECKS = new Set(["settlement-root", "batch-provider"]);

/**
 * Verifies a receipt (the JSON text as served, its UTF-8 bytes, or the document parsed with its lexemes) against
 * `deployment`, in five steps: the document is well formed and bound to this chain and escrow; its key is the
 * provider's key registered on-chain (or was, when the receipt was signed); the Ed25519 signature holds under that
 * key; the proof's root is this provider's settlement root; and the receipt is the record settled for its job in that
 * batch, which `JobEscrow.verifyReceiptInclusion` confirms. Every step runs that can (a bad signature does not hide
 * what the chain says about the root); the verdict is the first failure. Never throws for a bad receipt: the verdict
 * carries a stable `code`; only transport failures throw.
 *
 * @throws {AitbcError} `CONTRACT_NOT_DEPLOYED` for a deployment without the marketplace.
 */
export async function verifyReceiptOnChain(
  provider: Provider,
  deployment: Deployment,
  receipt: string | Uint8Array | JsonObject,
  proof?: InclusionProof,
  options: VerifyOnChainOptions = {},
): Promise<OnChainVerification> {
  const escrowAddress = contractAddress(deployment, "JobEscrow");
  const providers = IProviderRegistry__factory.connect(contractAddress(deployment, "ProviderRegistry"), provider);
  const escrow = IJobEscrow__factory.connect(escrowAddress, provider);
  const steps: VerificationStep[] = [];
  const step = (id: VerificationStepId, status: VerificationStep["status"], detail: string, code?: VerificationStep["code"]) =>
    steps.push({ id, title: TITLES[id], status, detail, ...(code === undefined ? {} : { code }) });
  const skipRest = (why: string) => {
    for (const id of VERIFICATION_STEPS.slice(steps.length)) step(id, "skip", `not checked: ${why}`);
  };

  const bound = { expectedChainId: BigInt(deployment.chainId), expectedEscrow: escrowAddress };
  // Read without trusting anything yet: a signature that fails here is reported at the signature step.
  const peek = verifyReceipt(receipt, { ...bound, allowUntrustedKey: true, backend: options.backend });
  const profile = checkSettlementProfile(receipt, bound);
  const unreadable = !profile.valid ? profile : !peek.valid && DOCUMENT_CODES.has(peek.code) ? peek : undefined;
  if (unreadable !== undefined || !profile.valid) {
    const failure = unreadable ?? { code: "INVALID_JSON" as const, reason: "the receipt cannot be read" };
    step("document", "fail", failure.reason, failure.code);
    skipRest("the document is invalid");
    return verdictOf(steps);
  }
  const f = profile.fields;
  step("document", "pass", `chain ${f.chainId}, escrow ${f.escrow}, job ${f.jobId}`);

  const entry = await providers.getFunction("provider")(f.provider);
  const named = namedKeyId(receipt);
  let trustedKey: string | undefined;
  if (!entry.registered) step("key", "fail", `provider ${f.provider} is not registered in ProviderRegistry`, "KEY_NOT_TRUSTED");
  else if (entry.receiptKey === ZERO_KEY) step("key", "fail", `provider ${f.provider} has no receipt key registered on-chain`, "KEY_NOT_TRUSTED");
  else {
    const key = await receiptTrustedKey(providers, { provider: f.provider, completedAt: f.completedAt, signature: { alg: "", keyId: named ?? "", sig: "" } }, entry.receiptKey);
    const keyId = base64UrlEncode(fromHex(key) ?? new Uint8Array());
    if (named !== keyId) step("key", "fail", `the receipt names key ${named || "(none)"}, ProviderRegistry holds ${keyId} for ${f.provider}`, "KEY_NOT_TRUSTED");
    else {
      trustedKey = key;
      step("key", "pass", `${keyId} (ProviderRegistry, provider ${f.provider})`);
    }
  }

  let signed: Extract<ReturnType<typeof verifyReceipt>, { valid: true }> | undefined;
  if (trustedKey === undefined) step("signature", "skip", "not checked: no trusted key");
  else {
    const result = verifyReceipt(receipt, { ...bound, trustedKey, backend: options.backend });
    if (result.valid) {
      signed = result;
      step("signature", "pass", `receipt hash ${result.receiptHash}`);
    } else step("signature", "fail", result.reason, result.code);
  }

  if (proof === undefined) {
    step("anchor", "fail", options.noProofReason ?? "no inclusion proof was given", "NOT_ANCHORED");
    step("inclusion", "skip", "not checked: no anchored root");
    return verdictOf(steps, profile.receiptHash);
  }
  const path = pickProof(proof, profile.leaf);
  if (path === undefined) {
    step("anchor", "skip", "not checked: the proof does not cover this receipt");
    step("inclusion", "fail", "the proof does not cover this receipt's leaf", "MERKLE_PROOF_INVALID");
    return verdictOf(steps, profile.receiptHash);
  }
  const leaf: ReceiptLeafValue = { chainId: f.chainId, escrow: f.escrow, jobId: f.jobId, provider: f.provider, unitsMilli: f.unitsMilli, price: f.priceBase, receiptHash: profile.receiptHash };
  const settled = await checkSettledReceipt(escrow, { chainId: bound.expectedChainId, escrowAddress }, { root: proof.root, leaf, proof: path });
  const code = settled.valid ? undefined : settled.code;
  const rootChecks = settled.checks.filter((c) => ROOT_CHECKS.has(c.id));
  const recordChecks = settled.checks.filter((c) => !ROOT_CHECKS.has(c.id));
  const rootFailed = rootChecks.find((c) => !c.ok);
  const recordFailed = recordChecks.find((c) => !c.ok);
  if (rootChecks.length === 0) step("anchor", "skip", "not checked: the leaf is bound to another chain or escrow");
  else if (rootFailed !== undefined) step("anchor", "fail", rootFailed.detail, code);
  else step("anchor", "pass", rootChecks.map((c) => c.detail).join("; "));
  if (recordFailed !== undefined) step("inclusion", "fail", recordFailed.detail, code);
  else if (rootFailed !== undefined) step("inclusion", "skip", "not checked: the root is not this provider's settlement");
  else step("inclusion", "pass", `leaf ${profile.leaf}: ${recordChecks.map((c) => c.detail).join("; ")}`);

  if (!settled.valid || signed === undefined) return { ...verdictOf(steps, profile.receiptHash), checks: settled.checks };
  return {
    valid: true,
    receiptHash: signed.receiptHash,
    leaf: signed.leaf,
    fields: signed.fields,
    keyId: signed.keyId,
    anchored: { root: proof.root, batchId: settled.batchId },
    checks: settled.checks,
    steps,
  };
}

/** The failed verdict: the first step that failed. */
function verdictOf(steps: VerificationStep[], receiptHash?: string): Extract<OnChainVerification, { valid: false }> {
  const failed = steps.find((s) => s.status === "fail") as VerificationStep & { code: NonNullable<VerificationStep["code"]> };
  return { valid: false, code: failed.code, reason: failed.detail, ...(receiptHash === undefined ? {} : { receiptHash }), steps };
}

export type InclusionCheck =
  | { included: true; batchId: bigint; checks: SettlementCheck[] }
  | { included: false; code: SettlementFailureCode; reason: string; checks: SettlementCheck[] };

/**
 * Checks that `leaf` was settled as signed on the deployment's escrow: the proof leads from it to `root`, `root` is
 * the settlement root of the batch in which the leaf's provider settled the leaf's job, with the leaf's units and
 * price, and `JobEscrow.verifyReceiptInclusion` agrees ({@link checkSettledReceipt}, whose ordered checks are returned).
 *
 * @throws {AitbcError} `CONTRACT_NOT_DEPLOYED` for a deployment without the marketplace.
 */
export async function verifyInclusion(
  provider: Provider,
  deployment: Deployment,
  input: { root: string; leaf: ReceiptLeafValue; proof: readonly string[] },
): Promise<InclusionCheck> {
  const escrowAddress = contractAddress(deployment, "JobEscrow");
  const escrow = IJobEscrow__factory.connect(escrowAddress, provider);
  const verdict = await checkSettledReceipt(escrow, { chainId: BigInt(deployment.chainId), escrowAddress }, input);
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
  const read = verifyReceipt(receipt, { allowUntrustedKey: true });
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
