import { expect } from "chai";

import { isRelayerError } from "../../../relayer/core/errors.js";
import { decide, validatePolicyConfig, type JobOffer, type PolicyConfig } from "../../../relayer/core/policy.js";

const PROVIDER = `0x${"aa".repeat(20)}`;
const E18 = 10n ** 18n;

function config(over: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    provider: PROVIDER,
    models: new Map([
      ["llama3.2", { minRate: 2n * E18, maxUnitsMilli: 60_000n }],
      ["llama3.2:1b", { minRate: E18 / 2n, maxUnitsMilli: 30_000n }],
    ]),
    maxConcurrentJobs: 2,
    maxJobPrice: 100n * E18,
    deadlineMarginSeconds: 300,
    maxPromptBytes: 1024,
    ...over,
  };
}

function offer(over: Partial<JobOffer> = {}): JobOffer {
  return {
    jobId: 1n,
    model: "llama3.2",
    addressedProvider: null,
    maxUnitsMilli: 10_000n,
    rate: 2n * E18,
    deadline: 1_000 + 10 + 300,
    prompt: new TextEncoder().encode("hello"),
    ...over,
  };
}

const ctx = { activeJobs: 0, now: 1_000 };

describe("relayer/core/policy", () => {
  it("accepts a job that fits every rule, open or addressed to us", () => {
    expect(decide(config(), offer(), ctx)).to.deep.equal({ take: true, reason: "ACCEPT" });
    expect(decide(config(), offer({ addressedProvider: PROVIDER }), ctx).take).to.equal(true);
  });

  const cases: [string, Partial<JobOffer>, string][] = [
    ["addressed to someone else", { addressedProvider: `0x${"bb".repeat(20)}` }, "ADDRESSED_TO_OTHER"],
    ["a model we do not serve", { model: "codellama" }, "MODEL_NOT_SERVED"],
    ["a rate below the minimum", { rate: 2n * E18 - 1n }, "RATE_TOO_LOW"],
    ["more units than we run", { maxUnitsMilli: 60_001n, deadline: 10_000 }, "UNITS_TOO_LARGE"],
    ["an empty prompt", { prompt: new Uint8Array() }, "PROMPT_EMPTY"],
    ["a prompt over the limit", { prompt: new Uint8Array(1025).fill(65) }, "PROMPT_TOO_LONG"],
    ["a prompt that is not UTF-8", { prompt: new Uint8Array([0xc3, 0x28]) }, "PROMPT_NOT_UTF8"],
    ["a deadline one second too close", { deadline: 1_000 + 10 + 300 - 1 }, "DEADLINE_TOO_CLOSE"],
    ["a deadline already passed", { deadline: 999 }, "DEADLINE_TOO_CLOSE"],
  ];
  for (const [what, over, reason] of cases) {
    it(`skips ${what} (${reason}), not retryable`, () => {
      const d = decide(config(), offer(over), ctx);
      expect(d.take).to.equal(false);
      expect(d.reason).to.equal(reason);
      expect(d.take === false && d.retryable).to.equal(false);
    });
  }

  it("prompt exactly at the limit is fine", () => {
    expect(decide(config(), offer({ prompt: new Uint8Array(1024).fill(65) }), ctx).take).to.equal(true);
  });

  it("rounds the run time up: 10.001 GPU-seconds need 11 s plus the margin", () => {
    const o = offer({ maxUnitsMilli: 10_001n, deadline: 1_000 + 11 + 300 });
    expect(decide(config(), o, ctx).take).to.equal(true);
    expect(decide(config(), { ...o, deadline: o.deadline - 1 }, ctx).reason).to.equal("DEADLINE_TOO_CLOSE");
  });

  it("caps the escrow a job may lock (ceil(maxUnitsMilli × rate / 1000))", () => {
    // 50 GPU-s at 2 AITBC = 100 AITBC: at the cap; one more milli-unit rounds up above it.
    const far = { deadline: 100_000 };
    expect(decide(config(), offer({ ...far, maxUnitsMilli: 50_000n }), ctx).take).to.equal(true);
    expect(decide(config(), offer({ ...far, maxUnitsMilli: 50_001n }), ctx).reason).to.equal("PRICE_TOO_HIGH");
    expect(decide(config({ maxJobPrice: null }), offer({ ...far, maxUnitsMilli: 60_000n }), ctx).take).to.equal(true);
  });

  it("at capacity the answer is retryable and comes only after every fixed rule passed", () => {
    const d = decide(config(), offer(), { activeJobs: 2, now: 1_000 });
    expect(d).to.include({ take: false, reason: "AT_CAPACITY", retryable: true });
    expect(decide(config(), offer({ model: "codellama" }), { activeJobs: 2, now: 1_000 }).reason).to.equal("MODEL_NOT_SERVED");
    expect(decide(config(), offer(), { activeJobs: 1, now: 1_000 }).take).to.equal(true);
  });

  it("validates the configuration with a coded error", () => {
    const bad: Partial<PolicyConfig>[] = [
      { provider: "0x1234" },
      { models: new Map() },
      { models: new Map([["m", { minRate: -1n, maxUnitsMilli: 1n }]]) },
      { models: new Map([["m", { minRate: 1n, maxUnitsMilli: 0n }]]) },
      { maxConcurrentJobs: 0 },
      { maxJobPrice: 0n },
      { deadlineMarginSeconds: -1 },
      { maxPromptBytes: 0 },
    ];
    for (const b of bad) {
      let caught: unknown;
      try {
        validatePolicyConfig(config(b));
      } catch (error) {
        caught = error;
      }
      expect(isRelayerError(caught, "RELAYER_INVALID_CONFIG"), JSON.stringify(Object.keys(b))).to.equal(true);
    }
    expect(validatePolicyConfig(config())).to.be.an("object");
  });
});
