/**
 * Shared set-up for the relayer app tests, the chaos e2e and the relayer benchmark: a deployed system, a registered
 * provider (development account 1), funded clients, and job creation in bulk.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ZeroAddress, type Provider, type Signer } from "ethers";

import { deploySystem } from "../../../lib/deploy-system.js";
import type { Deployment } from "../../../lib/deployments.js";
import { loadOrCreateKeyFile, type ReceiptKey } from "../../../lib/node/key-file.js";
import { parseJson, type JsonObject } from "../../../lib/receipts/canonical.js";
import { decodeSettlementRecords } from "../../../lib/receipts/settlement.js";
import { escrowInterface } from "../../../relayer/app/contracts.js";
import { verifyReceipt } from "../../../lib/receipts/receipt.js";
import { AITBCToken__factory, JobEscrow__factory, ModelRegistry__factory, ProviderRegistry__factory } from "../../../typechain-types/index.js";
import type { RunRequest, RunResult, Runtime, RuntimeInfo } from "../../../relayer/adapters/runtimes/types.js";
import { RuntimeError } from "../../../relayer/adapters/runtimes/types.js";

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

/** A runtime that answers at once (or fails on cue), for wiring tests. It measures relayer work, not inference. */
export class ScriptedRuntime implements Runtime {
  runs = 0;
  /** Prompts containing this text fail with `RUNTIME_BAD_INPUT`. */
  failOn = "FAIL-ME";

  async run(request: RunRequest): Promise<RunResult> {
    this.runs++;
    const prompt = typeof request.prompt === "string" ? request.prompt : new TextDecoder().decode(request.prompt);
    if (prompt.includes(this.failOn)) throw new RuntimeError("RUNTIME_BAD_INPUT", `job ${request.jobId}: refused by the scripted runtime`);
    const startedAt = Date.now();
    const completedAt = startedAt + 2;
    return {
      output: `echo:${prompt}`,
      tokens: { prompt: prompt.length, generated: prompt.length },
      timings: { startedAt, completedAt, computeMs: 2, promptMs: null, generationMs: null, source: "measured" },
      device: "cpu",
      finishReason: "stop",
    };
  }

  async info(): Promise<RuntimeInfo> {
    return { kind: "embedded", name: "scripted", device: "cpu", models: [] };
  }

  async close(): Promise<void> {}
}

/**
 * The settlement batch root of every settled job, read back from the `BatchSettled` transactions' calldata; fails the
 * test if a job appears in two batches.
 */
export async function settlementRootOfJobs(fixture: SystemFixture, provider: Provider): Promise<Map<string, string>> {
  const escrow = JobEscrow__factory.connect(fixture.deployment.contracts.JobEscrow as string, provider);
  const settledLogs = await escrow.queryFilter(escrow.filters.BatchSettled(), fixture.deployment.block);
  const batchOf = new Map<string, string>();
  for (const log of settledLogs) {
    const tx = await provider.getTransaction(log.transactionHash);
    const items = escrowInterface.decodeFunctionData("settleBatch", tx?.data as string)[0] as string;
    for (const record of decodeSettlementRecords(items)) {
      const jobId = record.jobId.toString();
      expect(batchOf.has(jobId), `job ${jobId} settled twice`).to.equal(false);
      batchOf.set(jobId, String(log.args.root).toLowerCase());
    }
  }
  return batchOf;
}

/**
 * Verifies a receipt as `GET /api/v1/receipts/:id` serves it: the document (parsed with its number lexemes kept) against
 * the provider's registered key and this deployment, and its inclusion proof against the batch root the API names.
 * The caller checks separately that the root is anchored on-chain.
 */
export function verifyServedReceipt(
  responseText: string,
  options: { registeredKey: string; chainId: bigint; escrow: string },
): { verification: ReturnType<typeof verifyReceipt>; root: string | null } {
  const body = parseJson(responseText) as JsonObject;
  const receipt = body.get("receipt") as JsonObject;
  const batch = body.get("batch");
  const proof = body.get("proof");
  const root = batch instanceof Map ? (batch.get("root") as string) : null;
  const proofList = Array.isArray(proof) ? (proof as string[]) : null;
  const verification = verifyReceipt(receipt, {
    trustedKey: options.registeredKey,
    expectedChainId: options.chainId,
    expectedEscrow: options.escrow,
    proof: root === null || proofList === null ? undefined : { root, proof: proofList },
  });
  return { verification, root };
}
