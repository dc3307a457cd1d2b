import { getAddress } from "ethers";
import type { Logger } from "pino";

import { ReceiptMerkleTree } from "../../lib/receipts/proof-bundle.js";
import type { ReceiptLeafValue } from "../../lib/receipts/leaf.js";
import { encodeSettlementRecords } from "../../lib/receipts/settlement.js";
import { isAitbcError } from "../../lib/errors.js";
import type { RpcClient, RpcHealth } from "../adapters/chain/rpc.js";
import { TxSender, type FailedEvent, type TxSigner } from "../adapters/chain/sender.js";
import { SqliteTxStore } from "../adapters/chain/tx-store-sqlite.js";
import { LogWatcher, type CursorStore, type LogBatch, type WatchedLog } from "../adapters/chain/watcher.js";
import { createApiServer, type ApiServer } from "../adapters/http/server.js";
import type { Journal, SeenJob } from "../adapters/journal/journal.js";
import { isRuntimeError, type Runtime } from "../adapters/runtimes/types.js";
import { BatchPlanner, type PlannedReceipt } from "../core/batch-planner.js";
import { isRelayerError } from "../core/errors.js";
import { RelayerError } from "../core/errors.js";
import { assessHealth, type HealthIssue, type HealthReport, type HealthThresholds } from "../core/health.js";
import type { JobRecord, JobState } from "../core/job-state.js";
import { meterUnitsMilli } from "../core/metering.js";
import { decide, validatePolicyConfig, type ModelPolicy, type PolicyConfig } from "../core/policy.js";
import type { JournalMetrics } from "../core/read-model.js";
import {
  acceptCalldata,
  MarketReader,
  normalizeProvider,
  parseEscrowLog,
  releaseCalldata,
  settleCalldata,
  WATCHED_TOPICS,
  type OnChainJob,
} from "./contracts.js";
import { commitCompletions, signJobReceipt, type Completion, type ReceiptSigner } from "./completions.js";
import { identityMismatch, type LiveIdentity } from "./identity.js";
import { JournalCursorStore } from "./stores.js";

/** Everything the relayer needs, already built; {@link ./start.ts} builds it from the validated config. */
export interface RelayerOptions {
  rpc: RpcClient;
  rpcHealth: RpcHealth;
  /** The provider's EVM account (signs transactions; one nonce owner). */
  signer: TxSigner;
  /** The provider's Ed25519 receipt key (32-byte seed). */
  receiptSecretKey: Uint8Array;
  runtime: Runtime;
  journal: Journal;
  cursorStore: CursorStore;
  logger: Logger;
  chainId: bigint;
  contracts: { escrow: string; providerRegistry: string; modelRegistry: string };
  /** First block to read events from on a fresh journal (the deployment block). */
  startBlock: number;
  settings: RelayerSettings;
  now?: () => number;
  /**
   * Reads the chain's identity now; the relayer compares it with the journal's at every probe and stops serving the
   * moment the chain is not the journal's any more (reset, replaced, contracts redeployed).
   */
  identity?: { check: () => Promise<LiveIdentity>; journalPath: string };
}

/** Health settings of the running relayer: the thresholds of `/health` plus its own monitor's. */
export interface RelayerHealthSettings extends HealthThresholds {
  /** Longest time without a completed watcher poll (RPC stalled, watcher stuck). */
  maxPollSilenceMs: number;
  /** Longest time a sent transaction may stay unmined. */
  maxTxPendingMs: number;
  /** Longest time without a new head, or `null` on chains that mine only on demand. */
  maxHeadSilenceMs: number | null;
  /** How often the runtime, pending transactions and the chain identity are probed. */
  probeIntervalMs: number;
}

export interface RelayerSettings {
  /** On-chain model name → what this machine runs for it. */
  models: ReadonlyMap<string, ModelPolicy & { runtimeModel: string }>;
  maxConcurrentJobs: number;
  maxJobPrice: bigint | null;
  deadlineMarginSeconds: number;
  maxPromptBytes: number;
  maxAcceptBatch: number;
  maxTokens: number;
  /** Context window for runtimes that cannot report theirs; `null` when unknown. */
  contextTokens: number | null;
  runTimeoutMs: number;
  runConcurrency: number;
  batching: { maxItems: number; maxAgeSeconds: number; deadlineMarginSeconds: number; maxInFlight: number; gasBudget: bigint; baseGas: bigint; perItemGas: bigint };
  /** Blocks on top of the including one before the relayer acts on an event. */
  confirmations: number;
  pollIntervalMs: number;
  maxFeePerGas: bigint;
  stuckAfterMs: number;
  /** HTTP API port (0 = any free port, -1 = no API). */
  httpPort: number;
  httpHost: string;
  corsOrigin: string;
  health: RelayerHealthSettings;
}

/** What the status line and `miner:status` show. */
export interface RelayerStatus {
  provider: string;
  apiUrl: string | null;
  jobsByState: Record<JobState, number>;
  gpuSeconds: number;
  receiptsSigned: number;
  batchesByStatus: JournalMetrics["batchesByStatus"];
  chainHead: number | null;
  journalBlock: number | null;
  health: HealthReport;
  lastError: { code: string; message: string; at: number } | null;
  /** Set once the chain stopped being the journal's: the relayer serves nothing more until restarted. */
  halted: { code: string; message: string } | null;
}

interface PreparedRun {
  job: JobRecord;
  runtimeModel: string;
  prompt: Uint8Array;
  timeoutMs: number;
}

const FINALIZE_EVERY_MS = 5_000;
const RUNTIME_RETRY_MS = 2_000;
/** A broadcast transaction the node still does not know after this long was swallowed on the way. */
const TX_UNKNOWN_GRACE_MS = 1_500;
/** Longest a runtime probe may take before the runtime counts as not answering. */
const RUNTIME_PROBE_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function sec(ms: number): number {
  return Math.floor(ms / 1000);
}

