import { availableParallelism } from "node:os";
import path from "node:path";

import {
  getLlama,
  LlamaCompletion,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";

import { Deadline, DEFAULT_MAX_PROMPT_BYTES, ceilMs, validateRequest } from "./request.js";
import { TINY_MODEL_NAME, ensureTinyGguf } from "./tiny-gguf.js";
import {
  RuntimeError,
  type RunRequest,
  type RunResult,
  type Runtime,
  type RuntimeDevice,
  type RuntimeInfo,
  type RuntimeLimits,
} from "./types.js";

export type EmbeddedGpu = "auto" | false | "cuda" | "vulkan" | "metal";

export interface EmbeddedRuntimeOptions {
  /** GGUF file to serve. Without one, the tiny random-weight model is generated into `cacheDir` and served. */
  readonly modelPath?: string;
  /** Name jobs address the model by. Defaults to the file name without `.gguf` (`tiny-random` for the tiny model). */
  readonly modelName?: string;
  /** More names for the same model, e.g. the rate-card id (`llama3.2`) when it differs from the file name. */
  readonly aliases?: readonly string[];
  /** Where the tiny model is cached. */
  readonly cacheDir?: string;
  /** `auto` uses CUDA, Vulkan or Metal when a prebuilt backend finds a device, and the CPU otherwise. */
  readonly gpu?: EmbeddedGpu;
  /** CPU threads for evaluation. More threads than cores is pathologically slow with llama.cpp. */
  readonly threads?: number;
  /** Tokens of context (prompt + generation). Defaults to min(2048, the model's training context). */
  readonly contextSize?: number;
  /** Jobs allowed to wait while one runs; beyond that `run` fails fast with `RUNTIME_UNAVAILABLE`. */
  readonly maxQueue?: number;
  readonly maxPromptBytes?: number;
  /** llama.cpp's own log output; errors only by default. */
  readonly logLevel?: "error" | "warn" | "info" | "debug";
}

const DEFAULT_CACHE_DIR = path.join(".aitbc", "models");
const DEFAULT_CONTEXT_SIZE = 2048;
const DEFAULT_MAX_QUEUE = 64;

/**
 * Default CPU threads: 2, but 1 on machines with at most 2 cores. llama.cpp's worker threads spin while they wait
 * for each other, and on a 2-core machine they then fight the Node event loop: measured here, 2 threads decoded the
 * tiny model at ~30 tok/s against ~4,000 tok/s with 1 (see bench/runtime.ts). Set `threads` explicitly on big CPUs.
 */
export function defaultThreads(cpus: number = availableParallelism()): number {
  return cpus > 2 ? 2 : 1;
}

/**
 * Runs jobs in-process with llama.cpp (node-llama-cpp, prebuilt binaries only; it never compiles).
 *
 * Metering: node-llama-cpp exposes no per-request timings (llama.cpp's perf counters are only printed), so
 * `computeMs` is measured with a monotonic clock tightly around the evaluation call — after the job acquired the
 * model, after tokenisation and KV-cache reset, until the last token is sampled — and reported as `measured`.
 * Jobs run one at a time, so a job's measured time is its own compute and never includes another job's.
 *
 * Sampling is greedy, so the same prompt on the same model gives the same output and `result_hash` is reproducible.
 */
export class EmbeddedRuntime implements Runtime {
  private readonly llama: Llama;
  private readonly model: LlamaModel;
  private readonly context: LlamaContext;
  private readonly sequence: LlamaContextSequence;
  private readonly completion: LlamaCompletion;
  private readonly names: readonly string[];
  private readonly modelPath: string;
  private readonly device: RuntimeDevice;
  private readonly maxQueue: number;
  private readonly maxPromptBytes: number;
  private readonly lifetime = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  /** Jobs admitted and not finished: the one running plus those queued behind it. */
  private admitted = 0;
  private closing: Promise<void> | undefined;

  private constructor(parts: {
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    modelPath: string;
    names: readonly string[];
    maxQueue: number;
    maxPromptBytes: number;
  }) {
    this.llama = parts.llama;
    this.model = parts.model;
    this.context = parts.context;
    this.sequence = parts.context.getSequence();
    this.completion = new LlamaCompletion({ contextSequence: this.sequence });
    this.modelPath = parts.modelPath;
    this.names = parts.names;
    this.maxQueue = parts.maxQueue;
    this.maxPromptBytes = parts.maxPromptBytes;
    const backend = parts.llama.gpu;
    this.device = backend === false || parts.model.gpuLayers === 0 ? "cpu" : backend;
  }

  /** Loads the model once; the returned runtime reuses its context for every job. */
  static async open(options: EmbeddedRuntimeOptions = {}): Promise<EmbeddedRuntime> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new RuntimeError("RUNTIME_BAD_INPUT", `threads must be a positive integer, got ${threads}`);
    }
    const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    let modelPath = options.modelPath ?? `the tiny model in ${cacheDir}`;
    let llama: Llama | undefined;
    try {
      modelPath = options.modelPath ?? (await ensureTinyGguf(cacheDir));
      const primary =
        options.modelName ?? (options.modelPath === undefined ? TINY_MODEL_NAME : path.basename(modelPath, ".gguf"));
      const names = [...new Set([primary, ...(options.aliases ?? [])])];
      llama = await getLlama({
        build: "never",
        gpu: options.gpu ?? "auto",
        // With maxThreads equal to the context's threads, llama.cpp uses exactly that many instead of a hint.
        maxThreads: threads,
        logLevel: LOG_LEVELS[options.logLevel ?? "error"],
        progressLogs: false,
      });
      const model = await llama.loadModel({ modelPath });
      const contextSize = options.contextSize ?? Math.min(DEFAULT_CONTEXT_SIZE, model.trainContextSize);
      const context = await model.createContext({ contextSize, threads, sequences: 1 });
      return new EmbeddedRuntime({
        llama,
        model,
        context,
        modelPath,
        names,
        maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
        maxPromptBytes: options.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES,
      });
    } catch (cause) {
      await llama?.dispose().catch(() => undefined);
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new RuntimeError("RUNTIME_UNAVAILABLE", `cannot load ${modelPath} with llama.cpp: ${detail}`, { cause });
    }
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Names of the GPUs llama.cpp uses (empty on CPU), for benchmarks and health output. */
  async gpuDeviceNames(): Promise<string[]> {
    return this.device === "cpu" ? [] : this.llama.getGpuDeviceNames();
  }

  limits(): RuntimeLimits {
    return {
      contextTokens: this.context.contextSize,
      countTokens: (prompt: string) => this.tokenize(prompt).length + (this.model.tokens.shouldPrependBosToken ? 1 : 0),
    };
  }

  async info(): Promise<RuntimeInfo> {
    return { kind: "embedded", name: this.modelPath, device: this.device, models: this.names };
  }

  async run(request: RunRequest): Promise<RunResult> {
    const label = `job ${request.jobId}`;
    if (this.closing !== undefined) {
      throw new RuntimeError("RUNTIME_UNAVAILABLE", `${label}: the embedded runtime is closed`);
    }
    if (!this.names.includes(request.model)) {
      throw new RuntimeError(
        "RUNTIME_UNKNOWN_MODEL",
        `${label}: model \`${request.model}\` is not served here; this runtime serves ${this.names.join(", ")}`,
      );
    }
    const text = validateRequest(request, this.maxPromptBytes);
    const promptTokens = this.tokenize(text);
    const needed = promptTokens.length + (this.model.tokens.shouldPrependBosToken ? 1 : 0) + request.maxTokens;
    if (needed > this.context.contextSize) {
      throw new RuntimeError(
        "RUNTIME_BAD_INPUT",
        `${label}: prompt (${promptTokens.length} tokens) plus maxTokens (${request.maxTokens}) exceeds the ` +
          `context of ${this.context.contextSize} tokens`,
      );
    }
    if (this.admitted > this.maxQueue) {
      throw new RuntimeError(
        "RUNTIME_UNAVAILABLE",
        `${label}: ${this.admitted - 1} jobs already queued behind a running one; try again later`,
      );
    }

    const deadline = new Deadline({
      timeoutMs: request.timeoutMs,
      caller: request.signal,
      closed: this.lifetime.signal,
      label,
    });
    this.admitted += 1;
    let release: (() => void) | undefined;
    try {
      release = await this.acquire(deadline.signal);
      return await this.evaluate(promptTokens, request.maxTokens, deadline);
    } catch (error) {
      throw deadline.toRuntimeError(error, `${label}: llama.cpp evaluation`);
    } finally {
      this.admitted -= 1;
      deadline.dispose();
      release?.();
    }
  }

  private tokenize(text: string): Token[] {
    // Same tokenisation LlamaCompletion applies to string input, done here so the context check sees real counts.
    return this.model.tokenize(text, false, "trimLeadingSpace");
  }

  /** FIFO lock over the single sequence; waiting ends early when the job's deadline fires. */
  private acquire(signal: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.queue;
    this.queue = previous.then(() => mine);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        // Hand our turn straight through so the queue behind us is not blocked.
        void previous.then(release);
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      void previous.then(() => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) return;
        resolve(release);
      });
    });
  }

  private async evaluate(promptTokens: Token[], maxTokens: number, deadline: Deadline): Promise<RunResult> {
    // Each job starts from an empty KV cache: no prompt of another client can influence this output, and the
    // metered time is this job's full cost, not a discount earned from a previous job's prefix.
    await this.sequence.clearHistory();
    deadline.check();

    let generated = 0;
    let firstTokenAt: number | undefined;
    const startedAt = Date.now();
    const t0 = performance.now();
    const { response, metadata } = await this.completion.generateCompletionWithMeta(promptTokens, {
      maxTokens,
      signal: deadline.signal,
      temperature: 0,
      disableContextShift: true,
      onToken: (tokens) => {
        firstTokenAt ??= performance.now();
        generated += tokens.length;
      },
    });
    const t1 = performance.now();
    const completedAt = Date.now();

    const computeMs = ceilMs(t1 - t0);
    const promptMs = firstTokenAt === undefined ? computeMs : Math.min(computeMs, ceilMs(firstTokenAt - t0));
    return {
      output: response,
      tokens: { prompt: promptTokens.length + (this.model.tokens.shouldPrependBosToken ? 1 : 0), generated },
      timings: {
        startedAt,
        completedAt,
        computeMs,
        promptMs,
        generationMs: computeMs - promptMs,
        source: "measured",
      },
      device: this.device,
      finishReason: metadata.stopReason === "maxTokens" ? "length" : "stop",
    };
  }

  /** Fails queued jobs, aborts the running one, then frees the model. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifetime.abort();
      // Wait for the job in flight to observe the abort before freeing memory under it.
      await this.queue.catch(() => undefined);
      this.completion.dispose();
      await this.context.dispose();
      await this.model.dispose();
      await this.llama.dispose();
    })();
    return this.closing;
  }
}

const LOG_LEVELS = {
  error: LlamaLogLevel.error,
  warn: LlamaLogLevel.warn,
  info: LlamaLogLevel.info,
  debug: LlamaLogLevel.debug,
} as const;
