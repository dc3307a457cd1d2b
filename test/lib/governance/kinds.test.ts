import { expect } from "chai";
import { Interface, ZeroAddress } from "ethers";

import type { Deployment } from "../../../lib/deployments.js";
import { buildProposal, decodeAction, getProposalKind, listProposalKinds, registerProposalKind, type KindInput } from "../../../lib/governance/kinds.js";
import "../../../lib/governance/market-kinds.js";
import { describeNextStep, nextActionableTime, parseProposalId, parseProposalState, requireGate, voteGate, withProposerSuffix } from "../../../lib/governance/proposals.js";
import { codeOf } from "../../fixtures/errors.js";
import { LOCAL_CONTRACTS as contracts } from "../../fixtures/governance.js";

const E18 = 10n ** 18n;
const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function decodeOne(kind: string, input: KindInput, current?: Parameters<typeof decodeAction>[1]["current"]) {
  const built = buildProposal(kind, input, contracts, "test");
  expect(built.actions).to.have.length(1);
  return { built, decoded: decodeAction(built.actions[0], { contracts, current }) };
}

describe("lib/governance: proposal kinds", function () {
  it("registers the built-in kinds", function () {
    expect(listProposalKinds().map((k) => k.name)).to.include.members(["treasury-transfer", "mint", "set-governance", "custom"]);
    expect(codeOf(() => getProposalKind("airdrop"))).to.equal("UNKNOWN_KIND");
  });

  it("refuses to register a kind twice", function () {
    expect(() => registerProposalKind(getProposalKind("mint"))).to.throw(/already registered/);
  });

  it("encodes a treasury transfer as token.transfer from the timelock and reads it back", function () {
    const { built, decoded } = decodeOne("treasury-transfer", { to: ALICE, amount: "1000" });
    expect(built.targets).to.deep.equal([contracts.AITBCToken]);
    expect(built.values).to.deep.equal([0n]);
    const iface = new Interface(["function transfer(address,uint256)"]);
    expect(built.calldatas[0]).to.equal(iface.encodeFunctionData("transfer", [ALICE, 1000n * E18]));
    expect(decoded.summary).to.equal(`transfer 1,000 AITBC from the treasury to ${ALICE}`);
    expect(decoded.contract).to.equal("AITBCToken");
    expect(decoded.signature).to.equal("transfer(address,uint256)");
  });

  it("encodes a mint", function () {
    const { decoded } = decodeOne("mint", { to: ALICE, amount: "2.5" });
    expect(decoded.summary).to.equal(`mint 2.5 AITBC to ${ALICE}`);
  });

  it("decodes setting changes as `from X to Y` when the current value is known", function () {
    expect(decodeOne("set-governance", { param: "voting-period", value: "20m" }, { votingPeriod: 600n }).decoded.summary).to.equal(
      "set the voting period from 10 min (600 s) to 20 min (1200 s)",
    );
    expect(decodeOne("set-governance", { param: "voting-delay", value: "30" }).decoded.summary).to.equal("set the voting delay to 30 s");
    expect(decodeOne("set-governance", { param: "proposal-threshold", value: "5000" }, { proposalThreshold: 1000n * E18 }).decoded.summary).to.equal(
      "set the proposal threshold from 1,000 AITBC to 5,000 AITBC",
    );
    expect(decodeOne("set-governance", { param: "quorum", value: "10%" }, { quorumPercent: 4n }).decoded.summary).to.equal("set the quorum from 4 % to 10 %");
    expect(decodeOne("set-governance", { param: "late-quorum-extension", value: "1h" }).decoded.summary).to.equal("set the late-quorum extension to 1 h (3600 s)");
    const timelock = decodeOne("set-governance", { param: "timelock-delay", value: "2d" }, { timelockDelay: 120n });
    expect(timelock.built.targets).to.deep.equal([contracts.AITBCTimelock]);
    expect(timelock.decoded.summary).to.equal("set the timelock delay from 2 min (120 s) to 2 d (172800 s)");
    expect(decodeOne("set-governance", { param: "guardian", value: "none" }, { guardian: ALICE }).decoded.summary).to.equal(
      `set the proposal guardian from ${ALICE} to none`,
    );
  });

  it("refuses bad governance values by code", function () {
    const bad = (param: string, value: string) => codeOf(() => buildProposal("set-governance", { param, value }, contracts, "d"));
    expect(bad("quorum", "0")).to.equal("BAD_VALUE");
    expect(bad("quorum", "101")).to.equal("BAD_VALUE");
    expect(bad("voting-period", "0")).to.equal("BAD_VALUE");
    expect(bad("voting-period", String(2n ** 32n))).to.equal("BAD_VALUE");
    expect(bad("voting-delay", "soon")).to.equal("BAD_DURATION");
    expect(bad("threshold", "1")).to.equal("BAD_VALUE");
    expect(bad("guardian", "0x123")).to.equal("BAD_ADDRESS");
  });

  it("encodes a custom call by contract name and decodes it like a built-in one", function () {
    const { built, decoded } = decodeOne("custom", { target: "AITBCToken", signature: "transfer(address,uint256)", args: JSON.stringify([ALICE, (3n * E18).toString()]) });
    expect(built.targets).to.deep.equal([contracts.AITBCToken]);
    expect(decoded.summary).to.equal(`transfer 3 AITBC from the treasury to ${ALICE}`);
  });

  it("shows calls to unknown contracts raw, never guessed", function () {
    const { decoded } = decodeOne("custom", { target: ALICE, signature: "poke(uint256)", args: "[7]" });
    expect(decoded.contract).to.equal(undefined);
    expect(decoded.summary).to.match(/^call 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 with unknown selector 0x[0-9a-f]{8} \(36 bytes of calldata\)$/);
  });

  it("falls back to the generic form for known contracts without a sentence", function () {
    const data = new Interface(["function burn(uint256)"]).encodeFunctionData("burn", [1n]);
    expect(decodeAction({ target: contracts.AITBCToken, value: 0n, calldata: data }, { contracts }).summary).to.match(/unknown selector/);
    const grant = decodeOne("custom", { target: "AITBCTimelock", signature: "grantRole(bytes32,address)", args: JSON.stringify([ZeroAddress.replace("0x", "0x" + "0".repeat(24)), ALICE]) });
    expect(grant.decoded.summary).to.match(/^grant timelock role 0x0{64} to 0x7099/);
  });

  it("refuses malformed custom calls by code", function () {
    const bad = (input: KindInput) => codeOf(() => buildProposal("custom", input, contracts, "d"));
    expect(bad({ target: "Nope", signature: "f()" })).to.equal("BAD_ADDRESS");
    expect(bad({ target: ALICE, signature: "not a signature(" })).to.equal("BAD_SIGNATURE");
    expect(bad({ target: ALICE, signature: "f(uint256)", args: "[1" })).to.equal("BAD_ARGS");
    expect(bad({ target: ALICE, signature: "f(uint256)", args: '{"a":1}' })).to.equal("BAD_ARGS");
    expect(bad({ target: ALICE, signature: "f(uint256)", args: "[1,2]" })).to.equal("BAD_ARGS");
    expect(bad({ target: ALICE, signature: "f(address)", args: '["bob"]' })).to.equal("BAD_ARGS");
  });

  it("refuses missing, stray and malformed options by code", function () {
    expect(codeOf(() => buildProposal("mint", { to: ALICE }, contracts, "d"))).to.equal("MISSING_OPTION");
    expect(codeOf(() => buildProposal("mint", { to: ALICE, amount: "1", param: "quorum" }, contracts, "d"))).to.equal("UNEXPECTED_OPTION");
    expect(codeOf(() => buildProposal("mint", { to: ALICE, amount: "1" }, contracts, "  "))).to.equal("MISSING_OPTION");
    expect(codeOf(() => buildProposal("mint", { to: "0xabc", amount: "1" }, contracts, "d"))).to.equal("BAD_ADDRESS");
    expect(codeOf(() => buildProposal("mint", { to: ZeroAddress, amount: "1" }, contracts, "d"))).to.equal("BAD_ADDRESS");
    expect(codeOf(() => buildProposal("treasury-transfer", { to: ALICE, amount: "1e3" }, contracts, "d"))).to.equal("BAD_AMOUNT");
  });
});

