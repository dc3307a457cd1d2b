import { expect } from "chai";

import { BatchPlanner, compareLeafHash, maxItemsForGas, type BatchPlannerConfig, type PlannedReceipt } from "../../../relayer/core/batch-planner.js";
import { isRelayerError, type RelayerErrorCode } from "../../../relayer/core/errors.js";

function config(over: Partial<BatchPlannerConfig> = {}): BatchPlannerConfig {
  return {
    maxItems: 4,
    maxAgeSeconds: 60,
    deadlineMarginSeconds: 120,
    gas: { baseGas: 50_000n, perItemGas: 20_000n, gasBudget: 1_000_000n },
    maxInFlight: 1,
    ...over,
  };
}

/** Leaf hashes deliberately not in id order, so the on-chain order is visible. */
function receipt(i: number, over: Partial<PlannedReceipt> = {}): PlannedReceipt {
  const leaf = ((i * 7919) % 251).toString(16).padStart(2, "0").repeat(32);
  return { receiptId: `r${i}`, jobId: BigInt(i), leafHash: `0x${leaf}`, signedAt: 1_000, deadline: 100_000, ...over };
}

function expectCode(fn: () => unknown, code: RelayerErrorCode): void {
  try {
    fn();
  } catch (error) {
    expect(isRelayerError(error, code), `expected ${code}, got ${String(error)}`).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

function cut(p: BatchPlanner, now: number) {
  const r = p.plan(now);
  if (r.kind !== "cut") expect.fail(`expected a cut, got ${JSON.stringify(r)}`);
  return r.batch;
}

describe("relayer/core/batch-planner", () => {
  it("waits below every threshold and says when to wake up", () => {
    const p = new BatchPlanner(config());
    expect(p.plan(1_000)).to.deep.equal({ kind: "wait", wakeAt: null, blocked: false, expired: [] });
    p.add(receipt(1, { signedAt: 1_000 }));
    p.add(receipt(2, { signedAt: 1_010 }));
    expect(p.plan(1_059)).to.deep.include({ kind: "wait", wakeAt: 1_060, blocked: false });
  });

  it("cuts on size and orders items by ascending leaf hash", () => {
    const p = new BatchPlanner(config());
    for (let i = 1; i <= 4; i++) p.add(receipt(i));
    const b = cut(p, 1_001);
    expect(b.reason).to.equal("size");
    expect(b.items).to.have.length(4);
    const leaves = b.items.map((r) => r.leafHash);
    expect(leaves).to.deep.equal([...leaves].sort());
  });

  it("uses the caller's comparator when given one", () => {
    const p = new BatchPlanner(config(), (a, b) => Number(b.jobId - a.jobId));
    for (let i = 1; i <= 4; i++) p.add(receipt(i));
    expect(cut(p, 1_001).items.map((r) => r.receiptId)).to.deep.equal(["r4", "r3", "r2", "r1"]);
  });

  it("cuts on age at exactly maxAgeSeconds after the oldest receipt", () => {
    const p = new BatchPlanner(config());
    p.add(receipt(1, { signedAt: 1_000 }));
    expect(p.plan(1_059).kind).to.equal("wait");
    expect(cut(p, 1_060).reason).to.equal("age");
  });

  it("cuts under deadline pressure: earliest deadline minus the margin", () => {
    const p = new BatchPlanner(config({ maxAgeSeconds: 10_000 }));
    p.add(receipt(1, { deadline: 2_000 }));
    p.add(receipt(2, { deadline: 90_000 }));
    const w = p.plan(1_879);
    expect(w).to.deep.include({ kind: "wait", wakeAt: 1_880 });
    const b = cut(p, 1_880);
    expect(b.reason).to.equal("deadline");
    expect(b.items.map((r) => r.receiptId).sort()).to.deep.equal(["r1", "r2"]);
  });

  it("the gas budget caps the batch below maxItems", () => {
    // (200_000 − 50_000) / 20_000 = 7.5 → 7 items, though maxItems is 100.
    const gas = { baseGas: 50_000n, perItemGas: 20_000n, gasBudget: 200_000n };
    expect(maxItemsForGas(gas)).to.equal(7);
    const p = new BatchPlanner(config({ maxItems: 100, gas }));
    expect(p.capacity).to.equal(7);
    for (let i = 1; i <= 10; i++) p.add(receipt(i));
    const b = cut(p, 1_001);
    expect(b.reason).to.equal("size");
    expect(b.items).to.have.length(7);
  });

  it("when more are pending than fit, the most urgent deadlines go first", () => {
    const p = new BatchPlanner(config({ maxItems: 2 }));
    p.add(receipt(1, { deadline: 50_000 }));
    p.add(receipt(2, { deadline: 5_000 }));
    p.add(receipt(3, { deadline: 7_000 }));
    expect(cut(p, 1_001).items.map((r) => r.receiptId).sort()).to.deep.equal(["r2", "r3"]);
  });

  it("never plans a receipt whose deadline has passed and reports it as expired", () => {
    const p = new BatchPlanner(config());
    p.add(receipt(1, { deadline: 1_500 }));
    p.add(receipt(2, { deadline: 1_500 }));
    const r = p.plan(1_500);
    expect(r.kind).to.equal("wait");
    expect(r.expired.map((x) => x.receiptId).sort()).to.deep.equal(["r1", "r2"]);
    p.drop("r1");
    p.drop("r2");
    expect(p.pendingCount).to.equal(0);
  });

  it("commit moves items in flight; confirmation removes them for good", () => {
    const p = new BatchPlanner(config());
    for (let i = 1; i <= 4; i++) p.add(receipt(i));
    const b = cut(p, 1_001);
    p.commit(11, b.items.map((r) => r.receiptId));
    expect([p.pendingCount, p.inFlightCount]).to.deep.equal([0, 1]);
    expect(p.inFlight(11)).to.have.length(4);
    expect(p.onBatchConfirmed(11)).to.have.length(4);
    expect([p.pendingCount, p.inFlightCount]).to.deep.equal([0, 0]);
    // The leaves are free again only after confirmation, i.e. never reused while in flight.
    p.add(receipt(1));
  });

  it("a failed batch returns its items to pending, and they are cut first, at once", () => {
    const p = new BatchPlanner(config({ maxItems: 2, maxAgeSeconds: 10_000 }));
    p.add(receipt(1));
    p.add(receipt(2));
    p.commit(1, cut(p, 1_001).items.map((r) => r.receiptId));
    p.add(receipt(3));
    expect(p.onBatchFailed(1).map((r) => r.receiptId).sort()).to.deep.equal(["r1", "r2"]);
    expect(p.pendingCount).to.equal(3);
    const again = cut(p, 1_002);
    expect(again.reason).to.equal("retry");
    // Retried first, but never as the set that just failed (it would revert the same way): half of it goes.
    expect(again.items).to.have.length(1);
    expect(["r1", "r2"]).to.include(again.items[0].receiptId);
  });

  it("never retries a set of receipts into a revert it has seen: it re-cuts, and holds a receipt that failed alone until it expires", () => {
    const p = new BatchPlanner(config({ maxItems: 4, maxAgeSeconds: 10_000 }));
    for (const i of [1, 2, 3, 4]) p.add(receipt(i, { deadline: 50_000 }));
    const first = cut(p, 1_001).items.map((r) => r.receiptId);
    expect(first.slice().sort()).to.deep.equal(["r1", "r2", "r3", "r4"]);
    p.commit(1, first);
    p.onBatchFailed(1);
    expect(p.hasFailed(first)).to.equal(true);

    // Each retry is a set not seen before; every failure narrows it down to the receipt that cannot settle.
    const seen = new Set<string>([first.slice().sort().join(",")]);
    let batchId = 2;
    let culprit: string | undefined;
    for (let round = 0; round < 8; round++) {
      const plan = p.plan(1_002 + round);
      if (plan.kind !== "cut") break;
      const ids = plan.batch.items.map((r) => r.receiptId);
      const key = ids.slice().sort().join(",");
      expect(seen.has(key), `set ${key} retried`).to.equal(false);
      seen.add(key);
      p.commit(batchId, ids);
      // r3 is the receipt whose settlement reverts; a batch without it lands.
      if (ids.includes("r3")) p.onBatchFailed(batchId);
      else p.onBatchConfirmed(batchId);
      if (ids.length === 1 && ids[0] === "r3") culprit = "r3";
      batchId += 1;
    }
    expect(culprit).to.equal("r3");
    expect(p.hasFailed(["r3"])).to.equal(true);
    // The others settled; r3 alone is pending and held: no cut, a wake-up at its deadline, then it expires.
    expect(p.pendingCount).to.equal(1);
    expect(p.plan(2_000)).to.deep.include({ kind: "wait", wakeAt: 50_000, blocked: false });
    const late = p.plan(50_000);
    expect(late.kind).to.equal("wait");
    expect(late.expired.map((r) => r.receiptId)).to.deep.equal(["r3"]);
    p.drop("r3");
    expect(p.hasFailed(["r3"])).to.equal(false);
  });

  it("holds back when the in-flight limit is reached", () => {
    const p = new BatchPlanner(config({ maxItems: 1 }));
    p.add(receipt(1));
    p.add(receipt(2));
    p.commit(1, cut(p, 1_001).items.map((r) => r.receiptId));
    expect(p.plan(1_001)).to.deep.include({ kind: "wait", blocked: true });
    p.onBatchConfirmed(1);
    expect(cut(p, 1_001).items).to.have.length(1);
  });

  it("restores in-flight batches after a restart", () => {
    const p = new BatchPlanner(config());
    p.restoreInFlight(9, [receipt(1), receipt(2)]);
    expect([p.pendingCount, p.inFlightCount]).to.deep.equal([0, 1]);
    expectCode(() => p.add(receipt(1)), "RELAYER_DUPLICATE_RECEIPT");
    expectCode(() => p.restoreInFlight(9, [receipt(3)]), "RELAYER_DUPLICATE_RECEIPT");
  });

  it("refuses duplicates, unknown receipts and unknown batches with codes", () => {
    const p = new BatchPlanner(config());
    p.add(receipt(1));
    expectCode(() => p.add(receipt(1)), "RELAYER_DUPLICATE_RECEIPT");
    expectCode(() => p.add({ ...receipt(1), receiptId: "other" }), "RELAYER_DUPLICATE_LEAF");
    expectCode(() => p.add({ ...receipt(1), receiptId: "upper", leafHash: receipt(1).leafHash.toUpperCase().replace("0X", "0x") }), "RELAYER_DUPLICATE_LEAF");
    expectCode(() => p.commit(1, ["nope"]), "RELAYER_RECEIPT_NOT_PENDING");
    expectCode(() => p.commit(1, ["r1", "r1"]), "RELAYER_DUPLICATE_RECEIPT");
    expectCode(() => p.drop("nope"), "RELAYER_RECEIPT_NOT_PENDING");
    expectCode(() => p.onBatchConfirmed(5), "RELAYER_UNKNOWN_BATCH");
    expectCode(() => p.onBatchFailed(5), "RELAYER_UNKNOWN_BATCH");
    expectCode(() => p.inFlight(5), "RELAYER_UNKNOWN_BATCH");
  });

  it("refuses configurations that could never cut a batch", () => {
    expectCode(() => new BatchPlanner(config({ maxItems: 0 })), "RELAYER_INVALID_CONFIG");
    expectCode(() => new BatchPlanner(config({ maxInFlight: 0 })), "RELAYER_INVALID_CONFIG");
    expectCode(() => new BatchPlanner(config({ maxAgeSeconds: -1 })), "RELAYER_INVALID_CONFIG");
    expectCode(() => new BatchPlanner(config({ deadlineMarginSeconds: 0.5 })), "RELAYER_INVALID_CONFIG");
    expectCode(
      () => new BatchPlanner(config({ gas: { baseGas: 100_000n, perItemGas: 20_000n, gasBudget: 119_999n } })),
      "RELAYER_INVALID_CONFIG",
    );
    expect(new BatchPlanner(config({ maxItems: 9, gas: { baseGas: 100_000n, perItemGas: 20_000n, gasBudget: 120_000n } })).capacity).to.equal(1);
  });

  it("compareLeafHash is byte order regardless of case", () => {
    const a = receipt(1, { leafHash: `0x${"0a".repeat(32)}` });
    const b = receipt(2, { leafHash: `0x${"0B".repeat(32)}` });
    expect(compareLeafHash(a, b)).to.equal(-1);
    expect(compareLeafHash(b, a)).to.equal(1);
    expect(compareLeafHash(a, a)).to.equal(0);
  });
});
