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

export interface OpenAIRuntimeOptions {
  /** The API root including `/v1`, as OpenAI clients take it. Default `http://127.0.0.1:8080/v1` (llama.cpp server). */
  readonly baseUrl?: string;
  /** Sent as `Authorization: Bearer …` (vLLM `--api-key`, llama.cpp `--api-key`). */
  readonly apiKey?: string;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly maxPromptBytes?: number;
  readonly maxResponseBytes?: number;
  /** Deadline for `info()`. */
  readonly infoTimeoutMs?: number;
}

const completionResponse = z.object({
  choices: z.array(z.object({ text: z.string(), finish_reason: z.string().nullable().optional() })).min(1),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
    })
    .optional(),
  // llama.cpp server's per-request timings (milliseconds, fractional).
  timings: z
    .object({
      prompt_ms: z.number().nonnegative(),
      predicted_ms: z.number().nonnegative(),
    })
    .optional(),
});

const modelsResponse = z.object({ data: z.array(z.object({ id: z.string() })) });

/**
 * Any OpenAI-compatible server through `POST /v1/completions` (llama.cpp server, vLLM, the relayer's own compat
 * server). Plain completion: the prompt is sent as is.
 *
 * Metering: the response's `timings.prompt_ms + timings.predicted_ms` when the server reports them (llama.cpp
 * server and the compat server do), marked `runtime`. The OpenAI schema itself has no timings (vLLM sends none);
 * then the request's wall time is metered, marked `wall` — an upper bound that includes network and queueing, so
 * operators of such servers should keep them close to the relayer.
 */
export class OpenAIRuntime implements Runtime {
  private readonly base: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly retry: RetryPolicy;
  private readonly maxPromptBytes: number;
  private readonly maxResponseBytes: number;
  private readonly infoTimeoutMs: number;
  private readonly lifetime = new AbortController();

  constructor(options: OpenAIRuntimeOptions = {}) {
    const base = options.baseUrl ?? "http://127.0.0.1:8080/v1";
    // A trailing slash makes relative resolution append to the path instead of replacing its last segment.
    this.base = new URL(base.endsWith("/") ? base : `${base}/`);
    this.headers = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
    this.retry = { retries: options.retries ?? 2, retryDelayMs: options.retryDelayMs ?? 250 };
    this.maxPromptBytes = options.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.infoTimeoutMs = options.infoTimeoutMs ?? 10_000;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const label = `job ${request.jobId} on ${this.base.href}`;
    if (this.lifetime.signal.aborted) throw new RuntimeError("RUNTIME_UNAVAILABLE", `${label}: runtime closed`);
    const prompt = validateRequest(request, this.maxPromptBytes);
    const response = await postGeneration({
      url: new URL("completions", this.base),
      body: { model: request.model, prompt, max_tokens: request.maxTokens, stream: false },
      headers: this.headers,
      timeoutMs: request.timeoutMs,
      caller: request.signal,
      closed: this.lifetime.signal,
      label,
      what: "completion request",
      maxResponseBytes: this.maxResponseBytes,
      retry: this.retry,
    });
    return this.toResult(response, label);
  }

  private toResult(response: HttpResponse, label: string): RunResult {
    if (response.status !== 200) throw errorForStatus(response, label);
    const parsed = completionResponse.safeParse(response.json);
    if (!parsed.success) {
      throw new RuntimeError("RUNTIME_FAILED", `${label}: unexpected /completions response: ${parsed.error.message}`);
    }
    const { choices, usage, timings } = parsed.data;
    const choice = choices[0];
    const metered = remoteTimings(response, timings === undefined ? undefined : { promptMs: timings.prompt_ms, generationMs: timings.predicted_ms });
    return {
      output: choice.text,
      tokens: { prompt: usage?.prompt_tokens ?? null, generated: usage?.completion_tokens ?? null },
      timings: { startedAt: response.sentAt, completedAt: response.receivedAt, ...metered },
      device: "remote",
      finishReason: choice.finish_reason === "length" ? "length" : "stop",
    };
  }

  async info(): Promise<RuntimeInfo> {
    const label = `${this.base.href}`;
    const deadline = new Deadline({ timeoutMs: this.infoTimeoutMs, closed: this.lifetime.signal, label });
    try {
      const response = await requestJson(
        new URL("models", this.base),
        { method: "GET", headers: this.headers, signal: deadline.signal, maxResponseBytes: this.maxResponseBytes },
        this.retry,
      );
      if (response.status !== 200) throw errorForStatus(response, `${label} /models`);
      const parsed = modelsResponse.safeParse(response.json);
      if (!parsed.success) throw new RuntimeError("RUNTIME_FAILED", `${label}: unexpected /models response`);
      return { kind: "openai", name: this.base.href, device: "remote", models: parsed.data.data.map((m) => m.id) };
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
