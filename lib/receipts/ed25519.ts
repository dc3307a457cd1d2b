/**
 * Strict Ed25519 for receipts: one rule set, several back-ends.
 *
 * The rules (RFC 8032 verification with the ambiguities closed):
 * - signature exactly 64 bytes, public key exactly 32 bytes;
 * - `S < L` (no malleable signatures);
 * - `R` and `A` canonically encoded: `y < p`, and no "negative zero" x (sign bit set on `y = ±1`);
 * - `A` is none of the eight small-order points — with such a key, `R = identity, S = 0` verifies on any message
 *   under `node:crypto` (checked on Node 22);
 * - the equation is the cofactorless one, `encode([S]B − [k]A) == R` byte for byte, which is what OpenSSL (and so
 *   `node:crypto`) computes. The cofactored form would additionally accept `R` with a small-order component, so two
 *   back-ends would disagree on signatures the key holder crafted on purpose.
 *
 * The checks on encodings run here, before any back-end, so every back-end sees the same inputs. This file only
 * depends on `@noble/*` and runs in a browser; the `node:crypto` back-end lives in `ed25519-node.ts`.
 */
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

import { bytesEqual } from "./encoding.js";

ed.hashes.sha512 = sha512;

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const ED25519_SECRET_KEY_LENGTH = 32;

/** Group order. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Why a key or a signature was refused. Stable; tests and callers match on these. */
export type Ed25519ErrorCode =
  | "ED25519_KEY_LENGTH"
  | "ED25519_KEY_NOT_CANONICAL"
  | "ED25519_KEY_SMALL_ORDER"
  | "ED25519_KEY_NOT_ON_CURVE"
  | "ED25519_SIGNATURE_LENGTH"
  | "ED25519_S_NOT_CANONICAL"
  | "ED25519_R_NOT_CANONICAL"
  | "ED25519_SIGNATURE_INVALID";

export type Ed25519Check = { valid: true } | { valid: false; code: Ed25519ErrorCode; reason: string };

/**
 * A verifier/signer. `verify` is only called on inputs that passed the encoding rules above, and must implement the
 * cofactorless equation; it returns `false` (never throws) for points that do not decode.
 */
export interface Ed25519Backend {
  readonly name: string;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
  /** Signs with a 32-byte RFC 8032 secret key (the seed). */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  publicKey(secretKey: Uint8Array): Uint8Array;
}

/** The canonical encodings of the eight points of order 1, 2, 4 and 8. */
const SMALL_ORDER_KEYS: readonly Uint8Array[] = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
].map((hex) => ed.etc.hexToBytes(hex));

/**
 * `true` when the 32 bytes are the canonical encoding of some y: `y < p = 2^255 − 19`, and the sign bit is clear
 * when `x` must be zero (`y = 1` or `y = p − 1`). Does not check that the point is on the curve.
 */
export function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  const top = bytes[31] & 0x7f;
  let middleAllFf = true;
  for (let i = 1; i < 31; i++) {
    if (bytes[i] !== 0xff) {
      middleAllFf = false;
      break;
    }
  }
  // y ≥ p ⇔ y ∈ [2^255 − 19, 2^255 − 1] ⇔ bytes 1..30 are 0xff, the top byte is 0x7f and byte 0 ≥ 0xed.
  if (top === 0x7f && middleAllFf && bytes[0] >= 0xed) return false;
  if ((bytes[31] & 0x80) !== 0) {
    let middleAllZero = true;
    for (let i = 1; i < 31; i++) {
      if (bytes[i] !== 0) {
        middleAllZero = false;
        break;
      }
    }
    const isOne = bytes[0] === 1 && middleAllZero && top === 0;
    const isMinusOne = bytes[0] === 0xec && middleAllFf && top === 0x7f;
    if (isOne || isMinusOne) return false;
  }
  return true;
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function fail(code: Ed25519ErrorCode, reason: string): Ed25519Check {
  return { valid: false, code, reason };
}

const OK: Ed25519Check = { valid: true };

