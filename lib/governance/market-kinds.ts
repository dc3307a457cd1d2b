/**
 * Proposal kinds and decoders for the marketplace contracts (rate card, escrow, provider registry). Registered on
 * import; {@link ./proposals.ts} imports this module, so every reader of proposals decodes marketplace calls too.
 */
import type { Interface } from "ethers";

import { AitbcError } from "../errors.js";
import { JobChannels__factory } from "../../typechain-types/factories/market/JobChannels__factory.js";
import { JobEscrow__factory } from "../../typechain-types/factories/market/JobEscrow__factory.js";
import { ModelRegistry__factory } from "../../typechain-types/factories/market/ModelRegistry__factory.js";
import { ProviderRegistry__factory } from "../../typechain-types/factories/market/ProviderRegistry__factory.js";
import type { ContractName } from "../deployments.js";
import { formatDuration, parseDuration } from "../time.js";
import { formatAitbc, formatTokenAmount, parseTokenAmount } from "../money/amounts.js";
import { BPS, MAX_EXPOSURE_MULTIPLE, MAX_MODEL_ID } from "../protocol.js";
import {
  registerContractDecoder,
  registerProposalKind,
  type DeployedContracts,
  type ProposalAction,
} from "./kinds.js";

const models = ModelRegistry__factory.createInterface();
const escrow = JobEscrow__factory.createInterface();
const providers = ProviderRegistry__factory.createInterface();
const channels = JobChannels__factory.createInterface();

function contractAt(contracts: DeployedContracts, name: ContractName): string {
  const address = contracts[name];
  if (address === undefined) {
    throw new AitbcError("CONTRACT_NOT_DEPLOYED", `${name} is not part of this deployment`, {
      hint: "Redeploy with `npx hardhat deploy --network <network> --redeploy` to include the marketplace.",
    });
  }
  return address;
}

/**
 * A model id (0 … 65535). Names are resolved to ids by the caller, which can read the rate card
 * (`ModelRegistry.modelIdOf`); this module stays free of chain access.
 */
export function parseModelId(text: string | undefined): bigint {
  const value = (text ?? "").trim();
  if (!/^\d+$/.test(value) || BigInt(value) > MAX_MODEL_ID) {
    throw new AitbcError("BAD_MODEL", `--model \`${value}\` is not a model id`, { hint: "Pass the model's id or name as listed by the rate card." });
  }
  return BigInt(value);
}

/** Basis points from `250` (bps) or `2.5%`. */
export function parseBps(text: string | undefined, what: string): bigint {
  const value = (text ?? "").trim();
  const percent = /^(\d{1,3})(?:\.(\d{1,2}))?\s*%$/.exec(value);
  let bps: bigint | undefined;
  if (percent !== null) bps = BigInt(percent[1]) * 100n + BigInt((percent[2] ?? "").padEnd(2, "0"));
  else if (/^\d{1,5}$/.test(value)) bps = BigInt(value);
  if (bps === undefined || bps > BPS) {
    throw new AitbcError("BAD_VALUE", `${what} \`${value}\` is not a share between 0 and ${BPS} bps`, {
      hint: "Write basis points (`250`) or a percentage (`2.5%`).",
    });
  }
  return bps;
}

const MARKET_PARAMS: Record<string, { contract: ContractName; fn: string; parse: (v: string) => bigint }> = {
  "fee-bps": { contract: "JobEscrow", fn: "setFeeBps", parse: (v) => parseBps(v, "fee") },
  "dispute-window": { contract: "JobEscrow", fn: "setDisputeWindow", parse: (v) => parseDuration(v, "dispute window") },
  "dispute-timeout": { contract: "JobEscrow", fn: "setDisputeTimeout", parse: (v) => parseDuration(v, "dispute timeout") },
  "max-deadline-delay": { contract: "JobEscrow", fn: "setMaxDeadlineDelay", parse: (v) => parseDuration(v, "max deadline delay") },
  "min-bond": { contract: "ProviderRegistry", fn: "setMinBond", parse: (v) => parseTokenAmount(v, { what: "minimum bond", allowZero: true }) },
  "unbonding-period": { contract: "ProviderRegistry", fn: "setUnbondingPeriod", parse: (v) => parseDuration(v, "unbonding period") },
  "dispute-bond": { contract: "JobEscrow", fn: "setDisputeBond", parse: (v) => parseTokenAmount(v, { what: "dispute bond", allowZero: true }) },
  "exposure-multiple": { contract: "ProviderRegistry", fn: "setExposureMultiple", parse: (v) => parseMultiple(v) },
  "channel-fee-bps": { contract: "JobChannels", fn: "setFeeBps", parse: (v) => parseBps(v, "channel fee") },
  "channel-withdrawal-delay": { contract: "JobChannels", fn: "setWithdrawalDelay", parse: (v) => parseDuration(v, "channel withdrawal delay") },
  "channel-dispute-window": { contract: "JobChannels", fn: "setDisputeWindow", parse: (v) => parseDuration(v, "channel dispute window") },
  "channel-dispute-timeout": { contract: "JobChannels", fn: "setDisputeTimeout", parse: (v) => parseDuration(v, "channel dispute timeout") },
  "channel-dispute-bond": { contract: "JobChannels", fn: "setDisputeBond", parse: (v) => parseTokenAmount(v, { what: "channel dispute bond", allowZero: true }) },
};

