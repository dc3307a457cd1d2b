import { expect } from "chai";
import { id as topicOf, Wallet } from "ethers";

import { HttpTransport, RpcClient } from "../../../../relayer/adapters/chain/rpc.js";
import { type CursorStore, type LogBatch, LogWatcher, MemoryCursorStore, type WatchedLog } from "../../../../relayer/adapters/chain/watcher.js";
import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import type { AITBCToken } from "../../../../typechain-types/index.js";
import { DEV_KEYS, deployToken, type FaultProxy, type HardhatNode, startFaultProxy, startHardhatNode } from "../../../fixtures/relayer/chain-node.js";

const TRANSFER = topicOf("Transfer(address,address,uint256)");

/** A consumer that applies additions and undoes removals, and fails the test on any duplicate or unknown removal. */
class Ledger {
  readonly live = new Map<string, WatchedLog>();
  readonly removedKeys: string[] = [];
  batches = 0;

  apply = (batch: LogBatch): void => {
    this.batches++;
    for (const log of batch.removed) {
      const key = `${log.blockHash}:${log.logIndex}`;
      expect(this.live.has(key), `removal of a log never delivered: ${key}`).to.equal(true);
      this.live.delete(key);
      this.removedKeys.push(key);
    }
    for (const log of batch.added) {
      const key = `${log.blockHash}:${log.logIndex}`;
      expect(this.live.has(key), `duplicate delivery: ${key}`).to.equal(false);
      this.live.set(key, log);
    }
  };

  txs(): string[] {
    return [...this.live.values()].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex).map((l) => l.transactionHash);
  }
}

