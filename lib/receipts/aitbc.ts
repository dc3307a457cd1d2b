/**
 * The two layers of receipt verification.
 *
 * 1. **AITBC signature** ({@link verifyAitbcSignature}): what the reference signer guarantees for any receipt in the
 *    AITBC format, whoever made it — the Ed25519 signature over the canonical bytes of the receipt without `signature`
 *    and `attestations`. No field is required but `signature`; any fields, nesting, integers of any size, Python float
 *    reprs and Unicode are signed as they are. Strict RFC 8032 (canonical `S`, canonical and not small-order keys).
 * 2. **Settlement profile** (`verifyReceipt` in `receipt.ts`): this project's fields on top (`version` 1, `chain_id`,
 *    `escrow`, `job_id`, `units_milli`, `price_base`, hashes, and their consistency), which on-chain settlement needs.
 *
 * {@link verifyReceiptLayers} runs both and says which passed. The profile is checked when a receipt claims it (an
 * integer `version`, as only this project writes) or when the caller requires it (on-chain checks); a receipt of the
 * reference coordinator (`"version": "1.0"`) or of the payments guide (no `version`) is "not a settlement receipt",
 * which is not a failure unless the profile is required.
 *
 * Attestations (coordinator signatures over the same bytes, in an `attestations` array) are checked by
 * {@link verifyAttestations} against the keys the caller trusts for them.
 *
 * Pure and browser-safe; never throws for a bad receipt.
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { JsonNumber, JsonParseError, parseJson, type JsonObject, type JsonValue } from "./canonical.js";
import { checkPublicKeyEncoding, nobleBackend, verifyEd25519, type Ed25519Backend } from "./ed25519.js";
import { base64UrlDecode, bytesEqual, toHex } from "./encoding.js";
import {
  canonicalBytes,
  parsePublicKey,
  RECEIPT_SIGNATURE_ALG,
  RECEIPT_VERSION,
  checkSettlementProfile,
  verifyReceipt,
  type KeyInput,
  type ReceiptErrorCode,
  type ReceiptFields,
} from "./receipt.js";

/** Codes of the attestation layer, on top of the receipt codes each attestation can fail with. */
export type AttestationErrorCode = "ATTESTATIONS_MISSING" | "ATTESTATIONS_MALFORMED" | "ATTESTATION_NOT_VERIFIED";

export type LayerFailure = { code: ReceiptErrorCode | AttestationErrorCode; reason: string; field?: string };

export type AitbcSignatureVerification =
  | {
      valid: true;
      /** SHA-256 of the canonical bytes, `0x` + 64 hex. */
      receiptHash: `0x${string}`;
      keyId: string;
      /** `false` when the key was taken from the receipt itself (integrity only). */
      keyTrusted: boolean;
      /** The signed bytes (also what attestations sign). */
      message: Uint8Array;
      document: JsonObject;
    }
  | ({ valid: false; document?: JsonObject } & LayerFailure);

export interface AitbcSignatureOptions {
  /** Keys trusted for the receipt's signer (raw bytes, base64url `key_id` or `0x` hex). */
  trustedKey?: KeyInput | readonly KeyInput[];
  /** Accept the key named in the receipt when no `trustedKey` is given: integrity only, the signer is unknown. */
  allowUntrustedKey?: boolean;
  backend?: Ed25519Backend;
}

class LayerRefusal {
  constructor(readonly failure: LayerFailure) {}
}

function refuse(code: LayerFailure["code"], reason: string, field?: string): never {
  throw new LayerRefusal(field === undefined ? { code, reason } : { code, reason, field });
}

function readDocument(input: string | Uint8Array | JsonObject): JsonObject {
  const doc: JsonValue = input instanceof Map ? input : parseJson(input);
  if (!(doc instanceof Map)) refuse("NOT_AN_OBJECT", "a receipt must be a JSON object");
  return doc;
}

