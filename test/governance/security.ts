import { expect } from "chai";
import { network } from "hardhat";
import { id as keccakText, ZeroAddress } from "ethers";

import { buildProposal } from "../../lib/governance/kinds.js";
import { deployGovernanceSystem, E18, ProposalDriver, selfDelegate, State, Vote, type GovernanceSystem } from "../fixtures/governance.js";

const { ethers, networkHelpers } = await network.create();

describe("governance security (checklist 19–24)", function () {
  async function fixture(): Promise<GovernanceSystem> {
    const sys = await deployGovernanceSystem(ethers, networkHelpers);
    await selfDelegate(sys.token, [sys.deployer, sys.holders[0]]);
    return sys;
  }

  function transfer(sys: GovernanceSystem, amount = "10", description = "Send a little"): ProposalDriver {
    const built = buildProposal("treasury-transfer", { to: sys.outsiders[0].address, amount }, sys.deployment.contracts, description);
    return new ProposalDriver(sys, built.actions, built.description);
  }

  describe("19: votes acquired after the snapshot weigh nothing", function () {
    it("counts a delegation made while the proposal is Pending (control)", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await (await sys.token.connect(sys.holders[1]).delegate(sys.holders[1].address)).wait();
      await p.waitForSnapshot();
      await p.vote(sys.holders[1], Vote.For);
      expect((await sys.governor.proposalVotes(p.id)).forVotes).to.equal(1_000_000n * E18);
    });

    it("treats the snapshot second as inclusive: a delegation mined at exactly the snapshot counts", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await networkHelpers.time.setNextBlockTimestamp(await p.snapshot());
      await (await sys.token.connect(sys.holders[1]).delegate(sys.holders[1].address)).wait();
      // Past timepoints only: step one second past the snapshot before reading it.
      await networkHelpers.mine();
      expect(await sys.governor.getVotes(sys.holders[1].address, await p.snapshot())).to.equal(1_000_000n * E18);
      await p.vote(sys.holders[1], Vote.For);
      expect((await sys.governor.proposalVotes(p.id)).forVotes).to.equal(1_000_000n * E18);
    });

    it("gives zero weight to a delegation made after the snapshot", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await p.waitForSnapshot();
      await (await sys.token.connect(sys.holders[1]).delegate(sys.holders[1].address)).wait();
      expect(await sys.token.getVotes(sys.holders[1].address)).to.equal(1_000_000n * E18);
      await expect(sys.governor.connect(sys.holders[1]).castVote(p.id, Vote.For))
        .to.emit(sys.governor, "VoteCast")
        .withArgs(sys.holders[1].address, p.id, Vote.For, 0n, "");
      expect((await sys.governor.proposalVotes(p.id)).forVotes).to.equal(0n);
    });

    it("gives zero weight to tokens bought after the snapshot", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await p.waitForSnapshot();
      // holders[0] is self-delegated with 1M; it now buys 5M more from the deployer.
      await (await sys.token.transfer(sys.holders[0].address, 5_000_000n * E18)).wait();
      await p.vote(sys.holders[0], Vote.For);
      expect((await sys.governor.proposalVotes(p.id)).forVotes).to.equal(1_000_000n * E18);
    });
  });

  describe("20: only the Governor schedules, nobody executes early, the deployer keeps no power", function () {
    it("refuses execution one second before the timelock ETA and allows it at the ETA", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await p.waitForSnapshot();
      await p.vote(sys.deployer);
      await p.waitForDeadline();
      await p.queue();
      const eta = await sys.governor.proposalEta(p.id);
      expect(eta - BigInt(await networkHelpers.time.latest())).to.equal(120n);
      await networkHelpers.time.setNextBlockTimestamp(eta - 1n);
      await expect(sys.governor["execute(uint256)"](p.id)).to.be.revertedWithCustomError(sys.timelock, "TimelockUnexpectedOperationState");
      await networkHelpers.time.setNextBlockTimestamp(eta);
      await expect(sys.governor["execute(uint256)"](p.id)).to.emit(sys.governor, "ProposalExecuted").withArgs(p.id);
    });

    it("refuses to queue or execute a proposal that has not passed", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await expect(sys.governor["queue(uint256)"](p.id)).to.be.revertedWithCustomError(sys.governor, "GovernorUnexpectedProposalState");
      await p.waitForSnapshot();
      await p.vote(sys.deployer, Vote.Against);
      await p.waitForDeadline();
      expect(await p.state()).to.equal(State.Defeated);
      await expect(sys.governor["execute(uint256)"](p.id)).to.be.revertedWithCustomError(sys.governor, "GovernorUnexpectedProposalState");
    });

    it("refuses timelock scheduling by anyone but the Governor, so the open executor role can only run what the DAO passed", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const calldata = sys.token.interface.encodeFunctionData("transfer", [sys.deployer.address, 1n]);
      const proposer = await sys.timelock.PROPOSER_ROLE();
      await expect(sys.timelock.schedule(sys.token, 0n, calldata, ethers.ZeroHash, ethers.ZeroHash, 120n))
        .to.be.revertedWithCustomError(sys.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(sys.deployer.address, proposer);
      await expect(sys.timelock.connect(sys.outsiders[0]).execute(sys.token, 0n, calldata, ethers.ZeroHash, ethers.ZeroHash))
        .to.be.revertedWithCustomError(sys.timelock, "TimelockUnexpectedOperationState");
    });

    it("leaves the deployer without any timelock role after deployment", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      for (const role of [await sys.timelock.DEFAULT_ADMIN_ROLE(), await sys.timelock.PROPOSER_ROLE(), await sys.timelock.CANCELLER_ROLE()]) {
        expect(await sys.timelock.hasRole(role, sys.deployer.address)).to.equal(false);
      }
      expect(await sys.timelock.hasRole(await sys.timelock.PROPOSER_ROLE(), sys.governor)).to.equal(true);
      expect(await sys.timelock.hasRole(await sys.timelock.EXECUTOR_ROLE(), ZeroAddress)).to.equal(true);
      await expect(sys.timelock.grantRole(await sys.timelock.PROPOSER_ROLE(), sys.deployer.address)).to.be.revertedWithCustomError(
        sys.timelock,
        "AccessControlUnauthorizedAccount",
      );
      expect(await sys.token.owner()).to.equal(await sys.timelock.getAddress());
    });
  });

  describe("21: a late quorum extends the vote", function () {
    it("extends the deadline to vote time + extension when quorum arrives in the last seconds", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      const originalDeadline = await p.deadline();
      await networkHelpers.time.setNextBlockTimestamp(originalDeadline - 5n);
      const voteTime = originalDeadline - 5n;
      await expect(sys.governor.castVote(p.id, Vote.For)).to.emit(sys.governor, "ProposalExtended").withArgs(p.id, voteTime + 120n);
      expect(await p.deadline()).to.equal(voteTime + 120n);
      await networkHelpers.time.increaseTo(originalDeadline + 1n);
      expect(await p.state()).to.equal(State.Active);
      // The extra time lets the other side answer.
      await p.vote(sys.holders[0], Vote.Against);
      await networkHelpers.time.increaseTo(voteTime + 121n);
      expect(await p.state()).to.equal(State.Succeeded);
    });

    it("leaves the deadline alone when quorum is reached early (control)", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      const deadline = await p.deadline();
      await p.waitForSnapshot();
      await expect(sys.governor.castVote(p.id, Vote.For)).to.not.emit(sys.governor, "ProposalExtended");
      expect(await p.deadline()).to.equal(deadline);
    });
  });

  describe("22: a #proposer= suffix binds the proposal to its author", function () {
    it("reverts with GovernorRestrictedProposer when anyone else submits it", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys, "10", `Grant\n\n#proposer=${sys.deployer.address}`);
      // holders[0] has 1M delegated votes, well above the threshold: only the suffix stops it.
      await expect(sys.governor.connect(sys.holders[0]).propose(p.targets, p.values, p.calldatas, p.description))
        .to.be.revertedWithCustomError(sys.governor, "GovernorRestrictedProposer")
        .withArgs(sys.holders[0].address);
      await p.propose(sys.deployer);
      expect(await sys.governor.proposalProposer(p.id)).to.equal(sys.deployer.address);
    });

    it("refuses a proposer below the threshold with GovernorInsufficientProposerVotes", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await expect(sys.governor.connect(sys.holders[1]).propose(p.targets, p.values, p.calldatas, p.description))
        .to.be.revertedWithCustomError(sys.governor, "GovernorInsufficientProposerVotes")
        .withArgs(sys.holders[1].address, 0n, 1_000n * E18);
    });
  });

  describe("23: privileged setters answer only to the timelock", function () {
    it("token.mint by anyone but the timelock reverts with OwnableUnauthorizedAccount", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      await expect(sys.token.mint(sys.deployer.address, 1n))
        .to.be.revertedWithCustomError(sys.token, "OwnableUnauthorizedAccount")
        .withArgs(sys.deployer.address);
    });

    it("timelock.updateDelay by anyone but itself reverts with TimelockUnauthorizedCaller", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      await expect(sys.timelock.updateDelay(0n)).to.be.revertedWithCustomError(sys.timelock, "TimelockUnauthorizedCaller").withArgs(sys.deployer.address);
    });

    const governorSetters: [string, (sys: GovernanceSystem) => Promise<unknown>][] = [
      ["setVotingDelay", (s) => s.governor.setVotingDelay(1n)],
      ["setVotingPeriod", (s) => s.governor.setVotingPeriod(1n)],
      ["setProposalThreshold", (s) => s.governor.setProposalThreshold(0n)],
      ["updateQuorumNumerator", (s) => s.governor.updateQuorumNumerator(1n)],
      ["setLateQuorumVoteExtension", (s) => s.governor.setLateQuorumVoteExtension(0n)],
      ["setProposalGuardian", (s) => s.governor.setProposalGuardian(s.outsiders[0].address)],
      ["updateTimelock", (s) => s.governor.updateTimelock(s.outsiders[0].address)],
      ["relay", (s) => s.governor.relay(s.token, 0n, s.token.interface.encodeFunctionData("transfer", [s.deployer.address, 1n]))],
    ];
    for (const [name, call] of governorSetters) {
      it(`governor.${name} by anyone but the timelock reverts with GovernorOnlyExecutor`, async function () {
        const sys = await networkHelpers.loadFixture(fixture);
        await expect(call(sys)).to.be.revertedWithCustomError(sys.governor, "GovernorOnlyExecutor").withArgs(sys.deployer.address);
      });
    }

    it("the guardian can cancel, the proposer only while Pending, others never", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose(sys.holders[0]);
      await expect(sys.governor.connect(sys.outsiders[0])["cancel(uint256)"](p.id))
        .to.be.revertedWithCustomError(sys.governor, "GovernorUnableToCancel")
        .withArgs(p.id, sys.outsiders[0].address);
      await p.waitForSnapshot();
      await expect(sys.governor.connect(sys.holders[0])["cancel(uint256)"](p.id)).to.be.revertedWithCustomError(sys.governor, "GovernorUnableToCancel");
      // The deployer is the guardian on local deployments.
      await expect(sys.governor["cancel(uint256)"](p.id)).to.emit(sys.governor, "ProposalCanceled").withArgs(p.id);
      expect(await p.state()).to.equal(State.Canceled);
    });
  });

  describe("24: a proposal that would break an invariant reverts at execution", function () {
    it("minting above the cap reverts with AITBCCapExceeded and leaves the proposal Queued", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const supply = await sys.token.totalSupply();
      const room = (await sys.token.cap()) - supply;
      const built = buildProposal("mint", { to: sys.outsiders[0].address, amount: ((room + E18) / E18).toString() }, sys.deployment.contracts, "Too much");
      const p = new ProposalDriver(sys, built.actions, built.description);
      await p.passAndQueue([sys.deployer]);
      await expect(p.execute())
        .to.be.revertedWithCustomError(sys.token, "AITBCCapExceeded")
        .withArgs(room + E18, supply, supply + room);
      expect(await p.state()).to.equal(State.Queued);
    });

    it("a zero voting period reverts with GovernorInvalidVotingPeriod", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const built = buildProposal("custom", { target: "AITBCGovernor", signature: "setVotingPeriod(uint32)", args: "[0]" }, sys.deployment.contracts, "Break it");
      const p = new ProposalDriver(sys, built.actions, built.description);
      await p.passAndQueue([sys.deployer]);
      await expect(p.execute()).to.be.revertedWithCustomError(sys.governor, "GovernorInvalidVotingPeriod").withArgs(0n);
    });

    it("a quorum above 100 % reverts with GovernorInvalidQuorumFraction", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const built = buildProposal("custom", { target: "AITBCGovernor", signature: "updateQuorumNumerator(uint256)", args: "[101]" }, sys.deployment.contracts, "Break it too");
      const p = new ProposalDriver(sys, built.actions, built.description);
      await p.passAndQueue([sys.deployer]);
      await expect(p.execute()).to.be.revertedWithCustomError(sys.governor, "GovernorInvalidQuorumFraction").withArgs(101n, 100n);
    });

    it("the same calldata and description cannot be proposed twice", async function () {
      const sys = await networkHelpers.loadFixture(fixture);
      const p = transfer(sys);
      await p.propose();
      await expect(sys.governor.propose(p.targets, p.values, p.calldatas, p.description)).to.be.revertedWithCustomError(
        sys.governor,
        "GovernorUnexpectedProposalState",
      );
      expect(keccakText(p.description)).to.equal(p.descriptionHash);
    });
  });
});
