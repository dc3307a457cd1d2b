import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { startCompatServer, type CompatServer } from "../../../../tools/compat-server.js";
import { EmbeddedRuntime } from "../../../../relayer/adapters/runtimes/embedded.js";
import { createRuntime, runtimeConfigSchema } from "../../../../relayer/adapters/runtimes/index.js";
import { OllamaRuntime } from "../../../../relayer/adapters/runtimes/ollama.js";
import { OpenAIRuntime } from "../../../../relayer/adapters/runtimes/openai.js";
import { measureThroughput } from "../../../../relayer/adapters/runtimes/throughput.js";
import { TINY_MODEL_NAME } from "../../../../relayer/adapters/runtimes/tiny-gguf.js";
import type { RunRequest, RunResult, Runtime } from "../../../../relayer/adapters/runtimes/types.js";
import { CLOCK_SLACK_MS, meterUnitsMilli } from "../../../../relayer/core/metering.js";
import { LONG_GENERATION, expectRuntimeError } from "../../../fixtures/relayer/runtimes.js";

type Dialect = "ollama" | "openai";

interface Stub {
  readonly url: string;
  readonly hits: () => number;
  close(): Promise<void>;
}

/** A stand-in server for answers the compat server never gives (errors, other servers' response shapes). */
async function stubServer(status: number, body: unknown): Promise<Stub> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function adapter(
  dialect: Dialect,
  origin: string,
  options: { retries?: number; retryDelayMs?: number; maxPromptBytes?: number } = {},
): Runtime {
  return dialect === "ollama"
    ? new OllamaRuntime({ baseUrl: origin, ...options })
    : new OpenAIRuntime({ baseUrl: `${origin}/v1`, ...options });
}

