import { readFile } from "node:fs/promises";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError, isAitbcError } from "../../lib/errors.js";
import { verifyReceiptLayers, type ReceiptLayers } from "../../lib/receipts/aitbc.js";
import { canonicalize } from "../../lib/receipts/canonical.js";
import { validatePublicKey } from "../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { proofPathFor, readReceiptEntries, type ReceiptEntry } from "../../lib/receipts/inputs.js";
import { parsePublicKey } from "../../lib/receipts/receipt.js";
import { verifyReceiptOnChain, type InclusionProof, type VerificationStep } from "../../lib/sdk/verify.js";
import { type MarketContext, openMarket } from "../market/shared.js";
import { runTask } from "../shared/cli.js";
import { isProofFile, readProofFile } from "../../lib/sdk/proof-files.js";
import { parseRelayerReceipt, parseRelayerUrl, relayerGet } from "../../lib/sdk/relayer-api.js";

interface VerifyArgs {
  files: string[];
  key: string;
  onchain: boolean;
  embeddedKey: boolean;
  attestationKey: string;
  relayer: string;
  json: boolean;
}

type Status = "pass" | "fail" | "skip";

/** What one layer said about one receipt. */
export interface LayerVerdict {
  status: Status;
  code?: string;
  reason?: string;
}

export interface FileVerdict {
  /** The file, with `#n` / `:n` for the n-th receipt of an array, relayer list or JSON-lines file. */
  file: string;
  valid: boolean;
  receiptHash?: string;
  receiptId?: string;
  jobId?: string;
  keyTrusted?: boolean;
  anchored?: { root: string; batchId: string };
  code?: string;
  reason?: string;
  layers: {
    /** The AITBC signature (any receipt in the reference format). */
    signature: LayerVerdict & { trust: "key" | "embedded" | "onchain"; keyId?: string };
    /** This project's settlement profile: checked when the receipt claims it, required with --onchain. */
    settlement: LayerVerdict;
    /** `skip` without --attestation-key. */
    attestations: LayerVerdict & { count: number; results?: { index: number; keyId: string; status: string; code?: string; reason?: string }[] };
    /** Only with --onchain; `steps` are the SDK's verification steps, in order (the dashboard shows the same). */
    onchain?: LayerVerdict & { batchId?: string; root?: string; steps?: VerificationStep[] };
  };
}

/** A proof bundle given without its receipt: reported next to the receipts, never as one. */
export interface ProofNote {
  file: string;
  receiptFile: string;
  root: string;
  leaves: number;
  receiptGiven: boolean;
}

function keyOption(name: string, text: string): Uint8Array[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((t) => {
      const key = parsePublicKey(t);
      const check = key === undefined ? undefined : validatePublicKey(key);
      if (key === undefined || check === undefined || !check.valid) {
        throw new AitbcError("BAD_KEY", `--${name} ${t} is not a valid Ed25519 key${check !== undefined && !check.valid ? ` (${check.reason})` : ""}`, {
          hint: "Pass a key_id (base64url of 32 bytes) or 0x + 64 hex, as `provider:status` prints it or as the signer publishes it.",
        });
      }
      return key;
    });
}

const SIGNATURE_CODES = /^(ED25519_|KEY_NOT_TRUSTED$|BAD_KEY_ID$|BAD_SIGNATURE_ENCODING$|UNSUPPORTED_ALG$)/;

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && "lexeme" in value) return String((value as { lexeme: string }).lexeme);
  return undefined;
}

function layersOf(r: ReceiptLayers, trust: "key" | "embedded" | "onchain"): FileVerdict["layers"] {
  const signature: FileVerdict["layers"]["signature"] = r.signature.valid
    ? { status: "pass", trust, keyId: r.signature.keyId }
    : { status: "fail", trust, code: r.signature.code, reason: r.signature.reason };
  const settlement: LayerVerdict = { status: r.settlement.status, ...(r.settlement.code === undefined ? {} : { code: r.settlement.code }), ...(r.settlement.reason === undefined ? {} : { reason: r.settlement.reason }) };
  const attestations: FileVerdict["layers"]["attestations"] =
    r.attestations === undefined
      ? { status: "skip", count: r.attestationCount, reason: r.attestationCount === 0 ? "none" : "not checked (pass --attestation-key)" }
      : r.attestations.valid
        ? { status: "pass", count: r.attestationCount, results: r.attestations.results }
        : { status: "fail", count: r.attestationCount, code: r.attestations.code, reason: r.attestations.reason, results: r.attestations.results };
  return { signature, settlement, attestations };
}

