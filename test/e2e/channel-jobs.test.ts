/**
 * The channel job mode end to end, as the escrow mode's e2e: a real `hardhat node`, the CLI (`deploy`,
 * `provider:register`, `provider:endpoint`), two providers each with its real relayer process (embedded llama.cpp,
 * tiny model), three clients with a prepaid channel to each (one of them sends private prompts). Jobs go to the relayers as signed requests; one relayer
 * is killed with SIGKILL while it holds jobs and started again; every result and receipt is checked by the client,
 * paid with one cumulative voucher per channel, and claimed on-chain. Then: every job is paid exactly once, the
 * channel books and the contract's tokens add up, and every receipt is in a root its provider anchored.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, type JsonRpcSigner } from "ethers";

import { parseDeployment, type Deployment } from "../../lib/deployments.js";
import { verifyProof } from "../../lib/merkle.js";
import { ChannelClient, type ChannelResult } from "../../lib/sdk/channel-jobs.js";
import { depositToChannel } from "../../lib/sdk/channel-funds.js";
import { AITBCToken__factory, JobChannels__factory } from "../../typechain-types/index.js";
import { startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import { spawnRelayer } from "../../tools/relayer-process.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";
import { cliJson, startProviderRelayer, type ProviderRelayer } from "../fixtures/provider-relayer.js";

const E18 = 10n ** 18n;
const DEPOSIT = 50n * E18;
const CLIENTS = [3, 4, 5];
const FIRST_ROUND = 3;
const SECOND_ROUND = 2;
const BURST = 6;

interface ChannelJobJson {
  state: string;
  leaf: string | null;
  root: string | null;
  proof: string[] | null;
  receipt_hash: string | null;
  price: string | null;
  units_milli: string | null;
  claim: { status: string } | null;
}

describe("e2e: channel jobs, two providers, several clients, a relayer killed", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let deployment: Deployment;
  const providers: ProviderRelayer[] = [];
  const signers = new Map<number, JsonRpcSigner>();
  /** client index → provider index → its channel client. */
  const sessions = new Map<number, Map<number, ChannelClient>>();
  /** Every checked result, by provider index. */
  const results = new Map<number, ChannelResult[]>();

  before(async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("channel-jobs", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    await cliJson(ws, "deploy");
    deployment = parseDeployment(JSON.parse(await readFile(path.join(ws.dir, "deployments", "localhost.json"), "utf8")), "deployment");
    providers.push(await startProviderRelayer(ws, node, 1), await startProviderRelayer(ws, node, 2));
    for (const c of CLIENTS) signers.set(c, await rpc.getSigner(c));
  });

  after(async function () {
    for (const p of providers) await p.relayer.stop().catch(() => undefined);
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  const address = async (index: number) => (await rpc.getSigner(index)).getAddress();
  /** How many requests client `c` sent provider `p`. */
  const requestsOf = (c: number, p: number) => BigInt(FIRST_ROUND + SECOND_ROUND + (c === CLIENTS[0] && p === providers[0].index ? BURST : 0));

  it("opens a channel from every client to every provider", async function () {
    for (const c of CLIENTS) {
      const perProvider = new Map<number, ChannelClient>();
      for (const p of providers) {
        const done = await depositToChannel(signers.get(c) as JsonRpcSigner, deployment, { provider: await address(p.index), amount: DEPOSIT });
        expect(done.channel.balance).to.equal(DEPOSIT);
        perProvider.set(p.index, await ChannelClient.open(signers.get(c) as JsonRpcSigner, deployment, await address(p.index)));
      }
      sessions.set(c, perProvider);
    }
    for (const p of providers) results.set(p.index, []);
  });

  it("runs signed requests straight from the clients, through a kill -9 of one relayer, with the same receipts after it", async function () {
    const submit = async (round: number) => {
      const sent: { c: number; p: number; requestId: bigint }[] = [];
      for (let i = 0; i < round; i++) {
        for (const c of CLIENTS) {
          for (const p of providers) {
            const s = sessions.get(c)?.get(p.index) as ChannelClient;
            // The second client's jobs are private: the prompt sealed to the provider, the result to the client.
            const r = await s.submit({ model: "llama3.2", prompt: `client ${c}, job ${i}: say something short.`, maxUnitsMilli: 2_000n, private: c === CLIENTS[1] });
            expect(["queued", "running", "done"]).to.include(r.state);
            sent.push({ c, p: p.index, requestId: r.requestId });
          }
        }
      }
      return sent;
    };
    const firstRound = await submit(FIRST_ROUND);
    // One job of provider 1 finished before the crash: its receipt must be the same afterwards.
    const early = firstRound.find((s) => s.p === providers[0].index) as { c: number; p: number; requestId: bigint };
    const before = await (sessions.get(early.c)?.get(early.p) as ChannelClient).waitForResult(early.requestId);
    expect(before.state).to.equal("done");

    // A burst to provider 1, and the crash while it still holds some of it (queued or on the runtime).
    const burstClient = sessions.get(CLIENTS[0])?.get(providers[0].index) as ChannelClient;
    const burst: { c: number; p: number; requestId: bigint }[] = [];
    for (let i = 0; i < BURST; i++) {
      const r = await burstClient.submit({ model: "llama3.2", prompt: `burst job ${i}: count to ten.`, maxUnitsMilli: 2_000n });
      burst.push({ c: CLIENTS[0], p: providers[0].index, requestId: r.requestId });
    }
    const atKill = (await burstClient.status()).requests.filter((r) => r.state === "queued" || r.state === "running");
    await providers[0].relayer.kill9();
    expect(atKill.length, "the relayer was killed while it held jobs").to.be.greaterThan(0);
    firstRound.push(...burst);
    const configFile = path.join(path.dirname(providers[0].journal), "relayer.json");
    providers[0].relayer = spawnRelayer(configFile, path.dirname(providers[0].journal));

    const secondRound = await submitWhenUp(submit, SECOND_ROUND);
    for (const s of [...firstRound, ...secondRound]) {
      const result = await (sessions.get(s.c)?.get(s.p) as ChannelClient).waitForResult(s.requestId, { timeoutMs: 240_000 });
      expect(result.state, `request ${s.requestId} of client ${s.c} at provider ${s.p}: ${result.failure}`).to.equal("done");
      results.get(s.p)?.push(result);
    }
    for (const r of [...results.values()].flat()) {
      const priv = r.fields?.client.toLowerCase() === (await address(CLIENTS[1])).toLowerCase();
      expect((r.result as Uint8Array)[0] === 0xff, "a private result is served as an envelope, a public one in the clear").to.equal(priv);
      expect(new TextDecoder().decode(r.output as Uint8Array).length, "the client reads its output").to.be.greaterThan(0);
      if (priv) expect(r.output).to.not.deep.equal(r.result);
    }
    const again = results.get(early.p)?.find((r) => r.digest === before.digest) as ChannelResult;
    expect(again.receiptJson, "the receipt signed before the crash is the one served after it").to.equal(before.receiptJson);
    const digests = [...results.values()].flat().map((r) => r.digest);
    expect(new Set(digests).size).to.equal(digests.length);
    expect(digests).to.have.length(CLIENTS.length * providers.length * (FIRST_ROUND + SECOND_ROUND) + BURST);
  });

  /** Submits once the restarted relayer answers again (its API comes back within seconds). */
  async function submitWhenUp<T>(submit: (round: number) => Promise<T>, round: number): Promise<T> {
    for (const until = Date.now() + 90_000; ; ) {
      const up = await fetch(`${providers[0].api}/health`).then((r) => r.ok).catch(() => false);
      if (up) return submit(round);
      if (Date.now() > until) throw new Error(`the restarted relayer did not come back:\n${providers[0].relayer.output().slice(-4_000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  it("pays every job exactly once with one voucher per channel, and the books add up on-chain", async function () {
    const channels = JobChannels__factory.connect(deployment.contracts.JobChannels as string, rpc);
    const paid = new Map<string, bigint>();
    for (const c of CLIENTS) {
      for (const p of providers) {
        const voucher = await (sessions.get(c)?.get(p.index) as ChannelClient).pay();
        expect(voucher.coveredThrough).to.equal(requestsOf(c, p.index));
        paid.set(`${c}/${p.index}`, voucher.cumulativeAmount);
      }
    }
    // The claims land: every channel's `spent` reaches exactly what its client paid, never more.
    for (const until = Date.now() + 120_000; ; ) {
      let settled = true;
      for (const c of CLIENTS) {
        for (const p of providers) {
          const view = await channels.channel(await address(c), await address(p.index));
          const expected = paid.get(`${c}/${p.index}`) as bigint;
          expect(view.spent <= expected, "never more than the voucher").to.equal(true);
          if (view.spent !== expected) settled = false;
        }
      }
      if (settled) break;
      if (Date.now() > until) throw new Error(`claims did not land:\n${providers[0].relayer.output().slice(-3_000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const token = AITBCToken__factory.connect(deployment.contracts.AITBCToken, rpc);
    let channelBalances = 0n;
    let providerBalances = 0n;
    for (const p of providers) {
      const prices = (results.get(p.index) as ChannelResult[]).reduce((sum, r) => sum + r.price, 0n);
      const claimed = await channels.queryFilter(channels.filters.VouchersClaimed(await address(p.index)));
      const amount = claimed.reduce((sum, e) => sum + e.args.amount, 0n);
      const fees = claimed.reduce((sum, e) => sum + e.args.fee, 0n);
      expect(amount, `provider ${p.index} was paid exactly the prices of its receipts`).to.equal(prices);
      expect(await channels.balanceOf(await address(p.index))).to.equal(amount - fees);
      providerBalances += await channels.balanceOf(await address(p.index));
      for (const c of CLIENTS) {
        const view = await channels.channel(await address(c), await address(p.index));
        expect(view.balance + view.spent).to.equal(DEPOSIT);
        expect(view.coveredThrough).to.equal(requestsOf(c, p.index));
        channelBalances += view.balance;
      }
    }
    expect(await token.balanceOf(await channels.getAddress()), "Σ channel balances + provider balances + fees == the contract's tokens").to.equal(
      channelBalances + providerBalances + (await channels.accruedFees()),
    );
  });

  it("serves every receipt with its inclusion proof under a root its provider anchored", async function () {
    const channels = JobChannels__factory.connect(deployment.contracts.JobChannels as string, rpc);
    expect([...results.values()].flat()).to.have.length(CLIENTS.length * providers.length * (FIRST_ROUND + SECOND_ROUND) + BURST);
    for (const p of providers) {
      const provider = await address(p.index);
      for (const r of results.get(p.index) as ChannelResult[]) {
        let job: ChannelJobJson | null = null;
        for (const until = Date.now() + 60_000; ; ) {
          job = (await (await fetch(`${p.api}/api/v1/channel/jobs/${r.digest}`)).json()) as ChannelJobJson;
          if (job.claim?.status === "confirmed") break;
          if (Date.now() > until) throw new Error(`job ${r.digest} was not anchored: ${JSON.stringify(job)}`);
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        const f = r.fields as NonNullable<ChannelResult["fields"]>;
        const leaf = await channels.receiptLeaf(r.digest, provider, f.unitsMilli, f.priceBase, job.receipt_hash as string);
        expect(leaf.toLowerCase()).to.equal(job.leaf);
        expect(verifyProof(job.root as string, leaf, job.proof as string[])).to.equal(true);
        const [anchoredAt] = await channels.anchorOf(provider, job.root as string);
        expect(anchoredAt > 0n, "the root is anchored in the provider's namespace").to.equal(true);
      }
    }
  });
});
