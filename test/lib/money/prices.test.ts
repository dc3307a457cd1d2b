import { expect } from "chai";
import { network } from "hardhat";

import { isAitbcError } from "../../../lib/errors.js";
import { MAX_RATE, MAX_UNITS_MILLI } from "../../../lib/protocol.js";
import { escrowFor, feeFor, priceFor, settle } from "../../../lib/money/prices.js";
import { milliToUnits, parseTokenAmount, unitsToMilli } from "../../../lib/money/amounts.js";
import { encodeSettlementRecords, sortForSettlement } from "../../../lib/receipts/settlement.js";
import { deployMarketFixture, receiptHashFor } from "../../../tools/market-fixture.js";

const { ethers, networkHelpers } = await network.create();

function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (error) {
    expect(isAitbcError(error, code), String(error)).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("lib/money", () => {
  it("implements the documented formulas", () => {
    expect(escrowFor(1n, 1001n)).to.equal(2n);
    expect(priceFor(1n, 1999n)).to.equal(1n);
    expect(feeFor(10_000n, 250n)).to.equal(250n);
    const s = settle({ maxUnitsMilli: 10_000n, unitsMilli: 4_321n, rate: 2n * 10n ** 18n, feeBps: 250n });
    expect(s.provider + s.fee + s.client).to.equal(s.escrow);
  });

  it("always splits to exactly the escrow (random inputs)", () => {
    let seed = 12345n;
    const next = (mod: bigint) => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 64n);
      return seed % mod;
    };
    for (let i = 0; i < 2_000; i++) {
      const maxUnitsMilli = 1n + next(MAX_UNITS_MILLI);
      const unitsMilli = 1n + next(maxUnitsMilli);
      const rate = 1n + next(MAX_RATE);
      const s = settle({ maxUnitsMilli, unitsMilli, rate, feeBps: next(2_001n) });
      expect(s.provider + s.fee + s.client).to.equal(s.escrow);
      expect(s.client >= 0n && s.fee <= s.price).to.equal(true);
    }
  });

  it("refuses bad inputs with stable codes", () => {
    expectCode(() => escrowFor(0n, 1n), "MONEY_INVALID_MAX_UNITS");
    expectCode(() => escrowFor(MAX_UNITS_MILLI + 1n, 1n), "MONEY_INVALID_MAX_UNITS");
    expectCode(() => escrowFor(1n, 0n), "MONEY_INVALID_RATE");
    expectCode(() => escrowFor(1n, MAX_RATE + 1n), "MONEY_INVALID_RATE");
    expectCode(() => priceFor(0n, 1n), "MONEY_INVALID_UNITS");
    expectCode(() => feeFor(1n, 2_001n), "MONEY_INVALID_FEE");
    expectCode(() => settle({ maxUnitsMilli: 10n, unitsMilli: 11n, rate: 1n, feeBps: 0n }), "MONEY_UNITS_ABOVE_MAX");
    expectCode(() => unitsToMilli("2.5001"), "MONEY_INVALID_UNITS");
    expectCode(() => parseTokenAmount("-1"), "BAD_AMOUNT");
  });

  it("parses and formats units and token amounts", () => {
    expect(unitsToMilli("2.5")).to.equal(2_500n);
    expect(unitsToMilli("3")).to.equal(3_000n);
    expect(milliToUnits(2_500n)).to.equal("2.5");
    expect(milliToUnits(1n)).to.equal("0.001");
    expect(parseTokenAmount("0.5")).to.equal(5n * 10n ** 17n);
  });

  it("matches JobEscrow exactly: quote, price, fee, refund", async () => {
    const f = await networkHelpers.loadFixture(async function moneyFixture() {
      return deployMarketFixture(ethers, { clients: 1, providers: 1 });
    });
    const escrow = f.market.jobEscrow;
    await (await escrow.connect(f.owner).setFeeBps(333)).wait();
    const cases = [
      { model: 1, max: 1n, units: 1n },
      { model: 2, max: 7n, units: 3n },
      { model: 3, max: 12_345n, units: 12_344n },
      { model: 4, max: 999_999n, units: 1n },
    ];
    for (const c of cases) {
      const [rate] = await f.market.modelRegistry.rateOf(c.model);
      expect(await escrow.quote(c.model, c.max)).to.equal(escrowFor(c.max, rate));
      const now = BigInt(await networkHelpers.time.latest());
      await (await escrow.connect(f.clients[0]).createJob(c.model, c.max, ethers.ZeroAddress, now + 600n, "0x")).wait();
      const [id] = await escrow.counters();
      await (await escrow.connect(f.providers[0]).acceptJob(id)).wait();
      const clientBefore = await escrow.balanceOf(f.clients[0].address);
      const treasuryBefore = await escrow.balanceOf(f.treasury.address);
      const items = encodeSettlementRecords(sortForSettlement({ chainId: f.chainId, escrow: f.market.addresses.jobEscrow, provider: f.providers[0].address }, [{ jobId: id, unitsMilli: c.units, receiptHash: receiptHashFor(id) }], () => rate));
      await (await escrow.connect(f.providers[0]).settleBatch(items)).wait();
      const [, batches] = await escrow.counters();
      const expected = settle({ maxUnitsMilli: c.max, unitsMilli: c.units, rate, feeBps: 333n });
      expect((await escrow.job(id)).price).to.equal(expected.price);
      expect((await escrow.payoutOf(batches))[1]).to.equal(expected.provider);
      expect((await escrow.balanceOf(f.treasury.address)) - treasuryBefore).to.equal(expected.fee);
      expect((await escrow.balanceOf(f.clients[0].address)) - clientBefore).to.equal(expected.client);
    }
  });
});
