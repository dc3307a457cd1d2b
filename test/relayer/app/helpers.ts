/**
 * Shared helpers for the relayer app tests and the chaos e2e: a scripted runtime, the settlement root of every job,
 * and a served receipt's verification. The deployed system itself is `tools/relayer-fixture.ts`.
 */
import { expect } from "chai";
import type { Provider } from "ethers";

import { parseRelayerReceipt } from "../../../lib/sdk/relayer-api.js";
import { decodeSettlementRecords } from "../../../lib/settlement.js";
import { escrowInterface } from "../../../relayer/app/contracts.js";
import type { Deployment } from "../../../lib/deployments.js";
import { nodeBackend } from "../../../lib/receipts/ed25519-node.js";
import { verifyReceiptOnChain, type OnChainVerification } from "../../../lib/sdk/verify.js";
import { JobEscrow__factory } from "../../../typechain-types/index.js";
import type { RunRequest, RunResult, Runtime, RuntimeInfo } from "../../../relayer/adapters/runtimes/types.js";
import { RuntimeError } from "../../../relayer/adapters/runtimes/types.js";
import type { SystemFixture } from "../../../tools/relayer-fixture.js";

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
 * Verifies a receipt as `GET /api/v1/receipts/:id` serves it, the way any client does: read by the SDK's relayer
 * parser and checked by the SDK's on-chain verification against this deployment (the provider's registered key, the
 * settlement batch of the root the API names, `JobEscrow.verifyReceiptInclusion`).
 */
export async function verifyServedReceipt(
  responseText: string,
  options: { provider: Provider; deployment: Deployment },
): Promise<{ verification: OnChainVerification; root: string | null }> {
  const served = parseRelayerReceipt(responseText);
  const root = served.batch?.root ?? null;
  const proof = root === null || served.proof === null ? undefined : { root, proof: served.proof };
  return { verification: await verifyReceiptOnChain(options.provider, options.deployment, served.receiptText, proof, { backend: nodeBackend }), root };
}
