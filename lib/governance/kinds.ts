/**
 * Proposal kinds: how a user's intent ("send 1,000 AITBC from the treasury to Alice") becomes the
 * `(targets, values, calldatas, description)` a Governor proposal carries, and how any proposal's calldata reads back
 * as a sentence. Pure and browser-safe: the CLI and the dashboard share it.
 *
 * The registry is open: another module registers its kinds with {@link registerProposalKind} and teaches the decoder
 * its contracts with {@link registerContractDecoder}.
 */
import { FunctionFragment, getAddress, Interface, isAddress, ZeroAddress, type TransactionDescription } from "ethers";

import { AITBCGovernor__factory } from "../../typechain-types/factories/governance/AITBCGovernor__factory.js";
import { AITBCTimelock__factory } from "../../typechain-types/factories/governance/AITBCTimelock__factory.js";
import { AITBCToken__factory } from "../../typechain-types/factories/token/AITBCToken__factory.js";
import type { ContractName, Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import type { RateCardRow } from "../market/rates.js";
import { formatDuration, parseDuration } from "../time.js";
import { formatAitbc, formatTokenAmount, parseTokenAmount } from "../money/amounts.js";
import { MAX_LATE_QUORUM_EXTENSION, MAX_VOTING_DELAY, MAX_VOTING_PERIOD, QUORUM_DENOMINATOR } from "../protocol.js";

export interface ProposalAction {
  target: string;
  value: bigint;
  calldata: string;
}

export type DeployedContracts = Deployment["contracts"];

/** Options a kind reads, keyed by the CLI option name without dashes (`to`, `amount`, `param`, ...). */
export type KindInput = Readonly<Record<string, string | undefined>>;

export interface KindOption {
  /** CLI option name (`--<name>`). */
  name: string;
  description: string;
  required: boolean;
}

export interface ProposalKind {
  readonly name: string;
  /** One line for `--help` and docs. */
  readonly summary: string;
  readonly options: readonly KindOption[];
  /** A complete example invocation (without `npx hardhat dao:propose`). */
  readonly example: string;
  build(input: KindInput, contracts: DeployedContracts): ProposalAction[];
}

export interface BuiltProposal {
  kind: string;
  actions: ProposalAction[];
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
}

const kinds = new Map<string, ProposalKind>();

/** Adds a kind to the registry. Names are unique; registering one twice is a programming error. */
export function registerProposalKind(kind: ProposalKind): void {
  if (kinds.has(kind.name)) throw new Error(`proposal kind ${kind.name} is already registered`);
  kinds.set(kind.name, kind);
}

export function listProposalKinds(): ProposalKind[] {
  return [...kinds.values()];
}

export function getProposalKind(name: string): ProposalKind {
  const kind = kinds.get(name);
  if (kind === undefined) {
    throw new AitbcError("UNKNOWN_KIND", `\`${name}\` is not a proposal kind`, {
      hint: `Use one of: ${[...kinds.keys()].join(", ")}.`,
    });
  }
  return kind;
}

/**
 * Builds a proposal of kind `kindName`. Every required option must be present and no option of another kind may be
 * set (a stray `--amount` on a `set-governance` proposal is a typo, not something to ignore).
 */
export function buildProposal(kindName: string, input: KindInput, contracts: DeployedContracts, description: string): BuiltProposal {
  const kind = getProposalKind(kindName);
  const known = new Set(kind.options.map((o) => o.name));
  for (const [name, value] of Object.entries(input)) {
    if (value !== undefined && value !== "" && !known.has(name)) {
      throw new AitbcError("UNEXPECTED_OPTION", `--${name} does not apply to a \`${kind.name}\` proposal`, {
        hint: `A \`${kind.name}\` proposal takes ${describeOptions(kind)}.`,
      });
    }
  }
  for (const option of kind.options) {
    const value = input[option.name];
    if (option.required && (value === undefined || value.trim() === "")) {
      throw new AitbcError("MISSING_OPTION", `a \`${kind.name}\` proposal needs --${option.name} (${option.description})`, {
        hint: `Example: npx hardhat dao:propose ${kind.example}`,
      });
    }
  }
  if (description.trim() === "") {
    throw new AitbcError("MISSING_OPTION", "a proposal needs --description", {
      hint: "Say what the proposal does and why; voters read it first.",
    });
  }
  const actions = kind.build(input, contracts);
  return {
    kind: kind.name,
    actions,
    targets: actions.map((a) => a.target),
    values: actions.map((a) => a.value),
    calldatas: actions.map((a) => a.calldata),
    description,
  };
}

function describeOptions(kind: ProposalKind): string {
  return kind.options.map((o) => (o.required ? `--${o.name}` : `[--${o.name}]`)).join(" ");
}

// ---------------------------------------------------------------------------------------------------------------------
// Input parsing shared by kinds

/** A checksummed address; the zero address only when `allowZero`. */
export function parseAddress(text: string | undefined, what: string, options: { allowZero?: boolean } = {}): string {
  const value = (text ?? "").trim();
  if (!isAddress(value)) {
    throw new AitbcError("BAD_ADDRESS", `${what} \`${value}\` is not an address`, { hint: "Pass a 0x-prefixed 20-byte address." });
  }
  const address = getAddress(value);
  if (address === ZeroAddress && options.allowZero !== true) {
    throw new AitbcError("BAD_ADDRESS", `${what} must not be the zero address`, { hint: "Pass the address of an account or contract." });
  }
  return address;
}

/** A deployed contract's address by name, or an address. */
export function resolveTarget(text: string | undefined, contracts: DeployedContracts, what: string): string {
  const value = (text ?? "").trim();
  const named = (contracts as Record<string, string | undefined>)[value];
  if (named !== undefined) return getAddress(named);
  if (!isAddress(value) && /^[A-Za-z]\w*$/.test(value)) {
    throw new AitbcError("BAD_ADDRESS", `${what} \`${value}\` is neither an address nor a contract of this deployment`, {
      hint: `Use an address or one of: ${Object.keys(contracts).join(", ")}.`,
    });
  }
  return parseAddress(value, what);
}

function requireContract(contracts: DeployedContracts, name: ContractName): string {
  const address = contracts[name];
  if (address === undefined) {
    throw new AitbcError("CONTRACT_NOT_DEPLOYED", `${name} is not part of this deployment`, {
      hint: "Redeploy with `npx hardhat deploy --network <network> --redeploy`.",
    });
  }
  return getAddress(address);
}

function checkRange(value: bigint, max: bigint, what: string, code = "BAD_VALUE"): bigint {
  if (value > max) throw new AitbcError(code, `${what} ${value} is too large (at most ${max})`, { hint: `Pass a value up to ${max}.` });
  return value;
}


// ---------------------------------------------------------------------------------------------------------------------
// Decoding

/** Current governance settings, so a decoded change can say "from X to Y". */
export interface GovernanceSettings {
  votingDelay: bigint;
  votingPeriod: bigint;
  proposalThreshold: bigint;
  quorumPercent: bigint;
  lateQuorumExtension: bigint;
  timelockDelay: bigint;
  guardian: string;
}

export interface DecodeContext {
  contracts: DeployedContracts;
  /** When given, setting changes read "from <current> to <new>". Omit it for proposals already executed. */
  current?: Partial<GovernanceSettings>;
  /** The rate card as it is now (`readRateCard`), so rate changes read "set rate of llama3.2 from 2.0 to 2.5". */
  rateCard?: readonly RateCardRow[];
}

export interface DecodedAction {
  target: string;
  /** Name of the target in the deployment, when it is one of ours. */
  contract?: string;
  value: bigint;
  calldata: string;
  /** `transfer(address,uint256)`, when the selector is known. */
  signature?: string;
  args?: string[];
  /** One sentence for humans. */
  summary: string;
}

export interface ContractDecoder {
  readonly contract: ContractName;
  readonly iface: Interface;
  /** A sentence for a known call, or `undefined` to fall back to the generic `Contract.fn(args)` form. */
  describe(call: TransactionDescription, ctx: DecodeContext): string | undefined;
}

const decoders = new Map<ContractName, ContractDecoder>();

/** Teaches {@link decodeAction} to read calls to one of the deployment's contracts. */
export function registerContractDecoder(decoder: ContractDecoder): void {
  if (decoders.has(decoder.contract)) throw new Error(`a decoder for ${decoder.contract} is already registered`);
  decoders.set(decoder.contract, decoder);
}

/** Names a known address: `the treasury (AITBCTimelock)`, `AITBCGovernor`, or the checksummed address. */
export function nameAddress(address: string, contracts: DeployedContracts): string {
  const lower = address.toLowerCase();
  for (const [name, value] of Object.entries(contracts)) {
    if (typeof value === "string" && value.toLowerCase() === lower) {
      return name === "AITBCTimelock" ? "the treasury (AITBCTimelock)" : name;
    }
  }
  return isAddress(address) ? getAddress(address) : address;
}

function contractNameOf(address: string, contracts: DeployedContracts): ContractName | undefined {
  const lower = address.toLowerCase();
  for (const [name, value] of Object.entries(contracts)) {
    if (typeof value === "string" && value.toLowerCase() === lower) return name as ContractName;
  }
  return undefined;
}

function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  return String(value);
}