function verdictOf(label: string, r: ReceiptLayers, trust: "key" | "embedded" | "onchain"): FileVerdict {
  const doc = r.document;
  return {
    file: label,
    valid: r.valid,
    ...(r.receiptHash === undefined ? {} : { receiptHash: r.receiptHash }),
    ...(doc?.get("receipt_id") === undefined ? {} : { receiptId: text(doc.get("receipt_id")) }),
    ...(doc?.get("job_id") === undefined ? {} : { jobId: text(doc.get("job_id")) }),
    ...(r.signature.valid ? { keyTrusted: r.signature.keyTrusted } : {}),
    ...(r.valid ? {} : { code: r.code, reason: r.reason }),
    layers: layersOf(r, trust),
  };
}

function unreadable(label: string, code: string, reason: string, trust: "key" | "embedded" | "onchain"): FileVerdict {
  return {
    file: label,
    valid: false,
    code,
    reason,
    layers: {
      signature: { status: "skip", trust, reason: "the receipt could not be read" },
      settlement: { status: "skip", reason: "the receipt could not be read" },
      attestations: { status: "skip", count: 0 },
    },
  };
}

/**
 * `--onchain`: the settlement profile bound to this deployment, the provider's registered key and the anchored
 * batch, through the SDK's one on-chain verifier. The proof comes with the receipt (a relayer answer, a proof
 * bundle), from `<file>.proof.json`, or from the relayer.
 */
async function verifyOnchain(m: MarketContext, file: string, entry: ReceiptEntry, whole: string | undefined, attestationKeys: Uint8Array[] | undefined, relayer: string | undefined): Promise<FileVerdict> {
  const doc = entry.document!;
  // Only read here, to find the proof and to report the layers; nothing is trusted until the SDK has checked it.
  const peek = verifyReceiptLayers(doc, {
    allowUntrustedKey: true,
    settlement: "required",
    expectedChainId: m.chainId,
    expectedEscrow: m.addresses.escrow,
    backend: nodeBackend,
    ...(attestationKeys === undefined ? {} : { attestationKeys }),
  });
  const verdict = verdictOf(entry.label, peek, "onchain");
  verdict.layers.signature = { status: "skip", trust: "onchain", reason: "checked with the on-chain key below" };
  if (peek.settlement.status !== "pass" || peek.settlement.fields === undefined) {
    verdict.valid = false;
    verdict.code = peek.settlement.code ?? "MISSING_FIELD";
    verdict.reason = `on-chain checks need the settlement profile: ${peek.settlement.reason}`;
    verdict.layers.onchain = { status: "skip", reason: "the receipt is not a settlement receipt of this deployment" };
    return verdict;
  }
  const leaf = peek.settlement.leaf!;
  let proof: InclusionProof | undefined;
  if (entry.proof !== undefined) {
    const path = proofPathFor(entry.proof, leaf);
    if (path !== undefined) proof = { root: entry.proof.root, proof: path };
  }
  if (proof === undefined) {
    try {
      proof = await readProofFile(file);
    } catch (error) {
      if (!isAitbcError(error)) throw error;
      verdict.valid = false;
      verdict.code = error.code;
      verdict.reason = error.message;
      verdict.layers.onchain = { status: "fail", code: error.code, reason: error.message };
      return verdict;
    }
  }
  if (proof === undefined && relayer !== undefined) {
    const body = await relayerGet(relayer, `/api/v1/receipts/${peek.settlement.fields.receiptId}`);
    if (body !== undefined) {
      const fetched = parseRelayerReceipt(body);
      if (fetched.batch !== null && fetched.proof !== null) proof = { root: fetched.batch.root, proof: fetched.proof };
    }
  }
  const onchain = await verifyReceiptOnChain(m.ethers.provider, m.deployment, whole ?? canonicalize(doc), proof, {
    backend: nodeBackend,
    noProofReason: `no inclusion proof (${file}.proof.json${relayer === undefined ? "; or pass --relayer" : " nor on the relayer"})`,
  });
  const steps = onchain.steps;
  if (!onchain.valid) {
    const reason = onchain.reason;
    const atSignature = SIGNATURE_CODES.test(onchain.code);
    verdict.layers.signature = atSignature ? { status: "fail", trust: "onchain", code: onchain.code, reason } : verdict.layers.signature;
    verdict.layers.onchain = atSignature
      ? { status: "skip", reason: "not checked: the signature does not hold under the registered key", steps }
      : { status: "fail", code: onchain.code, reason, steps };
    return { ...verdict, valid: false, code: onchain.code, reason };
  }
  const attestationsOk = verdict.layers.attestations.status !== "fail";
  return {
    ...verdict,
    valid: attestationsOk,
    ...(attestationsOk ? { code: undefined, reason: undefined } : {}),
    receiptHash: onchain.receiptHash,
    receiptId: onchain.fields.receiptId,
    jobId: onchain.fields.jobId.toString(),
    keyTrusted: true,
    anchored: { root: onchain.anchored.root, batchId: onchain.anchored.batchId.toString() },
    layers: {
      ...verdict.layers,
      signature: { status: "pass", trust: "onchain", keyId: onchain.keyId },
      onchain: { status: "pass", batchId: onchain.anchored.batchId.toString(), root: onchain.anchored.root, steps },
    },
  };
}

