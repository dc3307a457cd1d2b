import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Interface, Wallet } from "ethers";

import { Journal } from "../../../../relayer/adapters/journal/journal.js";
import { HttpTransport, RpcClient } from "../../../../relayer/adapters/chain/rpc.js";
import { TxSender } from "../../../../relayer/adapters/chain/sender.js";
import type { TxStore } from "../../../../relayer/adapters/chain/tx-store.js";
import { DEV_KEYS, deployToken, type HardhatNode, startHardhatNode } from "../../../fixtures/relayer/chain-node.js";

const erc20 = new Interface(["function approve(address,uint256)"]);

describe("relayer/adapters/journal/transactions: the sender's tx store", function () {
  let dir: string;
  let path: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "aitbc-txstore-"));
    path = join(dir, "journal.db");
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function open(): { journal: Journal; store: TxStore; close(): void } {
    const journal = Journal.open(path);
    return { journal, store: journal.transactions, close: () => journal.close() };
  }

  const attempt = (nonce: number, hash: string) => ({
    hash,
    nonce,
    maxFeePerGas: 3n,
    maxPriorityFeePerGas: 1n,
    gasLimit: 50_000n,
    raw: "0x02",
    sentAt: 1,
  });

  /** The {@link TxStore} contract the journal's transactions table keeps, on disk and in memory. */
  function lifecycle(store: TxStore): void {
    const intent = { purpose: "settle", key: "7", to: "0x00000000000000000000000000000000000000aa", data: "0x", value: 0n, gasLimit: null };
    const a = store.createIntent(intent, 1);
    expect(a).to.include({ status: "intent", nonce: null, key: "7", purpose: "settle" });
    expect(() => store.createIntent(intent, 2)).to.throw().with.property("code", "TX_KEY_CONFLICT");

    store.recordAttempt(a.id, attempt(4, `0x${"11".repeat(32)}`), 3);
    expect(() => store.recordAttempt(a.id, attempt(5, `0x${"12".repeat(32)}`), 3)).to.throw().with.property("code", "TX_STORE_STATE");
    store.markMined(a.id, { hash: `0x${"11".repeat(32)}`, blockNumber: 9 }, 4);
    store.markReverted(a.id, { hash: `0x${"11".repeat(32)}`, blockNumber: 9 }, "reverted", 5);
    // A reverted transaction is final and nothing of it can still land: its key is free again (the relayer re-accepts
    // a job alone under the key of a group accept that reverted), and the new record is a new transaction.
    expect(store.findByKey("settle", "7")).to.equal(null);
    const retry = store.createIntent(intent, 6);
    expect(retry.id).to.not.equal(a.id);
    expect(store.findByKey("settle", "7")?.id).to.equal(retry.id);
    expect(store.get(a.id)?.status).to.equal("reverted");
    expect(() => store.createIntent(intent, 6)).to.throw().with.property("code", "TX_KEY_CONFLICT");
    store.markAbandoned(retry.id, "not needed", 6);

    const b = store.createIntent({ ...intent, key: "8" }, 7);
    store.markAbandoned(b.id, "gave up", 8);
    expect(store.findByKey("settle", "8")).to.equal(null);
    const c = store.createIntent({ ...intent, key: "8" }, 9);
    expect(store.listOpen().map((t) => t.id)).to.deep.equal([c.id]);
    expect(store.nextNonceHint()).to.equal(5);
  }

  it("keeps the sender's lifecycle in the journal's tables, idempotent per (purpose, key)", function () {
    const { store, close } = open();
    try {
      lifecycle(store);
      const other = { purpose: "tip", key: "1", to: "0x00000000000000000000000000000000000000aa", data: "0x", value: 0n, gasLimit: null };
      expect(() => store.createIntent(other, 10)).to.throw().with.property("code", "TX_INVALID_REQUEST");
    } finally {
      close();
    }
  });

  it("follows the same key rule as the in-memory store", function () {
    const journal = Journal.open(":memory:");
    try {
      lifecycle(journal.transactions);
    } finally {
      journal.close();
    }
  });

  it("drives real transactions and survives a restart on the same file without sending twice", async function () {
    const node: HardhatNode = await startHardhatNode();
    try {
      const { address } = await deployToken(node.url);
      const rpc = new RpcClient({ transport: new HttpTransport({ url: node.url }) });
      const data = erc20.encodeFunctionData("approve", [new Wallet(DEV_KEYS[2]).address, 5n]);
      const makeSender = (store: TxStore) =>
        new TxSender({ rpc, signer: new Wallet(DEV_KEYS[1]), store, chainId: 31337n, maxFeePerGasCap: 10n ** 12n, confirmations: 1, pollIntervalMs: 30 });

      let db = open();
      let sender = makeSender(db.store);
      await sender.start();
      const { tx } = sender.submit({ purpose: "accept", idempotencyKey: "42", to: address, data });
      const final = await sender.waitForFinal(tx.id);
      expect(final.status).to.equal("confirmed");
      await sender.stop();
      db.close();

      db = open();
      sender = makeSender(db.store);
      await sender.start();
      const again = sender.submit({ purpose: "accept", idempotencyKey: "42", to: address, data });
      expect(again).to.deep.include({ created: false });
      expect(again.tx.minedHash).to.equal(final.minedHash);
      expect(db.journal.transactions.get(tx.id)?.status).to.equal("confirmed");
      expect(sender.metrics().sent).to.equal(0);
      await sender.stop();
      db.close();
    } finally {
      await node.stop();
    }
  });
});