/** Reads one action back into a sentence. Unknown targets and selectors are shown raw, never guessed. */
export function decodeAction(action: ProposalAction, ctx: DecodeContext): DecodedAction {
  const contract = contractNameOf(action.target, ctx.contracts);
  const base: DecodedAction = {
    target: getAddress(action.target),
    contract,
    value: action.value,
    calldata: action.calldata,
    summary: "",
  };
  const valueNote = action.value === 0n ? "" : ` sending ${action.value} wei`;
  const decoder = contract === undefined ? undefined : decoders.get(contract);
  const call = decoder === undefined ? null : safeParse(decoder.iface, action);
  if (decoder !== undefined && call !== null) {
    const args = call.args.toArray().map(formatArg);
    const described = decoder.describe(call, ctx);
    return {
      ...base,
      signature: call.signature,
      args,
      summary: (described ?? `call ${contract}.${call.name}(${args.join(", ")})`) + valueNote,
    };
  }
  if (action.calldata === "0x") {
    return { ...base, summary: `send ${action.value} wei to ${nameAddress(action.target, ctx.contracts)}` };
  }
  const selector = action.calldata.slice(0, 10);
  const bytes = (action.calldata.length - 2) / 2;
  return {
    ...base,
    summary: `call ${nameAddress(action.target, ctx.contracts)} with unknown selector ${selector} (${bytes} bytes of calldata)${valueNote}`,
  };
}

