import { expect } from "chai";

import { codeOf as code } from "../../fixtures/errors.js";
import { checkOffer, guaranteedPromptBytes, offerJson, parseOffer, type Offer, type ProposedJob } from "../../../lib/market/offer.js";

const E18 = 10n ** 18n;
const PROVIDER = `0x${"ab".repeat(20)}`;

function offer(overrides: Partial<Offer> = {}): Offer {
  return {
    provider: PROVIDER,
    chainId: 31337n,
    escrow: `0x${"cd".repeat(20)}`,
    encryptionKey: new Uint8Array(32).fill(7),
    accepts: { public: true, private: true },
    models: [{ name: "llama3.2", minRate: E18, maxUnitsMilli: 60_000n }],
    limits: { maxPromptBytes: 4_000, contextTokens: 2_048, maxTokens: 256, deadlineMarginSeconds: 60, maxJobPrice: null },
    capacity: { maxConcurrentJobs: 4, activeJobs: 0 },
    health: { status: "ok", reasons: [] },
    ...overrides,
  };
}

const NOW = 1_800_000_000;

function job(overrides: Partial<ProposedJob> = {}): ProposedJob {
  return {
    model: "llama3.2",
    rate: 2n * E18,
    maxUnitsMilli: 5_000n,
    deadline: NOW + 3_600,
    prompt: new TextEncoder().encode("hello"),
    private: true,
    addressedProvider: null,
    ...overrides,
  };
}


describe("lib/market/offer: what a provider publishes and the client's check", function () {
  it("round-trips through its wire format", function () {
    const o = offer({ limits: { ...offer().limits, maxJobPrice: 123n * E18 } });
    expect(parseOffer(offerJson(o))).to.deep.equal(o);
    const none = offer({ encryptionKey: null, accepts: { public: true, private: false } });
    expect(parseOffer(offerJson(none))).to.deep.equal(none);
  });

  it("refuses a malformed offer by field, with OFFER_MALFORMED", function () {
    const wire = JSON.parse(offerJson(offer())) as Record<string, unknown>;
    expect(code(() => parseOffer("<html>"))).to.equal("OFFER_MALFORMED");
    for (const broken of [
      { ...wire, version: 2 },
      { ...wire, provider: "0xABC" },
      { ...wire, chain_id: 31337 },
      { ...wire, encryption_key: "0x1234" },
      { ...wire, extra: true },
      { ...wire, models: [{ name: "llama3.2", min_rate: "-1", max_units_milli: "1" }] },
      { ...wire, health: { status: "fine", reasons: [] } },
    ]) {
      expect(code(() => parseOffer(JSON.stringify(broken))), JSON.stringify(broken).slice(0, 80)).to.equal("OFFER_MALFORMED");
    }
  });

  it("publishes only prompts that certainly fit the runtime's context", function () {
    expect(guaranteedPromptBytes({ maxPromptBytes: 65_536, contextTokens: 2_048, maxTokens: 256 })).to.equal(2_048 - 256 - 2);
    expect(guaranteedPromptBytes({ maxPromptBytes: 1_000, contextTokens: 2_048, maxTokens: 256 })).to.equal(1_000);
    expect(guaranteedPromptBytes({ maxPromptBytes: 1_000, contextTokens: null, maxTokens: 256 })).to.equal(1_000);
    expect(guaranteedPromptBytes({ maxPromptBytes: 1_000, contextTokens: 100, maxTokens: 99 })).to.equal(0);
  });

  it("accepts a job the relayer would run, and warns (does not refuse) at capacity", function () {
    expect(checkOffer(offer(), job(), NOW)).to.deep.equal({ ok: true, warnings: [] });
    const busy = checkOffer(offer({ capacity: { maxConcurrentJobs: 4, activeJobs: 4 } }), job(), NOW);
    expect(busy.ok).to.equal(true);
    expect(busy.ok && busy.warnings.length).to.equal(1);
  });

  it("refuses each case with the relayer's own reason", function () {
    const cases: [string, Offer, ProposedJob][] = [
      ["MODEL_NOT_SERVED", offer(), job({ model: "codellama" })],
      ["UNITS_TOO_LARGE", offer(), job({ maxUnitsMilli: 60_001n })],
      ["DEADLINE_TOO_CLOSE", offer(), job({ deadline: NOW + 60 + 5 - 1 })],
      ["PROMPT_NOT_UTF8", offer(), job({ prompt: new Uint8Array([0x68, 0xff, 0x69]) })],
      ["PROMPT_EMPTY", offer(), job({ prompt: new Uint8Array() })],
      ["PROMPT_TOO_LONG", offer(), job({ prompt: new Uint8Array(4_001).fill(0x61) })],
      ["RATE_TOO_LOW", offer(), job({ rate: E18 - 1n })],
      ["PRICE_TOO_HIGH", offer({ limits: { ...offer().limits, maxJobPrice: E18 } }), job()],
      ["ADDRESSED_TO_OTHER", offer(), job({ addressedProvider: `0x${"ef".repeat(20)}` })],
      ["PRIVATE_NOT_OFFERED", offer({ encryptionKey: null }), job()],
      ["PRIVATE_NOT_OFFERED", offer({ accepts: { public: true, private: false } }), job()],
      ["PUBLIC_NOT_OFFERED", offer({ accepts: { public: false, private: true } }), job({ private: false })],
      ["DEGRADED", offer({ health: { status: "degraded", reasons: ["RUNTIME_DOWN"] } }), job()],
    ];
    for (const [reason, o, j] of cases) {
      const verdict = checkOffer(o, j, NOW);
      expect(verdict.ok ? "ok" : verdict.reason, reason).to.equal(reason);
    }
    // The deadline boundary: the longest run (5 s) plus the margin (60 s) is exactly enough.
    expect(checkOffer(offer(), job({ deadline: NOW + 65 }), NOW).ok).to.equal(true);
    expect(checkOffer(offer(), job({ addressedProvider: PROVIDER }), NOW).ok).to.equal(true);
  });
});
