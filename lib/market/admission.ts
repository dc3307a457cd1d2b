/**
 * Admission: whether a provider runs a job. One rule, used twice: the relayer decides with it before it accepts a job
 * on-chain, and a client checks a provider's published offer (`GET /api/v1/offer`, {@link ./offer.ts}) with it before
 * it escrows anything. Pure: no clock, no I/O.
 */
import { escrowFor } from "../money/prices.js";

/** What a provider is willing to run for one model. */
export interface ModelPolicy {
  /** Lowest rate (token base units per unit) worth taking. */
  minRate: bigint;
  /** Largest job, in milli-units, this machine will run for the model (bounds run time and memory). */
  maxUnitsMilli: bigint;
}

export interface PolicyConfig {
  /** This provider's lower-case 0x address. */
  provider: string;
  /** Models served, by the on-chain model name. */
  models: ReadonlyMap<string, ModelPolicy>;
  /** Most jobs accepted but not yet finished at the same time. */
  maxConcurrentJobs: number;
  /** Largest escrow (base units) one job may lock; `null` for no cap. Limits exposure to one client. */
  maxJobPrice: bigint | null;
  /**
   * Seconds kept free after the longest possible run (`maxUnitsMilli / 1000` GPU-seconds) for the accept transaction,
   * queueing, batching and the settlement transaction. A job whose deadline leaves less is skipped.
   */
  deadlineMarginSeconds: number;
  /** Longest prompt accepted, in bytes. */
  maxPromptBytes: number;
  /**
   * Seconds the batcher needs after a run: the longest a receipt waits for its batch plus the settlement margin the
   * planner keeps before a deadline. The deadline check uses the larger of this and `deadlineMarginSeconds`, so a job
   * accepted here is never dropped by the batcher for want of time. Default 0.
   */
  settlementMarginSeconds?: number;
  /** The runtime's context window in tokens (prompt + generation), or `null`/absent when unknown. */
  contextTokens?: number | null;
  /** Tokens the runtime generates per job (`run.maxTokens`); counts against the context. Default 0. */
  maxTokens?: number;
}

/** One `JobCreated` event, as the policy needs it. */
export interface JobOffer {
  jobId: bigint;
  model: string;
  /** Addressed provider (lower-case), or `null` for an open job. */
  addressedProvider: string | null;
  maxUnitsMilli: bigint;
  rate: bigint;
  /** Unix seconds. */
  deadline: number;
  prompt: Uint8Array;
  /**
   * Prompt length in the runtime's tokens, counted by its tokenizer, or a conservative bound (bytes + 2: a byte-level
   * tokenizer never makes more than one token per byte, plus the start and leading-space tokens). Absent: not checked.
   */
  promptTokens?: number;
}

export const DECISION_REASONS = [
  "ACCEPT",
  "ADDRESSED_TO_OTHER",
  "MODEL_NOT_SERVED",
  "RATE_TOO_LOW",
  "UNITS_TOO_LARGE",
  "PRICE_TOO_HIGH",
  "DEADLINE_TOO_CLOSE",
  "PROMPT_EMPTY",
  "PROMPT_TOO_LONG",
  "PROMPT_NOT_UTF8",
  "AT_CAPACITY",
  /** A private job whose envelope carries no key of this provider's (or a relayer that runs public jobs only). */
  "NOT_A_RECIPIENT",
  /** A private job whose envelope is malformed or does not open. */
  "BAD_ENVELOPE",
] as const;

export type DecisionReason = (typeof DECISION_REASONS)[number];

export type Decision =
  | { take: true; reason: "ACCEPT" }
  | {
      take: false;
      reason: Exclude<DecisionReason, "ACCEPT">;
      /**
       * `true` when the same job may be taken later without any change to it (only `AT_CAPACITY`): the app keeps it in
       * `seen` and asks again when a slot frees up. Otherwise the job is refused for good.
       */
      retryable: boolean;
      detail: string;
    };

export interface PolicyContext {
  /** Jobs accepted and not yet finished (accepted + running). */
  activeJobs: number;
  /** Unix seconds. */
  now: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function skip(reason: Exclude<DecisionReason, "ACCEPT">, detail: string): Decision {
  return { take: false, reason, retryable: reason === "AT_CAPACITY", detail };
}

/**
 * Whether to accept a job. Checks run from the ones that can never change (who the job is for, the model, the money)
 * to the one that can (capacity), so a `retryable` answer means the job is otherwise acceptable.
 */
export function decide(config: PolicyConfig, offer: JobOffer, ctx: PolicyContext): Decision {
  if (offer.addressedProvider !== null && offer.addressedProvider !== config.provider) {
    return skip("ADDRESSED_TO_OTHER", `job is addressed to ${offer.addressedProvider}`);
  }
  const model = config.models.get(offer.model);
  if (model === undefined) return skip("MODEL_NOT_SERVED", `model ${offer.model} is not served here`);
  if (offer.rate < model.minRate) {
    return skip("RATE_TOO_LOW", `rate ${offer.rate} is below the minimum ${model.minRate} for ${offer.model}`);
  }
  if (offer.maxUnitsMilli > model.maxUnitsMilli) {
    return skip("UNITS_TOO_LARGE", `maxUnitsMilli ${offer.maxUnitsMilli} exceeds ${model.maxUnitsMilli} for ${offer.model}`);
  }
  if (config.maxJobPrice !== null) {
    const escrow = escrowFor(offer.maxUnitsMilli, offer.rate);
    if (escrow > config.maxJobPrice) return skip("PRICE_TOO_HIGH", `escrow ${escrow} exceeds the cap ${config.maxJobPrice}`);
  }
  if (offer.prompt.length === 0) return skip("PROMPT_EMPTY", "prompt is empty");
  if (offer.prompt.length > config.maxPromptBytes) {
    return skip("PROMPT_TOO_LONG", `prompt is ${offer.prompt.length} bytes, the limit is ${config.maxPromptBytes}`);
  }
  if (!isUtf8(offer.prompt)) return skip("PROMPT_NOT_UTF8", "prompt is not valid UTF-8");
  const context = config.contextTokens ?? null;
  if (context !== null && offer.promptTokens !== undefined) {
    const needed = offer.promptTokens + (config.maxTokens ?? 0);
    if (needed > context) {
      return skip("PROMPT_TOO_LONG", `prompt is ${offer.promptTokens} tokens; with ${config.maxTokens ?? 0} to generate it needs ${needed}, the runtime's context holds ${context}`);
    }
  }
  // The runtime stops at maxUnits GPU-seconds, so that bounds the run; the margin covers everything around it.
  const longestRun = Number((offer.maxUnitsMilli + 999n) / 1000n);
  const needed = longestRun + Math.max(config.deadlineMarginSeconds, config.settlementMarginSeconds ?? 0);
  const left = offer.deadline - ctx.now;
  if (left < needed) return skip("DEADLINE_TOO_CLOSE", `${left} s left before the deadline, ${needed} s needed`);
  if (ctx.activeJobs >= config.maxConcurrentJobs) {
    return skip("AT_CAPACITY", `${ctx.activeJobs} of ${config.maxConcurrentJobs} job slots in use`);
  }
  return { take: true, reason: "ACCEPT" };
}
