import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseServiceUrl } from "../../lib/market/endpoint.js";
import { defaultEncryptionKeyFile, loadOrCreateEncryptionKeyFile } from "../../lib/node/key-file.js";
import { runTask } from "../shared/cli.js";
import { openMarket, pickSender, providerEntry, send, txJson } from "./shared.js";

interface EndpointArgs {
  url: string;
  encryptionKeyFile: string;
  clear: boolean;
  from: string;
  json: boolean;
}

export default async function providerEndpointAction(args: EndpointArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    // Everything the user typed is checked before anything is written or sent.
    if (args.clear && args.url.trim() !== "") {
      throw new AitbcError("BAD_ARGUMENT", "pass either --url or --clear, not both", { hint: "--clear withdraws the endpoint; --url publishes one." });
    }
    const url = args.clear ? undefined : args.url.trim() === "" ? undefined : parseServiceUrl(args.url);
    if (!args.clear && url === undefined) {
      throw new AitbcError("MISSING_OPTION", "provider:endpoint needs --url (or --clear)", { hint: "Pass the relayer's base URL as clients reach it, e.g. --url https://miner.example.org:8788" });
    }
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const entry = await providerEntry(m, sender.address);
    if (!entry.registered) {
      throw new AitbcError("PROVIDER_NOT_REGISTERED", `${sender.address} is not a registered provider`, {
        hint: "Register first: `npx hardhat provider:register --models <names>`, then publish the endpoint.",
      });
    }
    const providers = m.market.providers.connect(sender);
    if (url === undefined) {
      const tx = await send(m, "clear endpoint", { estimate: () => providers.clearEndpoint.estimateGas(), send: () => providers.clearEndpoint() });
      ctx.say(`Provider ${sender.address}: endpoint withdrawn; clients can no longer seal private prompts to it.`);
      return { provider: sender.address, serviceUrl: null, encryptionKey: null, transactions: [txJson(tx)] };
    }
    const keyFile = args.encryptionKeyFile.trim() === "" ? defaultEncryptionKeyFile(ctx.networkName, sender.address) : args.encryptionKeyFile.trim();
    const { key, created } = await loadOrCreateEncryptionKeyFile(keyFile);
    ctx.say(created ? `Created encryption key ${key.publicKeyHex} in ${keyFile} (mode 0600; back it up)` : `Using encryption key ${key.publicKeyHex} from ${keyFile}`);
    const tx = await send(m, "set endpoint", {
      estimate: () => providers.setEndpoint.estimateGas(key.publicKeyHex, url),
      send: () => providers.setEndpoint(key.publicKeyHex, url),
    });
    ctx.say(`Provider ${sender.address}: endpoint ${url}, encryption key ${key.publicKeyHex}.`);
    return { provider: sender.address, serviceUrl: url, encryptionKey: key.publicKeyHex, keyFile, keyCreated: created, transactions: [txJson(tx)] };
  });
}