function keyList(option: AitbcSignatureOptions["trustedKey"]): Uint8Array[] | undefined {
  if (option === undefined) return undefined;
  const list = typeof option === "string" || option instanceof Uint8Array ? [option] : option;
  return list.map(parsePublicKey).filter((k): k is Uint8Array => k !== undefined);
}

/** `{ alg, key_id, sig }` as the reference signer writes it, decoded and checked for form (not yet for validity). */
function readSignatureObject(value: JsonValue | undefined, field: string): { keyId: string; publicKey: Uint8Array; signature: Uint8Array } {
  if (value === undefined || value === null) refuse("MISSING_FIELD", `field ${field} is missing`, field);
  if (!(value instanceof Map)) refuse("BAD_FIELD", `field ${field} must be an object { alg, key_id, sig }`, field);
  const text = (name: string): string => {
    const v = value.get(name);
    if (v === undefined || v === null) refuse("MISSING_FIELD", `field ${field}.${name} is missing`, `${field}.${name}`);
    if (typeof v !== "string") refuse("BAD_FIELD", `field ${field}.${name} must be a string`, `${field}.${name}`);
    return v;
  };
  const alg = text("alg");
  if (alg !== RECEIPT_SIGNATURE_ALG) refuse("UNSUPPORTED_ALG", `${field} algorithm ${JSON.stringify(alg)} is not supported (expected Ed25519)`, `${field}.alg`);
  const keyId = text("key_id");
  const publicKey = base64UrlDecode(keyId);
  if (publicKey === undefined) refuse("BAD_KEY_ID", `${field}.key_id is not strict base64url`, `${field}.key_id`);
  const keyCheck = checkPublicKeyEncoding(publicKey);
  if (!keyCheck.valid) refuse(keyCheck.code, keyCheck.reason, `${field}.key_id`);
  const signature = base64UrlDecode(text("sig"));
  if (signature === undefined) refuse("BAD_SIGNATURE_ENCODING", `${field}.sig is not strict base64url`, `${field}.sig`);
  return { keyId, publicKey, signature };
}

function asFailure(error: unknown): LayerFailure {
  if (error instanceof LayerRefusal) return error.failure;
  if (error instanceof JsonParseError) return { code: error.code as ReceiptErrorCode, reason: error.message };
  return { code: "INVALID_JSON", reason: `receipt could not be read: ${error instanceof Error ? error.message : String(error)}` };
}

/**
 * Layer 1: the AITBC signature of any receipt in the reference format — exactly what the reference verifier checks,
 * with strict Ed25519 and without trusting the key inside the receipt unless `allowUntrustedKey` says so.
 */
export function verifyAitbcSignature(input: string | Uint8Array | JsonObject, options: AitbcSignatureOptions = {}): AitbcSignatureVerification {
  let document: JsonObject | undefined;
  try {
    document = readDocument(input);
    const { keyId, publicKey, signature } = readSignatureObject(document.get("signature"), "signature");
    const trusted = keyList(options.trustedKey);
    let keyTrusted: boolean;
    if (trusted === undefined) {
      if (options.allowUntrustedKey !== true) refuse("KEY_NOT_TRUSTED", "no trusted key was given for the signer; pass the signer's key", "signature.key_id");
      keyTrusted = false;
    } else {
      if (!trusted.some((key) => bytesEqual(key, publicKey))) refuse("KEY_NOT_TRUSTED", `key ${keyId} is not a trusted key`, "signature.key_id");
      keyTrusted = true;
    }
    const message = canonicalBytes(document);
    const check = verifyEd25519(message, signature, publicKey, options.backend ?? nobleBackend);
    if (!check.valid) refuse(check.code, check.reason, "signature.sig");
    return { valid: true, receiptHash: toHex(sha256(message)), keyId, keyTrusted, message, document };
  } catch (error) {
    return document === undefined ? { valid: false, ...asFailure(error) } : { valid: false, document, ...asFailure(error) };
  }
}

export type AttestationStatus = "valid" | "invalid" | "untrusted";

