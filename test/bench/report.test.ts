import { expect } from "chai";

import { barChart, compare, directionOf, numericFigures, trafficOf } from "../../bench/report.js";

describe("bench report", function () {
  it("treats throughput as higher-is-better and gas, seconds and overhead as lower-is-better", function () {
    expect(directionOf("receipts", "sign_verify_per_s_node_2t")).to.equal("higher");
    expect(directionOf("relayer", "jobs_per_s_http")).to.equal("higher");
    expect(directionOf("receipts", "merkle_1m_s")).to.equal("lower");
    expect(directionOf("relayer", "overhead_pct")).to.equal("lower");
    expect(directionOf("gas", "settle_per_job_batch256")).to.equal("lower");
  });

  it("reads each gas figure's traffic, which is descriptive and never compared", function () {
    const traffic = { settle_per_job_batch256: { clients: 16, jobsPerCreate: 16, promptBytes: 0, jobs: 256, counts: "settleBatch of 256" } };
    const doc = { settle_per_job_batch256: 7613, traffic };
    expect(trafficOf(doc)).to.deep.equal(traffic);
    expect(Object.keys(numericFigures(doc))).to.deep.equal(["settle_per_job_batch256"]);
    expect(trafficOf({ jobs_per_s: 10 })).to.deep.equal({});
    expect(trafficOf({ traffic: [1, 2] })).to.deep.equal({});
  });

  it("fails any gas figure above its baseline, even by one unit", function () {
    const [f] = compare("gas", { settle_per_job_batch256: 7001 }, { settle_per_job_batch256: 7000 }, 25);
    expect(f.status).to.equal("regression");
    const [g] = compare("gas", { settle_per_job_batch256: 6999 }, { settle_per_job_batch256: 7000 }, 25);
    expect(g.status).to.equal("better");
  });

  it("flags noisy figures only beyond the threshold, in the bad direction", function () {
    const figures = compare(
      "receipts",
      { sign_verify_per_s_node_2t: 7000, merkle_1m_s: 14, other_per_s: 12000 },
      { sign_verify_per_s_node_2t: 10000, merkle_1m_s: 12, other_per_s: 10000 },
      25,
    );
    const byKey = Object.fromEntries(figures.map((f) => [f.key, f.status]));
    expect(byKey).to.deep.equal({ sign_verify_per_s_node_2t: "flagged", merkle_1m_s: "ok", other_per_s: "better" });
  });

  it("marks figures without a baseline as new and ignores descriptive numbers", function () {
    const figures = numericFigures({ merkle_1m_s: 10, merkle_leaves: 1_000_000, cpu_count: 2, nested: { x: 1 } });
    expect(figures).to.deep.equal({ merkle_1m_s: 10 });
    expect(compare("receipts", figures, undefined, 25)[0].status).to.equal("new");
  });

  it("draws one bar per figure and escapes labels", function () {
    const svg = barChart("t", [{ label: "a<b", value: 2 }, { label: "c", value: 1 }], "gas");
    expect(svg.match(/<rect x=/g)).to.have.length(2);
    expect(svg).to.include("a&lt;b");
  });
});
