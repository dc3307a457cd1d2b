/**
 * End to end: the real CLI (`hardhat deploy`, `dao:*`) as child processes against a real `hardhat node`.
 *
 * The commands use the `localhost` network pointed at the test node through `AITBC_RPC_URL`, so they write
 * `deployments/localhost.json` in the repository. A file that existed before the test is saved in `before()` and put
 * back in `after()`; otherwise the file is removed, so a developer's own local deployment is never lost.
 */
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";

import { expect } from "chai";
import { Contract, getAddress, JsonRpcProvider } from "ethers";

import { deploymentPath } from "../../lib/node/deployments-fs.js";
import { parseJsonOutput, REPO_ROOT, runHardhat, startHardhatNode, type CliResult, type HardhatNode } from "../../tools/hardhat-node.js";

const E18 = 10n ** 18n;
/** A node account that gets no tokens at deployment (accounts 1–9 are funded), so its balance shows the transfer alone. */
const RECIPIENT_INDEX = 15;

interface ErrorOutput {
  error: { code: string; message: string; hint?: string };
}

describe("e2e: dao:* tasks against hardhat node", function () {
  this.timeout(120_000);

  let node: HardhatNode;
  let provider: JsonRpcProvider;
  const file = deploymentPath("localhost", REPO_ROOT);
  let saved: string | undefined;

  const cli = (...args: string[]): Promise<CliResult> =>
    runHardhat([...args, "--network", "localhost"], { env: { AITBC_RPC_URL: node.url } });

  async function jsonOk<T>(...args: string[]): Promise<T> {
    const result = await cli(...args, "--json");
    if (result.code !== 0) throw new Error(`\`${args.join(" ")}\` exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return parseJsonOutput<T>(result);
  }

  async function jsonError(...args: string[]): Promise<ErrorOutput["error"]> {
    const result = await cli(...args, "--json");
    expect(result.code, `\`${args.join(" ")}\` should fail:\n${result.stdout}${result.stderr}`).to.not.equal(0);
    return parseJsonOutput<ErrorOutput>(result).error;
  }

  before(async function () {
    saved = existsSync(file) ? await readFile(file, "utf8") : undefined;
    await rm(file, { force: true });
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
    if (saved === undefined) await rm(file, { force: true });
    else await writeFile(file, saved);
  });

  it("refuses every dao command before a deployment exists (DEPLOYMENT_MISSING), naming the deploy command", async function () {
    const error = await jsonError("dao:list");
    expect(error.code).to.equal("DEPLOYMENT_MISSING");
    expect(error.hint).to.include("npx hardhat deploy --network localhost");
  });

  it("runs a treasury transfer through delegate → propose → vote → queue → execute", async function () {
    const deployed = await jsonOk<{ deployed: boolean; deployment: { contracts: Record<string, string> } }>("deploy");
    expect(deployed.deployed).to.equal(true);
    const { AITBCToken, AITBCTimelock, AITBCGovernor } = deployed.deployment.contracts;
    const token = new Contract(AITBCToken, ["function balanceOf(address) view returns (uint256)"], provider);
    const governor = new Contract(AITBCGovernor, ["function proposalCount() view returns (uint256)"], provider);
    const accounts = (await provider.send("eth_accounts", [])) as string[];
    const recipient = getAddress(accounts[RECIPIENT_INDEX]);
    const treasuryBefore = (await token.balanceOf(AITBCTimelock)) as bigint;

    // Proposing before delegating: refused before anything is sent.
    const undelegated = await jsonError("dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "1000", "--description", "e2e grant");
    expect(undelegated.code).to.equal("BELOW_THRESHOLD");
    const badAmount = await jsonError("dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "2.5e3", "--description", "e2e grant");
    expect(badAmount.code).to.equal("BAD_AMOUNT");
    expect(await governor.proposalCount()).to.equal(0n);

    const delegated = await jsonOk<{ votes: string }>("dao:delegate");
    expect(BigInt(delegated.votes)).to.equal(31_000_000n * E18);

    const proposed = await jsonOk<{ id: string; actions: { summary: string }[] }>(
      "dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "1000", "--description", "e2e grant",
    );
    expect(proposed.id).to.equal("1");
    expect(proposed.actions[0].summary).to.equal(`transfer 1,000 AITBC from the treasury to ${recipient}`);

    const early = await jsonError("dao:vote", "--id", "1", "--support", "for");
    expect(early.code).to.equal("WRONG_STATE");
    expect(early.message).to.include("Pending");
    expect(early.hint).to.include("dao:advance --id 1 --network localhost");

    expect((await jsonOk<{ state: string }>("dao:advance", "--id", "1")).state).to.equal("Active");
    const noPower = await jsonError("dao:vote", "--id", "1", "--support", "for", "--from", "3");
    expect(noPower.code).to.equal("NO_VOTING_POWER");
    const vote = await jsonOk<{ weight: string }>("dao:vote", "--id", "1", "--support", "for", "--reason", "ship it");
    expect(BigInt(vote.weight)).to.equal(31_000_000n * E18);

    expect((await jsonOk<{ state: string }>("dao:advance", "--id", "1")).state).to.equal("Succeeded");
    const queued = await jsonOk<{ state: string; eta: string }>("dao:queue", "--id", "1");
    expect(queued.state).to.equal("Queued");

    const tooSoon = await jsonError("dao:execute", "--id", "1");
    expect(tooSoon.code).to.equal("NOT_READY");
    expect(await token.balanceOf(recipient)).to.equal(0n);

    await jsonOk("dao:advance", "--id", "1");
    await jsonOk("dao:execute", "--id", "1");

    expect(await token.balanceOf(recipient)).to.equal(1000n * E18);
    expect(await token.balanceOf(AITBCTimelock)).to.equal(treasuryBefore - 1000n * E18);

    const shown = await jsonOk<{ state: string; votes: { for: string }; eta: string; actions: { summary: string; calldata: string }[]; account: { hasVoted: boolean } }>(
      "dao:show", "--id", "1",
    );
    expect(shown.state).to.equal("Executed");
    expect(BigInt(shown.votes.for)).to.equal(31_000_000n * E18);
    expect(shown.eta).to.equal(queued.eta);
    expect(shown.account.hasVoted).to.equal(true);
    expect(shown.actions[0].summary).to.equal(`transfer 1,000 AITBC from the treasury to ${recipient}`);
  });

  it("refuses doomed proposals before sending: treasury overdraft, no-op rate change, missing dispute, duplicate", async function () {
    const governor = new Contract((await jsonOk<{ deployment: { contracts: Record<string, string> } }>("deploy")).deployment.contracts.AITBCGovernor, ["function proposalCount() view returns (uint256)"], provider);
    const before = (await governor.proposalCount()) as bigint;
    const accounts = (await provider.send("eth_accounts", [])) as string[];
    const recipient = getAddress(accounts[RECIPIENT_INDEX]);

    const overdraft = await jsonError("dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "1000000000", "--description", "too much");
    expect(overdraft.code).to.equal("TREASURY_INSUFFICIENT");
    const noOp = await jsonError("dao:propose", "--kind", "set-rate", "--model", "llama3.2", "--rate", "2", "--description", "same rate");
    expect(noOp.code).to.equal("NO_OP_PROPOSAL");
    const noDispute = await jsonError("dao:propose", "--kind", "resolve-dispute", "--job", "424242", "--share", "50%", "--description", "no such job");
    expect(noDispute.code).to.equal("NO_SUCH_DISPUTE");
    expect(await governor.proposalCount(), "nothing was proposed").to.equal(before);

    // The honest path next to the duplicate: the first proposal goes through, the same one again is refused by code.
    const first = await jsonOk<{ id: string }>("dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "1", "--description", "e2e twice");
    const duplicate = await jsonError("dao:propose", "--kind", "treasury-transfer", "--to", recipient, "--amount", "1", "--description", "e2e twice");
    expect(duplicate.code).to.equal("DUPLICATE_PROPOSAL");
    expect(duplicate.hint).to.include(`dao:show --id ${first.id}`);
    expect(await governor.proposalCount()).to.equal(before + 1n);
    expect((await jsonOk<{ state: string }>("dao:cancel", "--id", first.id)).state).to.equal("Canceled");
  });

  it("describes an executed rate change with the same sentence as before it ran", async function () {
    const proposed = await jsonOk<{ id: string; actions: { summary: string }[] }>("dao:propose", "--kind", "set-rate", "--model", "llama3.2", "--rate", "2.5", "--description", "e2e rate");
    const sentence = proposed.actions[0].summary;
    expect(sentence).to.match(/^set rate of llama3\.2 from 2 to 2\.5/);
    await jsonOk("dao:advance", "--id", proposed.id);
    await jsonOk("dao:vote", "--id", proposed.id, "--support", "for");
    await jsonOk("dao:advance", "--id", proposed.id);
    await jsonOk("dao:queue", "--id", proposed.id);
    await jsonOk("dao:advance", "--id", proposed.id);
    await jsonOk("dao:execute", "--id", proposed.id);
    const shown = await jsonOk<{ state: string; actions: { summary: string }[] }>("dao:show", "--id", proposed.id);
    expect(shown.state).to.equal("Executed");
    expect(shown.actions[0].summary).to.equal(sentence);
    const listed = await jsonOk<{ count: unknown; proposals: unknown[] }>("dao:list");
    expect(typeof listed.count, "dao:list --json counts are numbers").to.equal("number");
  });

  it("reports an unknown proposal id, an executed proposal and the in-process network by code", async function () {
    expect((await jsonError("dao:show", "--id", "99")).code).to.equal("UNKNOWN_PROPOSAL");
    expect((await jsonError("dao:execute", "--id", "1")).code).to.equal("WRONG_STATE");
    const inProcess = await runHardhat(["dao:list", "--json"]);
    expect(inProcess.code).to.not.equal(0);
    expect(parseJsonOutput<ErrorOutput>(inProcess).error.code).to.equal("EPHEMERAL_NETWORK");
  });

  it("prints one line with the code and the fix, without a stack trace, in human mode", async function () {
    const result = await cli("dao:vote", "--id", "1", "--support", "maybe");
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.match(/✖ .*\[BAD_SUPPORT\]\n {2}→ Pass --support for/);
    expect(result.stderr).to.not.match(/\bat .*\.(js|ts):\d+/);
  });
});
