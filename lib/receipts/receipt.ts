/**
 * AITBC receipts: building, signing, strict verification, hashing and the on-chain leaf.
 *
 * Verification never throws: every refusal is a `{ valid: false, code, reason }` with a stable code, so callers (the
 * `receipt:verify` task, the relayer API, the dashboard) can report it. Signing and building throw `AitbcError`s,
 * because their input comes from the program, not from a stranger.
 *
 * Browser-safe: the default signature back-end is the portable one; pass `nodeBackend` from `ed25519-node.ts` on a
 * server for speed.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { AitbcError } from "../errors.js";
import { encodeReceiptLeaf, receiptLeafHash, type ReceiptLeafValue, verifyReceiptLeafProof } from "./leaf.js";
import type { Hex } from "../merkle.js";
import {
  canonicalize,
  canonicalizeToBytes,
  JsonNumber,
  JsonParseError,
  parseJson,
  type CanonicalInput,
  type JsonObject,
  type JsonValue,
} from "./canonical.js";
import {
  checkPublicKeyEncoding,
  getPublicKey,
  nobleBackend,
  signEd25519,
  verifyEd25519,
  type Ed25519Backend,
  type Ed25519ErrorCode,
} from "./ed25519.js";
import { base64UrlDecode, base64UrlEncode, bytesEqual, fromHex, toHex } from "./encoding.js";

export const RECEIPT_VERSION = 1;
export const RECEIPT_SIGNATURE_ALG = "Ed25519";
export const DEFAULT_UNIT_TYPE = "gpu_seconds";

/** Fields that are never signed: the signature itself and third-party attestations added afterwards. */
export const UNSIGNED_FIELDS = ["signature", "attestations"] as const;

export interface ReceiptSignature {
  alg: string;
  /** base64url (no padding) of the raw 32-byte Ed25519 public key. */
  key_id: string;
  /** base64url (no padding) of the 64-byte signature. */
  sig: string;
}

/**
 * A receipt as JavaScript values, ready to sign or serve. Numbers are written exactly as Python writes them:
 * `units` and `price` are Python floats ({@link JsonNumber}), the other numbers ints. Extra fields are allowed and
 * are signed like any other.
 */
export interface ReceiptDocument {
  version: number;
  receipt_id: string;
  chain_id: number;
  escrow: string;
  job_id: string;
  provider: string;
  client: string;
  model: string;
  unit_type: string;
  units: JsonNumber;
  units_milli: number;
  price: JsonNumber;
  price_base: string;
  started_at: number;
  completed_at: number;
  input_hash: string;
  result_hash: string;
  signature?: ReceiptSignature;
  attestations?: CanonicalInput;
  [extra: string]: CanonicalInput | ReceiptSignature | undefined;
}

/** The fields of a verified receipt, in exact types. */
export interface ReceiptFields {
  version: number;
  receiptId: Hex;
  chainId: bigint;
  escrow: Hex;
  jobId: bigint;
  provider: Hex;
  client: Hex;
  model: string;
  unitType: string;
  units: number;
  unitsMilli: bigint;
  price: number;
  priceBase: bigint;
  startedAt: number;
  completedAt: number;
  inputHash: Hex;
  resultHash: Hex;
  signature: { alg: string; keyId: string; sig: string };
}

/** Why a receipt was refused. Stable; match on these, not on `reason`. */
export type ReceiptErrorCode =
  | "INVALID_JSON"
  | "DUPLICATE_KEY"
  | "NUMBER_NOT_CANONICAL"
  | "NOT_AN_OBJECT"
  | "MISSING_FIELD"
  | "BAD_FIELD"
  | "UNSUPPORTED_VERSION"
  | "UNSUPPORTED_ALG"
  | "BAD_KEY_ID"
  | "BAD_SIGNATURE_ENCODING"
  | "RECEIPT_ID_MISMATCH"
  | "UNITS_MISMATCH"
  | "PRICE_MISMATCH"
  | "TIME_ORDER"
  | "CHAIN_MISMATCH"
  | "ESCROW_MISMATCH"
  | "KEY_NOT_TRUSTED"
  | "MERKLE_PROOF_INVALID"
  | Ed25519ErrorCode;

