/** Loads the vectors written by test/vectors/generate.py (Python's json module and the OpenSSL CLI). */
import { readFileSync } from "node:fs";

export interface CanonicalVectors {
  cases: { name: string; document: string; canonical: string; sha256: string }[];
  /** [big-endian IEEE-754 bits in hex, Python repr] */
  floats: [string, string][];
}

export interface RawSignature {
  message_b64u: string;
  sig_b64u: string;
  key_b64u: string;
  openssl_accepts: boolean;
  cofactorless_accepts: boolean;
}

export interface ReceiptVectors {
  valid: { name: string; document: string; trusted_key: string; canonical: string; receipt_hash: string }[];
  invalid: { name: string; document: string; trusted_key: string; code: string; raw?: RawSignature }[];
  tamper: { document: string; trusted_key: string; mutation: "xor 0x01"; valid_positions: number[] };
  small_order_keys: string[];
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8")) as T;
}

export const canonicalVectors = load<CanonicalVectors>("canonical.json");
export const receiptVectors = load<ReceiptVectors>("receipts.json");

export function floatFromBits(hex: string): number {
  return Buffer.from(hex, "hex").readDoubleBE(0);
}

export function b64u(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64url"));
}
