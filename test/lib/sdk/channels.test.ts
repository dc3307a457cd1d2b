/**
 * lib/sdk/channels.ts against the contract: requests and vouchers signed with an ethers Signer are accepted by
 * JobChannels on Hardhat's in-process network, and tampered ones are refused with the contract's named errors.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { keccak256, toBeHex, type TypedDataDomain } from "ethers";
import { network } from "hardhat";

import { isAitbcError } from "../../../lib/errors.js";
import { ReceiptMerkleTree } from "../../../lib/receipts/proof-bundle.js";
import {
  channelReceiptLeaf,
  channelsDomain,
  jobRequestDigest,
  signJobRequest,
  signVoucher,
  voucherDigest,
  type ChannelJobRequest,
} from "../../../lib/sdk/channels.js";
import type { JobChannels } from "../../../typechain-types/index.js";
import { deployChannels } from "../../../bench/gas-channel-scenario.js";
import { deployMarketFixture, E18, type MarketFixture } from "../../../tools/market-fixture.js";

const { ethers } = await network.create();
const RATE = 2n * E18;

describe("lib/sdk/channels: typed data accepted by JobChannels", function () {
  let f: MarketFixture;
  let channels: JobChannels;
  let domain: TypedDataDomain;
  let client: HardhatEthersSigner;
  let other: HardhatEthersSigner;
  let provider: HardhatEthersSigner;

  async function request(requestId: bigint): Promise<ChannelJobRequest> {
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    return {
      client: client.address,
      provider: provider.address,
      requestId,
      modelId: 1,
      maxUnitsMilli: 10_000n,
      deadline: now + 3_600n,
      inputHash: keccak256(toBeHex(requestId, 32)),
    };
  }

  beforeEach(async function () {
    f = await deployMarketFixture(ethers, { clients: 2, providers: 1 });
    [client, other] = f.clients;
    provider = f.providers[0];
    channels = await deployChannels(f);
    domain = channelsDomain(f.chainId, await channels.getAddress());
    await (await f.token.connect(client).approve(await channels.getAddress(), ethers.MaxUint256)).wait();
    await (await channels.connect(client).deposit(client.address, provider.address, 100n * E18)).wait();
  });

  it("computes the contract's digests and receipt leaf", async function () {
    const r = await request(1n);
    expect(jobRequestDigest(domain, r)).to.equal(await channels.requestDigest(r));
    expect(voucherDigest(domain, { client: client.address, provider: provider.address, cumulativeAmount: 5n, coveredThrough: 2n })).to.equal(
      await channels.voucherDigest(client.address, provider.address, 5n, 2n),
    );
    const leaf = { requestDigest: jobRequestDigest(domain, r), provider: provider.address, unitsMilli: 1_500n, price: 3n * E18, receiptHash: keccak256("0x01") };
    expect(channelReceiptLeaf(domain, leaf)).to.equal(
      await channels.receiptLeaf(leaf.requestDigest, leaf.provider, leaf.unitsMilli, leaf.price, leaf.receiptHash),
    );
  });

  it("accepts an ethers-signed voucher and refuses it tampered, replayed or for another domain", async function () {
    const voucher = await signVoucher(client, domain, { client: client.address, provider: provider.address, cumulativeAmount: 12n * E18, coveredThrough: 3n });
    const byProvider = channels.connect(provider);
    await expect(byProvider.claim(ethers.ZeroHash, 0, [{ ...voucher, cumulativeAmount: 13n * E18 }]))
      .to.be.revertedWithCustomError(channels, "JobChannelsInvalidVoucherSignature")
      .withArgs(client.address);
    // The coverage is signed too: a provider cannot stretch it to block the client's fallback-proof requests.
    await expect(byProvider.claim(ethers.ZeroHash, 0, [{ ...voucher, coveredThrough: 4n }]))
      .to.be.revertedWithCustomError(channels, "JobChannelsInvalidVoucherSignature")
      .withArgs(client.address);
    const elsewhere = await signVoucher(client, channelsDomain(f.chainId + 1n, await channels.getAddress()), {
      client: client.address,
      provider: provider.address,
      cumulativeAmount: 12n * E18,
      coveredThrough: 3n,
    });
    await expect(byProvider.claim(ethers.ZeroHash, 0, [elsewhere])).to.be.revertedWithCustomError(channels, "JobChannelsInvalidVoucherSignature");
    await (await byProvider.claim(keccak256("0xbeef"), 10, [voucher])).wait();
    const c = await channels.channel(client.address, provider.address);
    expect(c.spent).to.equal(12n * E18);
    expect(c.balance).to.equal(88n * E18);
    expect(c.coveredThrough).to.equal(3n);
    expect(await channels.balanceOf(provider.address)).to.equal(12n * E18 - (12n * E18 * 250n) / 10_000n);
    await expect(byProvider.claim(ethers.ZeroHash, 0, [voucher])).to.be.revertedWithCustomError(channels, "JobChannelsVoucherNotAbove");
  });

  it("accepts a fallback claim from an ethers-signed request and refuses a tampered request", async function () {
    const requests = [await request(1n), await request(2n)];
    const values = requests.map((r, i) => ({
      chainId: f.chainId,
      escrow: domain.verifyingContract as string,
      jobId: BigInt(jobRequestDigest(domain, r)),
      provider: provider.address,
      unitsMilli: 2_000n + BigInt(i),
      price: ((2_000n + BigInt(i)) * RATE) / 1_000n,
      receiptHash: keccak256(toBeHex(100 + i, 32)),
    }));
    const tree = ReceiptMerkleTree.of(values);
    const byProvider = channels.connect(provider);
    await (await byProvider.anchorRoot(tree.root, 2)).wait();
    const claimOf = (r: ChannelJobRequest, signature: string) => ({
      request: r,
      requestSignature: signature,
      unitsMilli: values[0].unitsMilli,
      price: values[0].price,
      receiptHash: values[0].receiptHash,
      root: tree.root,
      proof: tree.getProof(0),
    });
    const signature = await signJobRequest(client, domain, requests[0]);
    await expect(byProvider.claimUnvouched(claimOf({ ...requests[0], maxUnitsMilli: 20_000n }, signature)))
      .to.be.revertedWithCustomError(channels, "JobChannelsInvalidRequestSignature")
      .withArgs(client.address);
    // Another key signs the same request in its own name; presented as the client's, it is a forgery.
    const byOther = await signJobRequest(other, domain, { ...requests[0], client: other.address });
    await expect(byProvider.claimUnvouched(claimOf(requests[0], byOther))).to.be.revertedWithCustomError(channels, "JobChannelsInvalidRequestSignature");
    await (await byProvider.claimUnvouched(claimOf(requests[0], signature))).wait();
    const held = await channels.claimOf(jobRequestDigest(domain, requests[0]));
    expect(held.status).to.equal(1n); // Held
    expect(held.held + (await channels.accruedFees())).to.equal(values[0].price);
    await expect(byProvider.claimUnvouched(claimOf(requests[0], signature))).to.be.revertedWithCustomError(channels, "JobChannelsRequestAlreadyClaimed");
  });

  it("refuses to sign for a client that is not the signer", async function () {
    const r = await request(1n);
    let code: string | undefined;
    try {
      await signJobRequest(other, domain, r);
    } catch (error) {
      if (isAitbcError(error)) code = error.code;
    }
    expect(code).to.equal("CHANNEL_SIGNER_MISMATCH");
    code = undefined;
    try {
      await signVoucher(other, domain, { client: client.address, provider: provider.address, cumulativeAmount: 1n, coveredThrough: 1n });
    } catch (error) {
      if (isAitbcError(error)) code = error.code;
    }
    expect(code).to.equal("CHANNEL_SIGNER_MISMATCH");
  });
});
