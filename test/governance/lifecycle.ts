import { expect } from "chai";
import { network } from "hardhat";

import { buildProposal, decodeAction } from "../../lib/governance/kinds.js";
import { readProposal } from "../../lib/governance/proposals.js";
import { deployGovernanceSystem, E18, ProposalDriver, selfDelegate, State, Vote, type GovernanceSystem } from "../fixtures/governance.js";

const { ethers, networkHelpers } = await network.create();

describe("governance lifecycle: propose → vote → queue → execute", function () {
  const measured: Record<string, Record<string, bigint | undefined>> = {};

  async function fixture(): Promise<GovernanceSystem> {
    const sys = await deployGovernanceSystem(ethers, networkHelpers);
    await selfDelegate(sys.token, [sys.deployer, sys.holders[0]]);
    return sys;
  }

  function driverFor(sys: GovernanceSystem, kind: string, input: Record<string, string>, description: string): ProposalDriver {
    const built = buildProposal(kind, input, sys.deployment.contracts, description);
    return new ProposalDriver(sys, built.actions, built.description);
  }

  after(function () {
    console.log("\n    gas used per step (castVote: the first vote on the proposal):");
    for (const [name, gas] of Object.entries(measured)) {
      console.log(`      ${name.padEnd(20)} propose ${gas.propose}  castVote ${gas.castVote}  queue ${gas.queue}  execute ${gas.execute}`);
    }
  });

  it("moves tokens from the treasury only after the vote and the timelock delay", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const recipient = sys.outsiders[0];
    const p = driverFor(sys, "treasury-transfer", { to: recipient.address, amount: "1000" }, "Grant for the dashboard");
    const treasuryBefore = await sys.token.balanceOf(sys.timelock);

    await p.propose();
    expect(await p.state()).to.equal(State.Pending);
    await p.waitForSnapshot();
    expect(await p.state()).to.equal(State.Active);
    await p.vote(sys.deployer, Vote.For, "fund it");
    await p.vote(sys.holders[0], Vote.Against);
    await p.waitForDeadline();
    expect(await p.state()).to.equal(State.Succeeded);
    await p.queue();
    expect(await p.state()).to.equal(State.Queued);
    expect(await sys.token.balanceOf(recipient)).to.equal(0n);
    await p.waitForEta();
    await p.execute(sys.outsiders[1]);

    expect(await p.state()).to.equal(State.Executed);
    expect(await sys.token.balanceOf(recipient)).to.equal(1000n * E18);
    expect(await sys.token.balanceOf(sys.timelock)).to.equal(treasuryBefore - 1000n * E18);
    measured["treasury-transfer"] = { ...p.gas };
  });

  it("mints new supply through the timelock, the token's only minter", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const p = driverFor(sys, "mint", { to: sys.outsiders[0].address, amount: "50000" }, "Provider incentives");
    const supplyBefore = await sys.token.totalSupply();
    await p.passAndQueue([sys.deployer]);
    await p.execute();
    expect(await sys.token.totalSupply()).to.equal(supplyBefore + 50_000n * E18);
    expect(await sys.token.balanceOf(sys.outsiders[0])).to.equal(50_000n * E18);
    measured["mint"] = { ...p.gas };
  });

  it("changes governance settings on the Governor and the timelock", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const period = driverFor(sys, "set-governance", { param: "voting-period", value: "20m" }, "Longer votes");
    await period.passAndQueue([sys.deployer]);
    await period.execute();
    expect(await sys.governor.votingPeriod()).to.equal(1_200n);
    measured["set voting period"] = { ...period.gas };

    const delay = driverFor(sys, "set-governance", { param: "timelock-delay", value: "1h" }, "Longer timelock");
    await delay.passAndQueue([sys.deployer]);
    await delay.execute();
    expect(await sys.timelock.getMinDelay()).to.equal(3_600n);
  });

  it("executes a multi-action custom proposal atomically", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const a = buildProposal("treasury-transfer", { to: sys.outsiders[0].address, amount: "1" }, sys.deployment.contracts, "x").actions;
    const b = buildProposal("set-governance", { param: "quorum", value: "5" }, sys.deployment.contracts, "x").actions;
    const p = new ProposalDriver(sys, [...a, ...b], "Two things at once");
    await p.passAndQueue([sys.deployer]);
    await p.execute();
    expect(await sys.token.balanceOf(sys.outsiders[0])).to.equal(E18);
    expect(await sys.governor["quorumNumerator()"]()).to.equal(5n);
  });

  it("reads a proposal back: windows, tallies against quorum, ETA and the decoded action", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const recipient = sys.outsiders[0].address;
    const p = driverFor(sys, "treasury-transfer", { to: recipient, amount: "1000" }, "Grant");
    await p.propose();
    await p.waitForSnapshot();
    await p.vote(sys.holders[0], Vote.For);
    const contracts = sys.deployment.contracts;
    const view = await readProposal({ governor: sys.governor, token: sys.token, timelock: sys.timelock }, p.id, { contracts, network: "test" });
    expect(view.state).to.equal("Active");
    expect(view.description).to.equal("Grant");
    expect(view.deadline - view.snapshot).to.equal(600n);
    expect(view.votes.for).to.equal(1_000_000n * E18);
    // 4 % of the 40M castable votes: the 60M treasury is left out of quorum.
    expect(view.quorum).to.equal(1_600_000n * E18);
    expect(view.quorumReached).to.equal(false);
    expect(view.actions.map((a) => a.summary)).to.deep.equal([`transfer 1,000 AITBC from the treasury to ${recipient}`]);
    const [targets, values, calldatas] = await sys.governor.proposalDetails(p.id);
    expect(decodeAction({ target: targets[0], value: values[0], calldata: calldatas[0] }, { contracts }).summary).to.equal(view.actions[0].summary);
  });
});
