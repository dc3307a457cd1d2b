import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { parseAddressOption } from "../../lib/market/jobs.js";
import { readChannel, type ChannelState } from "../../lib/sdk/channel-funds.js";
import { formatDuration, formatTimestamp } from "../../lib/time.js";
import { AitbcError } from "../../lib/errors.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket, pickSender } from "./shared.js";

interface StatusArgs {
  provider: string;
  client: string;
  from: string;
  json: boolean;
}

/** `--provider`, which every channel command needs: the channel is (you, that provider). */
export function requiredProvider(text: string, command: string): string {
  if (text.trim() === "") {
    throw new AitbcError("MISSING_OPTION", `${command} needs --provider`, { hint: "Name the provider the channel is with, e.g. --provider 0x… (see `npx hardhat providers`)." });
  }
  return parseAddressOption(text, "--provider");
}

/** The lines every channel command prints about the channel it leaves behind. */
export function describeChannel(c: ChannelState): string[] {
  const lines = [
    `Channel of ${c.client} with ${c.provider} — ${c.status}`,
    `  balance       ${aitbc(c.balance)} (what the provider can still claim, or you take back after a withdrawal)`,
    `  paid so far   ${aitbc(c.spent)} (vouchers redeemed and fallback charges), requests 1–${c.coveredThrough} covered`,
  ];
  if (c.closesAt !== null) {
    const left = c.closesAt > c.now ? c.closesAt - c.now : 0n;
    lines.push(
      c.status === "withdrawable"
        ? `  withdrawal    due since ${formatTimestamp(c.closesAt)}: \`channel:withdraw --provider ${c.provider}\` pays the balance back`
        : `  withdrawal    pending until ${formatTimestamp(c.closesAt)} (${formatDuration(left)} from now); the provider can claim until then`,
    );
  }
  return lines;
}

export function channelJson(c: ChannelState) {
  return {
    channels: c.channels,
    client: c.client,
    provider: c.provider,
    status: c.status,
    balance: c.balance,
    spent: c.spent,
    coveredThrough: c.coveredThrough,
    closesAt: c.closesAt,
    chainTime: c.now,
  };
}

export default async function channelStatusAction(args: StatusArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const provider = requiredProvider(args.provider, "channel:status");
    const given = args.client.trim() === "" ? undefined : parseAddressOption(args.client, "--client");
    const m = await openMarket(ctx);
    const client = given ?? (await pickSender(ctx, args.from)).address;
    const channel = await readChannel(m.deployment, ctx.ethers.provider, client, provider);
    for (const line of describeChannel(channel)) ctx.say(line);
    return channelJson(channel);
  });
}
