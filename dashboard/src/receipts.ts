import { getAddress, isAddress } from "ethers";

import { AitbcError } from "../../lib/errors.js";
import { verifyReceiptLayers, type ReceiptLayers } from "../../lib/receipts/aitbc.js";
import { parseRelayerReceipt, parseRelayerReceiptList } from "../../lib/sdk/relayer-api.js";
import { verifyReceiptOnChain, type VerificationStepId } from "../../lib/sdk/verify.js";
import { JsonNumber, type JsonObject, type JsonValue } from "../../lib/receipts/canonical.js";
import { readReceiptEntries, type ReceiptEntry } from "../../lib/receipts/inputs.js";
import { parsePublicKey } from "../../lib/receipts/receipt.js";
import type { Chain } from "./chain.js";

/** A receipt with what is needed to check its inclusion. The document keeps its number lexemes (signatures need them). */
export interface ReceiptBundle {
  doc: JsonObject;
  root?: string;
  proof?: string[];
  /** Where it came from, for the page: "relayer", "pasted" (with `#n` / `:n` for the n-th receipt of a list). */
  source: string;
  /** The relayer's batch status (`confirmed`, `sent`, …), when known. */
  batchStatus?: string;
  /** The proofs of a pasted proof bundle, picked by leaf when the chain checks run. */
  proofItems?: { leaf: string; proof: string[] }[];
}

export interface ReceiptSummary {
  receiptId: string;
  jobId: string;
  provider: string;
  client: string;
  model: string;
  units: string;
  price: string;
  batchId?: number | null;
}

