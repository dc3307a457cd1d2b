import { writeFile } from "node:fs/promises";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseJobId } from "../../lib/market/jobs.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { nodeHpke } from "../../lib/node/hpke-node.js";
import { toHex } from "../../lib/receipts/encoding.js";
import type { EncryptionKeyPair } from "../../lib/privacy/envelope.js";
import { parseRelayerUrl } from "../../lib/sdk/relayer-api.js";
import { fetchResult, resultKeyFor } from "../../lib/sdk/results.js";
import { runTask } from "../shared/cli.js";
import { openMarket, pickSender, readJob } from "./shared.js";

interface JobResultArgs {
  id: string;
  out: string;
  force: boolean;
  relayer: string;
  from: string;
  json: boolean;
}

export default async function jobResultAction(args: JobResultArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const id = parseJobId(args.id);
    const relayerUrl = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
    const out = args.out.trim() === "" ? undefined : args.out.trim();
    if (args.force && out === undefined) {
      throw new AitbcError("BAD_ARGUMENT", "--force only applies with --out", { hint: "Pass --out <file> to write the result, and --force to replace that file." });
    }
    const m = await openMarket(ctx);
    const job = await readJob(m, id);
    // The result key is the client's: by default the job's client, when this network can sign for it.
    let keyPair: EncryptionKeyPair | undefined;
    if (args.from.trim() !== "") keyPair = await resultKeyFor(await pickSender(ctx, args.from), ctx.chainId);
    else {
      const signer = await pickSender(ctx, job.client).catch(() => undefined);
      if (signer !== undefined) keyPair = await resultKeyFor(signer, ctx.chainId);
    }
    const result = await fetchResult({ provider: ctx.ethers.provider, deployment: m.deployment, jobId: id, relayerUrl, keyPair, ed25519: nodeBackend, hpke: nodeHpke });
    keyPair?.privateKey.fill(0);
    if (out !== undefined) {
      try {
        await writeFile(out, result.bytes, { flag: args.force ? "w" : "wx" });
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === "EEXIST") {
          throw new AitbcError("OUT_EXISTS", `--out ${out} exists; it was left as it is`, { hint: "Pick another file, or pass --force to replace it.", cause });
        }
        throw new AitbcError("OUT_UNWRITABLE", `cannot write --out ${out}: ${(cause as Error).message}`, { hint: "Check the path and its permissions.", cause });
      }
    }
    ctx.say(`Job ${id}: ${result.private ? "private " : ""}result of ${result.bytes.length} bytes from ${result.relayerUrl}`);
    ctx.say(`  verified   receipt ${result.receipt.id} signed by ${result.receipt.fields.provider}; keccak-256 of the bytes served = result_hash ${result.resultHash}`);
    if (out !== undefined) ctx.say(`  written to ${out}`);
    else if (!ctx.json) {
      if (result.text !== null) process.stdout.write(result.text.endsWith("\n") ? result.text : `${result.text}\n`);
      else ctx.say(`  the result is not UTF-8 text; write it to a file with --out`);
    }
    return {
      jobId: id,
      private: result.private,
      bytes: result.bytes.length,
      text: result.text,
      base64: result.text === null && out === undefined ? Buffer.from(result.bytes).toString("base64") : null,
      out: out ?? null,
      resultHash: result.resultHash,
      relayerUrl: result.relayerUrl,
      receiptId: result.receipt.id,
      receipt: JSON.parse(result.receipt.text) as unknown,
      contentKey: result.contentKey === null ? null : toHex(result.contentKey),
    };
  });
}
