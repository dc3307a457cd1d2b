import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import {
  CompatServerError,
  isLoopbackHost,
  startCompatServer,
  type CompatServer,
} from "../../tools/compat-server.js";
import { EmbeddedRuntime } from "../../relayer/adapters/runtimes/embedded.js";
import type { Runtime } from "../../relayer/adapters/runtimes/types.js";
import { TINY_MODEL_NAME } from "../../relayer/adapters/runtimes/tiny-gguf.js";
import { LONG_GENERATION, expectRuntimeError } from "../fixtures/relayer/runtimes.js";

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: any;
}

function send(url: string, method: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: body === undefined ? {} : { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"]), text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const post = (url: string, body: unknown): Promise<Reply> => send(url, "POST", JSON.stringify(body));

describe("tools/compat-server (Ollama + OpenAI APIs over embedded llama.cpp)", function () {
  let cacheDir: string;
  let runtime: EmbeddedRuntime;
  let server: CompatServer;
  /** Every generation the server started, as the runtime settled it. */
  const started: Promise<unknown>[] = [];

  before(async function () {
    cacheDir = await mkdtemp(path.join(tmpdir(), "aitbc-compat-"));
    runtime = await EmbeddedRuntime.open({ cacheDir, contextSize: 2048 });
    const recording: Runtime = {
      run: (request) => {
        const run = runtime.run(request);
        started.push(run);
        return run;
      },
      info: () => runtime.info(),
      close: () => runtime.close(),
    };
    server = await startCompatServer({ runtime: recording, maxBodyBytes: 64 * 1024, defaultMaxTokens: 12 });
  });

  after(async function () {
    await server?.close();
    await runtime?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  describe("binding", function () {
    it("knows loopback hosts", function () {
      for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"]) {
        expect(isLoopbackHost(host), host).to.equal(true);
      }
      for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "example.com", "128.0.0.1"]) {
        expect(isLoopbackHost(host), host).to.equal(false);
      }
    });

    it("refuses a non-loopback address unless told to expose it", async function () {
      try {
        await startCompatServer({ runtime, host: "0.0.0.0" });
        expect.fail("bound to 0.0.0.0");
      } catch (error) {
        expect(error).to.be.instanceOf(CompatServerError);
        expect((error as CompatServerError).code).to.equal("COMPAT_SERVER_NON_LOOPBACK");
      }
    });

    it("reports a port already in use", async function () {
      try {
        await startCompatServer({ runtime, port: server.port });
        expect.fail("bound twice");
      } catch (error) {
        expect((error as CompatServerError).code).to.equal("COMPAT_SERVER_LISTEN_FAILED");
      }
    });

    it("listens on loopback by default", function () {
      expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    });
  });

  describe("Ollama API", function () {
    it("GET /api/tags lists the model", async function () {
      const reply = await send(`${server.url}/api/tags`, "GET");
      expect(reply.status).to.equal(200);
      expect(reply.json.models.map((m: { name: string }) => m.name)).to.deep.equal([TINY_MODEL_NAME]);
    });

    it("POST /api/generate (stream: false) returns the completion and nanosecond durations", async function () {
      const reply = await post(`${server.url}/api/generate`, {
        model: TINY_MODEL_NAME,
        prompt: "hello",
        stream: false,
        options: { num_predict: 10 },
      });
      expect(reply.status).to.equal(200);
      const body = reply.json;
      expect(body).to.include({
        model: TINY_MODEL_NAME,
        done: true,
        done_reason: "length",
        eval_count: 10,
        load_duration: 0,
      });
      expect(body.prompt_eval_count).to.equal(1 + "hello".length);
      expect(body.response).to.be.a("string").with.length.greaterThan(0);
      expect(body.eval_duration % 1_000_000).to.equal(0);
      expect(body.total_duration).to.be.at.least(body.prompt_eval_duration + body.eval_duration);
    });

    it("streams by default, as one NDJSON line holding the final object", async function () {
      const reply = await post(`${server.url}/api/generate`, { model: TINY_MODEL_NAME, prompt: "hello" });
      expect(reply.status).to.equal(200);
      expect(reply.contentType).to.equal("application/x-ndjson");
      const lines = reply.text.trimEnd().split("\n");
      expect(lines).to.have.length(1);
      expect(JSON.parse(lines[0])).to.include({ done: true, eval_count: 12 });
    });

    it("answers an empty prompt like Ollama does (model load), without generating", async function () {
      const reply = await post(`${server.url}/api/generate`, { model: TINY_MODEL_NAME, stream: false });
      expect(reply.json).to.include({ response: "", done: true, done_reason: "load" });
      const unknown = await post(`${server.url}/api/generate`, { model: "nope", stream: false });
      expect(unknown.status).to.equal(404);
    });

    it("uses the default budget for a negative num_predict and refuses 0", async function () {
      const unbounded = await post(`${server.url}/api/generate`, {
        model: TINY_MODEL_NAME,
        prompt: "x",
        stream: false,
        options: { num_predict: -1 },
      });
      expect(unbounded.json.eval_count).to.equal(12);
      const zero = await post(`${server.url}/api/generate`, {
        model: TINY_MODEL_NAME,
        prompt: "x",
        stream: false,
        options: { num_predict: 0 },
      });
      expect(zero.status).to.equal(400);
      expect(zero.json.error).to.be.a("string");
    });

    it("answers errors in Ollama's shape with the right status", async function () {
      const unknown = await post(`${server.url}/api/generate`, { model: "llama3.3", prompt: "x", stream: false });
      expect(unknown.status).to.equal(404);
      expect(unknown.json.error).to.be.a("string");
      const tooLong = await post(`${server.url}/api/generate`, {
        model: TINY_MODEL_NAME,
        prompt: "y".repeat(3000),
        stream: false,
      });
      expect(tooLong.status).to.equal(400);
      const noModel = await post(`${server.url}/api/generate`, { prompt: "x" });
      expect(noModel.status).to.equal(400);
    });
  });

  describe("OpenAI API", function () {
    it("GET /v1/models lists the model", async function () {
      const reply = await send(`${server.url}/v1/models`, "GET");
      expect(reply.status).to.equal(200);
      expect(reply.json.object).to.equal("list");
      expect(reply.json.data.map((m: { id: string }) => m.id)).to.deep.equal([TINY_MODEL_NAME]);
    });

    it("POST /v1/completions returns choices, usage and llama.cpp-style timings", async function () {
      const reply = await post(`${server.url}/v1/completions`, {
        model: TINY_MODEL_NAME,
        prompt: ["hello"],
        max_tokens: 9,
      });
      expect(reply.status).to.equal(200);
      const body = reply.json;
      expect(body.object).to.equal("text_completion");
      expect(body.id).to.match(/^cmpl-/);
      expect(body.choices).to.have.length(1);
      expect(body.choices[0]).to.include({ index: 0, finish_reason: "length" });
      expect(body.usage).to.deep.equal({ prompt_tokens: 6, completion_tokens: 9, total_tokens: 15 });
      expect(body.timings).to.include({ prompt_n: 6, predicted_n: 9 });
      expect(body.timings.prompt_ms + body.timings.predicted_ms).to.be.greaterThan(0);
    });

    it("defaults max_tokens and refuses streaming, with OpenAI-shaped errors", async function () {
      const reply = await post(`${server.url}/v1/completions`, { model: TINY_MODEL_NAME, prompt: "hello" });
      expect(reply.json.usage.completion_tokens).to.equal(12);
      const stream = await post(`${server.url}/v1/completions`, { model: TINY_MODEL_NAME, prompt: "x", stream: true });
      expect(stream.status).to.equal(400);
      expect(stream.json.error).to.include({ type: "invalid_request_error", code: 400 });
      const unknown = await post(`${server.url}/v1/completions`, { model: "gpt-4", prompt: "x" });
      expect(unknown.status).to.equal(404);
      expect(unknown.json.error.type).to.equal("runtime_unknown_model");
      const batch = await post(`${server.url}/v1/completions`, { model: TINY_MODEL_NAME, prompt: ["a", "b"] });
      expect(batch.status).to.equal(400);
    });
  });

  describe("HTTP hygiene", function () {
    it("404 for unknown routes, 405 for wrong methods", async function () {
      expect((await send(`${server.url}/api/chat`, "POST", "{}")).status).to.equal(404);
      expect((await send(`${server.url}/v1/completions`, "GET")).status).to.equal(405);
      expect((await send(`${server.url}/api/tags`, "DELETE")).status).to.equal(405);
    });

    it("400 for bodies that are not JSON or not UTF-8, 413 for oversized bodies", async function () {
      expect((await send(`${server.url}/v1/completions`, "POST", "{not json")).status).to.equal(400);
      expect((await send(`${server.url}/v1/completions`, "POST", Buffer.from([0x7b, 0xff, 0x7d]))).status).to.equal(
        400,
      );
      const huge = JSON.stringify({ model: TINY_MODEL_NAME, prompt: "x".repeat(70 * 1024) });
      expect((await send(`${server.url}/v1/completions`, "POST", huge)).status).to.equal(413);
    });

    it("stops generating when the client hangs up", async function () {
      const before = started.length;
      const req = http.request(`${server.url}/api/generate`, { method: "POST" });
      req.on("error", () => undefined);
      req.end(
        JSON.stringify({
          model: TINY_MODEL_NAME,
          prompt: "x",
          stream: false,
          options: { num_predict: LONG_GENERATION },
        }),
      );
      while (started.length === before) await new Promise((resolve) => setTimeout(resolve, 5));
      req.destroy();
      // Had the abandoned generation kept running, it would have finished with all its tokens instead.
      await expectRuntimeError(started[before], "RUNTIME_ABORTED");
    });
  });
});
