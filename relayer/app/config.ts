import { readFileSync } from "node:fs";
import path from "node:path";

import { z } from "zod";

import { RelayerError } from "../core/errors.js";
import { runtimeConfigSchema } from "../adapters/runtimes/index.js";
import { isLocalChain } from "../../lib/sdk/deployment.js";

/**
 * The relayer's configuration: one document, validated once at start. Values come from (later wins) the defaults,
 * an optional JSON file, environment variables and command-line flags; {@link loadRelayerConfig} merges them and
 * reports every bad field in one error.
 *
 * Amounts (rates, prices, gas) are decimal strings because they exceed 2^53; durations are in the unit their name says.
 */

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, "a non-negative integer as a decimal string");
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const modelPolicySchema = z.strictObject({
  /** Lowest rate (base units per unit) worth taking. */
  minRate: decimal.default("0"),
  /** Largest job (milli-units) this machine runs for the model. */
  maxUnitsMilli: decimal.default("600000"),
  /** Name the runtime serves the model under, when it differs from the on-chain name (e.g. an Ollama tag). */
  runtimeModel: z.string().min(1).optional(),
});

/** The relayer API's default port (the devnet chain is on 8545, the dashboard on 8787). */
export const DEFAULT_RELAYER_PORT = 8788;

export const relayerConfigSchema = z.strictObject({
  /** Name of the Hardhat network; selects `deployments/<network>.json` and the journal file name. */
  network: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, `_` and `-` only"),
  rpcUrl: z.url(),
  /** When set, the node and the deployment file must both report it. */
  chainId: positiveInt.optional(),
  /** Defaults to `deployments/<network>.json`. */
  deploymentFile: z.string().min(1).optional(),
  /**
   * The provider's EVM account. Exactly one of: `devAccountIndex` (local chains only: an account of the
   * well-known development mnemonic that `hardhat node` funds), or a private key passed through the environment
   * (`AITBC_RELAYER_PRIVATE_KEY`) or by `miner:start` from Hardhat's keystore. A key is never read from the file.
   */
  evm: z
    .strictObject({
      devAccountIndex: nonNegativeInt.max(1000).optional(),
    })
    .prefault({}),
  /**
   * File holding the provider's Ed25519 receipt key; created (mode 0600) when missing. Defaults to the file of this
   * network and account, `.aitbc/keys/<network>/<address>.ed25519.json` (the one `provider:register` and `miner:start` use).
   */
  providerKeyFile: z.string().min(1).optional(),
  /**
   * File holding the provider's X25519 encryption key (private jobs), as written by `provider:endpoint` or
   * `miner:start`. Defaults to `.aitbc/keys/<network>/<address>.x25519.json`. Never created here: without it, or when
   * it is not the key published on-chain (`ProviderRegistry.endpointOf`), the relayer runs public jobs only.
   */
  encryptionKeyFile: z.string().min(1).optional(),
  /** Defaults to `.aitbc/relayer/<network>-<provider>.sqlite`. */
  journalPath: z.string().min(1).optional(),
  runtime: runtimeConfigSchema.default({ kind: "embedded" }),
  /** Models served, by their on-chain name, with what this machine is willing to run for each. */
  models: z.record(z.string().min(1), modelPolicySchema).prefault({ "llama3.2": {} }),
  policy: z
    .strictObject({
      /**
       * Jobs held between accept and a finished run. Sized for throughput on a chain with real block times: a job holds
       * its slot for its accept's confirmation (1–2 blocks) plus its run, so 32 capped a 1 s-block chain near 16–25
       * jobs/s (bench:e2e); 256 lets ~200 jobs/s through. The runtime queues what it cannot run at once, and the
       * on-chain exposure cap (a multiple of the bond) still bounds the escrow at risk.
       */
      maxConcurrentJobs: positiveInt.default(256),
      /** Largest escrow one job may lock (base units); omit for no cap. */
      maxJobPrice: decimal.optional(),
      deadlineMarginSeconds: nonNegativeInt.default(30),
      maxPromptBytes: positiveInt.default(64 * 1024),
      /**
       * Jobs accepted together in one `acceptJobs` transaction. 200: at 200 jobs/s on 1 s blocks one accept per block
       * keeps up, and 200 accepts stay far below a 30M-gas block.
       */
      maxAcceptBatch: positiveInt.max(500).default(200),
    })
    .prefault({}),
  run: z
    .strictObject({
      maxTokens: positiveInt.max(1 << 20).default(64),
      timeoutMs: positiveInt.default(120_000),
      /** Jobs handed to the runtime at the same time (the embedded runtime queues them anyway). */
      concurrency: positiveInt.max(64).default(1),
      /**
       * Context window (prompt + generation) in tokens, for runtimes that cannot report it (Ollama, OpenAI-compatible
       * servers). The embedded runtime reports its own and counts prompt tokens with its tokenizer.
       */
      contextTokens: positiveInt.optional(),
    })
    .prefault({}),
  batching: z
    .strictObject({
      maxItems: positiveInt.max(1000).default(200),
      /**
       * Longest a signed receipt waits for its batch to fill. 2 s (was 10): under load batches close at `maxItems`
       * anyway, so the age only matters at low load, where it is most of the latency (10 s put the median at 9–17 s in
       * bench:e2e). The price is a smaller batch at low load: the settle transaction's base gas is shared by fewer jobs.
       */
      maxAgeSeconds: nonNegativeInt.default(2),
      deadlineMarginSeconds: nonNegativeInt.default(60),
      maxInFlight: positiveInt.default(2),
      gasBudget: decimal.default("12000000"),
      baseGas: decimal.default("80000"),
      perItemGas: decimal.default("30000"),
    })
    .prefault({}),
  channels: z
    .strictObject({
      /**
       * How long a finished channel job may wait for a voucher that covers it before the relayer claims it itself
       * through the fallback (`claimUnvouched`: charged at the rate card, held for the dispute window). One hour: a
       * client that pays normally vouches within seconds of its results; the fallback is for one that stopped.
       */
      unpaidGraceSeconds: nonNegativeInt.default(3_600),
    })
    .prefault({}),
  chain: z
    .strictObject({
      /** Blocks on top of the including block before an event is acted on (0 for a local automining node). */
      confirmations: nonNegativeInt.max(256).optional(),
      /**
       * How often the watcher (and the sender, at most every second) asks for new blocks. 250 ms (was 1000): each
       * pipeline step (job seen, accept confirmed, settlement seen) waits for a poll, so 1 s added up to ~1.5 s of
       * latency on average on a 1 s-block chain; a poll is one `eth_blockNumber` when nothing changed (4 requests/s).
       */
      pollIntervalMs: positiveInt.default(250),
      /** Ceiling for `maxFeePerGas`, in gwei; fee bumps stop here. */
      maxFeePerGasGwei: positiveInt.default(500),
      /** Seconds without inclusion before an attempt is replaced with ≥ 12.5 % higher fees. */
      stuckAfterSeconds: positiveInt.default(60),
      rpcMaxAttempts: positiveInt.max(20).default(6),
      rpcTimeoutMs: positiveInt.default(10_000),
      /** How long start-up keeps retrying an RPC endpoint that does not answer before reporting an outage. */
      startupRetrySeconds: nonNegativeInt.max(3600).default(30),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** 0 picks a free port; -1 disables the API. */
      port: z.number().int().min(-1).max(65_535).default(DEFAULT_RELAYER_PORT),
      host: z.string().min(1).default("127.0.0.1"),
      corsOrigin: z.string().min(1).default("*"),
    })
    .prefault({}),
  health: z
    .strictObject({
      maxRecentRpcErrors: positiveInt.default(3),
      /** Extra blocks the journal may trail the head beyond the confirmation depth. */
      maxJournalLagBlocks: nonNegativeInt.default(20),
      /** Seconds without a completed watcher poll (RPC stalled, watcher stuck) before the relayer is degraded. */
      maxPollSilenceSeconds: positiveInt.default(4),
      /** Seconds a sent transaction may stay unmined before the relayer is degraded (a swallowed one sooner). */
      maxTxPendingSeconds: positiveInt.default(60),
      /** Seconds without a new chain head before the relayer is degraded; for chains that mine on an interval. */
      maxHeadSilenceSeconds: positiveInt.optional(),
      /** How often the runtime, pending transactions and the chain's identity are probed. */
      probeIntervalMs: positiveInt.max(60_000).default(1000),
    })
    .prefault({}),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type RelayerConfigInput = z.input<typeof relayerConfigSchema>;
export type RelayerConfig = z.output<typeof relayerConfigSchema>;

/** Environment variables the relayer reads, and the config field each one sets. */
export const ENV_VARS = {
  AITBC_RPC_URL: "rpcUrl",
  AITBC_NETWORK: "network",
  AITBC_RELAYER_CONFIG: "(config file path)",
  AITBC_RELAYER_JOURNAL: "journalPath",
  AITBC_RELAYER_PORT: "http.port",
  AITBC_RELAYER_LOG_LEVEL: "logLevel",
  AITBC_RELAYER_PRIVATE_KEY: "(provider EVM key; never in a file)",
} as const;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`, `undefined` is skipped. */
export function mergeConfig(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlain(value) && isPlain(out[key]) ? mergeConfig(out[key] as Plain, value) : value;
  }
  return out;
}

function setPath(target: Plain, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  node[keys[keys.length - 1]] = value;
}

/** The parts of the environment that configure the relayer (the private key is handled by {@link resolveEvmKey}). */
export function configFromEnv(env: NodeJS.ProcessEnv): Plain {
  const out: Plain = {};
  if (env.AITBC_RPC_URL !== undefined) out.rpcUrl = env.AITBC_RPC_URL;
  if (env.AITBC_NETWORK !== undefined) out.network = env.AITBC_NETWORK;
  if (env.AITBC_RELAYER_JOURNAL !== undefined) out.journalPath = env.AITBC_RELAYER_JOURNAL;
  if (env.AITBC_RELAYER_LOG_LEVEL !== undefined) out.logLevel = env.AITBC_RELAYER_LOG_LEVEL;
  if (env.AITBC_RELAYER_PORT !== undefined) setPath(out, "http.port", Number(env.AITBC_RELAYER_PORT));
  return out;
}

/** Reads a JSON config file; a missing or unparsable file is a config error naming the file. */
export function readConfigFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `cannot read the relayer config file ${file}`, {
      cause,
      hint: "pass an existing JSON file with --config, or omit it to use flags and defaults",
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `the relayer config file ${file} is not valid JSON`, {
      cause,
      hint: "fix the JSON syntax (no comments, no trailing commas)",
    });
  }
  if (!isPlain(parsed)) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `the relayer config file ${file} must hold a JSON object`, {
      hint: "see docs/MINER.md for an example",
    });
  }
  return parsed;
}

/** Validates a merged document; every problem is listed in one `RELAYER_INVALID_CONFIG` error. */
export function parseRelayerConfig(input: unknown): RelayerConfig {
  const result = relayerConfigSchema.safeParse(input);
  if (result.success) {
    const cfg = result.data;
    const problems: string[] = [];
    if (Object.keys(cfg.models).length === 0) problems.push("models: serve at least one model");
    for (const [name, m] of Object.entries(cfg.models)) {
      if (BigInt(m.maxUnitsMilli) === 0n) problems.push(`models.${name}.maxUnitsMilli: must be positive`);
    }
    if (BigInt(cfg.batching.gasBudget) < BigInt(cfg.batching.baseGas) + BigInt(cfg.batching.perItemGas)) {
      problems.push("batching.gasBudget: must fit at least one item (baseGas + perItemGas)");
    }
    if (problems.length === 0) return cfg;
    throw invalidConfig(problems);
  }
  throw invalidConfig(result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`));
}

