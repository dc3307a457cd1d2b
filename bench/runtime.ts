/**
 * Embedded runtime benchmark: tokens/s of llama.cpp on this machine, and how metered GPU-seconds compare with the
 * wall time a caller sees.
 *
 *   npm run bench:runtime                                   # tiny generated model, 1 and 2 threads
 *   AITBC_GGUF=/models/llama-3.2-1b-q4_k_m.gguf npm run bench:runtime   # also a real model
 *
 * Environment:
 *   AITBC_GGUF          a real GGUF to benchmark besides the tiny model
 *   AITBC_BENCH_GPU     auto (default) | cuda | vulkan | metal | false — a named backend fails instead of falling back
 *   AITBC_BENCH_OUT     output file (default bench/results/runtime.json)
 *   AITBC_BENCH_TOKENS  tokens generated per run (default 256 for the tiny model, 128 for AITBC_GGUF)
 *   AITBC_BENCH_RUNS    measured runs per configuration (default 5)
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import path from "node:path";

import { getModuleVersion } from "node-llama-cpp";

import { EmbeddedRuntime, type EmbeddedGpu } from "../relayer/adapters/runtimes/embedded.js";
import { measureThroughput } from "../relayer/adapters/runtimes/throughput.js";
import type { RuntimeDevice } from "../relayer/adapters/runtimes/types.js";

interface Row {
  readonly model: string;
  readonly model_file: string;
  readonly threads: number;
  readonly device: RuntimeDevice;
  readonly max_tokens: number;
  readonly runs: number;
  readonly generated_tokens: number;
  /** Generated tokens per metered second. */
  readonly tokens_per_s: number;
  /** Prompt tokens per second of prompt evaluation, from a long-prompt run. */
  readonly prompt_tokens_per_s: number;
  readonly metered_ms: number;
  readonly wall_ms: number;
  /** metered GPU-seconds / wall seconds seen by the caller (≤ 1: only compute is billed). */
  readonly metered_to_wall: number;
}

const LONG_PROMPT = "Receipts bind metered GPU time to a signed result. ".repeat(10);

function parseGpu(value: string | undefined): EmbeddedGpu {
  switch (value ?? "auto") {
    case "auto":
      return "auto";
    case "false":
    case "cpu":
      return false;
    case "cuda":
    case "vulkan":
    case "metal":
      return value as EmbeddedGpu;
    default:
      throw new Error(`AITBC_BENCH_GPU must be auto, cuda, vulkan, metal or false, got ${value}`);
  }
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

async function benchModel(options: {
  modelPath?: string;
  threads: number;
  gpu: EmbeddedGpu;
  maxTokens: number;
  runs: number;
}): Promise<{ row: Row; gpuNames: string[] }> {
  const runtime = await EmbeddedRuntime.open({
    modelPath: options.modelPath,
    threads: options.threads,
    gpu: options.gpu,
    contextSize: 2048,
  });
  try {
    const info = await runtime.info();
    const model = info.models[0];
    const throughput = await measureThroughput(runtime, {
      model,
      maxTokens: options.maxTokens,
      runs: options.runs,
      warmup: 1,
    });
    const prompt = await runtime.run({ jobId: "prompt", model, prompt: LONG_PROMPT, maxTokens: 1, timeoutMs: 600_000 });
    const promptMs = prompt.timings.promptMs ?? prompt.timings.computeMs;
    const row: Row = {
      model,
      model_file: path.basename(info.name),
      threads: options.threads,
      device: throughput.device,
      max_tokens: options.maxTokens,
      runs: throughput.runs,
      generated_tokens: throughput.generatedTokens,
      tokens_per_s: round(throughput.tokensPerSecond, 1),
      prompt_tokens_per_s: round(((prompt.tokens.prompt ?? 0) * 1000) / Math.max(promptMs, 1), 1),
      metered_ms: throughput.meteredMs,
      wall_ms: round(throughput.wallMs, 1),
      metered_to_wall: round(throughput.meteredToWall, 4),
    };
    return { row, gpuNames: await runtime.gpuDeviceNames() };
  } finally {
    await runtime.close();
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function printTable(rows: readonly Row[]): void {
  const header = ["model", "threads", "device", "tok/s", "prompt tok/s", "metered ms", "wall ms", "metered/wall"];
  const lines = rows.map((r) => [
    r.model,
    String(r.threads),
    r.device,
    r.tokens_per_s.toFixed(1),
    r.prompt_tokens_per_s.toFixed(1),
    String(r.metered_ms),
    r.wall_ms.toFixed(1),
    r.metered_to_wall.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const gpu = parseGpu(process.env.AITBC_BENCH_GPU);
  const runs = positiveInt("AITBC_BENCH_RUNS", 5);
  const out = process.env.AITBC_BENCH_OUT ?? path.join("bench", "results", "runtime.json");
  const realModel = process.env.AITBC_GGUF;

  const rows: Row[] = [];
  let gpuNames: string[] = [];
  const configs: { modelPath?: string; maxTokens: number }[] = [
    { maxTokens: positiveInt("AITBC_BENCH_TOKENS", 256) },
    ...(realModel === undefined ? [] : [{ modelPath: realModel, maxTokens: positiveInt("AITBC_BENCH_TOKENS", 128) }]),
  ];
  for (const config of configs) {
    for (const threads of [1, 2]) {
      const result = await benchModel({ ...config, threads, gpu, runs });
      rows.push(result.row);
      if (result.gpuNames.length > 0) gpuNames = result.gpuNames;
    }
  }

  const report = {
    benchmark: "runtime",
    generated_at: new Date().toISOString(),
    node_llama_cpp_version: await getModuleVersion(),
    node_version: process.version,
    cpu_model: cpus()[0]?.model ?? "unknown",
    cpu_count: cpus().length,
    memory_gib: round(totalmem() / 2 ** 30, 1),
    gpu_requested: gpu,
    runtime_device: rows[0].device,
    gpu_devices: gpuNames,
    metering: "GPU-seconds = computeMs / 1000; embedded computeMs is measured around llama.cpp evaluation only",
    results: rows,
  };

  printTable(rows);
  await mkdir(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp`;
  await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
  await rename(tmp, out);
  console.log(
    `\nruntime_device=${report.runtime_device}  node-llama-cpp ${report.node_llama_cpp_version}  ${report.cpu_model}`,
  );
  console.log(`wrote ${out}`);
}

await main();
