import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { jobStatusName } from "../../../lib/market/jobs.js";
import { JOB_STATUSES } from "../../../lib/protocol.js";
import { readJob } from "../../../lib/sdk/market.js";
import { describeContractRevert } from "../../../lib/sdk/reverts.js";
import { createJobs, deployMarketFixture } from "../../../tools/market-fixture.js";

const { ethers } = await network.create();

describe("lib/market: the GivenBack status, read from the chain", function () {
  it("names every IJobEscrow.JobStatus in the contract's order, GivenBack = 9", async function () {
    const source = await readFile(path.join(import.meta.dirname, "../../../contracts/interfaces/IJobEscrow.sol"), "utf8");
    const body = /enum JobStatus \{([^}]*)\}/.exec(source)?.[1];
    expect(body, "enum JobStatus in IJobEscrow.sol").to.be.a("string");
    const names = body!.split(",").map((s) => s.trim()).filter((s) => s !== "");
    expect(names.map((_, i) => jobStatusName(i))).to.deep.equal(names);
    expect([...JOB_STATUSES]).to.deep.equal(names);
    expect(jobStatusName(9n)).to.equal("GivenBack");
  });

  it("reads a job the provider gave back as GivenBack, through jobStatusName and the SDK's readJob", async function () {
    const f = await deployMarketFixture(ethers, { clients: 1, providers: 1 });
    const [id] = await createJobs(f, f.clients[0], 1);
    const escrow = f.market.jobEscrow;
    await (await escrow.connect(f.providers[0]).acceptJob(id)).wait();
    expect(jobStatusName((await escrow.job(id)).status)).to.equal("Accepted");
    await (await escrow.connect(f.providers[0]).giveBackJob(id)).wait();
    const onChain = await escrow.job(id);
    expect(onChain.status).to.equal(9n);
    expect(jobStatusName(onChain.status)).to.equal("GivenBack");
    const job = await readJob(escrow, id);
    expect(job.status).to.equal("GivenBack");
    expect(job.escrow).to.equal(onChain.escrow);
  });

  it("names the reverts of a refused give-back through the SDK: not the provider, and a job already given back", async function () {
    const f = await deployMarketFixture(ethers, { clients: 1, providers: 2 });
    const [id] = await createJobs(f, f.clients[0], 1);
    const escrow = f.market.jobEscrow;
    await (await escrow.connect(f.providers[0]).acceptJob(id)).wait();
    const refusal = async (call: Promise<unknown>) => {
      try {
        await call;
      } catch (error) {
        return describeContractRevert(error);
      }
      throw new Error("the give-back was not refused");
    };
    const other = await refusal(escrow.connect(f.providers[1]).giveBackJob(id));
    expect(other?.name).to.equal("JobEscrowNotProvider");
    expect(other?.text).to.equal(`JobEscrowNotProvider(${id}, ${f.providers[1].address})`);
    await (await escrow.connect(f.providers[0]).giveBackJob(id)).wait();
    const twice = await refusal(escrow.connect(f.providers[0]).giveBackJob(id));
    expect(twice?.name).to.equal("JobEscrowUnexpectedStatus");
    expect(twice?.text).to.equal(`JobEscrowUnexpectedStatus(${id}, 9)`);
  });
});
