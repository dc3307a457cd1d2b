import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { buildProposal, decodeAction, type KindInput } from "../../lib/governance/kinds.js";
import { readRateCard } from "../../lib/market/rates.js";
import { describeNextStep, withProposerSuffix } from "../../lib/governance/proposals.js";
import { readGovernanceSettings } from "../../lib/sdk/governance.js";
import { describeContractRevert } from "../../lib/sdk/reverts.js";
import { AITBCToken__factory, ModelRegistry__factory } from "../../typechain-types/index.js";
import { runTask } from "../shared/cli.js";
import { preflightProposal } from "./preflight.js";
import { type DaoContext, openDao, pickSender, transact } from "./shared.js";

interface ProposeArgs {
  kind: string;
  description: string;
  to: string;
  amount: string;
  param: string;
  value: string;
  target: string;
  signature: string;
  args: string;
  model: string;
  rate: string;
  unit: string;
  job: string;
  share: string;
  slash: string;
  from: string;
  json: boolean;
}

/** Model names become ids through the rate card, so users can type `--model llama3.2`. */
async function resolveModel(dao: DaoContext, kind: string, model: string): Promise<string> {
  const value = model.trim();
  // add-model takes the new model's name itself.
  if (value === "" || kind === "add-model" || /^\d+$/.test(value)) return value;
  const registry = dao.deployment.contracts.ModelRegistry;
  if (registry === undefined) return value;
  try {
    return (await ModelRegistry__factory.connect(registry, dao.ethers.provider).modelIdOf(value)).toString();
  } catch {
    throw new AitbcError("UNKNOWN_MODEL", `model \`${value}\` is not on the rate card`, {
      hint: `Pass a model id, or add the model first with \`--kind add-model --model ${value}\`.`,
    });
  }
}

async function checkMintsFitCap(dao: DaoContext, actions: { target: string; calldata: string }[]): Promise<void> {
  const iface = AITBCToken__factory.createInterface();
  let minted = 0n;
  for (const a of actions) {
    if (a.target.toLowerCase() !== dao.deployment.contracts.AITBCToken.toLowerCase()) continue;
    const call = iface.parseTransaction({ data: a.calldata });
    if (call?.name === "mint") minted += call.args[1] as bigint;
  }
  if (minted === 0n) return;
  const [supply, cap] = await Promise.all([dao.dao.token.totalSupply(), dao.dao.token.cap()]);
  if (supply + minted > cap) {
    throw new AitbcError("CAP_EXCEEDED", `minting ${formatTokenAmount(minted)} AITBC would exceed the cap: supply ${formatTokenAmount(supply)} of ${formatTokenAmount(cap)}`, {
      hint: `At most ${formatTokenAmount(cap - supply)} AITBC can still be minted; the execution would revert with AITBCCapExceeded.`,
    });
  }
}

