/**
 * A client of a provider relayer's read API (`/api/v1/jobs/:id`, `/api/v1/receipts/:id`). Receipts are kept as the
 * text the relayer served: re-serialising a parsed receipt would change its number lexemes and break the signature.
 */
import { AitbcError } from "../errors.js";

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
}

/** The relayer's `/api/v1/receipts/:id` answer, with the receipt kept as text. */
export interface RelayerReceipt {
  /** The signed receipt exactly as served; verify this text. */
  receiptText: string;
  batch: RelayerBatch | null;
  /** Inclusion proof of the receipt's leaf in `batch.root`. */
  proof: string[] | null;
}

/**
 * Splits a relayer receipt answer into its metadata and the verbatim receipt text.
 *
 * @throws {AitbcError} `RELAYER_ERROR` when the body is not a relayer receipt.
 */
export function parseRelayerReceipt(body: string): RelayerReceipt {
  const marker = body.indexOf(',"receipt":');
  let meta: { batch?: RelayerBatch | null; proof?: string[] | null };
  try {
    meta = JSON.parse(body) as typeof meta;
  } catch (cause) {
    throw new AitbcError("RELAYER_ERROR", "the relayer's answer is not JSON", { hint: "Check that the URL points at an AITBC relayer.", cause });
  }
  if (marker < 0) throw new AitbcError("RELAYER_ERROR", "the relayer's answer carries no receipt", { hint: "Check that the URL points at an AITBC relayer." });
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

/** Relayer job states after which no receipt will come. */
const HOPELESS_STATES = new Set(["failed", "expired", "refused"]);
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
      const job = JSON.parse(jobBody) as { state: string; receipt_id: string | null; failure?: unknown; refusal?: unknown };
      lastState = job.state;
      if (HOPELESS_STATES.has(job.state)) {
        throw new AitbcError("JOB_NOT_SERVED", `the relayer will not deliver job ${jobId}: it is ${job.state}`, {
          hint: "Submit the job again (perhaps to another provider); the escrow can be reclaimed after the deadline.",
          details: { state: job.state, failure: job.failure ?? null, refusal: job.refusal ?? null },
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
