import { expect } from "chai";
import { network } from "hardhat";

import { deploySystem } from "../../../lib/deploy/system.js";
import type { Deployment } from "../../../lib/deployments.js";
import { offerJson, type Offer } from "../../../lib/market/offer.js";
import { generateEncryptionKeyPair } from "../../../lib/privacy/envelope.js";
import { getPublicKey, randomSecretKey } from "../../../lib/receipts/ed25519.js";
import { toHex } from "../../../lib/receipts/encoding.js";
import { discoverProviders, fetchOffer, offersFor, providerListing } from "../../../lib/sdk/offers.js";
import { AITBCToken__factory, ProviderRegistry__factory } from "../../../typechain-types/index.js";
import { startFixedServer, type FixedServer } from "../../fixtures/fixed-server.js";
import { rejectionCode as codeOf } from "../../fixtures/errors.js";

const { ethers, networkHelpers } = await network.create();


function offer(provider: string, escrow: string, overrides: Partial<Offer> = {}): Offer {
  return {
    provider: provider.toLowerCase(),
    chainId: 31337n,
    escrow: escrow.toLowerCase(),
    encryptionKey: new Uint8Array(32).fill(9),
    accepts: { public: true, private: true },
    models: [{ name: "llama3.2", minRate: 0n, maxUnitsMilli: 60_000n }],
    limits: { maxPromptBytes: 4096, contextTokens: 2048, maxTokens: 256, deadlineMarginSeconds: 60, maxJobPrice: null },
    capacity: { maxConcurrentJobs: 4, activeJobs: 1 },
    health: { status: "ok", reasons: [] },
    ...overrides,
  };
}

