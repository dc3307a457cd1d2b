import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { parseAddressOption } from "../../lib/market/jobs.js";
import { parseTokenAmount } from "../../lib/money/amounts.js";
import { depositToChannel } from "../../lib/sdk/channel-funds.js";
import { runTask } from "../shared/cli.js";
import { channelJson, describeChannel, requiredProvider } from "./channel-status.js";
import { openMarket, pickSender, txJson } from "./shared.js";

interface DepositArgs {
  provider: string;
  amount: string;
  client: string;
  from: string;
  json: boolean;
}

export default async function channelDepositAction(args: DepositArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const provider = requiredProvider(args.provider, "channel:deposit");
    const amount = parseTokenAmount(args.amount, { what: "--amount" });
    const client = args.client.trim() === "" ? undefined : parseAddressOption(args.client, "--client");
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const done = await depositToChannel(sender, m.deployment, { provider, amount, client, onProgress: (line) => ctx.say(line) });
    for (const line of describeChannel(done.channel)) ctx.say(line);
    return { channel: channelJson(done.channel), transactions: done.transactions.map(txJson) };
  });
}
