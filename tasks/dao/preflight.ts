/**
 * Checks a proposal's actions against the chain before it is proposed, so a proposal that could never execute, or
 * that would change nothing, is refused with the reason instead of costing a vote that ends in a revert.
 */
import { id as keccakText } from "ethers";

import { AitbcError } from "../../lib/errors.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import type { ProposalAction } from "../../lib/governance/kinds.js";
import { proposalStateName } from "../../lib/governance/proposals.js";
import { connectMarket, readJob } from "../../lib/sdk/market.js";
import { describeContractRevert } from "../../lib/sdk/reverts.js";
import { AITBCToken__factory, JobEscrow__factory, ModelRegistry__factory } from "../../typechain-types/index.js";
import type { DaoContext } from "./shared.js";

const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** `TREASURY_INSUFFICIENT` when the transfers out of the treasury add up to more than it holds. */
async function checkTreasuryTransfers(dao: DaoContext, actions: readonly ProposalAction[]): Promise<void> {
  const token = dao.deployment.contracts.AITBCToken;
  const iface = AITBCToken__factory.createInterface();
  let total = 0n;
  for (const a of actions) {
    if (!same(a.target, token)) continue;
    const call = iface.parseTransaction({ data: a.calldata });
    if (call?.name === "transfer") total += call.args[1] as bigint;
  }
  if (total === 0n) return;
  const treasury = dao.deployment.contracts.AITBCTimelock;
  const balance = await dao.dao.token.balanceOf(treasury);
  if (total > balance) {
    throw new AitbcError("TREASURY_INSUFFICIENT", `the proposal transfers ${formatTokenAmount(total)} AITBC, but the treasury (the timelock) holds ${formatTokenAmount(balance)} AITBC`, {
      hint: `Transfer at most ${formatTokenAmount(balance)} AITBC; the execution would revert with ERC20InsufficientBalance.`,
      details: { amount: total.toString(), balance: balance.toString() },
    });
  }
}

/** `NO_OP_PROPOSAL` when a rate change sets the rate a model already has. */
async function checkRateChanges(dao: DaoContext, actions: readonly ProposalAction[]): Promise<void> {
  const registry = dao.deployment.contracts.ModelRegistry;
  if (registry === undefined) return;
  const models = ModelRegistry__factory.connect(registry, dao.ethers.provider);
  for (const a of actions) {
    if (!same(a.target, registry)) continue;
    const call = models.interface.parseTransaction({ data: a.calldata });
    if (call?.name !== "setRate") continue;
    const modelId = call.args[0] as bigint;
    const rate = call.args[1] as bigint;
    let current: { name: string; rate: bigint };
    try {
      current = await models.model(modelId);
    } catch (error) {
      if (describeContractRevert(error)?.name === "ModelRegistryUnknownModel") {
        throw new AitbcError("UNKNOWN_MODEL", `there is no model #${modelId} on the rate card`, { hint: "Run `npx hardhat rates` to list the models." });
      }
      throw error;
    }
    if (current.rate === rate) {
      throw new AitbcError("NO_OP_PROPOSAL", `${current.name} already costs ${formatTokenAmount(rate)} AITBC per unit; the proposal would change nothing`, {
        hint: "Pass the new rate with --rate (see `npx hardhat rates`).",
        details: { modelId: modelId.toString(), rate: rate.toString() },
      });
    }
  }
}

/** `NO_SUCH_DISPUTE` when a resolution names a job that does not exist or is not Disputed. */
async function checkDisputeResolutions(dao: DaoContext, actions: readonly ProposalAction[]): Promise<void> {
  const escrowAddress = dao.deployment.contracts.JobEscrow;
  if (escrowAddress === undefined) return;
  const iface = JobEscrow__factory.createInterface();
  for (const a of actions) {
    if (!same(a.target, escrowAddress)) continue;
    const call = iface.parseTransaction({ data: a.calldata });
    if (call?.name !== "resolveDispute") continue;
    const jobId = call.args[0] as bigint;
    let status: string;
    try {
      status = (await readJob(connectMarket(dao.deployment, dao.ethers.provider).escrow, jobId, dao.networkName)).status;
    } catch (error) {
      if (error instanceof AitbcError && error.code === "UNKNOWN_JOB") {
        throw new AitbcError("NO_SUCH_DISPUTE", `job ${jobId} does not exist, so there is no dispute to resolve`, { hint: "Run `npx hardhat receipts --network " + dao.networkName + "` to find the disputed job.", details: { jobId: jobId.toString() } });
      }
      throw error;
    }
    if (status !== "Disputed") {
      throw new AitbcError("NO_SUCH_DISPUTE", `job ${jobId} is ${status}, not Disputed; there is no dispute to resolve`, {
        hint: `Check the job with \`npx hardhat job:status --id ${jobId} --network ${dao.networkName}\`.`,
        details: { jobId: jobId.toString(), status },
      });
    }
  }
}

/** `DUPLICATE_PROPOSAL` when the same actions with the same description were proposed already. */
async function checkNotProposed(dao: DaoContext, proposal: { targets: string[]; values: bigint[]; calldatas: string[] }, description: string): Promise<void> {
  let existing: bigint;
  try {
    existing = await dao.dao.governor.getProposalId(proposal.targets, proposal.values, proposal.calldatas, keccakText(description));
  } catch (error) {
    if (describeContractRevert(error)?.name === "GovernorNonexistentProposal") return;
    throw error;
  }
  if (existing === 0n) return;
  const state = proposalStateName(await dao.dao.governor.state(existing));
  throw new AitbcError("DUPLICATE_PROPOSAL", `proposal ${existing} (${state}) already has these actions and this description`, {
    hint: `Follow that proposal (\`npx hardhat dao:show --id ${existing} --network ${dao.networkName}\`), or change --description to propose again.`,
    details: { existing: existing.toString(), state },
  });
}

export async function preflightProposal(
  dao: DaoContext,
  proposal: { actions: readonly ProposalAction[]; targets: string[]; values: bigint[]; calldatas: string[] },
  description: string,
): Promise<void> {
  await checkNotProposed(dao, proposal, description);
  await checkTreasuryTransfers(dao, proposal.actions);
  await checkRateChanges(dao, proposal.actions);
  await checkDisputeResolutions(dao, proposal.actions);
}
