import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatTokenAmount } from "../../lib/money/amounts.js";
import { readRateCard } from "../../lib/market/rates.js";
import { runTask } from "../shared/cli.js";
import { openMarket } from "./shared.js";

interface RatesArgs {
  json: boolean;
}

export default async function ratesAction(args: RatesArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const m = await openMarket(ctx);
    const card = await readRateCard(m.market.models);
    const width = Math.max(5, ...card.map((r) => r.name.length));
    ctx.say(`${"model".padEnd(width)}  id  unit          rate (AITBC/unit)  enabled`);
    for (const r of card) {
      ctx.say(`${r.name.padEnd(width)}  ${String(r.id).padStart(2)}  ${r.unitType.padEnd(12)}  ${formatTokenAmount(r.rate).padStart(17)}  ${r.enabled ? "yes" : "no"}`);
    }
    return { network: ctx.networkName, models: card };
  });
}
