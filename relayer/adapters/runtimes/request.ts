import { RuntimeError, type RunRequest } from "./types.js";

/** Default cap on prompt size before any runtime sees it; calldata prompts are far smaller in practice. */
export const DEFAULT_MAX_PROMPT_BYTES = 256 * 1024;
/** Generous ceiling on `maxTokens`; real limits come from the runtime's context size. */
export const MAX_TOKENS_LIMIT = 1 << 20;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Checks the parts of a request every runtime needs checked the same way and returns the prompt as text.
 * Throws `RUNTIME_BAD_INPUT`.
 */
export function validateRequest(request: RunRequest, maxPromptBytes: number): string {
  const { jobId, maxTokens, timeoutMs } = request;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_TOKENS_LIMIT) {
    throw new RuntimeError(
      "RUNTIME_BAD_INPUT",
      `job ${jobId}: maxTokens must be an integer in [1, ${MAX_TOKENS_LIMIT}], got ${maxTokens}`,
    );
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RuntimeError("RUNTIME_BAD_INPUT", `job ${jobId}: timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  return decodePrompt(request.prompt, maxPromptBytes, String(jobId));
}

/** Prompt bytes → text, refusing anything that is not well-formed UTF-8 or exceeds `maxBytes`. */
export function decodePrompt(prompt: Uint8Array | string, maxBytes: number, jobLabel = "?"): string {
  const size = typeof prompt === "string" ? Buffer.byteLength(prompt, "utf8") : prompt.byteLength;
  if (size > maxBytes) {
    throw new RuntimeError(
      "RUNTIME_BAD_INPUT",
      `job ${jobLabel}: prompt is ${size} bytes, over the ${maxBytes}-byte limit of this runtime`,
    );
  }
  if (typeof prompt === "string") {
    // A JS string with a lone surrogate has no UTF-8 encoding; encoders would silently substitute U+FFFD and the
    // prompt the model sees would no longer hash to the job's input_hash.
    if (LONE_SURROGATE.test(prompt)) {
      throw new RuntimeError("RUNTIME_BAD_INPUT", `job ${jobLabel}: prompt contains a lone UTF-16 surrogate`);
    }
    return prompt;
  }
  try {
    return UTF8.decode(prompt);
  } catch (cause) {
    throw new RuntimeError("RUNTIME_BAD_INPUT", `job ${jobLabel}: prompt bytes are not valid UTF-8`, { cause });
  }
}

/**
 * One deadline per call: fires `RUNTIME_TIMEOUT` after `timeoutMs`, `RUNTIME_ABORTED` when the caller's signal
 * fires, and `RUNTIME_UNAVAILABLE` when the runtime's own `closed` signal fires. The combined signal's `reason` is
 * that `RuntimeError`, so code that rethrows `signal.reason` (node-llama-cpp does) already throws the right error.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly detach: () => void;

  constructor(options: { timeoutMs: number; caller?: AbortSignal; closed?: AbortSignal; label: string }) {
    const { timeoutMs, caller, closed, label } = options;
    const fire = (code: "RUNTIME_TIMEOUT" | "RUNTIME_ABORTED" | "RUNTIME_UNAVAILABLE", why: string) => () => {
      if (!this.controller.signal.aborted) this.controller.abort(new RuntimeError(code, `${label}: ${why}`));
    };
    this.timer = setTimeout(fire("RUNTIME_TIMEOUT", `no result within ${timeoutMs} ms`), timeoutMs);
    const onCaller = fire("RUNTIME_ABORTED", "cancelled by the caller");
    const onClosed = fire("RUNTIME_UNAVAILABLE", "the runtime was closed");
    if (closed?.aborted) onClosed();
    else closed?.addEventListener("abort", onClosed, { once: true });
    if (caller?.aborted) onCaller();
    else caller?.addEventListener("abort", onCaller, { once: true });
    this.detach = () => {
      caller?.removeEventListener("abort", onCaller);
      closed?.removeEventListener("abort", onClosed);
    };
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Throws the deadline's error if it already fired. */
  check(): void {
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
  }

  /**
   * Maps whatever an operation threw into a `RuntimeError`: the deadline's own error if it fired (whatever the
   * library made of the abort), the error itself if it is already one, else `RUNTIME_FAILED`.
   */
  toRuntimeError(error: unknown, what: string): RuntimeError {
    if (this.controller.signal.aborted) return this.controller.signal.reason as RuntimeError;
    if (error instanceof RuntimeError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new RuntimeError("RUNTIME_FAILED", `${what} failed: ${detail}`, { cause: error });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.detach();
  }
}

/** Sleeps, waking early with the signal's reason when it fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whole milliseconds from a fractional duration, rounded up: a started millisecond is a metered millisecond. */
export function ceilMs(ms: number): number {
  // Float noise such as 12.000000001 from ns→ms division must not add a millisecond.
  return Math.ceil(Math.round(ms * 1e6) / 1e6);
}