function describeLayers(v: FileVerdict): string {
  const l = v.layers;
  const trust = { key: "the given key", embedded: "the key inside the receipt: integrity only, the signer is not authenticated", onchain: "the key registered on-chain" }[l.signature.trust];
  const parts = [
    l.signature.status === "pass" ? `signature: pass (${trust})` : l.signature.status === "fail" ? `signature: FAIL [${l.signature.code}]` : `signature: not checked`,
    l.settlement.status === "pass" ? "settlement profile: pass" : l.settlement.status === "fail" ? `settlement profile: FAIL [${l.settlement.code}]` : "settlement profile: not a settlement receipt",
  ];
  const a = l.attestations;
  if (a.status === "pass") {
    const trusted = a.results?.filter((r) => r.status === "valid").length ?? 0;
    parts.push(`attestations: pass (${trusted} of ${a.count} by the attestation key)`);
  } else if (a.status === "fail") parts.push(`attestations: FAIL [${a.code}]`);
  else if (a.count > 0) parts.push(`attestations: ${a.count} not checked (pass --attestation-key)`);
  if (l.onchain !== undefined) {
    parts.push(l.onchain.status === "pass" ? `on-chain: pass (batch ${l.onchain.batchId})` : l.onchain.status === "fail" ? `on-chain: FAIL [${l.onchain.code}]` : "on-chain: not checked");
  }
  return parts.join(" | ");
}

function describeStep(s: VerificationStep): string {
  const mark = s.status === "pass" ? "✔" : s.status === "fail" ? "✖" : "–";
  return `${mark} ${s.id}: ${s.title} — ${s.code === undefined ? "" : `${s.code}: `}${s.detail}`;
}

