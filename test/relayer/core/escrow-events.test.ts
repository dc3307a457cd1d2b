import { expect } from "chai";

import { reduceEvent, reduceRemovedEvent, type EventView } from "../../../relayer/core/escrow-events.js";
import { newJob, transition, type JobRecord, type JobState } from "../../../relayer/core/job-state.js";

const ME = `0x${"aa".repeat(20)}`;
const OTHER = `0x${"bb".repeat(20)}`;
const TX = `0x${"11".repeat(32)}`;
const at = { txHash: TX, blockNumber: 7 };

function job(state: JobState, receiptId: string | null = null): JobRecord {
  const seen = newJob(
    {
      jobId: 1n,
      model: "llama3.2",
      client: `0x${"cc".repeat(20)}`,
      addressedProvider: null,
      maxUnitsMilli: 1000n,
      rate: 1n,
      deadline: 10_000,
      inputHash: `0x${"00".repeat(32)}`,
      createdBlock: 1,
      createdTxHash: `0x${"22".repeat(32)}`,
    },
    1,
  );
  return { ...seen, state, receiptId };
}

function view(options: { job?: JobRecord | null; sentByUs?: boolean; live?: number; confirmed?: number } = {}): EventView {
  return {
    provider: ME,
    job: () => options.job ?? null,
    sentByUs: () => options.sentByUs ?? true,
    batchByRoot: (_root, which) => {
      const id = which === "live" ? options.live : options.confirmed;
      return id === undefined ? null : { batchId: id, itemCount: 3 };
    },
  };
}

describe("relayer/core/escrow-events", () => {
  it("accepts a seen job accepted by a transaction this journal sent", () => {
    expect(reduceEvent({ name: "JobAccepted", jobId: 1n, provider: ME }, at, view({ job: job("seen") }))).to.deep.equal([
      { type: "accept-landed", jobId: 1n },
      { type: "job", jobId: 1n, event: { type: "accept", txHash: TX } },
    ]);
  });

  it("refuses a job accepted by this provider from another journal, and one taken by another provider", () => {
    const elsewhere = reduceEvent({ name: "JobAccepted", jobId: 1n, provider: ME }, at, view({ job: job("seen"), sentByUs: false }));
    expect(elsewhere.map((e) => e.type)).to.deep.equal(["accept-landed", "job", "warn"]);
    expect(elsewhere[1]).to.have.nested.property("event.reason").that.match(/^ACCEPTED_ELSEWHERE: /);
    const taken = reduceEvent({ name: "JobAccepted", jobId: 1n, provider: OTHER }, at, view({ job: job("seen") }));
    expect(taken[1]).to.deep.equal({ type: "job", jobId: 1n, event: { type: "refuse", reason: `TAKEN: accepted by ${OTHER}` } });
  });

  it("only notes the landed accept for a job that is not seen or not journaled", () => {
    expect(reduceEvent({ name: "JobAccepted", jobId: 1n, provider: ME }, at, view({ job: job("running") }))).to.deep.equal([{ type: "accept-landed", jobId: 1n }]);
    expect(reduceEvent({ name: "JobAccepted", jobId: 1n, provider: ME }, at, view())).to.deep.equal([{ type: "accept-landed", jobId: 1n }]);
  });

  it("refuses a seen job that was cancelled or expired, and expires one in work, dropping its pending receipt", () => {
    expect(reduceEvent({ name: "JobCancelled", jobId: 1n }, at, view({ job: job("seen") }))).to.deep.equal([
      { type: "job", jobId: 1n, event: { type: "refuse", reason: "CANCELLED by the client" } },
    ]);
    expect(reduceEvent({ name: "JobExpired", jobId: 1n }, at, view({ job: job("seen") }))[0]).to.have.nested.property("event.reason", "EXPIRED on-chain");
    expect(reduceEvent({ name: "JobExpired", jobId: 1n }, at, view({ job: job("signed", "r-1") }))).to.deep.equal([
      { type: "drop-receipt", receiptId: "r-1" },
      { type: "job", jobId: 1n, event: { type: "expire" } },
    ]);
    expect(reduceEvent({ name: "JobExpired", jobId: 1n }, at, view({ job: job("running") }))).to.deep.equal([{ type: "job", jobId: 1n, event: { type: "expire" } }]);
    for (const state of ["batched", "settled", "finalized", "failed", "refused"] as const) {
      expect(reduceEvent({ name: "JobExpired", jobId: 1n }, at, view({ job: job(state) })), state).to.deep.equal([]);
    }
  });

  it("confirms this provider's live batch with the settled root, and ignores other providers' settlements", () => {
    const settled = { name: "BatchSettled", provider: ME, root: "0xroot", onChainBatchId: 4 } as const;
    expect(reduceEvent(settled, at, view({ live: 9 }))).to.deep.equal([{ type: "batch-confirmed", batchId: 9, itemCount: 3, onChainBatchId: 4, txHash: TX, blockNumber: 7 }]);
    expect(reduceEvent(settled, at, view())).to.deep.equal([]);
    expect(reduceEvent({ ...settled, provider: OTHER }, at, view({ live: 9 }))).to.deep.equal([]);
  });

  it("undoes a settlement and a seen job that left the chain; other removals are only reported", () => {
    const settled = { name: "BatchSettled", provider: ME, root: "0xroot", onChainBatchId: 4 } as const;
    expect(reduceRemovedEvent(settled, at, view({ confirmed: 9 })).map((e) => e.type)).to.deep.equal(["batch-reorged", "warn"]);
    expect(reduceRemovedEvent(settled, at, view())).to.deep.equal([]);
    expect(reduceRemovedEvent({ name: "JobCreated", jobId: 1n }, at, view({ job: job("seen") }))).to.deep.equal([
      { type: "job", jobId: 1n, event: { type: "refuse", reason: "REORGED_OUT: the job left the chain" } },
    ]);
    expect(reduceRemovedEvent({ name: "JobCreated", jobId: 1n }, at, view({ job: transition(job("seen"), { type: "accept", txHash: TX }, 2) }))).to.deep.equal([]);
    expect(reduceRemovedEvent({ name: "JobAccepted", jobId: 1n, provider: ME }, at, view())).to.deep.equal([
      { type: "warn", message: "event reorged out", details: { event: "JobAccepted", block: 7 } },
    ]);
  });

  it("JobGivenBack by this provider moves a job still accepted or running here to given_back; otherwise nothing", () => {
    for (const state of ["accepted", "running"] as const) {
      const effects = reduceEvent({ name: "JobGivenBack", jobId: 1n, provider: ME }, at, view({ job: job(state) }));
      expect(effects[0]).to.deep.include({ type: "job", jobId: 1n });
      expect((effects[0] as { event: { type: string; code: string } }).event).to.include({ type: "give_back", code: "GIVEN_BACK_ELSEWHERE" });
      expect(effects.some((e) => e.type === "warn")).to.equal(true);
    }
    for (const state of ["given_back", "seen", "settled"] as const) {
      expect(reduceEvent({ name: "JobGivenBack", jobId: 1n, provider: ME }, at, view({ job: job(state) }))).to.deep.equal([]);
    }
    expect(reduceEvent({ name: "JobGivenBack", jobId: 1n, provider: OTHER }, at, view({ job: job("accepted") }))).to.deep.equal([]);
    expect(reduceEvent({ name: "JobGivenBack", jobId: 1n, provider: ME }, at, view())).to.deep.equal([]);
  });
});
