import type { FailedEvent } from "../adapters/chain/sender.js";
import { decide, type PolicyConfig } from "../core/policy.js";
import { acceptCalldata } from "./contracts.js";
import type { PrivateJobs } from "./private.js";
import { sec, type Work } from "./work.js";

/** Waiting jobs read per pass beyond the free job slots, so that refusals do not hold the next jobs back a pass. */
const DECIDE_SLACK = 64;

/**
 * Decide and accept: runs the job policy over every `seen` job and sends the accept transactions (several waiting
 * jobs share one `acceptJobs`), and reconciles an accept that will not land job by job with the chain.
 */
export class Acceptor {
  readonly #w: Work;
  readonly #policy: PolicyConfig;
  readonly #contextTokens: number | null;
  readonly #countTokens: (prompt: Uint8Array) => number;
  /** Jobs with an accept transaction in flight, or accepted on-chain and waiting for the confirmed event. */
  readonly #pending = new Map<string, number>();
  /** Jobs whose group accept failed while they were still open: they go alone next time. */
  readonly #solo = new Set<string>();

  readonly #private: PrivateJobs;
  readonly #runtimeUp: () => boolean;

  constructor(
    work: Work,
    policy: PolicyConfig,
    tokens: { contextTokens: number | null; countTokens: (prompt: Uint8Array) => number },
    privateJobs: PrivateJobs,
    runtimeUp: () => boolean,
  ) {
    this.#w = work;
    this.#policy = policy;
    this.#private = privateJobs;
    this.#runtimeUp = runtimeUp;
    this.#contextTokens = tokens.contextTokens;
    this.#countTokens = tokens.countTokens;
  }

  /** Jobs counted as taken while their accept is on its way. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The accept transaction `txId` carries these jobs (on start-up, and when the sender queued it again). */
  track(jobIds: readonly string[], txId: number): void {
    for (const id of jobIds) this.#pending.set(id, txId);
  }

  /** The job's accept landed on-chain (for this provider or another). */
  landed(jobId: bigint): void {
    this.#pending.delete(jobId.toString());
  }

  /**
   * Decides every `seen` job. Nothing is accepted while the runtime does not answer: the jobs wait in `seen` (their
   * deadline check runs again once it is back). A private job is decided on its opened prompt, which stays in memory.
   */
  async decide(): Promise<void> {
    const { journal, log } = this.#w;
    if (!this.#runtimeUp()) return;
    // At capacity nothing can be taken: the waiting jobs are not even read. Under a load above what the machine
    // runs, deciding every waiting job again on every pass would cost more with each job that arrives (and take the
    // CPU the runs need), so jobs are decided only while there is room, oldest first.
    const counts = journal.metrics().jobsByState;
    let active = counts.accepted + counts.running + this.#pending.size;
    if (counts.seen === 0 || active >= this.#policy.maxConcurrentJobs) return;
    // The oldest waiting jobs, a few more than there is room for (some may be refused); the rest wait their turn.
    const seen = journal.jobs.oldest("seen", this.#policy.maxConcurrentJobs - active + DECIDE_SLACK);
    const nowSec = sec(this.#w.now());
    const group: bigint[] = [];
    const solo: bigint[] = [];
    for (const job of seen) {
      if (active >= this.#policy.maxConcurrentJobs) break;
      const key = job.jobId.toString();
      if (this.#pending.has(key)) continue;
      const opened = await this.#private.open(job, journal.jobs.prompt(job.jobId) ?? new Uint8Array());
      if (!opened.ok) {
        if (journal.jobs.get(job.jobId)?.state !== "seen") continue;
        journal.jobs.applyEvent(job.jobId, { type: "refuse", reason: `${opened.reason}: ${opened.detail}` }, nowSec);
        log.info({ jobId: key, reason: opened.reason }, "private job refused");
        continue;
      }
      const prompt = opened.prompt;
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
        if (journal.jobs.get(job.jobId)?.state !== "seen") continue;
        journal.jobs.applyEvent(job.jobId, { type: "refuse", reason: `${decision.reason}: ${decision.detail}` }, nowSec);
        log.info({ jobId: key, reason: decision.reason }, "job refused");
        continue;
      }
      active++;
      (this.#solo.has(key) ? solo : group).push(job.jobId);
    }
    const size = this.#w.settings.maxAcceptBatch;
    for (let i = 0; i < group.length; i += size) this.#submit(group.slice(i, i + size));
    for (const id of solo) this.#submit([id]);
  }

  #promptTokens(prompt: Uint8Array): number {
    try {
      return this.#countTokens(prompt);
    } catch {
      // Not decodable as the tokenizer wants it: the UTF-8 check of the policy refuses it anyway.
      return prompt.length + 2;
    }
  }

  #submit(ids: bigint[]): void {
    const key = ids.join(",");
    const { tx } = this.#w.sender.submit({ purpose: "accept", idempotencyKey: key, to: this.#w.contracts.escrow, data: acceptCalldata(ids) });
    for (const id of ids) this.#pending.set(id.toString(), tx.id);
    this.#w.log.debug({ jobs: key, txId: tx.id }, "accept submitted");
  }

  /** An accept transaction will not land: find out, job by job, what the chain says and act on it. */
  async onFailed(ids: string[], event: FailedEvent): Promise<void> {
    const { journal, market, log } = this.#w;
    const views = await Promise.all(ids.map((id) => market.job(BigInt(id))));
    const chainNow = await this.#w.chainNow();
    const nowSec = sec(this.#w.now());
    views.forEach((view, i) => {
      const id = ids[i];
      if (view.status === "Accepted" && view.provider === this.#w.provider) return; // the confirmed event will follow
      this.#pending.delete(id);
      const job = journal.jobs.get(BigInt(id));
      if (job === null || job.state !== "seen") return;
      if (view.status === "Open" && view.deadline > chainNow && ids.length > 1) {
        this.#solo.add(id);
        return;
      }
      journal.jobs.applyEvent(BigInt(id), { type: "refuse", reason: `ACCEPT_FAILED: ${event.code}; on-chain status ${view.status}` }, nowSec);
      log.info({ jobId: id, status: view.status, code: event.code }, "accept failed; job refused");
    });
  }
}
