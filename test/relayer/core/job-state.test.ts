import { expect } from "chai";

import { isRelayerError } from "../../../relayer/core/errors.js";
import {
  canTransition,
  JOB_STATES,
  newJob,
  TERMINAL_STATES,
  transition,
  TRANSITIONS,
  type JobEvent,
  type JobOrigin,
  type JobRecord,
  type JobState,
} from "../../../relayer/core/job-state.js";

const H = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

export function origin(jobId = 7n): JobOrigin {
  return {
    jobId,
    model: "llama3.2",
    client: `0x${"c1".repeat(20)}`,
    addressedProvider: null,
    maxUnitsMilli: 10_000n,
    rate: 2n * 10n ** 18n,
    deadline: 10_000,
    inputHash: H(1),
    createdBlock: 5,
    createdTxHash: H(2),
  };
}

/** One event that leads to each target state (no event leads back to seen). */
const EVENT_FOR: Record<Exclude<JobState, "seen">, JobEvent> = {
  accepted: { type: "accept", txHash: H(3) },
  running: { type: "start" },
  done: { type: "complete", unitsMilli: 2_500n, resultHash: H(4), startedAt: 100, completedAt: 103 },
  signed: { type: "sign", receiptId: "rcpt-7", receiptHash: "ab".repeat(32) },
  batched: { type: "batch", batchId: 1 },
  settled: { type: "settle", txHash: H(5), blockNumber: 99 },
  finalized: { type: "finalize" },
  failed: { type: "fail", code: "RUNTIME_CRASHED", message: "boom" },
  expired: { type: "expire" },
  refused: { type: "refuse", reason: "PROMPT_TOO_LONG" },
  given_back: { type: "give_back", code: "RUNTIME_UNAVAILABLE", message: "the runtime did not answer" },
};

function eventTo(from: JobState, to: Exclude<JobState, "seen">): JobEvent {
  if (from === "batched" && to === "signed") return { type: "unbatch" };
  if (from === "settled" && to === "batched") return { type: "reorg" };
  return EVENT_FOR[to];
}

/** A record in `state`, reached along the happy path where possible. */
function jobIn(state: JobState): JobRecord {
  const path: Record<JobState, Exclude<JobState, "seen">[]> = {
    seen: [],
    accepted: ["accepted"],
    running: ["accepted", "running"],
    done: ["accepted", "running", "done"],
    signed: ["accepted", "running", "done", "signed"],
    batched: ["accepted", "running", "done", "signed", "batched"],
    settled: ["accepted", "running", "done", "signed", "batched", "settled"],
    finalized: ["accepted", "running", "done", "signed", "batched", "settled", "finalized"],
    failed: ["failed"],
    expired: ["expired"],
    refused: ["refused"],
    given_back: ["accepted", "given_back"],
  };
  let job = newJob(origin(), 1);
  let from: JobState = "seen";
  for (const to of path[state]) {
    job = transition(job, eventTo(from, to), 2);
    from = to;
  }
  return job;
}

