/**
 * A client of a provider relayer's read API (`/api/v1/jobs/:id`, `/api/v1/receipts/:id`). Receipts are kept as the
 * text the relayer served: re-serialising a parsed receipt would change its number lexemes and break the signature.
 */
import { AitbcError } from "../errors.js";
import { JsonNumber, parseJson, type JsonObject, type JsonValue } from "../receipts/canonical.js";

/**
 * Validates a relayer base URL and returns it without a trailing slash.
 *
 * @throws {AitbcError} `BAD_URL`.
 */
export function parseRelayerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch (cause) {
    throw new AitbcError("BAD_URL", `relayer URL \`${text}\` is not a URL`, { hint: "Pass the relayer's base URL, e.g. http://127.0.0.1:8645.", cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AitbcError("BAD_URL", `the relayer URL must be http(s), got ${url.protocol}`, { hint: "Pass the relayer's base URL, e.g. http://127.0.0.1:8645." });
  }
  return url.toString().replace(/\/+$/, "");
}

/** The relayer's "not found" codes for a receipt or job it does not hold (route misses do not count). */
function relayerNotFoundCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return code === "HTTP_RECEIPT_NOT_FOUND" || code === "HTTP_JOB_NOT_FOUND" ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GETs a relayer API path and returns the body text, or `undefined` when the relayer says it has no such receipt or
 * job (a 404 from anything that is not a relayer is `RELAYER_BAD_RESPONSE`).
 *
 * @throws {AitbcError} `RELAYER_UNREACHABLE` when the request fails, `RELAYER_ERROR` for any other non-2xx answer.
 */
export async function relayerGet(base: string, path: string, signal?: AbortSignal): Promise<string | undefined> {
  let response: Response;
  const timeout = AbortSignal.timeout(10_000);
  try {
    response = await fetch(`${base}${path}`, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) });
  } catch (cause) {
    if (signal?.aborted === true) throw abortError(signal);
    throw new AitbcError("RELAYER_UNREACHABLE", `cannot reach the relayer at ${base} (${(cause as Error).message})`, { hint: "Check the URL and that the relayer is running.", cause });
  }
  const body = await response.text();
  if (response.status === 404) {
    // A relayer says which thing it does not have; any other 404 (a dashboard, a web server) is not a relayer.
    if (relayerNotFoundCode(body) !== undefined) return undefined;
    throw new AitbcError("RELAYER_BAD_RESPONSE", `${base} does not answer like a relayer API (HTTP 404 for ${path})`, {
      hint: "Pass the relayer's API URL (the devnet's is http://127.0.0.1:8788), not the dashboard's or another server's.",
    });
  }
  if (!response.ok) {
    throw new AitbcError("RELAYER_ERROR", `the relayer answered ${response.status} for ${path}: ${body.slice(0, 200)}`, { hint: "See the relayer's log; the request may be malformed." });
  }
  return body;
}

/** A batch as the relayer reports it; `status` is `intent`, `sent`, `confirmed` or `finalized`. */
export interface RelayerBatch {
  id: number;
  root: string;
  status: string;
  /** The transaction that settled (or will settle) the batch, once sent. */
  txHash: string | null;
}

/** The relayer's `/api/v1/receipts/:id` answer, with the receipt kept as text. */
export interface RelayerReceipt {
  /** The signed receipt exactly as served; verify this text. */
  receiptText: string;
  /** The same receipt parsed with its number lexemes kept (re-serialising it keeps its signature). */
  document: JsonObject;
  batch: RelayerBatch | null;
  /** Inclusion proof of the receipt's leaf in `batch.root`. */
  proof: string[] | null;
}

/** One item of the relayer's `/api/v1/receipts` list. */
export interface RelayerReceiptItem {
  receiptId: string;
  /** As the relayer serves it (bare hex). */
  receiptHash: string;
  batchId: number | null;
  document: JsonObject;
}

/** A page of the relayer's `/api/v1/receipts` list. */
export interface RelayerReceiptList {
  items: RelayerReceiptItem[];
  nextCursor: string | null;
}

const NOT_A_RELAYER = "Check that the URL points at an AITBC relayer.";

function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value instanceof Map ? value : undefined;
}

