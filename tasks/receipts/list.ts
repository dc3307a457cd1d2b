import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseAddressOption } from "../../lib/market/jobs.js";
import { aitbc, openMarket, readJob, sameAddress } from "../market/shared.js";
import { runTask } from "../shared/cli.js";
import { recordOf, type ReceiptRecord } from "./records.js";
import { parseRelayerReceiptList, parseRelayerUrl, relayerGet } from "../../lib/sdk/relayer-api.js";
import { anchoredRoots } from "./shared.js";

interface ListArgs {
  client: string;
  provider: string;
  fromBlock: string;
  relayer: string;
  json: boolean;
}

export default async function receiptsListAction(args: ListArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const client = args.client.trim() === "" ? undefined : parseAddressOption(args.client, "--client");
    const provider = args.provider.trim() === "" ? undefined : parseAddressOption(args.provider, "--provider");
    if (args.fromBlock.trim() !== "" && !/^[0-9]+$/.test(args.fromBlock.trim())) {
      throw new AitbcError("BAD_BLOCK", `--from-block \`${args.fromBlock}\` is not a block number`, { hint: "Pass a whole block number, e.g. --from-block 0." });
    }
    const relayer = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
    const m = await openMarket(ctx);
    const fromBlock = args.fromBlock.trim() === "" ? m.deployment.block : Number(args.fromBlock.trim());
    const escrow = m.market.escrow;
    const [created, roots] = await Promise.all([escrow.queryFilter(escrow.filters.JobCreated(undefined, client), fromBlock), anchoredRoots(m, fromBlock)]);
    const jobs = await Promise.all(created.map((e) => readJob(m, e.args.jobId)));
    const records: ReceiptRecord[] = jobs.filter((j) => provider === undefined || sameAddress(j.provider, provider)).map((j) => recordOf(m, j, roots));

    if (relayer !== undefined) {
      const query = new URLSearchParams();
      if (client !== undefined) query.set("client", client.toLowerCase());
      if (provider !== undefined) query.set("provider", provider.toLowerCase());
      query.set("limit", "500");
      const body = await relayerGet(relayer, `/api/v1/receipts?${query.toString()}`);
      const items = body === undefined ? [] : parseRelayerReceiptList(body).items;
      const hashes = new Map(items.map((i) => [i.receiptId.toLowerCase(), i.receiptHash]));
      for (const r of records) {
        const hash = hashes.get(r.receiptId);
        // The relayer serves bare hex; the CLI prints every hash as 0x hex, like receipt:show.
        if (hash !== undefined) r.receiptHash = hash.startsWith("0x") ? hash.toLowerCase() : `0x${hash.toLowerCase()}`;
      }
    }
    for (const r of records) {
      const settlement = r.batchId === null ? r.status : `${r.status}, ${r.units} units, ${aitbc(r.price)}, batch ${r.batchId}${r.anchored ? " (anchored)" : ""}`;
      ctx.say(`job ${String(r.jobId).padStart(4)}  ${r.receiptId}  ${settlement}${r.receiptHash === undefined ? "" : `  hash ${r.receiptHash}`}`);
    }
    if (records.length === 0) ctx.say("No jobs match.");
    return { fromBlock, count: records.length, receipts: records };
  });
}
