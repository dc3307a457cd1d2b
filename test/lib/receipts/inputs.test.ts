import { expect } from "chai";
import { readFileSync } from "node:fs";

import { ReceiptMerkleTree } from "../../../lib/receipts/proof-bundle.js";
import { canonicalize } from "../../../lib/receipts/canonical.js";
import { proofPathFor, readReceiptEntries } from "../../../lib/receipts/inputs.js";
import { buildReceipt, receiptLeafValue, serializeReceipt, signReceipt } from "../../../lib/receipts/receipt.js";

const reference = JSON.parse(readFileSync(new URL("../../vectors/reference.json", import.meta.url), "utf8")) as {
  valid: { name: string; document: string }[];
};
const guide = reference.valid.find((v) => v.name === "payments guide example")!.document.trim();
const coordinator = reference.valid.find((v) => v.name === "coordinator receipt with attestation")!.document.trim();

const receipts = [1n, 2n, 3n].map((jobId) =>
  signReceipt(
    buildReceipt({
      chainId: 31337,
      escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      jobId,
      provider: "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a",
      client: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
      model: "llama3.2",
      unitsMilli: 1000n * jobId,
      priceBase: 2n * 10n ** 18n * jobId,
      startedAt: 1767225601,
      completedAt: 1767225604,
      inputHash: `0x${"ab".repeat(32)}`,
      resultHash: `0x${"cd".repeat(32)}`,
    }),
    new Uint8Array(32).fill(3),
  ),
);
const tree = ReceiptMerkleTree.of(receipts.map(receiptLeafValue));
const bundle = tree.exportProofs();

describe("receipts/inputs: the shapes receipts come in", () => {
  it("reads a bare receipt, keeping its number lexemes", () => {
    const [entry] = readReceiptEntries(guide, "guide.json");
    expect(entry).to.include({ label: "guide.json", shape: "receipt" });
    expect(canonicalize(entry.document!)).to.contain('"price":5.0');
  });

  it("reads a relayer answer with its batch root and proof", () => {
    const proof = tree.getProof(1);
    const text = `{"receipt_id":"x","batch_id":1,"receipt":${serializeReceipt(receipts[1])},"batch":{"id":1,"root":"${tree.root}","status":"confirmed"},"proof":${JSON.stringify(proof)}}`;
    const [entry] = readReceiptEntries(text, "served.json");
    expect(entry.shape).to.equal("relayer-answer");
    expect(entry.proof).to.deep.equal({ root: tree.root, proof });
    expect(entry.batchStatus).to.equal("confirmed");
    expect(serializeReceipt(entry.document!)).to.equal(serializeReceipt(receipts[1]));
  });

  it("refuses a relayer answer whose proof is not a list of hashes, naming BAD_PROOF", () => {
    const [entry] = readReceiptEntries(`{"receipt":${guide},"root":"${tree.root}","proof":["0x12"]}`, "bad.json");
    expect(entry.error?.code).to.equal("BAD_PROOF");
    expect(entry.document).to.equal(undefined);
  });

  it("reads a relayer receipt list as one entry per item", () => {
    const text = `{"items":[{"receipt_id":"a","receipt":${guide}},{"receipt_id":"b","receipt":${coordinator}},{"receipt_id":"c"}],"next_cursor":null}`;
    const entries = readReceiptEntries(text, "list.json");
    expect(entries.map((e) => [e.label, e.shape, e.document !== undefined, e.error?.code ?? null])).to.deep.equal([
      ["list.json#1", "relayer-list", true, null],
      ["list.json#2", "relayer-list", true, null],
      ["list.json#3", "relayer-list", false, "NOT_A_RECEIPT"],
    ]);
  });

  it("reads a proof bundle without its receipt as a proof, never as a bad receipt", () => {
    const text = JSON.stringify({ ...bundle, batchId: "4", chainId: "31337", escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa3", tx: "0x" + "00".repeat(32) });
    const [entry] = readReceiptEntries(text, "job-1.json.proof.json");
    expect(entry.error).to.equal(undefined);
    expect(entry.document).to.equal(undefined);
    expect(entry.proofOnly).to.deep.equal({ root: tree.root, leaves: 3, batchId: "4" });
  });

  it("reads a proof bundle holding its receipt, and picks the receipt's proof by leaf", () => {
    const text = `${JSON.stringify(bundle).slice(0, -1)},"receipt":${serializeReceipt(receipts[2])}}`;
    const [entry] = readReceiptEntries(text, "bundle.json");
    expect(entry.shape).to.equal("proof-bundle");
    expect(entry.document).to.not.equal(undefined);
    expect(proofPathFor(entry.proof!, bundle.items[2].leaf)).to.deep.equal(tree.getProof(2));
    expect(proofPathFor(entry.proof!, `0x${"00".repeat(32)}`)).to.equal(undefined);
  });

  it("refuses a proof bundle whose proof does not lead to its root", () => {
    const broken = { ...bundle, items: [{ ...bundle.items[0], proof: bundle.items[1].proof }] };
    const [entry] = readReceiptEntries(JSON.stringify(broken), "x.proof.json");
    expect(entry.error?.code).to.equal("MERKLE_PROOF_INVALID");
  });

  it("reads a JSON array and JSON lines, labelling each receipt by position or line", () => {
    const array = readReceiptEntries(`[${guide},${coordinator}]`, "a.json");
    expect(array.map((e) => e.label)).to.deep.equal(["a.json#1", "a.json#2"]);
    const oneLine = (t: string) => t.split("\n").map((l) => l.trim()).join("");
    const lines = readReceiptEntries(`${oneLine(guide)}\n\n${oneLine(coordinator)}\n{"broken"\n`, "l.jsonl");
    expect(lines.map((e) => [e.label, e.error?.code ?? null])).to.deep.equal([
      ["l.jsonl:1", null],
      ["l.jsonl:3", null],
      ["l.jsonl:4", "INVALID_JSON"],
    ]);
  });

  it("gives one stable error for unreadable content: broken JSON, an empty array, a scalar, invalid UTF-8", () => {
    expect(readReceiptEntries(`{"a":`, "f").map((e) => e.error?.code)).to.deep.equal(["INVALID_JSON"]);
    expect(readReceiptEntries(`[]`, "f").map((e) => e.error?.code)).to.deep.equal(["NO_RECEIPTS"]);
    expect(readReceiptEntries(`5`, "f").map((e) => e.error?.code)).to.deep.equal(["NOT_AN_OBJECT"]);
    expect(readReceiptEntries(new Uint8Array([0x7b, 0xff, 0x7d]), "f").map((e) => e.error?.code)).to.deep.equal(["INVALID_JSON"]);
    expect(readReceiptEntries(`{"a":1,"a":2}`, "f").map((e) => e.error?.code)).to.deep.equal(["DUPLICATE_KEY"]);
  });
});