export function text(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (value instanceof JsonNumber) return value.lexeme;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function bundleOf(entry: ReceiptEntry): ReceiptBundle {
  if (entry.error !== undefined || entry.document === undefined) {
    if (entry.proofOnly !== undefined) {
      throw new AitbcError("NO_RECEIPTS", `this is the inclusion proof of a receipt (root ${entry.proofOnly.root}), not a receipt`, {
        hint: "Paste the receipt itself, or the relayer's answer for it ({ receipt, proof, batch }).",
      });
    }
    throw new AitbcError(entry.error?.code ?? "INVALID_JSON", `${entry.label}: ${entry.error?.reason ?? "no receipt"}`, {
      hint: "Paste a receipt JSON, a relayer answer, a proof bundle with its receipt, a JSON array or JSON lines of them.",
    });
  }
  const bundle: ReceiptBundle = { doc: entry.document, source: entry.label };
  if (entry.batchStatus !== undefined) bundle.batchStatus = entry.batchStatus;
  if (entry.proof !== undefined) {
    bundle.root = entry.proof.root;
    if ("proof" in entry.proof) bundle.proof = entry.proof.proof;
    else bundle.proofItems = entry.proof.items;
  }
  return bundle;
}

/**
 * Reads pasted text in every shape `receipt:verify` reads: a bare receipt, `{ receipt, proof, root }`, a relayer
 * answer `{ receipt, proof, batch: { root } }`, a relayer receipt list, a proof bundle holding its receipt, a JSON
 * array or JSON lines of these. One bundle per receipt.
 * @throws {AitbcError} with the entry's code (`INVALID_JSON`, `NOT_AN_OBJECT`, `BAD_PROOF`, …) naming the entry.
 */
export function parseBundles(input: string, source: string): ReceiptBundle[] {
  const entries = readReceiptEntries(input.trim(), source);
  const receipts = entries.filter((e) => e.proofOnly === undefined);
  return (receipts.length === 0 ? entries : receipts).map(bundleOf);
}

// ---------------------------------------------------------------------------------------------------------------------
// Off-chain layers: the AITBC signature of any receipt, attestations, and this project's settlement profile

export interface Layer {
  id: "signature" | "settlement" | "attestations" | "onchain";
  title: string;
  status: CheckStatus;
  detail: string;
}

export interface OffchainOptions {
  /** The signer's key (base64url key_id or 0x hex); without it the key inside the receipt is used (integrity only). */
  signerKey?: string;
  /** The coordinator's attestation key; without it attestations are listed but not checked. */
  attestationKey?: string;
}

function keyOrThrow(value: string, what: string): string {
  const key = parsePublicKey(value.trim());
  if (key === undefined) throw new AitbcError("BAD_KEY", `the ${what} \`${value.trim()}\` is not a 32-byte key`, { hint: "Paste a key_id (base64url of 32 bytes) or 0x + 64 hex." });
  return value.trim();
}

/**
 * The layers that need no chain: the AITBC signature (under the key given, or the key the receipt names — which
 * proves integrity only), the attestations (under the attestation key given), and whether the receipt is a
 * settlement receipt of this project. The on-chain layer is added by the page from {@link verifyBundle}.
 * @throws {AitbcError} `BAD_KEY` when a key given is not a key.
 */
export function verifyOffchain(bundle: ReceiptBundle, options: OffchainOptions = {}): { layers: Layer[]; result: ReceiptLayers } {
  const signer = options.signerKey?.trim() ? keyOrThrow(options.signerKey, "signer key") : undefined;
  const attestation = options.attestationKey?.trim() ? keyOrThrow(options.attestationKey, "attestation key") : undefined;
  const result = verifyReceiptLayers(bundle.doc, {
    ...(signer !== undefined ? { trustedKey: signer } : { allowUntrustedKey: true }),
    ...(attestation !== undefined ? { attestationKeys: attestation } : {}),
  });
  const layers: Layer[] = [];
  const sig = result.signature;
  layers.push({
    id: "signature",
    title: "AITBC signature (Ed25519 over the canonical receipt)",
    status: sig.valid ? "pass" : "fail",
    detail: sig.valid
      ? `receipt hash ${sig.receiptHash}; ${sig.keyTrusted ? `signed by the key given (${sig.keyId})` : `signed by the key inside the receipt (${sig.keyId}): integrity only, the signer is not authenticated`}`
      : `${sig.code}: ${sig.reason}`,
  });
  const s = result.settlement;
  layers.push({
    id: "settlement",
    title: "Settlement profile (chain, escrow, job, units, price, hashes)",
    status: s.status,
    detail: s.status === "pass" ? `job ${s.fields?.jobId} on chain ${s.fields?.chainId}, escrow ${s.fields?.escrow}` : s.status === "fail" ? `${s.code}: ${s.reason}` : (s.reason ?? ""),
  });
  const a = result.attestations;
  layers.push({
    id: "attestations",
    title: "Attestations",
    status: a === undefined ? "skip" : a.valid ? "pass" : "fail",
    detail:
      a === undefined
        ? result.attestationCount === 0
          ? "none"
          : `${result.attestationCount} present, not checked (enter the attestation key)`
        : [...a.results.map((r) => `#${r.index} ${r.keyId || "?"}: ${r.status}${r.code === undefined ? "" : ` (${r.code})`}`), ...(a.valid ? [] : [`${a.code}: ${a.reason}`])].join("; "),
  });
  return { layers, result };
}

/** The on-chain layer from the chain checks (skipped for receipts that are not settlement receipts). */
export function onchainLayer(checks: Check[] | undefined, settlement: Layer): Layer {
  const title = "On-chain: settled as signed (registered key, anchored batch, inclusion)";
  if (checks === undefined) return { id: "onchain", title, status: "skip", detail: `not checked: on-chain checks need the settlement profile, which this receipt ${settlement.status === "skip" ? "does not claim" : "fails"}` };
  const failed = checks.find((c) => c.status === "fail");
  return failed === undefined ? { id: "onchain", title, status: "pass", detail: "every chain check below passed" } : { id: "onchain", title, status: "fail", detail: `${failed.title}: ${failed.detail}` };
}

export function summarize(doc: JsonObject): ReceiptSummary {
  return {
    receiptId: text(doc.get("receipt_id")),
    jobId: text(doc.get("job_id")),
    provider: text(doc.get("provider")),
    client: text(doc.get("client")),
    model: text(doc.get("model")),
    units: `${text(doc.get("units"))} ${text(doc.get("unit_type"))}`.trim(),
    price: `${text(doc.get("price"))} AITBC`,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Relayer API (through the dashboard server's /relayer proxy)

async function relayerGet(chain: Chain, path: string): Promise<string> {
  const base = chain.config.relayerProxy;
  if (base === undefined) {
    throw new AitbcError("RELAYER_NOT_CONFIGURED", "No relayer is configured for this dashboard", {
      hint: "Restart it with `npx hardhat dashboard --relayer <url>`, or paste a receipt on the Verify page.",
    });
  }
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new AitbcError("RELAYER_UNREACHABLE", "The dashboard server does not answer", { hint: "Is `npx hardhat dashboard` still running?", cause });
  }
  const body = await response.text();
  if (!response.ok) {
    let error: { code?: string; message?: string; hint?: string } = {};
    try {
      error = (JSON.parse(body) as { error?: typeof error }).error ?? {};
    } catch {
      // Not JSON: report the status alone.
    }
    throw new AitbcError(error.code ?? "RELAYER_ERROR", error.message ?? `the relayer answered HTTP ${response.status}`, { hint: error.hint ?? undefined });
  }
  return body;
}

export interface ReceiptListPage {
  items: (ReceiptSummary & { bundle: ReceiptBundle })[];
  nextCursor: string | null;
}

export async function listReceipts(chain: Chain, query: { client?: string; provider?: string; cursor?: string; limit?: number }): Promise<ReceiptListPage> {
  const params = new URLSearchParams();
  for (const key of ["client", "provider"] as const) {
    const v = query[key]?.trim();
    if (v !== undefined && v !== "") {
      if (!isAddress(v)) throw new AitbcError("BAD_ADDRESS", `${key} \`${v}\` is not an address`, { hint: "Filter by a 0x-prefixed 20-byte address." });
      params.set(key, getAddress(v));
    }
  }
  params.set("limit", String(query.limit ?? 50));
  if (query.cursor !== undefined) params.set("cursor", query.cursor);
  const page = parseRelayerReceiptList(await relayerGet(chain, `/api/v1/receipts?${params}`));
  return {
    items: page.items.map((item) => ({ ...summarize(item.document), batchId: item.batchId, bundle: { doc: item.document, source: "relayer" } })),
    nextCursor: page.nextCursor,
  };
}

export async function fetchReceipt(chain: Chain, receiptId: string): Promise<ReceiptBundle> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(receiptId)) {
    throw new AitbcError("BAD_RECEIPT_ID", `\`${receiptId}\` is not a receipt id`, { hint: "A receipt id is 0x followed by 64 hex digits; pick one from the receipts list." });
  }
  const served = parseRelayerReceipt(await relayerGet(chain, `/api/v1/receipts/${receiptId}`));
  const bundle: ReceiptBundle = { doc: served.document, source: "relayer" };
  if (served.batch !== null) bundle.batchStatus = served.batch.status;
  if (served.batch !== null && served.proof !== null) Object.assign(bundle, { root: served.batch.root, proof: served.proof });
  return bundle;
}

// ---------------------------------------------------------------------------------------------------------------------
// Checks

export type CheckStatus = "pass" | "fail" | "skip";

export interface Check {
  id: VerificationStepId;
  title: string;
  status: CheckStatus;
  detail: string;
}

/**
 * Runs every check a client should run before trusting a receipt, in the browser: the SDK's one on-chain
 * verification (`verifyReceiptOnChain`), whose steps the page shows as they come — the document bound to this
 * deployment, the provider's key REGISTERED ON-CHAIN (never the key the receipt names), the Ed25519 signature under
 * it, the root as this provider's SETTLEMENT root (a plain anchor proves nothing), and the receipt as the record
 * settled for its job, which `JobEscrow.verifyReceiptInclusion` confirms.
 */
export async function verifyBundle(chain: Chain, bundle: ReceiptBundle): Promise<Check[]> {
  const proof = bundle.root === undefined ? undefined : bundle.proof !== undefined ? { root: bundle.root, proof: bundle.proof } : bundle.proofItems !== undefined ? { root: bundle.root, items: bundle.proofItems } : undefined;
  const noProofReason = bundle.batchStatus === undefined ? "no Merkle root and proof came with the receipt (paste { receipt, proof, root })" : `the relayer has not anchored it yet (batch ${bundle.batchStatus})`;
  const verdict = await verifyReceiptOnChain(chain.provider, chain.config.deployment, bundle.doc, proof, { noProofReason });
  return verdict.steps.map((s) => ({ id: s.id, title: s.title, status: s.status, detail: s.code === undefined ? s.detail : `${s.code}: ${s.detail}` }));
}
