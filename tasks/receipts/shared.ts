import { AitbcError } from "../../lib/errors.js";
import { type MarketContext } from "../market/shared.js";

/** Validates `--relayer` and returns it without a trailing slash. */
export function parseRelayerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch (cause) {
    throw new AitbcError("BAD_URL", `--relayer \`${text}\` is not a URL`, { hint: "Pass the relayer's base URL, e.g. --relayer http://127.0.0.1:8645.", cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AitbcError("BAD_URL", `--relayer must be an http(s) URL, got ${url.protocol}`, { hint: "Pass the relayer's base URL, e.g. --relayer http://127.0.0.1:8645." });
  }
  return url.toString().replace(/\/+$/, "");
}

/**
 * GET a relayer API path and return the body text (receipts are kept as text so their number lexemes survive).
 * `undefined` for 404; `RELAYER_UNREACHABLE` / `RELAYER_ERROR` otherwise.
 */
export async function relayerGet(base: string, path: string): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new AitbcError("RELAYER_UNREACHABLE", `cannot reach the relayer at ${base} (${(cause as Error).message})`, { hint: "Check --relayer and that the relayer is running.", cause });
  }
  const body = await response.text();
  if (response.status === 404) return undefined;
  if (!response.ok) {
    throw new AitbcError("RELAYER_ERROR", `the relayer answered ${response.status} for ${path}: ${body.slice(0, 200)}`, { hint: "See the relayer's log; the request may be malformed." });
  }
  return body;
}

/** Root of every anchored batch since the deployment, by batch id (from `RootAnchored` events). */
export async function anchoredRoots(m: MarketContext, fromBlock = m.deployment.block): Promise<Map<bigint, { root: string; submitter: string; count: bigint; block: number }>> {
  const escrow = m.market.escrow;
  const events = await escrow.queryFilter(escrow.filters.RootAnchored(), fromBlock);
  return new Map(events.map((e) => [e.args.batchId, { root: e.args.root, submitter: e.args.submitter, count: e.args.count, block: e.blockNumber }]));
}

/** The relayer's `/api/v1/receipts/:id` answer, with the receipt kept as text. */
export interface RelayerReceipt {
  receiptText: string;
  batch: { id: number; root: string; status: string } | null;
  proof: string[] | null;
}

/** Splits a relayer receipt answer into its metadata and the verbatim receipt text. */
export function parseRelayerReceipt(body: string): RelayerReceipt {
  const marker = body.indexOf(',"receipt":');
  let meta: { batch?: RelayerReceipt["batch"]; proof?: string[] | null };
  try {
    meta = JSON.parse(body) as typeof meta;
  } catch (cause) {
    throw new AitbcError("RELAYER_ERROR", "the relayer's answer is not JSON", { hint: "Check that --relayer points at an AITBC relayer.", cause });
  }
  if (marker < 0) throw new AitbcError("RELAYER_ERROR", "the relayer's answer carries no receipt", { hint: "Check that --relayer points at an AITBC relayer." });
  // The receipt object is spliced in verbatim; cut it out by matching braces so its lexemes stay untouched.
  const start = marker + ',"receipt":'.length;
  let depth = 0;
  let inString = false;
  let end = start;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      end = i + 1;
      break;
    }
  }
  return { receiptText: body.slice(start, end), batch: meta.batch ?? null, proof: meta.proof ?? null };
}
