import { expect } from "chai";

import { CLOCK_SLACK_MS, MeteringError, meterUnitsMilli } from "../../../relayer/core/metering.js";

function expectMeteringError(fn: () => unknown, code: MeteringError["code"]): void {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MeteringError);
    expect((error as MeteringError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("relayer/core: metering", function () {
  const t = { startedAt: 1_700_000_000_000, completedAt: 1_700_000_003_000, computeMs: 2_500 };

  it("meters GPU-seconds at ms resolution: unitsMilli equals computeMs", function () {
    expect(meterUnitsMilli(t)).to.equal(2_500n);
    expect(meterUnitsMilli({ ...t, computeMs: 0 })).to.equal(0n);
    expect(meterUnitsMilli({ ...t, computeMs: 1 })).to.equal(1n);
  });

  it("caps the units at the escrowed maximum", function () {
    expect(meterUnitsMilli(t, 2_000n)).to.equal(2_000n);
    expect(meterUnitsMilli(t, 2_500n)).to.equal(2_500n);
    expect(meterUnitsMilli(t, 10_000n)).to.equal(2_500n);
    expect(meterUnitsMilli(t, 0n)).to.equal(0n);
  });

  it("accepts compute up to the wall interval plus the clock slack, and no more", function () {
    const wall = t.completedAt - t.startedAt;
    expect(meterUnitsMilli({ ...t, computeMs: wall })).to.equal(BigInt(wall));
    expect(meterUnitsMilli({ ...t, computeMs: wall + CLOCK_SLACK_MS })).to.equal(BigInt(wall + CLOCK_SLACK_MS));
    expectMeteringError(
      () => meterUnitsMilli({ ...t, computeMs: wall + CLOCK_SLACK_MS + 1 }),
      "METERING_INVALID_TIMINGS",
    );
  });

  it("refuses timings that cannot be honest", function () {
    const bad = [
      { ...t, computeMs: 1.5 },
      { ...t, computeMs: -1 },
      { ...t, computeMs: Number.NaN },
      { ...t, computeMs: Number.POSITIVE_INFINITY },
      { ...t, startedAt: -5 },
      { ...t, completedAt: 2 ** 53 },
      { ...t, completedAt: t.startedAt - 1, computeMs: 0 },
    ];
    for (const timings of bad) expectMeteringError(() => meterUnitsMilli(timings), "METERING_INVALID_TIMINGS");
  });

  it("refuses a cap outside uint64", function () {
    expectMeteringError(() => meterUnitsMilli(t, -1n), "METERING_INVALID_CAP");
    expectMeteringError(() => meterUnitsMilli(t, 1n << 64n), "METERING_INVALID_CAP");
    expect(meterUnitsMilli(t, (1n << 64n) - 1n)).to.equal(2_500n);
  });
});
