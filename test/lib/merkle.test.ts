import { keccak_256 } from "@noble/hashes/sha3.js";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";

import { isAitbcError } from "../../lib/errors.js";
import { encodeReceiptLeaf, RECEIPT_LEAF_ENCODING, receiptLeafHash, type ReceiptLeafValue, toOzLeafValue, verifyReceiptLeafProof } from "../../lib/receipts/leaf.js";
import { hashPair, MerkleTree, processProof, standardLeafHash, verifyProof } from "../../lib/merkle.js";
import { importProofBundle, ReceiptMerkleTree } from "../../lib/receipts/proof-bundle.js";
import { settlementOrder } from "../../lib/receipts/settlement.js";
import { toHex } from "../../lib/receipts/encoding.js";

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

function leafValues(n: number, seed: number): ReceiptLeafValue[] {
  const next = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    chainId: 31337n,
    escrow: toHex(next(20)),
    jobId: BigInt(i + 1),
    provider: toHex(next(20)),
    unitsMilli: BigInt(next(1)[0]) * 1000n,
    price: BigInt(toHex(next(16))),
    receiptHash: toHex(next(32)),
  }));
}

const encoding = [...RECEIPT_LEAF_ENCODING];

describe("lib/merkle", () => {
  it("encodes the leaf exactly like ethers' AbiCoder and hashes it like StandardMerkleTree", () => {
    for (const value of leafValues(20, 1)) {
      const ours = encodeReceiptLeaf({ ...value, unitsMilli: (1n << 64n) - 1n, price: (1n << 256n) - 1n });
      const theirs = AbiCoder.defaultAbiCoder().encode(encoding, toOzLeafValue({ ...value, unitsMilli: (1n << 64n) - 1n, price: (1n << 256n) - 1n }));
      expect(toHex(ours)).to.equal(theirs);
      expect(receiptLeafHash(value)).to.equal(keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(encoding, toOzLeafValue(value)))));
    }
  });

  it("refuses leaf values out of range", () => {
    const [value] = leafValues(1, 2);
    for (const bad of [{ unitsMilli: 1n << 64n }, { price: -1n }, { escrow: "0x12" }, { receiptHash: "0xzz" }, { chainId: 1 as unknown as bigint }]) {
      expect(() => encodeReceiptLeaf({ ...value, ...bad })).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_LEAF_INVALID"));
    }
  });

  describe("against @openzeppelin/merkle-tree", () => {
    const sizes = [...Array.from({ length: 64 }, (_, i) => i + 1), 65, 100, 127, 128, 129, 255, 256, 257, 333, 511, 512, 513, 777, 999, 1000];

    it(`has the same root and proofs for ${sizes.length} sizes from 1 to 1,000`, function () {
      this.timeout(120_000);
      for (const n of sizes) {
        const values = leafValues(n, n);
        const oz = StandardMerkleTree.of(values.map(toOzLeafValue), encoding);
        const ours = ReceiptMerkleTree.of(values);
        expect(ours.root, `n=${n}`).to.equal(oz.root);
        // Proofs for every leaf on small trees, a sample on big ones (the OZ proof itself is slow).
        const step = n <= 64 ? 1 : Math.ceil(n / 16);
        for (let i = 0; i < n; i += step) {
          expect(ours.getProof(i), `n=${n} i=${i}`).to.deep.equal(oz.getProof(i));
        }
      }
    });

    it("builds the same root for duplicate leaves (stable order)", () => {
      const values = leafValues(5, 9);
      const withDuplicates = [...values, values[2], values[0], values[2]];
      const oz = StandardMerkleTree.of(withDuplicates.map(toOzLeafValue), encoding);
      const ours = ReceiptMerkleTree.of(withDuplicates);
      expect(ours.root).to.equal(oz.root);
      for (let i = 0; i < withDuplicates.length; i++) expect(ours.tree.treeIndex(i)).to.equal(oz.dump().values[i].treeIndex);
    });

    it("sorts leaves that share their first four bytes by the full hash", () => {
      const next = rng(77);
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < 300; i++) {
        const leaf = next(32);
        leaf.set([0xab, 0xcd, 0xef, i % 3], 0);
        leaves.push(leaf);
      }
      const ours = MerkleTree.fromLeafHashes(leaves);
      const sorted = ours.sortedLeafHashes();
      for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1] < sorted[i]).to.equal(true);
      const oz = SimpleMerkleTree.of(leaves);
      expect(ours.root).to.equal(oz.root);
      for (let i = 0; i < leaves.length; i += 17) expect(ours.getProof(i)).to.deep.equal(oz.getProof(i));
    });

    it("exports a dump StandardMerkleTree.load accepts", () => {
      const values = leafValues(37, 5);
      const ours = ReceiptMerkleTree.of(values);
      const loaded = StandardMerkleTree.load(ours.toOzDump());
      expect(loaded.root).to.equal(ours.root);
      expect(loaded.getProof(12)).to.deep.equal(ours.getProof(12));
    });
  });

  describe("proofs", () => {
    const values = leafValues(50, 3);
    const tree = ReceiptMerkleTree.of(values);

    it("verify for every leaf and fail for other leaves, roots or proofs", () => {
      for (let i = 0; i < values.length; i++) {
        const proof = tree.getProof(i);
        expect(verifyReceiptLeafProof(tree.root, values[i], proof)).to.equal(true);
        expect(processProof(receiptLeafHash(values[i]), proof)).to.equal(tree.root);
        expect(verifyReceiptLeafProof(tree.root, { ...values[i], unitsMilli: values[i].unitsMilli + 1n }, proof)).to.equal(false);
        expect(verifyReceiptLeafProof(tree.root, values[(i + 1) % values.length], proof)).to.equal(false);
      }
      expect(verifyReceiptLeafProof(toHex(new Uint8Array(32)), values[0], tree.getProof(0))).to.equal(false);
      expect(verifyReceiptLeafProof(tree.root, values[0], tree.getProof(0).slice(1))).to.equal(false);
      expect(verifyReceiptLeafProof(tree.root, values[0], ["0x1234"])).to.equal(false);
    });

    it("refuse two internal nodes presented as a 64-byte leaf", () => {
      // The root's children L, R: keccak(L‖R) is the root, so with single-hashed leaves the 64 bytes L‖R would prove
      // as a "leaf" with an empty proof. Leaves are double-hashed, so they do not.
      const dump = tree.toOzDump();
      const [left, right] = [dump.tree[1], dump.tree[2]];
      const sorted = left < right ? [left, right] : [right, left];
      const sixtyFour = new Uint8Array([...Buffer.from(sorted[0].slice(2), "hex"), ...Buffer.from(sorted[1].slice(2), "hex")]);
      expect(toHex(keccak_256(sixtyFour))).to.equal(tree.root); // the attack works on a single hash…
      expect(verifyProof(tree.root, standardLeafHash(sixtyFour), [])).to.equal(false); // …not on a leaf hash
      // Nor deeper: an internal node with its own proof only proves as a raw hash, never as a leaf hash.
      const node = dump.tree[3];
      const proofFromNode = [dump.tree[4], dump.tree[2]];
      expect(verifyProof(tree.root, node, proofFromNode)).to.equal(true);
      const children = [dump.tree[7], dump.tree[8]].sort();
      const asLeaf = standardLeafHash(new Uint8Array([...Buffer.from(children[0].slice(2), "hex"), ...Buffer.from(children[1].slice(2), "hex")]));
      expect(verifyProof(tree.root, asLeaf, proofFromNode)).to.equal(false);
      expect(toHex(hashPair(Buffer.from(children[0].slice(2), "hex"), Buffer.from(children[1].slice(2), "hex")))).to.equal(node);
    });

    it("round-trip through the aitbc-receipt-proofs-v1 JSON format", () => {
      const bundle = JSON.parse(JSON.stringify(tree.exportProofs([0, 7, 49])));
      const imported = importProofBundle(bundle);
      expect(imported.root).to.equal(tree.root);
      expect(imported.items.map((item) => item.value)).to.deep.equal([values[0], values[7], values[49]].map((v) => ({
        ...v,
        escrow: v.escrow.toLowerCase(),
        provider: v.provider.toLowerCase(),
        receiptHash: v.receiptHash.toLowerCase(),
      })));
    });

    it("refuse bundles that are malformed or do not prove", () => {
      const good = () => JSON.parse(JSON.stringify(tree.exportProofs([3])));
      const expectCode = (bundle: unknown, code: string) =>
        expect(() => importProofBundle(bundle)).to.throw().that.satisfies((e: unknown) => isAitbcError(e, code));
      expectCode(null, "MERKLE_PROOF_FORMAT");
      expectCode({ ...good(), format: "standard-v1" }, "MERKLE_PROOF_FORMAT");
      expectCode({ ...good(), leafEncoding: ["bytes32"] }, "MERKLE_PROOF_FORMAT");
      expectCode({ ...good(), root: "0x12" }, "MERKLE_PROOF_FORMAT");
      const badValue = good();
      badValue.items[0].value.price = 12;
      expectCode(badValue, "MERKLE_PROOF_FORMAT");
      const badLeaf = good();
      badLeaf.items[0].value.unitsMilli = "1";
      expectCode(badLeaf, "MERKLE_PROOF_INVALID");
      const badProof = good();
      badProof.items[0].proof.reverse();
      expectCode(badProof, "MERKLE_PROOF_INVALID");
      const otherRoot = good();
      otherRoot.root = toHex(new Uint8Array(32).fill(1));
      expectCode(otherRoot, "MERKLE_PROOF_INVALID");
    });
  });

  describe("settlementOrder", () => {
    it("orders items by strictly ascending leaf hash", () => {
      const values = leafValues(40, 11);
      const items = values.map((value, i) => ({ id: i, value }));
      const ordered = settlementOrder(items, (item) => item.value);
      const leaves = ordered.map((item) => receiptLeafHash(item.value));
      for (let i = 1; i < leaves.length; i++) expect(leaves[i - 1] < leaves[i]).to.equal(true);
      expect(leaves).to.deep.equal(ReceiptMerkleTree.of(values).tree.sortedLeafHashes());
    });

    it("refuses duplicates", () => {
      const values = leafValues(3, 12);
      expect(() => settlementOrder([...values, { ...values[1] }], (v) => v))
        .to.throw()
        .that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_DUPLICATE_LEAF"));
    });
  });

  it("refuses an empty tree and malformed leaves", () => {
    expect(() => MerkleTree.fromLeafHashes([])).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_EMPTY"));
    expect(() => MerkleTree.fromLeafHashes(["0x12"])).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_LEAF_INVALID"));
    expect(() => MerkleTree.fromLeafHashes(new Uint8Array(33))).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_LEAF_INVALID"));
    expect(() => MerkleTree.fromLeafHashes([new Uint8Array(32)]).getProof(1))
      .to.throw()
      .that.satisfies((e: unknown) => isAitbcError(e, "MERKLE_INDEX_OUT_OF_RANGE"));
  });
});