function safeParse(iface: Interface, action: ProposalAction): TransactionDescription | null {
  try {
    return iface.parseTransaction({ data: action.calldata, value: action.value });
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Built-in kinds: treasury, token, governance settings, custom calls

const tokenInterface = AITBCToken__factory.createInterface();
const governorInterface = AITBCGovernor__factory.createInterface();
const timelockInterface = AITBCTimelock__factory.createInterface();

registerProposalKind({
  name: "treasury-transfer",
  summary: "Send AITBC from the treasury (the timelock) to an address",
  options: [
    { name: "to", description: "recipient address", required: true },
    { name: "amount", description: "AITBC to send, in whole tokens (e.g. 1000 or 2.5)", required: true },
  ],
  example: "--kind treasury-transfer --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 1000 --description \"Grant for the dashboard\"",
  build(input, contracts) {
    const to = parseAddress(input.to, "--to");
    const amount = parseTokenAmount(input.amount ?? "", { what: "--amount" });
    return [{ target: requireContract(contracts, "AITBCToken"), value: 0n, calldata: tokenInterface.encodeFunctionData("transfer", [to, amount]) }];
  },
});

registerProposalKind({
  name: "mint",
  summary: "Mint new AITBC to an address (never above the token's cap)",
  options: [
    { name: "to", description: "recipient address", required: true },
    { name: "amount", description: "AITBC to mint, in whole tokens", required: true },
  ],
  example: "--kind mint --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 50000 --description \"Provider incentives, Q1\"",
  build(input, contracts) {
    const to = parseAddress(input.to, "--to");
    const amount = parseTokenAmount(input.amount ?? "", { what: "--amount" });
    return [{ target: requireContract(contracts, "AITBCToken"), value: 0n, calldata: tokenInterface.encodeFunctionData("mint", [to, amount]) }];
  },
});

/** The governance parameters `set-governance --param` accepts, in CLI spelling. */
export const GOVERNANCE_PARAMS = [
  "voting-delay",
  "voting-period",
  "proposal-threshold",
  "quorum",
  "late-quorum-extension",
  "timelock-delay",
  "guardian",
] as const;
export type GovernanceParam = (typeof GOVERNANCE_PARAMS)[number];

function parseQuorumPercent(text: string): bigint {
  const match = /^(\d{1,3})\s*%?$/.exec(text.trim());
  const value = match === null ? -1n : BigInt(match[1]);
  if (value < 1n || value > QUORUM_DENOMINATOR) {
    throw new AitbcError("BAD_VALUE", `quorum \`${text}\` is not a whole percentage from 1 to 100`, {
      hint: "Pass the quorum as a percentage of the supply at the snapshot, e.g. `--value 4`.",
    });
  }
  return value;
}

function encodeGovernanceChange(param: string, value: string, contracts: DeployedContracts): ProposalAction {
  const governor = requireContract(contracts, "AITBCGovernor");
  const on = (target: string, data: string): ProposalAction => ({ target, value: 0n, calldata: data });
  switch (param as GovernanceParam) {
    case "voting-delay":
      return on(governor, governorInterface.encodeFunctionData("setVotingDelay", [checkRange(parseDuration(value, "voting delay"), MAX_VOTING_DELAY, "voting delay")]));
    case "voting-period": {
      const period = checkRange(parseDuration(value, "voting period"), MAX_VOTING_PERIOD, "voting period");
      if (period === 0n) throw new AitbcError("BAD_VALUE", "the voting period must be longer than zero", { hint: "Pass a duration such as `7d`." });
      return on(governor, governorInterface.encodeFunctionData("setVotingPeriod", [period]));
    }
    case "proposal-threshold":
      return on(governor, governorInterface.encodeFunctionData("setProposalThreshold", [parseTokenAmount(value, { what: "proposal threshold", allowZero: true })]));
    case "quorum":
      return on(governor, governorInterface.encodeFunctionData("updateQuorumNumerator", [parseQuorumPercent(value)]));
    case "late-quorum-extension":
      return on(governor, governorInterface.encodeFunctionData("setLateQuorumVoteExtension", [checkRange(parseDuration(value, "late-quorum extension"), MAX_LATE_QUORUM_EXTENSION, "late-quorum extension")]));
    case "timelock-delay":
      return on(requireContract(contracts, "AITBCTimelock"), timelockInterface.encodeFunctionData("updateDelay", [parseDuration(value, "timelock delay")]));
    case "guardian": {
      const guardian = value.trim().toLowerCase() === "none" ? ZeroAddress : parseAddress(value, "guardian", { allowZero: true });
      return on(governor, governorInterface.encodeFunctionData("setProposalGuardian", [guardian]));
    }
    default:
      throw new AitbcError("BAD_VALUE", `\`${param}\` is not a governance parameter`, { hint: `Use one of: ${GOVERNANCE_PARAMS.join(", ")}.` });
  }
}

registerProposalKind({
  name: "set-governance",
  summary: "Change one governance setting of the Governor or the timelock",
  options: [
    { name: "param", description: GOVERNANCE_PARAMS.join(" | "), required: true },
    {
      name: "value",
      description: "new value: durations in seconds or with a unit (600, 10m, 2d); threshold in AITBC; quorum in percent; guardian an address or `none`",
      required: true,
    },
  ],
  example: "--kind set-governance --param voting-period --value 10d --description \"Longer votes\"",
  build(input, contracts) {
    return [encodeGovernanceChange(input.param ?? "", input.value ?? "", contracts)];
  },
});

registerProposalKind({
  name: "custom",
  summary: "Call any function on any contract (the escape hatch; voters see the decoded call)",
  options: [
    { name: "target", description: "contract address or a contract name from the deployment (e.g. AITBCToken)", required: true },
    { name: "signature", description: "function signature, e.g. \"transfer(address,uint256)\"", required: true },
    { name: "args", description: "JSON array of arguments; pass large integers as strings (default [])", required: false },
  ],
  example: "--kind custom --target AITBCToken --signature \"transfer(address,uint256)\" --args '[\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\",\"1000000000000000000\"]' --description \"Send 1 AITBC\"",
  build(input, contracts) {
    const target = resolveTarget(input.target, contracts, "--target");
    const signature = (input.signature ?? "").trim().replace(/^function\s+/, "");
    let fn: FunctionFragment;
    try {
      // FunctionFragment.from throws on a malformed signature (the Interface constructor only logs and skips it).
      fn = FunctionFragment.from(`function ${signature}`);
    } catch (cause) {
      throw new AitbcError("BAD_SIGNATURE", `--signature \`${signature}\` is not a function signature`, {
        hint: "Write it as name(type,type), e.g. \"setRate(bytes32,uint256)\".",
        cause,
      });
    }
    const iface = new Interface([fn]);
    let args: unknown;
    try {
      args = JSON.parse(input.args === undefined || input.args.trim() === "" ? "[]" : input.args);
    } catch (cause) {
      throw new AitbcError("BAD_ARGS", "--args is not valid JSON", { hint: "Pass a JSON array, e.g. '[\"0xabc…\", \"1000\"]'.", cause });
    }
    if (!Array.isArray(args)) throw new AitbcError("BAD_ARGS", "--args must be a JSON array", { hint: "Wrap the arguments in [ ]." });
    if (fn.inputs.length !== args.length) {
      throw new AitbcError("BAD_ARGS", `${fn.format("sighash")} takes ${fn.inputs.length} arguments, --args has ${args.length}`, {
        hint: "Pass exactly one JSON value per parameter.",
      });
    }
    let calldata: string;
    try {
      calldata = iface.encodeFunctionData(fn, args);
    } catch (cause) {
      const reason = (cause as { shortMessage?: string }).shortMessage ?? String(cause);
      throw new AitbcError("BAD_ARGS", `--args do not fit ${fn.format("sighash")}: ${reason}`, {
        hint: "Check each argument's type; pass integers above 2^53 as strings.",
        cause,
      });
    }
    return [{ target, value: 0n, calldata }];
  },
});

// ---------------------------------------------------------------------------------------------------------------------
// Decoders for the governance contracts

function change(label: string, from: string | undefined, to: string): string {
  return from === undefined ? `set ${label} to ${to}` : `set ${label} from ${from} to ${to}`;
}

function optional<T>(value: T | undefined, format: (v: T) => string): string | undefined {
  return value === undefined ? undefined : format(value);
}

const seconds = (v: bigint): string => `${formatDuration(v)}${v >= 60n ? ` (${v} s)` : ""}`;
const tokens = formatAitbc;

registerContractDecoder({
  contract: "AITBCToken",
  iface: tokenInterface,
  describe(call, ctx) {
    switch (call.name) {
      case "transfer":
        return `transfer ${tokens(call.args[1] as bigint)} from the treasury to ${nameAddress(call.args[0] as string, ctx.contracts)}`;
      case "mint":
        return `mint ${tokens(call.args[1] as bigint)} to ${nameAddress(call.args[0] as string, ctx.contracts)}`;
      case "approve":
        return `approve ${nameAddress(call.args[0] as string, ctx.contracts)} to spend ${tokens(call.args[1] as bigint)} of the treasury`;
      case "delegate":
        return `delegate the treasury's votes to ${nameAddress(call.args[0] as string, ctx.contracts)}`;
      default:
        return undefined;
    }
  },
});

registerContractDecoder({
  contract: "AITBCGovernor",
  iface: governorInterface,
  describe(call, ctx) {
    const c = ctx.current ?? {};
    const arg = call.args[0] as bigint;
    switch (call.name) {
      case "setVotingDelay":
        return change("the voting delay", optional(c.votingDelay, seconds), seconds(arg));
      case "setVotingPeriod":
        return change("the voting period", optional(c.votingPeriod, seconds), seconds(arg));
      case "setProposalThreshold":
        return change("the proposal threshold", optional(c.proposalThreshold, tokens), tokens(arg));
      case "updateQuorumNumerator":
        return change("the quorum", optional(c.quorumPercent, (v) => `${v} %`), `${arg} %`);
      case "setLateQuorumVoteExtension":
        return change("the late-quorum extension", optional(c.lateQuorumExtension, seconds), seconds(arg));
      case "setProposalGuardian": {
        const to = call.args[0] as string;
        const show = (a: string): string => (a === ZeroAddress ? "none" : nameAddress(a, ctx.contracts));
        return change("the proposal guardian", optional(c.guardian, show), show(to));
      }
      default:
        return undefined;
    }
  },
});

registerContractDecoder({
  contract: "AITBCTimelock",
  iface: timelockInterface,
  describe(call, ctx) {
    switch (call.name) {
      case "updateDelay":
        return change("the timelock delay", optional(ctx.current?.timelockDelay, seconds), seconds(call.args[0] as bigint));
      case "grantRole":
      case "revokeRole":
        return `${call.name === "grantRole" ? "grant" : "revoke"} timelock role ${call.args[0] as string} ${call.name === "grantRole" ? "to" : "from"} ${nameAddress(call.args[1] as string, ctx.contracts)}`;
      default:
        return undefined;
    }
  },
});
