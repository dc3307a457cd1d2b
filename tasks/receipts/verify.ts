import { readFile } from "node:fs/promises";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError, isAitbcError } from "../../lib/errors.js";
import { validatePublicKey } from "../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../lib/receipts/ed25519-node.js";
import { parsePublicKey, verifyReceipt } from "../../lib/receipts/receipt.js";
import { verifyReceiptOnChain, type InclusionProof } from "../../lib/sdk/verify.js";
import { type MarketContext, openMarket } from "../market/shared.js";
import { runTask } from "../shared/cli.js";
import { readProofFile } from "./proof-files.js";
import { parseRelayerReceipt, parseRelayerUrl, relayerGet } from "./shared.js";

interface VerifyArgs {
  files: string[];
  key: string;
  onchain: boolean;
  embeddedKey: boolean;
  relayer: string;
  json: boolean;
}

export interface FileVerdict {
  file: string;
  valid: boolean;
  receiptHash?: string;
  receiptId?: string;
  jobId?: string;
  keyTrusted?: boolean;
  anchored?: { root: string; batchId: string };
  code?: string;
  reason?: string;
}

function invalid(file: string, code: string, reason: string, extra: Partial<FileVerdict> = {}): FileVerdict {
  return { file, valid: false, code, reason, ...extra };
}

/**
 * Verifies one file against the provider's on-chain key and its anchored batch. The proof comes from the file's
 * `.proof.json` or, when there is none, from the relayer.
 */
async function verifyOnchain(m: MarketContext, file: string, text: string, relayer: string | undefined): Promise<FileVerdict> {
  // Only the receipt id and leaf are read here, to find a proof; nothing is trusted until the SDK has checked it.
  const peek = verifyReceipt(text, { expectedChainId: m.chainId, expectedEscrow: m.addresses.escrow, backend: nodeBackend, allowUntrustedKey: true });
  if (!peek.valid) return invalid(file, peek.code, peek.reason);
  let proof: InclusionProof | undefined;
  try {
    proof = await readProofFile(file);
  } catch (error) {
    if (isAitbcError(error)) return invalid(file, error.code, error.message, { receiptHash: peek.receiptHash });
    throw error;
  }
  if (proof === undefined && relayer !== undefined) {
    const body = await relayerGet(relayer, `/api/v1/receipts/${peek.fields.receiptId}`);
    if (body !== undefined) {
      const fetched = parseRelayerReceipt(body);
      if (fetched.batch !== null && fetched.proof !== null) proof = { root: fetched.batch.root, proof: fetched.proof };
    }
  }
  const verdict = await verifyReceiptOnChain(m.ethers.provider, m.deployment, text, proof);
  if (!verdict.valid) {
    const reason =
      verdict.code === "NOT_ANCHORED" && proof === undefined
        ? `no inclusion proof (${file}.proof.json${relayer === undefined ? "; or pass --relayer" : " nor on the relayer"})`
        : verdict.reason;
    return invalid(file, verdict.code, reason, verdict.receiptHash === undefined ? {} : { receiptHash: verdict.receiptHash });
  }
  return {
    file,
    valid: true,
    receiptHash: verdict.receiptHash,
    receiptId: verdict.fields.receiptId,
    jobId: verdict.fields.jobId.toString(),
    keyTrusted: true,
    anchored: { root: verdict.anchored.root, batchId: verdict.anchored.batchId.toString() },
  };
}

export default async function receiptVerifyAction(args: VerifyArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const files = args.files ?? [];
    if (files.length === 0) throw new AitbcError("MISSING_ARGUMENT", "receipt:verify needs at least one receipt file", { hint: "Pass the files: `npx hardhat receipt:verify receipts/*.json --onchain`." });
    const modes = [args.key.trim() !== "", args.onchain, args.embeddedKey].filter(Boolean).length;
    if (modes !== 1) {
      throw new AitbcError("NO_TRUSTED_KEY", modes === 0 ? "receipt:verify needs to know which key to trust" : "pass only one of --key, --onchain and --embedded-key", {
        hint: "Use --onchain (the provider's registered key and an anchored proof), --key <base64url> (a key you know), or --embedded-key (integrity only).",
      });
    }
    let key: Uint8Array | undefined;
    if (args.key.trim() !== "") {
      key = parsePublicKey(args.key.trim());
      const check = key === undefined ? undefined : validatePublicKey(key);
      if (key === undefined || check === undefined || !check.valid) {
        throw new AitbcError("BAD_KEY", `--key ${args.key} is not a valid Ed25519 receipt key${check !== undefined && !check.valid ? ` (${check.reason})` : ""}`, {
          hint: "Pass the provider's key_id (base64url of 32 bytes) or 0x + 64 hex, as `provider:status` prints it.",
        });
      }
    }
    const relayer = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
    const m = args.onchain ? await openMarket(ctx) : undefined;

    const verdicts: FileVerdict[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        verdicts.push(invalid(file, "UNREADABLE", (error as Error).message));
        continue;
      }
      if (m !== undefined) {
        verdicts.push(await verifyOnchain(m, file, text, relayer));
      } else {
        const r = verifyReceipt(text, key !== undefined ? { trustedKey: key, backend: nodeBackend } : { allowUntrustedKey: true, backend: nodeBackend });
        verdicts.push(
          r.valid
            ? { file, valid: true, receiptHash: r.receiptHash, receiptId: r.fields.receiptId, jobId: r.fields.jobId.toString(), keyTrusted: r.keyTrusted }
            : invalid(file, r.code, r.reason),
        );
      }
    }
    for (const v of verdicts) ctx.say(v.valid ? `VALID ${v.receiptHash}` : `INVALID ${v.file}: ${v.reason} [${v.code}]`);
    const allValid = verdicts.every((v) => v.valid);
    if (!allValid) process.exitCode = 1;
    return { allValid, trust: args.onchain ? "onchain" : key !== undefined ? "key" : "embedded", results: verdicts };
  });
}