export interface AttestationResult {
  index: number;
  /** The attesting key as written (empty when unreadable). */
  keyId: string;
  status: AttestationStatus;
  code?: ReceiptErrorCode;
  reason?: string;
}

export type AttestationsVerification =
  | { valid: true; results: AttestationResult[] }
  | ({ valid: false; results: AttestationResult[] } & LayerFailure);

/**
 * Checks the `attestations` array: each entry is `{ alg, key_id, sig }` over the same canonical bytes as the
 * receipt's signature. An entry by a key in `trustedKeys` must verify; entries by other keys are reported as
 * `untrusted` and not counted. Passes when at least one trusted attestation verifies and none fails.
 */
export function verifyAttestations(
  document: JsonObject,
  trustedKeys: KeyInput | readonly KeyInput[],
  backend: Ed25519Backend = nobleBackend,
): AttestationsVerification {
  const keys = keyList(trustedKeys) ?? [];
  const list = document.get("attestations");
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    return { valid: false, results: [], code: "ATTESTATIONS_MISSING", reason: "the receipt carries no attestations", field: "attestations" };
  }
  if (!Array.isArray(list)) {
    return { valid: false, results: [], code: "ATTESTATIONS_MALFORMED", reason: "field attestations must be an array of { alg, key_id, sig }", field: "attestations" };
  }
  const message = canonicalBytes(document);
  const results: AttestationResult[] = list.map((entry, index) => {
    const field = `attestations[${index}]`;
    const keyIdText = entry instanceof Map && typeof entry.get("key_id") === "string" ? (entry.get("key_id") as string) : "";
    try {
      const { keyId, publicKey, signature } = readSignatureObject(entry, field);
      if (!keys.some((key) => bytesEqual(key, publicKey))) {
        return { index, keyId, status: "untrusted", code: "KEY_NOT_TRUSTED", reason: `key ${keyId} is not a trusted attestation key (not checked)` };
      }
      const check = verifyEd25519(message, signature, publicKey, backend);
      return check.valid ? { index, keyId, status: "valid" } : { index, keyId, status: "invalid", code: check.code, reason: check.reason };
    } catch (error) {
      const failure = asFailure(error);
      return { index, keyId: keyIdText, status: "invalid", code: failure.code as ReceiptErrorCode, reason: failure.reason };
    }
  });
  const failed = results.find((r) => r.status === "invalid");
  if (failed !== undefined) {
    return { valid: false, results, code: failed.code ?? "ATTESTATION_NOT_VERIFIED", reason: `attestation ${failed.index}: ${failed.reason}`, field: `attestations[${failed.index}]` };
  }
  if (!results.some((r) => r.status === "valid")) {
    return { valid: false, results, code: "ATTESTATION_NOT_VERIFIED", reason: "no attestation is by a trusted attestation key", field: "attestations" };
  }
  return { valid: true, results };
}

/**
 * Does the receipt claim this project's settlement profile? Only this project writes `version` as a JSON integer
 * (the reference coordinator writes the string `"1.0"`, the payments guide none).
 */
export function claimsSettlementProfile(document: JsonObject): boolean {
  const version = document.get("version");
  return version instanceof JsonNumber && !version.isFloat;
}

export type LayerStatus = "pass" | "fail" | "skip";

export interface SettlementLayer {
  status: LayerStatus;
  /** Why it was skipped, or why it failed. */
  code?: ReceiptErrorCode;
  reason?: string;
  fields?: Omit<ReceiptFields, "signature">;
  leaf?: `0x${string}`;
}

export interface ReceiptLayersOptions extends AitbcSignatureOptions {
  /**
   * `"auto"` (default): check the settlement profile when the receipt claims it; `"required"`: a receipt without it
   * fails (what on-chain checks need).
   */
  settlement?: "auto" | "required";
  expectedChainId?: bigint | number;
  expectedEscrow?: string;
  /** Keys trusted for attestations; without them attestations are listed but not checked. */
  attestationKeys?: KeyInput | readonly KeyInput[];
}

