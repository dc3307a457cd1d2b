import { expect } from "chai";

import { isRelayerError } from "../../../relayer/core/errors.js";
import { assessHealth, validateHealthThresholds } from "../../../relayer/core/health.js";

const T = { maxRecentRpcErrors: 3, maxJournalLagBlocks: 12 };
const OK = { rpcErrorsRecent: 0, runtimeUp: true, chainHead: 100, journalBlock: 95 };

describe("relayer/core/health", () => {
  it("is ok when every input is inside its threshold", () => {
    expect(assessHealth(OK, T)).to.deep.equal({ status: "ok", reasons: [], journalLagBlocks: 5 });
    expect(assessHealth({ ...OK, rpcErrorsRecent: 2, journalBlock: 88 }, T).status).to.equal("ok");
  });

  it("names every reason for degradation", () => {
    const r = assessHealth({ rpcErrorsRecent: 3, runtimeUp: false, chainHead: 100, journalBlock: 87 }, T);
    expect(r.status).to.equal("degraded");
    expect(r.reasons.map((x) => x.code)).to.deep.equal(["RPC_ERRORS", "RUNTIME_DOWN", "JOURNAL_LAG"]);
    expect(assessHealth({ ...OK, chainHead: null }, T).reasons.map((x) => x.code)).to.deep.equal(["CHAIN_UNKNOWN"]);
    expect(assessHealth({ ...OK, journalBlock: null }, T).reasons.map((x) => x.code)).to.deep.equal(["JOURNAL_LAG"]);
  });

  it("validates thresholds", () => {
    for (const bad of [{ ...T, maxRecentRpcErrors: 0 }, { ...T, maxJournalLagBlocks: -1 }]) {
      let caught: unknown;
      try {
        validateHealthThresholds(bad);
      } catch (error) {
        caught = error;
      }
      expect(isRelayerError(caught, "RELAYER_INVALID_CONFIG")).to.equal(true);
    }
  });
});
