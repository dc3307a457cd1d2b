import { expect } from "chai";
import { network } from "hardhat";

import { measureChannelGas } from "../../bench/gas-channel-scenario.js";

const { ethers } = await network.create();

/** Ceilings from the channel mode's gas goal (≤ 2,000 per job amortised); the figures are deterministic. */
const CEILINGS: Record<string, number> = {
  claim_per_job: 2_000,
  claim_per_client: 20_000,
  channel_open_per_client: 90_000,
  claim_single_voucher_tx: 70_000,
  claim_unvouched_tx: 150_000,
};

describe("JobChannels gas (one provider, 256 distinct clients x 10 jobs, one claim)", () => {
  let gas: Record<string, number>;

  before(async () => {
    gas = await measureChannelGas(ethers);
  });

  for (const [metric, ceiling] of Object.entries(CEILINGS)) {
    it(`${metric} stays at or below ${ceiling.toLocaleString("en")} gas`, () => {
      expect(gas[metric], metric).to.be.a("number").and.to.be.at.most(ceiling);
    });
  }

  it("costs the escrow's settle-per-job figure many times over less", () => {
    expect(gas.claim_256_clients_total).to.be.below(16_777_216);
    expect(gas.claim_per_job * 4).to.be.below(7_613);
  });
});