describe("lib/sdk/offers: fetching a relayer's offer", function () {
  let server: FixedServer;
  const P = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
  const E = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

  beforeEach(async function () {
    server = await startFixedServer();
  });
  afterEach(async function () {
    await server.close();
  });

  it("fetches GET <url>/api/v1/offer and parses it (a trailing slash on the service URL is dropped)", async function () {
    const served = offer(P, E);
    server.json("/api/v1/offer", offerJson(served));
    const got = await fetchOffer(`${server.url}/`);
    expect(got).to.deep.equal(served);
    expect(server.requests).to.deep.equal(["/api/v1/offer"]);
  });

  it("refuses what is not an offer with OFFER_MALFORMED", async function () {
    server.json("/api/v1/offer", "<html>dashboard</html>");
    expect(await codeOf(fetchOffer(server.url))).to.equal("OFFER_MALFORMED");
    server.json("/api/v1/offer", { ...JSON.parse(offerJson(offer(P, E))), version: 2 });
    expect(await codeOf(fetchOffer(server.url))).to.equal("OFFER_MALFORMED");
  });

  it("says OFFER_UNREACHABLE for a route miss, a server error, a closed port and a server that does not answer in time", async function () {
    expect(await codeOf(fetchOffer(server.url)), "no offer route").to.equal("OFFER_UNREACHABLE");
    server.json("/api/v1/offer", { error: { code: "HTTP_INTERNAL" } }, 500);
    expect(await codeOf(fetchOffer(server.url)), "500").to.equal("OFFER_UNREACHABLE");
    server.routes.set("/api/v1/offer", { body: "", hang: true });
    const started = Date.now();
    expect(await codeOf(fetchOffer(server.url, { timeoutMs: 300 })), "no answer").to.equal("OFFER_UNREACHABLE");
    expect(Date.now() - started).to.be.lessThan(5_000);
    const closed = server.url;
    await server.close();
    expect(await codeOf(fetchOffer(closed, { timeoutMs: 2_000 })), "closed port").to.equal("OFFER_UNREACHABLE");
    server = await startFixedServer();
  });

  it("stops with ABORTED when the caller's signal fires", async function () {
    server.routes.set("/api/v1/offer", { body: "", hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await codeOf(fetchOffer(server.url, { timeoutMs: 10_000, signal: controller.signal }))).to.equal("ABORTED");
  });
});

describe("lib/sdk/offers: discovering providers and their offers on a chain", function () {
  interface Fixture {
    deployment: Deployment;
    withEndpoint: string;
    without: string;
    encryptionKey: string;
  }
  let f: Fixture;
  let server: FixedServer;

  beforeEach(async function () {
    server = await startFixedServer();
    f = await networkHelpers.loadFixture(async function twoProviders(): Promise<Fixture> {
      const [deployer, a, b] = await ethers.getSigners();
      const deployment = await deploySystem(deployer, { network: "hardhat", devAccounts: [a.address, b.address] });
      const c = deployment.contracts;
      const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, deployer);
      const bond = await registry.minBond();
      // a serves llama3.2 (model 1) and codellama; b serves llama3.2 only and publishes no endpoint.
      for (const [signer, models] of [[a, [1, 3]], [b, [1]]] as const) {
        await (await AITBCToken__factory.connect(c.AITBCToken, signer).approve(c.ProviderRegistry as string, bond)).wait();
        await (await registry.connect(signer).register(toHex(getPublicKey(randomSecretKey())), [...models], bond)).wait();
      }
      const key = await generateEncryptionKeyPair();
      return { deployment, withEndpoint: a.address, without: b.address, encryptionKey: toHex(key.publicKey) };
    });
    const [, a] = await ethers.getSigners();
    // Each test has its own server, on its own port: a publishes that URL (b publishes no endpoint).
    const registry = ProviderRegistry__factory.connect(f.deployment.contracts.ProviderRegistry as string, a);
    await (await registry.setEndpoint(f.encryptionKey, server.url)).wait();
  });
  afterEach(async function () {
    await server.close();
  });

  it("lists every registered provider with its models, whether it can serve and its endpoint", async function () {
    const all = await discoverProviders(f.deployment, ethers.provider);
    expect(all.map((p) => p.address)).to.deep.equal([f.withEndpoint, f.without]);
    const [a, b] = all;
    expect(a.models).to.deep.equal(["llama3.2", "codellama"]);
    expect(a).to.deep.include({ canServe: true, serviceUrl: server.url, encryptionKeyHex: f.encryptionKey });
    expect(b).to.deep.include({ models: ["llama3.2"], canServe: true, serviceUrl: null, encryptionKey: null });
    const codellama = await discoverProviders(f.deployment, ethers.provider, { model: "codellama" });
    expect(codellama.map((p) => p.address)).to.deep.equal([f.withEndpoint]);
    expect(await codeOf(discoverProviders(f.deployment, ethers.provider, { model: "llama9" }))).to.equal("UNKNOWN_MODEL");
    const stranger = await providerListing(f.deployment, ethers.provider, "0x000000000000000000000000000000000000dEaD", { model: "llama3.2" });
    expect(stranger).to.deep.include({ canServe: false, models: [], serviceUrl: null });
  });

  it("fetches each offer in parallel, says why a provider has none, and refuses an offer made for someone else", async function () {
    const escrow = f.deployment.contracts.JobEscrow as string;
    server.json("/api/v1/offer", offerJson(offer(f.withEndpoint, escrow)));
    const listed = await discoverProviders(f.deployment, ethers.provider, { model: "llama3.2" });
    const answered = await offersFor(listed, { expect: { chainId: 31337n, escrow } });
    expect(answered[0].offer?.provider).to.equal(f.withEndpoint.toLowerCase());
    expect(answered[0].error).to.equal(null);
    expect(answered[1].offer).to.equal(null);
    expect(answered[1].error?.code).to.equal("NO_ENDPOINT");

    server.json("/api/v1/offer", offerJson(offer(f.without, escrow)));
    expect((await offersFor(listed))[0].error?.code, "another provider's offer").to.equal("OFFER_MISMATCH");
    server.json("/api/v1/offer", offerJson(offer(f.withEndpoint, escrow, { chainId: 1n })));
    expect((await offersFor(listed, { expect: { chainId: 31337n, escrow } }))[0].error?.code, "another chain").to.equal("OFFER_MISMATCH");
    server.routes.set("/api/v1/offer", { body: "", hang: true });
    const slow = await offersFor(listed, { timeoutMs: 200 });
    expect(slow[0].error?.code).to.equal("OFFER_UNREACHABLE");
  });
});