describe("relayer/adapters/runtimes: Ollama and OpenAI adapters against the compat server (real llama.cpp)", function () {
  let cacheDir: string;
  let embedded: EmbeddedRuntime;
  let server: CompatServer;
  /** What the embedded runtime returned for the last request the server handled. */
  let served: RunResult | undefined;

  const job = (overrides: Partial<RunRequest> = {}): RunRequest => ({
    jobId: 7n,
    model: TINY_MODEL_NAME,
    prompt: "What is a GPU-second?",
    maxTokens: 24,
    timeoutMs: 30_000,
    ...overrides,
  });

  before(async function () {
    cacheDir = await mkdtemp(path.join(tmpdir(), "aitbc-adapters-"));
    embedded = await EmbeddedRuntime.open({ cacheDir, contextSize: 2048 });
    const recording: Runtime = {
      run: async (request) => (served = await embedded.run(request)),
      info: () => embedded.info(),
      close: () => embedded.close(),
    };
    server = await startCompatServer({ runtime: recording });
  });

  after(async function () {
    await server?.close();
    await embedded?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  for (const dialect of ["ollama", "openai"] as const) {
    describe(dialect, function () {
      let runtime: Runtime;

      before(function () {
        runtime = adapter(dialect, server.url, { retries: 2, retryDelayMs: 20 });
      });

      after(async function () {
        await runtime.close();
      });

      it("lists the served models", async function () {
        const info = await runtime.info();
        expect(info.kind).to.equal(dialect);
        expect(info.device).to.equal("remote");
        expect(info.models).to.deep.equal([TINY_MODEL_NAME]);
      });

      it("returns what llama.cpp generated, with the runtime's own timings", async function () {
        const direct = await embedded.run(job());
        const result = await runtime.run(job());

        expect(result.output).to.equal(direct.output);
        expect(result.tokens).to.deep.equal(direct.tokens);
        expect(result.finishReason).to.equal("length");
        expect(result.device).to.equal("remote");

        const t = result.timings;
        expect(t.source).to.equal("runtime");
        expect(t.promptMs! + t.generationMs!).to.equal(t.computeMs);
        expect(t.computeMs).to.be.at.most(t.completedAt - t.startedAt + CLOCK_SLACK_MS);
        expect(meterUnitsMilli(t)).to.equal(BigInt(t.computeMs));
      });

      it("meters exactly what the embedded runtime measured, not the HTTP round trip", async function () {
        served = undefined;
        const result = await runtime.run(job({ maxTokens: 300 }));
        expect(served, "the request reached the embedded runtime").to.not.equal(undefined);
        const measured = served!.timings;
        expect(result.timings).to.include({
          computeMs: measured.computeMs,
          promptMs: measured.promptMs,
          generationMs: measured.generationMs,
        });
        expect(result.timings.startedAt).to.be.at.most(measured.startedAt);
        expect(result.timings.completedAt).to.be.at.least(measured.completedAt);
        expect(result.tokens.generated).to.equal(300);
      });

      it("maps an unknown model to RUNTIME_UNKNOWN_MODEL (HTTP 404)", async function () {
        const error = await expectRuntimeError(runtime.run(job({ model: "llama3.3" })), "RUNTIME_UNKNOWN_MODEL");
        expect(error.status).to.equal(404);
      });

      it("maps a prompt too long for the context to RUNTIME_BAD_INPUT (HTTP 400)", async function () {
        const error = await expectRuntimeError(runtime.run(job({ prompt: "y".repeat(3000) })), "RUNTIME_BAD_INPUT");
        expect(error.status).to.equal(400);
      });

      it("refuses invalid UTF-8 and oversized prompts before sending anything", async function () {
        await expectRuntimeError(runtime.run(job({ prompt: Uint8Array.of(0xff, 0xfe) })), "RUNTIME_BAD_INPUT");
        const small = adapter(dialect, server.url, { maxPromptBytes: 16 });
        const error = await expectRuntimeError(small.run(job({ prompt: "z".repeat(17) })), "RUNTIME_BAD_INPUT");
        expect(error.status).to.equal(undefined);
      });

      it("times out with RUNTIME_TIMEOUT", async function () {
        await expectRuntimeError(runtime.run(job({ maxTokens: LONG_GENERATION, timeoutMs: 40 })), "RUNTIME_TIMEOUT");
      });

      it("stops with RUNTIME_ABORTED when the caller's signal fires", async function () {
        const controller = new AbortController();
        const running = runtime.run(job({ maxTokens: LONG_GENERATION, signal: controller.signal }));
        setTimeout(() => controller.abort(), 30);
        await expectRuntimeError(running, "RUNTIME_ABORTED");
      });

      it("reports RUNTIME_UNAVAILABLE for a closed port, after bounded retries", async function () {
        const down = adapter(dialect, `http://127.0.0.1:${await closedPort()}`, { retries: 2, retryDelayMs: 25 });
        const t0 = performance.now();
        await expectRuntimeError(down.run(job()), "RUNTIME_UNAVAILABLE");
        // Back-off 25 + 50 ms proves both retries happened; far below the 30 s job budget proves they are bounded.
        expect(performance.now() - t0).to.be.within(75, 5_000);
        await expectRuntimeError(down.info(), "RUNTIME_UNAVAILABLE");
      });

      it("retries a refused connection and succeeds once the runtime is up", async function () {
        const port = await closedPort();
        const late = adapter(dialect, `http://127.0.0.1:${port}`, { retries: 5, retryDelayMs: 40 });
        const pending = late.run(job({ maxTokens: 4 }));
        await new Promise((resolve) => setTimeout(resolve, 60));
        const second = await startCompatServer({ runtime: embedded, port });
        try {
          expect((await pending).tokens.generated).to.equal(4);
        } finally {
          await second.close();
        }
      });

      it("does not retry once the server answered, and maps 5xx", async function () {
        const failing = await stubServer(
          500,
          dialect === "ollama" ? { error: "boom" } : { error: { message: "boom" } },
        );
        const busy = await stubServer(503, { error: "server busy" });
        try {
          const error = await expectRuntimeError(adapter(dialect, failing.url).run(job()), "RUNTIME_FAILED");
          expect(error.status).to.equal(500);
          expect(failing.hits()).to.equal(1);
          await expectRuntimeError(adapter(dialect, busy.url).run(job()), "RUNTIME_UNAVAILABLE");
        } finally {
          await failing.close();
          await busy.close();
        }
      });

      it("fails with RUNTIME_FAILED on a malformed success response", async function () {
        const garbage = await stubServer(200, "not json");
        try {
          await expectRuntimeError(adapter(dialect, garbage.url).run(job()), "RUNTIME_FAILED");
        } finally {
          await garbage.close();
        }
      });

      it("fails later calls with RUNTIME_UNAVAILABLE after close()", async function () {
        const closing = adapter(dialect, server.url);
        await closing.close();
        await expectRuntimeError(closing.run(job()), "RUNTIME_UNAVAILABLE");
      });
    });
  }

  it("openai: meters wall time, marked as such, when the server reports no timings (vLLM)", async function () {
    const vllm = await stubServer(200, {
      id: "cmpl-1",
      object: "text_completion",
      choices: [{ index: 0, text: "hi", finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
    try {
      const result = await new OpenAIRuntime({ baseUrl: `${vllm.url}/v1` }).run(job());
      expect(result.timings.source).to.equal("wall");
      expect(result.timings.promptMs).to.equal(null);
      expect(result.tokens).to.deep.equal({ prompt: 5, generated: 1 });
      expect(result.finishReason).to.equal("stop");
      expect(meterUnitsMilli(result.timings)).to.equal(BigInt(result.timings.computeMs));
    } finally {
      await vllm.close();
    }
  });

  it("ollama: meters prompt_eval_duration + eval_duration, not total_duration (which includes loading)", async function () {
    const ollama = await stubServer(200, {
      model: "llama3.2",
      response: "ok",
      done: true,
      done_reason: "stop",
      total_duration: 9_000_000_000,
      load_duration: 8_990_000_000,
      prompt_eval_count: 3,
      prompt_eval_duration: 1_500_000,
      eval_count: 2,
      eval_duration: 2_000_001,
    });
    try {
      const result = await new OllamaRuntime({ baseUrl: ollama.url }).run(job({ model: "llama3.2" }));
      expect(result.timings).to.include({ source: "runtime", computeMs: 4, promptMs: 2, generationMs: 2 });
      expect(result.tokens).to.deep.equal({ prompt: 3, generated: 2 });
    } finally {
      await ollama.close();
    }
  });

  it("createRuntime builds each kind from validated config", async function () {
    const ollama = await createRuntime(runtimeConfigSchema.parse({ kind: "ollama", baseUrl: server.url }));
    const openai = await createRuntime(runtimeConfigSchema.parse({ kind: "openai", baseUrl: `${server.url}/v1` }));
    expect((await ollama.info()).models).to.deep.equal([TINY_MODEL_NAME]);
    expect((await openai.info()).models).to.deep.equal([TINY_MODEL_NAME]);
    expect(runtimeConfigSchema.safeParse({ kind: "ollama", baseUrl: "not a url" }).success).to.equal(false);
    expect(runtimeConfigSchema.safeParse({ kind: "embedded", threads: 0 }).success).to.equal(false);
    expect(runtimeConfigSchema.safeParse({ kind: "openai", apiKey: "k", extra: 1 }).success).to.equal(false);
  });

  it("measureThroughput reports tokens/s from metered time", async function () {
    const result = await measureThroughput(embedded, { model: TINY_MODEL_NAME, maxTokens: 64, runs: 2, warmup: 1 });
    expect(result.generatedTokens).to.equal(128);
    expect(result.tokensPerSecond).to.be.greaterThan(0);
    expect(result.meteredMs).to.be.at.most(result.wallMs + 2 * CLOCK_SLACK_MS);
    expect(result.timingSource).to.equal("measured");
  });
});
