import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { getAddress, isAddress, type ContractTransactionResponse } from "ethers";

import { isLocalChain } from "../../lib/sdk/deployment.js";
import { AitbcError } from "../../lib/errors.js";
import { describeContractRevert } from "../../lib/sdk/reverts.js";
import { formatTimestamp } from "../../lib/time.js";
import type { ProposalView } from "../../lib/governance/proposals.js";
import { type GovernanceContracts, readProposal } from "../../lib/sdk/governance.js";
import { sendTransaction } from "../../lib/sdk/tx.js";
import { AITBCGovernor__factory, AITBCTimelock__factory, AITBCToken__factory } from "../../typechain-types/index.js";
import { type DeployedContext, type TaskContext, withDeployment } from "../shared/cli.js";

export interface DaoContext extends DeployedContext {
  /** Read-only contract handles (connected to the provider). */
  dao: GovernanceContracts;
  /** Disposable chain: `dao:advance` is allowed and hints mention it. */
  local: boolean;
}

export async function openDao(ctx: TaskContext): Promise<DaoContext> {
  const deployed = await withDeployment(ctx);
  const provider = ctx.ethers.provider;
  const c = deployed.deployment.contracts;
  return {
    ...deployed,
    local: isLocalChain(ctx.chainId),
    dao: {
      governor: AITBCGovernor__factory.connect(c.AITBCGovernor, provider),
      token: AITBCToken__factory.connect(c.AITBCToken, provider),
      timelock: AITBCTimelock__factory.connect(c.AITBCTimelock, provider),
    },
  };
}

/**
 * The account a command acts for: the first signer by default; `--from` takes an index into the node's accounts
 * (`0`, `1`, …) or one of their addresses.
 */
export async function pickSender(ctx: TaskContext, from: string): Promise<HardhatEthersSigner> {
  const signers = await ctx.ethers.getSigners();
  if (signers.length === 0) {
    throw new AitbcError("NO_ACCOUNTS", `network \`${ctx.networkName}\` has no accounts to send from`, {
      hint: "Configure accounts for the network (for `live`: `npx hardhat keystore set AITBC_LIVE_PRIVATE_KEY`).",
    });
  }
  const wanted = from.trim();
  if (wanted === "") return signers[0];
  if (/^\d+$/.test(wanted)) {
    const signer = signers[Number(wanted)];
    if (signer === undefined) {
      throw new AitbcError("UNKNOWN_ACCOUNT", `--from ${wanted}: the node has accounts 0 to ${signers.length - 1}`, {
        hint: "Pass an account index within that range or one of the node's addresses.",
      });
    }
    return signer;
  }
  if (!isAddress(wanted)) {
    throw new AitbcError("UNKNOWN_ACCOUNT", `--from \`${wanted}\` is neither an account index nor an address`, {
      hint: "Pass an index (`--from 1`) or one of the node's addresses.",
    });
  }
  const signer = signers.find((s) => s.address.toLowerCase() === wanted.toLowerCase());
  if (signer === undefined) {
    throw new AitbcError("UNKNOWN_ACCOUNT", `--from ${getAddress(wanted)} is not an account this network can sign for`, {
      hint: "Use one of the node's accounts (`--from 0` … ) or configure the key for this network.",
    });
  }
  return signer;
}

export interface SentTx {
  hash: string;
  block: number;
  gasUsed: bigint;
}

/** `GovernorUnexpectedProposalState(3, 1, 0x…)` from revert data, when one of our contracts defines the error. */
export function describeRevert(error: unknown): string | undefined {
  return describeContractRevert(error)?.text;
}

/**
 * Simulates, then sends one transaction, with progress lines (sent → mined): the SDK's `sendTransaction`. A call that
 * would revert is reported as `TX_WOULD_REVERT` naming the contract error, and nothing is sent.
 */
export async function transact(
  ctx: TaskContext,
  label: string,
  call: { estimate: () => Promise<bigint>; send: () => Promise<ContractTransactionResponse> },
): Promise<SentTx> {
  const { hash, block, gasUsed } = await sendTransaction(label, call, {
    onProgress: (line) => ctx.say(line),
    hint: "The chain changed since the checks ran, or the proposal breaks a contract rule; see `npx hardhat dao:show --id <id>`.",
  });
  return { hash, block, gasUsed };
}

/** `2026-11-29 12:00:31 UTC`, for chain timestamps. */
export const at = formatTimestamp;

export function networkFlag(ctx: TaskContext): string {
  return `--network ${ctx.networkName}`;
}

/** What every action on one proposal starts from: the DAO, the sender, and the proposal as it is now. */
export interface ProposalAction {
  dao: DaoContext;
  sender: HardhatEthersSigner;
  view: ProposalView;
  /** Re-reads the proposal (after a transaction). */
  reread: () => Promise<ProposalView>;
  /** Network and chain kind, for next-step hints. */
  hints: { network: string; local: boolean };
}

/** Opens the deployment, picks the sender (`--from`) and reads proposal `id`; unknown ids fail with a coded error. */
export async function openProposal(ctx: TaskContext, id: bigint, from: string): Promise<ProposalAction> {
  const dao = await openDao(ctx);
  const sender = await pickSender(ctx, from);
  const options = { contracts: dao.deployment.contracts, network: ctx.networkName, fromBlock: dao.deployment.block };
  const view = await readProposal(dao.dao, id, options);
  return { dao, sender, view, reread: () => readProposal(dao.dao, id, options), hints: { network: ctx.networkName, local: dao.local } };
}
