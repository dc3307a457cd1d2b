import { randomUUID } from "node:crypto";
import http from "node:http";
import { isIP, type AddressInfo } from "node:net";

import { z } from "zod";

import { AitbcError } from "../lib/errors.js";

import { RuntimeError, isRuntimeError, type RunResult, type Runtime, type RuntimeErrorCode } from "../relayer/adapters/runtimes/types.js";

/**
 * Serves a relayer runtime (normally the embedded llama.cpp one) over the two HTTP APIs local AI tools speak:
 *
 * - Ollama: `POST /api/generate` (non-streaming; `stream: true` gets one NDJSON line with the final object),
 *   `GET /api/tags`;
 * - OpenAI: `POST /v1/completions` (non-streaming), `GET /v1/models`.
 *
 * Completion is plain: prompts are not wrapped in chat templates, whatever the request's `raw`/`template` say.
 * Responses carry the runtime's timings in each API's own fields (`*_duration` in ns for Ollama, llama.cpp
 * server's `timings` block for OpenAI), so the Ollama and OpenAI runtime adapters meter exactly what the embedded
 * runtime measured.
 *
 * Binds to loopback unless `allowNonLoopback` is set: anyone who can reach the port can spend the GPU.
 */

export interface CompatServerOptions {
  readonly runtime: Runtime;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (an ephemeral port; read it from `url`). */
  readonly port?: number;
  readonly allowNonLoopback?: boolean;
  /** Request bodies above this are refused with 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Deadline per generation. Default 120 s. */
  readonly requestTimeoutMs?: number;
  /** Tokens generated when a request does not say (OpenAI's default is 16; Ollama's "unlimited" is bounded here). */
  readonly defaultMaxTokens?: number;
}

export interface CompatServer {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests, aborts generations in flight, closes connections. Does not close the runtime. */
  close(): Promise<void>;
}

export type CompatServerErrorCode = "COMPAT_SERVER_NON_LOOPBACK" | "COMPAT_SERVER_LISTEN_FAILED";

export class CompatServerError extends AitbcError {
  declare readonly code: CompatServerErrorCode;

  constructor(code: CompatServerErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const NS_PER_MS = 1_000_000;

const ollamaGenerate = z.object({
  model: z.string().min(1),
  prompt: z.string().optional(),
  stream: z.boolean().optional(),
  options: z.object({ num_predict: z.number().int().optional() }).optional(),
});

const openaiCompletion = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  max_tokens: z.number().int().positive().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  n: z.literal(1).nullable().optional(),
});

type Dialect = "ollama" | "openai";

class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

const STATUS_BY_CODE: Record<RuntimeErrorCode, number> = {
  RUNTIME_BAD_INPUT: 400,
  RUNTIME_UNKNOWN_MODEL: 404,
  RUNTIME_UNAVAILABLE: 503,
  RUNTIME_TIMEOUT: 504,
  RUNTIME_ABORTED: 503,
  RUNTIME_FAILED: 500,
};

export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith("127.");
  if (family === 6) return host === "::1" || host.toLowerCase().startsWith("::ffff:127.");
  return false;
}

export async function startCompatServer(options: CompatServerOptions): Promise<CompatServer> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && options.allowNonLoopback !== true) {
    throw new CompatServerError(
      "COMPAT_SERVER_NON_LOOPBACK",
      `refusing to bind the model server to ${host}: anyone reaching it can spend this machine's GPU; ` +
        "set allowNonLoopback to expose it deliberately (and put authentication in front)",
    );
  }
  const handler = new CompatHandler(options);
  const server = http.createServer((req, res) => {
    void handler.handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (cause) =>
      reject(
        new CompatServerError("COMPAT_SERVER_LISTEN_FAILED", `cannot listen on ${host}:${options.port ?? 0}`, cause),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        handler.shutdown();
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight handlers answer 503 right after the abort; give them a moment, then cut what is left.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return closing;
    },
  };
}

class CompatHandler {
  private readonly runtime: Runtime;
  private readonly maxBodyBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly defaultMaxTokens: number;
  private readonly lifetime = new AbortController();
  private readonly startedAt = new Date();

  constructor(options: CompatServerOptions) {
    this.runtime = options.runtime;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.defaultMaxTokens = options.defaultMaxTokens ?? 128;
  }