describe("lib/governance: proposal states and next steps", function () {
  const base = { id: 3n, snapshot: 1_000n, deadline: 1_600n, eta: 0n, now: 955n, votes: { for: 0n, against: 0n, abstain: 0n }, quorumReached: false };
  const opts = { network: "localhost", local: true };

  it("parses ids and states strictly", function () {
    expect(parseProposalId("12")).to.equal(12n);
    for (const bad of ["0", "-1", "1.5", "abc", ""]) expect(codeOf(() => parseProposalId(bad))).to.equal("BAD_PROPOSAL_ID");
    expect(parseProposalState("queued")).to.equal("Queued");
    expect(codeOf(() => parseProposalState("done"))).to.equal("BAD_STATE");
  });

  it("names the moment and the command that moves a proposal on", function () {
    expect(describeNextStep({ ...base, state: "Pending" }, opts)).to.match(/^proposal 3 is Pending until .* \(in 46 s\), when voting opens; run `npx hardhat dao:advance --id 3 --network localhost`/);
    expect(describeNextStep({ ...base, state: "Pending" }, { ...opts, local: false })).to.not.include("dao:advance");
    expect(describeNextStep({ ...base, state: "Succeeded" }, opts)).to.include("dao:queue --id 3 --network localhost");
    expect(describeNextStep({ ...base, state: "Queued", eta: 900n }, opts)).to.include("dao:execute --id 3");
    expect(describeNextStep({ ...base, state: "Defeated" }, opts)).to.include("quorum not reached");
  });

  it("computes the next actionable timestamp", function () {
    expect(nextActionableTime({ ...base, state: "Pending" })).to.equal(1_001n);
    expect(nextActionableTime({ ...base, state: "Active" })).to.equal(1_601n);
    expect(nextActionableTime({ ...base, state: "Queued", eta: 2_000n })).to.equal(2_000n);
    expect(nextActionableTime({ ...base, state: "Queued", eta: 900n })).to.equal(undefined);
    expect(nextActionableTime({ ...base, state: "Succeeded" })).to.equal(undefined);
  });

  it("refuses an action in the wrong state with WRONG_STATE", function () {
    const voter = { account: ALICE, power: 1n, currentVotes: 1n, hasVoted: false };
    const view = { ...base, proposer: ALICE };
    expect(codeOf(() => requireGate(voteGate({ ...view, state: "Pending" }, 955n, voter), { ...view, state: "Pending" }, "vote on", ALICE, opts))).to.equal("WRONG_STATE");
    expect(() => requireGate(voteGate({ ...view, state: "Active" }, 1_100n, voter), { ...view, state: "Active" }, "vote on", ALICE, opts)).to.not.throw();
  });

  it("appends the proposer suffix once and refuses someone else's", function () {
    expect(withProposerSuffix("Grant", ALICE)).to.equal(`Grant\n\n#proposer=${ALICE}`);
    expect(withProposerSuffix(`Grant #proposer=${ALICE.toLowerCase()}`, ALICE)).to.equal(`Grant #proposer=${ALICE.toLowerCase()}`);
    expect(codeOf(() => withProposerSuffix(`Grant #proposer=${contracts.AITBCToken}`, ALICE))).to.equal("PROPOSER_MISMATCH");
  });
});

