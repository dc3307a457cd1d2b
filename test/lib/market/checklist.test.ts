/**
 * Adversarial checklist items that need more than one contract or off-chain tooling: permit front-running (11),
 * domain binding of leaves (4), 64-byte internal nodes (13), one receipt in two batches (14), timelock-only setters
 * with a real timelock (23) and invariant-breaking proposals (24). Items 1-3, 5-10 and 12 are covered by the Solidity
 * tests in test/contracts/ (unit, fuzz and invariant runs).
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { Signature, ZeroHash, keccak256 } from "ethers";
import { network } from "hardhat";

import { AITBCTimelock__factory } from "../../../typechain-types/index.js";
import { defaultMarketParameters, deployMarket } from "../../../lib/deploy/market.js";
import { RECEIPT_LEAF_ENCODING } from "../../../lib/receipts/leaf.js";
import { encodeSettlementRecords, sortForSettlement } from "../../../lib/receipts/settlement.js";
import { createJobs, deployMarketFixture, receiptHashFor, type MarketFixture } from "../../../tools/market-fixture.js";

const { ethers, networkHelpers } = await network.create();
const RATE = 2n * 10n ** 18n;

async function settleJobs(f: MarketFixture, ids: bigint[], units = 1_000n) {
  const p = f.providers[0];
  await (await f.market.jobEscrow.connect(p).acceptJobs(ids)).wait();
  const records = ids.map((jobId) => ({ jobId, unitsMilli: units, receiptHash: receiptHashFor(jobId) }));
  const sorted = sortForSettlement({ chainId: f.chainId, escrow: f.market.addresses.jobEscrow, provider: p.address }, records, () => RATE);
  const tx = await f.market.jobEscrow.connect(p).settleBatch(encodeSettlementRecords(sorted));
  await tx.wait();
  const values = records.map((r) => [f.chainId, f.market.addresses.jobEscrow, r.jobId, p.address, r.unitsMilli, (r.unitsMilli * RATE) / 1000n, r.receiptHash]);
  return { records, tree: StandardMerkleTree.of(values, [...RECEIPT_LEAF_ENCODING]) };
}

describe("JobEscrow adversarial checklist", () => {
  let f: MarketFixture;

  beforeEach(async () => {
    f = await networkHelpers.loadFixture(async function marketFixture() {
      return deployMarketFixture(ethers, { clients: 3, providers: 2 });
    });
  });

  describe("permit (checklist 11)", () => {
    async function permitSignature(amount: bigint, deadline: bigint) {
      const client = f.clients[0];
      await (await f.token.connect(client).approve(f.market.addresses.jobEscrow, 0)).wait();
      const signature = await client.signTypedData(
        { name: "AITBC", version: "1", chainId: f.chainId, verifyingContract: await f.token.getAddress() },
        { Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
        { owner: client.address, spender: f.market.addresses.jobEscrow, value: amount, nonce: await f.token.nonces(client.address), deadline },
      );
      return Signature.from(signature);
    }

    it("createJobWithPermit works for a client without allowance", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const escrow = await f.market.jobEscrow.quote(1, 5_000n);
      const sig = await permitSignature(escrow, now + 600n);
      await expect(f.market.jobEscrow.connect(f.clients[0]).createJobWithPermit(1, 5_000n, ethers.ZeroAddress, now + 600n, "0x", now + 600n, sig.v, sig.r, sig.s))
        .to.emit(f.market.jobEscrow, "JobCreated");
    });

    it("a third party submitting the permit first does not make the creation fail", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const amount = await f.market.jobEscrow.quote(1, 5_000n);
      const sig = await permitSignature(amount, now + 600n);
      await (await f.token.connect(f.clients[2]).permit(f.clients[0].address, f.market.addresses.jobEscrow, amount, now + 600n, sig.v, sig.r, sig.s)).wait();
      await expect(f.market.jobEscrow.connect(f.clients[0]).createJobWithPermit(1, 5_000n, ethers.ZeroAddress, now + 600n, "0x", now + 600n, sig.v, sig.r, sig.s))
        .to.changeTokenBalances(ethers, f.token, [f.clients[0], f.market.jobEscrow], [-amount, amount]);
    });

    it("without permit or allowance the token's own error surfaces", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      await (await f.token.connect(f.clients[0]).approve(f.market.addresses.jobEscrow, 0)).wait();
      await expect(f.market.jobEscrow.connect(f.clients[0]).createJobWithPermit(1, 5_000n, ethers.ZeroAddress, now + 600n, "0x", now + 600n, 27, ZeroHash, ZeroHash))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance");
    });
  });

  describe("receipt leaves and roots", () => {
    it("binds leaves to the chain id and the escrow (checklist 4)", async () => {
      const ids = await createJobs(f, f.clients[0], 3);
      const { records, tree } = await settleJobs(f, ids);
      const r = records[0];
      const leaf = { jobId: r.jobId, provider: f.providers[0].address, unitsMilli: r.unitsMilli, price: (r.unitsMilli * RATE) / 1000n, receiptHash: r.receiptHash };
      const index = [...tree.entries()].find(([, v]) => v[2] === r.jobId)![0];
      const proof = tree.getProof(index);
      expect(await f.market.jobEscrow.verifyReceiptInclusion(tree.root, leaf, proof)).to.equal(true);
      // The same fields under another chain id give another leaf: the proof does not carry over.
      const foreignChain = StandardMerkleTree.of([[f.chainId + 1n, f.market.addresses.jobEscrow, leaf.jobId, leaf.provider, leaf.unitsMilli, leaf.price, leaf.receiptHash]], [...RECEIPT_LEAF_ENCODING]);
      expect(foreignChain.leafHash([f.chainId + 1n, f.market.addresses.jobEscrow, leaf.jobId, leaf.provider, leaf.unitsMilli, leaf.price, leaf.receiptHash])).to.not.equal(await f.market.jobEscrow.receiptLeaf(leaf));
      // A second escrow deployment computes a different leaf for the same fields and knows nothing of the root.
      const other = await deployMarket(f.owner, { token: await f.token.getAddress(), timelock: f.owner.address, treasury: f.treasury.address }, f.params);
      expect(await other.jobEscrow.receiptLeaf(leaf)).to.not.equal(await f.market.jobEscrow.receiptLeaf(leaf));
      expect(await other.jobEscrow.verifyReceiptInclusion(tree.root, leaf, proof)).to.equal(false);
    });

    it("rejects two internal nodes presented as a 64-byte leaf (checklist 13)", async () => {
      const ids = await createJobs(f, f.clients[0], 4);
      const { tree } = await settleJobs(f, ids);
      const dump = tree.dump().tree;
      // Node 1 is an internal node whose sibling (node 2) completes a valid proof to the root: a verifier that
      // accepted raw 32-byte leaves would take it. The escrow only hashes typed fields into a double-hashed leaf,
      // so the internal node's preimage (64 bytes) can never be produced from a 224-byte encoding.
      const asFields = { jobId: BigInt(dump[3]), provider: ethers.ZeroAddress, unitsMilli: 0n, price: BigInt(dump[4]), receiptHash: ZeroHash };
      expect(await f.market.jobEscrow.verifyReceiptInclusion(tree.root, asFields, [dump[2]])).to.equal(false);
      expect(keccak256(ethers.concat([dump[3], dump[4]].sort())) === dump[1] || keccak256(ethers.concat([dump[4], dump[3]])) === dump[1]).to.equal(true);
    });

    it("refuses the same plain anchor twice, keeps it apart from the settlement root, and the same receipt in a second batch (checklist 14)", async () => {
      const ids = await createJobs(f, f.clients[0], 2);
      const { tree, records } = await settleJobs(f, ids);
      const escrow = f.market.jobEscrow.connect(f.providers[0]);
      // Plain-anchoring a settlement root is the submitter's own record: it changes nothing about the settlement.
      const settled = await escrow.batch(tree.root);
      await (await escrow.anchorRoot(tree.root, 2)).wait();
      await expect(escrow.anchorRoot(tree.root, 2)).to.be.revertedWithCustomError(escrow, "JobEscrowPlainAnchorExists");
      expect((await escrow.batch(tree.root)).id).to.equal(settled.id);
      const again = encodeSettlementRecords([records[0]]);
      await expect(escrow.settleBatch(again)).to.be.revertedWithCustomError(escrow, "JobEscrowUnexpectedStatus").withArgs(records[0].jobId, 3);
    });
  });

  describe("governance-owned parameters with a real timelock (checklists 23, 24)", () => {
    async function timelocked() {
      const [deployer, proposer] = await ethers.getSigners();
      const timelock = await new AITBCTimelock__factory(deployer).deploy(60, [proposer.address], [ethers.ZeroAddress], ethers.ZeroAddress);
      await timelock.waitForDeployment();
      const address = await timelock.getAddress();
      const market = await deployMarket(deployer, { token: await f.token.getAddress(), timelock: address, treasury: address }, defaultMarketParameters(true));
      async function run(target: string, data: string) {
        const salt = ethers.id(`${target}${data}${Math.random()}`);
        await (await timelock.connect(proposer).schedule(target, 0, data, ZeroHash, salt, 60)).wait();
        await networkHelpers.time.increase(60);
        return timelock.execute(target, 0, data, ZeroHash, salt);
      }
      return { timelock, market, run, deployer };
    }

    it("every privileged setter refuses any caller but the timelock", async () => {
      const { market, deployer } = await timelocked();
      const calls = [
        () => market.jobEscrow.connect(deployer).setFeeBps(100),
        () => market.jobEscrow.connect(deployer).setDisputeWindow(3_600),
        () => market.jobEscrow.connect(deployer).setDisputeTimeout(3_600),
        () => market.jobEscrow.connect(deployer).setMaxDeadlineDelay(3_600),
        () => market.jobEscrow.connect(deployer).resolveDispute(1, 0, 0),
        () => market.modelRegistry.connect(deployer).setRate(1, 1n),
        () => market.modelRegistry.connect(deployer).setEnabled(1, false),
        () => market.modelRegistry.connect(deployer).addModel("llama3.3", "gpu_seconds", 1n),
        () => market.providerRegistry.connect(deployer).setMinBond(1n),
        () => market.providerRegistry.connect(deployer).setUnbondingPeriod(3_600),
      ];
      for (const call of calls) {
        await expect(call()).to.be.revertedWithCustomError(market.jobEscrow, "OwnableUnauthorizedAccount").withArgs(deployer.address);
      }
    });

    it("a timelocked change inside the bounds takes effect", async () => {
      const { market, run } = await timelocked();
      await (await run(market.addresses.jobEscrow, market.jobEscrow.interface.encodeFunctionData("setFeeBps", [500]))).wait();
      expect((await market.jobEscrow.parameters())[0]).to.equal(500n);
    });

    it("a timelocked operation (what a passed proposal executes) setting the fee above the maximum reverts with a named error", async () => {
      const { market, run } = await timelocked();
      await expect(run(market.addresses.jobEscrow, market.jobEscrow.interface.encodeFunctionData("setFeeBps", [10_001])))
        .to.be.revertedWithCustomError(market.jobEscrow, "JobEscrowParameterOutOfBounds")
        .withArgs(ethers.encodeBytes32String("feeBps"), 10_001, 0, 2_000);
    });

    it("a timelocked operation setting an enabled model's rate to zero reverts with a named error", async () => {
      const { market, run } = await timelocked();
      await expect(run(market.addresses.modelRegistry, market.modelRegistry.interface.encodeFunctionData("setRate", [1, 0])))
        .to.be.revertedWithCustomError(market.modelRegistry, "ModelRegistryZeroRateForEnabledModel")
        .withArgs(1);
    });
  });
});