  shutdown(): void {
    this.lifetime.abort();
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    const dialect: Dialect = path.startsWith("/v1/") ? "openai" : "ollama";
    // A client that hangs up should not keep the model busy with an answer nobody will read.
    const gone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const route = `${req.method ?? "GET"} ${path}`;
      switch (route) {
        case "POST /api/generate":
          return await this.ollamaGenerate(req, res, gone.signal);
        case "GET /api/tags":
          return await this.ollamaTags(res);
        case "POST /v1/completions":
          return await this.openaiCompletions(req, res, gone.signal);
        case "GET /v1/models":
          return await this.openaiModels(res);
        default:
          if (["/api/generate", "/api/tags", "/v1/completions", "/v1/models"].includes(path)) {
            throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed on ${path}`);
          }
          throw new HttpError(404, "not_found", `no route ${path}`);
      }
    } catch (error) {
      if (res.headersSent || gone.signal.aborted) {
        res.destroy();
        return;
      }
      this.sendError(res, dialect, error);
    }
  }

  private async ollamaGenerate(req: http.IncomingMessage, res: http.ServerResponse, gone: AbortSignal): Promise<void> {
    const body = parseBody(ollamaGenerate, await this.readJson(req));
    const numPredict = body.options?.num_predict;
    if (numPredict === 0) throw new HttpError(400, "invalid_request_error", "options.num_predict must not be 0");
    // Ollama reads a negative num_predict as "until the context is full"; here it means the server's default.
    const maxTokens = numPredict === undefined || numPredict < 0 ? this.defaultMaxTokens : numPredict;
    const stream = body.stream ?? true;
    const createdAt = new Date().toISOString();

    // Ollama answers an empty prompt by just loading the model; the model here is always loaded.
    if (body.prompt === undefined || body.prompt === "") {
      await this.requireModel(body.model);
      return sendOllama(res, stream, {
        model: body.model,
        created_at: createdAt,
        response: "",
        done: true,
        done_reason: "load",
      });
    }

    const result = await this.generate(body.model, body.prompt, maxTokens, gone);
    const t = result.timings;
    const promptMs = t.promptMs ?? 0;
    const generationMs = t.generationMs ?? t.computeMs - promptMs;
    const totalMs = Math.max(t.completedAt - t.startedAt, t.computeMs);
    sendOllama(res, stream, {
      model: body.model,
      created_at: createdAt,
      response: result.output,
      done: true,
      done_reason: result.finishReason,
      total_duration: totalMs * NS_PER_MS,
      load_duration: 0,
      prompt_eval_count: result.tokens.prompt ?? undefined,
      prompt_eval_duration: promptMs * NS_PER_MS,
      eval_count: result.tokens.generated ?? undefined,
      eval_duration: generationMs * NS_PER_MS,
    });
  }

  private async ollamaTags(res: http.ServerResponse): Promise<void> {
    const info = await this.runtime.info();
    sendJson(res, 200, {
      models: info.models.map((name) => ({
        name,
        model: name,
        modified_at: this.startedAt.toISOString(),
        details: { format: "gguf" },
      })),
    });
  }

  private async openaiCompletions(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    gone: AbortSignal,
  ): Promise<void> {
    const body = parseBody(openaiCompletion, await this.readJson(req));
    if (body.stream === true) {
      throw new HttpError(400, "invalid_request_error", "streaming is not supported by this server; omit `stream`");
    }
    const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0];
    const result = await this.generate(body.model, prompt, body.max_tokens ?? this.defaultMaxTokens, gone);
    const t = result.timings;
    const promptMs = t.promptMs ?? 0;
    const generationMs = t.generationMs ?? t.computeMs - promptMs;
    const promptTokens = result.tokens.prompt ?? 0;
    const generatedTokens = result.tokens.generated ?? 0;
    sendJson(res, 200, {
      id: `cmpl-${randomUUID()}`,
      object: "text_completion",
      created: Math.floor(t.completedAt / 1000),
      model: body.model,
      choices: [{ index: 0, text: result.output, logprobs: null, finish_reason: result.finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: generatedTokens,
        total_tokens: promptTokens + generatedTokens,
      },
      timings: {
        prompt_n: promptTokens,
        prompt_ms: promptMs,
        predicted_n: generatedTokens,
        predicted_ms: generationMs,
      },
    });
  }

  private async openaiModels(res: http.ServerResponse): Promise<void> {
    const info = await this.runtime.info();
    const created = Math.floor(this.startedAt.getTime() / 1000);
    sendJson(res, 200, {
      object: "list",
      data: info.models.map((id) => ({ id, object: "model", created, owned_by: "aitbc-relayer" })),
    });
  }

  private async generate(model: string, prompt: string, maxTokens: number, gone: AbortSignal): Promise<RunResult> {
    return this.runtime.run({
      jobId: `http-${randomUUID()}`,
      model,
      prompt,
      maxTokens,
      timeoutMs: this.requestTimeoutMs,
      signal: AbortSignal.any([gone, this.lifetime.signal]),
    });
  }

  private async requireModel(model: string): Promise<void> {
    const { models } = await this.runtime.info();
    if (!models.includes(model)) {
      throw new RuntimeError(
        "RUNTIME_UNKNOWN_MODEL",
        `model \`${model}\` is not served here; try ${models.join(", ")}`,
      );
    }
  }

  private async readJson(req: http.IncomingMessage): Promise<unknown> {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > this.maxBodyBytes) {
      throw new HttpError(413, "invalid_request_error", `request body over ${this.maxBodyBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        throw new HttpError(413, "invalid_request_error", `request body over ${this.maxBodyBytes} bytes`);
      }
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new HttpError(400, "invalid_request_error", "request body is not valid UTF-8");
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, "invalid_request_error", "request body is not valid JSON");
    }
  }

  private sendError(res: http.ServerResponse, dialect: Dialect, error: unknown): void {
    let status = 500;
    let type = "server_error";
    let message = "internal error";
    if (error instanceof HttpError) {
      ({ status, type, message } = error);
    } else if (isRuntimeError(error)) {
      status = STATUS_BY_CODE[error.code];
      type = error.code.toLowerCase();
      message = error.message;
    }
    if (dialect === "ollama") sendJson(res, status, { error: message });
    else sendJson(res, status, { error: { message, type, code: status } });
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new HttpError(400, "invalid_request_error", `invalid ${where}: ${issue.message}`);
  }
  return parsed.data;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": payload.length });
  res.end(payload);
}

function sendOllama(res: http.ServerResponse, stream: boolean, body: Record<string, unknown>): void {
  if (!stream) {
    sendJson(res, 200, body);
    return;
  }
  const payload = Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
  res.writeHead(200, { "content-type": "application/x-ndjson", "content-length": payload.length });
  res.end(payload);
}