function parseBody(body: string, what: string): JsonObject {
  let value: JsonValue;
  try {
    value = parseJson(body);
  } catch (cause) {
    throw new AitbcError("RELAYER_ERROR", "the relayer's answer is not JSON", { hint: NOT_A_RELAYER, cause });
  }
  const top = asObject(value);
  if (top === undefined) throw new AitbcError("RELAYER_ERROR", `the relayer's ${what} is not a JSON object`, { hint: NOT_A_RELAYER });
  return top;
}

/** End (exclusive) of the JSON object or array that starts at `start` in `text`, which is valid JSON. */
function compositeEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && --depth === 0) return i + 1;
  }
  return text.length;
}

/**
 * The verbatim text of the object member `key` of the top-level object in `text` (valid JSON): the relayer splices
 * the signed receipt in as it was signed, and only cutting it out keeps every byte of it.
 */
function memberText(text: string, key: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(text[j] ?? "")) j++;
      if (text[j] !== ":" || JSON.parse(text.slice(start, i + 1)) !== key) continue;
      for (j++; /\s/.test(text[j] ?? ""); j++);
      return text.slice(j, compositeEnd(text, j));
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return undefined;
}

function batchOf(value: JsonValue | undefined): RelayerBatch | null {
  const batch = asObject(value);
  if (batch === undefined) return null;
  const id = batch.get("id");
  const root = batch.get("root");
  const status = batch.get("status");
  const txHash = batch.get("tx_hash");
  if (!(id instanceof JsonNumber) || typeof root !== "string" || typeof status !== "string") {
    throw new AitbcError("RELAYER_ERROR", "the relayer's batch is malformed", { hint: NOT_A_RELAYER });
  }
  return { id: Number(id.lexeme), root, status, txHash: typeof txHash === "string" ? txHash : null };
}

function proofOf(value: JsonValue | undefined): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((p) => typeof p !== "string")) {
    throw new AitbcError("RELAYER_ERROR", "the relayer's proof is not a list of hashes", { hint: NOT_A_RELAYER });
  }
  return value as string[];
}

/**
 * Reads a relayer receipt answer (`/api/v1/receipts/:id`): the receipt as the verbatim text that was signed and as a
 * document, its batch and its proof. The one reader of answers fetched from a relayer, for the CLI, the dashboard, the
 * demo and the tests. (A saved file that holds such an answer is read with the other shapes users keep, by
 * `lib/receipts/inputs.ts`, which is pure and never needs the verbatim receipt text: it re-serialises the document.)
 *
 * @throws {AitbcError} `RELAYER_ERROR` when the body is not a relayer receipt.
 */
export function parseRelayerReceipt(body: string): RelayerReceipt {
  const top = parseBody(body, "answer");
  const document = asObject(top.get("receipt"));
  const receiptText = document === undefined ? undefined : memberText(body, "receipt");
  if (document === undefined || receiptText === undefined) throw new AitbcError("RELAYER_ERROR", "the relayer's answer carries no receipt", { hint: NOT_A_RELAYER });
  return { receiptText, document, batch: batchOf(top.get("batch")), proof: proofOf(top.get("proof")) };
}

/**
 * Reads a page of the relayer's receipt list (`/api/v1/receipts`); items without a receipt, id or hash are left out.
 *
 * @throws {AitbcError} `RELAYER_ERROR` when the body is not a relayer receipt list.
 */
export function parseRelayerReceiptList(body: string): RelayerReceiptList {
  const page = parseBody(body, "receipt list");
  const items = page.get("items");
  if (!Array.isArray(items)) throw new AitbcError("RELAYER_ERROR", "the relayer's receipt list is malformed", { hint: NOT_A_RELAYER });
  const next = page.get("next_cursor");
  return {
    items: items.flatMap((value) => {
      const item = asObject(value);
      const document = asObject(item?.get("receipt"));
      const receiptId = item?.get("receipt_id");
      const receiptHash = item?.get("receipt_hash");
      if (document === undefined || typeof receiptId !== "string" || typeof receiptHash !== "string") return [];
      const batchId = item?.get("batch_id");
      return [{ receiptId, receiptHash, batchId: batchId instanceof JsonNumber ? Number(batchId.lexeme) : null, document }];
    }),
    nextCursor: typeof next === "string" ? next : null,
  };
}

/** Relayer job states after which no receipt will come. */
const HOPELESS_STATES = new Set(["failed", "expired", "refused", "given_back"]);

