/**
 * Watcher (oracle agent): follow every receipt batch anchored by the escrow and audit the provider relayers behind
 * them. For each `RootAnchored`/`BatchSettled` batch it asks the relayer for the receipts it claims are in that root
 * and checks each one against the chain (registered key, proof, anchored root, the escrow's own inclusion check).
 *
 *   node --conditions=aitbc-source --import tsx examples/watcher-follow-batches.ts --rpc-url http://127.0.0.1:8545 \
 *     --deployment deployments/localhost.json --relayer http://127.0.0.1:8645
 *
 * It imports the package `aitbc-evm`: copied into a project that depends on it, drop `--conditions=aitbc-source`
 * (that condition, used from this repository only, maps the package to its TypeScript sources instead of dist/).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

import { JsonRpcProvider } from "ethers";

import {
  followAnchoredBatches,
  loadDeployment,
  parseRelayerReceipt,
  parseRelayerUrl,
  relayerGet,
  verifyReceiptOnChain,
  type AnchoredBatch,
} from "aitbc-evm";

export interface WatcherExampleOptions {
  rpcUrl: string;
  deploymentFile: string;
  /** A provider relayer to audit; without one, batches are only reported. */
  relayerUrl?: string;
  fromBlock?: number;
  /** Stop after this many batches (default: run until the signal). */
  maxBatches?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface AuditedBatch {
  batch: AnchoredBatch;
  /** Receipts of this root the relayer served, and how many of them verified against the chain. */
  served: number;
  verified: number;
  problems: string[];
}

export async function main(options: WatcherExampleOptions): Promise<AuditedBatch[]> {
  const log = options.log ?? console.log;
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true });
  const deployment = await loadDeployment(options.deploymentFile);
  const relayer = options.relayerUrl === undefined ? undefined : parseRelayerUrl(options.relayerUrl);
  const audited: AuditedBatch[] = [];
  const stopped = new AbortController();
  const signal = options.signal === undefined ? stopped.signal : AbortSignal.any([options.signal, stopped.signal]);

  async function audit(batch: AnchoredBatch): Promise<AuditedBatch> {
    const result: AuditedBatch = { batch, served: 0, verified: 0, problems: [] };
    if (relayer === undefined) return result;
    const list = await relayerGet(relayer, `/api/v1/receipts?provider=${batch.submitter}&limit=500`);
    const ids = list === undefined ? [] : (JSON.parse(list) as { items: { receipt_id: string }[] }).items.map((i) => i.receipt_id);
    for (const id of ids) {
      const body = await relayerGet(relayer, `/api/v1/receipts/${id}`);
      if (body === undefined) continue;
      const served = parseRelayerReceipt(body);
      if (served.batch?.root !== batch.root || served.proof === null) continue;
      result.served++;
      const verdict = await verifyReceiptOnChain(provider, deployment, served.receiptText, { root: served.batch.root, proof: served.proof });
      if (verdict.valid) result.verified++;
      else result.problems.push(`${id}: ${verdict.code}`);
    }
    return result;
  }

  const follower = followAnchoredBatches(provider, deployment, {
    fromBlock: options.fromBlock,
    signal,
    onBatch: async (batch) => {
      const result = await audit(batch);
      audited.push(result);
      const who = batch.settlement === null ? "anchor only" : `provider ${batch.settlement.provider} earned ${batch.settlement.providerAmount}`;
      log(`batch ${batch.batchId} root ${batch.root}: ${batch.count} receipts, ${who}; ${result.verified}/${result.served} served receipts verified`);
      if (options.maxBatches !== undefined && audited.length >= options.maxBatches) stopped.abort();
    },
  });
  try {
    await follower.done;
  } finally {
    provider.destroy();
  }
  return audited;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      "rpc-url": { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      relayer: { type: "string" },
      "from-block": { type: "string" },
    },
  });
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  main({
    rpcUrl: values["rpc-url"],
    deploymentFile: values.deployment,
    relayerUrl: values.relayer,
    fromBlock: values["from-block"] === undefined ? undefined : Number(values["from-block"]),
    signal: stop.signal,
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
