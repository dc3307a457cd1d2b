/**
 * Checklist 15: roots built on-chain by settleBatch == `@openzeppelin/merkle-tree` StandardMerkleTree roots == the
 * project's fast builder (lib/merkle.ts, lib/receipts/proof-bundle.ts), for every size 1..40 and a spread up to 1,000 (odd and power-of-two edges).
 * Roots come from eth_call on one set of 1,000 accepted jobs, so every size costs one call, not a new deployment.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { network } from "hardhat";

import { ReceiptMerkleTree } from "../../../lib/receipts/proof-bundle.js";
import { RECEIPT_LEAF_ENCODING, type ReceiptLeafValue } from "../../../lib/receipts/leaf.js";
import { encodeSettlementRecords, type SettlementRecord } from "../../../lib/receipts/settlement.js";
import { createJobs, deployMarketFixture, receiptHashFor } from "../../../tools/market-fixture.js";

const { ethers } = await network.create();
const RATE = 2n * 10n ** 18n;
const SIZES = [
  ...Array.from({ length: 40 }, (_, i) => i + 1),
  63, 64, 65, 99, 127, 128, 129, 255, 256, 257, 333, 511, 512, 513, 700, 777, 999, 1000,
];

describe("settleBatch Merkle root — differential against @openzeppelin/merkle-tree and lib/merkle", function () {
  this.timeout(600_000);
  let f: Awaited<ReturnType<typeof deployMarketFixture>>;
  let records: SettlementRecord[];

  before(async () => {
    f = await deployMarketFixture(ethers, { clients: 4, providers: 1, params: { exposureMultiple: 10_000 } });
    const ids: bigint[] = [];
    for (let c = 0; c < 4; c++) for (let k = 0; k < 2; k++) ids.push(...(await createJobs(f, f.clients[c], 125, { maxUnitsMilli: 100_000n })));
    const escrow = f.market.jobEscrow.connect(f.providers[0]);
    for (let i = 0; i < ids.length; i += 250) await (await escrow.acceptJobs(ids.slice(i, i + 250))).wait();
    records = ids.map((jobId, i) => ({ jobId, unitsMilli: 1n + ((BigInt(i) * 104_729n) % 100_000n), receiptHash: receiptHashFor(jobId * 31n) }));
  });

  function leafValue(r: SettlementRecord): ReceiptLeafValue {
    return {
      chainId: f.chainId,
      escrow: f.market.addresses.jobEscrow,
      jobId: r.jobId,
      provider: f.providers[0].address,
      unitsMilli: r.unitsMilli,
      price: (r.unitsMilli * RATE) / 1000n,
      receiptHash: r.receiptHash,
    };
  }

  for (const size of SIZES) {
    it(`size ${size}: contract root == OpenZeppelin root == lib/merkle root`, async () => {
      const subset = records.slice(0, size);
      const values = subset.map(leafValue);
      const oz = StandardMerkleTree.of(
        values.map((v) => [v.chainId, v.escrow, v.jobId, v.provider, v.unitsMilli, v.price, v.receiptHash]),
        [...RECEIPT_LEAF_ENCODING],
      );
      const fast = ReceiptMerkleTree.of(values);
      // Settlement order = ascending leaf hash, which is the order OpenZeppelin sorts the leaves into.
      const order = values.map((v, i) => ({ i, leaf: oz.leafHash([v.chainId, v.escrow, v.jobId, v.provider, v.unitsMilli, v.price, v.receiptHash]) }));
      order.sort((a, b) => (a.leaf < b.leaf ? -1 : a.leaf > b.leaf ? 1 : 0));
      const items = encodeSettlementRecords(order.map((o) => subset[o.i]));
      const [, root] = await f.market.jobEscrow.connect(f.providers[0]).settleBatch.staticCall(items);
      expect(root).to.equal(oz.root);
      expect(fast.root).to.equal(oz.root);
    });
  }

  it("proofs from OpenZeppelin verify against a settled root on-chain", async () => {
    const subset = records.slice(0, 37);
    const values = subset.map(leafValue);
    const tuples = values.map((v) => [v.chainId, v.escrow, v.jobId, v.provider, v.unitsMilli, v.price, v.receiptHash]);
    const oz = StandardMerkleTree.of(tuples, [...RECEIPT_LEAF_ENCODING]);
    const sorted = tuples.map((t, i) => ({ i, leaf: oz.leafHash(t) })).sort((a, b) => (a.leaf < b.leaf ? -1 : 1));
    await (await f.market.jobEscrow.connect(f.providers[0]).settleBatch(encodeSettlementRecords(sorted.map((s) => subset[s.i])))).wait();
    for (const [i, v] of values.entries()) {
      const leaf = { jobId: v.jobId, provider: v.provider, unitsMilli: v.unitsMilli, price: v.price, receiptHash: v.receiptHash };
      expect(await f.market.jobEscrow.verifyReceiptInclusion(oz.root, leaf, oz.getProof(i))).to.equal(true);
      expect(await f.market.jobEscrow.verifyReceiptInclusion(oz.root, { ...leaf, unitsMilli: v.unitsMilli + 1n }, oz.getProof(i))).to.equal(false);
    }
  });
});
