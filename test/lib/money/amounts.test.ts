import { expect } from "chai";
import { Interface } from "ethers";

import { isAitbcError } from "../../../lib/errors.js";
import { buildProposal } from "../../../lib/governance/kinds.js";
import "../../../lib/governance/market-kinds.js";
import { formatTokenAmount, milliToUnits, parseTokenAmount, unitsToMilli } from "../../../lib/money/amounts.js";
import { TOKEN_DECIMALS } from "../../../lib/protocol.js";
import { parseBond } from "../../../tasks/market/provider-register.js";
import { codeOf } from "../../fixtures/errors.js";
import { LOCAL_CONTRACTS as contracts } from "../../fixtures/governance.js";

const E18 = 10n ** 18n;
const ERC20 = new Interface(["function transfer(address to, uint256 amount)"]);
const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("lib/governance: amounts", function () {
  it("parses whole-token decimal notation exactly, with `_` separators", function () {
    expect(parseTokenAmount("1000")).to.equal(1000n * E18);
    expect(parseTokenAmount("1.5")).to.equal(15n * 10n ** 17n);
    expect(parseTokenAmount("1_000_000")).to.equal(1_000_000n * E18);
    expect(parseTokenAmount("0.000000000000000001")).to.equal(1n);
    expect(parseTokenAmount(" 42 ")).to.equal(42n * E18);
    expect(parseTokenAmount("0", { allowZero: true })).to.equal(0n);
  });

  for (const bad of ["2.5e3", "-1", "+1", "1,000", "", "1.", ".5", "0x10", "1_", "abc", "1.0000000000000000001"]) {
    it(`refuses \`${bad}\` with BAD_AMOUNT`, function () {
      expect(codeOf(() => parseTokenAmount(bad))).to.equal("BAD_AMOUNT");
    });
  }

  it("refuses zero unless allowed", function () {
    expect(codeOf(() => parseTokenAmount("0.0"))).to.equal("BAD_AMOUNT");
  });

  it("formats base units with separators and no trailing zeros", function () {
    expect(formatTokenAmount(1000n * E18)).to.equal("1,000");
    expect(formatTokenAmount(25n * 10n ** 17n)).to.equal("2.5");
    expect(formatTokenAmount(1n)).to.equal("0.000000000000000001");
    expect(formatTokenAmount(1_234_567n * E18 + 5n * 10n ** 16n)).to.equal("1,234,567.05");
  });

  it("round-trips any amount through format → parse", function () {
    for (const v of [1n, 999n, E18, 123_456_789_123_456_789_123n]) {
      expect(parseTokenAmount(formatTokenAmount(v).replaceAll(",", "_"))).to.equal(v);
    }
  });
});

describe("lib/money/amounts: one grammar for every amount", function () {
  const accepted: [string, bigint][] = [
    ["1", E18],
    ["1_000", 1_000n * E18],
    ["1_000_000.5", 1_000_000n * E18 + 5n * 10n ** 17n],
    ["007", 7n * E18],
    ["1.000000000000000000", E18],
    ["0.123456789012345678", 123_456_789_012_345_678n],
    ["\t12.5\n", 125n * 10n ** 17n],
  ];
  for (const [text, base] of accepted) {
    it(`accepts ${JSON.stringify(text)}`, function () {
      expect(parseTokenAmount(text)).to.equal(base);
    });
  }

  const refused = ["1e18", "1E3", "Infinity", "NaN", "1__000", "_1", "1_.5", "1._5", "1.5_0", "1 000", "1,5", "٣", "0b1", "--1", "1.2.3", "0.0000000000000000001"];
  for (const text of refused) {
    it(`refuses ${JSON.stringify(text)} with BAD_AMOUNT`, function () {
      expect(codeOf(() => parseTokenAmount(text))).to.equal("BAD_AMOUNT");
    });
  }

  it("allows exactly the token's decimals", function () {
    expect(TOKEN_DECIMALS).to.equal(18);
    expect(parseTokenAmount(`0.${"0".repeat(TOKEN_DECIMALS - 1)}1`)).to.equal(1n);
    expect(codeOf(() => parseTokenAmount(`0.${"0".repeat(TOKEN_DECIMALS)}1`))).to.equal("BAD_AMOUNT");
  });

  it("names the option in the message and keeps the text in the details", function () {
    try {
      parseTokenAmount("1e3", { what: "--bond" });
      expect.fail("expected BAD_AMOUNT");
    } catch (error) {
      expect(isAitbcError(error, "BAD_AMOUNT")).to.equal(true);
      if (isAitbcError(error)) {
        expect(error.message).to.contain("--bond");
        expect(error.details).to.deep.equal({ text: "1e3" });
      }
    }
  });

  it("reads `provider:register --bond` and `dao:propose --amount` the same way", function () {
    for (const text of ["1_000", "2.5", "0.000000000000000001"]) {
      const transfer = buildProposal("treasury-transfer", { to: ALICE, amount: text }, contracts, "d");
      const [, amount] = ERC20.decodeFunctionData("transfer", transfer.actions[0].calldata);
      expect(parseBond(text)).to.equal(amount);
      expect(parseBond(text)).to.equal(parseTokenAmount(text));
    }
    for (const text of ["1e3", "-5", "0", "1,000"]) {
      expect(codeOf(() => parseBond(text))).to.equal("BAD_AMOUNT");
      expect(codeOf(() => buildProposal("treasury-transfer", { to: ALICE, amount: text }, contracts, "d"))).to.equal("BAD_AMOUNT");
    }
  });

  it("formats what it parses", function () {
    for (const text of ["1", "2.5", "1_000", "123_456.000000000000000001"]) {
      expect(parseTokenAmount(formatTokenAmount(parseTokenAmount(text)).replaceAll(",", "_"))).to.equal(parseTokenAmount(text));
    }
    expect(formatTokenAmount(-25n * 10n ** 17n)).to.equal("-2.5");
    expect(formatTokenAmount(0n)).to.equal("0");
  });

  it("parses job sizes in units with at most three decimals", function () {
    expect(unitsToMilli("2.5")).to.equal(2_500n);
    expect(unitsToMilli(" 0.001 ")).to.equal(1n);
    for (const bad of ["2.5001", "1_000", "-1", "1e3", ""]) expect(codeOf(() => unitsToMilli(bad))).to.equal("MONEY_INVALID_UNITS");
    expect(milliToUnits(2_500n)).to.equal("2.5");
    expect(codeOf(() => milliToUnits(-1n))).to.equal("MONEY_INVALID_UNITS");
  });
});
