import { expect } from "chai";
import { network } from "hardhat";

import { measureGas } from "../../bench/gas-scenarios.js";

const { ethers } = await network.create();

/** Ceilings from the project's gas targets; the figures are deterministic on the in-process chain. */
const CEILINGS: Record<string, number> = {
  settle_per_job_batch256: 8_000,
  lifecycle_per_job_batch100: 60_000,
  create_single: 110_000,
  accept_single: 45_000,
  settle_single: 110_000,
  anchor_root: 50_000,
};

describe("JobEscrow gas", () => {
  let gas: Record<string, number>;

  before(async () => {
    gas = await measureGas(ethers);
  });

  for (const [metric, ceiling] of Object.entries(CEILINGS)) {
    it(`${metric} stays at or below ${ceiling.toLocaleString("en")} gas`, () => {
      expect(gas[metric], metric).to.be.a("number").and.to.be.at.most(ceiling);
    });
  }

  it("settles a 1,000-item batch within the per-transaction gas cap, linearly (checklist 10)", () => {
    expect(gas.settle_batch1000_total).to.be.below(16_777_216);
    expect(gas.settle_per_job_batch1000).to.be.at.most(gas.settle_per_job_batch256);
  });

  it("beats the naive per-job escrow by a wide margin", () => {
    expect(gas.naive_lifecycle_per_job).to.be.above(3 * gas.lifecycle_per_job_batch100);
  });
});
