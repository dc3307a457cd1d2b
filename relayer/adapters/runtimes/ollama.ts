import { z } from "zod";

import {
  DEFAULT_MAX_RESPONSE_BYTES,
  errorForStatus,
  postGeneration,
  remoteTimings,
  requestJson,
  type HttpResponse,
  type RetryPolicy,
} from "./http.js";
import { Deadline, DEFAULT_MAX_PROMPT_BYTES, validateRequest } from "./request.js";
import { RuntimeError, type RunRequest, type RunResult, type Runtime, type RuntimeInfo } from "./types.js";

export interface OllamaRuntimeOptions {
  /** Default `http://127.0.0.1:11434`. */
  readonly baseUrl?: string;
  /**
   * Send the prompt verbatim (`raw: true`) instead of letting Ollama wrap it in the model's prompt template.
   * Default false: Ollama's template is what makes instruct models answer a plain question.
   */
  readonly raw?: boolean;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly maxPromptBytes?: number;
  readonly maxResponseBytes?: number;
  /** Deadline for `info()`. */
  readonly infoTimeoutMs?: number;
}

const NS_PER_MS = 1e6;

const generateResponse = z.object({
  response: z.string(),
  done: z.literal(true),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  prompt_eval_duration: z.number().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
  eval_duration: z.number().nonnegative().optional(),
});

const tagsResponse = z.object({ models: z.array(z.object({ name: z.string() })) });

/**
 * Ollama through `POST /api/generate`, non-streaming.
 *
 * Metering: `prompt_eval_duration + eval_duration` (nanoseconds, rounded up to ms) — the time Ollama's runner spent
 * evaluating this request's prompt and generating its tokens. Not `total_duration`: it adds `load_duration`, which
 * is seconds when Ollama had unloaded the model and zero when it had not, so charging it would bill clients for
 * the miner's cache state, and it includes queueing behind other requests. When Ollama omits `eval_duration`
 * the request's wall time is metered instead and marked `wall` (an upper bound).
 */
export class OllamaRuntime implements Runtime {
  private readonly base: URL;
  private readonly raw: boolean;
  private readonly retry: RetryPolicy;
  private readonly maxPromptBytes: number;
  private readonly maxResponseBytes: number;
  private readonly infoTimeoutMs: number;
  private readonly lifetime = new AbortController();

  constructor(options: OllamaRuntimeOptions = {}) {
    this.base = new URL(options.baseUrl ?? "http://127.0.0.1:11434");
    this.raw = options.raw ?? false;
    this.retry = { retries: options.retries ?? 2, retryDelayMs: options.retryDelayMs ?? 250 };
    this.maxPromptBytes = options.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.infoTimeoutMs = options.infoTimeoutMs ?? 10_000;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const label = `job ${request.jobId} on ollama ${this.base.origin}`;
    if (this.lifetime.signal.aborted) throw new RuntimeError("RUNTIME_UNAVAILABLE", `${label}: runtime closed`);
    const prompt = validateRequest(request, this.maxPromptBytes);
    const response = await postGeneration({
      url: new URL("api/generate", this.base),
      body: { model: request.model, prompt, stream: false, raw: this.raw, options: { num_predict: request.maxTokens } },
      timeoutMs: request.timeoutMs,
      caller: request.signal,
      closed: this.lifetime.signal,
      label,
      what: "ollama request",
      maxResponseBytes: this.maxResponseBytes,
      retry: this.retry,
    });
    return this.toResult(response, label);
  }

  private toResult(response: HttpResponse, label: string): RunResult {
    if (response.status !== 200) throw errorForStatus(response, label);
    const parsed = generateResponse.safeParse(response.json);
    if (!parsed.success) {
      throw new RuntimeError("RUNTIME_FAILED", `${label}: unexpected /api/generate response: ${parsed.error.message}`);
    }
    const body = parsed.data;
    const timings = remoteTimings(
      response,
      body.eval_duration === undefined
        ? undefined
        : { promptMs: (body.prompt_eval_duration ?? 0) / NS_PER_MS, generationMs: body.eval_duration / NS_PER_MS },
    );
    return {
      output: body.response,
      tokens: { prompt: body.prompt_eval_count ?? null, generated: body.eval_count ?? null },
      timings: { startedAt: response.sentAt, completedAt: response.receivedAt, ...timings },
      device: "remote",
      finishReason: body.done_reason === "length" ? "length" : "stop",
    };
  }

  async info(): Promise<RuntimeInfo> {
    const label = `ollama ${this.base.origin}`;
    const deadline = new Deadline({ timeoutMs: this.infoTimeoutMs, closed: this.lifetime.signal, label });
    try {
      const response = await requestJson(
        new URL("api/tags", this.base),
        { method: "GET", signal: deadline.signal, maxResponseBytes: this.maxResponseBytes },
        this.retry,
      );
      if (response.status !== 200) throw errorForStatus(response, `${label} /api/tags`);
      const parsed = tagsResponse.safeParse(response.json);
      if (!parsed.success) throw new RuntimeError("RUNTIME_FAILED", `${label}: unexpected /api/tags response`);
      return {
        kind: "ollama",
        name: this.base.origin,
        device: "remote",
        models: parsed.data.models.map((m) => m.name),
      };
    } catch (error) {
      throw deadline.toRuntimeError(error, `${label}: model listing`);
    } finally {
      deadline.dispose();
    }
  }

  /** Aborts requests in flight; they and later calls fail with `RUNTIME_UNAVAILABLE`. */
  async close(): Promise<void> {
    this.lifetime.abort();
  }
}
