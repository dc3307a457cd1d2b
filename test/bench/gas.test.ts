import { expect } from "chai";
import { network } from "hardhat";

import { type GasReport, measureGasReport } from "../../bench/gas-scenarios.js";

const { ethers } = await network.create();

/** Ceilings from the project's gas targets; the figures are deterministic on the in-process chain. */
const CEILINGS: Record<string, number> = {
  settle_per_job_batch256: 8_000,
  lifecycle_per_job_batch100: 60_000,
  create_single: 110_000,
  accept_single: 45_000,
  settle_single: 110_000,
  anchor_root: 50_000,
  give_back_single: 70_000,
};

describe("JobEscrow gas", () => {
  let report: GasReport;
  let gas: Record<string, number>;

  before(async () => {
    report = await measureGasReport(ethers);
    gas = report.figures;
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

  it("gives every figure its traffic", () => {
    for (const metric of Object.keys(gas)) {
      const t = report.traffic[metric];
      expect(t, metric).to.not.equal(undefined);
      expect(t.counts, metric).to.be.a("string").and.not.equal("");
      expect(t.jobs, metric).to.be.at.least(1);
    }
  });

  it("the batched full lifecycle (release and withdraws included) beats the one-job-per-transaction path 3 times over", () => {
    expect(gas.one_job_per_tx_lifecycle).to.be.above(3 * gas.lifecycle_full_per_job_25_per_create);
    expect(gas.lifecycle_full_per_job_25_per_create).to.be.above(gas.lifecycle_per_job_batch100, "release and withdraws cost something");
  });

  it("puts the worst traffic next to the best: distinct clients and one job per create call cost more", () => {
    expect(report.traffic.settle_per_job_batch256_256_clients.clients).to.equal(256);
    expect(gas.settle_per_job_batch256_256_clients).to.be.above(gas.settle_per_job_batch256);
    expect(report.traffic.lifecycle_full_per_job_1_per_create.jobsPerCreate).to.equal(1);
    expect(gas.lifecycle_full_per_job_1_per_create).to.be.above(gas.lifecycle_full_per_job_25_per_create);
  });

  it("accepts and settles a private job for exactly the gas of a public one", () => {
    expect(report.traffic.accept_single_private.promptBytes).to.be.above(report.traffic.accept_single_public_rerun.promptBytes);
    expect(gas.accept_single_private).to.equal(gas.accept_single_public_rerun);
    expect(gas.settle_single_private).to.equal(gas.settle_single_public_rerun);
  });

  it("charges a private prompt only its extra calldata bytes, at the measured per-byte price", () => {
    const perByte = gas.prompt_gas_per_kib_1k_2k / 1024;
    const extra4 = report.traffic.create_private_open_4_recipients.promptBytes - report.traffic.create_single.promptBytes;
    const extra1 = report.traffic.create_private_directed_1_recipient.promptBytes - report.traffic.create_single_directed.promptBytes;
    for (const [privateGas, publicGas, extra] of [
      [gas.create_private_open_4_recipients, gas.create_single, extra4],
      [gas.create_private_directed_1_recipient, gas.create_single_directed, extra1],
    ]) {
      expect(privateGas - publicGas).to.be.within(Math.floor(extra * (perByte - 1)), Math.ceil(extra * (perByte + 2)));
    }
  });
});
