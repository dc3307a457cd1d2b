/**
 * A provider's offer: what its relayer publishes at `GET /api/v1/offer` (at the service URL the provider registers
 * on-chain), so a client knows before it pays whether the job will run. The terms are the relayer's own admission
 * policy ({@link ./admission.ts}); a client checks a job against them with {@link checkOffer}, the same rule the
 * relayer applies when the job appears on-chain.
 *
 * Wire format (JSON; token amounts, rates and milli-units are decimal strings):
 *
 * ```json
 * { "version": 1, "provider": "0x…", "chain_id": "31337", "escrow": "0x…",
 *   "encryption_key": "0x…32 bytes" | null, "accepts": { "public": true, "private": true },
 *   "models": [ { "name": "llama3.2", "min_rate": "0", "max_units_milli": "60000" } ],
 *   "limits": { "max_prompt_bytes": 4096, "context_tokens": 2048 | null, "max_tokens": 256,
 *               "deadline_margin_seconds": 60, "max_job_price": "…" | null },
 *   "capacity": { "max_concurrent_jobs": 256, "active_jobs": 3 },
 *   "health": { "status": "ok" | "degraded", "reasons": ["…"] } }
 * ```
 *
 * `max_prompt_bytes` is the largest prompt that certainly fits: where the runtime's context is known, it is at most
 * `context_tokens − max_tokens − 2` (a byte never makes more than one token, plus two for the start). A longer prompt
 * may still fit (the relayer counts its real tokens), but a client cannot know before paying.
 */
import { z } from "zod";

import { AitbcError } from "../errors.js";
import { fromHex, toHex } from "../receipts/encoding.js";
import { decide, type Decision, type DecisionReason, type ModelPolicy, type PolicyConfig } from "./admission.js";

export const OFFER_VERSION = 1;

export interface Offer {
  provider: string;
  chainId: bigint;
  escrow: string;
  /** The X25519 key private prompts are sealed to, 32 bytes; `null` when the relayer runs public jobs only. */
  encryptionKey: Uint8Array | null;
  accepts: { public: boolean; private: boolean };
  models: { name: string; minRate: bigint; maxUnitsMilli: bigint }[];
  limits: {
    maxPromptBytes: number;
    contextTokens: number | null;
    maxTokens: number;
    /** Seconds the relayer needs after the longest run, before the deadline (accept, batching, settlement). */
    deadlineMarginSeconds: number;
    maxJobPrice: bigint | null;
  };
  capacity: { maxConcurrentJobs: number; activeJobs: number };
  health: { status: "ok" | "degraded"; reasons: string[] };
}

const ADDRESS = /^0x[0-9a-f]{40}$/;
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const wire = z.strictObject({
  version: z.literal(OFFER_VERSION),
  provider: z.string().regex(ADDRESS),
  chain_id: decimal,
  escrow: z.string().regex(ADDRESS),
  encryption_key: z.string().regex(/^0x[0-9a-f]{64}$/).nullable(),
  accepts: z.strictObject({ public: z.boolean(), private: z.boolean() }),
  models: z
    .array(z.strictObject({ name: z.string().min(1).max(64), min_rate: decimal, max_units_milli: decimal }))
    .max(256),
  limits: z.strictObject({
    max_prompt_bytes: count,
    context_tokens: count.nullable(),
    max_tokens: count,
    deadline_margin_seconds: count,
    max_job_price: decimal.nullable(),
  }),
  capacity: z.strictObject({ max_concurrent_jobs: count, active_jobs: count }),
  health: z.strictObject({ status: z.enum(["ok", "degraded"]), reasons: z.array(z.string().max(200)).max(32) }),
});

/** Parses an offer as served; `OFFER_MALFORMED` names the first field that is wrong. */
export function parseOffer(body: string): Offer {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AitbcError("OFFER_MALFORMED", "the offer is not JSON", { hint: "Check that the service URL points at an AITBC relayer." });
  }
  const parsed = wire.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AitbcError("OFFER_MALFORMED", `the offer's ${issue.path.join(".") || "body"} is invalid: ${issue.message}`, {
      hint: "The relayer may run another version; upgrade it or the client.",
    });
  }
  const w = parsed.data;
  return {
    provider: w.provider,
    chainId: BigInt(w.chain_id),
    escrow: w.escrow,
    encryptionKey: w.encryption_key === null ? null : (fromHex(w.encryption_key) as Uint8Array),
    accepts: w.accepts,
    models: w.models.map((m) => ({ name: m.name, minRate: BigInt(m.min_rate), maxUnitsMilli: BigInt(m.max_units_milli) })),
    limits: {
      maxPromptBytes: w.limits.max_prompt_bytes,
      contextTokens: w.limits.context_tokens,
      maxTokens: w.limits.max_tokens,
      deadlineMarginSeconds: w.limits.deadline_margin_seconds,
      maxJobPrice: w.limits.max_job_price === null ? null : BigInt(w.limits.max_job_price),
    },
    capacity: { maxConcurrentJobs: w.capacity.max_concurrent_jobs, activeJobs: w.capacity.active_jobs },
    health: w.health,
  };
}