/** What the client can do about a job the relayer will not deliver, by the relayer's state. */
function notServedHint(state: string): string {
  if (state === "refused") return "Nothing was charged: cancel the job (`job:cancel`) for the whole escrow at once, then submit it again as the reason says (or to another provider).";
  if (state === "given_back") return "The provider gave the job back on-chain: the whole escrow is already back with the client. Submit it again, perhaps to another provider.";
  return "Submit the job again (perhaps to another provider); the escrow can be reclaimed after the deadline (`job:reclaim`).";
}
const ANCHORED_BATCH_STATES = new Set(["confirmed", "finalized"]);

export interface WaitForReceiptOptions {
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
  /** Cancels the wait. */
  signal?: AbortSignal;
  /** Between polls (default 500 ms). */
  pollIntervalMs?: number;
  /**
   * `"anchored"` (default): wait until the receipt's batch is mined, so the answer carries a proof to check against
   * the chain; `"signed"`: return as soon as the receipt exists.
   */
  until?: "signed" | "anchored";
}

/** A receipt the relayer served for a job. */
export interface ServedReceipt extends RelayerReceipt {
  jobId: bigint;
  receiptId: string;
}

function abortError(signal: AbortSignal): AitbcError {
  return new AitbcError("ABORTED", "the wait was cancelled", { cause: signal.reason });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Polls a provider's relayer until it serves the receipt of `jobId` (and, by default, until the receipt's batch is
 * anchored). The job may be unknown to the relayer at first: it sees jobs only once their creation is confirmed.
 *
 * @throws {AitbcError} `RECEIPT_TIMEOUT` after `timeoutMs`, `JOB_NOT_SERVED` when the relayer gave up on the job
 *   (refused, failed or expired: reclaim the escrow after the deadline), `ABORTED` when `signal` fires,
 *   `RELAYER_UNREACHABLE` / `RELAYER_ERROR` for transport failures.
 */
export async function waitForReceipt(relayerUrl: string, jobId: bigint, options: WaitForReceiptOptions = {}): Promise<ServedReceipt> {
  const base = parseRelayerUrl(relayerUrl);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pollMs = options.pollIntervalMs ?? 500;
  const until = options.until ?? "anchored";
  const deadline = Date.now() + timeoutMs;
  let lastState = "unknown to the relayer";
  for (;;) {
    if (options.signal?.aborted === true) throw abortError(options.signal);
    const jobBody = await relayerGet(base, `/api/v1/jobs/${jobId}`, options.signal);
    if (jobBody !== undefined) {
      const job = JSON.parse(jobBody) as { state: string; receipt_id: string | null; failure?: { code?: string; message?: string } | null; refusal?: string | null; refusal_detail?: string | null };
      lastState = job.state;
      if (HOPELESS_STATES.has(job.state)) {
        const why =
          job.state === "refused" && typeof job.refusal === "string"
            ? `: refused, ${job.refusal}${typeof job.refusal_detail === "string" ? ` (${job.refusal_detail})` : ""}`
            : job.failure?.code !== undefined
              ? `: ${job.state.replace("_", " ")}, ${job.failure.code}${job.failure.message === undefined ? "" : ` (${job.failure.message})`}`
              : `: it is ${job.state.replace("_", " ")}`;
        throw new AitbcError("JOB_NOT_SERVED", `the relayer will not deliver job ${jobId}${why}`, {
          hint: notServedHint(job.state),
          details: { state: job.state, failure: job.failure ?? null, refusal: job.refusal ?? null, refusalDetail: job.refusal_detail ?? null },
        });
      }
      if (job.receipt_id !== null) {
        const body = await relayerGet(base, `/api/v1/receipts/${job.receipt_id}`, options.signal);
        if (body !== undefined) {
          const served = parseRelayerReceipt(body);
          const anchored = served.batch !== null && served.proof !== null && ANCHORED_BATCH_STATES.has(served.batch.status);
          if (until === "signed" || anchored) return { ...served, jobId, receiptId: job.receipt_id };
        }
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new AitbcError("RECEIPT_TIMEOUT", `no ${until} receipt for job ${jobId} after ${timeoutMs} ms (job ${lastState})`, {
        hint: "The provider may be busy or offline; wait longer, or check the relayer's /api/v1/jobs/<id>.",
        details: { state: lastState },
      });
    }
    await sleep(Math.min(pollMs, left), options.signal);
  }
}
