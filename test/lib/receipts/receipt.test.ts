import { keccak_256 } from "@noble/hashes/sha3.js";
import { expect } from "chai";
import { createHash } from "node:crypto";

import { isAitbcError } from "../../../lib/errors.js";
import { ReceiptMerkleTree } from "../../../lib/receipts/proof-bundle.js";
import { parseJson } from "../../../lib/receipts/canonical.js";
import { getPublicKey, nobleBackend, type Ed25519Backend } from "../../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { toHex } from "../../../lib/receipts/encoding.js";
import {
  buildReceipt,
  canonicalBytes,
  computeReceiptId,
  dedupeReceipts,
  keyIdOf,
  receiptHash,
  receiptLeaf,
  receiptLeafValue,
  serializeReceipt,
  signReceipt,
  verifyReceipt,
  type BuildReceiptInput,
  type ReceiptVerification,
} from "../../../lib/receipts/receipt.js";
import { receiptVectors } from "../../fixtures/vectors.js";

const backends: Ed25519Backend[] = [nodeBackend, nobleBackend];
const ESCROW = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const PROVIDER = "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a";
const CLIENT = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const SECRET = new Uint8Array(32).fill(42);
const OTHER_SECRET = new Uint8Array(32).fill(43);

const keccakText = (text: string) => toHex(keccak_256(new TextEncoder().encode(text)));

/** The same inputs the Python generator used for its "basic" receipt (job 1). */
function pythonBasicInput(): BuildReceiptInput {
  return {
    chainId: 31337,
    escrow: ESCROW,
    jobId: 1n,
    provider: PROVIDER,
    client: CLIENT,
    model: "llama3.2",
    unitsMilli: 2500,
    priceBase: 5n * 10n ** 18n,
    startedAt: 1767225601,
    completedAt: 1767225604,
    inputHash: keccakText("prompt 1"),
    resultHash: keccakText("result 1"),
  };
}

function expectCode(result: ReceiptVerification, code: string): void {
  expect(result.valid, `expected ${code}`).to.equal(false);
  if (!result.valid) expect(result.code).to.equal(code);
}