describe("lib/governance: marketplace kinds", function () {
  const market: Deployment["contracts"] = {
    ...contracts,
    ModelRegistry: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    ProviderRegistry: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
    JobEscrow: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
    JobChannels: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
  };
  const summary = (kind: string, input: KindInput) => {
    const built = buildProposal(kind, input, market, "d");
    return decodeAction(built.actions[0], { contracts: market }).summary;
  };

  it("names the model and its current rate when the rate card is known", function () {
    const built = buildProposal("set-rate", { model: "1", rate: "2.5" }, market, "d");
    const rateCard = [
      { id: 1, name: "llama3.2", unitType: "gpu_seconds", rate: 2n * 10n ** 18n, enabled: true },
      { id: 2, name: "llama3.2:1b", unitType: "gpu_seconds", rate: 5n * 10n ** 17n, enabled: true },
    ];
    expect(decodeAction(built.actions[0], { contracts: market, rateCard }).summary).to.equal(
      "set rate of llama3.2 from 2 to 2.5 AITBC per gpu_seconds",
    );
    const disable = buildProposal("disable-model", { model: "2" }, market, "d");
    expect(decodeAction(disable.actions[0], { contracts: market, rateCard }).summary).to.equal("disable llama3.2:1b");
  });

  it("encodes and decodes every marketplace kind", function () {
    expect(summary("set-rate", { model: "0", rate: "2.5" })).to.equal("set rate of model #0 to 2.5 AITBC per unit");
    expect(summary("add-model", { model: "llama3.3", rate: "3" })).to.equal("add model `llama3.3` at 3 AITBC per gpu_seconds");
    expect(summary("disable-model", { model: "2" })).to.equal("disable model #2");
    expect(summary("set-param", { param: "fee-bps", value: "2.5%" })).to.equal("set the protocol fee to 2.5 %");
    expect(summary("set-param", { param: "dispute-window", value: "1d" })).to.equal("set the dispute window to 1 d");
    expect(summary("set-param", { param: "min-bond", value: "100" })).to.equal("set the minimum provider bond to 100 AITBC");
    expect(summary("set-param", { param: "dispute-bond", value: "10" })).to.equal("set the dispute bond to 10 AITBC (new disputes only)");
    expect(summary("set-param", { param: "exposure-multiple", value: "10x" })).to.equal("let a provider's exposure reach 10 x its bond");
    expect(summary("resolve-dispute", { job: "42", share: "5000", slash: "10" })).to.equal(
      "resolve the dispute on job 42: 50 % of the price to the provider, slash 10 AITBC",
    );
  });

  it("encodes and decodes the channel contract's parameters and dispute resolution, sent to JobChannels", function () {
    expect(summary("set-param", { param: "channel-fee-bps", value: "1%" })).to.equal("set the channel fee to 1 %");
    expect(summary("set-param", { param: "channel-withdrawal-delay", value: "7d" })).to.equal("set the channel withdrawal delay to 7 d");
    expect(summary("set-param", { param: "channel-dispute-window", value: "3d" })).to.equal("set the channel dispute window to 3 d");
    expect(summary("set-param", { param: "channel-dispute-timeout", value: "14d" })).to.equal("set the channel dispute timeout to 14 d");
    expect(summary("set-param", { param: "channel-dispute-bond", value: "10" })).to.equal("set the channel dispute bond to 10 AITBC (new disputes only)");
    const digest = `0x${"ab".repeat(32)}`;
    expect(summary("resolve-channel-dispute", { request: digest, share: "25%" })).to.equal(
      `resolve the channel dispute on request ${digest}: 25 % of the held amount to the provider`,
    );
    for (const kind of [buildProposal("set-param", { param: "channel-fee-bps", value: "1%" }, market, "d"), buildProposal("resolve-channel-dispute", { request: digest, share: "1" }, market, "d")]) {
      expect(kind.actions[0].target).to.equal(market.JobChannels);
    }
    expect(codeOf(() => buildProposal("resolve-channel-dispute", { request: "0x12", share: "1" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("set-param", { param: "channel-fee-bps", value: "1" }, { ...market, JobChannels: undefined }, "d"))).to.equal("CONTRACT_NOT_DEPLOYED");
  });

  it("refuses bad marketplace input by code", function () {
    expect(codeOf(() => buildProposal("set-rate", { model: "llama", rate: "1" }, market, "d"))).to.equal("BAD_MODEL");
    expect(codeOf(() => buildProposal("set-param", { param: "fee-bps", value: "101%" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("set-param", { param: "fee", value: "1" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("set-param", { param: "exposure-multiple", value: "0" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("set-param", { param: "exposure-multiple", value: "2.5" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("resolve-dispute", { job: "x", share: "1" }, market, "d"))).to.equal("BAD_VALUE");
    expect(codeOf(() => buildProposal("set-rate", { model: "0", rate: "1" }, contracts, "d"))).to.equal("CONTRACT_NOT_DEPLOYED");
  });
});