export type ReceiptFailure = { valid: false; code: ReceiptErrorCode; reason: string; field?: string };

export type ReceiptVerification =
  | {
      valid: true;
      /** SHA-256 of the canonical bytes as bytes32 (`0x` + 64 hex; Python's `hexdigest()` without the prefix). */
      receiptHash: Hex;
      /** The on-chain leaf hash of the receipt. */
      leaf: Hex;
      keyId: string;
      /** `false` only when the caller allowed the key embedded in the receipt. */
      keyTrusted: boolean;
      fields: ReceiptFields;
    }
  | ReceiptFailure;

/** A public key: raw 32 bytes, a base64url `key_id`, or `0x` hex. */
export type KeyInput = Uint8Array | string;

export interface VerifyReceiptOptions {
  /**
   * The key(s) the provider is known to sign with — in production, the provider's key registered in
   * `ProviderRegistry`. A function receives the parsed fields (e.g. to look up `provider`).
   */
  trustedKey?: KeyInput | readonly KeyInput[] | ((fields: ReceiptFields) => KeyInput | readonly KeyInput[] | undefined);
  /**
   * Accept the key embedded in the receipt when no `trustedKey` is given. Proves only that the receipt was not
   * altered since whoever holds that key signed it. Off by default.
   */
  allowUntrustedKey?: boolean;
  /** Signature back-end; the portable one by default. */
  backend?: Ed25519Backend;
  expectedChainId?: bigint | number;
  expectedEscrow?: string;
  /** An inclusion proof to check against an anchored root. */
  proof?: { root: string; proof: readonly string[] };
}

const ADDRESS = /^0x[0-9a-f]{40}$/;
const HASH32 = /^0x[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT256_MAX = (1n << 256n) - 1n;

// ───────────────────────────── building and signing ─────────────────────────────

export interface BuildReceiptInput {
  chainId: number | bigint;
  escrow: string;
  jobId: number | bigint | string;
  provider: string;
  client: string;
  model: string;
  unitType?: string;
  /** Measured units in milli-units (2.5 GPU-seconds = 2500). */
  unitsMilli: number | bigint;
  /** `price = floor(unitsMilli × rate / 1000)` in token base units, computed with `lib/money/prices.ts`. */
  priceBase: bigint | string;
  /** Unix seconds. */
  startedAt: number;
  completedAt: number;
  /** keccak-256 of the prompt bytes (as `JobEscrow` emits it). */
  inputHash: string;
  /** keccak-256 of the result bytes. */
  resultHash: string;
  /** Additional fields, signed as they are. Must not collide with the standard ones. */
  extra?: Readonly<Record<string, CanonicalInput>>;
}

function inputError(field: string, message: string): AitbcError {
  return new AitbcError("RECEIPT_INPUT_INVALID", `${field}: ${message}`, { details: { field } });
}

function toBigIntStrict(field: string, value: number | bigint | string, max: bigint): bigint {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === "string" && DECIMAL.test(value)) v = BigInt(value);
  else throw inputError(field, "must be a non-negative integer");
  if (v < 0n || v > max) throw inputError(field, `must be in [0, ${max}]`);
  return v;
}

function normalizeAddress(field: string, value: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw inputError(field, "must be a 0x-prefixed 20-byte address");
  return value.toLowerCase() as Hex;
}

function normalizeHash(field: string, value: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) throw inputError(field, "must be a 0x-prefixed 32-byte hash");
  return value.toLowerCase() as Hex;
}