const PARAM_INTERFACES: Partial<Record<ContractName, Interface>> = { JobEscrow: escrow, ProviderRegistry: providers, JobChannels: channels };

/** A whole multiple of the bond, 1 to 10,000 (ProviderRegistry.MAX_EXPOSURE_MULTIPLE). */
function parseMultiple(value: string): bigint {
  const match = /^(\d{1,5})x?$/.exec(value.trim());
  const multiple = match === null ? undefined : BigInt(match[1]);
  if (multiple === undefined || multiple < 1n || multiple > MAX_EXPOSURE_MULTIPLE) {
    throw new AitbcError("BAD_VALUE", `exposure multiple \`${value}\` is not a whole number between 1 and ${MAX_EXPOSURE_MULTIPLE}`, {
      hint: "Write how many times its bond a provider's exposure may reach, e.g. `10` (or `10x`).",
    });
  }
  return multiple;
}

/** The marketplace parameters `set-param --param` accepts. */
export const MARKET_PARAM_NAMES = Object.keys(MARKET_PARAMS);

function on(target: string, calldata: string): ProposalAction[] {
  return [{ target, value: 0n, calldata }];
}

registerProposalKind({
  name: "set-rate",
  summary: "Change a model's rate on the rate card (AITBC per unit); running jobs keep their snapshotted rate",
  options: [
    { name: "model", description: "model id or name", required: true },
    { name: "rate", description: "AITBC per unit (gpu_seconds), e.g. 2.5", required: true },
  ],
  example: "--kind set-rate --model llama3.2 --rate 2.5 --description \"Reprice llama3.2\"",
  build(input, contracts) {
    const rate = parseTokenAmount(input.rate ?? "", { what: "--rate" });
    return on(contractAt(contracts, "ModelRegistry"), models.encodeFunctionData("setRate", [parseModelId(input.model), rate]));
  },
});

registerProposalKind({
  name: "add-model",
  summary: "Add a model to the rate card",
  options: [
    { name: "model", description: "model name, e.g. llama3.3", required: true },
    { name: "rate", description: "AITBC per unit", required: true },
    { name: "unit", description: "unit type (default gpu_seconds)", required: false },
  ],
  example: "--kind add-model --model llama3.3 --rate 3 --description \"Serve llama3.3\"",
  build(input, contracts) {
    const name = (input.model ?? "").trim();
    const unit = (input.unit ?? "").trim() === "" ? "gpu_seconds" : (input.unit ?? "").trim();
    const rate = parseTokenAmount(input.rate ?? "", { what: "--rate" });
    return on(contractAt(contracts, "ModelRegistry"), models.encodeFunctionData("addModel", [name, unit, rate]));
  },
});

registerProposalKind({
  name: "disable-model",
  summary: "Take a model off the rate card (no new jobs; existing jobs finish at their rate)",
  options: [{ name: "model", description: "model id or name", required: true }],
  example: "--kind disable-model --model codellama --description \"Retire codellama\"",
  build(input, contracts) {
    return on(contractAt(contracts, "ModelRegistry"), models.encodeFunctionData("setEnabled", [parseModelId(input.model), false]));
  },
});

registerProposalKind({
  name: "set-param",
  summary: "Change a marketplace parameter of the escrow, the provider registry or the channel contract (channel-*)",
  options: [
    { name: "param", description: MARKET_PARAM_NAMES.join(" | "), required: true },
    { name: "value", description: "new value: bps or % for the fees, AITBC for min-bond and the dispute bonds, a whole multiple for exposure-multiple, durations otherwise", required: true },
  ],
  example: "--kind set-param --param fee-bps --value 2.5% --description \"Lower the fee\"",
  build(input, contracts) {
    const param = MARKET_PARAMS[(input.param ?? "").trim()];
    if (param === undefined) {
      throw new AitbcError("BAD_VALUE", `\`${input.param}\` is not a marketplace parameter`, { hint: `Use one of: ${MARKET_PARAM_NAMES.join(", ")}.` });
    }
    const iface = PARAM_INTERFACES[param.contract] as Interface;
    return on(contractAt(contracts, param.contract), iface.encodeFunctionData(param.fn, [param.parse(input.value ?? "")]));
  },
});