export default async function receiptVerifyAction(args: VerifyArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const files = args.files ?? [];
    if (files.length === 0) throw new AitbcError("MISSING_ARGUMENT", "receipt:verify needs at least one receipt file", { hint: "Pass the files: `npx hardhat receipt:verify receipts/*.json --onchain`." });
    const modes = [args.key.trim() !== "", args.onchain, args.embeddedKey].filter(Boolean).length;
    if (modes !== 1) {
      throw new AitbcError("NO_TRUSTED_KEY", modes === 0 ? "receipt:verify needs to know which key to trust" : "pass only one of --key, --onchain and --embedded-key", {
        hint: "Use --onchain (the provider's registered key and an anchored proof), --key <base64url> (the signer's key you know), or --embedded-key (integrity only).",
      });
    }
    const keys = args.key.trim() === "" ? undefined : keyOption("key", args.key);
    const attestationKeys = args.attestationKey.trim() === "" ? undefined : keyOption("attestation-key", args.attestationKey);
    const relayer = args.relayer.trim() === "" ? undefined : parseRelayerUrl(args.relayer);
    const trust = args.onchain ? "onchain" : keys !== undefined ? "key" : "embedded";

    // Read everything first: a proof bundle is reported with the receipt it proves, not as a receipt.
    const read: { file: string; text?: string; entries: ReceiptEntry[]; error?: string }[] = [];
    for (const file of files) {
      try {
        const content = await readFile(file, "utf8");
        read.push({ file, text: content, entries: readReceiptEntries(content, file) });
      } catch (error) {
        read.push({ file, entries: [], error: (error as Error).message });
      }
    }
    const given = new Set(files);
    const proofs: ProofNote[] = [];
    for (const r of read) {
      for (const e of r.entries) {
        if (e.proofOnly === undefined) continue;
        const receiptFile = isProofFile(r.file) ? r.file.slice(0, -".proof.json".length) : "(unknown)";
        proofs.push({ file: e.label, receiptFile, root: e.proofOnly.root, leaves: e.proofOnly.leaves, receiptGiven: given.has(receiptFile) });
      }
    }
    const receiptCount = read.reduce((n, r) => n + (r.error !== undefined ? 1 : r.entries.filter((e) => e.proofOnly === undefined).length), 0);
    if (receiptCount === 0) {
      throw new AitbcError("NO_RECEIPTS", `none of the files holds a receipt: ${proofs.map((p) => `${p.file} is the inclusion proof of ${p.receiptFile}`).join("; ")}`, {
        hint: "Pass the receipt files themselves (their <file>.proof.json is read next to them with --onchain).",
      });
    }

    const m = args.onchain ? await openMarket(ctx) : undefined;
    const verdicts: FileVerdict[] = [];
    for (const r of read) {
      if (r.error !== undefined) {
        verdicts.push(unreadable(r.file, "UNREADABLE", r.error, trust));
        continue;
      }
      const single = r.entries.length === 1;
      for (const entry of r.entries) {
        if (entry.proofOnly !== undefined) continue;
        if (entry.error !== undefined || entry.document === undefined) {
          verdicts.push(unreadable(entry.label, entry.error?.code ?? "INVALID_JSON", entry.error?.reason ?? "no receipt", trust));
          continue;
        }
        if (m !== undefined) {
          // The whole file's text is passed when it is the receipt itself, so the SDK reads exactly what was signed.
          verdicts.push(await verifyOnchain(m, r.file, entry, single && entry.shape === "receipt" ? r.text : undefined, attestationKeys, relayer));
        } else {
          const layers = verifyReceiptLayers(entry.document, {
            ...(keys !== undefined ? { trustedKey: keys } : { allowUntrustedKey: true }),
            ...(attestationKeys === undefined ? {} : { attestationKeys }),
            backend: nodeBackend,
          });
          verdicts.push(verdictOf(entry.label, layers, trust));
        }
      }
    }
    for (const v of verdicts) {
      ctx.say(v.valid ? `VALID ${v.file} ${v.receiptHash} | ${describeLayers(v)}` : `INVALID ${v.file}: ${v.reason} [${v.code}] | ${describeLayers(v)}`);
      // Why an on-chain verification failed, step by step as the dashboard shows it.
      if (!v.valid) for (const s of v.layers.onchain?.steps ?? []) ctx.say(`  ${describeStep(s)}`);
    }
    for (const p of proofs) {
      ctx.say(`PROOF ${p.file}: inclusion proof of ${p.receiptFile} (root ${p.root}, ${p.leaves} leaf${p.leaves === 1 ? "" : "s"})${p.receiptGiven ? "" : "; that receipt was not given"}`);
    }
    const allValid = verdicts.every((v) => v.valid);
    if (!allValid) process.exitCode = 1;
    return { allValid, trust, results: verdicts, proofs };
  });
}
