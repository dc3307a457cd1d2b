import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { formatTimestamp } from "../../lib/time.js";
import { parseAddressOption } from "../../lib/market/jobs.js";
import { readRateCard } from "../../lib/market/rates.js";
import { base64UrlEncode, fromHex } from "../../lib/receipts/encoding.js";
import { providerBatches } from "../../lib/sdk/market.js";
import { runTask } from "../shared/cli.js";
import { aitbc, chainNow, openMarket, pickSender, providerEntry } from "./shared.js";

interface StatusArgs {
  address: string;
  from: string;
  json: boolean;
}

export default async function providerStatusAction(args: StatusArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const address = args.address.trim() === "" ? undefined : parseAddressOption(args.address, "--address");
    const m = await openMarket(ctx);
    const who = address ?? (await pickSender(ctx, args.from)).address;
    const { providers, escrow, token } = m.market;
    const [entry, jobsSettled, exposure, minBond, period, card, withdrawable, balance, now] = await Promise.all([
      providerEntry(m, who),
      escrow.jobsSettledOf(who),
      escrow.exposureOf(who),
      providers.minBond(),
      providers.unbondingPeriod(),
      readRateCard(m.market.models),
      escrow.balanceOf(who),
      token.balanceOf(who),
      chainNow(ctx),
    ]);
    const served = await Promise.all(card.map((r) => providers.serves(who, r.id)));
    const endpoint = await providers.endpointOf(who);
    const serviceUrl = endpoint.serviceUrl === "" ? null : endpoint.serviceUrl;
    const models = card.filter((_, i) => served[i]).map((r) => r.name);
    const batches = entry.registered ? await providerBatches(m.market.escrow, who, m.deployment.block) : [];
    const open = batches.filter((b) => !b.released);
    const pending = open.reduce((sum, b) => sum + b.amount, 0n);
    const releasable = open.filter((b) => now >= b.releasableAt).reduce((sum, b) => sum + b.amount, 0n);
    const keyBytes = fromHex(entry.receiptKey) as Uint8Array;
    const keyId = entry.receiptKey === `0x${"0".repeat(64)}` ? null : base64UrlEncode(keyBytes);
    const unlocksAt = entry.unbondingSince === 0n ? null : entry.unbondingSince + period;
    const state = !entry.registered ? "not registered" : entry.unbondingSince !== 0n ? "unbonding" : entry.bond >= minBond ? "active" : "active (bond below minimum: cannot accept jobs)";

    ctx.say(`Provider ${who} — ${state}`);
    if (entry.registered) {
      ctx.say(`  receipt key   ${keyId ?? "none"} (${entry.receiptKey})`);
      ctx.say(`  models        ${models.length === 0 ? "none" : models.join(", ")}`);
      ctx.say(`  endpoint      ${serviceUrl === null ? "none (publish one with provider:endpoint --url <relayer URL>)" : `${serviceUrl}, encryption key ${endpoint.encryptionKey}`}`);
      ctx.say(`  bond          ${aitbc(entry.bond)} (minimum ${aitbc(minBond)})`);
      if (unlocksAt !== null) ctx.say(`  unbonding     since ${formatTimestamp(entry.unbondingSince)}, unlocks ${formatTimestamp(unlocksAt)}`);
      ctx.say(`  record        ${jobsSettled} jobs settled, ${entry.disputesLost} disputes lost`);
      ctx.say(`  exposure      ${aitbc(exposure)} (the bond stays until this is zero)`);
      ctx.say(`  pending       ${aitbc(pending)} in ${open.length} batch(es), ${aitbc(releasable)} past the dispute window`);
    }
    ctx.say(`  withdrawable  ${aitbc(withdrawable)}${releasable > 0n ? ` (+${aitbc(releasable)} after release; \`withdraw\` does both)` : ""}`);
    ctx.say(`  wallet        ${aitbc(balance)}`);
    return {
      provider: who,
      state,
      registered: entry.registered,
      receiptKey: entry.receiptKey,
      keyId,
      models,
      serviceUrl,
      encryptionKey: serviceUrl === null ? null : endpoint.encryptionKey,
      bond: entry.bond,
      minBond,
      unbondingSince: entry.unbondingSince === 0n ? null : entry.unbondingSince,
      unlocksAt,
      jobsSettled,
      exposure,
      disputesLost: entry.disputesLost,
      pending,
      releasable,
      withdrawable,
      wallet: balance,
      batches,
    };
  });
}