/** `keccak256(abi.encode(uint256 chainId, address escrow, uint256 jobId))`: one id per job and deployment. */
export function computeReceiptId(chainId: bigint | number, escrow: string, jobId: bigint | number | string): Hex {
  const buf = new Uint8Array(96);
  const words = [
    toBigIntStrict("chainId", chainId, UINT256_MAX),
    BigInt(normalizeAddress("escrow", escrow)),
    toBigIntStrict("jobId", jobId, UINT256_MAX),
  ];
  words.forEach((word, i) => buf.set(fromHex(word.toString(16).padStart(64, "0"))!, i * 32));
  return toHex(keccak_256(buf));
}

/** `value / 10^decimals`, correctly rounded to a double — what Python's `int / int` gives. */
function scaledFloat(value: bigint, decimals: number): number {
  const digits = value.toString().padStart(decimals + 1, "0");
  return Number(`${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`);
}

/** Token decimals: `price` is `price_base / 10^18`. */
export const TOKEN_DECIMALS = 18;

/** The receipt for a settled job, unsigned. Throws `RECEIPT_INPUT_INVALID` naming the bad field. */
export function buildReceipt(input: BuildReceiptInput): ReceiptDocument {
  const chainId = toBigIntStrict("chainId", input.chainId, BigInt(Number.MAX_SAFE_INTEGER));
  const unitsMilli = toBigIntStrict("unitsMilli", input.unitsMilli, BigInt(Number.MAX_SAFE_INTEGER));
  const priceBase = toBigIntStrict("priceBase", input.priceBase, UINT256_MAX);
  const jobId = toBigIntStrict("jobId", input.jobId, UINT256_MAX);
  for (const field of ["startedAt", "completedAt"] as const) {
    if (!Number.isSafeInteger(input[field]) || input[field] < 0) throw inputError(field, "must be unix seconds (a non-negative integer)");
  }
  if (input.completedAt < input.startedAt) throw inputError("completedAt", "is before startedAt");
  for (const field of ["model", "client"] as const) {
    if (typeof input[field] !== "string" || input[field].length === 0) throw inputError(field, "must be a non-empty string");
  }
  const unitType = input.unitType ?? DEFAULT_UNIT_TYPE;
  if (typeof unitType !== "string" || unitType.length === 0) throw inputError("unitType", "must be a non-empty string");
  const escrow = normalizeAddress("escrow", input.escrow);
  const doc: ReceiptDocument = {
    version: RECEIPT_VERSION,
    receipt_id: computeReceiptId(chainId, escrow, jobId),
    chain_id: Number(chainId),
    escrow,
    job_id: jobId.toString(),
    provider: normalizeAddress("provider", input.provider),
    client: normalizeAddress("client", input.client),
    model: input.model,
    unit_type: unitType,
    units: JsonNumber.float(scaledFloat(unitsMilli, 3)),
    units_milli: Number(unitsMilli),
    price: JsonNumber.float(scaledFloat(priceBase, TOKEN_DECIMALS)),
    price_base: priceBase.toString(),
    started_at: input.startedAt,
    completed_at: input.completedAt,
    input_hash: normalizeHash("inputHash", input.inputHash),
    result_hash: normalizeHash("resultHash", input.resultHash),
  };
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (key in doc || (UNSIGNED_FIELDS as readonly string[]).includes(key)) throw inputError(`extra.${key}`, "collides with a standard field");
    doc[key] = value;
  }
  return doc;
}

type ReceiptLike = ReceiptDocument | JsonObject | { readonly [key: string]: CanonicalInput | ReceiptSignature | undefined };

function withoutUnsigned(receipt: ReceiptLike): CanonicalInput {
  if (receipt instanceof Map) {
    const copy = new Map(receipt);
    for (const field of UNSIGNED_FIELDS) copy.delete(field);
    return copy;
  }
  const copy: Record<string, CanonicalInput> = { ...(receipt as Record<string, CanonicalInput>) };
  for (const field of UNSIGNED_FIELDS) delete copy[field];
  return copy;
}

