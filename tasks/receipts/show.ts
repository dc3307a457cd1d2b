import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { computeReceiptId, verifyReceipt } from "../../lib/receipts/receipt.js";
import { aitbc, openMarket, providerEntry, readJob } from "../market/shared.js";
import { runTask } from "../shared/cli.js";
import { recordOf } from "./records.js";
import { parseRelayerReceipt, parseRelayerUrl, relayerGet } from "../../lib/sdk/relayer-api.js";
import { anchoredRoots } from "./shared.js";
import { receiptTrustedKeyForText } from "../../lib/sdk/key-history.js";

interface ShowArgs {
  id: string;
  relayer: string;
  json: boolean;
}

export default async function receiptShowAction(args: ShowArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const text = (args.id ?? "").trim();
    const isReceiptId = /^0x[0-9a-fA-F]{64}$/.test(text);
    const jobIdInput = isReceiptId ? undefined : parseJobId(text, "the id");
    const relayer = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
    const m = await openMarket(ctx);
    let jobId = jobIdInput;
    if (jobId === undefined) {
      // Receipt ids are keccak(chainId, escrow, jobId): recomputing them for every job finds the job without an index.
      const [jobs] = await m.market.escrow.counters();
      const wanted = text.toLowerCase();
      for (let id = 1n; id <= jobs && jobId === undefined; id++) if (computeReceiptId(ctx.chainId, m.addresses.escrow, id) === wanted) jobId = id;
      if (jobId === undefined) {
        throw new AitbcError("UNKNOWN_RECEIPT", `no job of this deployment has receipt id ${wanted}`, { hint: "Check the id and --network; `receipts` lists the receipts of this deployment." });
      }
    }
    const job = await readJob(m, jobId);
    const record = recordOf(m, job, await anchoredRoots(m));
    ctx.say(`Receipt ${record.receiptId} — job ${jobId} (${record.status})`);
    ctx.say(`  client ${record.client}, provider ${record.provider}`);
    if (record.batchId !== null) ctx.say(`  settled ${record.units} units for ${aitbc(record.price)} in batch ${record.batchId}, root ${record.root}`);
    else ctx.say("  not settled");

    let signed: { receiptHash: string | null; valid: boolean; code?: string; reason?: string; receipt: unknown } | null = null;
    if (relayer !== undefined) {
      const body = await relayerGet(relayer, `/api/v1/receipts/${record.receiptId}`);
      if (body === undefined) ctx.say("  the relayer has no signed receipt for this job");
      else {
        const fetched = parseRelayerReceipt(body);
        const entry = await providerEntry(m, job.provider);
        const root = fetched.batch?.root;
        const r = verifyReceipt(fetched.receiptText, {
          trustedKey: await receiptTrustedKeyForText(m.market.providers, fetched.receiptText, entry.receiptKey, nodeBackend),
          expectedChainId: ctx.chainId,
          expectedEscrow: m.addresses.escrow,
          backend: nodeBackend,
          ...(root !== undefined && fetched.proof !== null ? { proof: { root, proof: fetched.proof } } : {}),
        });
        signed = r.valid
          ? { receiptHash: r.receiptHash, valid: true, receipt: JSON.parse(fetched.receiptText) }
          : { receiptHash: null, valid: false, code: r.code, reason: r.reason, receipt: JSON.parse(fetched.receiptText) };
        ctx.say(r.valid ? `  signed receipt VALID ${r.receiptHash} (key registered on-chain${root !== undefined ? ", proof checked" : ""})` : `  signed receipt INVALID: ${r.reason} [${r.code}]`);
        // A receipt shown as INVALID is a failed check, for scripts as much as for people.
        if (!r.valid) process.exitCode = 1;
      }
    }
    return { ...record, signed };
  });
}
