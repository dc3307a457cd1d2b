import { getAddress, isAddress } from "ethers";

import { AitbcError } from "../../lib/errors.js";
import { receiptLeafHash, type ReceiptLeafValue } from "../../lib/merkle.js";
import { checkSettledReceipt } from "../../lib/sdk/settled-receipt.js";
import { JsonNumber, parseJson, type JsonObject, type JsonValue } from "../../lib/receipts/canonical.js";
import { base64UrlEncode, fromHex } from "../../lib/receipts/encoding.js";
import { receiptHash, verifyReceipt } from "../../lib/receipts/receipt.js";
import type { Chain } from "./chain.js";

/** A receipt with what is needed to check its inclusion. The document keeps its number lexemes (signatures need them). */
export interface ReceiptBundle {
  doc: JsonObject;
  root?: string;
  proof?: string[];
  /** Where it came from, for the page: "relayer", "pasted". */
  source: string;
  /** The relayer's batch status (`confirmed`, `sent`, …), when known. */
  batchStatus?: string;
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

function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value instanceof Map ? value : undefined;
}

function hexList(value: JsonValue | undefined, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v))) {
    throw new AitbcError("BAD_PROOF", `${what} must be an array of 32-byte 0x-hex hashes`, { hint: "Paste the proof exactly as the relayer served it." });
  }
  return value as string[];
}

/**
 * Reads pasted text: a bare receipt, `{ receipt, proof, root }`, or a relayer answer `{ receipt, proof, batch: { root } }`.
 * @throws {AitbcError} `INVALID_JSON` (and the other parse codes) or `BAD_PROOF`.
 */
export function parseBundle(input: string, source: string): ReceiptBundle {
  const value = parseJson(input.trim());
  const top = asObject(value);
  if (top === undefined) throw new AitbcError("NOT_AN_OBJECT", "a receipt must be a JSON object", { hint: "Paste the receipt JSON, or { receipt, proof, root }." });
  const inner = asObject(top.get("receipt"));
  if (inner === undefined) return { doc: top, source };
  const batch = asObject(top.get("batch"));
  const rootValue = top.get("root") ?? batch?.get("root");
  const root = typeof rootValue === "string" && rootValue !== "" ? rootValue : undefined;
  const status = batch?.get("status");
  return { doc: inner, root, proof: hexList(top.get("proof"), "proof"), source, batchStatus: typeof status === "string" ? status : undefined };
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
  const page = asObject(parseJson(await relayerGet(chain, `/api/v1/receipts?${params}`)));
  const items = page?.get("items");
  if (page === undefined || !Array.isArray(items)) throw new AitbcError("RELAYER_ERROR", "the relayer's receipt list is malformed");
  const next = page.get("next_cursor");
  return {
    items: items.flatMap((item) => {
      const entry = asObject(item);
      const doc = asObject(entry?.get("receipt"));
      if (entry === undefined || doc === undefined) return [];
      const batchId = entry.get("batch_id");
      return [{ ...summarize(doc), batchId: batchId instanceof JsonNumber ? Number(batchId.lexeme) : null, bundle: { doc, source: "relayer" } }];
    }),
    nextCursor: typeof next === "string" ? next : null,
  };
}

export async function fetchReceipt(chain: Chain, receiptId: string): Promise<ReceiptBundle> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(receiptId)) {
    throw new AitbcError("BAD_RECEIPT_ID", `\`${receiptId}\` is not a receipt id`, { hint: "A receipt id is 0x followed by 64 hex digits; pick one from the receipts list." });
  }
  return parseBundle(await relayerGet(chain, `/api/v1/receipts/${receiptId}`), "relayer");
}

// ---------------------------------------------------------------------------------------------------------------------
// Checks

export type CheckStatus = "pass" | "fail" | "skip";

export interface Check {
  id: "document" | "key" | "signature" | "anchor" | "inclusion";
  title: string;
  status: CheckStatus;
  detail: string;
}

const DOCUMENT_CODES = new Set([
  "INVALID_JSON",
  "DUPLICATE_KEY",
  "NUMBER_NOT_CANONICAL",
  "NOT_AN_OBJECT",
  "MISSING_FIELD",
  "BAD_FIELD",
  "UNSUPPORTED_VERSION",
  "UNSUPPORTED_ALG",
  "RECEIPT_ID_MISMATCH",
  "UNITS_MISMATCH",
  "PRICE_MISMATCH",
  "TIME_ORDER",
  "CHAIN_MISMATCH",
  "ESCROW_MISMATCH",
]);

function leafValue(doc: JsonObject): ReceiptLeafValue {
  const big = (key: string) => BigInt(text(doc.get(key)));
  return {
    chainId: big("chain_id"),
    escrow: text(doc.get("escrow")),
    jobId: big("job_id"),
    provider: text(doc.get("provider")),
    unitsMilli: big("units_milli"),
    price: big("price_base"),
    receiptHash: receiptHash(doc),
  };
}

/**
 * Runs every check a client should run before trusting a receipt, in the browser: the document is well formed and
 * bound to this deployment; its key is the provider's key REGISTERED ON-CHAIN (never the key the receipt names); the
 * Ed25519 signature holds under that key; the root is a SETTLEMENT root on-chain (a plain anchor is reported as such
 * and proves nothing); the receipt is the record its provider settled for the job in that batch, with the receipt's
 * units and price, and the Merkle proof leads to the root — the SDK's `checkSettledReceipt`, which ends with
 * `JobEscrow.verifyReceiptInclusion`.
 */
