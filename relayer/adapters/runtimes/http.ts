import http from "node:http";
import https from "node:https";

import { ceilMs, Deadline, sleep } from "./request.js";
import { RuntimeError } from "./types.js";

/**
 * Minimal JSON-over-HTTP client for the remote runtimes.
 *
 * Built on node:http rather than fetch because fetch (undici) applies its own 300 s header/body timeouts, which
 * would cut off long generations behind the caller's back; here the job's deadline is the only timeout.
 */

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
  /** Parsed body, or `undefined` when the body is not JSON. */
  readonly json: unknown;
  /** Epoch ms when the attempt that produced this response was sent (earlier failed attempts excluded). */
  readonly sentAt: number;
  /** Epoch ms when its body had been read. */
  readonly receivedAt: number;
  /** Monotonic duration of that attempt, fractional ms. */
  readonly elapsedMs: number;
}

export interface HttpRequestOptions {
  readonly method: "GET" | "POST";
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Bodies larger than this are refused, so a misbehaving server cannot exhaust memory. */
  readonly maxResponseBytes: number;
}

export interface RetryPolicy {
  /** Extra attempts after the first, made only when the connection itself failed. */
  readonly retries: number;
  /** First back-off; doubles per attempt. */
  readonly retryDelayMs: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * Connection-level failures before any response byte: nothing listening, network unreachable, name not resolvable
 * yet, or a reset/broken pipe (typically a keep-alive socket the server had already closed). A retry after a reset
 * can, rarely, repeat work a crashed server had started; that costs compute but never a double charge, because
 * only the attempt that answers is metered.
 */
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EPIPE"]);

class ConnectionError extends Error {
  readonly code: string;
  constructor(code: string, message: string, cause: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

function requestOnce(url: URL, options: HttpRequestOptions): Promise<HttpResponse> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), "utf8");
  const transport = url.protocol === "https:" ? https : http;
  const sentAt = Date.now();
  const t0 = performance.now();
  return new Promise<HttpResponse>((resolve, reject) => {
    let responded = false;
    const req = transport.request(
      url,
      {
        method: options.method,
        signal: options.signal,
        headers: {
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(payload.length) }),
          ...options.headers,
        },
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxResponseBytes) {
            res.destroy();
            reject(
              new RuntimeError(
                "RUNTIME_FAILED",
                `${url.origin} sent a response over ${options.maxResponseBytes} bytes`,
                { status: res.statusCode },
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const elapsedMs = performance.now() - t0;
          resolve({ status: res.statusCode ?? 0, text, json, sentAt, receivedAt: Date.now(), elapsedMs });
        });
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (options.signal.aborted) {
        reject(options.signal.reason);
      } else if (!responded && error.code !== undefined && CONNECTION_ERRORS.has(error.code)) {
        reject(new ConnectionError(error.code, `${url.origin}: ${error.code}`, error));
      } else {
        reject(error);
      }
    });
    req.end(payload);
  });
}

/**
 * Sends one request, retrying only connection failures with exponential back-off. Anything else — an HTTP error
 * status, a reset after the server started answering — is returned or thrown at once, since a retry could run the
 * job a second time. The caller's signal bounds the whole sequence, back-off included.
 */
export async function requestJson(url: URL, options: HttpRequestOptions, retry: RetryPolicy): Promise<HttpResponse> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(url, options);
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      if (!(error instanceof ConnectionError)) throw error;
      if (attempt >= retry.retries) {
        throw new RuntimeError(
          "RUNTIME_UNAVAILABLE",
          `cannot reach ${url.origin} (${error.code} after ${attempt + 1} attempts); is the runtime running?`,
          { cause: error },
        );
      }
      await sleep(retry.retryDelayMs * 2 ** attempt, options.signal);
    }
  }
}

/** The server's own explanation from an error body: Ollama sends `{error: "…"}`, OpenAI `{error: {message}}`. */
export function serverMessage(response: HttpResponse): string {
  const body = response.json;
  if (typeof body === "object" && body !== null && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === "string") return error;
    if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
      return (error as { message: string }).message;
    }
  }
  return response.text.slice(0, 300) || `HTTP ${response.status}`;
}

/**
 * HTTP error status → runtime error code, the same for every remote runtime: 404 is how both Ollama and vLLM say
 * "no such model", 400/413/422 mean the request itself is unrunnable, 429/503 mean busy or loading.
 */
export function errorForStatus(response: HttpResponse, label: string): RuntimeError {
  const { status } = response;
  const detail = `${label}: HTTP ${status}: ${serverMessage(response)}`;
  if (status === 404) return new RuntimeError("RUNTIME_UNKNOWN_MODEL", detail, { status });
  if (status === 400 || status === 413 || status === 422)
    return new RuntimeError("RUNTIME_BAD_INPUT", detail, { status });
  if (status === 429 || status === 503) return new RuntimeError("RUNTIME_UNAVAILABLE", detail, { status });
  if (status === 401 || status === 403) {
    return new RuntimeError("RUNTIME_FAILED", `${detail} (check the runtime's API key)`, { status });
  }
  return new RuntimeError("RUNTIME_FAILED", detail, { status });
}

/** Reads a non-negative finite number field, or `undefined`. */
export function numberField(object: unknown, key: string): number | undefined {
  if (typeof object !== "object" || object === null) return undefined;
  const value = (object as Record<string, unknown>)[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * The metered timings of a remote run. With the server's own prompt and generation times (milliseconds), the compute
 * time is their sum; without them it is the request's wall time, an upper bound (source `wall`).
 */
export function remoteTimings(
  response: HttpResponse,
  reported: { promptMs: number; generationMs: number } | undefined,
): { computeMs: number; promptMs: number | null; generationMs: number | null; source: "runtime" | "wall" } {
  if (reported === undefined) return { computeMs: ceilMs(response.elapsedMs), promptMs: null, generationMs: null, source: "wall" };
  const computeMs = ceilMs(reported.promptMs + reported.generationMs);
  const promptMs = Math.min(computeMs, ceilMs(reported.promptMs));
  return { computeMs, promptMs, generationMs: computeMs - promptMs, source: "runtime" };
}

/**
 * One generation request of a remote runtime, bounded by the job's timeout, the caller's signal and the runtime's
 * lifetime: every failure comes back as a {@link RuntimeError} whose code says which of them ended it.
 */
export async function postGeneration(args: {
  url: URL;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
  timeoutMs: number;
  caller?: AbortSignal;
  closed: AbortSignal;
  label: string;
  what: string;
  maxResponseBytes: number;
  retry: RetryPolicy;
}): Promise<HttpResponse> {
  const deadline = new Deadline({ timeoutMs: args.timeoutMs, caller: args.caller, closed: args.closed, label: args.label });
  try {
    return await requestJson(
      args.url,
      { method: "POST", body: args.body, headers: args.headers, signal: deadline.signal, maxResponseBytes: args.maxResponseBytes },
      args.retry,
    );
  } catch (error) {
    throw deadline.toRuntimeError(error, `${args.label}: ${args.what}`);
  } finally {
    deadline.dispose();
  }
}