export interface ReceiptLayers {
  /** Every layer that applies passed. */
  valid: boolean;
  /** The code and reason of the verdict when not valid (the profile's own order of checks for settlement receipts). */
  code?: ReceiptErrorCode | AttestationErrorCode;
  reason?: string;
  receiptHash?: `0x${string}`;
  document?: JsonObject;
  signature: AitbcSignatureVerification;
  settlement: SettlementLayer;
  /** `undefined` when no attestation keys were given. */
  attestations?: AttestationsVerification;
  /** How many entries the `attestations` array holds (0 when absent or not an array). */
  attestationCount: number;
}

/**
 * Both layers (and attestations when keys are given) for one receipt. The verdict's code, for a receipt that claims
 * the settlement profile, is the one `verifyReceipt` gives (document checks first, then key and signature), so
 * this project's receipts are refused for the same reasons as before; for other receipts it is the signature's.
 */
export function verifyReceiptLayers(input: string | Uint8Array | JsonObject, options: ReceiptLayersOptions = {}): ReceiptLayers {
  const backend = options.backend ?? nobleBackend;
  const signature = verifyAitbcSignature(input, { ...options, backend });
  const document = signature.document;
  const base = { signature, document, attestationCount: 0 } as const;
  if (document === undefined) {
    const failed = signature as Extract<AitbcSignatureVerification, { valid: false }>;
    return { ...base, valid: false, code: failed.code, reason: failed.reason, settlement: { status: "skip", reason: "the document could not be read" } };
  }
  const attestationsValue = document.get("attestations");
  const attestationCount = Array.isArray(attestationsValue) ? attestationsValue.length : 0;

  const bound = { expectedChainId: options.expectedChainId, expectedEscrow: options.expectedEscrow };
  let settlement: SettlementLayer;
  let settlementFailure: LayerFailure | undefined;
  if (claimsSettlementProfile(document) || options.settlement === "required") {
    const profile = checkSettlementProfile(document, bound);
    settlement = profile.valid ? { status: "pass", fields: profile.fields, leaf: profile.leaf } : { status: "fail", code: profile.code, reason: profile.reason };
    // When a layer fails, the verdict keeps the profile's own order of checks (document, then key and signature), so
    // that a settlement receipt is refused for the same reason whichever entry point checks it. When both pass,
    // verifyReceipt would pass too (the same checks), and is not run again.
    if (!(profile.valid && signature.valid)) {
      const r = verifyReceipt(document, {
        ...(options.trustedKey !== undefined ? { trustedKey: options.trustedKey } : {}),
        allowUntrustedKey: options.allowUntrustedKey,
        backend,
        ...bound,
      });
      if (!r.valid) settlementFailure = { code: r.code, reason: r.reason, field: r.field };
    }
  } else {
    const version = document.get("version");
    const what = version === undefined ? "it has no version" : `its version is ${version instanceof JsonNumber ? version.lexeme : JSON.stringify(version)}, not the integer ${RECEIPT_VERSION}`;
    settlement = { status: "skip", reason: `not a settlement receipt (${what}); only on-chain checks need the settlement profile` };
  }

  const attestations = options.attestationKeys === undefined ? undefined : verifyAttestations(document, options.attestationKeys, backend);
  const receiptHash = signature.valid ? signature.receiptHash : undefined;
  const verdict: LayerFailure | undefined =
    settlementFailure ?? (signature.valid ? undefined : signature) ?? (attestations !== undefined && !attestations.valid ? attestations : undefined);
  return {
    ...base,
    attestationCount,
    valid: verdict === undefined,
    ...(verdict === undefined ? {} : { code: verdict.code, reason: verdict.reason }),
    ...(receiptHash === undefined ? {} : { receiptHash }),
    settlement,
    ...(attestations === undefined ? {} : { attestations }),
  };
}
