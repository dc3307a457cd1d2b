import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { defaultKeyFile, loadOrCreateKeyFile, receiptKeyMismatch } from "../../lib/node/key-file.js";
import { parseModelList } from "../../lib/market/jobs.js";
import { findModel, readRateCard } from "../../lib/market/rates.js";
import { parseTokenAmount } from "../../lib/money/amounts.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket, pickSender, providerEntry, send, type MarketContext, type SentTx, type Signer, txJson } from "./shared.js";

interface RegisterArgs {
  models: string;
  bond: string;
  keyFile: string;
  rotateKey: boolean;
  from: string;
  json: boolean;
}

/** Parses `--bond` with the one amount grammar of the project (`lib/money/amounts.ts`); zero is refused. */
export function parseBond(text: string): bigint {
  return parseTokenAmount(text, { what: "--bond" });
}

async function ensureAllowance(m: MarketContext, sender: Signer, amount: bigint, sent: SentTx[]): Promise<void> {
  const token = m.market.token.connect(sender);
  const allowance = await token.allowance(sender.address, m.addresses.providers);
  if (allowance >= amount) return;
  sent.push(
    await send(m, `approve ${aitbc(amount)} for the provider registry`, {
      estimate: () => token.approve.estimateGas(m.addresses.providers, amount),
      send: () => token.approve(m.addresses.providers, amount),
    }),
  );
}

export default async function providerRegisterAction(args: RegisterArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    // Everything the user typed is checked before anything is written or sent.
    const wantedNames = args.models.trim() === "" ? undefined : parseModelList(args.models);
    const bondWanted = args.bond.trim() === "" ? undefined : parseBond(args.bond);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const card = await readRateCard(m.market.models);
    const wanted = wantedNames?.map((name) => findModel(card, name));
    const providers = m.market.providers.connect(sender);
    const [entry, minBond] = await Promise.all([providerEntry(m, sender.address), providers.minBond()]);
    const active = entry.registered && entry.unbondingSince === 0n;
    const registering = !active && entry.bond === 0n;
    if (!active && !registering) {
      throw new AitbcError("PROVIDER_UNBONDING", `${sender.address} is unbonding (since ${entry.unbondingSince}) and still holds a bond of ${aitbc(entry.bond)}`, {
        hint: "Withdraw the bond once it unlocks (ProviderRegistry.withdrawBond), or cancel unbonding (cancelUnbonding), then run provider:register again.",
      });
    }
    if (registering && wanted === undefined) {
      throw new AitbcError("MISSING_OPTION", "provider:register needs --models for a new registration", { hint: "List the models you serve, e.g. --models llama3.2,codellama (see `npx hardhat rates`)." });
    }
    const bond = registering ? (bondWanted ?? minBond) : bondWanted;
    if (registering && bond !== undefined && bond < minBond) {
      throw new AitbcError("BOND_TOO_LOW", `a bond of ${aitbc(bond)} is below the registry minimum of ${aitbc(minBond)}`, {
        hint: `Pass --bond ${aitbc(minBond).split(" ")[0].replaceAll(",", "")} or more.`,
        details: { bond: bond.toString(), minBond: minBond.toString() },
      });
    }

    const needed = registering ? (bond as bigint) : bond !== undefined && bond > entry.bond ? bond - entry.bond : 0n;
    const balance = await m.market.token.balanceOf(sender.address);
    if (balance < needed) {
      throw new AitbcError("INSUFFICIENT_BALANCE", `${sender.address} holds ${aitbc(balance)}; the bond needs ${aitbc(needed)}`, {
        hint: "Fund the account with AITBC first, or bond less (at least the registry minimum).",
        details: { balance: balance.toString(), needed: needed.toString() },
      });
    }

    const keyFile = args.keyFile.trim() === "" ? defaultKeyFile(ctx.networkName, sender.address) : args.keyFile.trim();
    const { key, created } = await loadOrCreateKeyFile(keyFile);
    ctx.say(created ? `Created receipt key ${key.keyId} in ${keyFile} (mode 0600; back it up)` : `Using receipt key ${key.keyId} from ${keyFile}`);
    if (!(await providers.isValidReceiptKey(key.publicKeyHex))) {
      throw new AitbcError("KEY_INVALID", `the registry refuses key ${key.keyId}`, { hint: "Generate a new key file (move the old one away) and run provider:register again." });
    }

    const sent: SentTx[] = [];
    const actions: string[] = [];
    if (registering) {
      await ensureAllowance(m, sender, bond as bigint, sent);
      const ids = (wanted ?? []).map((r) => r.id);
      sent.push(
        await send(m, `register with ${aitbc(bond as bigint)} bond`, {
          estimate: () => providers.register.estimateGas(key.publicKeyHex, ids, bond as bigint),
          send: () => providers.register(key.publicKeyHex, ids, bond as bigint),
        }),
      );
      actions.push("register");
    } else {
      if (entry.receiptKey.toLowerCase() !== key.publicKeyHex) {
        if (!args.rotateKey) throw receiptKeyMismatch(sender.address, entry.receiptKey.toLowerCase(), keyFile, key.publicKeyHex);
        ctx.say(`Rotating the receipt key from ${entry.receiptKey.toLowerCase()} to ${key.publicKeyHex}: receipts signed before now stay verifiable with the old key; new receipts must be signed with ${keyFile}.`);
        sent.push(
          await send(m, "set receipt key", {
            estimate: () => providers.setReceiptKey.estimateGas(key.publicKeyHex),
            send: () => providers.setReceiptKey(key.publicKeyHex),
          }),
        );
        actions.push("set-key");
      }
      if (wanted !== undefined) {
        const served = await Promise.all(card.map((r) => providers.serves(sender.address, r.id)));
        const current = new Set(card.filter((_, i) => served[i]).map((r) => r.id));
        const target = new Set(wanted.map((r) => r.id));
        const add = [...target].filter((id) => !current.has(id));
        const remove = [...current].filter((id) => !target.has(id));
        if (add.length > 0 || remove.length > 0) {
          sent.push(
            await send(m, `update models (+${add.length} −${remove.length})`, {
              estimate: () => providers.updateModels.estimateGas(add, remove),
              send: () => providers.updateModels(add, remove),
            }),
          );
          actions.push("update-models");
        }
      }
      if (bond !== undefined && bond > entry.bond) {
        const topUp = bond - entry.bond;
        await ensureAllowance(m, sender, topUp, sent);
        sent.push(
          await send(m, `increase bond by ${aitbc(topUp)}`, {
            estimate: () => providers.increaseBond.estimateGas(topUp),
            send: () => providers.increaseBond(topUp),
          }),
        );
        actions.push("increase-bond");
      }
    }
    const after = await providerEntry(m, sender.address);
    ctx.say(actions.length === 0 ? `${sender.address} is registered and already up to date.` : `Provider ${sender.address}: ${actions.join(", ")} done; bond ${aitbc(after.bond)}.`);
    return {
      provider: sender.address,
      registered: true,
      actions,
      keyFile,
      keyCreated: created,
      keyId: key.keyId,
      receiptKey: key.publicKeyHex,
      models: wanted?.map((r) => r.name),
      bond: after.bond,
      transactions: sent.map(txJson),
    };
  });
}