function errorCode(error: unknown): string {
  return isAitbcError(error) ? error.code : "INTERNAL";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The miner's agent: the one place where the watcher, the journal, the job policy, the runtime, metering, receipts,
 * the batch planner and the transaction sender meet.
 *
 * Flow per job: `JobCreated` (confirmed) → journal `seen` → policy → accept transaction (several waiting jobs share
 * one `acceptJobs`) → `JobAccepted` (confirmed) → `accepted` → `running` → runtime → metering → `done` (result
 * stored) → deterministic receipt signed with the provider's Ed25519 key → `signed` → batch planner → batch intent
 * journaled with root and proofs → `settleBatch` → `BatchSettled` (confirmed) → `settled` → past the dispute
 * window → `finalized`.
 *
 * Durability: each step is journaled before its side effect (a transaction intent before it is signed, every signed
 * attempt before it is broadcast, a batch with its proofs before its transaction exists), and state moves on chain
 * events only once they are confirmed. On start the relayer resumes every job from its journaled state: nothing is
 * lost, a receipt is never signed twice with different content (its id is derived from the job and it is journaled
 * idempotently), and a job is never settled twice (one live batch per receipt; the contract refuses a second).
 *
 * A job the relayer cannot finish (runtime failure, bad input, deadline passed) is never settled: after its deadline
 * the client takes the whole escrow back with `reclaimExpired` (the contract path), so failing is always safe.
 */
export class Relayer {
  readonly provider: string;
  readonly #o: RelayerOptions;
  readonly #log: Logger;
  readonly #journal: Journal;
  readonly #market: MarketReader;
  readonly #sender: TxSender;
  readonly #watcher: LogWatcher;
  readonly #planner: BatchPlanner;
  readonly #policy: PolicyConfig;
  readonly #now: () => number;
  #api: ApiServer | null = null;
  #apiUrl: string | null = null;

  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #kicked = false;
  readonly #abort = new AbortController();

  /** Jobs with an accept transaction in flight, or accepted on-chain and waiting for the confirmed event. */
  readonly #acceptPending = new Map<string, number>();
  /** Jobs whose group accept failed while they were still open: they go alone next time. */
  readonly #solo = new Set<string>();
  readonly #runs = new Map<string, Promise<void>>();
  readonly #runtimeRetryAt = new Map<string, number>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #receiptSigner: ReceiptSigner;
  /** Finished runs waiting for the next group commit, each with the resolver of its run's promise. */
  readonly #completed: { completion: Completion; committed: () => void }[] = [];
  #commitScheduled = false;
  #runtimeUp = true;
  #chainHead: number | null = null;
  #lastFinalizeCheck = 0;
  #lastError: RelayerStatus["lastError"] = null;
  /** Accepted jobs whose on-chain record was checked (accepted by this provider, open for settlement). */
  readonly #verified = new Set<string>();
  readonly #verifying = new Set<string>();
  /** When a watcher poll last completed, and when the head last moved (ms). */
  #lastPollOkAt = 0;
  #headMovedAt = 0;
  /** Degradations found by the last probe (transactions, runtime, chain identity). */
  #probeIssues: HealthIssue[] = [];
  #probe: Promise<void> | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #halted: RelayerStatus["halted"] = null;
  #countTokens: ((prompt: Uint8Array) => number) | null = null;
  #contextTokens: number | null = null;

  constructor(options: RelayerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ module: "relayer" });
    this.#journal = options.journal;
    this.provider = getAddress(options.signer.address).toLowerCase();
    this.#receiptSigner = { chainId: options.chainId, escrow: options.contracts.escrow, provider: this.provider, secretKey: options.receiptSecretKey };
    const s = options.settings;
    const limits = options.runtime.limits?.() ?? null;
    this.#contextTokens = limits?.contextTokens ?? s.contextTokens;
    // The runtime's tokenizer when it has one; otherwise a bound no byte-level tokenizer exceeds.
    this.#countTokens = limits === null ? (p) => p.length + 2 : (p) => limits.countTokens(new TextDecoder().decode(p));
    this.#policy = validatePolicyConfig({
      provider: this.provider,
      models: new Map([...s.models].map(([name, m]) => [name, { minRate: m.minRate, maxUnitsMilli: m.maxUnitsMilli }])),
      maxConcurrentJobs: s.maxConcurrentJobs,
      maxJobPrice: s.maxJobPrice,
      deadlineMarginSeconds: s.deadlineMarginSeconds,
      maxPromptBytes: s.maxPromptBytes,
      // The batcher drops a receipt whose deadline is within its margin, after it waited up to maxAge for a batch.
      settlementMarginSeconds: s.batching.deadlineMarginSeconds + s.batching.maxAgeSeconds,
      contextTokens: this.#contextTokens,
      maxTokens: s.maxTokens,
    });
    this.#market = new MarketReader(options.rpc, options.contracts);
    this.#planner = new BatchPlanner({
      maxItems: s.batching.maxItems,
      maxAgeSeconds: s.batching.maxAgeSeconds,
      deadlineMarginSeconds: s.batching.deadlineMarginSeconds,
      maxInFlight: s.batching.maxInFlight,
      gas: { baseGas: s.batching.baseGas, perItemGas: s.batching.perItemGas, gasBudget: s.batching.gasBudget },
    });
    this.#sender = new TxSender({
      rpc: options.rpc,
      signer: options.signer,
      store: new SqliteTxStore(options.journal),
      maxFeePerGasCap: s.maxFeePerGas,
      chainId: options.chainId,
      // The sender's count includes the including block; the relayer's setting counts blocks on top of it.
      confirmations: s.confirmations + 1,
      pollIntervalMs: Math.min(s.pollIntervalMs, 1000),
      stuckAfterMs: s.stuckAfterMs,
      now: this.#now,
    });
    this.#watcher = new LogWatcher({
      rpc: options.rpc,
      address: options.contracts.escrow.toLowerCase(),
      topics: [WATCHED_TOPICS],
      startBlock: options.startBlock,
      confirmations: s.confirmations,
      cursorStore: options.cursorStore,
      onLogs: (batch) => this.#onLogs(batch),
      historyBlocks: Math.max(64, s.confirmations + 1),
      pollIntervalMs: s.pollIntervalMs,
    });
    this.#wireEvents();
  }

  /** The API's base URL once listening, else `null`. */
  get apiUrl(): string | null {
    return this.#apiUrl;
  }

  /** Resumes from the journal, catches up with the chain, then runs until {@link stop}. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#log.info({ provider: this.provider, escrow: this.#o.contracts.escrow }, "starting");
    // The API port first: a port in use stops the start before the sender or the watcher did anything.
    if (this.#o.settings.httpPort >= 0) await this.#listen();
    try {
      await this.#startWork();
    } catch (error) {
      await this.#sender.stop().catch(() => undefined);
      await this.#api?.close().catch(() => undefined);
      this.#api = null;
      this.#apiUrl = null;
      throw error;
    }
  }

  async #listen(): Promise<void> {
    const api = createApiServer({
      source: this.#journal,
      probe: {
        rpcErrorsRecent: () => this.#o.rpcHealth.snapshot().recentErrors,
        rpcErrorsTotal: () => this.#o.rpcHealth.snapshot().errors,
        runtimeUp: () => this.#runtimeUp,
        chainHead: () => this.#chainHead,
        issues: () => this.#issues(),
      },
      health: this.#healthThresholds(),
      logger: this.#o.logger,
      corsOrigin: this.#o.settings.corsOrigin,
    });
    let address;
    try {
      address = await api.listen(this.#o.settings.httpPort, this.#o.settings.httpHost);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new RelayerError("RELAYER_PORT_IN_USE", `the API port ${this.#o.settings.httpHost}:${this.#o.settings.httpPort} is ${code === "EADDRINUSE" ? "already in use" : `not available (${code ?? String(error)})`}`, {
        cause: error,
        details: { port: this.#o.settings.httpPort, host: this.#o.settings.httpHost },
        hint: "another relayer (or program) listens there: stop it, or pick another port with --port / http.port / AITBC_RELAYER_PORT (0 picks a free one)",
      });
    }
    this.#api = api;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.#apiUrl = `http://${host}:${address.port}`;
  }

  async #startWork(): Promise<void> {
    this.#restorePlanner();
    await this.#sender.start();
    for (const tx of this.#journal.listOpenTxs()) {
      if (tx.purpose === "accept") for (const id of tx.ref.split(",")) this.#acceptPending.set(id, tx.txId);
    }
    try {
      await this.#watcher.pollOnce();
    } catch (error) {
      this.#recordError(error, "initial catch-up with the chain failed; the watcher keeps trying");
    }
    await this.#reconcileBatches();
    this.#running = true;
    const now = this.#now();
    this.#lastPollOkAt = Math.max(this.#lastPollOkAt, now);
    this.#headMovedAt = Math.max(this.#headMovedAt, now);
    this.#watcher.start();
    this.#loop = this.#run();
    this.#scheduleProbe(0);
    this.#log.info({ api: this.#apiUrl }, "running");
  }

  /** Stops taking work, lets the current step finish, and leaves everything else to the journal for the next start. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer);
    await this.#probe;
    await this.#loop;
    await Promise.allSettled([...this.#runs.values(), ...this.#tasks]);
    await this.#watcher.stop();
    await this.#sender.stop();
    await this.#api?.close();
    this.#api = null;
    this.#log.info("stopped");
  }

  status(): RelayerStatus {
    const m = this.#journal.metrics();
    return {
      provider: this.provider,
      apiUrl: this.#apiUrl,
      jobsByState: m.jobsByState,
      gpuSeconds: m.gpuMilliSecondsTotal / 1000,
      receiptsSigned: m.receiptsSigned,
      batchesByStatus: m.batchesByStatus,
      chainHead: this.#chainHead,
      journalBlock: m.cursorBlock,
      health: this.health(),
      lastError: this.#lastError,
      halted: this.#halted,
    };
  }

  health(): HealthReport {
    return assessHealth(
      {
        rpcErrorsRecent: this.#o.rpcHealth.snapshot().recentErrors,
        runtimeUp: this.#runtimeUp,
        chainHead: this.#chainHead,
        journalBlock: this.#journal.getCursor()?.blockNumber ?? null,
        issues: this.#issues(),
      },
      this.#healthThresholds(),
    );
  }

  // ── health monitor ────────────────────────────────────────────────────────────────────────────────────────────

  /** What `/health` adds to the journal's view: the monitor's findings, computed from timestamps at ask time. */
  #issues(): HealthIssue[] {
    const h = this.#o.settings.health;
    const now = this.#now();
    const out: HealthIssue[] = [];
    if (this.#halted !== null) out.push({ code: "CHAIN_CHANGED", detail: this.#halted.message });
    if (this.#running && this.#halted === null) {
      const silent = now - this.#lastPollOkAt;
      if (silent > h.maxPollSilenceMs) out.push({ code: "WATCHER_STALLED", detail: `no watcher poll completed for ${Math.round(silent / 1000)} s (RPC stalled or watcher stuck)` });
      const still = now - this.#headMovedAt;
      if (h.maxHeadSilenceMs !== null && still > h.maxHeadSilenceMs) {
        out.push({ code: "HEAD_STALE", detail: `the chain head ${this.#chainHead ?? "?"} has not moved for ${Math.round(still / 1000)} s` });
      }
    }
    for (const issue of this.#probeIssues) if (!out.some((o) => o.code === issue.code)) out.push(issue);
    return out;
  }

  #scheduleProbe(delayMs: number): void {
    if (!this.#running) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null;
      this.#probe = this.#probeOnce()
        .catch((error: unknown) => this.#recordError(error, "health probe failed"))
        .finally(() => {
          this.#probe = null;
          this.#scheduleProbe(this.#o.settings.health.probeIntervalMs);
        });
    }, delayMs);
    this.#probeTimer.unref?.();
  }

  /** Probes the runtime, the transactions in flight and the chain's identity; each finding lasts until the next probe. */
  async #probeOnce(): Promise<void> {
    const issues: HealthIssue[] = [];
    const [runtime, txs, chain] = await Promise.allSettled([this.#probeRuntime(), this.#probeTxs(), this.#probeChain()]);
    for (const r of [runtime, txs, chain]) {
      if (r.status === "fulfilled" && r.value !== null) issues.push(r.value);
    }
    this.#probeIssues = issues;
  }

  async #probeRuntime(): Promise<HealthIssue | null> {
    try {
      await withTimeout(this.#o.runtime.info(), RUNTIME_PROBE_TIMEOUT_MS);
      if (!this.#runtimeUp && this.#runtimeRetryAt.size === 0) this.#runtimeUp = true;
      return null;
    } catch (error) {
      this.#runtimeUp = false;
      return { code: "RUNTIME_DOWN", detail: `the inference runtime does not answer: ${errorMessage(error)}` };
    }
  }

  async #probeTxs(): Promise<HealthIssue | null> {
    const now = this.#now();
    const pending = this.#journal.listOpenTxs().filter((t) => t.status === "pending" && t.attempts.length > 0);
    let oldest = 0;
    for (const tx of pending) oldest = Math.max(oldest, now - tx.attempts[0].sentAt);
    if (oldest > this.#o.settings.health.maxTxPendingMs) {
      return { code: "TX_NOT_LANDING", detail: `${pending.length} transaction(s) pending, the oldest for ${Math.round(oldest / 1000)} s` };
    }
    // A broadcast the node does not know (neither in its pool nor mined) was lost on the way: say so now, not after
    // the replacement timer. Only the few oldest are asked, to keep the probe cheap.
    const old = pending.filter((t) => now - t.attempts[t.attempts.length - 1].sentAt > TX_UNKNOWN_GRACE_MS).slice(0, 3);
    for (const tx of old) {
      const last = tx.attempts[tx.attempts.length - 1];
      const known = await this.#o.rpc.call<unknown>("eth_getTransactionByHash", [last.hash], { retry: { maxAttempts: 1 } });
      if (known === null) {
        const receipt = await this.#o.rpc.call<unknown>("eth_getTransactionReceipt", [last.hash], { retry: { maxAttempts: 1 } });
        if (receipt === null) return { code: "TX_NOT_LANDING", detail: `transaction ${tx.txId} (${last.hash}) was sent but the node does not know it` };
      }
    }
    return null;
  }

  async #probeChain(): Promise<HealthIssue | null> {
    const id = this.#o.identity;
    const recorded = this.#journal.identity();
    if (id === undefined || recorded === null) return null;
    if (this.#halted !== null) return { code: "CHAIN_CHANGED", detail: this.#halted.message };
    const live = await id.check();
    const mismatch = identityMismatch(recorded, live, this.#o.contracts, id.journalPath);
    if (mismatch === null) return null;
    this.#halt(mismatch);
    return { code: "CHAIN_CHANGED", detail: mismatch.message };
  }

  /**
   * The chain is not the journal's any more. Nothing more is accepted, run, signed or settled: the journal's job ids
   * now name other jobs (or none). The API stays up to report it; a restart refuses the journal with the fix.
   */
  #halt(error: RelayerError): void {
    if (this.#halted !== null) return;
    this.#halted = { code: error.code, message: error.message };
    this.#recordError(error, "the chain changed under the relayer; it stopped serving", "error");
    void this.#watcher.stop();
    void this.#sender.stop();
  }

  /** Runs a pass of the main loop now (new work arrived). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  #healthThresholds(): HealthThresholds {
    const h = this.#o.settings.health;
    return { maxRecentRpcErrors: h.maxRecentRpcErrors, maxJournalLagBlocks: h.maxJournalLagBlocks + this.#o.settings.confirmations };
  }

  #recordError(error: unknown, context: string, level: "warn" | "error" = "warn"): void {
    this.#lastError = { code: errorCode(error), message: `${context}: ${errorMessage(error)}`, at: this.#now() };
    this.#log[level]({ err: error, code: errorCode(error) }, context);
  }

  /** Runs `work` in the background, tracked so {@link stop} waits for it; failures are logged, never thrown. */
  #background(work: () => Promise<void>, context: string): void {
    const p = work()
      .catch((error: unknown) => this.#recordError(error, context))
      .finally(() => {
        this.#tasks.delete(p);
        this.kick();
      });
    this.#tasks.add(p);
  }

  // ── main loop ─────────────────────────────────────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    const tickMs = Math.min(250, this.#o.settings.pollIntervalMs);
    let failures = 0;
    while (this.#running) {
      this.#kicked = false;
      try {
        await this.#step();
        failures = 0;
      } catch (error) {
        failures++;
        this.#recordError(error, "relayer step failed", "error");
      }
      if (!this.#running) break;
      if (this.#kicked && failures === 0) continue;
      // Repeated failures back off (bounded) so a broken dependency does not spin the CPU.
      const wait = failures === 0 ? tickMs : Math.min(10_000, tickMs * 2 ** Math.min(failures, 6));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async #step(): Promise<void> {
    if (this.#halted !== null) return;
    this.#decide();
    this.#startRuns();
    for (const job of this.#journal.listJobs(["done"])) {
      const planned = signJobReceipt(this.#journal, this.#receiptSigner, job, sec(this.#now()));
      if (planned !== null) this.#planner.add(planned);
    }
    this.#plan();
    if (this.#now() - this.#lastFinalizeCheck >= FINALIZE_EVERY_MS) {
      this.#lastFinalizeCheck = this.#now();
      await this.#finalize();
    }
  }

  // ── decide and accept ─────────────────────────────────────────────────────────────────────────────────────────

  #decide(): void {
    const seen = this.#journal.listJobs(["seen"]);
    if (seen.length === 0) return;
    const nowSec = sec(this.#now());
    let active = this.#journal.listJobs(["accepted", "running"]).length + this.#acceptPending.size;
    const group: bigint[] = [];
    const solo: bigint[] = [];
    for (const job of seen) {
      const key = job.jobId.toString();
      if (this.#acceptPending.has(key)) continue;
      const prompt = this.#journal.getPrompt(job.jobId) ?? new Uint8Array();
      const decision = decide(
        this.#policy,
        {
          jobId: job.jobId,
          model: job.model,
          addressedProvider: job.addressedProvider,
          maxUnitsMilli: job.maxUnitsMilli,
          rate: job.rate,
          deadline: job.deadline,
          prompt,
          promptTokens: this.#contextTokens === null || prompt.length === 0 ? undefined : this.#promptTokens(prompt),
        },
        { activeJobs: active, now: nowSec },
      );
      if (!decision.take) {
        if (decision.retryable) continue;
        this.#journal.applyJobEvent(job.jobId, { type: "refuse", reason: `${decision.reason}: ${decision.detail}` }, nowSec);
        this.#log.info({ jobId: key, reason: decision.reason }, "job refused");
        continue;
      }
      active++;
      (this.#solo.has(key) ? solo : group).push(job.jobId);
    }
    const size = this.#o.settings.maxAcceptBatch;
    for (let i = 0; i < group.length; i += size) this.#submitAccept(group.slice(i, i + size));
    for (const id of solo) this.#submitAccept([id]);
  }

  #promptTokens(prompt: Uint8Array): number {
    try {
      return (this.#countTokens as (p: Uint8Array) => number)(prompt);
    } catch {
      // Not decodable as the tokenizer wants it: the UTF-8 check of the policy refuses it anyway.
      return prompt.length + 2;
    }
  }

  #submitAccept(ids: bigint[]): void {
    const key = ids.join(",");
    const { tx } = this.#sender.submit({ purpose: "accept", idempotencyKey: key, to: this.#o.contracts.escrow, data: acceptCalldata(ids) });
    for (const id of ids) this.#acceptPending.set(id.toString(), tx.id);
    this.#log.debug({ jobs: key, txId: tx.id }, "accept submitted");
  }

  /** An accept transaction will not land: find out, job by job, what the chain says and act on it. */
  async #onAcceptFailed(ids: string[], event: FailedEvent): Promise<void> {
    const views = await Promise.all(ids.map((id) => this.#market.job(BigInt(id))));
    const chainNow = await this.#chainNow();
    const nowSec = sec(this.#now());
    views.forEach((view, i) => {
      const id = ids[i];
      if (view.status === "Accepted" && view.provider === this.provider) return; // the confirmed event will follow
      this.#acceptPending.delete(id);
      const job = this.#journal.getJob(BigInt(id));
      if (job === null || job.state !== "seen") return;
      if (view.status === "Open" && view.deadline > chainNow && ids.length > 1) {
        this.#solo.add(id);
        return;
      }
      this.#journal.applyJobEvent(BigInt(id), { type: "refuse", reason: `ACCEPT_FAILED: ${event.code}; on-chain status ${view.status}` }, nowSec);
      this.#log.info({ jobId: id, status: view.status, code: event.code }, "accept failed; job refused");
    });
  }

  // ── run ───────────────────────────────────────────────────────────────────────────────────────────────────────

  #startRuns(): void {
    const limit = this.#o.settings.runConcurrency;
    if (this.#runs.size >= limit) return;
    const now = this.#now();
    const picked: JobRecord[] = [];
    for (const job of this.#journal.listJobs(["accepted", "running"])) {
      if (this.#runs.size + picked.length >= limit) break;
      const key = job.jobId.toString();
      if (this.#runs.has(key) || (this.#runtimeRetryAt.get(key) ?? 0) > now) continue;
      if (!this.#verified.has(key)) {
        if (!this.#verifying.has(key)) {
          this.#verifying.add(key);
          this.#background(
            () => this.#verifyOnChain(job).finally(() => this.#verifying.delete(key)),
            `job ${key}: checking its on-chain record`,
          );
        }
        continue;
      }
      picked.push(job);
    }
    if (picked.length === 0) return;
    // The starts of every job launched now commit together, before any of them reaches the runtime.
    const ready = this.#journal.transaction(() => picked.map((job) => this.#prepareRun(job)));
    for (const prepared of ready) {
      if (prepared === null) continue;
      const key = prepared.job.jobId.toString();
      const run = this.#runJob(prepared)
        .catch((error: unknown) => this.#recordError(error, `job ${key}: run step failed`, "error"))
        .finally(() => {
          this.#runs.delete(key);
          this.kick();
        });
      this.#runs.set(key, run);
    }
  }

  /**
   * Before a job runs (and so before any receipt for it is signed), the chain must say it is accepted by this
   * provider, through a transaction this journal sent, and still open for settlement. Anything else (settled,
   * expired, cancelled, accepted by another relayer of this provider) ends the job here without running it.
   */
  async #verifyOnChain(job: JobRecord): Promise<void> {
    const id = job.jobId;
    const [view, chainNow] = await Promise.all([this.#market.job(id), this.#chainNow()]);
    const ours = job.acceptTxHash === null || this.#journal.hasTxAttempt(job.acceptTxHash);
    const margin = this.#o.settings.batching.deadlineMarginSeconds;
    if (view.status === "Accepted" && view.provider === this.provider && ours && view.deadline - margin > chainNow) {
      this.#verified.add(id.toString());
      return;
    }
    const current = this.#journal.getJob(id);
    if (current === null || (current.state !== "accepted" && current.state !== "running")) return;
    const nowSec = sec(this.#now());
    if (view.status === "Expired" || view.status === "Cancelled" || (view.status === "Accepted" && view.provider === this.provider && ours)) {
      this.#journal.applyJobEvent(id, { type: "expire" }, nowSec);
    } else {
      const why = !ours ? "accepted through a transaction this journal did not send" : `on-chain status ${view.status} (provider ${view.provider})`;
      this.#journal.applyJobEvent(id, { type: "fail", code: "NOT_RUNNABLE_ON_CHAIN", message: `job ${id} is not run: ${why}` }, nowSec);
    }
    this.#log.warn({ jobId: id.toString(), status: view.status, ours }, "job not run: its on-chain record does not allow it");
  }

  /** The time the next block will at least have: the chain's latest timestamp, or the wall clock on an idle chain. */
  async #chainNow(): Promise<number> {
    return Math.max(await this.#market.latestTimestamp(), sec(this.#now()));
  }

  /** Journals the start of a run, or ends the job when it cannot run at all. */
  #prepareRun(job: JobRecord): PreparedRun | null {
    const s = this.#o.settings;
    const nowSec = sec(this.#now());
    const id = job.jobId;
    // Past the deadline the contract refuses settlement: the client reclaims the escrow, nothing to run.
    const left = job.deadline - nowSec - s.batching.deadlineMarginSeconds;
    if (left <= 0) {
      this.#journal.applyJobEvent(id, { type: "expire" }, nowSec);
      this.#log.warn({ jobId: id.toString() }, "job expired before it could run");
      return null;
    }
    const model = s.models.get(job.model);
    const prompt = this.#journal.getPrompt(id);
    this.#journal.applyJobEvent(id, { type: "start" }, nowSec);
    if (model === undefined || prompt === null) {
      const code = model === undefined ? "MODEL_NOT_SERVED" : "PROMPT_MISSING";
      this.#journal.applyJobEvent(id, { type: "fail", code, message: `cannot run job ${id}: ${code}` }, nowSec);
      return null;
    }
    return { job, runtimeModel: model.runtimeModel, prompt, timeoutMs: Math.max(1, Math.min(s.runTimeoutMs, left * 1000)) };
  }

  async #runJob({ job, runtimeModel, prompt, timeoutMs }: PreparedRun): Promise<void> {
    const s = this.#o.settings;
    const id = job.jobId;
    let result;
    try {
      result = await this.#o.runtime.run({
        jobId: id,
        model: runtimeModel,
        prompt,
        maxTokens: s.maxTokens,
        timeoutMs,
        signal: this.#abort.signal,
      });
      this.#runtimeUp = true;
    } catch (error) {
      if (isRuntimeError(error, "RUNTIME_ABORTED")) return; // shutdown: the job stays `running` and runs again on start
      if (isRuntimeError(error, "RUNTIME_UNAVAILABLE")) {
        this.#runtimeUp = false;
        this.#runtimeRetryAt.set(id.toString(), this.#now() + RUNTIME_RETRY_MS);
        this.#recordError(error, `job ${id}: runtime unavailable, will retry`);
        return;
      }
      this.#journal.applyJobEvent(id, { type: "fail", code: errorCode(error), message: errorMessage(error) }, sec(this.#now()));
      this.#log.warn({ jobId: id.toString(), code: errorCode(error) }, "job failed on the runtime");
      return;
    }
    this.#runtimeRetryAt.delete(id.toString());
    let unitsMilli: bigint;
    try {
      unitsMilli = meterUnitsMilli(result.timings, job.maxUnitsMilli);
    } catch (error) {
      this.#journal.applyJobEvent(id, { type: "fail", code: errorCode(error), message: errorMessage(error) }, sec(this.#now()));
      return;
    }
    // The contract refuses zero units; a run too fast to measure is billed its smallest unit, one millisecond.
    if (unitsMilli === 0n) unitsMilli = 1n;
    // The run's promise (and with it the job's slot in #runs) settles only once the group commit holding its result
    // and receipt is durable, so the job is never started again while its completion waits to be journaled.
    await this.#commitLater({
      jobId: id,
      unitsMilli,
      output: result.output,
      startedAtMs: result.timings.startedAt,
      completedAtMs: result.timings.completedAt,
    });
  }

  // ── group commit ──────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Queues a finished run for the next group commit. Every run that finishes before the commit fires (the ones that
   * completed in the same turn of the event loop) is journaled in the same transaction: one fsync for the group
   * instead of one per job. Nothing of it reaches the API, the planner or a batch before that commit.
   */
  #commitLater(completion: Completion): Promise<void> {
    return new Promise((resolve) => {
      this.#completed.push({ completion, committed: resolve });
      if (this.#commitScheduled) return;
      this.#commitScheduled = true;
      setImmediate(() => this.#commitGroup());
    });
  }

  #commitGroup(): void {
    this.#commitScheduled = false;
    const group = this.#completed.splice(0);
    try {
      const planned = commitCompletions(
        this.#journal,
        this.#receiptSigner,
        group.map((g) => g.completion),
        sec(this.#now()),
        (c, error) => this.#recordError(error, `job ${c.jobId}: journaling its result failed`, "error"),
      );
      for (const item of planned) this.#planner.add(item);
      if (group.length > 1) this.#log.debug({ jobs: group.length }, "group commit");
    } catch (error) {
      // Nothing of the group committed: its jobs are still `running` in the journal and run again.
      this.#recordError(error, `group commit of ${group.length} job(s) failed`, "error");
    } finally {
      for (const g of group) g.committed();
    }
  }

  // ── batch and settle ──────────────────────────────────────────────────────────────────────────────────────────

  #plan(): void {
    for (;;) {
      const nowSec = sec(this.#now());
      const plan = this.#planner.plan(nowSec);
      for (const r of plan.expired) {
        this.#planner.drop(r.receiptId);
        this.#journal.applyJobEvent(r.jobId, { type: "expire" }, nowSec);
        this.#log.warn({ jobId: r.jobId.toString() }, "receipt expired before settlement");
      }
      if (plan.kind === "wait") return;
      this.#cutBatch(plan.batch.items);
    }
  }

  #cutBatch(items: readonly PlannedReceipt[]): void {
    const receipts = items.map((r) => {
      const stored = this.#journal.getReceiptRecord(r.receiptId);
      if (stored === null) throw new Error(`receipt ${r.receiptId} is planned but not journaled`);
      return stored;
    });
    const values: ReceiptLeafValue[] = receipts.map((r) => ({
      chainId: this.#o.chainId,
      escrow: this.#o.contracts.escrow.toLowerCase(),
      jobId: r.jobId,
      provider: this.provider,
      unitsMilli: r.unitsMilli,
      price: r.priceBase,
      receiptHash: `0x${r.receiptHash}`,
    }));
    const tree = ReceiptMerkleTree.of(values);
    // The planner hands items over in ascending leaf order, the order settleBatch requires.
    const records = encodeSettlementRecords(receipts.map((r) => ({ jobId: r.jobId, unitsMilli: r.unitsMilli, receiptHash: `0x${r.receiptHash}` })));
    const batchId = this.#journal.recordBatchIntent(
      { root: tree.root, items: records, entries: receipts.map((r, i) => ({ receiptId: r.receiptId, proof: tree.getProof(i) })) },
      sec(this.#now()),
    );
    this.#planner.commit(batchId, items.map((r) => r.receiptId));
    this.#log.info({ batchId, items: items.length, root: tree.root }, "batch cut");
    this.#submitSettle(batchId);
  }

  #submitSettle(batchId: number): void {
    const items = this.#journal.getBatchCalldataItems(batchId);
    if (items === null) return;
    const { tx } = this.#sender.submit({
      purpose: "settle",
      idempotencyKey: `batch-${batchId}`,
      to: this.#o.contracts.escrow,
      data: settleCalldata(items),
    });
    const batch = this.#journal.getBatch(batchId);
    if (batch !== null && batch.txId !== tx.id) this.#journal.attachBatchTx(batchId, tx.id, sec(this.#now()));
  }

  /**
   * The settlement will not land. Before the receipts go back to the planner, ask the chain which jobs can still be
   * settled, so a job that expired (or was reclaimed) cannot make every later batch fail too.
   */
  async #onSettleFailed(batchId: number, reason: string): Promise<void> {
    const batch = this.#journal.getBatch(batchId);
    if (batch === null || (batch.status !== "intent" && batch.status !== "sent")) return;
    const receipts = this.#journal.batchItems(batchId).map((i) => this.#journal.getReceiptRecord(i.receiptId));
    const views = new Map<string, OnChainJob>();
    for (const r of receipts) if (r !== null) views.set(r.receiptId, await this.#market.job(r.jobId));
    const chainNow = await this.#chainNow();
    const again = this.#journal.getBatch(batchId);
    if (again === null || (again.status !== "intent" && again.status !== "sent")) return;
    const nowSec = sec(this.#now());
    this.#journal.markBatchFailed(batchId, reason, nowSec);
    this.#planner.onBatchFailed(batchId);
    for (const r of receipts) {
      if (r === null) continue;
      const view = views.get(r.receiptId) as OnChainJob;
      const settleable = view.status === "Accepted" && view.provider === this.provider && view.deadline > chainNow;
      if (settleable) continue;
      this.#planner.drop(r.receiptId);
      this.#journal.applyJobEvent(r.jobId, { type: "expire" }, nowSec);
      this.#log.warn({ jobId: r.jobId.toString(), status: view.status }, "job can no longer be settled");
    }
    this.#log.warn({ batchId, reason }, "settlement failed; receipts returned to the planner");
  }

  async #finalize(): Promise<void> {
    const confirmed = this.#journal.listBatches(["confirmed"]);
    if (confirmed.length === 0) return;
    const chainNow = await this.#market.latestTimestamp();
    const releasable: bigint[] = [];
    for (const batch of confirmed) {
      const onChain = await this.#market.settlementBatch(batch.root);
      if (onChain.releasableAt > 0 && chainNow >= onChain.releasableAt) {
        this.#journal.markBatchFinalized(batch.batchId, sec(this.#now()));
        this.#log.info({ batchId: batch.batchId }, "batch finalized");
        if (!onChain.released) releasable.push(onChain.id);
      }
    }
    // Released payouts leave the provider's exposure in the escrow, which caps what it may accept and keeps its bond:
    // release them as soon as their dispute window has passed (anyone may; the earnings go to the provider).
    if (releasable.length > 0) {
      this.#sender.submit({ purpose: "other", idempotencyKey: `release-${releasable.join(",")}`, to: this.#o.contracts.escrow, data: releaseCalldata(releasable) });
      this.#log.info({ batches: releasable.map(String) }, "releasing payouts past their dispute window");
    }
  }

  // ── start-up ─────────────────────────────────────────────────────────────────────────────────────────────────

  #planned(receiptId: string): PlannedReceipt | null {
    const r = this.#journal.getReceiptRecord(receiptId);
    const job = r === null ? null : this.#journal.getJob(r.jobId);
    if (r === null || job === null) return null;
    return { receiptId, jobId: r.jobId, leafHash: r.leafHash, signedAt: r.signedAt, deadline: job.deadline };
  }

  #restorePlanner(): void {
    for (const batch of this.#journal.listBatches(["intent", "sent"])) {
      const items = this.#journal.batchItems(batch.batchId).map((i) => this.#planned(i.receiptId));
      this.#planner.restoreInFlight(batch.batchId, items.filter((x): x is PlannedReceipt => x !== null));
    }
    for (const { receipt, deadline } of this.#journal.listUnbatchedReceipts()) {
      this.#planner.add({ receiptId: receipt.receiptId, jobId: receipt.jobId, leafHash: receipt.leafHash, signedAt: receipt.signedAt, deadline });
    }
  }

  /** Batches journaled before a crash: send the ones that never got a transaction, fail the ones whose transaction did. */
  async #reconcileBatches(): Promise<void> {
    for (const batch of this.#journal.listBatches(["intent", "sent"])) {
      const tx = batch.txId === null ? null : this.#journal.getTx(batch.txId);
      if (tx === null || tx.status === "abandoned") {
        const live = this.#journal.findLiveTx("settle", `batch-${batch.batchId}`);
        if (live === null || batch.status === "intent") this.#submitSettle(batch.batchId);
        else this.#journal.attachBatchTx(batch.batchId, live.txId, sec(this.#now()));
      } else if (tx.status === "reverted") {
        await this.#onSettleFailed(batch.batchId, tx.error ?? "the settlement transaction reverted");
      }
    }
  }

  // ── chain events ──────────────────────────────────────────────────────────────────────────────────────────────

  #wireEvents(): void {
    this.#watcher.on("progress", ({ head }) => {
      const now = this.#now();
      this.#lastPollOkAt = now;
      if (head !== this.#chainHead) this.#headMovedAt = now;
      this.#chainHead = head;
    });
    this.#watcher.on("warning", ({ error }) => {
      this.#recordError(error, "event watcher poll failed");
      // A reorg deeper than the watcher remembers is what a chain reset looks like from inside: check at once.
      if (error.code === "WATCHER_REORG_TOO_DEEP" && this.#probe === null && this.#probeTimer !== null) {
        clearTimeout(this.#probeTimer);
        this.#scheduleProbe(0);
      }
    });
    this.#watcher.on("reorg", (e) => this.#log.warn(e, "chain reorganisation"));
    this.#sender.on("warning", ({ tx, error }) => this.#recordError(error, `transaction sender${tx === null ? "" : ` (tx ${tx.id})`}`));
    this.#sender.on("replaced", (e) => this.#log.info({ txId: e.tx.id, reason: e.reason, hash: e.hash }, "transaction replaced with higher fees"));
    this.#sender.on("reorged", (e) => this.#log.warn({ txId: e.tx.id, hash: e.hash }, "transaction reorged out; rebroadcasting"));
    this.#sender.on("failed", (event) => {
      const { tx } = event;
      this.#log.warn({ txId: tx.id, purpose: tx.purpose, key: tx.key, code: event.code }, "transaction failed");
      if (tx.purpose === "accept") {
        const ids = tx.key.split(",");
        this.#background(() => this.#onAcceptFailed(ids, event), `reconciling failed accept ${tx.key}`);
      } else if (tx.purpose === "settle") {
        const batchId = Number(tx.key.slice("batch-".length));
        this.#background(() => this.#onSettleFailed(batchId, `${event.code}: ${event.reason}`), `reconciling failed settlement ${tx.key}`);
      }
    });
    this.#sender.on("requeued", ({ tx }) => {
      if (tx.purpose === "settle") {
        const batchId = Number(tx.key.slice("batch-".length));
        const batch = this.#journal.getBatch(batchId);
        if (batch !== null && (batch.status === "intent" || batch.status === "sent")) this.#journal.attachBatchTx(batchId, tx.id, sec(this.#now()));
      } else if (tx.purpose === "accept") {
        for (const id of tx.key.split(",")) this.#acceptPending.set(id, tx.id);
      }
    });
  }

  /** Applies one delivery of confirmed escrow events, atomically with the journal's block cursor. */
  async #onLogs(batch: LogBatch): Promise<void> {
    // Each delivered range is progress: a long catch-up is not a stalled watcher.
    this.#lastPollOkAt = this.#now();
    const created: SeenJob[] = [];
    for (const log of batch.added) {
      const parsed = parseEscrowLog(log);
      if (parsed?.name !== "JobCreated") continue;
      const a = parsed.args;
      const modelId = Number(a.modelId);
      const name = (await this.#market.modelName(modelId)) ?? `unknown-model-${modelId}`;
      created.push({
        origin: {
          jobId: BigInt(a.jobId),
          model: name,
          client: String(a.client).toLowerCase(),
          addressedProvider: normalizeProvider(String(a.provider)),
          maxUnitsMilli: BigInt(a.maxUnitsMilli),
          rate: BigInt(a.rate),
          deadline: Number(a.deadline),
          inputHash: String(a.inputHash).toLowerCase(),
          createdBlock: log.blockNumber,
          createdTxHash: log.transactionHash,
        },
        prompt: new Uint8Array(Buffer.from(String(a.prompt).slice(2), "hex")),
      });
    }
    const parentHash = batch.fromBlock === batch.toBlock ? null : await this.#parentHash(batch.toBlock);
    const plannerOps: (() => void)[] = [];
    const nowSec = sec(this.#now());
    let cursorText: string | null = null;
    this.#journal.transaction(() => {
      for (const log of batch.removed) this.#undo(log, nowSec, plannerOps);
      // The journal keeps the watcher's last block as its health cursor (reorg marks live in the watcher's cursor).
      const previous = this.#journal.getCursor();
      this.#journal.rewindTo(-1);
      this.#journal.recordBlock(
        { number: batch.cursor.blockNumber, hash: batch.cursor.blockHash, parentHash: parentHash ?? previous?.blockHash ?? batch.cursor.blockHash },
        created,
        nowSec,
      );
      for (const log of batch.added) this.#apply(log, nowSec, plannerOps);
      // The watcher's cursor commits with the effects of the delivery it describes.
      if (this.#o.cursorStore instanceof JournalCursorStore) {
        cursorText = JournalCursorStore.encode(batch.cursor);
        this.#journal.saveWatcherCursor(cursorText);
      }
    });
    if (cursorText !== null && this.#o.cursorStore instanceof JournalCursorStore) this.#o.cursorStore.noteWritten(cursorText);
    for (const op of plannerOps) op();
    if (created.length > 0 || plannerOps.length > 0 || batch.added.length > 0) this.kick();
  }

  async #parentHash(blockNumber: number): Promise<string> {
    const block = await this.#o.rpc.call<{ parentHash: string }>("eth_getBlockByNumber", [`0x${blockNumber.toString(16)}`, false]);
    return block.parentHash.toLowerCase();
  }

  #apply(log: WatchedLog, nowSec: number, plannerOps: (() => void)[]): void {
    const parsed = parseEscrowLog(log);
    if (parsed === null) return;
    const a = parsed.args;
    switch (parsed.name) {
      case "JobAccepted": {
        const id = BigInt(a.jobId);
        const job = this.#journal.getJob(id);
        const mine = String(a.provider).toLowerCase() === this.provider;
        plannerOps.push(() => this.#acceptPending.delete(id.toString()));
        if (job === null || job.state !== "seen") return;
        if (mine && !this.#journal.hasTxAttempt(log.transactionHash)) {
          // Accepted by this provider, but not by a transaction this journal signed: another relayer (or an earlier
          // life with a lost journal) has it. Running it here would sign a second, different receipt for the job.
          this.#journal.applyJobEvent(id, { type: "refuse", reason: `ACCEPTED_ELSEWHERE: accepted by this provider in transaction ${log.transactionHash}, which this journal did not send; not run again` }, nowSec);
          plannerOps.push(() => this.#log.warn({ jobId: id.toString(), tx: log.transactionHash }, "job accepted by this provider from another journal; not run here"));
          return;
        }
        if (mine) this.#journal.applyJobEvent(id, { type: "accept", txHash: log.transactionHash }, nowSec);
        else this.#journal.applyJobEvent(id, { type: "refuse", reason: `TAKEN: accepted by ${String(a.provider).toLowerCase()}` }, nowSec);
        return;
      }
      case "JobCancelled":
      case "JobExpired": {
        const id = BigInt(a.jobId);
        const job = this.#journal.getJob(id);
        if (job === null) return;
        if (job.state === "seen") {
          this.#journal.applyJobEvent(id, { type: "refuse", reason: parsed.name === "JobCancelled" ? "CANCELLED by the client" : "EXPIRED on-chain" }, nowSec);
        } else if (["accepted", "running", "done", "signed"].includes(job.state)) {
          if (job.state === "signed" && job.receiptId !== null) {
            const receiptId = job.receiptId;
            plannerOps.push(() => {
              try {
                this.#planner.drop(receiptId);
              } catch (error) {
                if (!isRelayerError(error, "RELAYER_RECEIPT_NOT_PENDING")) throw error;
              }
            });
          }
          this.#journal.applyJobEvent(id, { type: "expire" }, nowSec);
        }
        return;
      }
      case "BatchSettled": {
        if (String(a.provider).toLowerCase() !== this.provider) return;
        const root = String(a.root).toLowerCase();
        const batch = this.#journal.listBatches(["intent", "sent"]).find((b) => b.root === root);
        if (batch === undefined) return;
        this.#journal.markBatchConfirmed(batch.batchId, { txHash: log.transactionHash, blockNumber: log.blockNumber }, nowSec);
        plannerOps.push(() => {
          this.#planner.onBatchConfirmed(batch.batchId);
          this.#log.info({ batchId: batch.batchId, onChainBatch: Number(a.batchId), items: batch.itemCount }, "batch settled");
        });
        return;
      }
      default:
        return;
    }
  }

  /** A delivered event left the canonical chain. */
  #undo(log: WatchedLog, nowSec: number, plannerOps: (() => void)[]): void {
    const parsed = parseEscrowLog(log);
    if (parsed === null) return;
    const a = parsed.args;
    if (parsed.name === "BatchSettled" && String(a.provider).toLowerCase() === this.provider) {
      const root = String(a.root).toLowerCase();
      const batch = this.#journal.listBatches(["confirmed"]).find((b) => b.root === root);
      if (batch === undefined) return;
      // The settlement vanished: the jobs wait for it again; the sender rebroadcasts the same signed transaction.
      this.#journal.markBatchReorged(batch.batchId, nowSec);
      const items = this.#journal.batchItems(batch.batchId).map((i) => this.#planned(i.receiptId));
      plannerOps.push(() => this.#planner.restoreInFlight(batch.batchId, items.filter((x): x is PlannedReceipt => x !== null)));
      this.#log.warn({ batchId: batch.batchId }, "settlement reorged out; waiting for it again");
    } else if (parsed.name === "JobCreated") {
      const id = BigInt(a.jobId);
      const job = this.#journal.getJob(id);
      if (job?.state === "seen") this.#journal.applyJobEvent(id, { type: "refuse", reason: "REORGED_OUT: the job left the chain" }, nowSec);
    } else {
      this.#log.warn({ event: parsed.name, block: log.blockNumber }, "event reorged out");
    }
  }
}
