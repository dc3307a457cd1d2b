import { expect } from "chai";
import { network } from "hardhat";
import { getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";

import { deploySystem } from "../../../lib/deploy/system.js";
import type { Deployment } from "../../../lib/deployments.js";
import { isAitbcError } from "../../../lib/errors.js";
import { offerJson, type Offer } from "../../../lib/market/offer.js";
import { generateEncryptionKeyPair, isEnvelope, readEnvelopeHeader, type EncryptionKeyPair } from "../../../lib/privacy/envelope.js";
import { MAX_PROVIDER_RECIPIENTS, openJobRequest } from "../../../lib/privacy/request.js";
import { getPublicKey, randomSecretKey } from "../../../lib/receipts/ed25519.js";
import { toHex } from "../../../lib/receipts/encoding.js";
import { submitJob, type SubmitJobRequest } from "../../../lib/sdk/client.js";
import { resultKeyFor } from "../../../lib/sdk/results.js";
import { AITBCToken__factory, JobEscrow__factory, ProviderRegistry__factory } from "../../../typechain-types/index.js";
import { startFixedServer, type FixedServer } from "../../fixtures/fixed-server.js";

const { ethers, networkHelpers } = await network.create();

interface Fixture {
  deployment: Deployment;
  escrow: string;
  providers: string[];
  keys: EncryptionKeyPair[];
}

describe("lib/sdk/client: submitJob checks the offers before escrowing and seals private prompts", function () {
  let f: Fixture;
  const servers: FixedServer[] = [];

  function offerOf(i: number, overrides: Partial<Offer> = {}): Offer {
    return {
      provider: f.providers[i].toLowerCase(),
      chainId: 31337n,
      escrow: f.escrow.toLowerCase(),
      encryptionKey: f.keys[i].publicKey,
      accepts: { public: true, private: true },
      models: [{ name: "llama3.2", minRate: 0n, maxUnitsMilli: 10_000n }],
      limits: { maxPromptBytes: 1024, contextTokens: null, maxTokens: 64, deadlineMarginSeconds: 60, maxJobPrice: null },
      capacity: { maxConcurrentJobs: 2, activeJobs: 0 },
      health: { status: "ok", reasons: [] },
      ...overrides,
    };
  }
  const publish = (i: number, overrides: Partial<Offer> = {}) => servers[i].json("/api/v1/offer", offerJson(offerOf(i, overrides)));

  beforeEach(async function () {
    f = await networkHelpers.loadFixture(async function twoProvidersWithEndpoints(): Promise<Fixture> {
      const [deployer, a, b, client, ...more] = await ethers.getSigners();
      const deployment = await deploySystem(deployer, { network: "hardhat", devAccounts: [a, b, client, ...more.slice(0, 14)].map((s) => s.address) });
      const c = deployment.contracts;
      const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, deployer);
      const bond = await registry.minBond();
      const keys: EncryptionKeyPair[] = [];
      for (const signer of [a, b]) {
        await (await AITBCToken__factory.connect(c.AITBCToken, signer).approve(c.ProviderRegistry as string, bond)).wait();
        await (await registry.connect(signer).register(toHex(getPublicKey(randomSecretKey())), [1], bond)).wait();
        const key = await generateEncryptionKeyPair();
        await (await registry.connect(signer).setEndpoint(toHex(key.publicKey), "http://127.0.0.1:9")).wait();
        keys.push(key);
      }
      return { deployment, escrow: c.JobEscrow as string, providers: [a.address, b.address], keys };
    });
    const [, a, b] = await ethers.getSigners();
    const registry = ProviderRegistry__factory.connect(f.deployment.contracts.ProviderRegistry as string, ethers.provider);
    servers.length = 0;
    for (const [i, signer] of [a, b].entries()) {
      const server = await startFixedServer();
      servers.push(server);
      await (await registry.connect(signer).setEndpoint(toHex(f.keys[i].publicKey), server.url)).wait();
      publish(i);
    }
  });
  afterEach(async function () {
    for (const s of servers) await s.close();
  });

  async function client() {
    return (await ethers.getSigners())[3];
  }

  /** Submits and returns the refusal code, asserting that nothing moved: balance, allowance, job count, block. */
  async function refused(request: Partial<SubmitJobRequest>): Promise<{ code: string; hint?: string }> {
    const signer = await client();
    const token = AITBCToken__factory.connect(f.deployment.contracts.AITBCToken, ethers.provider);
    const escrow = JobEscrow__factory.connect(f.escrow, ethers.provider);
    const before = [await token.balanceOf(signer.address), await token.allowance(signer.address, f.escrow), (await escrow.counters())[0], await ethers.provider.getBlockNumber()];
    try {
      await submitJob(signer, f.deployment, { model: "llama3.2", prompt: "hello", maxUnits: "2", ...request });
    } catch (error) {
      if (!isAitbcError(error)) throw error;
      const after = [await token.balanceOf(signer.address), await token.allowance(signer.address, f.escrow), (await escrow.counters())[0], await ethers.provider.getBlockNumber()];
      expect(after, `${error.code}: nothing was sent`).to.deep.equal(before);
      return { code: error.code, hint: error.hint };
    }
    throw new Error("expected a refusal");
  }

  it("seals an open private job to every provider whose offer accepts it and to the client, who can reopen it", async function () {
    const signer = await client();
    const job = await submitJob(signer, f.deployment, { model: "llama3.2", prompt: "a secret prompt", maxUnits: "2" });
    expect(job.private).to.equal(true);
    expect(job.recipients).to.deep.equal(f.providers);
    const own = await resultKeyFor(signer, 31337n);
    expect(job.resultKey).to.equal(hexlify(own.publicKey));
    const tx = await ethers.provider.getTransaction(job.txHash);
    const parsed = JobEscrow__factory.createInterface().parseTransaction({ data: tx!.data });
    const onChain = getBytes(parsed!.args.prompt as string);
    expect(isEnvelope(onChain)).to.equal(true);
    expect(keccak256(onChain)).to.equal(job.inputHash);
    expect(readEnvelopeHeader(onChain).recipients.length).to.equal(3);
    const context = { chainId: 31337n, market: f.escrow, client: signer.address };
    for (const key of [...f.keys, own]) {
      const opened = await openJobRequest(onChain, key, context);
      expect(new TextDecoder().decode(opened.prompt)).to.equal("a secret prompt");
      expect(hexlify(opened.resultKey)).to.equal(job.resultKey);
    }
  });

  it("seals a directed job to that provider only, leaves out providers whose offer refuses, and sends --public in the clear", async function () {
    const signer = await client();
    const directed = await submitJob(signer, f.deployment, { model: "llama3.2", prompt: "for b only", maxUnits: "2", provider: f.providers[1] });
    expect(directed.recipients).to.deep.equal([f.providers[1]]);
    publish(0, { health: { status: "degraded", reasons: ["runtime down"] } });
    const open = await submitJob(signer, f.deployment, { model: "llama3.2", prompt: "open", maxUnits: "2" });
    expect(open.recipients).to.deep.equal([f.providers[1]]);
    const pub = await submitJob(signer, f.deployment, { model: "llama3.2", prompt: "in the clear", maxUnits: "2", private: false });
    expect(pub).to.deep.include({ private: false, resultKey: null, inputHash: keccak256(toUtf8Bytes("in the clear")) });
    expect(pub.recipients).to.deep.equal([]);
  });

  it("refuses each admission case before anything is signed or sent, with a hint that names the fix", async function () {
    expect((await refused({ model: "codellama" })).code, "model nobody serves").to.equal("MODEL_NOT_OFFERED");
    const units = await refused({ maxUnits: "11" });
    expect(units.code).to.equal("UNITS_TOO_LARGE");
    expect(units.hint).to.include("at most 10");
    const deadline = await refused({ deadline: "30" });
    expect(deadline.code).to.equal("DEADLINE_TOO_CLOSE");
    expect(deadline.hint).to.match(/--deadline \d+/);
    expect((await refused({ prompt: new Uint8Array([0x68, 0xc3, 0x28]) })).code).to.equal("PROMPT_NOT_UTF8");
    const long = await refused({ prompt: "x".repeat(1025) });
    expect(long.code).to.equal("PROMPT_TOO_LONG");
    expect(long.hint).to.include("1024 bytes");
    for (const i of [0, 1]) publish(i, { accepts: { public: true, private: false } });
    expect((await refused({})).hint, "private not offered").to.include("--public");
    expect((await refused({})).code).to.equal("PRIVATE_NOT_OFFERED");
    for (const i of [0, 1]) publish(i, { health: { status: "degraded", reasons: ["runtime down"] } });
    const degraded = await refused({ provider: f.providers[0] });
    expect(degraded.code).to.equal("DEGRADED");
    expect(degraded.hint).to.include("--force").and.include("--provider");
    servers[0].routes.delete("/api/v1/offer");
    const gone = await refused({ provider: f.providers[0] });
    expect(gone.code).to.equal("OFFER_UNREACHABLE");
    expect(gone.hint).to.include("--force");
  });

  it("a provider without an endpoint: a private job cannot be sealed to it, a public one needs --force", async function () {
    const [, a] = await ethers.getSigners();
    await (await ProviderRegistry__factory.connect(f.deployment.contracts.ProviderRegistry as string, a).clearEndpoint()).wait();
    const sealed = await refused({ provider: f.providers[0] });
    expect(sealed.code).to.equal("PRIVATE_NOT_OFFERED");
    expect(sealed.hint).to.include("--public");
    expect((await refused({ provider: f.providers[0], private: false })).code).to.equal("OFFER_UNREACHABLE");
    expect((await refused({ provider: f.providers[0], force: true })).code, "nothing to seal to, even forced").to.equal("PRIVATE_NOT_OFFERED");
    const forced = await submitJob(await client(), f.deployment, { model: "llama3.2", prompt: "hi", maxUnits: "2", provider: f.providers[0], private: false, force: true });
    expect(forced).to.deep.include({ private: false, provider: f.providers[0] });
    // An open private job is sealed only to the provider that still has an endpoint.
    const open = await submitJob(await client(), f.deployment, { model: "llama3.2", prompt: "hi", maxUnits: "2" });
    expect(open.recipients).to.deep.equal([f.providers[1]]);
  });

  it("refuses to seal an open job to more than 15 providers (TOO_MANY_RECIPIENTS, naming --provider)", async function () {
    const signers = await ethers.getSigners();
    const registry = ProviderRegistry__factory.connect(f.deployment.contracts.ProviderRegistry as string, ethers.provider);
    const bond = await registry.minBond();
    for (const signer of signers.slice(4, 18)) {
      await (await AITBCToken__factory.connect(f.deployment.contracts.AITBCToken, signer).approve(await registry.getAddress(), bond)).wait();
      await (await registry.connect(signer).register(toHex(getPublicKey(randomSecretKey())), [1], bond)).wait();
      await (await registry.connect(signer).setEndpoint(toHex((await generateEncryptionKeyPair()).publicKey), "http://127.0.0.1:9")).wait();
    }
    const many = await refused({ force: true });
    expect(many.code).to.equal("TOO_MANY_RECIPIENTS");
    expect(many.hint).to.include("--provider");
  });

  it("--force skips the offers: a job nobody offers to run is escrowed and sealed to the registered keys", async function () {
    for (const i of [0, 1]) publish(i, { health: { status: "degraded", reasons: ["runtime down"] } });
    const job = await submitJob(await client(), f.deployment, { model: "llama3.2", prompt: "anyway", maxUnits: "2", force: true });
    expect(job.recipients).to.deep.equal(f.providers);
    expect(job.private).to.equal(true);
  });

  it("refuses a private prompt whose envelope would not fit the escrow's limit (ENVELOPE_TOO_LARGE)", async function () {
    expect(MAX_PROVIDER_RECIPIENTS).to.equal(15);
    const { MAX_PROMPT_BYTES } = await import("../../../lib/protocol.js");
    // Fits in the clear, not once sealed to two providers and the client.
    const prompt = "y".repeat(MAX_PROMPT_BYTES - 100);
    expect((await refused({ prompt, force: true })).code).to.equal("ENVELOPE_TOO_LARGE");
  });
});