/** The bytes that are signed: the receipt without `signature` and `attestations`, canonicalised. */
export function canonicalBytes(receipt: ReceiptLike): Uint8Array {
  return canonicalizeToBytes(withoutUnsigned(receipt));
}

/** SHA-256 of the canonical bytes, as bytes32. This — not the signature — identifies a receipt. */
export function receiptHash(receipt: ReceiptLike): Hex {
  return toHex(sha256(canonicalBytes(receipt)));
}

/** The receipt with `signature` set. Deterministic (Ed25519 needs no randomness). */
export function signReceipt(receipt: ReceiptDocument, secretKey: Uint8Array, backend: Ed25519Backend = nobleBackend): ReceiptDocument {
  const publicKey = getPublicKey(secretKey, backend);
  const sig = signEd25519(canonicalBytes(receipt), secretKey, backend);
  return { ...receipt, signature: { alg: RECEIPT_SIGNATURE_ALG, key_id: base64UrlEncode(publicKey), sig: base64UrlEncode(sig) } };
}

/** `key_id` of a public key: base64url without padding. */
export function keyIdOf(publicKey: Uint8Array): string {
  return base64UrlEncode(publicKey);
}

/**
 * The receipt as JSON text that any JSON reader (Python's included) reads back to the same values: compact, keys
 * sorted, Python number lexemes, ASCII only.
 */
export function serializeReceipt(receipt: ReceiptLike): string {
  return canonicalize(receipt as CanonicalInput);
}

// ───────────────────────────── verification ─────────────────────────────

function failure(code: ReceiptErrorCode, reason: string, field?: string): ReceiptFailure {
  return field === undefined ? { valid: false, code, reason } : { valid: false, code, reason, field };
}

class Refusal {
  constructor(readonly result: ReceiptFailure) {}
}

function refuse(code: ReceiptErrorCode, reason: string, field?: string): never {
  throw new Refusal(failure(code, reason, field));
}

function get(doc: JsonObject, field: string): JsonValue {
  const value = doc.get(field);
  if (value === undefined || value === null) refuse("MISSING_FIELD", `field ${field} is missing`, field);
  return value;
}

function getString(doc: JsonObject, field: string, pattern?: RegExp, what = "a string", allowEmpty = false): string {
  const value = get(doc, field);
  if (typeof value !== "string" || (pattern !== undefined && !pattern.test(value))) refuse("BAD_FIELD", `field ${field} must be ${what}`, field);
  if (value.length === 0 && !allowEmpty) refuse("BAD_FIELD", `field ${field} must not be empty`, field);
  return value;
}

function getInt(doc: JsonObject, field: string, max: bigint): bigint {
  const value = get(doc, field);
  if (!(value instanceof JsonNumber) || value.isFloat) refuse("BAD_FIELD", `field ${field} must be an integer`, field);
  const v = value.toBigInt();
  if (v < 0n || v > max) refuse("BAD_FIELD", `field ${field} is out of range [0, ${max}]`, field);
  return v;
}

function getNumber(doc: JsonObject, field: string): number {
  const value = get(doc, field);
  if (!(value instanceof JsonNumber)) refuse("BAD_FIELD", `field ${field} must be a number`, field);
  return value.toNumber();
}

function readVersion(doc: JsonObject): number {
  const version = getInt(doc, "version", UINT64_MAX);
  if (version !== BigInt(RECEIPT_VERSION)) refuse("UNSUPPORTED_VERSION", `receipt version ${version} is not supported (expected ${RECEIPT_VERSION})`, "version");
  return Number(version);
}

function readSignatureFields(doc: JsonObject): ReceiptFields["signature"] {
  const signature = get(doc, "signature");
  if (!(signature instanceof Map)) refuse("BAD_FIELD", "field signature must be an object", "signature");
  const alg = getString(signature, "alg");
  if (alg !== RECEIPT_SIGNATURE_ALG) refuse("UNSUPPORTED_ALG", `signature algorithm ${JSON.stringify(alg)} is not supported (expected Ed25519)`, "signature.alg");
  // Empty key ids and signatures are left to the decoders, which report their length precisely.
  const keyId = getString(signature, "key_id", undefined, "a string", true);
  const sig = getString(signature, "sig", undefined, "a string", true);
  return { alg, keyId, sig };
}

