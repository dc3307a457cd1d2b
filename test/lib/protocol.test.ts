/**
 * `lib/protocol.ts` against the contracts: public constants through their getters on deployed contracts, private
 * constants and enums from the compiler's AST in the build info, widths from the ABI. A contract change that is not
 * mirrored in `lib/protocol.ts` fails here.
 */
import { readFile } from "node:fs/promises";

import { expect } from "chai";
import { artifacts, network } from "hardhat";

import * as P from "../../lib/protocol.js";
import { deployGovernanceSystem } from "../fixtures/governance.js";
import { deployMarketFixture } from "../../tools/market-fixture.js";

const { ethers, networkHelpers } = await network.create();

interface AstNode {
  nodeType?: string;
  name?: string;
  constant?: boolean;
  value?: AstNode | string;
  members?: AstNode[];
  [key: string]: unknown;
}

function* walk(node: unknown): Generator<AstNode> {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const child of node) yield* walk(child);
    return;
  }
  yield node as AstNode;
  for (const child of Object.values(node)) yield* walk(child);
}

/** Every AST node of the compilation that built `contract`. */
async function astOf(contract: string): Promise<AstNode[]> {
  const id = await artifacts.getBuildInfoId(contract);
  const path = id === undefined ? undefined : await artifacts.getBuildInfoOutputPath(id);
  if (path === undefined) throw new Error(`no build info for ${contract}; run npx hardhat build`);
  const output = JSON.parse(await readFile(path, "utf8")) as { output: { sources: Record<string, { ast: unknown }> } };
  return [...walk(Object.values(output.output.sources).map((s) => s.ast))];
}

function enumMembers(ast: AstNode[], name: string): string[] {
  const found = ast.find((n) => n.nodeType === "EnumDefinition" && n.name === name);
  if (found?.members === undefined) throw new Error(`enum ${name} not found`);
  return found.members.map((m) => m.name as string);
}

/** A private constant whose initialiser is a plain number literal (`uint256 private constant _BPS = 10_000;`). */
function literalConstant(ast: AstNode[], contract: string, name: string): bigint {
  const owner = ast.find((n) => n.nodeType === "ContractDefinition" && n.name === contract);
  const decl = [...walk(owner)].find((n) => n.nodeType === "VariableDeclaration" && n.constant === true && n.name === name);
  const value = decl?.value as AstNode | undefined;
  if (value?.nodeType !== "Literal" || typeof value.value !== "string") throw new Error(`${contract}.${name} is not a literal constant`);
  return BigInt(value.value.replaceAll("_", ""));
}

async function abiInputType(contract: string, fn: string, index: number): Promise<string> {
  const artifact = await artifacts.readArtifact(contract);
  const entry = (artifact.abi as { type: string; name?: string; inputs?: { type: string }[] }[]).find((e) => e.type === "function" && e.name === fn);
  const type = entry?.inputs?.[index]?.type;
  if (type === undefined) throw new Error(`${contract}.${fn} has no input ${index}`);
  return type;
}

const maxOfUint = (type: string) => (1n << BigInt(type.replace("uint", ""))) - 1n;

