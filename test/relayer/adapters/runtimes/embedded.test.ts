import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { EmbeddedRuntime, defaultThreads } from "../../../../relayer/adapters/runtimes/embedded.js";
import { TINY_MODEL_NAME } from "../../../../relayer/adapters/runtimes/tiny-gguf.js";
import type { RunRequest } from "../../../../relayer/adapters/runtimes/types.js";
import { meterUnitsMilli } from "../../../../relayer/core/metering.js";
import { LONG_GENERATION, expectRuntimeError } from "../../../fixtures/relayer/runtimes.js";

describe("relayer/adapters/runtimes: embedded llama.cpp", function () {
  let cacheDir: string;
  let runtime: EmbeddedRuntime;

  const job = (overrides: Partial<RunRequest> = {}): RunRequest => ({
    jobId: 1n,
    model: TINY_MODEL_NAME,
    prompt: "Explain GPU metering in one line.",
    maxTokens: 32,
    timeoutMs: 30_000,
    ...overrides,
  });

  before(async function () {
    cacheDir = await mkdtemp(path.join(tmpdir(), "aitbc-embedded-"));
    runtime = await EmbeddedRuntime.open({ cacheDir, aliases: ["llama3.2"], contextSize: 2048 });
  });

  after(async function () {
    await runtime?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("loads the generated tiny model and reports what it serves", async function () {
    const info = await runtime.info();
    expect(info.kind).to.equal("embedded");
    expect(info.device).to.equal("cpu");
    expect(info.models).to.deep.equal([TINY_MODEL_NAME, "llama3.2"]);
    expect(info.name).to.match(/tiny-random-[0-9a-f]+\.gguf$/);
    expect(runtime.contextSize).to.equal(2048);
  });

  it("runs real inference and returns exactly maxTokens tokens with timings", async function () {
    const before = Date.now();
    const result = await runtime.run(job({ maxTokens: 48 }));
    const after = Date.now();

    expect(result.output).to.be.a("string").and.not.equal("");
    expect(result.output).to.match(/^[\x20-\x7e]+$/);
    expect(result.tokens.generated).to.equal(48);
    expect(result.finishReason).to.equal("length");
    // BOS + one token per character: the tiny vocabulary has no merges besides the space piece.
    expect(result.tokens.prompt).to.equal(1 + "Explain GPU metering in one line.".length);
    expect(result.device).to.equal("cpu");

    const t = result.timings;
    expect(t.source).to.equal("measured");
    expect(Number.isSafeInteger(t.computeMs)).to.equal(true);
    expect(t.computeMs).to.be.greaterThan(0);
    expect(t.startedAt).to.be.within(before, after);
    expect(t.completedAt).to.be.within(t.startedAt, after);
    expect(t.promptMs! + t.generationMs!).to.equal(t.computeMs);
    expect(meterUnitsMilli(t)).to.equal(BigInt(t.computeMs));
  });

  it("is deterministic: the same prompt gives the same output, from a clean context each time", async function () {
    const a = await runtime.run(job({ prompt: "same prompt", maxTokens: 40 }));
    await runtime.run(job({ prompt: "an unrelated job in between", maxTokens: 40 }));
    const b = await runtime.run(job({ prompt: new TextEncoder().encode("same prompt"), maxTokens: 40 }));
    expect(b.output).to.equal(a.output);
    expect(b.tokens).to.deep.equal(a.tokens);
  });

  it("answers to its aliases", async function () {
    const result = await runtime.run(job({ model: "llama3.2", maxTokens: 4 }));
    expect(result.tokens.generated).to.equal(4);
  });

  it("serialises jobs: concurrent jobs' evaluation intervals never overlap", async function () {
    const results = await Promise.all([1, 2, 3].map((i) => runtime.run(job({ jobId: i, maxTokens: 200 }))));
    const intervals = results.map((r) => r.timings).sort((x, y) => x.startedAt - y.startedAt);
    for (let i = 1; i < intervals.length; i++) {
      expect(intervals[i].startedAt).to.be.at.least(intervals[i - 1].completedAt);
    }
  });

  it("times out with RUNTIME_TIMEOUT and stays usable", async function () {
    await expectRuntimeError(runtime.run(job({ maxTokens: LONG_GENERATION, timeoutMs: 30 })), "RUNTIME_TIMEOUT");
    const next = await runtime.run(job({ maxTokens: 8 }));
    expect(next.tokens.generated).to.equal(8);
  });

  it("times out a job still waiting behind another", async function () {
    const first = runtime.run(job({ jobId: "first", maxTokens: LONG_GENERATION }));
    await expectRuntimeError(runtime.run(job({ jobId: "queued", maxTokens: 8, timeoutMs: 20 })), "RUNTIME_TIMEOUT");
    expect((await first).tokens.generated).to.equal(LONG_GENERATION);
  });

  it("stops with RUNTIME_ABORTED when the caller's signal fires", async function () {
    const controller = new AbortController();
    const running = runtime.run(job({ maxTokens: LONG_GENERATION, signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await expectRuntimeError(running, "RUNTIME_ABORTED");
  });

  it("refuses invalid UTF-8 prompt bytes and lone surrogates with RUNTIME_BAD_INPUT", async function () {
    await expectRuntimeError(runtime.run(job({ prompt: Uint8Array.of(0x68, 0xc3, 0x28) })), "RUNTIME_BAD_INPUT");
    await expectRuntimeError(runtime.run(job({ prompt: Uint8Array.of(0xed, 0xa0, 0x80) })), "RUNTIME_BAD_INPUT");
    await expectRuntimeError(runtime.run(job({ prompt: "ab\ud800cd" })), "RUNTIME_BAD_INPUT");
  });

  it("refuses a prompt that does not fit the context with RUNTIME_BAD_INPUT", async function () {
    await expectRuntimeError(runtime.run(job({ prompt: "x".repeat(2100), maxTokens: 1 })), "RUNTIME_BAD_INPUT");
    // Fits alone, but not together with the requested generation.
    await expectRuntimeError(runtime.run(job({ prompt: "x".repeat(1000), maxTokens: 1100 })), "RUNTIME_BAD_INPUT");
  });

  it("refuses bad maxTokens and timeoutMs with RUNTIME_BAD_INPUT", async function () {
    await expectRuntimeError(runtime.run(job({ maxTokens: 0 })), "RUNTIME_BAD_INPUT");
    await expectRuntimeError(runtime.run(job({ maxTokens: 1.5 })), "RUNTIME_BAD_INPUT");
    await expectRuntimeError(runtime.run(job({ timeoutMs: 0 })), "RUNTIME_BAD_INPUT");
  });

  it("refuses a model it does not serve with RUNTIME_UNKNOWN_MODEL", async function () {
    await expectRuntimeError(runtime.run(job({ model: "llama3.3" })), "RUNTIME_UNKNOWN_MODEL");
  });

  it("defaults to 1 thread on machines with at most 2 cores, 2 otherwise", function () {
    expect([1, 2, 3, 64].map((cpus) => defaultThreads(cpus))).to.deep.equal([1, 1, 2, 2]);
  });

  it("fails to open with RUNTIME_UNAVAILABLE for a missing model file, RUNTIME_BAD_INPUT for bad threads", async function () {
    await expectRuntimeError(
      EmbeddedRuntime.open({ modelPath: path.join(cacheDir, "missing.gguf") }),
      "RUNTIME_UNAVAILABLE",
    );
    await expectRuntimeError(EmbeddedRuntime.open({ cacheDir, threads: 0 }), "RUNTIME_BAD_INPUT");
  });

  describe("bounded queue and close", function () {
    let small: EmbeddedRuntime;

    before(async function () {
      small = await EmbeddedRuntime.open({ cacheDir, maxQueue: 1, contextSize: 2048, threads: 1 });
    });

    after(async function () {
      await small?.close();
    });

    it("fails fast with RUNTIME_UNAVAILABLE beyond maxQueue waiting jobs", async function () {
      const running = small.run(job({ jobId: "running", maxTokens: 300 }));
      const queued = small.run(job({ jobId: "queued", maxTokens: 4 }));
      await expectRuntimeError(small.run(job({ jobId: "overflow", maxTokens: 4 })), "RUNTIME_UNAVAILABLE");
      expect((await running).tokens.generated).to.equal(300);
      expect((await queued).tokens.generated).to.equal(4);
    });

    it("close() fails the job in flight and later jobs with RUNTIME_UNAVAILABLE", async function () {
      const running = small.run(job({ maxTokens: LONG_GENERATION }));
      const failed = expectRuntimeError(running, "RUNTIME_UNAVAILABLE");
      await new Promise((resolve) => setTimeout(resolve, 20));
      await small.close();
      await failed;
      await expectRuntimeError(small.run(job()), "RUNTIME_UNAVAILABLE");
      await small.close();
    });
  });
});
