import { expect } from "chai";
import { readFileSync } from "node:fs";

import { verifyAitbcSignature, verifyAttestations, verifyReceiptLayers } from "../../../lib/receipts/aitbc.js";
import { canonicalize, parseJson, type JsonObject } from "../../../lib/receipts/canonical.js";
import { nobleBackend, type Ed25519Backend } from "../../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { buildReceipt, canonicalBytes, checkSettlementProfile, keyIdOf, serializeReceipt, signReceipt } from "../../../lib/receipts/receipt.js";
import { getPublicKey } from "../../../lib/receipts/ed25519.js";
import { receiptVectors } from "../../fixtures/vectors.js";

interface ReferenceVectors {
  keys: { miner: string; coordinator: string; other: string };
  valid: { name: string; document: string; trusted_key: string; attestation_key: string | null; attestations: string[]; canonical: string; receipt_hash: string }[];
  invalid: { name: string; document: string; trusted_key: string; attestation_key: string | null; code: string }[];
}

const reference = JSON.parse(readFileSync(new URL("../../vectors/reference.json", import.meta.url), "utf8")) as ReferenceVectors;
const backends: [string, Ed25519Backend][] = [
  ["node:crypto", nodeBackend],
  ["noble", nobleBackend],
];

describe("receipts/aitbc: the AITBC signature layer on receipts signed by the reference stack (Python json + PyNaCl)", () => {
  for (const [backendName, backend] of backends) {
    describe(`with the ${backendName} back-end`, () => {
      for (const v of reference.valid) {
        it(`verifies "${v.name}" with the signer's key, byte for byte`, () => {
          const r = verifyAitbcSignature(v.document, { trustedKey: v.trusted_key, backend });
          expect(r.valid, JSON.stringify(r)).to.equal(true);
          if (!r.valid) return;
          expect(new TextDecoder().decode(r.message)).to.equal(v.canonical);
          expect(r.receiptHash).to.equal(v.receipt_hash);
          expect(r.keyTrusted).to.equal(true);
        });
      }

      for (const v of reference.invalid) {
        it(`refuses "${v.name}" with ${v.code}`, () => {
          const r = verifyReceiptLayers(v.document, {
            trustedKey: v.trusted_key,
            backend,
            ...(v.attestation_key === null ? {} : { attestationKeys: v.attestation_key }),
          });
          expect(r.valid, JSON.stringify({ code: r.code, reason: r.reason })).to.equal(false);
          expect(r.code).to.equal(v.code);
        });
      }
    });
  }

  it("passes the reference receipts as not being settlement receipts (the profile is skipped, not failed)", () => {
    for (const v of reference.valid) {
      const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, backend: nodeBackend });
      expect(r.valid, v.name).to.equal(true);
      expect(r.settlement.status, v.name).to.equal("skip");
      expect(r.settlement.reason).to.match(/not a settlement receipt/);
    }
  });

  it("fails the reference receipts when the settlement profile is required (on-chain checks), naming the missing field", () => {
    const guide = reference.valid.find((v) => v.name === "payments guide example")!;
    const r = verifyReceiptLayers(guide.document, { trustedKey: guide.trusted_key, settlement: "required", backend: nodeBackend });
    expect(r.valid).to.equal(false);
    expect(r.signature.valid).to.equal(true);
    expect(r.settlement.status).to.equal("fail");
    expect(r.code).to.equal("MISSING_FIELD");
    const coordinator = reference.valid.find((v) => v.name === "coordinator receipt with attestation")!;
    const c = verifyReceiptLayers(coordinator.document, { trustedKey: coordinator.trusted_key, settlement: "required", backend: nodeBackend });
    expect(c.code).to.equal("BAD_FIELD"); // "version": "1.0" is a string, the profile's version is the integer 1
  });

  it("reports each attestation: valid under the attestation key, untrusted when by another key", () => {
    for (const v of reference.valid.filter((x) => x.attestation_key !== null)) {
      const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, attestationKeys: v.attestation_key!, backend: nodeBackend });
      expect(r.valid, v.name).to.equal(true);
      expect(r.attestations?.results.map((a) => a.status), v.name).to.deep.equal(v.attestations);
    }
  });

  it("keeps the receipt signature valid when only an attestation was tampered with", () => {
    const v = reference.invalid.find((x) => x.name === "coordinator: attestation tampered")!;
    const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, attestationKeys: v.attestation_key!, backend: nodeBackend });
    expect(r.signature.valid).to.equal(true);
    expect(r.attestations?.valid).to.equal(false);
    expect(r.attestations?.results[0]).to.include({ status: "invalid", code: "ED25519_SIGNATURE_INVALID" });
  });

  it("accepts the embedded key only when asked, and then says the key is not trusted", () => {
    const v = reference.valid[0];
    const refused = verifyAitbcSignature(v.document);
    expect(refused.valid).to.equal(false);
    if (!refused.valid) expect(refused.code).to.equal("KEY_NOT_TRUSTED");
    const integrity = verifyAitbcSignature(v.document, { allowUntrustedKey: true });
    expect(integrity.valid && integrity.keyTrusted).to.equal(false);
    expect(integrity.valid).to.equal(true);
  });

  it("refuses the attestations of a receipt whose array is empty", () => {
    const v = reference.valid.find((x) => x.name === "coordinator receipt with attestation")!;
    const doc = parseJson(v.document) as JsonObject;
    doc.set("attestations", []);
    const r = verifyAttestations(doc, reference.keys.coordinator);
    expect(r.valid).to.equal(false);
    if (!r.valid) expect(r.code).to.equal("ATTESTATIONS_MISSING");
  });
});