export async function verifyBundle(chain: Chain, bundle: ReceiptBundle): Promise<Check[]> {
  const { providers, escrow } = chain.contracts;
  const deployment = chain.config.deployment;
  const checks: Check[] = [];
  const add = (id: Check["id"], title: string, status: CheckStatus, detail: string) => checks.push({ id, title, status, detail });

  const providerText = text(bundle.doc.get("provider"));
  const provider = isAddress(providerText) ? getAddress(providerText) : undefined;
  let registeredKey: string | undefined;
  let keyProblem: string | undefined;
  if (providers === undefined || escrow === undefined) {
    keyProblem = "the marketplace contracts are not part of this deployment";
  } else if (provider === undefined) {
    keyProblem = "the receipt names no valid provider address";
  } else {
    const entry = await providers.getFunction("provider")(provider);
    if (!entry.registered) keyProblem = `provider ${provider} is not registered in ProviderRegistry`;
    else registeredKey = entry.receiptKey;
  }

  const result = verifyReceipt(bundle.doc, {
    trustedKey: registeredKey,
    expectedChainId: chain.config.chainId,
    expectedEscrow: deployment.contracts.JobEscrow,
  });
  const failedCode = result.valid ? undefined : result.code;
  const documentOk = failedCode === undefined || !DOCUMENT_CODES.has(failedCode);
  add(
    "document",
    "Receipt is well formed and bound to this deployment",
    documentOk ? "pass" : "fail",
    documentOk ? `chain ${chain.config.chainId}, escrow ${deployment.contracts.JobEscrow ?? "?"}, job ${text(bundle.doc.get("job_id"))}` : `${failedCode}: ${(result as { reason: string }).reason}`,
  );

  const keyIdInReceipt = text(asObject(bundle.doc.get("signature"))?.get("key_id"));
  const registeredKeyId = registeredKey === undefined ? undefined : base64UrlEncode(fromHex(registeredKey) ?? new Uint8Array());
  if (keyProblem !== undefined) add("key", "Signing key is the provider's key registered on-chain", "fail", keyProblem);
  else if (keyIdInReceipt !== registeredKeyId) {
    add("key", "Signing key is the provider's key registered on-chain", "fail", `KEY_NOT_TRUSTED: the receipt names key ${keyIdInReceipt || "(none)"}, ProviderRegistry holds ${registeredKeyId} for ${provider}`);
  } else add("key", "Signing key is the provider's key registered on-chain", "pass", `${registeredKeyId} (ProviderRegistry, provider ${provider})`);

  const keyOk = checks[1].status === "pass";
  if (!documentOk || !keyOk) {
    add("signature", "Ed25519 signature is valid under the registered key", "skip", documentOk ? "not checked: no trusted key" : "not checked: the document is invalid");
  } else if (result.valid) {
    add("signature", "Ed25519 signature is valid under the registered key", "pass", `receipt hash ${result.receiptHash}`);
  } else {
    add("signature", "Ed25519 signature is valid under the registered key", "fail", `${result.code}: ${result.reason}`);
  }

  if (escrow === undefined) {
    add("anchor", "Merkle root is anchored on-chain", "fail", "the marketplace contracts are not part of this deployment");
    add("inclusion", "Receipt is included under the anchored root", "skip", "not checked: no anchored root");
    return checks;
  }
  if (bundle.root === undefined || bundle.proof === undefined) {
    const why = bundle.batchStatus === undefined ? "no Merkle root and proof came with the receipt (paste { receipt, proof, root })" : `the relayer has not anchored it yet (batch ${bundle.batchStatus})`;
    add("anchor", "Merkle root is anchored on-chain", "fail", why);
    add("inclusion", "Receipt is included under the anchored root", "skip", "not checked: no anchored root");
    return checks;
  }
  let leaf: ReceiptLeafValue;
  try {
    leaf = leafValue(bundle.doc);
  } catch (error) {
    add("anchor", "Merkle root is a settlement root on-chain", "skip", "not checked: the receipt's leaf cannot be computed");
    add("inclusion", "Receipt was settled as signed under that root", "fail", `cannot compute the leaf: ${(error as Error).message}`);
    return checks;
  }
  const leafHash = receiptLeafHash(leaf);
  const verdict = await checkSettledReceipt(escrow, { chainId: BigInt(chain.config.chainId), escrowAddress: deployment.contracts.JobEscrow ?? "" }, { root: bundle.root, leaf, proof: bundle.proof });
  // The shared checks, shown as two rows: the root (settlement-root, batch-provider) and the record (the rest).
  const rootIds = new Set(["settlement-root", "batch-provider"]);
  const rootChecks = verdict.checks.filter((c) => rootIds.has(c.id));
  const recordChecks = verdict.checks.filter((c) => !rootIds.has(c.id));
  const rootFailed = rootChecks.find((c) => !c.ok);
  const recordFailed = recordChecks.find((c) => !c.ok);
  const code = verdict.valid ? "" : `${verdict.code}: `;
  if (rootChecks.length === 0) add("anchor", "Merkle root is a settlement root on-chain", "skip", "not checked: the leaf is bound to another chain or escrow");
  else if (rootFailed !== undefined) add("anchor", "Merkle root is a settlement root on-chain", "fail", `${code}${rootFailed.detail}`);
  else add("anchor", "Merkle root is a settlement root on-chain", "pass", rootChecks.map((c) => c.detail).join("; "));
  if (recordFailed !== undefined) add("inclusion", "Receipt was settled as signed under that root", "fail", `${code}${recordFailed.detail}`);
  else if (rootFailed !== undefined) add("inclusion", "Receipt was settled as signed under that root", "skip", "not checked: the root is not this provider's settlement");
  else add("inclusion", "Receipt was settled as signed under that root", "pass", `leaf ${leafHash}: ${recordChecks.map((c) => c.detail).join("; ")}`);
  return checks;
}
