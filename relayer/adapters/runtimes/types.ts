import { AitbcError } from "../../../lib/errors.js";

/**
 * The contract between the relayer and whatever executes a job: an in-process llama.cpp, a local Ollama, or any
 * OpenAI-compatible completion server. Every implementation reports the compute time the runtime itself spent on
 * the job, which is what the receipt meters (see `relayer/core/metering.ts`).
 */

export type RuntimeDevice = "cpu" | "cuda" | "vulkan" | "metal" | "remote";

export interface RunRequest {
  /** Only used for logs and error context; the runtime never sees it. */
  readonly jobId: bigint | number | string;
  /** The name the runtime serves the model under (see `RuntimeInfo.models`). */
  readonly model: string;
  /** Text, or its UTF-8 bytes as carried in `createJob` calldata; bytes must be valid UTF-8. */
  readonly prompt: Uint8Array | string;
  /** Upper bound on generated tokens; a positive integer. */
  readonly maxTokens: number;
  /** Deadline for the whole call (queueing, retries and generation included). */
  readonly timeoutMs: number;
  /** Cancels the call, e.g. on shutdown; surfaces as `RUNTIME_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * Where `computeMs` came from, from most to least precise:
 * - `runtime`: reported by the runtime for this request (llama.cpp server `timings`, Ollama durations);
 * - `measured`: measured in-process around the evaluation call only (embedded runtime);
 * - `wall`: the HTTP request's wall time, an upper bound that includes network and queueing.
 */
export type TimingSource = "runtime" | "measured" | "wall";

export interface RunTimings {
  /** Epoch ms at which evaluation (or the request, for `wall`) started. */
  readonly startedAt: number;
  /** Epoch ms at which it completed. */
  readonly completedAt: number;
  /** Compute time spent on this job, whole milliseconds, rounded up. The metered quantity. */
  readonly computeMs: number;
  /** Part of `computeMs` spent on the prompt, when the runtime reports the split. */
  readonly promptMs: number | null;
  /** Part of `computeMs` spent generating, when the runtime reports the split. */
  readonly generationMs: number | null;
  readonly source: TimingSource;
}

export interface RunResult {
  /** Generated text. The relayer hashes its UTF-8 encoding into `result_hash`. */
  readonly output: string;
  /** Token counts as the runtime reports them; `null` where a remote runtime does not say. */
  readonly tokens: { readonly prompt: number | null; readonly generated: number | null };
  readonly timings: RunTimings;
  readonly device: RuntimeDevice;
  /** Why generation stopped: token budget reached, or the model ended the text itself. */
  readonly finishReason: "length" | "stop";
}

export interface RuntimeInfo {
  /** `embedded`, `ollama` or `openai`. */
  readonly kind: RuntimeKind;
  /** Human-readable identity, e.g. the model file or the base URL. */
  readonly name: string;
  readonly device: RuntimeDevice;
  /** Model names `run` accepts. Empty when a remote runtime cannot be asked. */
  readonly models: readonly string[];
}

export type RuntimeKind = "embedded" | "ollama" | "openai";

/** What a job must fit in to run, as the runtime itself knows it; the job policy admits only what fits. */
export interface RuntimeLimits {
  /** Context window in tokens (prompt + generation). */
  readonly contextTokens: number;
  /** Prompt length in the tokens the runtime will feed (its own tokenizer, start token included). */
  countTokens(prompt: string): number;
}

export interface Runtime {
  run(request: RunRequest): Promise<RunResult>;
  info(): Promise<RuntimeInfo>;
  /** The runtime's real limits, when it knows them (the embedded runtime does; remote ones may not). */
  limits?(): RuntimeLimits;
  /** Releases the model/connections. Pending and later `run` calls fail with `RUNTIME_UNAVAILABLE`. */
  close(): Promise<void>;
}

export const RUNTIME_ERROR_CODES = [
  "RUNTIME_TIMEOUT",
  "RUNTIME_ABORTED",
  "RUNTIME_UNAVAILABLE",
  "RUNTIME_BAD_INPUT",
  "RUNTIME_UNKNOWN_MODEL",
  "RUNTIME_FAILED",
] as const;

/**
 * - `RUNTIME_TIMEOUT`: `timeoutMs` elapsed. The job may be retried with a larger budget.
 * - `RUNTIME_ABORTED`: the caller's signal fired (shutdown); the job was not judged.
 * - `RUNTIME_UNAVAILABLE`: the runtime is down, unreachable, closed or overloaded; retry later.
 * - `RUNTIME_BAD_INPUT`: the job itself is unrunnable (prompt not UTF-8, too long for the context, bad maxTokens),
 *   or a runtime option is out of range.
 * - `RUNTIME_UNKNOWN_MODEL`: the runtime does not serve the model.
 * - `RUNTIME_FAILED`: the runtime answered with an error or garbage.
 */
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

/** The project's error type ({@link AitbcError}) with a runtime code. */
export class RuntimeError extends AitbcError {
  declare readonly code: RuntimeErrorCode;
  /** Set for errors that came back over HTTP. */
  readonly status: number | undefined;

  constructor(code: RuntimeErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(code, message, {
      cause: options.cause,
      ...(options.status === undefined ? {} : { details: { status: options.status } }),
    });
    this.status = options.status;
  }
}

export function isRuntimeError(error: unknown, code?: RuntimeErrorCode): error is RuntimeError {
  return error instanceof RuntimeError && (code === undefined || error.code === code);
}
