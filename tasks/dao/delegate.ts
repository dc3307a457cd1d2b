import { getAddress, isAddress, ZeroAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { delegateGate } from "../../lib/governance/proposals.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { runTask } from "../shared/cli.js";
import { openDao, pickSender, transact } from "./shared.js";

interface DelegateArgs {
  to: string;
  from: string;
  json: boolean;
}

export default async function delegateAction(args: DelegateArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const dao = await openDao(ctx);
    const sender = await pickSender(ctx, args.from);
    let delegatee = sender.address;
    if (args.to.trim() !== "") {
      if (!isAddress(args.to.trim()) || getAddress(args.to.trim()) === ZeroAddress) {
        throw new AitbcError("BAD_ADDRESS", `--to \`${args.to}\` is not an address`, {
          hint: "Pass the 0x-prefixed address to delegate to, or omit --to to delegate to yourself.",
        });
      }
      delegatee = getAddress(args.to.trim());
    }
    const token = dao.dao.token.connect(sender);
    const [balance, current] = await Promise.all([token.balanceOf(sender.address), token.delegates(sender.address)]);
    const gate = delegateGate({ account: sender.address, balance, delegatee: current }, delegatee);
    if (!gate.ok && gate.code === "NO_TOKENS") {
      ctx.say(`! ${sender.address} holds no AITBC yet; the delegation applies to tokens it receives later.`);
    }
    if (!gate.ok && gate.code === "ALREADY_DELEGATED") {
      ctx.say(`${sender.address} already delegates to ${delegatee}; nothing to do.`);
      const votes = await token.getVotes(delegatee);
      return { account: sender.address, delegatee, balance, votes, changed: false };
    }
    ctx.say(`Delegating ${formatTokenAmount(balance)} AITBC of voting power from ${sender.address} to ${delegatee === sender.address ? "itself" : delegatee}`);
    const tx = await transact(ctx, "delegate", {
      estimate: () => token.delegate.estimateGas(delegatee),
      send: () => token.delegate(delegatee),
    });
    const votes = await token.getVotes(delegatee);
    ctx.say(`${delegatee} now has ${formatTokenAmount(votes)} AITBC of voting power (it counts for proposals created from the next block on).`);
    return { account: sender.address, delegatee, balance, votes, changed: true, tx };
  });
}