/** The settlement profile's fields after `version` and `signature`, in the order they are checked. */
function readProfileFields(doc: JsonObject): Omit<ReceiptFields, "version" | "signature"> {
  const fields = {
    receiptId: getString(doc, "receipt_id", HASH32, "lowercase 0x hex of 32 bytes") as Hex,
    chainId: getInt(doc, "chain_id", UINT256_MAX),
    escrow: getString(doc, "escrow", ADDRESS, "a lowercase 0x address") as Hex,
    jobId: BigInt(getString(doc, "job_id", DECIMAL, "a decimal string")),
    provider: getString(doc, "provider", ADDRESS, "a lowercase 0x address") as Hex,
    client: getString(doc, "client", ADDRESS, "a lowercase 0x address") as Hex,
    model: getString(doc, "model"),
    unitType: getString(doc, "unit_type"),
    units: getNumber(doc, "units"),
    unitsMilli: getInt(doc, "units_milli", UINT64_MAX),
    price: getNumber(doc, "price"),
    priceBase: BigInt(getString(doc, "price_base", DECIMAL, "a decimal string")),
    startedAt: Number(getInt(doc, "started_at", BigInt(Number.MAX_SAFE_INTEGER))),
    completedAt: Number(getInt(doc, "completed_at", BigInt(Number.MAX_SAFE_INTEGER))),
    inputHash: getString(doc, "input_hash", HASH32, "lowercase 0x hex of 32 bytes") as Hex,
    resultHash: getString(doc, "result_hash", HASH32, "lowercase 0x hex of 32 bytes") as Hex,
  };
  if (fields.jobId > UINT256_MAX) refuse("BAD_FIELD", "field job_id is out of range", "job_id");
  if (fields.priceBase > UINT256_MAX) refuse("BAD_FIELD", "field price_base is out of range", "price_base");
  return fields;
}

function readFields(doc: JsonObject): ReceiptFields {
  const version = readVersion(doc);
  const signature = readSignatureFields(doc);
  return { version, ...readProfileFields(doc), signature };
}

function checkConsistency(fields: Omit<ReceiptFields, "signature">): void {
  if (computeReceiptId(fields.chainId, fields.escrow, fields.jobId) !== fields.receiptId) {
    refuse("RECEIPT_ID_MISMATCH", "receipt_id is not derived from (chain_id, escrow, job_id)", "receipt_id");
  }
  if (fields.units !== scaledFloat(fields.unitsMilli, 3)) refuse("UNITS_MISMATCH", "units does not equal units_milli / 1000", "units");
  if (fields.price !== scaledFloat(fields.priceBase, TOKEN_DECIMALS)) refuse("PRICE_MISMATCH", "price does not equal price_base / 10^18", "price");
  if (fields.completedAt < fields.startedAt) refuse("TIME_ORDER", "completed_at is before started_at", "completed_at");
}

function decodeKey(key: KeyInput): Uint8Array | undefined {
  if (key instanceof Uint8Array) return key;
  if (/^0x[0-9a-fA-F]{64}$/.test(key)) return fromHex(key);
  return base64UrlDecode(key);
}

/** Reads a public key given as raw bytes, a base64url `key_id` or `0x` hex; `undefined` if it is none of them. */
export function parsePublicKey(key: KeyInput): Uint8Array | undefined {
  const bytes = decodeKey(key);
  return bytes !== undefined && bytes.length === 32 ? bytes : undefined;
}

