import type { Runtime, RuntimeDevice, TimingSource } from "./types.js";

export interface ThroughputOptions {
  readonly model: string;
  readonly prompt?: string;
  readonly maxTokens?: number;
  /** Measured runs. */
  readonly runs?: number;
  /** Unmeasured runs first (page faults, thread pools and caches warm up). */
  readonly warmup?: number;
  readonly timeoutMs?: number;
}

export interface ThroughputResult {
  readonly runs: number;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** Generated tokens per metered second (what a job is billed against). */
  readonly tokensPerSecond: number;
  /** Sum of the runtime's `computeMs` over the runs: what would be billed. */
  readonly meteredMs: number;
  /** Sum of each `run` call's duration seen by the caller. */
  readonly wallMs: number;
  /** meteredMs / wallMs: how much of the caller-observed time is billed (≤ 1 for honest metering). */
  readonly meteredToWall: number;
  readonly device: RuntimeDevice;
  readonly timingSource: TimingSource;
}

const DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog. Summarise this sentence in one word:";

/**
 * Generation throughput of a runtime, from its own metered timings. Shared by `bench/runtime.ts` and any benchmark
 * that needs tokens/s of the runtime a relayer is configured with.
 */
export async function measureThroughput(runtime: Runtime, options: ThroughputOptions): Promise<ThroughputResult> {
  const runs = options.runs ?? 5;
  const warmup = options.warmup ?? 1;
  const request = {
    model: options.model,
    prompt: options.prompt ?? DEFAULT_PROMPT,
    maxTokens: options.maxTokens ?? 128,
    timeoutMs: options.timeoutMs ?? 120_000,
  };
  for (let i = 0; i < warmup; i++) await runtime.run({ ...request, jobId: `warmup-${i}` });

  let promptTokens = 0;
  let generatedTokens = 0;
  let meteredMs = 0;
  let wallMs = 0;
  let device: RuntimeDevice = "cpu";
  let timingSource: TimingSource = "wall";
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const result = await runtime.run({ ...request, jobId: `bench-${i}` });
    wallMs += performance.now() - t0;
    meteredMs += result.timings.computeMs;
    promptTokens += result.tokens.prompt ?? 0;
    generatedTokens += result.tokens.generated ?? 0;
    device = result.device;
    timingSource = result.timings.source;
  }
  return {
    runs,
    promptTokens,
    generatedTokens,
    tokensPerSecond: meteredMs > 0 ? (generatedTokens * 1000) / meteredMs : 0,
    meteredMs,
    wallMs,
    meteredToWall: wallMs > 0 ? meteredMs / wallMs : 0,
    device,
    timingSource,
  };
}
