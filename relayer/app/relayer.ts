import type { Logger } from "pino";

import { guaranteedPromptBytes, type Offer } from "../../lib/market/offer.js";
import type { RpcClient, RpcHealth } from "../adapters/chain/rpc.js";
import type { TxSender } from "../adapters/chain/sender.js";
import type { LogBatch, LogWatcher, WatchedLog } from "../adapters/chain/watcher.js";
import { createApiServer, type ApiServer } from "../adapters/http/server.js";
import type { Journal, SeenJob } from "../adapters/journal/journal.js";
import type { Runtime } from "../adapters/runtimes/types.js";
import { RelayerError } from "../core/errors.js";
import { reduceEvent, reduceRemovedEvent, type EscrowEvent, type EventEffect, type EventView } from "../core/escrow-events.js";
import { assessHealth, type HealthIssue, type HealthReport, type HealthThresholds } from "../core/health.js";
import type { JobState } from "../core/job-state.js";
import { validatePolicyConfig, type ModelPolicy, type PolicyConfig } from "../core/policy.js";
import type { JournalMetrics } from "../core/read-model.js";
import { Acceptor } from "./accept.js";
import { ChannelJobs } from "./channel-jobs.js";
import { normalizeProvider, parseEscrowLog, type ChannelReader, type MarketReader } from "./contracts.js";
import { identityMismatch, type LiveIdentity } from "./identity.js";
import { PrivateJobs, type PrivateKeyState } from "./private.js";
import { Runner } from "./run.js";
import { Settler } from "./settle.js";
import { errorCode, errorMessage, sec, type Work } from "./work.js";

/** Everything the relayer needs, already built: {@link ./start.ts} (the one wiring point) builds it from the validated config. */
export interface RelayerOptions {
  rpc: RpcClient;
  rpcHealth: RpcHealth;
  /** The provider's EVM address (lower-case). */
  provider: string;
  /** The only sender of the provider's transactions (one nonce owner), over the journal's transactions table. */
  sender: TxSender;
  market: MarketReader;
  /** Builds the escrow's event watcher over the journal's cursor, delivering to `onLogs`. */
  watch: (onLogs: (batch: LogBatch) => Promise<void>) => LogWatcher;
  /** The provider's Ed25519 receipt key (32-byte seed). */
  receiptSecretKey: Uint8Array;
  runtime: Runtime;
  /** The journal: the relayer's state, the sender's transaction store and the watcher's cursor store. */
  journal: Journal;
  logger: Logger;
  chainId: bigint;
  contracts: { escrow: string; providerRegistry: string; modelRegistry: string };
  settings: RelayerSettings;
  now?: () => number;
  /**
   * Reads the chain's identity now; the relayer compares it with the journal's at every probe and stops serving the
   * moment the chain is not the journal's any more (reset, replaced, contracts redeployed).
   */
  identity?: { check: () => Promise<LiveIdentity>; journalPath: string };
  /**
   * The X25519 key private prompts are sealed to (checked against the provider's on-chain endpoint by start.ts), or
   * why the relayer runs public jobs only. Absent: public jobs only.
   */
  encryption?: PrivateKeyState;
  /** The channel mode (JobChannels), when the deployment has it: signed requests and vouchers over the API. */
  channels?: { address: string; reader: ChannelReader };
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
  /** Channel mode: how long a finished job waits for a voucher before the relayer claims it through the fallback. */
  unpaidGraceSeconds?: number;
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
  /** Whether private jobs are run, and why not when they are not. */
  privateJobs: { enabled: boolean; warning: string | null };
}

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