describe("receipts/aitbc: this project's receipts through both layers", () => {
  const secret = new Uint8Array(32).fill(42);
  const key = getPublicKey(secret);
  const receipt = signReceipt(
    buildReceipt({
      chainId: 31337,
      escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      jobId: 7n,
      provider: "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a",
      client: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
      model: "llama3.2",
      unitsMilli: 2500,
      priceBase: 5n * 10n ** 18n,
      startedAt: 1767225601,
      completedAt: 1767225604,
      inputHash: `0x${"ab".repeat(32)}`,
      resultHash: `0x${"cd".repeat(32)}`,
    }),
    secret,
  );

  it("passes the signature and the settlement profile, with the same hash as canonicalBytes", () => {
    const r = verifyReceiptLayers(serializeReceipt(receipt), { trustedKey: keyIdOf(key), backend: nodeBackend });
    expect(r.valid).to.equal(true);
    expect(r.signature.valid).to.equal(true);
    expect(r.settlement.status).to.equal("pass");
    expect(r.settlement.leaf).to.match(/^0x[0-9a-f]{64}$/);
    if (r.signature.valid) expect(canonicalize(parseJson(new TextDecoder().decode(r.signature.message)))).to.equal(new TextDecoder().decode(canonicalBytes(receipt)));
  });

  it("refuses a signed but inconsistent receipt of ours for the profile's reason, though its signature holds", () => {
    const v = receiptVectors.invalid.find((x) => x.name === "signed but inconsistent: units")!;
    const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, backend: nodeBackend });
    expect(r.signature.valid).to.equal(true);
    expect(r.settlement.status).to.equal("fail");
    expect(r.valid).to.equal(false);
    expect(r.code).to.equal("UNITS_MISMATCH");
  });

  it("gives every independent OpenSSL vector the same verdict code as verifyReceipt", () => {
    for (const v of receiptVectors.invalid) {
      const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, backend: nodeBackend });
      expect(r.valid, v.name).to.equal(false);
      expect(r.code, v.name).to.equal(v.code);
    }
    for (const v of receiptVectors.valid) {
      const r = verifyReceiptLayers(v.document, { trustedKey: v.trusted_key, backend: nodeBackend });
      expect(r.valid, v.name).to.equal(true);
      expect(r.receiptHash, v.name).to.equal(v.receipt_hash.startsWith("0x") ? v.receipt_hash : `0x${v.receipt_hash}`);
    }
  });

  it("checks the settlement profile alone, bound to the chain and escrow asked for", () => {
    const text = serializeReceipt(receipt);
    const ok = checkSettlementProfile(text, { expectedChainId: 31337, expectedEscrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3" });
    expect(ok.valid).to.equal(true);
    const chain = checkSettlementProfile(text, { expectedChainId: 1 });
    expect(chain.valid === false && chain.code).to.equal("CHAIN_MISMATCH");
    const escrow = checkSettlementProfile(text, { expectedEscrow: `0x${"11".repeat(20)}` });
    expect(escrow.valid === false && escrow.code).to.equal("ESCROW_MISMATCH");
    // The signature is the other layer: a receipt whose signature was replaced still has a consistent profile.
    const resigned = signReceipt(receipt, new Uint8Array(32).fill(1));
    expect(checkSettlementProfile(serializeReceipt(resigned)).valid).to.equal(true);
    expect(verifyReceiptLayers(serializeReceipt(resigned), { trustedKey: keyIdOf(key) }).code).to.equal("KEY_NOT_TRUSTED");
  });
});

describe("receipts/aitbc: malformed signatures on reference-format receipts", () => {
  const guide = reference.valid.find((v) => v.name === "payments guide example")!;
  const withSignature = (value: string) => guide.document.replace(/"signature": \{[^}]*\}/, `"signature": ${value}`);

  it("names the missing or mistyped signature part", () => {
    const cases: [string, string][] = [
      ["null", "MISSING_FIELD"],
      ['"Fql0..."', "BAD_FIELD"],
      ['{"alg":"Ed25519","key_id":"miner-ed25519-2026-01","sig":"Fql0"}', "BAD_KEY_ID"],
      [`{"alg":"Ed25519","sig":"AAAA"}`, "MISSING_FIELD"],
      [`{"alg":"Ed25519","key_id":"${reference.keys.miner}","sig":5}`, "BAD_FIELD"],
      [`{"alg":"Ed25519","key_id":"${reference.keys.miner}","sig":"AA=="}`, "BAD_SIGNATURE_ENCODING"],
      [`{"alg":"Ed25519","key_id":"${reference.keys.miner}","sig":"AAAA"}`, "ED25519_SIGNATURE_LENGTH"],
    ];
    for (const [signature, code] of cases) {
      const document = withSignature(signature);
      expect(document, signature).to.not.equal(guide.document);
      const r = verifyAitbcSignature(document, { trustedKey: reference.keys.miner });
      expect(r.valid, signature).to.equal(false);
      if (!r.valid) expect(r.code, signature).to.equal(code);
    }
  });
});