describe("receipts/receipt", () => {
  describe("vectors signed by the OpenSSL CLI over Python's canonical bytes", () => {
    for (const vector of receiptVectors.valid) {
      it(`accepts "${vector.name}" with both back-ends`, () => {
        for (const backend of backends) {
          const result = verifyReceipt(vector.document, { trustedKey: vector.trusted_key, backend });
          expect(result, backend.name).to.include({ valid: true, receiptHash: vector.receipt_hash, keyTrusted: true });
        }
        const document = parseJson(vector.document) as Map<string, never>;
        expect(new TextDecoder().decode(canonicalBytes(document))).to.equal(vector.canonical);
        expect(receiptHash(document)).to.equal(vector.receipt_hash);
      });
    }

    for (const vector of receiptVectors.invalid) {
      it(`refuses "${vector.name}" with ${vector.code}`, () => {
        for (const backend of backends) {
          expectCode(verifyReceipt(vector.document, { trustedKey: vector.trusted_key, backend }), vector.code);
        }
      });
    }

    it("matches the reference verifier on every one-byte change of a small receipt", function () {
      this.timeout(60_000);
      const { document, trusted_key: trustedKey, valid_positions: validPositions } = receiptVectors.tamper;
      const bytes = new TextEncoder().encode(document);
      const expectedValid = new Set(validPositions);
      let accepted = 0;
      for (let pos = 0; pos < bytes.length; pos++) {
        const mutated = bytes.slice();
        mutated[pos] ^= 0x01;
        const result = verifyReceipt(mutated, { trustedKey, backend: nodeBackend });
        expect(result.valid, `position ${pos} (${JSON.stringify(document[pos])})`).to.equal(expectedValid.has(pos));
        if (result.valid) accepted++;
      }
      // Only bytes inside the unsigned attestations may change.
      expect(accepted).to.equal(validPositions.length);
      const attestations = document.indexOf('"attestations"');
      for (const pos of validPositions) expect(pos).to.be.within(attestations, document.indexOf("}", attestations));
    });
  });

  describe("buildReceipt and signReceipt", () => {
    it("build the exact bytes the Python reference signs", () => {
      const python = receiptVectors.valid.find((v) => v.name === "basic 2.5 GPU-seconds")!;
      const receipt = buildReceipt(pythonBasicInput());
      expect(new TextDecoder().decode(canonicalBytes(receipt))).to.equal(python.canonical);
      expect(receiptHash(receipt)).to.equal(python.receipt_hash);
    });

    it("sign identically with both back-ends and verify with both", () => {
      const receipt = buildReceipt(pythonBasicInput());
      const viaNode = signReceipt(receipt, SECRET, nodeBackend);
      const viaNoble = signReceipt(receipt, SECRET, nobleBackend);
      expect(viaNode.signature).to.deep.equal(viaNoble.signature);
      expect(viaNode.signature!.key_id).to.equal(keyIdOf(getPublicKey(SECRET)));
      for (const backend of backends) {
        const result = verifyReceipt(serializeReceipt(viaNode), { trustedKey: getPublicKey(SECRET), backend });
        expect(result.valid).to.equal(true);
        if (result.valid) {
          expect(result.receiptHash).to.equal(receiptHash(receipt));
          expect(result.leaf).to.equal(receiptLeaf(viaNode));
          expect(result.fields).to.include({ model: "llama3.2", units: 2.5, price: 5, unitsMilli: 2500n, priceBase: 5n * 10n ** 18n, jobId: 1n });
        }
      }
    });

    it("write units and price as Python floats", () => {
      const text = serializeReceipt(buildReceipt({ ...pythonBasicInput(), unitsMilli: 5000, priceBase: 10n ** 13n }));
      expect(text).to.contain('"units":5.0').and.contain('"units_milli":5000').and.contain('"price":1e-05').and.contain('"price_base":"10000000000000"');
      const big = serializeReceipt(buildReceipt({ ...pythonBasicInput(), priceBase: 10n ** 34n }));
      expect(big).to.contain('"price":1e+16');
    });

    it("derive receipt_id from (chain_id, escrow, job_id) only", () => {
      const a = buildReceipt(pythonBasicInput());
      const b = buildReceipt({ ...pythonBasicInput(), unitsMilli: 1, model: "codellama", escrow: ESCROW.toUpperCase().replace("0X", "0x") });
      expect(a.receipt_id).to.equal(b.receipt_id);
      expect(a.receipt_id).to.equal(computeReceiptId(31337, ESCROW, 1));
      expect(computeReceiptId(1, ESCROW, 1)).not.to.equal(a.receipt_id);
      expect(computeReceiptId(31337, PROVIDER, 1)).not.to.equal(a.receipt_id);
      expect(computeReceiptId(31337, ESCROW, 2)).not.to.equal(a.receipt_id);
    });

    it("sign extra fields and ignore attestations", () => {
      const receipt = buildReceipt({ ...pythonBasicInput(), extra: { region: "eu", meta: { gpu: "H100", note: null } } });
      const signed = signReceipt(receipt, SECRET);
      const withAttestation = { ...signed, attestations: [{ by: "auditor" }] };
      expect(verifyReceipt(withAttestation, { trustedKey: getPublicKey(SECRET) }).valid).to.equal(true);
      const changed = { ...signed, region: "us" };
      expectCode(verifyReceipt(changed, { trustedKey: getPublicKey(SECRET) }), "ED25519_SIGNATURE_INVALID");
    });

    it("refuse bad input naming the field", () => {
      const bad: [Partial<BuildReceiptInput>, string][] = [
        [{ escrow: "0x1234" }, "escrow"],
        [{ provider: "not an address" }, "provider"],
        [{ unitsMilli: -1 }, "unitsMilli"],
        [{ unitsMilli: 1.5 }, "unitsMilli"],
        [{ priceBase: "1e18" }, "priceBase"],
        [{ completedAt: 1 }, "completedAt"],
        [{ inputHash: "0x12" }, "inputHash"],
        [{ model: "" }, "model"],
        [{ extra: { units: 1 } }, "extra.units"],
        [{ extra: { signature: "x" } }, "extra.signature"],
      ];
      for (const [override, field] of bad) {
        expect(() => buildReceipt({ ...pythonBasicInput(), ...override }), field)
          .to.throw()
          .that.satisfies((e: unknown) => isAitbcError(e, "RECEIPT_INPUT_INVALID") && e.details?.field === field);
      }
    });
  });

  describe("verifyReceipt options", () => {
    const signed = signReceipt(buildReceipt(pythonBasicInput()), SECRET);
    const text = serializeReceipt(signed);
    const key = getPublicKey(SECRET);
    const other = getPublicKey(OTHER_SECRET);

    it("never trusts the embedded key unless told to", () => {
      expectCode(verifyReceipt(text), "KEY_NOT_TRUSTED");
      const untrusted = verifyReceipt(text, { allowUntrustedKey: true });
      expect(untrusted).to.include({ valid: true, keyTrusted: false });
      expectCode(verifyReceipt(text, { trustedKey: other, allowUntrustedKey: true }), "KEY_NOT_TRUSTED");
    });

    it("accepts the trusted key as bytes, key_id, hex, a list or a lookup by provider", () => {
      for (const trustedKey of [key, keyIdOf(key), toHex(key), [other, key]]) {
        expect(verifyReceipt(text, { trustedKey }).valid).to.equal(true);
      }
      const lookups: string[] = [];
      const result = verifyReceipt(text, {
        trustedKey: (fields) => {
          lookups.push(fields.provider);
          return fields.provider === PROVIDER ? key : undefined;
        },
      });
      expect(result.valid).to.equal(true);
      expect(lookups).to.deep.equal([PROVIDER]);
      expectCode(verifyReceipt(text, { trustedKey: () => undefined }), "KEY_NOT_TRUSTED");
    });

    it("checks the deployment it was told to expect", () => {
      expect(verifyReceipt(text, { trustedKey: key, expectedChainId: 31337n, expectedEscrow: ESCROW.toUpperCase().replace("0X", "0x") }).valid).to.equal(true);
      expectCode(verifyReceipt(text, { trustedKey: key, expectedChainId: 1 }), "CHAIN_MISMATCH");
      expectCode(verifyReceipt(text, { trustedKey: key, expectedEscrow: PROVIDER }), "ESCROW_MISMATCH");
    });

    it("checks an inclusion proof against a root", () => {
      const others = [2, 3, 4, 5].map((jobId) => signReceipt(buildReceipt({ ...pythonBasicInput(), jobId }), SECRET));
      const all = [signed, ...others];
      const tree = ReceiptMerkleTree.of(all.map(receiptLeafValue));
      const proof = { root: tree.root, proof: tree.getProof(0) };
      const result = verifyReceipt(text, { trustedKey: key, proof });
      expect(result.valid).to.equal(true);
      if (result.valid) expect(result.leaf).to.equal(tree.tree.leafHash(0));
      expectCode(verifyReceipt(text, { trustedKey: key, proof: { root: tree.root, proof: tree.getProof(1) } }), "MERKLE_PROOF_INVALID");
      expectCode(verifyReceipt(text, { trustedKey: key, proof: { root: "0x1234", proof: [] } }), "MERKLE_PROOF_INVALID");
    });

    it("accepts served forms: pretty-printed, reordered, non-ASCII unescaped, as bytes", () => {
      const receipt = signReceipt(buildReceipt({ ...pythonBasicInput(), model: "llama3.2-ünï-😀" }), SECRET);
      const entries = Object.entries(JSON.parse(serializeReceipt(receipt)) as Record<string, unknown>).reverse();
      // JSON.stringify writes 2.5 and 5 for units/price; put the Python lexemes back for this served form.
      const pretty = JSON.stringify(Object.fromEntries(entries), null, 2).replace('"price": 5,', '"price": 5.0,');
      expect(pretty).to.contain("😀");
      expect(verifyReceipt(pretty, { trustedKey: key }).valid).to.equal(true);
      expect(verifyReceipt(new TextEncoder().encode(pretty), { trustedKey: key }).valid).to.equal(true);
    });

    it("never throws, whatever it is given", () => {
      const inputs: unknown[] = ["", "null", "[]", "{}", '{"signature":null}', "\u0000", new Uint8Array([0xff]), text.slice(0, 100), 42];
      for (let i = 0; i < 300; i++) {
        const chars = Array.from({ length: (i * 7) % 120 }, (_, j) => String.fromCharCode(((i + 1) * (j + 3) * 2654435761) % 0x7f));
        inputs.push(chars.join(""));
        const cut = text.slice(0, (i * 13) % text.length) + text.slice((i * 13) % text.length + 1);
        inputs.push(cut);
      }
      for (const input of inputs) {
        const result = verifyReceipt(input as string, { trustedKey: key });
        expect(result).to.have.property("valid");
        if (!result.valid) expect(result.code).to.be.a("string");
      }
    });
  });

  describe("dedupeReceipts", () => {
    it("deduplicates by receipt hash, not by signature bytes", () => {
      const body = buildReceipt(pythonBasicInput());
      const byOne = signReceipt(body, SECRET);
      const byOther = signReceipt(body, OTHER_SECRET);
      const withAttestation = { ...byOne, attestations: ["x"] };
      const different = signReceipt(buildReceipt({ ...pythonBasicInput(), jobId: 2 }), SECRET);
      expect(byOne.signature!.sig).not.to.equal(byOther.signature!.sig);
      const { unique, duplicates } = dedupeReceipts([byOne, byOther, different, withAttestation]);
      expect(unique).to.deep.equal([byOne, different]);
      expect(duplicates).to.deep.equal([byOther, withAttestation]);
    });
  });

  describe("receipt hash", () => {
    it("is the SHA-256 of the canonical bytes", () => {
      const receipt = buildReceipt(pythonBasicInput());
      expect(receiptHash(receipt)).to.equal(`0x${createHash("sha256").update(canonicalBytes(receipt)).digest("hex")}`);
    });
  });
});