/** The JSON a relayer serves for `offer` (the inverse of {@link parseOffer}). */
export function offerJson(offer: Offer): string {
  return JSON.stringify({
    version: OFFER_VERSION,
    provider: offer.provider,
    chain_id: offer.chainId.toString(),
    escrow: offer.escrow,
    encryption_key: offer.encryptionKey === null ? null : toHex(offer.encryptionKey),
    accepts: offer.accepts,
    models: offer.models.map((m) => ({ name: m.name, min_rate: m.minRate.toString(), max_units_milli: m.maxUnitsMilli.toString() })),
    limits: {
      max_prompt_bytes: offer.limits.maxPromptBytes,
      context_tokens: offer.limits.contextTokens,
      max_tokens: offer.limits.maxTokens,
      deadline_margin_seconds: offer.limits.deadlineMarginSeconds,
      max_job_price: offer.limits.maxJobPrice?.toString() ?? null,
    },
    capacity: { max_concurrent_jobs: offer.capacity.maxConcurrentJobs, active_jobs: offer.capacity.activeJobs },
    health: offer.health,
  });
}

/**
 * The prompt limit a relayer publishes: its byte limit, and where the runtime's context is known, no more than what
 * certainly fits in it.
 */
export function guaranteedPromptBytes(policy: Pick<PolicyConfig, "maxPromptBytes" | "contextTokens" | "maxTokens">): number {
  const context = policy.contextTokens ?? null;
  if (context === null) return policy.maxPromptBytes;
  return Math.max(0, Math.min(policy.maxPromptBytes, context - (policy.maxTokens ?? 0) - 2));
}

/** A job as a client is about to submit it. */
export interface ProposedJob {
  model: string;
  /** The rate the escrow will snapshot (the rate card's). */
  rate: bigint;
  maxUnitsMilli: bigint;
  /** Unix seconds. */
  deadline: number;
  /** The plaintext prompt (what the runtime will get, sealed or not). */
  prompt: Uint8Array;
  private: boolean;
  /** The provider the job is directed to, lower-case, or `null` for an open job. */
  addressedProvider: string | null;
}

export type OfferVerdict =
  | { ok: true; warnings: string[] }
  | { ok: false; reason: DecisionReason | "PRIVATE_NOT_OFFERED" | "PUBLIC_NOT_OFFERED" | "DEGRADED"; detail: string };

/**
 * Checks a proposed job against an offer with the relayer's own rule ({@link decide}). Capacity is a warning, not a
 * refusal (a slot frees up; the relayer takes the job when one does). `now` is the chain's time in Unix seconds.
 */
export function checkOffer(offer: Offer, job: ProposedJob, now: number): OfferVerdict {
  if (offer.health.status !== "ok") return { ok: false, reason: "DEGRADED", detail: `the relayer reports degraded: ${offer.health.reasons.join("; ") || "no reason given"}` };
  if (job.private && (!offer.accepts.private || offer.encryptionKey === null)) {
    return { ok: false, reason: "PRIVATE_NOT_OFFERED", detail: "this provider does not run private jobs" };
  }
  if (!job.private && !offer.accepts.public) return { ok: false, reason: "PUBLIC_NOT_OFFERED", detail: "this provider runs private jobs only" };
  const models = new Map<string, ModelPolicy>(offer.models.map((m) => [m.name, { minRate: m.minRate, maxUnitsMilli: m.maxUnitsMilli }]));
  const terms: PolicyConfig = {
    provider: offer.provider,
    models,
    maxConcurrentJobs: Math.max(1, offer.capacity.maxConcurrentJobs),
    maxJobPrice: offer.limits.maxJobPrice,
    deadlineMarginSeconds: offer.limits.deadlineMarginSeconds,
    maxPromptBytes: offer.limits.maxPromptBytes,
  };
  const decision: Decision = decide(
    terms,
    { jobId: 0n, model: job.model, addressedProvider: job.addressedProvider, maxUnitsMilli: job.maxUnitsMilli, rate: job.rate, deadline: job.deadline, prompt: job.prompt },
    { activeJobs: 0, now },
  );
  if (!decision.take) return { ok: false, reason: decision.reason, detail: decision.detail };
  const warnings: string[] = [];
  if (offer.capacity.activeJobs >= offer.capacity.maxConcurrentJobs) {
    warnings.push(`the provider is at capacity (${offer.capacity.activeJobs} of ${offer.capacity.maxConcurrentJobs} slots); the job waits for a free slot`);
  }
  return { ok: true, warnings };
}
