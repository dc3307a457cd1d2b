import { expect } from "chai";
import { solidityPacked } from "ethers";

import { receiptLeafHash } from "../../../lib/receipts/leaf.js";
import { decodeSettlementRecords, encodeSettlementRecords, encodeSettlementRecordsHex, settlementLeafValue, type SettlementRecord, sortForSettlement } from "../../../lib/receipts/settlement.js";
import { SETTLEMENT_RECORD_BYTES } from "../../../lib/protocol.js";
import { codeOf } from "../../fixtures/errors.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

describe("lib/receipts/settlement: settleBatch records", function () {
  const records: SettlementRecord[] = [
    { jobId: 1n, unitsMilli: 2_500n, receiptHash: hash(0xabc) },
    { jobId: (1n << 48n) - 1n, unitsMilli: (1n << 64n) - 1n, receiptHash: `0x${"ff".repeat(32)}` },
    { jobId: 0n, unitsMilli: 0n, receiptHash: `0x${"00".repeat(32)}` },
  ];

  it("packs uint48 | uint64 | bytes32 exactly like abi.encodePacked, and decodes back", function () {
    const packed = `0x${records.map((r) => solidityPacked(["uint48", "uint64", "bytes32"], [r.jobId, r.unitsMilli, r.receiptHash]).slice(2)).join("")}`;
    const bytes = encodeSettlementRecords(records);
    expect(bytes.length).to.equal(records.length * SETTLEMENT_RECORD_BYTES);
    expect(encodeSettlementRecordsHex(records)).to.equal(packed);
    expect(decodeSettlementRecords(bytes)).to.deep.equal(records);
    expect(decodeSettlementRecords(packed)).to.deep.equal(records);
  });

  it("refuses fields that do not fit and items that are not whole records", function () {
    expect(codeOf(() => encodeSettlementRecords([{ ...records[0], jobId: 1n << 48n }]))).to.equal("SETTLEMENT_RECORD_INVALID");
    expect(codeOf(() => encodeSettlementRecords([{ ...records[0], unitsMilli: 1n << 64n }]))).to.equal("SETTLEMENT_RECORD_INVALID");
    expect(codeOf(() => encodeSettlementRecords([{ ...records[0], receiptHash: "0x1234" }]))).to.equal("SETTLEMENT_RECORD_INVALID");
    expect(codeOf(() => decodeSettlementRecords(new Uint8Array(SETTLEMENT_RECORD_BYTES + 1)))).to.equal("SETTLEMENT_RECORD_INVALID");
    expect(codeOf(() => decodeSettlementRecords("0xzz"))).to.equal("SETTLEMENT_RECORD_INVALID");
  });

  it("orders records by strictly ascending leaf, with the price the escrow computes, and refuses duplicates", function () {
    const context = { chainId: 31337n, escrow: "0x00000000000000000000000000000000000000e5", provider: "0x00000000000000000000000000000000000000a1" };
    const rate = 2n * 10n ** 18n + 1n;
    const many = Array.from({ length: 20 }, (_, i) => ({ jobId: BigInt(i + 1), unitsMilli: BigInt(997 * (i + 1)), receiptHash: hash(i + 1) }));
    const sorted = sortForSettlement(context, many, () => rate);
    const leaves = sorted.map((r) => receiptLeafHash(settlementLeafValue(context, r, rate)));
    for (let i = 1; i < leaves.length; i++) expect(leaves[i - 1] < leaves[i]).to.equal(true);
    expect(settlementLeafValue(context, many[0], rate).price).to.equal((many[0].unitsMilli * rate) / 1000n);
    expect(codeOf(() => sortForSettlement(context, [many[0], { ...many[0] }], () => rate))).to.equal("MERKLE_DUPLICATE_LEAF");
  });
});
