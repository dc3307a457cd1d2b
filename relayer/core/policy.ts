import { RelayerError } from "./errors.js";
import type { PolicyConfig } from "../../lib/market/admission.js";

export { DECISION_REASONS, decide, type Decision, type DecisionReason, type JobOffer, type ModelPolicy, type PolicyConfig, type PolicyContext } from "../../lib/market/admission.js";

const ADDRESS = /^0x[0-9a-f]{40}$/;

/** Checks a configuration once, at start-up, so that {@link decide} never meets a nonsensical one. */
export function validatePolicyConfig(config: PolicyConfig): PolicyConfig {
  const problems: string[] = [];
  if (!ADDRESS.test(config.provider)) problems.push("provider must be a lower-case 0x address");
  if (config.models.size === 0) problems.push("at least one model must be served");
  for (const [name, m] of config.models) {
    if (name.length === 0) problems.push("model names must not be empty");
    if (m.minRate < 0n) problems.push(`model ${name}: minRate must not be negative`);
    if (m.maxUnitsMilli <= 0n) problems.push(`model ${name}: maxUnitsMilli must be positive`);
  }
  if (!Number.isSafeInteger(config.maxConcurrentJobs) || config.maxConcurrentJobs < 1) {
    problems.push("maxConcurrentJobs must be an integer ≥ 1");
  }
  if (config.maxJobPrice !== null && config.maxJobPrice <= 0n) problems.push("maxJobPrice must be positive or null");
  if (!Number.isSafeInteger(config.deadlineMarginSeconds) || config.deadlineMarginSeconds < 0) {
    problems.push("deadlineMarginSeconds must be an integer ≥ 0");
  }
  if (!Number.isSafeInteger(config.maxPromptBytes) || config.maxPromptBytes < 1) {
    problems.push("maxPromptBytes must be an integer ≥ 1");
  }
  const margin = config.settlementMarginSeconds ?? 0;
  if (!Number.isSafeInteger(margin) || margin < 0) problems.push("settlementMarginSeconds must be an integer ≥ 0");
  const ctx = config.contextTokens ?? null;
  if (ctx !== null && (!Number.isSafeInteger(ctx) || ctx < 1)) problems.push("contextTokens must be a positive integer or null");
  const gen = config.maxTokens ?? 0;
  if (!Number.isSafeInteger(gen) || gen < 0) problems.push("maxTokens must be an integer ≥ 0");
  if (ctx !== null && gen >= ctx) problems.push(`maxTokens (${gen}) leaves no room for a prompt in a context of ${ctx} tokens`);
  if (problems.length > 0) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `invalid job policy: ${problems.join("; ")}`, {
      details: { problems },
      hint: "fix the relayer configuration file and restart",
    });
  }
  return config;
}