function trustedKeys(option: VerifyReceiptOptions["trustedKey"], fields: ReceiptFields): Uint8Array[] | undefined {
  if (option === undefined) return undefined;
  const resolved = typeof option === "function" ? option(fields) : option;
  if (resolved === undefined) return [];
  const list = typeof resolved === "string" || resolved instanceof Uint8Array ? [resolved] : resolved;
  return list.map(decodeKey).filter((k): k is Uint8Array => k !== undefined);
}

function toDocument(input: string | Uint8Array | ReceiptLike): JsonValue {
  if (typeof input === "string" || input instanceof Uint8Array) return parseJson(input);
  // Objects go through their serialised form, so they meet exactly the rules a served receipt meets.
  return parseJson(canonicalize(input as CanonicalInput));
}

export type SettlementProfileCheck =
  | { valid: true; fields: Omit<ReceiptFields, "signature">; receiptHash: Hex; leaf: Hex }
  | ReceiptFailure;

function bindingChecks(fields: Pick<ReceiptFields, "chainId" | "escrow">, options: Pick<VerifyReceiptOptions, "expectedChainId" | "expectedEscrow">): void {
  if (options.expectedChainId !== undefined && fields.chainId !== BigInt(options.expectedChainId)) {
    refuse("CHAIN_MISMATCH", `receipt is for chain ${fields.chainId}, expected ${options.expectedChainId}`, "chain_id");
  }
  if (options.expectedEscrow !== undefined && fields.escrow !== options.expectedEscrow.toLowerCase()) {
    refuse("ESCROW_MISMATCH", `receipt is for escrow ${fields.escrow}, expected ${options.expectedEscrow.toLowerCase()}`, "escrow");
  }
}

/**
 * The settlement profile alone, without the signature: `version` 1, the fields settlement needs in their exact
 * forms, their consistency (`receipt_id`, `units`, `price`, times) and, when asked, the chain and escrow. The
 * signature is the other layer (`verifyAitbcSignature` in `aitbc.ts`). Never throws.
 */
export function checkSettlementProfile(
  input: string | Uint8Array | ReceiptLike,
  options: Pick<VerifyReceiptOptions, "expectedChainId" | "expectedEscrow"> = {},
): SettlementProfileCheck {
  try {
    const doc = toDocument(input);
    if (!(doc instanceof Map)) refuse("NOT_AN_OBJECT", "a receipt must be a JSON object");
    const fields = { version: readVersion(doc), ...readProfileFields(doc) };
    checkConsistency(fields);
    bindingChecks(fields, options);
    const hash = toHex(sha256(canonicalBytes(doc)));
    return { valid: true, fields, receiptHash: hash, leaf: receiptLeafHash(leafValueOf(fields, hash)) };
  } catch (error) {
    return refusalOf(error);
  }
}

/**
 * Verifies a receipt: JSON text as served (any key order, whitespace, unescaped non-ASCII), UTF-8 bytes, or a
 * document object. Never throws; on success returns the receipt hash and the typed fields.
 */
export function verifyReceipt(input: string | Uint8Array | ReceiptLike, options: VerifyReceiptOptions = {}): ReceiptVerification {
  try {
    return verifyOrRefuse(input, options);
  } catch (error) {
    return refusalOf(error);
  }
}

function refusalOf(error: unknown): ReceiptFailure {
  if (error instanceof Refusal) return error.result;
  if (error instanceof JsonParseError) return failure(error.code as ReceiptErrorCode, error.message);
  if (error instanceof AitbcError) return failure("BAD_FIELD", error.message);
  return failure("INVALID_JSON", `receipt could not be read: ${error instanceof Error ? error.message : String(error)}`);
}

