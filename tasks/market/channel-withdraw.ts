import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { cancelChannelWithdrawal, readChannel, requestChannelWithdrawal, withdrawChannel } from "../../lib/sdk/channel-funds.js";
import { runTask } from "../shared/cli.js";
import { channelJson, describeChannel, requiredProvider } from "./channel-status.js";
import { aitbc, openMarket, pickSender, txJson } from "./shared.js";

interface WithdrawArgs {
  provider: string;
  cancel: boolean;
  from: string;
  json: boolean;
}

/**
 * One command for the two steps of a channel withdrawal: the first run starts the delay, a run after it pays the
 * balance back; a run in between says when (non-zero exit). `--cancel` calls a pending withdrawal off.
 */
export default async function channelWithdrawAction(args: WithdrawArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const provider = requiredProvider(args.provider, "channel:withdraw");
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const onProgress = (line: string) => ctx.say(line);
    if (args.cancel) {
      const done = await cancelChannelWithdrawal(sender, m.deployment, { provider, onProgress });
      for (const line of describeChannel(done.channel)) ctx.say(line);
      return { action: "cancelled", amount: 0n, channel: channelJson(done.channel), transactions: done.transactions.map(txJson) };
    }
    const before = await readChannel(m.deployment, ctx.ethers.provider, sender.address, provider);
    if (before.closesAt === null) {
      const done = await requestChannelWithdrawal(sender, m.deployment, { provider, onProgress });
      for (const line of describeChannel(done.channel)) ctx.say(line);
      ctx.say(`Run the same command again after the delay to take ${aitbc(done.channel.balance)} back.`);
      return { action: "requested", amount: 0n, channel: channelJson(done.channel), transactions: done.transactions.map(txJson) };
    }
    const done = await withdrawChannel(sender, m.deployment, { provider, onProgress });
    ctx.say(`Withdrew ${aitbc(done.amount)} from the channel with ${done.channel.provider}.`);
    return { action: "withdrawn", amount: done.amount, channel: channelJson(done.channel), transactions: done.transactions.map(txJson) };
  });
}
