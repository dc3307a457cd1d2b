import { ChainError, type ChainErrorCode, classifyRpcError } from "./errors.js";

/**
 * One JSON-RPC call's way to a node. Implementations resolve with the call's `result` or throw a {@link ChainError}
 * whose code says what went wrong; the {@link RpcClient} above decides whether to retry.
 */
export interface RpcTransport {
  /** For logs and metrics labels: never the URL itself, which may carry an API key. */
  readonly name: string;
  send(method: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown>;
}

const RETRY_AFTER_MAX_MS = 10 * 60_000;

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, RETRY_AFTER_MAX_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), RETRY_AFTER_MAX_MS);
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** JSON-RPC over HTTP(S) with `fetch`. */
export class HttpTransport implements RpcTransport {
  readonly name: string;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  #id = 0;

  constructor(options: { url: string; name?: string; headers?: Record<string, string> }) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (cause) {
      throw new ChainError("CHAIN_INVALID_CONFIG", "the RPC URL is not a URL", { cause, hint: "set an http(s):// RPC URL" });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ChainError("CHAIN_INVALID_CONFIG", `RPC URL scheme ${parsed.protocol} is not supported`, { hint: "use an http:// or https:// RPC URL" });
    }
    this.#url = options.url;
    this.name = options.name ?? parsed.host;
    this.#headers = { "content-type": "application/json", accept: "application/json", ...options.headers };
  }

  async send(method: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown> {
    const id = ++this.#id;
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers: this.#headers,
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
        signal,
      });
    } catch (cause) {
      if (isAbortError(cause) || signal.aborted) throw new ChainError("RPC_TIMEOUT", `${method}: no answer in time`, { cause, details: { method } });
      throw new ChainError("RPC_NETWORK", `${method}: cannot reach the node`, { cause, details: { method } });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (isAbortError(cause) || signal.aborted) throw new ChainError("RPC_TIMEOUT", `${method}: the answer did not arrive in time`, { cause, details: { method } });
      throw new ChainError("RPC_NETWORK", `${method}: the connection broke while reading the answer`, { cause, details: { method } });
    }
    const status = response.status;
    if (status === 429) {
      throw new ChainError("RPC_RATE_LIMITED", `${method}: the node is rate limiting (HTTP 429)`, {
        details: { method, status },
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      });
    }
    if (status >= 500) {
      throw new ChainError("RPC_SERVER_ERROR", `${method}: the node answered HTTP ${status}`, {
        details: { method, status },
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (cause) {
      if (status >= 400) throw new ChainError("RPC_HTTP_ERROR", `${method}: the node answered HTTP ${status}`, { cause, details: { method, status } });
      throw new ChainError("RPC_BAD_RESPONSE", `${method}: the answer is not JSON`, { cause, details: { method, status } });
    }
    const envelope = body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } } | null;
    if (envelope !== null && typeof envelope === "object" && envelope.error !== undefined && envelope.error !== null) {
      throw classifyRpcError(envelope.error, method);
    }
    if (status >= 400) throw new ChainError("RPC_HTTP_ERROR", `${method}: the node answered HTTP ${status}`, { details: { method, status } });
    if (envelope === null || typeof envelope !== "object" || !("result" in envelope)) {
      throw new ChainError("RPC_BAD_RESPONSE", `${method}: the answer has neither result nor error`, { details: { method, status } });
    }
    return envelope.result;
  }
}

/** The part of EIP-1193 the transport needs; ethers' and Hardhat's in-process providers have it. */
export interface Eip1193Like {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

/**
 * Wraps an in-process EIP-1193 provider (e.g. Hardhat's `network.connect()` provider) so the relayer can run against
 * the in-process chain with the same client, classification and health reporting as over HTTP.
 */
export class Eip1193Transport implements RpcTransport {
  readonly name: string;
  readonly #provider: Eip1193Like;

  constructor(provider: Eip1193Like, name = "eip1193") {
    this.#provider = provider;
    this.name = name;
  }

  async send(method: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new ChainError("RPC_TIMEOUT", `${method}: no answer in time`, { details: { method } });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new ChainError("RPC_TIMEOUT", `${method}: no answer in time`, { details: { method } }));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#provider.request({ method, params: [...params] }), aborted]);
    } catch (error) {
      if (error instanceof ChainError) throw error;
      const raw = error as { code?: unknown; message?: unknown; data?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
      // ethers wraps the node's error object in `error`; EIP-1193 providers throw it directly.
      throw classifyRpcError(raw.error ?? raw, method);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    }
  }
}

