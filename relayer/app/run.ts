import { isRuntimeError, type Runtime } from "../adapters/runtimes/types.js";
import type { PlannedReceipt } from "../core/batch-planner.js";
import type { JobRecord } from "../core/job-state.js";
import { meterUnitsMilli } from "../core/metering.js";
import { commitCompletions, signJobReceipt, type Completion, type ReceiptSigner } from "./completions.js";
import { giveBackCalldata, type OnChainJob } from "./contracts.js";
import { ENVELOPE_CONTENT_TYPE, type PrivateJobs } from "./private.js";
import { errorCode, errorMessage, sec, type Work } from "./work.js";

interface PreparedRun {
  job: JobRecord;
  runtimeModel: string;
  /** The prompt as journaled: a private job's envelope, opened only for the run. */
  prompt: Uint8Array;
  timeoutMs: number;
}

const RUNTIME_RETRY_MS = 2_000;
/** Most jobs whose on-chain records are read in one group (the reads of a group are in flight together). */
const VERIFY_GROUP = 64;
/**
 * Runs of one job that found the runtime unavailable before the job is given back on-chain (`giveBackJob`): the client
 * gets the whole escrow back at once instead of at the deadline.
 */
export const GIVE_BACK_AFTER_UNAVAILABLE = 3;

/**
 * Run and sign: checks each accepted job against the chain, runs it on the runtime, meters it, and journals the
 * result with its signed receipt in one group commit; a receipt ready for a batch goes to `onReceipt`.
 */
export class Runner {
  readonly #w: Work;
  readonly #runtime: Runtime;
  readonly #signer: ReceiptSigner;
  readonly #onReceipt: (receipt: PlannedReceipt) => void;
  readonly #signal: AbortSignal;
  readonly #runs = new Map<string, Promise<void>>();
  readonly #retryAt = new Map<string, number>();
  /** Accepted jobs whose on-chain record was checked (accepted by this provider, open for settlement). */
  readonly #verified = new Set<string>();
  readonly #verifying = new Set<string>();
  /** Finished runs waiting for the next group commit, each with the resolver of its run's promise. */
  readonly #completed: { completion: Completion; committed: () => void }[] = [];
  #commitScheduled = false;
  #runtimeUp = true;
  /** Runs per job that found the runtime unavailable, in a row. */
  readonly #unavailable = new Map<string, number>();
  readonly #private: PrivateJobs;

  constructor(work: Work, runtime: Runtime, signer: ReceiptSigner, onReceipt: (receipt: PlannedReceipt) => void, signal: AbortSignal, privateJobs: PrivateJobs) {
    this.#w = work;
    this.#private = privateJobs;
    this.#runtime = runtime;
    this.#signer = signer;
    this.#onReceipt = onReceipt;
    this.#signal = signal;
  }

  /** Whether the runtime answered its last run or probe. */
  get runtimeUp(): boolean {
    return this.#runtimeUp;
  }

