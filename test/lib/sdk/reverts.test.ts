import { expect } from "chai";
import { Interface, Wallet } from "ethers";
import { network } from "hardhat";

import { isAitbcError } from "../../../lib/errors.js";
import { describeContractRevert } from "../../../lib/sdk/reverts.js";
import { sendTransaction } from "../../../lib/sdk/tx.js";
import { AITBCGovernor__factory, AITBCToken__factory, JobChannels__factory } from "../../../typechain-types/index.js";
import { settledSystem, type SettledSystem } from "../../fixtures/settled-receipts.js";

const { ethers, networkHelpers } = await network.create();

async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("the call did not fail");
}

describe("lib/sdk/reverts: the one revert decoder", function () {
  let s: SettledSystem;

  beforeEach(async function () {
    s = await networkHelpers.loadFixture(async function settled() {
      return settledSystem(ethers, 1);
    });
  });

  it("names the marketplace's errors with their arguments, from a call and from a gas estimate", async function () {
    const call = describeContractRevert(await failureOf(() => s.escrow.job(999n)));
    expect(call).to.deep.equal({ name: "JobEscrowUnknownJob", text: "JobEscrowUnknownJob(999)" });
    const estimate = describeContractRevert(await failureOf(() => s.escrow.acceptJob.estimateGas(999n)));
    expect(estimate?.name).to.equal("JobEscrowUnknownJob");
  });

  it("names the channel mode's errors with their arguments", function () {
    const channels = JobChannels__factory.createInterface();
    const client = Wallet.createRandom().address;
    const data = channels.encodeErrorResult("JobChannelsVoucherNotAbove", [client, 5n, 7n]);
    const described = describeContractRevert({ error: { data } });
    expect(described?.name).to.equal("JobChannelsVoucherNotAbove");
    expect(described?.text).to.include("5").and.include("7");
  });

  it("names the token's and the DAO's errors", async function () {
    const token = AITBCToken__factory.connect(s.deployment.contracts.AITBCToken, s.client);
    const tooMuch = (await token.balanceOf(s.client.address)) + 1n;
    expect(describeContractRevert(await failureOf(() => token.transfer.estimateGas(s.provider.address, tooMuch)))?.name).to.equal("ERC20InsufficientBalance");
    const governor = AITBCGovernor__factory.connect(s.deployment.contracts.AITBCGovernor, s.client);
    expect(describeContractRevert(await failureOf(() => governor.state(123n)))?.name).to.equal("GovernorNonexistentProposal");
  });

  it("names an inherited error the contract interfaces do not declare (Ownable on the registries)", async function () {
    const outsider = Wallet.createRandom().address;
    const error = await failureOf(() => s.registry.connect(s.client).transferOwnership.estimateGas(outsider));
    expect(describeContractRevert(error)?.name).to.equal("OwnableUnauthorizedAccount");
  });

  it("finds the data under any wrapper, reports undeclared data as UnknownError and a failure without data as undefined", async function () {
    const data = new Interface(["error Error(string)"]).encodeErrorResult("Error", ["out of luck"]);
    expect(describeContractRevert({ info: { error: { cause: { data } } } })).to.deep.equal({ name: "Error", text: "Error(out of luck)" });
    expect(describeContractRevert({ error: { data: "0xdeadbeef00" } })?.name).to.equal("UnknownError");
    expect(describeContractRevert(new Error("connection refused"))).to.equal(undefined);
    const cyclic: Record<string, unknown> = {};
    cyclic.cause = cyclic;
    expect(describeContractRevert(cyclic)).to.equal(undefined);
  });
});

describe("lib/sdk/tx: the one simulate-then-send", function () {
  it("refuses a call that would revert with TX_WOULD_REVERT naming the error, and sends nothing", async function () {
    const s = await networkHelpers.loadFixture(async function settled() {
      return settledSystem(ethers, 1);
    });
    const nonce = await ethers.provider.getTransactionCount(s.provider.address);
    let sent = false;
    const error = await failureOf(() =>
      sendTransaction("accept job 999", {
        estimate: () => s.escrow.acceptJob.estimateGas(999n),
        send: () => {
          sent = true;
          return s.escrow.acceptJob(999n);
        },
      }),
    );
    expect(isAitbcError(error, "TX_WOULD_REVERT")).to.equal(true);
    expect((error as { details?: { revert?: string } }).details?.revert).to.equal("JobEscrowUnknownJob");
    expect(sent).to.equal(false);
    expect(await ethers.provider.getTransactionCount(s.provider.address)).to.equal(nonce);
  });

  it("sends a call that simulates cleanly and reports each step", async function () {
    const s = await networkHelpers.loadFixture(async function settled() {
      return settledSystem(ethers, 1);
    });
    const token = AITBCToken__factory.connect(s.deployment.contracts.AITBCToken, s.client);
    const lines: string[] = [];
    const tx = await sendTransaction("transfer", { estimate: () => token.transfer.estimateGas(s.provider.address, 1n), send: () => token.transfer(s.provider.address, 1n) }, { onProgress: (l) => lines.push(l) });
    expect(tx.receipt.status).to.equal(1);
    expect(tx.gasUsed > 0n).to.equal(true);
    expect(lines).to.have.length(2);
  });
});