// ── health ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Where the RPC client reports every attempt. */
export interface RpcHealthSink {
  recordSuccess(method: string): void;
  recordError(method: string, code: ChainErrorCode): void;
  recordRetry(method: string, code: ChainErrorCode, delayMs: number): void;
  recordGiveUp(method: string, code: ChainErrorCode): void;
}

export interface RpcHealthOptions {
  /** Outcomes kept for the error rate. */
  windowSize?: number;
  /** Degraded when errors / outcomes in the window reach this (0…1), given at least `minSamples` outcomes. */
  degradedErrorRate?: number;
  minSamples?: number;
  /** Consecutive successes that clear the degraded flag. */
  recoverAfterSuccesses?: number;
}

export interface RpcHealthSnapshot {
  degraded: boolean;
  calls: number;
  errors: number;
  retries: number;
  giveUps: number;
  /** Errors among the last `windowSize` outcomes: feed this to the core health assessment. */
  recentErrors: number;
  errorsByCode: Partial<Record<ChainErrorCode, number>>;
}

/** Counts RPC outcomes and keeps a `degraded` flag with hysteresis, so one blip does not flap the health endpoint. */
export class RpcHealth implements RpcHealthSink {
  readonly #windowSize: number;
  readonly #degradedRate: number;
  readonly #minSamples: number;
  readonly #recoverAfter: number;
  readonly #window: boolean[] = [];
  readonly #errorsByCode = new Map<ChainErrorCode, number>();
  #calls = 0;
  #errors = 0;
  #retries = 0;
  #giveUps = 0;
  #degraded = false;
  #successStreak = 0;

  constructor(options: RpcHealthOptions = {}) {
    this.#windowSize = options.windowSize ?? 20;
    this.#degradedRate = options.degradedErrorRate ?? 0.5;
    this.#minSamples = options.minSamples ?? 4;
    this.#recoverAfter = options.recoverAfterSuccesses ?? 5;
    if (!(this.#windowSize >= 1 && this.#degradedRate > 0 && this.#degradedRate <= 1 && this.#minSamples >= 1 && this.#recoverAfter >= 1)) {
      throw new ChainError("CHAIN_INVALID_CONFIG", "RPC health thresholds are out of range", {
        details: { ...options },
        hint: "windowSize ≥ 1, 0 < degradedErrorRate ≤ 1, minSamples ≥ 1, recoverAfterSuccesses ≥ 1",
      });
    }
  }

  #push(ok: boolean): void {
    this.#window.push(ok);
    if (this.#window.length > this.#windowSize) this.#window.shift();
  }

  #recentErrors(): number {
    return this.#window.reduce((n, ok) => (ok ? n : n + 1), 0);
  }

