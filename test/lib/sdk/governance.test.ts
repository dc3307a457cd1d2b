import { expect } from "chai";
import { network } from "hardhat";

import { buildProposal } from "../../../lib/governance/kinds.js";
import { readProposal, readProposals, readVoter, type GovernanceContracts } from "../../../lib/sdk/governance.js";
import { deployGovernanceSystem, E18, ProposalDriver, selfDelegate, Vote, type GovernanceSystem } from "../../fixtures/governance.js";

const { ethers, networkHelpers } = await network.create();

describe("lib/sdk/governance: the one proposal reader", function () {
  async function fixture(): Promise<GovernanceSystem> {
    const sys = await deployGovernanceSystem(ethers, networkHelpers);
    await selfDelegate(sys.token, [sys.deployer, sys.holders[0]]);
    return sys;
  }
  const contractsOf = (sys: GovernanceSystem): GovernanceContracts => ({ governor: sys.governor, token: sys.token, timelock: sys.timelock });
  const propose = async (sys: GovernanceSystem, amount: string, description: string) => {
    const built = buildProposal("treasury-transfer", { to: sys.outsiders[0].address, amount }, sys.deployment.contracts, description);
    const driver = new ProposalDriver(sys, built.actions, built.description);
    await driver.propose();
    return driver;
  };

  it("estimates a pending proposal's quorum with the Governor's own formula, not from the total supply", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const p = await propose(sys, "1000", "Pending grant");
    const view = await readProposal(contractsOf(sys), p.id, { contracts: sys.deployment.contracts, network: "test" });
    expect(view.state).to.equal("Pending");
    expect(view.quorumIsEstimate).to.equal(true);
    expect(view.quorum).to.equal(await sys.governor.quorum(view.now - 1n));
    // 4 % of the 40M castable votes: the 60M treasury is left out, so the estimate is below 4 % of the supply.
    expect(view.quorum).to.equal(1_600_000n * E18);
    expect(view.quorum < ((await sys.token.totalSupply()) * 4n) / 100n).to.equal(true);
  });

  it("lists every proposal newest first, each as readProposal reads it", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const first = await propose(sys, "1000", "First");
    const second = await propose(sys, "2000", "Second");
    const options = { contracts: sys.deployment.contracts, network: "test" };
    const all = await readProposals(contractsOf(sys), options);
    expect(all.map((v) => v.id)).to.deep.equal([second.id, first.id]);
    expect(all[1]).to.deep.equal(await readProposal(contractsOf(sys), first.id, options));
    expect(all.map((v) => v.description)).to.deep.equal(["Second", "First"]);
  });

  it("reads an account's power at the snapshot once it has passed, and today's votes before", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    const p = await propose(sys, "1000", "Voter standing");
    const c = contractsOf(sys);
    const options = { contracts: sys.deployment.contracts, network: "test" };
    const holder = sys.holders[0].address;
    const before = await readVoter(c, await readProposal(c, p.id, options), holder);
    expect(before).to.deep.equal({ account: holder, power: 1_000_000n * E18, currentVotes: 1_000_000n * E18, hasVoted: false });
    await p.waitForSnapshot();
    // A delegation after the snapshot counts today but not for this proposal.
    await selfDelegate(sys.token, [sys.holders[1]]);
    const late = await readVoter(c, await readProposal(c, p.id, options), sys.holders[1].address);
    expect(late.power).to.equal(0n);
    expect(late.currentVotes).to.equal(1_000_000n * E18);
    await p.vote(sys.holders[0], Vote.For);
    expect((await readVoter(c, await readProposal(c, p.id, options), holder)).hasVoted).to.equal(true);
    expect(await readVoter(c, await readProposal(c, p.id, options), undefined)).to.deep.equal({ power: 0n, currentVotes: 0n, hasVoted: false });
  });

  it("refuses an unknown id with UNKNOWN_PROPOSAL", async function () {
    const sys = await networkHelpers.loadFixture(fixture);
    try {
      await readProposal(contractsOf(sys), 99n, { contracts: sys.deployment.contracts, network: "test" });
      expect.fail("expected UNKNOWN_PROPOSAL");
    } catch (error) {
      expect((error as { code?: string }).code).to.equal("UNKNOWN_PROPOSAL");
    }
  });
});