registerProposalKind({
  name: "resolve-dispute",
  summary: "Resolve a disputed job: split its price between provider and client and optionally slash the bond",
  options: [
    { name: "job", description: "disputed job id", required: true },
    { name: "share", description: "provider's share of the price, bps (e.g. 5000) or percent (50%)", required: true },
    { name: "slash", description: "AITBC to slash from the provider's bond (default 0)", required: false },
  ],
  example: "--kind resolve-dispute --job 42 --share 50% --slash 100 --description \"Half-done job\"",
  build(input, contracts) {
    const job = (input.job ?? "").trim();
    if (!/^\d+$/.test(job)) throw new AitbcError("BAD_VALUE", `--job \`${job}\` is not a job id`, { hint: "Pass the numeric job id." });
    const slash = (input.slash ?? "").trim() === "" ? 0n : parseTokenAmount(input.slash ?? "", { what: "--slash", allowZero: true });
    return on(contractAt(contracts, "JobEscrow"), escrow.encodeFunctionData("resolveDispute", [BigInt(job), parseBps(input.share, "--share"), slash]));
  },
});

registerProposalKind({
  name: "resolve-channel-dispute",
  summary: "Resolve a disputed fallback claim of the channel mode: split its held amount between provider and client",
  options: [
    { name: "request", description: "the disputed request's digest (0x + 64 hex digits, the job id of its receipt)", required: true },
    { name: "share", description: "provider's share of the held amount, bps (e.g. 5000) or percent (50%)", required: true },
  ],
  example: "--kind resolve-channel-dispute --request 0x… --share 50% --description \"Half-done job\"",
  build(input, contracts) {
    const digest = (input.request ?? "").trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(digest)) {
      throw new AitbcError("BAD_VALUE", `--request \`${digest}\` is not a request digest`, { hint: "Pass the 0x-prefixed 32-byte digest shown by the dispute (ClaimDisputed event)." });
    }
    return on(contractAt(contracts, "JobChannels"), channels.encodeFunctionData("resolveDispute", [digest, parseBps(input.share, "--share")]));
  },
});

const tokens = formatAitbc;
const bps = (v: bigint): string => `${Number(v) / 100} %`;

registerContractDecoder({
  contract: "ModelRegistry",
  iface: models,
  describe(call, ctx) {
    const entry = ctx.rateCard?.find((m) => BigInt(m.id) === (call.args[0] as bigint));
    const model = entry === undefined ? `model #${call.args[0]}` : entry.name;
    switch (call.name) {
      case "setRate": {
        const unit = entry === undefined ? "unit" : entry.unitType;
        const from = entry === undefined ? "" : ` from ${formatTokenAmount(entry.rate)}`;
        return `set rate of ${model}${from} to ${formatTokenAmount(call.args[1] as bigint)} AITBC per ${unit}`;
      }
      case "addModel":
        return `add model \`${call.args[0]}\` at ${tokens(call.args[2] as bigint)} per ${call.args[1]}`;
      case "setEnabled":
        return `${call.args[1] === true ? "enable" : "disable"} ${model}`;
      default:
        return undefined;
    }
  },
});

registerContractDecoder({
  contract: "JobEscrow",
  iface: escrow,
  describe(call) {
    switch (call.name) {
      case "setFeeBps":
        return `set the protocol fee to ${bps(call.args[0] as bigint)}`;
      case "setDisputeWindow":
        return `set the dispute window to ${formatDuration(call.args[0] as bigint)}`;
      case "setDisputeTimeout":
        return `set the dispute timeout to ${formatDuration(call.args[0] as bigint)}`;
      case "setMaxDeadlineDelay":
        return `set the longest job deadline to ${formatDuration(call.args[0] as bigint)}`;
      case "setDisputeBond":
        return `set the dispute bond to ${tokens(call.args[0] as bigint)} (new disputes only)`;
      case "resolveDispute":
        return `resolve the dispute on job ${call.args[0]}: ${bps(call.args[1] as bigint)} of the price to the provider, slash ${tokens(call.args[2] as bigint)}`;
      default:
        return undefined;
    }
  },
});

registerContractDecoder({
  contract: "JobChannels",
  iface: channels,
  describe(call) {
    switch (call.name) {
      case "setFeeBps":
        return `set the channel fee to ${bps(call.args[0] as bigint)}`;
      case "setWithdrawalDelay":
        return `set the channel withdrawal delay to ${formatDuration(call.args[0] as bigint)}`;
      case "setDisputeWindow":
        return `set the channel dispute window to ${formatDuration(call.args[0] as bigint)}`;
      case "setDisputeTimeout":
        return `set the channel dispute timeout to ${formatDuration(call.args[0] as bigint)}`;
      case "setDisputeBond":
        return `set the channel dispute bond to ${tokens(call.args[0] as bigint)} (new disputes only)`;
      case "resolveDispute":
        return `resolve the channel dispute on request ${String(call.args[0])}: ${bps(call.args[1] as bigint)} of the held amount to the provider`;
      default:
        return undefined;
    }
  },
});

registerContractDecoder({
  contract: "ProviderRegistry",
  iface: providers,
  describe(call) {
    switch (call.name) {
      case "setMinBond":
        return `set the minimum provider bond to ${tokens(call.args[0] as bigint)}`;
      case "setUnbondingPeriod":
        return `set the unbonding period to ${formatDuration(call.args[0] as bigint)}`;
      case "setExposureMultiple":
        return `let a provider's exposure reach ${call.args[0] as bigint} x its bond`;
      default:
        return undefined;
    }
  },
});
