import { expect } from "chai";
import { ZeroAddress } from "ethers";

import { isAitbcError } from "../../../lib/errors.js";
import {
  cancelGate,
  delegateGate,
  executeGate,
  queueGate,
  requireGate,
  voteGate,
  type Gate,
  type GateView,
  type ProposalStateName,
  type VoterStatus,
} from "../../../lib/governance/proposals.js";
import { PROPOSAL_STATES } from "../../../lib/protocol.js";

const PROPOSER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const GUARDIAN = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const OTHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

const base: GateView = { state: "Active", proposer: PROPOSER, snapshot: 1_000n, deadline: 1_600n, eta: 0n, quorumReached: true };
const at = (state: ProposalStateName, extra: Partial<GateView> = {}): GateView => ({ ...base, state, ...extra });
const voter: VoterStatus = { account: OTHER, power: 5n, currentVotes: 5n, hasVoted: false };

function closed(gate: Gate): { code: string; why: string } {
  if (gate.ok) throw new Error("expected a closed gate");
  return { code: gate.code, why: gate.why };
}

describe("lib/governance: proposal gates", function () {
  describe("voteGate", function () {
    it("opens only while Active, for an account with power that has not voted", function () {
      expect(voteGate(at("Active"), 1_100n, voter).ok).to.equal(true);
      for (const state of PROPOSAL_STATES.filter((s) => s !== "Active")) expect(closed(voteGate(at(state), 1_100n, voter)).code, state).to.equal("WRONG_STATE");
    });

    it("says when voting opens, and why it ended", function () {
      expect(closed(voteGate(at("Pending"), 955n, voter)).why).to.equal("voting opens in 46 s");
      expect(closed(voteGate(at("Queued"), 2_000n, voter)).why).to.equal("voting has ended: the proposal passed and is queued");
      expect(closed(voteGate(at("Defeated", { quorumReached: false }), 2_000n, voter)).why).to.equal("voting has ended: defeated: quorum not reached");
      expect(closed(voteGate(at("Defeated"), 2_000n, voter)).why).to.equal("voting has ended: defeated: more votes against than for");
    });

    it("tells no account, a second vote and missing power apart", function () {
      expect(closed(voteGate(at("Active"), 1_100n, { ...voter, account: undefined })).code).to.equal("NO_ACCOUNT");
      expect(closed(voteGate(at("Active"), 1_100n, { ...voter, hasVoted: true })).code).to.equal("ALREADY_VOTED");
      const late = closed(voteGate(at("Active"), 1_100n, { ...voter, power: 0n }));
      expect(late.code).to.equal("NO_VOTING_POWER");
      expect(late.why).to.contain("your delegation came after it");
      expect(closed(voteGate(at("Active"), 1_100n, { ...voter, power: 0n, currentVotes: 0n })).why).to.contain("delegate first");
    });
  });

  describe("queueGate", function () {
    it("opens only once the proposal Succeeded, with an account", function () {
      expect(queueGate(at("Succeeded"), 1_700n, OTHER).ok).to.equal(true);
      expect(closed(queueGate(at("Succeeded"), 1_700n, undefined)).code).to.equal("NO_ACCOUNT");
      expect(closed(queueGate(at("Active"), 1_100n, OTHER)).why).to.equal("voting is open: closes in 8 min 21 s");
      expect(closed(queueGate(at("Queued"), 1_700n, OTHER)).why).to.equal("already queued");
      for (const state of PROPOSAL_STATES.filter((s) => s !== "Succeeded")) expect(closed(queueGate(at(state), 1_700n, OTHER)).code, state).to.equal("WRONG_STATE");
    });
  });

  describe("executeGate", function () {
    it("opens when Queued and the ETA has passed", function () {
      const queued = at("Queued", { eta: 2_000n });
      expect(closed(executeGate(queued, 1_999n, OTHER))).to.deep.equal({ code: "NOT_READY", why: "queued: executable in 00:01" });
      expect(executeGate(queued, 2_000n, OTHER).ok).to.equal(true);
      expect(closed(executeGate(queued, 2_000n, undefined)).code).to.equal("NO_ACCOUNT");
      expect(closed(executeGate(at("Succeeded"), 2_000n, OTHER)).why).to.equal("passed: queue it in the timelock first");
      for (const state of PROPOSAL_STATES.filter((s) => s !== "Queued")) expect(closed(executeGate(at(state), 2_000n, OTHER)).code, state).to.equal("WRONG_STATE");
    });
  });

  describe("cancelGate", function () {
    it("lets the guardian cancel any live proposal", function () {
      for (const state of ["Pending", "Active", "Succeeded", "Queued", "Defeated"] as const) expect(cancelGate(at(state), GUARDIAN.toLowerCase(), GUARDIAN).ok, state).to.equal(true);
    });

    it("lets the proposer cancel only while Pending, unless no guardian is set", function () {
      expect(cancelGate(at("Pending"), PROPOSER, GUARDIAN).ok).to.equal(true);
      expect(closed(cancelGate(at("Active"), PROPOSER, GUARDIAN)).code).to.equal("NOT_ALLOWED");
      for (const state of ["Pending", "Active", "Succeeded", "Queued", "Defeated"] as const) expect(cancelGate(at(state), PROPOSER, ZeroAddress).ok, state).to.equal(true);
    });

    it("refuses everyone else, and finished proposals", function () {
      expect(closed(cancelGate(at("Pending"), OTHER, GUARDIAN)).code).to.equal("NOT_ALLOWED");
      expect(closed(cancelGate(at("Pending"), OTHER, ZeroAddress)).why).to.equal("only the proposer can cancel");
      expect(closed(cancelGate(at("Pending"), undefined, GUARDIAN)).code).to.equal("NOT_ALLOWED");
      for (const state of ["Canceled", "Executed", "Expired"] as const) expect(closed(cancelGate(at(state), GUARDIAN, GUARDIAN)).code, state).to.equal("WRONG_STATE");
    });

    it("does not treat the zero address as a guardian", function () {
      expect(closed(cancelGate(at("Active"), ZeroAddress, ZeroAddress)).code).to.equal("NOT_ALLOWED");
    });
  });

  describe("delegateGate", function () {
    it("refuses a delegation that changes nothing and flags an empty account", function () {
      expect(delegateGate({ account: OTHER, balance: 1n, delegatee: ZeroAddress }).ok).to.equal(true);
      expect(closed(delegateGate({ account: OTHER, balance: 1n, delegatee: OTHER.toLowerCase() })).code).to.equal("ALREADY_DELEGATED");
      expect(closed(delegateGate({ account: OTHER, balance: 1n, delegatee: GUARDIAN }, GUARDIAN)).why).to.equal("already delegated to this address");
      expect(delegateGate({ account: OTHER, balance: 1n, delegatee: OTHER }, GUARDIAN).ok).to.equal(true);
      expect(closed(delegateGate({ account: OTHER, balance: 0n, delegatee: ZeroAddress })).code).to.equal("NO_TOKENS");
    });
  });

  describe("requireGate", function () {
    const view = { id: 3n, state: "Active" as const, proposer: PROPOSER, snapshot: 1_000n, deadline: 1_600n, eta: 0n, now: 1_100n, votes: { for: 0n, against: 0n, abstain: 0n }, quorumReached: false };
    const hints = { network: "localhost", local: true };

    it("throws the gate's code with the state and the reason, and the next step as the hint", function () {
      try {
        requireGate(queueGate(view, view.now, OTHER), view, "queue", OTHER, hints);
        expect.fail("expected WRONG_STATE");
      } catch (error) {
        expect(isAitbcError(error, "WRONG_STATE")).to.equal(true);
        if (isAitbcError(error)) {
          expect(error.message).to.contain("(Active)").and.to.contain("voting is open");
          expect(error.hint).to.contain("dao:vote --id 3");
        }
      }
      expect(() => requireGate({ ok: true }, view, "queue", OTHER, hints)).to.not.throw();
    });
  });
});
