import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { withdraw } from "../../lib/sdk/client.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket, pickSender, txJson } from "./shared.js";

interface WithdrawArgs {
  from: string;
  json: boolean;
}

export default async function withdrawAction(args: WithdrawArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const done = await withdraw(sender, m.deployment, { onProgress: (line) => ctx.say(line) });
    ctx.say(`Withdrew ${aitbc(done.amount)} to ${done.account}.`);
    return { account: done.account, amount: done.amount, releasedBatches: done.releasedBatches, transactions: done.transactions.map(txJson) };
  });
}