export default async function proposeAction(args: ProposeArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    if (args.kind.trim() === "") {
      throw new AitbcError("MISSING_OPTION", "dao:propose needs --kind", {
        hint: "Use --kind treasury-transfer | mint | set-governance | custom | set-rate | add-model | disable-model | set-param | resolve-dispute (see `npx hardhat dao:propose --help`).",
      });
    }
    const dao = await openDao(ctx);
    const sender = await pickSender(ctx, args.from);
    const input: KindInput = {
      to: args.to,
      amount: args.amount,
      param: args.param,
      value: args.value,
      target: args.target,
      signature: args.signature,
      args: args.args,
      model: await resolveModel(dao, args.kind.trim(), args.model),
      rate: args.rate,
      unit: args.unit,
      job: args.job,
      share: args.share,
      slash: args.slash,
    };
    const proposal = buildProposal(args.kind.trim(), input, dao.deployment.contracts, args.description);
    const description = withProposerSuffix(proposal.description, sender.address);
    await checkMintsFitCap(dao, proposal.actions);
    await preflightProposal(dao, proposal, description);

    const governor = dao.dao.governor.connect(sender);
    const [threshold, votes, balance] = await Promise.all([
      governor.proposalThreshold(),
      dao.dao.token.getVotes(sender.address),
      dao.dao.token.balanceOf(sender.address),
    ]);
    if (votes < threshold) {
      const delegateHint =
        balance >= threshold
          ? `${sender.address} holds ${formatTokenAmount(balance)} AITBC but has not delegated it; run \`npx hardhat dao:delegate --network ${ctx.networkName}${args.from === "" ? "" : ` --from ${args.from}`}\` first.`
          : `Ask holders to delegate to ${sender.address} (\`dao:delegate --to\`), or propose from an account with enough votes (--from).`;
      throw new AitbcError("BELOW_THRESHOLD", `${sender.address} has ${formatTokenAmount(votes)} AITBC of voting power; proposing needs ${formatTokenAmount(threshold)}`, {
        hint: delegateHint,
        details: { votes: votes.toString(), threshold: threshold.toString() },
      });
    }

    const settings = await readGovernanceSettings(dao.dao);
    const registry = dao.deployment.contracts.ModelRegistry;
    const rateCard = registry === undefined ? undefined : await readRateCard(ModelRegistry__factory.connect(registry, ctx.ethers.provider));
    const decoded = proposal.actions.map((a) => decodeAction(a, { contracts: dao.deployment.contracts, current: settings, rateCard }));
    ctx.say(`Proposing (${proposal.kind}) from ${sender.address}:`);
    for (const d of decoded) ctx.say(`  • ${d.summary}`);

    // The Governor counts the votes of the second before the proposing block, so a delegation mined in the latest
    // block counts only from the next one. On a chain that mines on an interval, wait for that block (the votes are
    // there already, checked above) instead of failing the simulation.
    try {
      await governor.propose.estimateGas(proposal.targets, proposal.values, proposal.calldatas, description);
    } catch (error) {
      if (describeContractRevert(error)?.name !== "GovernorInsufficientProposerVotes") throw error;
      const latest = await ctx.ethers.provider.getBlock("latest");
      ctx.say("Your voting power counts from the next block; waiting for it…");
      for (const until = Date.now() + 60_000; Date.now() < until; ) {
        const head = await ctx.ethers.provider.getBlock("latest");
        if (latest === null || head === null || head.timestamp > latest.timestamp) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const tx = await transact(ctx, "propose", {
      estimate: () => governor.propose.estimateGas(proposal.targets, proposal.values, proposal.calldatas, description),
      send: () => governor.propose(proposal.targets, proposal.values, proposal.calldatas, description),
    });
    const receipt = await ctx.ethers.provider.getTransactionReceipt(tx.hash);
    const created = receipt?.logs
      .map((log) => {
        try {
          return governor.interface.parseLog(log);
        } catch {
          return null;
        }
      })
      .find((parsed) => parsed?.name === "ProposalCreated");
    if (created === undefined || created === null) {
      throw new AitbcError("TX_FAILED", `propose was mined (${tx.hash}) but emitted no ProposalCreated event`, {
        hint: "Check that deployments file points at the AITBC Governor.",
      });
    }
    const id = created.args.proposalId as bigint;
    const [snapshot, deadline, now] = await Promise.all([governor.proposalSnapshot(id), governor.proposalDeadline(id), governor.clock()]);
    ctx.say(`Created proposal ${id}.`);
    ctx.say(describeNextStep({ id, state: "Pending", snapshot, deadline, eta: 0n, now, votes: { for: 0n, against: 0n, abstain: 0n }, quorumReached: false }, { network: ctx.networkName, local: dao.local }));
    return {
      id,
      kind: proposal.kind,
      proposer: sender.address,
      description,
      snapshot,
      deadline,
      actions: decoded,
      tx,
    };
  });
}