describe("relayer/adapters/chain/watcher", function () {
  let node: HardhatNode;
  let proxy: FaultProxy;
  let token: AITBCToken;
  let address: string;
  let deployBlock: number;
  const to = new Wallet(DEV_KEYS[3]).address;

  before(async function () {
    node = await startHardhatNode();
    proxy = await startFaultProxy(node.url);
    ({ token, address } = await deployToken(node.url));
    deployBlock = Number(await node.rpc<string>("eth_blockNumber"));
  });

  afterEach(function () {
    proxy.plan = () => "forward";
  });

  after(async function () {
    await proxy?.stop();
    await node?.stop();
  });

  function rpc(): RpcClient {
    return new RpcClient({ transport: new HttpTransport({ url: proxy.url }), retry: { baseDelayMs: 10, maxDelayMs: 50 } });
  }

  function watcher(
    store: CursorStore,
    ledger: Ledger,
    options: { confirmations?: number; maxBlockRange?: number; historyBlocks?: number; onLogs?: (batch: LogBatch) => void } = {},
  ): LogWatcher {
    return new LogWatcher({
      rpc: rpc(),
      address,
      topics: [TRANSFER],
      startBlock: deployBlock,
      confirmations: options.confirmations ?? 0,
      maxBlockRange: options.maxBlockRange ?? 2000,
      cursorStore: store,
      onLogs: options.onLogs ?? ledger.apply,
      historyBlocks: options.historyBlocks,
      pollIntervalMs: 50,
    });
  }

  async function transfer(amount: bigint): Promise<string> {
    const tx = await token.transfer(to, amount);
    return tx.hash;
  }

  async function canonicalTransferTxs(): Promise<string[]> {
    const logs = await node.rpc<{ transactionHash: string }[]>("eth_getLogs", [{ address, topics: [TRANSFER], fromBlock: `0x${deployBlock.toString(16)}`, toBlock: "latest" }]);
    return logs.map((l) => l.transactionHash.toLowerCase());
  }

  it("delivers every log exactly once across restarts and only below the confirmation depth", async function () {
    const store = new MemoryCursorStore();
    const ledger = new Ledger();
    for (let i = 1n; i <= 5n; i++) await transfer(i);
    const first = watcher(store, ledger, { confirmations: 2, maxBlockRange: 3 });
    await first.pollOnce();
    const head = Number(await node.rpc<string>("eth_blockNumber"));
    expect(first.cursor?.blockNumber).to.equal(head - 2);
    expect([...ledger.live.values()].every((l) => l.blockNumber <= head - 2)).to.equal(true);
    expect(ledger.txs()).to.deep.equal((await canonicalTransferTxs()).slice(0, -2));

    // Restart: a new watcher over the same store, with more traffic in between.
    for (let i = 6n; i <= 8n; i++) await transfer(i);
    const second = watcher(store, ledger, { confirmations: 2, maxBlockRange: 3 });
    await second.pollOnce();
    await node.mine(2);
    await second.pollOnce();
    await second.pollOnce();
    expect(ledger.txs()).to.deep.equal(await canonicalTransferTxs());
    expect(ledger.removedKeys).to.have.length(0);
  });

  it("rewinds after a reorg, even one that happened while it was stopped: removals, then the new logs, no gap, no duplicate", async function () {
    const store = new MemoryCursorStore();
    const ledger = new Ledger();
    const before = watcher(store, ledger);
    await before.pollOnce();
    const delivered = ledger.live.size;

    const snapshot = await node.rpc<string>("evm_snapshot");
    const orphaned = [await transfer(101n), await transfer(102n), await transfer(103n)];
    await before.pollOnce();
    expect(ledger.txs().slice(-3)).to.deep.equal(orphaned);

    // The first fork is abandoned while the watcher is down; the new fork has different transactions.
    await node.rpc("evm_revert", [snapshot]);
    const replacing = [await transfer(201n), await transfer(202n)];
    await node.mine(2);
    const after = watcher(store, ledger);
    const reorgs: { forkBlock: number; removed: number }[] = [];
    after.on("reorg", (e) => reorgs.push(e));
    await after.pollOnce();

    expect(reorgs).to.have.length(1);
    expect(reorgs[0].removed).to.equal(3);
    expect(ledger.removedKeys).to.have.length(3);
    expect(ledger.live.size).to.equal(delivered + 2);
    expect(ledger.txs().slice(-2)).to.deep.equal(replacing);
    expect(ledger.txs()).to.deep.equal(await canonicalTransferTxs());
  });

  it("detects a reorg below the cursor while following the head with a confirmation depth", async function () {
    const store = new MemoryCursorStore();
    const ledger = new Ledger();
    const w = watcher(store, ledger, { confirmations: 1 });
    await w.pollOnce();
    const snapshot = await node.rpc<string>("evm_snapshot");
    await transfer(301n);
    await transfer(302n);
    await w.pollOnce(); // delivers 301 (302 is not yet one block deep)
    await node.rpc("evm_revert", [snapshot]);
    await transfer(401n);
    await transfer(402n);
    await transfer(403n);
    await w.pollOnce();
    expect(ledger.removedKeys).to.have.length(1);
    const canonical = await canonicalTransferTxs();
    expect(ledger.txs()).to.deep.equal(canonical.slice(0, -1));
  });

  it("shrinks the block range when the node refuses a query with too many results", async function () {
    const store = new MemoryCursorStore();
    const ledger = new Ledger();
    proxy.plan = (call) => {
      if (call.method !== "eth_getLogs") return "forward";
      const [filter] = call.params as [{ fromBlock: string; toBlock: string }];
      const span = Number(filter.toBlock) - Number(filter.fromBlock) + 1;
      return span > 4 ? { rpcError: { code: -32005, message: "query returned more than 10000 results" } } : "forward";
    };
    const w = watcher(store, ledger, { maxBlockRange: 64 });
    await w.pollOnce();
    expect(ledger.txs()).to.deep.equal(await canonicalTransferTxs());

    const spans = proxy.calls
      .filter((c) => c.method === "eth_getLogs")
      .map((c) => {
        const [filter] = c.params as [{ fromBlock: string; toBlock: string }];
        return { from: Number(filter.fromBlock), span: Number(filter.toBlock) - Number(filter.fromBlock) + 1 };
      });
    const refused = spans.filter((s) => s.span > 4);
    expect(refused.length).to.be.greaterThan(0);
    // A refused range is never asked again unchanged: the client hands the error to the watcher instead of retrying.
    for (let i = 1; i < spans.length; i++) {
      if (spans[i - 1].span > 4) expect(spans[i].span).to.be.lessThan(spans[i - 1].span);
    }
    expect(spans.filter((s) => s.span <= 4).length).to.be.greaterThan(0);
  });

  it("keeps its remembered history bounded over many blocks: marks and logs of the last historyBlocks only, in memory and in the journal", async function () {
    const memory = new MemoryCursorStore(16);
    const memLedger = new Ledger();
    const inMemory = watcher(memory, memLedger, { maxBlockRange: 5, historyBlocks: 16 });
    const journal = Journal.open(":memory:", { keepBlocks: 16 });
    const ledger = new Ledger();
    const journaled = watcher(journal.blocks, ledger, {
      maxBlockRange: 5,
      historyBlocks: 16,
      onLogs: (batch) => {
        ledger.apply(batch);
        journal.blocks.recordDelivery(batch, [], 1);
      },
    });
    try {
      const cursorSizes: number[] = [];
      for (let round = 0; round < 12; round++) {
        for (let i = 0; i < 4; i++) await transfer(BigInt(1000 + round * 4 + i));
        await node.mine(20);
        await inMemory.pollOnce();
        await journaled.pollOnce();
        expect(inMemory.rememberedBlocks).to.be.at.most(16);
        expect(journaled.rememberedBlocks).to.be.at.most(16);
        expect(memory.size().marks).to.be.at.most(17);
        // At most the 4 transfers of this round lie in the last 16 blocks (20 empty blocks follow them).
        expect(memory.size().logs).to.be.at.most(4);
        const stored = journal.blocks.historySize();
        expect(stored.blocks, "processed_blocks rows").to.be.at.most(16);
        expect(stored.logs, "watched_logs rows").to.be.at.most(4);
        cursorSizes.push((journal.blocks.cursorText() ?? "").length);
      }
      expect(Math.max(...cursorSizes), "the cursor row is the position alone, the same size at any depth").to.be.below(200);
      expect(ledger.txs()).to.deep.equal(await canonicalTransferTxs());
      expect(memLedger.txs()).to.deep.equal(await canonicalTransferTxs());
    } finally {
      journal.close();
    }
  });

  it("rewinds from a journal-backed cursor after a restart: the journal hands back the logs to undo", async function () {
    const journal = Journal.open(":memory:");
    const ledger = new Ledger();
    const onLogs = (batch: LogBatch) => {
      ledger.apply(batch);
      journal.blocks.recordDelivery(batch, [], 1);
    };
    try {
      await watcher(journal.blocks, ledger, { onLogs }).pollOnce();
      const snapshot = await node.rpc<string>("evm_snapshot");
      await transfer(501n);
      await transfer(502n);
      await watcher(journal.blocks, ledger, { onLogs }).pollOnce();
      expect(journal.blocks.deliveredAbove((journal.blocks.position()?.blockNumber ?? 0) - 2)).to.have.length(2);
      await node.rpc("evm_revert", [snapshot]);
      await transfer(601n);
      await node.mine(3);
      const after = watcher(journal.blocks, ledger, { onLogs });
      const reorgs: { removed: number }[] = [];
      after.on("reorg", (e) => reorgs.push(e));
      await after.pollOnce();
      expect(reorgs.map((r) => r.removed)).to.deep.equal([2]);
      expect(ledger.removedKeys).to.have.length(2);
      expect(ledger.txs()).to.deep.equal(await canonicalTransferTxs());
      expect(journal.blocks.position()?.blockNumber).to.equal(Number(await node.rpc<string>("eth_blockNumber")));
    } finally {
      journal.close();
    }
  });

  it("refuses options that cannot work with CHAIN_INVALID_CONFIG", function () {
    expect(() => new LogWatcher({ rpc: rpc(), address: "0x12", startBlock: 0, confirmations: 0, cursorStore: new MemoryCursorStore(), onLogs: () => undefined }))
      .to.throw()
      .with.property("code", "CHAIN_INVALID_CONFIG");
    expect(() => new LogWatcher({ rpc: rpc(), address, startBlock: 0, confirmations: 10, historyBlocks: 5, cursorStore: new MemoryCursorStore(), onLogs: () => undefined }))
      .to.throw()
      .with.property("code", "CHAIN_INVALID_CONFIG");
  });
});