  recordSuccess(): void {
    this.#calls++;
    this.#push(true);
    this.#successStreak++;
    if (this.#degraded && this.#successStreak >= this.#recoverAfter) this.#degraded = false;
  }

  recordError(_method: string, code: ChainErrorCode): void {
    this.#calls++;
    this.#errors++;
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
    this.#push(false);
    this.#successStreak = 0;
    if (this.#window.length >= this.#minSamples && this.#recentErrors() / this.#window.length >= this.#degradedRate) this.#degraded = true;
  }

  recordRetry(): void {
    this.#retries++;
  }

  recordGiveUp(): void {
    this.#giveUps++;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  snapshot(): RpcHealthSnapshot {
    return {
      degraded: this.#degraded,
      calls: this.#calls,
      errors: this.#errors,
      retries: this.#retries,
      giveUps: this.#giveUps,
      recentErrors: this.#recentErrors(),
      errorsByCode: Object.fromEntries(this.#errorsByCode) as Partial<Record<ChainErrorCode, number>>,
    };
  }
}

// ── client ────────────────────────────────────────────────────────────────────────────────────────────────────────

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  maxAttempts: number;
  /** Backoff before retry n (n ≥ 1) is uniform in [0, min(maxDelayMs, baseDelayMs·2^(n−1))] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Wall-clock budget for one call, retries and waits included. */
  totalTimeoutMs: number;
  /** Budget for one attempt; the request is aborted after it. */
  perCallTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  totalTimeoutMs: 30_000,
  perCallTimeoutMs: 10_000,
};

export interface RetryEvent {
  method: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  code: ChainErrorCode;
  delayMs: number;
  /** Upper bound of the jitter window for this retry. */
  capMs: number;
  /** `Retry-After` the server sent, if any. */
  retryAfterMs?: number;
}

export interface RpcClientOptions {
  transport: RpcTransport;
  retry?: Partial<RetryPolicy>;
  health?: RpcHealthSink;
  /** Called before each backoff wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Uniform [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export interface CallOptions {
  /** Overrides for this call only. */
  retry?: Partial<RetryPolicy>;
  /** Stops retrying early for errors the caller handles itself (e.g. a log range that is too large). */
  giveUpOn?: (error: ChainError) => boolean;
  /** Cancels the call and its waits. */
  signal?: AbortSignal;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ChainError("RPC_ABORTED", "the call was cancelled"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ChainError("RPC_ABORTED", "the call was cancelled"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function validatePolicy(p: RetryPolicy): RetryPolicy {
  const ok =
    Number.isSafeInteger(p.maxAttempts) &&
    p.maxAttempts >= 1 &&
    p.baseDelayMs >= 0 &&
    p.maxDelayMs >= p.baseDelayMs &&
    p.totalTimeoutMs > 0 &&
    p.perCallTimeoutMs > 0;
  if (!ok) {
    throw new ChainError("CHAIN_INVALID_CONFIG", "RPC retry policy is out of range", {
      details: { ...p },
      hint: "maxAttempts ≥ 1, 0 ≤ baseDelayMs ≤ maxDelayMs, positive timeouts",
    });
  }
  return p;
}

/**
 * A JSON-RPC client that survives a flaky node: each attempt has its own timeout, retryable failures back off
 * exponentially with full jitter (honouring `Retry-After`), and both the attempt count and the total time are
 * bounded. Errors retrying cannot fix (reverts, bad params, nonce errors) surface at once with their own code.
 */
export class RpcClient {
  readonly transport: RpcTransport;
  readonly #policy: RetryPolicy;
  readonly #health: RpcHealthSink | undefined;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #now: () => number;

  constructor(options: RpcClientOptions) {
    this.transport = options.transport;
    this.#policy = validatePolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    this.#health = options.health;
    this.#onRetry = options.onRetry;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
  }

  /**
   * @throws ChainError with the attempt's own code for errors that are not retryable; `RPC_GAVE_UP` (cause: the last
   *         error, `details.attempts`) when attempts or time run out; `RPC_ABORTED` when `options.signal` fires.
   */
  async call<T = unknown>(method: string, params: readonly unknown[] = [], options: CallOptions = {}): Promise<T> {
    const policy = options.retry === undefined ? this.#policy : validatePolicy({ ...this.#policy, ...options.retry });
    const started = this.#now();
    const deadline = started + policy.totalTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw new ChainError("RPC_ABORTED", `${method}: the call was cancelled`, { details: { method } });
      const remaining = deadline - this.#now();
      const timeout = AbortSignal.timeout(Math.max(1, Math.min(policy.perCallTimeoutMs, remaining)));
      const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
      let error: ChainError;
      try {
        const result = await this.transport.send(method, params, signal);
        this.#health?.recordSuccess(method);
        return result as T;
      } catch (caught) {
        if (options.signal?.aborted) throw new ChainError("RPC_ABORTED", `${method}: the call was cancelled`, { cause: caught, details: { method } });
        error = caught instanceof ChainError ? caught : new ChainError("RPC_NETWORK", `${method}: transport failed`, { cause: caught, details: { method } });
      }
      this.#health?.recordError(method, error.code);
      if (!error.retryable || options.giveUpOn?.(error) === true) throw error;

      const capMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      let delayMs = Math.floor(this.#random() * capMs);
      if (error.retryAfterMs !== undefined) delayMs = Math.max(delayMs, error.retryAfterMs);
      const timeLeft = deadline - this.#now();
      if (attempt >= policy.maxAttempts || delayMs >= timeLeft) {
        this.#health?.recordGiveUp(method, error.code);
        throw new ChainError("RPC_GAVE_UP", `${method}: the node kept failing (${error.code}) after ${attempt} attempt(s)`, {
          cause: error,
          details: { method, attempts: attempt, lastCode: error.code, elapsedMs: this.#now() - started },
          hint: "check the RPC endpoint's health and rate limits, or configure a second endpoint",
        });
      }
      this.#health?.recordRetry(method, error.code, delayMs);
      this.#onRetry?.({ method, attempt, code: error.code, delayMs, capMs, retryAfterMs: error.retryAfterMs });
      await this.#sleep(delayMs, options.signal);
    }
  }
}
