import * as ed from "@noble/ed25519";
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import {
  checkSignatureEncoding,
  getPublicKey,
  isCanonicalPointEncoding,
  isValidPublicKey,
  nobleBackend,
  signEd25519,
  validatePublicKey,
  verifyEd25519,
  type Ed25519Backend,
} from "../../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { base64UrlDecode, base64UrlEncode } from "../../../lib/receipts/encoding.js";
import { b64u, receiptVectors } from "../../fixtures/vectors.js";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const backends: Ed25519Backend[] = [nodeBackend, nobleBackend];

/** Deterministic pseudo-random bytes, so a failing fuzz case can be replayed. */
function rng(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s & 0xff;
    }
    return out;
  };
}

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

describe("receipts/ed25519", () => {
  describe("crafted signatures (test/vectors/receipts.json, judged by the OpenSSL CLI)", () => {
    const raw = receiptVectors.invalid.filter((v) => v.raw !== undefined);

    it("covers the eight small-order keys and OpenSSL accepts their forgeries", () => {
      const forged = raw.filter((v) => v.code === "ED25519_KEY_SMALL_ORDER");
      expect(new Set(forged.map((v) => v.raw!.key_b64u)).size).to.equal(8);
      for (const v of forged) expect(v.raw!.openssl_accepts, v.name).to.equal(true);
    });

    for (const vector of raw) {
      it(`${vector.name}: node:crypto alone agrees with the OpenSSL CLI, the strict rules refuse it`, () => {
        const r = vector.raw!;
        const [message, signature, key] = [b64u(r.message_b64u), b64u(r.sig_b64u), b64u(r.key_b64u)];
        // The bare back-end behaves like OpenSSL — which is why the strict rules must run first.
        expect(nodeBackend.verify(message, signature, key)).to.equal(r.openssl_accepts);
        for (const backend of backends) {
          const result = verifyEd25519(message, signature, key, backend);
          expect(result.valid, backend.name).to.equal(false);
          if (!result.valid) expect(result.code, backend.name).to.equal(vector.code);
        }
      });
    }

    it("refuses a mixed-order R that noble's own strict verify (cofactored) would accept", () => {
      const vector = raw.find((v) => v.name.startsWith("mixed-order R"))!;
      const [message, signature, key] = [b64u(vector.raw!.message_b64u), b64u(vector.raw!.sig_b64u), b64u(vector.raw!.key_b64u)];
      expect(ed.verify(signature, message, key, { zip215: false })).to.equal(true);
      expect(verifyEd25519(message, signature, key, nobleBackend).valid).to.equal(false);
      expect(verifyEd25519(message, signature, key, nodeBackend).valid).to.equal(false);
    });

    it("knows the same eight small-order encodings as the vectors", () => {
      for (const key of receiptVectors.small_order_keys) {
        const check = validatePublicKey(b64u(key));
        expect(check.valid).to.equal(false);
        if (!check.valid) expect(check.code).to.equal("ED25519_KEY_SMALL_ORDER");
        expect(ed.Point.fromBytes(b64u(key)).isSmallOrder()).to.equal(true);
      }
    });
  });

  describe("validatePublicKey", () => {
    it("accepts real keys from both back-ends", () => {
      for (let i = 0; i < 50; i++) {
        const secret = randomBytes(32);
        expect(isValidPublicKey(getPublicKey(secret, nodeBackend))).to.equal(true);
        expect(getPublicKey(secret, nodeBackend)).to.deep.equal(getPublicKey(secret, nobleBackend));
      }
    });

    it("refuses wrong lengths, non-canonical encodings and points off the curve", () => {
      const good = getPublicKey(new Uint8Array(32).fill(7));
      const cases: [Uint8Array, string][] = [
        [good.subarray(0, 31), "ED25519_KEY_LENGTH"],
        [new Uint8Array([...good, 0]), "ED25519_KEY_LENGTH"],
        [new Uint8Array(0), "ED25519_KEY_LENGTH"],
        [Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff)), "ED25519_KEY_NOT_CANONICAL"],
        [Uint8Array.from({ length: 32 }, () => 0xff), "ED25519_KEY_NOT_CANONICAL"],
      ];
      // y = 2 is not the y of any curve point.
      const offCurve = new Uint8Array(32);
      offCurve[0] = 2;
      expect(() => ed.Point.fromBytes(offCurve)).to.throw();
      cases.push([offCurve, "ED25519_KEY_NOT_ON_CURVE"]);
      for (const [key, code] of cases) {
        const check = validatePublicKey(key);
        expect(check.valid).to.equal(false);
        if (!check.valid) expect(check.code).to.equal(code);
      }
    });

    it("classifies every y ≥ p encoding as non-canonical", () => {
      for (let low = 0xed; low <= 0xff; low++) {
        for (const top of [0x7f, 0xff]) {
          const bytes = new Uint8Array(32).fill(0xff);
          bytes[0] = low;
          bytes[31] = top;
          expect(isCanonicalPointEncoding(bytes)).to.equal(false);
        }
      }
      const below = new Uint8Array(32).fill(0xff);
      below[0] = 0xec;
      below[31] = 0x7f;
      expect(isCanonicalPointEncoding(below)).to.equal(true);
    });
  });

  describe("signature encoding", () => {
    it("refuses S = L and accepts S = L − 1 as an encoding", () => {
      const key = getPublicKey(new Uint8Array(32).fill(1));
      const sig = new Uint8Array(64);
      sig[0] = 1; // R = identity: canonical
      const write = (s: bigint) => {
        for (let i = 0; i < 32; i++) sig[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
      };
      write(L);
      const atL = checkSignatureEncoding(sig, key);
      expect(atL.valid === false && atL.code).to.equal("ED25519_S_NOT_CANONICAL");
      write(L - 1n);
      expect(checkSignatureEncoding(sig, key).valid).to.equal(true);
    });
  });

  describe("differential: node:crypto and noble agree", () => {
    it("on honest signatures and every kind of mutation (3,000 cases)", function () {
      this.timeout(60_000);
      const next = rng(0x5eed);
      let cases = 0;
      let accepted = 0;
      for (let i = 0; i < 300; i++) {
        const secret = next(32);
        const key = getPublicKey(secret, nodeBackend);
        const message = next(i % 200);
        const sig = signEd25519(message, secret, nodeBackend);
        expect(signEd25519(message, secret, nobleBackend)).to.deep.equal(sig);
        const variants: [Uint8Array, Uint8Array, Uint8Array][] = [[message, sig, key]];
        const flipped = sig.slice();
        flipped[i % 64] ^= 1 << (i % 8);
        variants.push([message, flipped, key]);
        const sPlusL = sig.slice();
        const s = leToBigInt(sig.subarray(32)) + L;
        for (let b = 0; b < 32; b++) sPlusL[32 + b] = Number((s >> BigInt(8 * b)) & 0xffn);
        variants.push([message, sPlusL, key]);
        variants.push([message, next(64), key]);
        variants.push([message, sig, next(32)]);
        const keyFlipped = key.slice();
        keyFlipped[i % 32] ^= 1 << (i % 7);
        variants.push([message, sig, keyFlipped]);
        if (message.length > 0) {
          const m = message.slice();
          m[i % m.length] ^= 0x80;
          variants.push([m, sig, key]);
        }
        variants.push([message, sig.subarray(0, 63), key]);
        variants.push([message, new Uint8Array([...sig, 0]), key]);
        variants.push([message, new Uint8Array([...sig.subarray(0, 32), ...new Uint8Array(32)]), key]);
        for (const [m, s2, k] of variants) {
          const viaNode = verifyEd25519(m, s2, k, nodeBackend);
          const viaNoble = verifyEd25519(m, s2, k, nobleBackend);
          expect(viaNoble, `case ${cases}`).to.deep.equal(viaNode);
          cases++;
          if (viaNode.valid) accepted++;
        }
      }
      expect(cases).to.be.greaterThan(2_900);
      expect(accepted).to.equal(300); // exactly the honest signatures
    });
  });

  describe("strict base64url", () => {
    it("round-trips every length and refuses padding, other alphabets and stray trailing bits", () => {
      for (let n = 0; n < 70; n++) {
        const bytes = randomBytes(n);
        const text = base64UrlEncode(bytes);
        expect(text).to.equal(Buffer.from(bytes).toString("base64url"));
        expect(base64UrlDecode(text)).to.deep.equal(new Uint8Array(bytes));
      }
      expect(base64UrlDecode("AQ==")).to.equal(undefined);
      expect(base64UrlDecode("a+b/")).to.equal(undefined);
      expect(base64UrlDecode("AQ ")).to.equal(undefined);
      expect(base64UrlDecode("A")).to.equal(undefined);
      expect(base64UrlDecode("AR")).to.equal(undefined); // 'R' leaves non-zero trailing bits; "AQ" is canonical
      expect(base64UrlDecode("AQ")).to.deep.equal(new Uint8Array([1]));
      expect(base64UrlDecode("é")).to.equal(undefined);
    });
  });

  describe("browser safety", () => {
    it("keeps the portable modules free of node: imports", () => {
      for (const file of ["ed25519.ts", "canonical.ts", "encoding.ts", "receipt.ts"]) {
        const source = readFileSync(new URL(`../../../lib/receipts/${file}`, import.meta.url), "utf8");
        expect(source, file).not.to.match(/from\s+["']node:/);
        expect(source, file).not.to.match(/from\s+["'][^"']*ed25519-node/);
      }
      const merkle = readFileSync(new URL("../../../lib/merkle.ts", import.meta.url), "utf8");
      expect(merkle).not.to.match(/from\s+["']node:/);
    });
  });
});