function verifyOrRefuse(input: string | Uint8Array | ReceiptLike, options: VerifyReceiptOptions): ReceiptVerification {
  const doc = toDocument(input);
  if (!(doc instanceof Map)) refuse("NOT_AN_OBJECT", "a receipt must be a JSON object");
  const fields = readFields(doc);
  checkConsistency(fields);
  bindingChecks(fields, options);

  const publicKey = base64UrlDecode(fields.signature.keyId);
  if (publicKey === undefined) refuse("BAD_KEY_ID", "signature.key_id is not strict base64url", "signature.key_id");
  const keyCheck = checkPublicKeyEncoding(publicKey);
  if (!keyCheck.valid) refuse(keyCheck.code, keyCheck.reason, "signature.key_id");
  const signature = base64UrlDecode(fields.signature.sig);
  if (signature === undefined) refuse("BAD_SIGNATURE_ENCODING", "signature.sig is not strict base64url", "signature.sig");

  const trusted = trustedKeys(options.trustedKey, fields);
  let keyTrusted: boolean;
  if (trusted === undefined) {
    if (options.allowUntrustedKey !== true) {
      refuse("KEY_NOT_TRUSTED", "no trusted key was given for the provider; pass the key registered in ProviderRegistry", "signature.key_id");
    }
    keyTrusted = false;
  } else {
    if (!trusted.some((key) => bytesEqual(key, publicKey))) {
      refuse("KEY_NOT_TRUSTED", `key ${fields.signature.keyId} is not the provider's trusted key`, "signature.key_id");
    }
    keyTrusted = true;
  }

  const message = canonicalBytes(doc);
  const check = verifyEd25519(message, signature, publicKey, options.backend ?? nobleBackend);
  if (!check.valid) refuse(check.code, check.reason, "signature.sig");

  const hash = toHex(sha256(message));
  const leafValue = leafValueOf(fields, hash);
  if (options.proof !== undefined && !verifyReceiptLeafProof(options.proof.root, leafValue, options.proof.proof)) {
    refuse("MERKLE_PROOF_INVALID", `the proof does not lead from this receipt's leaf to root ${options.proof.root}`);
  }
  return { valid: true, receiptHash: hash, leaf: receiptLeafHash(leafValue), keyId: fields.signature.keyId, keyTrusted, fields };
}

function leafValueOf(fields: Omit<ReceiptFields, "signature">, hash: Hex): ReceiptLeafValue {
  return {
    chainId: fields.chainId,
    escrow: fields.escrow,
    jobId: fields.jobId,
    provider: fields.provider,
    unitsMilli: fields.unitsMilli,
    price: fields.priceBase,
    receiptHash: hash,
  };
}

/** The receipt's on-chain leaf value `(chainId, escrow, jobId, provider, unitsMilli, price, receiptHash)`. */
export function receiptLeafValue(receipt: ReceiptDocument): ReceiptLeafValue {
  const value: ReceiptLeafValue = {
    chainId: BigInt(receipt.chain_id),
    escrow: receipt.escrow,
    jobId: BigInt(receipt.job_id),
    provider: receipt.provider,
    unitsMilli: BigInt(receipt.units_milli),
    price: BigInt(receipt.price_base),
    receiptHash: receiptHash(receipt),
  };
  encodeReceiptLeaf(value);
  return value;
}

/** The receipt's on-chain leaf hash (OpenZeppelin `StandardMerkleTree` leaf). */
export function receiptLeaf(receipt: ReceiptDocument): Hex {
  return receiptLeafHash(receiptLeafValue(receipt));
}

/**
 * Keeps the first receipt of each `receipt_hash`. Signatures are not identities: the same body can carry several
 * valid signatures (another key of the provider, a re-signing), and counting those twice would pay a job twice.
 */
export function dedupeReceipts<T extends ReceiptLike>(receipts: readonly T[]): { unique: T[]; duplicates: T[] } {
  const seen = new Set<string>();
  const unique: T[] = [];
  const duplicates: T[] = [];
  for (const receipt of receipts) {
    const hash = receiptHash(receipt);
    if (seen.has(hash)) duplicates.push(receipt);
    else {
      seen.add(hash);
      unique.push(receipt);
    }
  }
  return { unique, duplicates };
}
