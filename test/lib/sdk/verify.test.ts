import { expect } from "chai";
import { network } from "hardhat";

import { receiptLeafHash } from "../../../lib/receipts/leaf.js";
import { ReceiptMerkleTree } from "../../../lib/receipts/proof-bundle.js";
import { parseJson } from "../../../lib/receipts/canonical.js";
import { randomSecretKey } from "../../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { receiptLeafValue, serializeReceipt, signReceipt } from "../../../lib/receipts/receipt.js";
import { SETTLEMENT_CHECKS } from "../../../lib/sdk/settled-receipt.js";
import { receiptProofBundle, verifyInclusion, verifyReceiptOnChain, VERIFICATION_STEPS, type OnChainVerification } from "../../../lib/sdk/verify.js";
import { receiptFor, settledSystem, type SettledSystem } from "../../fixtures/settled-receipts.js";

const { ethers, networkHelpers } = await network.create();

function statuses(v: OnChainVerification): Record<string, string> {
  return Object.fromEntries(v.steps.map((s) => [s.id, s.status]));
}

function codeOf(v: OnChainVerification): string | undefined {
  return v.valid ? undefined : v.code;
}

describe("lib/sdk/verify: the one on-chain receipt verification", function () {
  let s: SettledSystem;

  beforeEach(async function () {
    s = await networkHelpers.loadFixture(async function settled() {
      return settledSystem(ethers);
    });
  });

  it("accepts a settled receipt and returns its five steps in order, every one passed", async function () {
    const r = s.receipts[1];
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, r.text, { root: s.root, proof: r.proof }, { backend: nodeBackend });
    expect(v.valid, JSON.stringify(v.steps)).to.equal(true);
    expect(v.steps.map((x) => x.id)).to.deep.equal([...VERIFICATION_STEPS]);
    expect(v.steps.every((x) => x.status === "pass" && x.code === undefined)).to.equal(true);
    if (!v.valid) return;
    expect(v.anchored).to.deep.equal({ root: s.root, batchId: s.batchId });
    expect(v.checks.map((c) => c.id)).to.deep.equal([...SETTLEMENT_CHECKS]);
    expect(v.fields.jobId).to.equal(r.leaf.jobId);
  });

  it("reads the text, the bytes or the parsed document alike, and picks the leaf's proof out of a proof bundle", async function () {
    const r = s.receipts[0];
    const items = s.receipts.map((x) => ({ leaf: receiptLeafHash(x.leaf), proof: x.proof }));
    for (const input of [r.text, new TextEncoder().encode(r.text), parseJson(r.text) as Map<string, never>]) {
      expect((await verifyReceiptOnChain(ethers.provider, s.deployment, input, { root: s.root, items })).valid).to.equal(true);
    }
  });

  it("without a proof: NOT_ANCHORED at the anchor step, inclusion not checked, and the reason the caller gives", async function () {
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, s.receipts[0].text, undefined, { noProofReason: "no proof file" });
    expect(codeOf(v)).to.equal("NOT_ANCHORED");
    expect(statuses(v)).to.deep.equal({ document: "pass", key: "pass", signature: "pass", anchor: "fail", inclusion: "skip" });
    expect(v.steps[3].detail).to.equal("no proof file");
  });

  it("a tampered copy: the signature fails, the chain still shows the root, and the leaf is not the one settled", async function () {
    const doc = JSON.parse(s.receipts[0].text) as Record<string, unknown>;
    doc.model = "llama3.3";
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, JSON.stringify(doc), { root: s.root, proof: s.receipts[0].proof });
    expect(codeOf(v)).to.equal("ED25519_SIGNATURE_INVALID");
    expect(statuses(v)).to.deep.equal({ document: "pass", key: "pass", signature: "fail", anchor: "pass", inclusion: "fail" });
    expect(v.steps[4].code).to.equal("MERKLE_PROOF_INVALID");
  });

  it("a receipt signed with a key the provider never registered: KEY_NOT_TRUSTED, the signature not checked", async function () {
    const forged = signReceipt(receiptFor(s, s.receipts[0].leaf.jobId, s.provider.address, s.client.address, 1_000n, Number(s.receipts[0].document.completed_at)), randomSecretKey());
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, serializeReceipt(forged), { root: s.root, proof: s.receipts[0].proof });
    expect(codeOf(v)).to.equal("KEY_NOT_TRUSTED");
    expect(statuses(v).key).to.equal("fail");
    expect(statuses(v).signature).to.equal("skip");
  });

  it("a receipt of an unregistered provider: KEY_NOT_TRUSTED", async function () {
    const doc = receiptFor(s, s.receipts[0].leaf.jobId, s.client.address, s.client.address, 1_000n, Number(s.receipts[0].document.completed_at));
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, serializeReceipt(signReceipt(doc, s.secretKey)), { root: s.root, proof: [] });
    expect(codeOf(v)).to.equal("KEY_NOT_TRUSTED");
    expect(v.steps[1].detail).to.contain("not registered");
  });

  it("a receipt for another deployment: the document step fails with CHAIN_MISMATCH and nothing else is checked", async function () {
    const v = await verifyReceiptOnChain(ethers.provider, { ...s.deployment, chainId: s.deployment.chainId + 1 }, s.receipts[0].text, { root: s.root, proof: s.receipts[0].proof });
    expect(codeOf(v)).to.equal("CHAIN_MISMATCH");
    expect(statuses(v)).to.deep.equal({ document: "fail", key: "skip", signature: "skip", anchor: "skip", inclusion: "skip" });
  });

  it("a cheaper receipt for a settled job under the provider's plain anchor: PLAIN_ANCHOR_ONLY at the anchor step", async function () {
    const cheap = signReceipt(receiptFor(s, s.receipts[0].leaf.jobId, s.provider.address, s.client.address, 1n, Number(s.receipts[0].document.completed_at)), s.secretKey);
    const tree = ReceiptMerkleTree.of([receiptLeafValue(cheap)]);
    await (await s.escrow.anchorRoot(tree.root, 1)).wait();
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, serializeReceipt(cheap), { root: tree.root, proof: tree.getProof(0) });
    expect(codeOf(v)).to.equal("PLAIN_ANCHOR_ONLY");
    expect(statuses(v)).to.deep.equal({ document: "pass", key: "pass", signature: "pass", anchor: "fail", inclusion: "skip" });
  });

  it("a proof bundle that does not hold the receipt's leaf: MERKLE_PROOF_INVALID at the inclusion step", async function () {
    const v = await verifyReceiptOnChain(ethers.provider, s.deployment, s.receipts[0].text, { root: s.root, items: [] });
    expect(codeOf(v)).to.equal("MERKLE_PROOF_INVALID");
    expect(statuses(v)).to.deep.include({ anchor: "skip", inclusion: "fail" });
  });

  it("verifyInclusion: the settlement checks in their order, and the first that fails", async function () {
    const r = s.receipts[2];
    const ok = await verifyInclusion(ethers.provider, s.deployment, { root: s.root, leaf: r.leaf, proof: r.proof });
    expect(ok.included).to.equal(true);
    expect(ok.checks.map((c) => c.id)).to.deep.equal([...SETTLEMENT_CHECKS]);
    const other = await verifyInclusion(ethers.provider, s.deployment, { root: s.root, leaf: { ...r.leaf, unitsMilli: r.leaf.unitsMilli + 1n }, proof: r.proof });
    expect(other.included === false && other.code).to.equal("NOT_SETTLED_AS_SIGNED");
    expect(other.checks.at(-1)).to.deep.include({ id: "units", ok: false });
  });

  it("receiptProofBundle writes the proof of one receipt, and refuses a proof that does not lead to the root", async function () {
    const r = s.receipts[0];
    const bundle = receiptProofBundle(r.text, s.root, r.proof);
    expect(bundle.root).to.equal(s.root.toLowerCase());
    expect(bundle.items).to.have.length(1);
    expect(() => receiptProofBundle(r.text, s.root, s.receipts[1].proof)).to.throw().with.property("code", "MERKLE_PROOF_INVALID");
  });
});