  /** A probe reached the runtime (`true`) or not; up again only once no run waits to retry. */
  probed(up: boolean): void {
    if (!up) this.#runtimeUp = false;
    else if (!this.#runtimeUp && this.#retryAt.size === 0) this.#runtimeUp = true;
  }

  /** The runs in flight, for a stop to wait on. */
  inFlight(): Promise<void>[] {
    return [...this.#runs.values()];
  }

  /** Signs the receipts of jobs left `done` (a crash between the result and the receipt). */
  signDone(): void {
    for (const job of this.#w.journal.jobs.list(["done"])) {
      const planned = signJobReceipt(this.#w.journal, this.#signer, job, sec(this.#w.now()));
      if (planned !== null) this.#onReceipt(planned);
    }
  }

  start(): void {
    const { journal } = this.#w;
    const limit = this.#w.settings.runConcurrency;
    if (this.#runs.size >= limit) return;
    const now = this.#w.now();
    const picked: JobRecord[] = [];
    const unverified: JobRecord[] = [];
    for (const job of journal.jobs.list(["accepted", "running"])) {
      if (this.#runs.size + picked.length >= limit) break;
      const key = job.jobId.toString();
      if (this.#runs.has(key) || (this.#retryAt.get(key) ?? 0) > now) continue;
      if (!this.#verified.has(key)) {
        if (!this.#verifying.has(key) && unverified.length < VERIFY_GROUP) {
          this.#verifying.add(key);
          unverified.push(job);
        }
        continue;
      }
      picked.push(job);
    }
    if (unverified.length > 0) {
      const keys = unverified.map((job) => job.jobId.toString());
      this.#w.background(
        () => this.#verifyOnChain(unverified).finally(() => keys.forEach((key) => this.#verifying.delete(key))),
        `jobs ${keys.join(", ")}: checking their on-chain records`,
      );
    }
    if (picked.length === 0) return;
    // The starts of every job launched now commit together, before any of them reaches the runtime.
    const ready = journal.transaction(() => picked.map((job) => this.#prepare(job)));
    for (const prepared of ready) {
      if (prepared === null) continue;
      const key = prepared.job.jobId.toString();
      const run = this.#run(prepared)
        .catch((error: unknown) => this.#w.recordError(error, `job ${key}: run step failed`, "error"))
        .finally(() => {
          this.#runs.delete(key);
          this.#w.kick();
        });
      this.#runs.set(key, run);
    }
  }

  /**
   * Before a job runs (and so before any receipt for it is signed), the chain must say it is accepted by this
   * provider, through a transaction this journal sent, and still open for settlement. Anything else (settled,
   * expired, cancelled, accepted by another relayer of this provider) ends the job here without running it.
   *
   * The jobs found waiting in one pass are checked together: one read of the chain's time and one `job` read each,
   * all in flight at once, so the check costs a round trip per group rather than two per job.
   */
  async #verifyOnChain(jobs: readonly JobRecord[]): Promise<void> {
    const { market } = this.#w;
    const [chainNow, ...views] = await Promise.all([this.#w.chainNow(), ...jobs.map((job) => market.job(job.jobId))]);
    jobs.forEach((job, i) => this.#judge(job, views[i] as OnChainJob, chainNow as number));
  }

  #judge(job: JobRecord, view: OnChainJob, chainNow: number): void {
    const { journal, provider, log } = this.#w;
    const id = job.jobId;
    const ours = job.acceptTxHash === null || journal.transactions.hasAttempt(job.acceptTxHash);
    const margin = this.#w.settings.batching.deadlineMarginSeconds;
    if (view.status === "Accepted" && view.provider === provider && ours && view.deadline - margin > chainNow) {
      this.#verified.add(id.toString());
      return;
    }
    const current = journal.jobs.get(id);
    if (current === null || (current.state !== "accepted" && current.state !== "running")) return;
    const nowSec = sec(this.#w.now());
    if (view.status === "GivenBack" && view.provider === provider) {
      journal.jobs.applyEvent(id, { type: "give_back", code: "GIVEN_BACK_ELSEWHERE", message: `job ${id} was given back on-chain by a transaction this journal did not send` }, nowSec);
    } else if (view.status === "Expired" || view.status === "Cancelled") {
      journal.jobs.applyEvent(id, { type: "expire" }, nowSec);
    } else if (view.status === "Accepted" && view.provider === provider && ours) {
      // Accepted here but too close to its deadline to run and settle: given back, the client refunded now.
      this.#giveBack(id, "DEADLINE_TOO_CLOSE", `job ${id} cannot finish and settle before its deadline ${view.deadline}`);
      return;
    } else {
      const why = !ours ? "accepted through a transaction this journal did not send" : `on-chain status ${view.status} (provider ${view.provider})`;
      journal.jobs.applyEvent(id, { type: "fail", code: "NOT_RUNNABLE_ON_CHAIN", message: `job ${id} is not run: ${why}` }, nowSec);
    }
    log.warn({ jobId: id.toString(), status: view.status, ours }, "job not run: its on-chain record does not allow it");
  }

  /** Journals the start of a run, or ends the job when it cannot run at all. */
  #prepare(job: JobRecord): PreparedRun | null {
    const { journal, settings: s } = this.#w;
    const nowSec = sec(this.#w.now());
    const id = job.jobId;
    // Too close to the deadline to run and settle: nothing to run.
    const left = job.deadline - nowSec - s.batching.deadlineMarginSeconds;
    if (left <= 0) {
      // It can no longer be settled in time: given back now, the client need not wait for the deadline to reclaim.
      this.#giveBack(id, "DEADLINE_TOO_CLOSE", `job ${id} cannot finish and settle before its deadline ${job.deadline}`);
      return null;
    }
    const model = s.models.get(job.model);
    const prompt = journal.jobs.prompt(id);
    journal.jobs.apply(id, { type: "start" }, nowSec);
    if (model === undefined || prompt === null) {
      const code = model === undefined ? "MODEL_NOT_SERVED" : "PROMPT_MISSING";
      journal.jobs.apply(id, { type: "fail", code, message: `cannot run job ${id}: ${code}` }, nowSec);
      return null;
    }
    return { job, runtimeModel: model.runtimeModel, prompt, timeoutMs: Math.max(1, Math.min(s.runTimeoutMs, left * 1000)) };
  }

  async #run({ job, runtimeModel, prompt: stored, timeoutMs }: PreparedRun): Promise<void> {
    const id = job.jobId;
    const key = id.toString();
    const opened = await this.#private.open(job, stored);
    if (!opened.ok) {
      // It opened when it was accepted: the key file changed under the relayer. The client gets the escrow back.
      this.#giveBack(id, opened.reason, `cannot run job ${id}: ${opened.detail}`);
      return;
    }
    let result;
    try {
      result = await this.#runtime.run({ jobId: id, model: runtimeModel, prompt: opened.prompt, maxTokens: this.#w.settings.maxTokens, timeoutMs, signal: this.#signal });
      this.#runtimeUp = true;
    } catch (error) {
      if (isRuntimeError(error, "RUNTIME_ABORTED")) return; // shutdown: the job stays `running` and runs again on start
      // A private job's runtime error may quote its prompt: only the code leaves this function.
      const message = opened.private ? `the runtime failed the private job (${errorCode(error)})` : errorMessage(error);
      if (isRuntimeError(error, "RUNTIME_UNAVAILABLE")) {
        this.#runtimeUp = false;
        const tries = (this.#unavailable.get(key) ?? 0) + 1;
        this.#unavailable.set(key, tries);
        const retryAt = this.#w.now() + RUNTIME_RETRY_MS;
        const lastUseful = (job.deadline - this.#w.settings.batching.deadlineMarginSeconds) * 1000;
        if (tries >= GIVE_BACK_AFTER_UNAVAILABLE || retryAt >= lastUseful) {
          this.#retryAt.delete(key);
          this.#unavailable.delete(key);
          this.#giveBack(id, "RUNTIME_UNAVAILABLE", `the runtime did not answer ${tries} run(s) of job ${id}: ${message}`);
          return;
        }
        this.#retryAt.set(key, retryAt);
        if (opened.private) this.#w.log.warn({ jobId: key, code: errorCode(error) }, "runtime unavailable, will retry");
        else this.#w.recordError(error, `job ${id}: runtime unavailable, will retry`);
        return;
      }
      this.#retryAt.delete(key);
      this.#unavailable.delete(key);
      this.#w.log.warn({ jobId: key, code: errorCode(error) }, "job failed on the runtime");
      this.#giveBack(id, errorCode(error), message);
      return;
    }
    this.#retryAt.delete(key);
    this.#unavailable.delete(key);
    let unitsMilli: bigint;
    try {
      unitsMilli = meterUnitsMilli(result.timings, job.maxUnitsMilli);
    } catch (error) {
      // A run that cannot be metered cannot be billed: the client gets the escrow back now.
      this.#giveBack(id, errorCode(error), errorMessage(error));
      return;
    }
    // The contract refuses zero units; a run too fast to measure is billed its smallest unit, one millisecond.
    if (unitsMilli === 0n) unitsMilli = 1n;
    // A private result is sealed once, here, to the client's result key: the envelope is what is journaled, hashed
    // into the receipt and served; the plaintext never reaches the journal.
    const sealed = opened.private ? await this.#private.sealResult(job, opened.resultKey, new TextEncoder().encode(result.output)) : null;
    // The run's promise (and with it the job's slot in #runs) settles only once the group commit holding its result
    // and receipt is durable, so the job is never started again while its completion waits to be journaled.
    await this.#commitLater({
      jobId: id,
      unitsMilli,
      output: sealed === null ? result.output : "",
      body: sealed === null ? undefined : { bytes: sealed, contentType: ENVELOPE_CONTENT_TYPE },
      startedAtMs: result.timings.startedAt,
      completedAtMs: result.timings.completedAt,
    });
  }

  /**
   * Gives an accepted job back on-chain: the `giveBackJob` intent and the move to `given_back` commit together, so a
   * crash either leaves the job to run or sends the give-back on restart (the sender owns the intent; its key makes a
   * second call a no-op). The client is refunded the whole escrow when it lands.
   */
  #giveBack(jobId: bigint, code: string, message: string): void {
    const { journal, sender, contracts, log } = this.#w;
    const done = journal.transaction(() => {
      const job = journal.jobs.get(jobId);
      if (job === null || (job.state !== "accepted" && job.state !== "running")) return false;
      sender.submit({ purpose: "other", idempotencyKey: `give-back:${jobId}`, to: contracts.escrow, data: giveBackCalldata(jobId) });
      journal.jobs.apply(jobId, { type: "give_back", code, message }, sec(this.#w.now()));
      return true;
    });
    if (done) log.warn({ jobId: jobId.toString(), code }, "job given back on-chain: it cannot run here");
  }

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
        this.#w.journal,
        this.#signer,
        group.map((g) => g.completion),
        sec(this.#w.now()),
        (c, error) => this.#w.recordError(error, `job ${c.jobId}: journaling its result failed`, "error"),
      );
      for (const item of planned) this.#onReceipt(item);
      if (group.length > 1) this.#w.log.debug({ jobs: group.length }, "group commit");
    } catch (error) {
      // Nothing of the group committed: its jobs are still `running` in the journal and run again.
      this.#w.recordError(error, `group commit of ${group.length} job(s) failed`, "error");
    } finally {
      for (const g of group) g.committed();
    }
  }
}
