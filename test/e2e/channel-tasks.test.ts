/**
 * The channel mode's money commands end to end on a real `hardhat node`: `deploy` includes JobChannels, a client
 * opens and tops up a channel to a registered provider, reads it, and takes the rest back in two steps across the
 * withdrawal delay. Every refusal is checked to move no token and send nothing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { AITBCToken__factory, JobChannels__factory } from "../../typechain-types/index.js";
import { type HardhatNode, parseJsonOutput, startHardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, errorCode, type Workspace } from "../fixtures/cli.js";

const NET = ["--network", "localhost"];
const E18 = 10n ** 18n;

interface ChannelJson {
  channels: string;
  client: string;
  provider: string;
  status: string;
  balance: string;
  spent: string;
  closesAt: string | null;
}

describe("e2e: channel tasks on hardhat node", function () {
  this.timeout(240_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let contracts: Record<string, string>;
  let provider: string;
  let client: string;
  let stranger: string;

  const cli = async (...args: string[]) => ws.run([...args, ...NET, "--json"]);
  const ok = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return parseJsonOutput<T>(result);
  };

  /** The client's tokens, its allowance for the channel contract, the contract's tokens and the block height. */
  async function money() {
    const token = AITBCToken__factory.connect(contracts.AITBCToken, rpc);
    return {
      wallet: (await token.balanceOf(client)).toString(),
      allowance: (await token.allowance(client, contracts.JobChannels)).toString(),
      held: (await token.balanceOf(contracts.JobChannels)).toString(),
      block: await rpc.getBlockNumber(),
    };
  }

  /** Runs a channel command that must be refused with `code`, and checks that nothing moved. */
  async function refused(code: string, ...args: string[]) {
    const before = await money();
    const result = await cli(...args);
    expect(result.code, result.stdout).to.not.equal(0);
    expect(errorCode(result), result.stdout).to.equal(code);
    expect(await money(), "no token moved, nothing was sent").to.deep.equal(before);
    return (JSON.parse(result.stdout) as { error: { message: string; hint: string } }).error;
  }

  before(async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("channel-e2e", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    provider = await (await rpc.getSigner(1)).getAddress();
    client = await (await rpc.getSigner(2)).getAddress();
    stranger = await (await rpc.getSigner(5)).getAddress();
  });

  after(async function () {
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("deploys JobChannels with the market, owned by the timelock, with the local parameters", async function () {
    await ok("deploy");
    const deployment = JSON.parse(await readFile(path.join(ws.dir, "deployments", "localhost.json"), "utf8")) as {
      contracts: Record<string, string>;
      parameters: { market: { channels: Record<string, unknown> } };
    };
    contracts = deployment.contracts;
    expect(contracts.JobChannels).to.match(/^0x[0-9a-fA-F]{40}$/);
    const channels = JobChannels__factory.connect(contracts.JobChannels, rpc);
    expect(await channels.owner()).to.equal(contracts.AITBCTimelock);
    expect(await channels.token()).to.equal(contracts.AITBCToken);
    const p = await channels.parameters();
    expect([p.feeBps, p.withdrawalDelay, p.disputeWindow, p.disputeTimeout, p.disputeBond]).to.deep.equal([250n, 7_200n, 600n, 3_600n, E18]);
    expect(deployment.parameters.market.channels).to.deep.equal({ feeBps: 250, withdrawalDelay: 7_200, disputeWindow: 600, disputeTimeout: 3_600, disputeBond: E18.toString() });
    await ok("provider:register", "--models", "llama3.2", "--bond", "100", "--from", "1");
  });

  it("refuses a deposit without a provider, to a non-provider, of nothing or of more than the wallet holds", async function () {
    await refused("MISSING_OPTION", "channel:deposit", "--amount", "5", "--from", "2");
    await refused("BAD_ADDRESS", "channel:deposit", "--provider", "0x1234", "--amount", "5", "--from", "2");
    const notProvider = await refused("NOT_A_PROVIDER", "channel:deposit", "--provider", stranger, "--amount", "5", "--from", "2");
    expect(notProvider.hint).to.contain("providers");
    await refused("BAD_AMOUNT", "channel:deposit", "--provider", provider, "--amount", "0", "--from", "2");
    await refused("INSUFFICIENT_BALANCE", "channel:deposit", "--provider", provider, "--amount", "1000000000", "--from", "2");
  });

  it("opens a channel (approving exactly the amount), tops it up, and shows it", async function () {
    const before = await money();
    const first = await ok<{ channel: ChannelJson; transactions: unknown[] }>("channel:deposit", "--provider", provider, "--amount", "50", "--from", "2");
    expect(first.transactions, "approve + deposit").to.have.length(2);
    expect(first.channel).to.deep.include({ client, provider, status: "open", balance: (50n * E18).toString(), spent: "0", closesAt: null });
    const second = await ok<{ channel: ChannelJson }>("channel:deposit", "--provider", provider, "--amount", "2.5", "--from", "2");
    expect(second.channel.balance).to.equal((525n * E18 / 10n).toString());
    const after = await money();
    expect(BigInt(before.wallet) - BigInt(after.wallet)).to.equal(525n * E18 / 10n);
    expect(BigInt(after.held) - BigInt(before.held)).to.equal(525n * E18 / 10n);
    expect(after.allowance, "each approval was for the exact amount and is used up").to.equal("0");

    const shown = await ok<ChannelJson>("channel:status", "--provider", provider, "--client", client);
    expect(shown).to.deep.include({ status: "open", balance: (525n * E18 / 10n).toString() });
    // Someone else may fund the client's channel; the tokens are still only the client's to take back.
    await ok("channel:deposit", "--provider", provider, "--amount", "1", "--client", client, "--from", "3");
    expect((await ok<ChannelJson>("channel:status", "--provider", provider, "--from", "2")).balance).to.equal((535n * E18 / 10n).toString());
  });

  it("takes the balance back only after the withdrawal delay: request, early try refused, cancel, request, withdraw", async function () {
    await refused("CHANNEL_NO_WITHDRAWAL", "channel:withdraw", "--provider", provider, "--cancel", "--from", "2");
    const requested = await ok<{ action: string; channel: ChannelJson }>("channel:withdraw", "--provider", provider, "--from", "2");
    expect(requested.action).to.equal("requested");
    expect(requested.channel.status).to.equal("closing");
    const early = await refused("CHANNEL_WITHDRAWAL_PENDING", "channel:withdraw", "--provider", provider, "--from", "2");
    expect(early.message).to.contain("pending until");
    const cancelled = await ok<{ action: string; channel: ChannelJson }>("channel:withdraw", "--provider", provider, "--cancel", "--from", "2");
    expect(cancelled).to.deep.include({ action: "cancelled" });
    expect(cancelled.channel.status).to.equal("open");

    await ok("channel:withdraw", "--provider", provider, "--from", "2");
    await rpc.send("evm_increaseTime", [7_200]);
    await rpc.send("evm_mine", []);
    expect((await ok<ChannelJson>("channel:status", "--provider", provider, "--from", "2")).status).to.equal("withdrawable");
    const before = await money();
    const done = await ok<{ action: string; amount: string; channel: ChannelJson }>("channel:withdraw", "--provider", provider, "--from", "2");
    expect(done).to.deep.include({ action: "withdrawn", amount: (535n * E18 / 10n).toString() });
    expect(done.channel).to.deep.include({ status: "open", balance: "0", closesAt: null });
    expect(BigInt((await money()).wallet) - BigInt(before.wallet)).to.equal(535n * E18 / 10n);
    // An empty channel has nothing to withdraw: refused before any transaction.
    await refused("CHANNEL_EMPTY", "channel:withdraw", "--provider", provider, "--from", "2");
  });
});