function expectCode(fn: () => unknown, code: Parameters<typeof isRelayerError>[1]): void {
  try {
    fn();
  } catch (error) {
    expect(isRelayerError(error, code), `expected ${code}, got ${String(error)}`).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("relayer/core/job-state", () => {
  it("terminal states are exactly finalized, failed, expired, refused, given_back", () => {
    expect([...TERMINAL_STATES].sort()).to.deep.equal(["expired", "failed", "finalized", "given_back", "refused"]);
  });

  it("only an accepted or running job can be given back, and it keeps why", () => {
    expect(JOB_STATES.filter((s) => canTransition(s, "given_back")).sort()).to.deep.equal(["accepted", "running"]);
    expect(jobIn("given_back").failure).to.deep.equal({ code: "RUNTIME_UNAVAILABLE", message: "the runtime did not answer" });
  });

  for (const from of JOB_STATES) {
    for (const to of JOB_STATES) {
      if (to === "seen") continue;
      const legal = canTransition(from, to);
      it(`${from} → ${to} is ${legal ? "legal" : "illegal"}`, () => {
        const job = jobIn(from);
        expect(job.state).to.equal(from);
        if (legal) {
          const next = transition(job, eventTo(from, to), 50);
          expect(next.state).to.equal(to);
          expect(next.updatedAt).to.equal(50);
          expect(job.state, "input record untouched").to.equal(from);
        } else {
          expectCode(() => transition(job, eventTo(from, to), 50), "RELAYER_ILLEGAL_TRANSITION");
        }
      });
    }
  }

  it("the table never leads back to seen", () => {
    for (const s of JOB_STATES) expect(TRANSITIONS[s]).to.not.include("seen");
  });

  it("carries resume data: accept hash, result, receipt, batch, settlement", () => {
    const j = jobIn("settled");
    expect(j.acceptTxHash).to.equal(H(3));
    expect(j.unitsMilli).to.equal(2_500n);
    expect(j.resultHash).to.equal(H(4));
    expect([j.startedAt, j.completedAt]).to.deep.equal([100, 103]);
    expect(j.receiptId).to.equal("rcpt-7");
    expect(j.batchId).to.equal(1);
    expect([j.settleTxHash, j.settleBlock]).to.deep.equal([H(5), 99]);
  });

  it("unbatch clears the batch id, reorg clears the settlement", () => {
    expect(transition(jobIn("batched"), { type: "unbatch" }, 3).batchId).to.equal(null);
    const r = transition(jobIn("settled"), { type: "reorg" }, 3);
    expect([r.settleTxHash, r.settleBlock, r.batchId]).to.deep.equal([null, null, 1]);
  });

  it("a restart re-enters running and counts attempts", () => {
    const once = jobIn("running");
    expect(once.runAttempts).to.equal(1);
    expect(transition(once, { type: "start" }, 3).runAttempts).to.equal(2);
  });

  it("records failure and refusal reasons", () => {
    expect(jobIn("failed").failure).to.deep.equal({ code: "RUNTIME_CRASHED", message: "boom" });
    expect(jobIn("refused").refusal).to.equal("PROMPT_TOO_LONG");
  });

  it("refuses completion with zero units, units above the maximum, or time running backwards", () => {
    const running = jobIn("running");
    const base = { type: "complete" as const, resultHash: H(4), startedAt: 10, completedAt: 11 };
    expectCode(() => transition(running, { ...base, unitsMilli: 0n }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(running, { ...base, unitsMilli: 10_001n }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(running, { ...base, unitsMilli: 1n, completedAt: 9 }, 3), "RELAYER_INVALID_JOB_DATA");
    expect(transition(running, { ...base, unitsMilli: 10_000n }, 3).unitsMilli).to.equal(10_000n);
  });

  it("refuses malformed hashes and ids in events", () => {
    expectCode(() => transition(jobIn("seen"), { type: "accept", txHash: "0x12" }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(jobIn("done"), { type: "sign", receiptId: "r", receiptHash: "0x" + "ab".repeat(32) }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(jobIn("done"), { type: "sign", receiptId: "", receiptHash: "ab".repeat(32) }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(jobIn("signed"), { type: "batch", batchId: 0 }, 3), "RELAYER_INVALID_JOB_DATA");
    expectCode(() => transition(jobIn("batched"), { type: "settle", txHash: H(1), blockNumber: -1 }, 3), "RELAYER_INVALID_JOB_DATA");
  });

  it("refuses malformed job origins", () => {
    const bad: Partial<JobOrigin>[] = [
      { client: "0xABC" },
      { client: `0x${"C1".repeat(20)}` },
      { addressedProvider: "nope" },
      { maxUnitsMilli: 0n },
      { rate: -1n },
      { deadline: 1.5 },
      { inputHash: "0x00" },
      { model: "" },
      { jobId: -1n },
      { createdTxHash: "x" },
    ];
    for (const b of bad) expectCode(() => newJob({ ...origin(), ...b }, 1), "RELAYER_INVALID_JOB_DATA");
  });
});
