import type { Interface } from "ethers";

import type { ContractName } from "../../lib/deployments.js";
import { AitbcError } from "../../lib/errors.js";
import { decodeAction, type DecodeContext, type DecodedAction, type GovernanceSettings, type ProposalAction } from "../../lib/governance/kinds.js";
import type { ProposalView } from "../../lib/governance/proposals.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { readGovernanceSettings, readProposal, readProposals, type ReadProposalOptions } from "../../lib/sdk/governance.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IModelRegistry__factory } from "../../typechain-types/factories/interfaces/IModelRegistry__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import type { Chain } from "./chain.js";

/** ABIs of the deployment's contracts, for calls the shared decoder has no sentence for. */
const FALLBACK_ABIS: Partial<Record<ContractName, Interface>> = {
  ModelRegistry: IModelRegistry__factory.createInterface(),
  ProviderRegistry: IProviderRegistry__factory.createInterface(),
  JobEscrow: IJobEscrow__factory.createInterface(),
};

/**
 * The shared decoder's sentence; for a call to one of our contracts that it does not know, the call read with that
 * contract's ABI (`call ModelRegistry.setRate(1, 2500000000000000000)`) rather than a bare selector.
 */
export function describeAction(action: ProposalAction, ctx: DecodeContext): DecodedAction {
  const decoded = decodeAction(action, ctx);
  const iface = decoded.contract === undefined ? undefined : FALLBACK_ABIS[decoded.contract as ContractName];
  if (decoded.signature !== undefined || iface === undefined) return decoded;
  let call: ReturnType<Interface["parseTransaction"]>;
  try {
    call = iface.parseTransaction({ data: action.calldata, value: action.value });
  } catch {
    // Known selector, malformed arguments: the raw form is the honest one.
    return decoded;
  }
  if (call === null) return decoded;
  const args = call.args.toArray().map((a: unknown) => (Array.isArray(a) ? `[${a.map(String).join(", ")}]` : String(a)));
  return { ...decoded, signature: call.signature, args, summary: `call ${decoded.contract}.${call.name}(${args.join(", ")})` };
}

function readOptions(chain: Chain): ReadProposalOptions {
  const { deployment, network } = chain.config;
  return { contracts: deployment.contracts, network, fromBlock: deployment.block, decode: describeAction };
}

/** Every proposal, newest first, read with the SDK's one proposal reader. */
export async function loadProposals(chain: Chain): Promise<{ settings: GovernanceSettings; proposals: ProposalView[] }> {
  const [settings, proposals] = await Promise.all([readGovernanceSettings(chain.contracts), readProposals(chain.contracts, readOptions(chain))]);
  return { settings, proposals };
}

/** One proposal by its (sequential) id, or `undefined` when there is none. */
export async function loadProposal(chain: Chain, id: bigint): Promise<{ settings: GovernanceSettings; proposal?: ProposalView }> {
  const settings = await readGovernanceSettings(chain.contracts);
  try {
    return { settings, proposal: await readProposal(chain.contracts, id, readOptions(chain)) };
  } catch (error) {
    if (error instanceof AitbcError && error.code === "UNKNOWN_PROPOSAL") return { settings };
    throw error;
  }
}

export interface Vote {
  voter: string;
  support: number;
  weight: bigint;
  reason: string;
  block: number;
  tx: string;
}

export async function loadVotes(chain: Chain, id: bigint): Promise<Vote[]> {
  const { governor } = chain.contracts;
  const from = chain.config.deployment.block;
  const [plain, withParams] = await Promise.all([
    governor.queryFilter(governor.filters.VoteCast(), from),
    governor.queryFilter(governor.filters.VoteCastWithParams(), from),
  ]);
  return [...plain, ...withParams]
    .filter((e) => e.args.proposalId === id)
    .map((e) => ({ voter: e.args.voter, support: Number(e.args.support), weight: e.args.weight, reason: e.args.reason, block: e.blockNumber, tx: e.transactionHash }))
    .sort((a, b) => a.block - b.block);
}

export function tokens(base: bigint): string {
  return `${formatTokenAmount(base)} AITBC`;
}

/** A compact amount for bars and tables: `31,000,000` → `31M`. */
export function compactTokens(base: bigint): string {
  const whole = Number(base / 10n ** 15n) / 1_000;
  return new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 }).format(whole);
}
