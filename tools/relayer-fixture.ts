/**
 * A deployed system for the relayer: a registered provider (development account 1), funded clients, and job creation
 * in bulk. Shared by the relayer app tests, the chaos e2e and the relayer benchmark.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { ZeroAddress, type Signer } from "ethers";

import { deploySystem } from "../lib/deploy/system.js";
import type { Deployment } from "../lib/deployments.js";
import { loadOrCreateEncryptionKeyFile, loadOrCreateKeyFile, type EncryptionKey, type ReceiptKey } from "../lib/node/key-file.js";
import { AITBCToken__factory, JobEscrow__factory, ModelRegistry__factory, ProviderRegistry__factory } from "../typechain-types/index.js";

export interface SystemFixture {
  dir: string;
  deployment: Deployment;
  deploymentFile: string;
  providerKey: ReceiptKey;
  keyFile: string;
  provider: Signer;
  clients: Signer[];
  modelIds: Map<string, number>;
}

/** Deploys the whole system from `deployer`, funds `clients`, and registers `provider` with a fresh receipt key. */
export async function deployForRelayer(deployer: Signer, provider: Signer, clients: Signer[], network = "hardhat"): Promise<SystemFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), "aitbc-relayer-"));
  const devAccounts = await Promise.all([provider, ...clients].map((s) => s.getAddress()));
  const deployment = await deploySystem(deployer, { network, devAccounts });
  const deploymentFile = path.join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify(deployment, null, 2));
  const keyFile = path.join(dir, "provider-key.json");
  const { key: providerKey } = await loadOrCreateKeyFile(keyFile);
  const c = deployment.contracts;
  const token = AITBCToken__factory.connect(c.AITBCToken, provider);
  const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, provider);
  const models = ModelRegistry__factory.connect(c.ModelRegistry as string, provider);
  const modelIds = new Map<string, number>();
  const count = Number(await models.modelCount());
  for (let id = 1; id <= count; id++) modelIds.set((await models.model(id)).name, id);
  const bond = await registry.minBond();
  await (await token.approve(c.ProviderRegistry as string, bond)).wait();
  await (await registry.register(providerKey.publicKeyHex, [...modelIds.values()], bond)).wait();
  for (const client of clients) {
    await (await AITBCToken__factory.connect(c.AITBCToken, client).approve(c.JobEscrow as string, 2n ** 255n)).wait();
  }
  return { dir, deployment, deploymentFile, providerKey, keyFile, provider, clients, modelIds };
}

/**
 * Gives the fixture's provider an X25519 encryption key file (mode 0600, in the fixture's folder) and publishes its
 * public key with `setEndpoint`, as `provider:endpoint` does: what a relayer needs to run private jobs.
 */
export async function publishEncryptionKey(fixture: SystemFixture, serviceUrl = "http://127.0.0.1:8787"): Promise<{ file: string; key: EncryptionKey }> {
  const file = path.join(fixture.dir, "provider-key.x25519.json");
  const { key } = await loadOrCreateEncryptionKeyFile(file);
  const registry = ProviderRegistry__factory.connect(fixture.deployment.contracts.ProviderRegistry as string, fixture.provider);
  await (await registry.setEndpoint(key.publicKeyHex, serviceUrl)).wait();
  return { file, key };
}

export interface JobSpec {
  model: number;
  prompt: Uint8Array | string;
  maxUnitsMilli?: bigint;
  /** Seconds from now. */
  ttl?: number;
  provider?: string;
}

/** Creates jobs with one `createJobs` call per client and chunk. Returns their ids. */
export async function createJobs(fixture: SystemFixture, client: Signer, specs: JobSpec[], now: number): Promise<bigint[]> {
  const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, client);
  const ids: bigint[] = [];
  for (let i = 0; i < specs.length; i += 50) {
    const chunk = specs.slice(i, i + 50);
    const requests = chunk.map((s) => ({
      modelId: s.model,
      maxUnitsMilli: s.maxUnitsMilli ?? 60_000n,
      provider: s.provider ?? ZeroAddress,
      deadline: now + (s.ttl ?? 3_600),
      prompt: typeof s.prompt === "string" ? new TextEncoder().encode(s.prompt) : s.prompt,
    }));
    const first = await escrow.createJobs.staticCall(requests);
    await (await escrow.createJobs(requests)).wait();
    for (let k = 0; k < chunk.length; k++) ids.push(first + BigInt(k));
  }
  return ids;
}
