import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { milliToUnits } from "../../lib/money/amounts.js";
import { offerJson } from "../../lib/market/offer.js";
import { discoverProviders, offersFor } from "../../lib/sdk/offers.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket } from "./shared.js";

interface ProvidersArgs {
  model: string;
  json: boolean;
}

export default async function providersAction(args: ProvidersArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const m = await openMarket(ctx);
    const model = args.model.trim() === "" ? undefined : args.model.trim();
    const listings = await discoverProviders(m.deployment, ctx.ethers.provider, { model });
    const offers = await offersFor(listings, { expect: { chainId: ctx.chainId, escrow: m.addresses.escrow } });
    ctx.say(offers.length === 0 ? `No registered provider${model === undefined ? "" : ` serves ${model}`}.` : `${offers.length} provider(s)${model === undefined ? "" : ` serving ${model}`}:`);
    for (const p of offers) {
      ctx.say(`${p.address}  ${p.canServe ? "can take jobs" : "cannot take jobs now (unbonding, under-bonded or not serving)"}`);
      ctx.say(`  models     ${p.models.join(", ") || "none"}`);
      ctx.say(`  endpoint   ${p.serviceUrl ?? "none registered"}${p.encryptionKeyHex === null ? "" : `, encryption key ${p.encryptionKeyHex}`}`);
      if (p.offer === null) {
        ctx.say(`  offer      none: ${p.error?.message ?? "no answer"} [${p.error?.code ?? "OFFER_UNREACHABLE"}]`);
        continue;
      }
      const o = p.offer;
      ctx.say(`  offer      ${o.health.status}${o.health.reasons.length === 0 ? "" : ` (${o.health.reasons.join("; ")})`}; runs ${[o.accepts.private ? "private" : "", o.accepts.public ? "public" : ""].filter(Boolean).join(" and ") || "no"} jobs`);
      for (const x of o.models) ctx.say(`    ${x.name}: up to ${milliToUnits(x.maxUnitsMilli)} units per job, min rate ${aitbc(x.minRate)}`);
      ctx.say(
        `  limits     prompt ≤ ${o.limits.maxPromptBytes} bytes, ${o.limits.deadlineMarginSeconds} s before the deadline after the run${o.limits.maxJobPrice === null ? "" : `, escrow ≤ ${aitbc(o.limits.maxJobPrice)}`}`,
      );
      ctx.say(`  capacity   ${o.capacity.activeJobs} of ${o.capacity.maxConcurrentJobs} job slots in use`);
    }
    return {
      model: model ?? null,
      providers: offers.map((p) => ({
        address: p.address,
        models: p.models,
        servable: p.servable,
        canServe: p.canServe,
        serviceUrl: p.serviceUrl,
        encryptionKey: p.encryptionKeyHex,
        offer: p.offer === null ? null : (JSON.parse(offerJson(p.offer)) as unknown),
        offerError: p.error,
      })),
    };
  });
}