/** The escrow event of a watched log, decoded for the core's reducer (`null`: not an escrow event). */
function escrowEvent(log: WatchedLog): EscrowEvent | null {
  const parsed = parseEscrowLog(log);
  if (parsed === null) return null;
  const a = parsed.args;
  switch (parsed.name) {
    case "JobCreated":
      return { name: "JobCreated", jobId: BigInt(a.jobId) };
    case "JobAccepted":
      return { name: "JobAccepted", jobId: BigInt(a.jobId), provider: String(a.provider).toLowerCase() };
    case "JobCancelled":
    case "JobExpired":
      return { name: parsed.name, jobId: BigInt(a.jobId) };
    case "JobGivenBack":
      return { name: "JobGivenBack", jobId: BigInt(a.jobId), provider: String(a.provider).toLowerCase() };
    case "BatchSettled":
      return { name: "BatchSettled", provider: String(a.provider).toLowerCase(), root: String(a.root).toLowerCase(), onChainBatchId: Number(a.batchId) };
    default:
      return { name: "other", event: parsed.name };
  }
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
 * A job the relayer cannot finish (runtime down or failing, deadline too close) is never settled: it is given back
 * on-chain (`giveBackJob`, state `given_back`) so the client has the whole escrow back at once; should that not land,
 * the client takes it back after the deadline with `reclaimExpired` (the contract path), so failing is always safe.
 */
export class Relayer {
  readonly provider: string;
  readonly #o: RelayerOptions;
  readonly #log: Logger;
  readonly #journal: Journal;
  readonly #market: MarketReader;
  readonly #sender: TxSender;
  readonly #watcher: LogWatcher;
  readonly #now: () => number;
  readonly #acceptor: Acceptor;
  readonly #runner: Runner;
  readonly #settler: Settler;
  readonly #private: PrivateJobs;
  readonly #policy: PolicyConfig;
  readonly #channelJobs: ChannelJobs | null;
  #api: ApiServer | null = null;
  #apiUrl: string | null = null;

  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #kicked = false;
  readonly #abort = new AbortController();

  readonly #tasks = new Set<Promise<void>>();
  #chainHead: number | null = null;
  #lastError: RelayerStatus["lastError"] = null;
  /** When a watcher poll last completed, and when the head last moved (ms). */
  #lastPollOkAt = 0;
  #headMovedAt = 0;
  /** Degradations found by the last probe (transactions, runtime, chain identity). */
  #probeIssues: HealthIssue[] = [];
  #probe: Promise<void> | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #halted: RelayerStatus["halted"] = null;

  constructor(options: RelayerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ module: "relayer" });
    this.#journal = options.journal;
    this.provider = options.provider;
    const s = options.settings;
    const limits = options.runtime.limits?.() ?? null;
    const contextTokens = limits?.contextTokens ?? s.contextTokens;
    // The runtime's tokenizer when it has one; otherwise a bound no byte-level tokenizer exceeds.
    const countTokens = limits === null ? (p: Uint8Array) => p.length + 2 : (p: Uint8Array) => limits.countTokens(new TextDecoder().decode(p));
    const policy = validatePolicyConfig({
      provider: this.provider,
      models: new Map([...s.models].map(([name, m]) => [name, { minRate: m.minRate, maxUnitsMilli: m.maxUnitsMilli }])),
      maxConcurrentJobs: s.maxConcurrentJobs,
      maxJobPrice: s.maxJobPrice,
      deadlineMarginSeconds: s.deadlineMarginSeconds,
      maxPromptBytes: s.maxPromptBytes,
      // The batcher drops a receipt whose deadline is within its margin, after it waited up to maxAge for a batch.
      settlementMarginSeconds: s.batching.deadlineMarginSeconds + s.batching.maxAgeSeconds,
      contextTokens,
      maxTokens: s.maxTokens,
    });
    this.#policy = policy;
    this.#private = new PrivateJobs(options.encryption ?? { enabled: false, warning: "no encryption key configured" }, options.chainId, options.contracts.escrow);
    this.#market = options.market;
    this.#sender = options.sender;
    this.#watcher = options.watch((batch) => this.#onLogs(batch));
    const work: Work = {
      journal: options.journal,
      sender: this.#sender,
      market: this.#market,
      settings: s,
      contracts: options.contracts,
      chainId: options.chainId,
      provider: this.provider,
      log: this.#log,
      now: this.#now,
      chainNow: () => this.#chainNow(),
      recordError: (error, context, level) => this.#recordError(error, context, level),
      background: (task, context) => this.#background(task, context),
      kick: () => this.kick(),
    };
    this.#settler = new Settler(work);
    this.#acceptor = new Acceptor(work, policy, { contextTokens, countTokens }, this.#private, () => this.#runner.runtimeUp);
    const receiptSigner = { chainId: options.chainId, escrow: options.contracts.escrow, provider: this.provider, secretKey: options.receiptSecretKey };
    this.#runner = new Runner(work, options.runtime, receiptSigner, (receipt) => this.#settler.add(receipt), this.#abort.signal, this.#private);
    const ch = options.channels;
    this.#channelJobs =
      ch === undefined
        ? null
        : new ChannelJobs(
            work,
            {
              channels: ch.address,
              reader: ch.reader,
              runtime: options.runtime,
              signer: { ...receiptSigner, escrow: ch.address },
              privateJobs: new PrivateJobs(options.encryption ?? { enabled: false, warning: "no encryption key configured" }, options.chainId, ch.address),
              policy,
              tokens: { contextTokens, countTokens },
              activeEscrowJobs: () => {
                const m = this.#journal.metrics().jobsByState;
                return m.accepted + m.running + this.#acceptor.pendingCount;
              },
              runtimeUp: () => this.#runner.runtimeUp,
            },
            this.#abort.signal,
          );
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
        runtimeUp: () => this.#runner.runtimeUp,
        chainHead: () => this.#chainHead,
        issues: () => this.#issues(),
      },
      health: this.#healthThresholds(),
      logger: this.#o.logger,
      corsOrigin: this.#o.settings.corsOrigin,
      offer: () => this.offerTerms(),
      ...(this.#channelJobs === null ? {} : { channels: this.#channelJobs }),
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
    this.#settler.restore();
    await this.#sender.start();
    for (const tx of this.#journal.transactions.listOpen()) {
      if (tx.purpose === "accept") this.#acceptor.track(tx.key.split(","), tx.id);
    }
    try {
      await this.#watcher.pollOnce();
    } catch (error) {
      this.#recordError(error, "initial catch-up with the chain failed; the watcher keeps trying");
    }
    await this.#settler.reconcile();
    // The runtime is asked once before anything is accepted: a runtime that does not answer at start means degraded
    // from the start (RUNTIME_DOWN), and nothing is accepted until a probe reaches it.
    const runtimeIssue = await this.#probeRuntime();
    if (runtimeIssue !== null) {
      this.#probeIssues = [runtimeIssue];
      this.#log.warn({ reason: runtimeIssue.code }, `${runtimeIssue.detail}; nothing is accepted until it answers`);
    }
    const privateWarning = this.#private.warning;
    if (privateWarning !== null) this.#log.warn({ privateJobs: false }, `public jobs only: ${privateWarning}`);
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
    await Promise.allSettled([...this.#runner.inFlight(), ...(this.#channelJobs?.inFlight() ?? []), ...this.#tasks]);
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
      privateJobs: { enabled: this.#private.enabled, warning: this.#private.warning },
    };
  }

  /**
   * What `GET /api/v1/offer` publishes, less the health and the active count (the API fills both in from the same
   * reads as `/health` and `/metrics`): this relayer's own admission policy, so a client's check and this relayer's
   * decision are the same rule over the same terms.
   */
  offerTerms(): Omit<Offer, "health" | "capacity"> & { maxConcurrentJobs: number } {
    const p = this.#policy;
    return {
      provider: this.provider,
      chainId: this.#o.chainId,
      escrow: this.#o.contracts.escrow.toLowerCase(),
      encryptionKey: this.#private.publicKey,
      accepts: { public: true, private: this.#private.enabled },
      models: [...p.models].map(([name, m]) => ({ name, minRate: m.minRate, maxUnitsMilli: m.maxUnitsMilli })),
      limits: {
        maxPromptBytes: guaranteedPromptBytes(p),
        contextTokens: p.contextTokens ?? null,
        maxTokens: p.maxTokens ?? 0,
        deadlineMarginSeconds: Math.max(p.deadlineMarginSeconds, p.settlementMarginSeconds ?? 0),
        maxJobPrice: p.maxJobPrice,
      },
      maxConcurrentJobs: p.maxConcurrentJobs,
    };
  }

  health(): HealthReport {
    return assessHealth(
      {
        rpcErrorsRecent: this.#o.rpcHealth.snapshot().recentErrors,
        runtimeUp: this.#runner.runtimeUp,
        chainHead: this.#chainHead,
        journalBlock: this.#journal.blocks.position()?.blockNumber ?? null,
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
      this.#runner.probed(true);
      return null;
    } catch (error) {
      this.#runner.probed(false);
      return { code: "RUNTIME_DOWN", detail: `the inference runtime does not answer: ${errorMessage(error)}` };
    }
  }

  async #probeTxs(): Promise<HealthIssue | null> {
    const now = this.#now();
    const pending = this.#journal.transactions.listOpen().filter((t) => t.status === "pending" && t.attempts.length > 0);
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
        if (receipt === null) return { code: "TX_NOT_LANDING", detail: `transaction ${tx.id} (${last.hash}) was sent but the node does not know it` };
      }
    }
    return null;
  }

  async #probeChain(): Promise<HealthIssue | null> {
    const id = this.#o.identity;
    const recorded = this.#journal.meta.identity();
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
    await this.#acceptor.decide();
    this.#runner.start();
    this.#runner.signDone();
    await this.#settler.step();
    if (this.#channelJobs !== null) {
      this.#channelJobs.start();
      await this.#channelJobs.claimStep();
      await this.#channelJobs.fallbackStep();
    }
  }

  /** The time the next block will at least have: the chain's latest timestamp, or the wall clock on an idle chain. */
  async #chainNow(): Promise<number> {
    return Math.max(await this.#market.latestTimestamp(), sec(this.#now()));
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
        this.#background(() => this.#acceptor.onFailed(ids, event), `reconciling failed accept ${tx.key}`);
      } else if (tx.purpose === "other" && tx.key.startsWith("give-back:")) {
        // The job is no longer Accepted on-chain (expired, reclaimed): nothing more to give back.
        this.#log.warn({ jobId: tx.key.slice("give-back:".length), code: event.code }, "give-back did not land; the client reclaims the escrow at the deadline");
      } else if (tx.purpose === "settle") {
        const batchId = Number(tx.key.slice("batch-".length));
        this.#background(() => this.#settler.onFailed(batchId, `${event.code}: ${event.reason}`), `reconciling failed settlement ${tx.key}`);
      }
    });
    this.#sender.on("requeued", ({ tx }) => {
      if (tx.purpose === "settle") this.#settler.requeued(Number(tx.key.slice("batch-".length)), tx.id);
      else if (tx.purpose === "accept") this.#acceptor.track(tx.key.split(","), tx.id);
    });
  }

  /**
   * Applies one delivery of confirmed escrow events in one journal transaction with the blocks it covers and the
   * watcher's cursor (the journal checks that the delivery builds on the last block it processed). The core's
   * reducer says what each event means; planner and bookkeeping effects follow once the transaction committed.
   */
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
    const journal = this.#journal;
    const view: EventView = {
      provider: this.provider,
      job: (id) => journal.jobs.get(id),
      sentByUs: (hash) => journal.transactions.hasAttempt(hash),
      batchByRoot: (root, which) => journal.batches.list(which === "live" ? ["intent", "sent"] : ["confirmed"]).find((b) => b.root === root) ?? null,
    };
    const after: EventEffect[] = [];
    const nowSec = sec(this.#now());
    journal.transaction(() => {
      const effects: EventEffect[] = [];
      for (const log of batch.removed) {
        const event = escrowEvent(log);
        if (event !== null) for (const e of reduceRemovedEvent(event, { txHash: log.transactionHash, blockNumber: log.blockNumber }, view)) effects.push(this.#commitEffect(e, nowSec));
      }
      journal.blocks.recordDelivery(batch, created, nowSec);
      for (const log of batch.added) {
        const event = escrowEvent(log);
        if (event === null) continue;
        for (const e of reduceEvent(event, { txHash: log.transactionHash, blockNumber: log.blockNumber }, view)) effects.push(this.#commitEffect(e, nowSec));
      }
      after.push(...effects);
    });
    for (const e of after) this.#afterCommit(e);
    if (created.length > 0 || after.length > 0 || batch.added.length > 0) this.kick();
  }

  /** The journal half of an effect, inside the delivery's transaction. */
  #commitEffect(effect: EventEffect, nowSec: number): EventEffect {
    const { jobs, batches } = this.#journal;
    if (effect.type === "job") jobs.apply(effect.jobId, effect.event, nowSec);
    else if (effect.type === "batch-confirmed") batches.markConfirmed(effect.batchId, { txHash: effect.txHash, blockNumber: effect.blockNumber }, nowSec);
    else if (effect.type === "batch-reorged") batches.markReorged(effect.batchId, nowSec);
    return effect;
  }

  /** The planner and bookkeeping half of an effect, once the delivery committed. */
  #afterCommit(effect: EventEffect): void {
    switch (effect.type) {
      case "accept-landed":
        this.#acceptor.landed(effect.jobId);
        return;
      case "drop-receipt":
        this.#settler.drop(effect.receiptId);
        return;
      case "batch-confirmed":
        this.#settler.confirmed(effect.batchId);
        this.#log.info({ batchId: effect.batchId, onChainBatch: effect.onChainBatchId, items: effect.itemCount }, "batch settled");
        return;
      case "batch-reorged":
        this.#settler.reorged(effect.batchId);
        return;
      case "warn":
        this.#log.warn(effect.details, effect.message);
        return;
      case "job":
        return;
    }
  }
}