function invalidConfig(problems: string[]): RelayerError {
  return new RelayerError("RELAYER_INVALID_CONFIG", `invalid relayer configuration:\n  - ${problems.join("\n  - ")}`, {
    details: { problems },
    hint: "fix the listed fields (flags, environment or the --config file; see docs/MINER.md) and start again",
  });
}

export interface LoadConfigOptions {
  /** JSON file given with `--config` (or `AITBC_RELAYER_CONFIG`). */
  file?: string;
  /** Values from flags, highest precedence. */
  overrides?: Plain;
  env?: NodeJS.ProcessEnv;
  /** Lowest precedence, e.g. the network's RPC URL as Hardhat knows it. */
  defaults?: Plain;
}

/** Defaults ← file ← environment ← flags, then {@link parseRelayerConfig}. */
export function loadRelayerConfig(options: LoadConfigOptions = {}): RelayerConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.AITBC_RELAYER_CONFIG;
  let merged: Plain = options.defaults ?? {};
  if (file !== undefined && file !== "") merged = mergeConfig(merged, readConfigFile(file));
  merged = mergeConfig(merged, configFromEnv(env));
  merged = mergeConfig(merged, options.overrides ?? {});
  return parseRelayerConfig(merged);
}

/** Where the journal lives when the config does not say. */
export function defaultJournalPath(network: string, provider: string, root: string = process.cwd()): string {
  return path.join(root, ".aitbc", "relayer", `${network}-${provider.toLowerCase()}.sqlite`);
}

/** Confirmation depth when the config does not say: none on a local automining chain (nothing reorgs it), 3 elsewhere. */
export function defaultConfirmations(chainId: bigint): number {
  return isLocalChain(chainId) ? 0 : 3;
}