describe("lib/protocol: the contract constants TypeScript mirrors", function () {
  it("matches JobEscrow's public constants", async function () {
    const { market } = await networkHelpers.loadFixture(async function protocolMarket() {
      return deployMarketFixture(ethers, { clients: 1, providers: 1 });
    });
    const e = market.jobEscrow;
    expect(await e.MAX_FEE_BPS()).to.equal(P.MAX_FEE_BPS);
    expect(await e.MIN_DISPUTE_WINDOW()).to.equal(P.MIN_DISPUTE_WINDOW);
    expect(await e.MAX_DISPUTE_WINDOW()).to.equal(P.MAX_DISPUTE_WINDOW);
    expect(await e.MIN_DISPUTE_TIMEOUT()).to.equal(P.MIN_DISPUTE_TIMEOUT);
    expect(await e.MAX_DISPUTE_TIMEOUT()).to.equal(P.MAX_DISPUTE_TIMEOUT);
    expect(await e.MIN_DEADLINE_DELAY()).to.equal(P.MIN_DEADLINE_DELAY);
    expect(await e.MAX_DEADLINE_DELAY()).to.equal(P.MAX_DEADLINE_DELAY);
    expect(await e.MAX_UNITS_MILLI()).to.equal(P.MAX_UNITS_MILLI);
    expect(await e.MAX_DISPUTE_BOND()).to.equal(P.MAX_DISPUTE_BOND);
    expect(await e.MAX_BATCH_SIZE()).to.equal(BigInt(P.MAX_BATCH_SIZE));
    expect(await e.MAX_PROMPT_BYTES()).to.equal(BigInt(P.MAX_PROMPT_BYTES));
  });

  it("matches the registries' and the token's public constants", async function () {
    const { market, token } = await networkHelpers.loadFixture(async function protocolRegistries() {
      return deployMarketFixture(ethers, { clients: 1, providers: 1 });
    });
    expect(await market.modelRegistry.MAX_RATE()).to.equal(P.MAX_RATE);
    expect(await market.providerRegistry.MAX_MIN_BOND()).to.equal(P.MAX_MIN_BOND);
    expect(await market.providerRegistry.MIN_UNBONDING_PERIOD()).to.equal(P.MIN_UNBONDING_PERIOD);
    expect(await market.providerRegistry.MAX_UNBONDING_PERIOD()).to.equal(P.MAX_UNBONDING_PERIOD);
    expect(await market.providerRegistry.MAX_EXPOSURE_MULTIPLE()).to.equal(P.MAX_EXPOSURE_MULTIPLE);
    expect(await market.providerRegistry.MAX_SERVICE_URL_BYTES()).to.equal(BigInt(P.MAX_SERVICE_URL_BYTES));
    expect(await token.decimals()).to.equal(BigInt(P.TOKEN_DECIMALS));
    expect(10n ** BigInt(P.TOKEN_DECIMALS)).to.equal(P.TOKEN_UNIT);
  });

  it("matches the Governor's quorum denominator", async function () {
    const sys = await networkHelpers.loadFixture(async function protocolGovernor() {
      return deployGovernanceSystem(ethers, networkHelpers);
    });
    expect(await sys.governor.quorumDenominator()).to.equal(P.QUORUM_DENOMINATOR);
  });

  it("matches the private constants of JobEscrow and ModelRegistry (from the AST)", async function () {
    const escrow = await astOf("JobEscrow");
    expect(literalConstant(escrow, "JobEscrow", "_MILLI")).to.equal(P.MILLI);
    expect(literalConstant(escrow, "JobEscrow", "_BPS")).to.equal(P.BPS);
    expect(literalConstant(escrow, "JobEscrow", "_RECORD_BYTES")).to.equal(BigInt(P.SETTLEMENT_RECORD_BYTES));
    const registry = await astOf("ModelRegistry");
    expect(literalConstant(registry, "ModelRegistry", "_MAX_NAME_BYTES")).to.equal(BigInt(P.MAX_MODEL_NAME_BYTES));
    expect(literalConstant(registry, "ModelRegistry", "_MAX_UNIT_TYPE_BYTES")).to.equal(BigInt(P.MAX_UNIT_TYPE_BYTES));
  });

  it("matches the enums: job statuses and proposal states, in order", async function () {
    expect(enumMembers(await astOf("JobEscrow"), "JobStatus")).to.deep.equal([...P.JOB_STATUSES]);
    expect(enumMembers(await astOf("AITBCGovernor"), "ProposalState")).to.deep.equal([...P.PROPOSAL_STATES]);
  });

  it("matches the widths of model ids and settlement records (from the ABI)", async function () {
    expect(maxOfUint(await abiInputType("ModelRegistry", "model", 0))).to.equal(P.MAX_MODEL_ID);
    // A record is uint48 jobId | uint64 unitsMilli | bytes32 receiptHash.
    expect(P.MAX_JOB_ID).to.equal((1n << 48n) - 1n);
    expect(6 + 8 + 32).to.equal(P.SETTLEMENT_RECORD_BYTES);
  });

  it("matches the widths of the Governor's settings (from the ABI)", async function () {
    expect(maxOfUint(await abiInputType("AITBCGovernor", "setVotingDelay", 0))).to.equal(P.MAX_VOTING_DELAY);
    expect(maxOfUint(await abiInputType("AITBCGovernor", "setVotingPeriod", 0))).to.equal(P.MAX_VOTING_PERIOD);
    expect(maxOfUint(await abiInputType("AITBCGovernor", "setLateQuorumVoteExtension", 0))).to.equal(P.MAX_LATE_QUORUM_EXTENSION);
  });

  it("matches GovernorCountingSimple's ballots", async function () {
    const sys = await networkHelpers.loadFixture(async function protocolBallots() {
      return deployGovernanceSystem(ethers, networkHelpers);
    });
    // COUNTING_MODE names the ballots; the order is the support value.
    expect(await sys.governor.COUNTING_MODE()).to.match(/^support=bravo/);
    expect([...P.VOTE_SUPPORT]).to.deep.equal(["Against", "For", "Abstain"]);
  });
});
