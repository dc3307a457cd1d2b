import { expect } from "chai";

import { formatDuration, formatTimestamp, parseDuration } from "../../lib/time.js";
import { codeOf } from "../fixtures/errors.js";

describe("lib/governance: amounts", function () {
  it("parses durations with units and refuses fractions", function () {
    expect(parseDuration("600")).to.equal(600n);
    expect(parseDuration("10m")).to.equal(600n);
    expect(parseDuration("2h")).to.equal(7200n);
    expect(parseDuration("1d")).to.equal(86_400n);
    expect(parseDuration("1w")).to.equal(604_800n);
    for (const bad of ["1.5h", "-5", "10y", "", "m"]) expect(codeOf(() => parseDuration(bad))).to.equal("BAD_DURATION");
    expect(formatDuration(45n)).to.equal("45 s");
    expect(formatDuration(600n)).to.equal("10 min");
    expect(formatDuration(2n * 86_400n + 3_600n)).to.equal("2 d 1 h");
  });

  it("prints chain timestamps in UTC to the second", function () {
    expect(formatTimestamp(1_764_417_631n)).to.equal("2025-11-29 12:00:31 UTC");
  });
});