/** Byte-level key rules (length, canonical encoding, not small-order). Cheap: no curve arithmetic. */
export function checkPublicKeyEncoding(publicKey: Uint8Array): Ed25519Check {
  if (publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    return fail("ED25519_KEY_LENGTH", `public key is ${publicKey.length} bytes, expected 32`);
  }
  if (!isCanonicalPointEncoding(publicKey)) return fail("ED25519_KEY_NOT_CANONICAL", "public key is not a canonical point encoding");
  for (const weak of SMALL_ORDER_KEYS) {
    if (bytesEqual(weak, publicKey)) return fail("ED25519_KEY_SMALL_ORDER", "public key is a small-order point");
  }
  return OK;
}

/**
 * Everything a receipt key must satisfy, including that it decodes to a curve point. Use it wherever a key is
 * accepted for later use (provider registration, configuration), so a bad key fails early rather than at every
 * verification.
 */
export function validatePublicKey(publicKey: Uint8Array): Ed25519Check {
  const encoding = checkPublicKeyEncoding(publicKey);
  if (!encoding.valid) return encoding;
  try {
    ed.Point.fromBytes(publicKey, false);
  } catch {
    return fail("ED25519_KEY_NOT_ON_CURVE", "public key is not a point on Ed25519");
  }
  return OK;
}

export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return validatePublicKey(publicKey).valid;
}

/** Byte-level signature rules (length, `S < L`, canonical `R`) and the key's byte-level rules. */
export function checkSignatureEncoding(signature: Uint8Array, publicKey: Uint8Array): Ed25519Check {
  const key = checkPublicKeyEncoding(publicKey);
  if (!key.valid) return key;
  if (signature.length !== ED25519_SIGNATURE_LENGTH) {
    return fail("ED25519_SIGNATURE_LENGTH", `signature is ${signature.length} bytes, expected 64`);
  }
  if (bytesToNumberLE(signature.subarray(32)) >= L) return fail("ED25519_S_NOT_CANONICAL", "signature scalar S is not below the group order");
  if (!isCanonicalPointEncoding(signature.subarray(0, 32))) return fail("ED25519_R_NOT_CANONICAL", "signature point R is not canonically encoded");
  return OK;
}

/** Verifies under the strict rule set; never throws. */
export function verifyEd25519(
  message: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
  backend: Ed25519Backend = nobleBackend,
): Ed25519Check {
  const encoding = checkSignatureEncoding(signature, publicKey);
  if (!encoding.valid) return encoding;
  let ok: boolean;
  try {
    ok = backend.verify(message, signature, publicKey);
  } catch {
    ok = false;
  }
  return ok ? OK : fail("ED25519_SIGNATURE_INVALID", "signature does not match the message and key");
}

/** Signs with a 32-byte secret key (RFC 8032 seed). Deterministic: the same message and key give the same bytes. */
export function signEd25519(message: Uint8Array, secretKey: Uint8Array, backend: Ed25519Backend = nobleBackend): Uint8Array {
  return backend.sign(message, secretKey);
}

export function getPublicKey(secretKey: Uint8Array, backend: Ed25519Backend = nobleBackend): Uint8Array {
  return backend.publicKey(secretKey);
}

/** A fresh random secret key (32 bytes from the platform CSPRNG). */
export function randomSecretKey(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/**
 * Portable back-end on `@noble/ed25519`: strict (non-ZIP-215) point decoding and the cofactorless equation,
 * matching `node:crypto` exactly.
 */
export const nobleBackend: Ed25519Backend = {
  name: "noble",
  verify(message, signature, publicKey) {
    let A: ed.Point;
    try {
      A = ed.Point.fromBytes(publicKey, false);
    } catch {
      return false;
    }
    const r = signature.subarray(0, 32);
    const s = bytesToNumberLE(signature.subarray(32, 64));
    const k = ed.etc.mod(bytesToNumberLE(sha512(ed.etc.concatBytes(r, publicKey, message))), L);
    const expectedR = ed.Point.BASE.multiply(s, false).subtract(A.multiply(k, false));
    return bytesEqual(expectedR.toBytes(), r);
  },
  sign(message, secretKey) {
    return ed.sign(message, secretKey);
  },
  publicKey(secretKey) {
    return ed.getPublicKey(secretKey);
  },
};
