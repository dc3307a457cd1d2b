import { expect } from "chai";

import { bumpFee, medianTip, quoteFees, replacementFees, withGasMargin, type FeePolicy } from "../../../relayer/core/fees.js";

const GWEI = 1_000_000_000n;
const policy: FeePolicy = { cap: 500n * GWEI, minTip: 1n * GWEI, baseFeeMultiplier: 2n, bumpPermille: 125n };

describe("relayer/core/fees", () => {
  it("quotes next base fee × multiplier + the median recent tip", () => {
    expect(quoteFees({ nextBaseFee: 10n * GWEI, tips: [3n * GWEI, 1n * GWEI, 2n * GWEI] }, policy)).to.deep.equal({
      maxFeePerGas: 22n * GWEI,
      maxPriorityFeePerGas: 2n * GWEI,
    });
  });

  it("never tips below the floor, also with no fee history", () => {
    expect(quoteFees({ nextBaseFee: 0n, tips: [] }, policy)).to.deep.equal({ maxFeePerGas: 1n * GWEI, maxPriorityFeePerGas: 1n * GWEI });
    expect(quoteFees({ nextBaseFee: 5n, tips: [1n, 2n] }, policy).maxPriorityFeePerGas).to.equal(1n * GWEI);
  });

  it("caps the max fee and keeps the tip within it", () => {
    expect(quoteFees({ nextBaseFee: 400n * GWEI, tips: [600n * GWEI] }, policy)).to.deep.equal({ maxFeePerGas: 500n * GWEI, maxPriorityFeePerGas: 500n * GWEI });
  });

  it("takes the upper median of an even count", () => {
    expect(medianTip([4n, 1n, 3n, 2n])).to.equal(3n);
    expect(medianTip([])).to.equal(0n);
  });

  it("bumps by the per-mille rounded up, and by at least 1 wei", () => {
    expect(bumpFee(1000n, 125n)).to.equal(1125n);
    expect(bumpFee(1001n, 125n)).to.equal(1127n);
    expect(bumpFee(0n, 125n)).to.equal(1n);
  });

  it("replaces with the higher of today's quote and the bumped previous fees", () => {
    const last = { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 2n * GWEI };
    expect(replacementFees(last, { maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: 5n * GWEI }, policy)).to.deep.equal({
      ok: true,
      fees: { maxFeePerGas: 112_500_000_000n, maxPriorityFeePerGas: 5n * GWEI },
    });
    expect(replacementFees(last, { maxFeePerGas: 200n * GWEI, maxPriorityFeePerGas: 1n * GWEI }, policy)).to.deep.equal({
      ok: true,
      fees: { maxFeePerGas: 200n * GWEI, maxPriorityFeePerGas: 2_250_000_000n },
    });
  });

  it("refuses a replacement the cap keeps below the bump rule, naming the fee it needs", () => {
    const last = { maxFeePerGas: 480n * GWEI, maxPriorityFeePerGas: 2n * GWEI };
    expect(replacementFees(last, last, policy)).to.deep.equal({ ok: false, needed: 540n * GWEI });
  });

  it("adds the gas margin per mille, rounded down", () => {
    expect(withGasMargin(100_000n, 200n)).to.equal(120_000n);
    expect(withGasMargin(7n, 200n)).to.equal(8n);
  });
});
