import { once } from "node:events";

import { expect } from "chai";
import { Interface, Wallet } from "ethers";

import { HttpTransport, RpcClient } from "../../../../relayer/adapters/chain/rpc.js";
import { type FailedEvent, type ReplacedEvent, TxSender, type TxSenderOptions } from "../../../../relayer/adapters/chain/sender.js";
import type { StoredTx, TxStore } from "../../../../relayer/adapters/chain/tx-store.js";
import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { DEV_KEYS, deployToken, type FaultAction, type FaultProxy, type HardhatNode, startFaultProxy, startHardhatNode } from "../../../fixtures/relayer/chain-node.js";

const GWEI = 10n ** 9n;
const erc20 = new Interface(["function approve(address,uint256)", "function allowance(address,address) view returns (uint256)"]);

function approve(spenderIndex: number, amount: bigint): string {
  return erc20.encodeFunctionData("approve", [new Wallet(DEV_KEYS[spenderIndex]).address, amount]);
}

describe("relayer/adapters/chain/sender", function () {
  let node: HardhatNode;
  let proxy: FaultProxy;
  let token: string;
  const senders: TxSender[] = [];
  const journals: Journal[] = [];

  /** The sender's store: the transactions table of a journal in memory. */
  function memoryStore(): TxStore {
    const journal = Journal.open(":memory:");
    journals.push(journal);
    return journal.transactions;
  }

  before(async function () {
    node = await startHardhatNode();
    proxy = await startFaultProxy(node.url);
    token = (await deployToken(node.url)).address;
  });

  afterEach(async function () {
    for (const s of senders.splice(0)) await s.stop();
    for (const j of journals.splice(0)) j.close();
    proxy.plan = () => "forward";
    await node.rpc("evm_setAutomine", [true]);
    // Fee spikes of one test must not leak into the next.
    await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${GWEI.toString(16)}`]);
    await node.mine();
  });

  after(async function () {
    await proxy?.stop();
    await node?.stop();
  });

  function makeSender(keyIndex: number, store: TxStore, options: Partial<TxSenderOptions> = {}): TxSender {
    const sender = new TxSender({
      rpc: new RpcClient({ transport: new HttpTransport({ url: proxy.url }), retry: { baseDelayMs: 10, maxDelayMs: 50 } }),
      signer: new Wallet(DEV_KEYS[keyIndex]),
      store,
      chainId: 31337n,
      maxFeePerGasCap: 1000n * GWEI,
      confirmations: 1,
      pollIntervalMs: 40,
      stuckAfterMs: 60_000,
      ...options,
    });
    senders.push(sender);
    if (process.env.AITBC_DEBUG_CHAIN !== undefined) sender.on("warning", (w) => console.log("warning", w.error.code, w.error.message, JSON.stringify(w.error.details)));
    return sender;
  }

  async function chainNonce(keyIndex: number): Promise<number> {
    return Number(await node.rpc<string>("eth_getTransactionCount", [new Wallet(DEV_KEYS[keyIndex]).address, "latest"]));
  }

  async function receipt(hash: string): Promise<{ status: string; blockNumber: string } | null> {
    return node.rpc("eth_getTransactionReceipt", [hash]);
  }

  async function fees(hash: string): Promise<{ nonce: number; maxFee: bigint; tip: bigint }> {
    const tx = await node.rpc<{ nonce: string; maxFeePerGas: string; maxPriorityFeePerGas: string }>("eth_getTransactionByHash", [hash]);
    return { nonce: Number(tx.nonce), maxFee: BigInt(tx.maxFeePerGas), tip: BigInt(tx.maxPriorityFeePerGas) };
  }

  function expectBumped(before: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }, after: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }) {
    expect(after.maxFeePerGas * 1000n >= before.maxFeePerGas * 1125n, "maxFeePerGas raised by ≥ 12.5 %").to.equal(true);
    expect(after.maxPriorityFeePerGas * 1000n >= before.maxPriorityFeePerGas * 1125n, "maxPriorityFeePerGas raised by ≥ 12.5 %").to.equal(true);
  }

  it("assigns sequential nonces to concurrent requests and deduplicates by idempotency key", async function () {
    const store = memoryStore();
    const sender = makeSender(1, store);
    const start = await chainNonce(1);
    await sender.start();
    const submitted = await Promise.all(
      Array.from({ length: 8 }, (_, i) => Promise.resolve().then(() => sender.submit({ purpose: "other", idempotencyKey: `k${i}`, to: token, data: approve(2, BigInt(i + 1)) }))),
    );
    const again = sender.submit({ purpose: "other", idempotencyKey: "k3", to: token, data: approve(2, 999n) });
    expect(again.created).to.equal(false);
    expect(again.tx.id).to.equal(submitted[3].tx.id);

    const finals = await Promise.all(submitted.map((s) => sender.waitForFinal(s.tx.id)));
    expect(finals.map((t) => t.status)).to.deep.equal(Array(8).fill("confirmed"));
    expect(finals.map((t) => t.nonce)).to.deep.equal(Array.from({ length: 8 }, (_, i) => start + i));
    expect(finals.every((t) => t.attempts.length === 1)).to.equal(true);
    expect(await chainNonce(1)).to.equal(start + 8);
    expect(sender.metrics()).to.include({ submitted: 8, deduplicated: 1, sent: 8, confirmed: 8, replacements: 0 });
  });

  it("replaces a transaction stuck behind a base-fee spike at the same nonce with ≥ 12.5 % higher fees", async function () {
    await node.rpc("evm_setAutomine", [false]);
    const store = memoryStore();
    const sender = makeSender(3, store, { stuckAfterMs: 300 });
    await sender.start();
    const sent = once(sender, "sent");
    const { tx } = sender.submit({ purpose: "other", idempotencyKey: "spike", to: token, data: approve(2, 5n) });
    const [first] = (await sent) as [{ hash: string; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; nonce: number }];

    // The next block's base fee jumps above what the transaction offers: it stays in the mempool.
    await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * GWEI).toString(16)}`]);
    await node.mine();
    expect(await receipt(first.hash)).to.equal(null);

    const [replaced] = (await once(sender, "replaced")) as [ReplacedEvent];
    expect(replaced.reason).to.equal("stuck");
    expect(replaced.previousHash).to.equal(first.hash);
    expect(replaced.nonce).to.equal(first.nonce);
    expectBumped(first, replaced);

    await node.mine();
    const final = await sender.waitForFinal(tx.id);
    expect(final.status).to.equal("confirmed");
    expect(final.nonce).to.equal(first.nonce);
    const mined = await fees(final.minedHash as string);
    expect(mined.nonce).to.equal(first.nonce);
    expectBumped(first, { maxFeePerGas: mined.maxFee, maxPriorityFeePerGas: mined.tip });
    expect(await receipt(first.hash)).to.equal(null);
    expect(sender.metrics().replacements).to.be.at.least(1);
  });

  it("bumps at once when the node refuses an under-priced transaction", async function () {
    const store = memoryStore();
    const sender = makeSender(4, store);
    // The fee spike lands between the sender's fee quote and its broadcast.
    proxy.plan = async (call): Promise<FaultAction> => {
      if (call.method === "eth_sendRawTransaction" && !proxy.calls.slice(0, call.seq - 1).some((c) => c.method === "eth_sendRawTransaction")) {
        await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(50n * GWEI).toString(16)}`]);
      }
      return "forward";
    };
    proxy.calls.length = 0;
    await sender.start();
    const sent: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; nonce: number }[] = [];
    sender.on("sent", (e) => sent.push(e));
    const replacedP = once(sender, "replaced");
    const { tx } = sender.submit({ purpose: "other", idempotencyKey: "underpriced", to: token, data: approve(2, 6n) });
    const [replaced] = (await replacedP) as [ReplacedEvent];
    const final = await sender.waitForFinal(tx.id);

    expect(replaced.reason).to.equal("underpriced");
    expect(sent).to.have.length(0);
    expect(final.status).to.equal("confirmed");
    expect(final.attempts).to.have.length(2);
    expect(final.minedHash).to.equal(final.attempts[1].hash);
    expect(new Set(final.attempts.map((a) => a.nonce)).size).to.equal(1);
    expectBumped(final.attempts[0], final.attempts[1]);
    expect(final.attempts[1].maxFeePerGas >= 50n * GWEI).to.equal(true);
  });

  it("treats 'nonce too low' after the earlier attempt was mined as done, not as an error", async function () {
    await node.rpc("evm_setAutomine", [false]);
    const store = memoryStore();
    const sender = makeSender(5, store, { stuckAfterMs: 300 });
    const failures: FailedEvent[] = [];
    sender.on("failed", (e) => failures.push(e));
    await sender.start();
    const sentP = once(sender, "sent");
    const { tx } = sender.submit({ purpose: "other", idempotencyKey: "race", to: token, data: approve(2, 7n) });
    const [first] = (await sentP) as [{ hash: string }];
    await node.rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * GWEI).toString(16)}`]);
    await node.mine();

    // Just before the replacement reaches the node, the base fee falls and the first attempt is mined.
    proxy.plan = async (call): Promise<FaultAction> => {
      if (call.method === "eth_sendRawTransaction") {
        await node.rpc("hardhat_setNextBlockBaseFeePerGas", ["0x1"]);
        await node.mine();
        proxy.plan = () => "forward";
      }
      return "forward";
    };
    const final = await sender.waitForFinal(tx.id);

    expect(final.status).to.equal("confirmed");
    expect(final.minedHash).to.equal(first.hash);
    expect(final.attempts).to.have.length(2);
    expect(failures).to.have.length(0);
    expect(sender.metrics().nonceTooLowReconciled).to.equal(1);
    expect(sender.metrics().abandoned).to.equal(0);
    expect(await receipt(final.attempts[1].hash)).to.equal(null);
  });

  it("resumes after a crash: reconciles every record, rebroadcasts the dropped one, sends nothing twice", async function () {
    await node.rpc("evm_setAutomine", [false]);
    const store = memoryStore();
    const start = await chainNonce(6);
    const first = makeSender(6, store);
    await first.start();
    const hashes: string[] = [];
    first.on("sent", (e) => hashes.push(e.hash));
    const ids = ["a", "b", "c"].map((k, i) => first.submit({ purpose: "settle", idempotencyKey: k, to: token, data: approve(2, BigInt(10 + i)) }).tx.id);
    while (hashes.length < 3) await once(first, "sent");
    await first.stop(); // the process dies here

    // The node lost one transaction from its mempool, and one intent was journaled just before the crash.
    await node.rpc("hardhat_dropTransaction", [hashes[1]]);
    const late = store.createIntent({ purpose: "settle", key: "d", to: token.toLowerCase(), data: approve(2, 13n), value: 0n, gasLimit: null }, Date.now());

    proxy.calls.length = 0;
    const second = makeSender(6, store);
    const rebroadcasts: string[] = [];
    second.on("rebroadcast", (e) => rebroadcasts.push(`${e.reason}:${e.hash}`));
    await second.start();
    expect(second.submit({ purpose: "settle", idempotencyKey: "a", to: token, data: approve(2, 10n) }).created).to.equal(false);
    await node.rpc("evm_setAutomine", [true]);
    await node.mine();
    const finals: StoredTx[] = await Promise.all([...ids, late.id].map((id) => second.waitForFinal(id)));

    expect(finals.map((t) => t.status)).to.deep.equal(["confirmed", "confirmed", "confirmed", "confirmed"]);
    expect(finals.map((t) => t.nonce)).to.deep.equal([start, start + 1, start + 2, start + 3]);
    expect(finals.every((t) => t.attempts.length === 1)).to.equal(true);
    expect(rebroadcasts).to.deep.equal([`dropped:${hashes[1]}`]);
    expect(proxy.calls.filter((c) => c.method === "eth_sendRawTransaction")).to.have.length(2);
    expect(await chainNonce(6)).to.equal(start + 4);
  });

  it("notices a transaction reorged out before its confirmations and resubmits the same payload", async function () {
    const store = memoryStore();
    const sender = makeSender(7, store, { confirmations: 3 });
    const owner = new Wallet(DEV_KEYS[7]).address;
    const spender = new Wallet(DEV_KEYS[2]).address;
    await sender.start();
    const snapshot = await node.rpc<string>("evm_snapshot");
    const minedP = once(sender, "mined");
    const { tx } = sender.submit({ purpose: "accept", idempotencyKey: "job-1", to: token, data: approve(2, 42n) });
    const [mined] = (await minedP) as [{ hash: string; blockNumber: number }];

    const reorgedP = once(sender, "reorged");
    const rebroadcastP = once(sender, "rebroadcast");
    await node.rpc("evm_revert", [snapshot]);
    const [reorged] = (await reorgedP) as [{ hash: string }];
    const [again] = (await rebroadcastP) as [{ hash: string; reason: string }];
    expect(reorged.hash).to.equal(mined.hash);
    expect(again).to.include({ hash: mined.hash, reason: "reorged" });

    await node.mine(3);
    const final = await sender.waitForFinal(tx.id);
    expect(final.status).to.equal("confirmed");
    expect(final.minedHash).to.equal(mined.hash);
    expect(final.attempts).to.have.length(1);
    expect(sender.metrics().reorgs).to.equal(1);
    expect((await receipt(mined.hash))?.status).to.equal("0x1");
    const allowance = await node.rpc<string>("eth_call", [{ to: token, data: erc20.encodeFunctionData("allowance", [owner, spender]) }, "latest"]);
    expect(BigInt(allowance)).to.equal(42n);
  });

  it("fails a request that would revert without consuming a nonce", async function () {
    const store = memoryStore();
    const sender = makeSender(1, store);
    const start = await chainNonce(1);
    await sender.start();
    const transfer = new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [token, 1n]);
    const failedP = once(sender, "failed");
    const { tx } = sender.submit({ purpose: "other", idempotencyKey: "broke", to: token, data: transfer });
    const [failed] = (await failedP) as [FailedEvent];
    expect(failed.code).to.equal("TX_WOULD_REVERT");
    expect((await sender.waitForFinal(tx.id)).status).to.equal("abandoned");
    expect(await chainNonce(1)).to.equal(start);
    expect(() => sender.submit({ purpose: "other", idempotencyKey: "x", to: "0x12", data: "0x" })).to.throw().with.property("code", "TX_INVALID_REQUEST");
  });
});
