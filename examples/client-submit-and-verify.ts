/**
 * Client: submit a job, wait for the provider's receipt, and verify it against the chain (the provider's key
 * registered in ProviderRegistry and the receipt's inclusion in an anchored batch). Writes the receipt and its proof
 * next to each other, ready for `verify-receipt-offline.ts` or `npx hardhat receipt:verify --onchain`.
 *
 *   node --conditions=aitbc-source --import tsx examples/client-submit-and-verify.ts --rpc-url http://127.0.0.1:8545 \
 *     --deployment deployments/localhost.json --relayer http://127.0.0.1:8645 --out receipts/
 *
 * The client's key comes from AITBC_CLIENT_PRIVATE_KEY. In a package, import from "aitbc-evm" instead of the path.
 *
 * It imports the package `aitbc-evm`: copied into a project that depends on it, drop `--conditions=aitbc-source`
 * (that condition, used from this repository only, maps the package to its TypeScript sources instead of dist/).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

import { JsonRpcProvider, NonceManager, Wallet } from "ethers";

import { loadDeployment, receiptProofBundle, submitJob, verifyReceiptOnChain, waitForReceipt } from "aitbc-evm";

export interface ClientExampleOptions {
  rpcUrl: string;
  deploymentFile: string;
  relayerUrl: string;
  privateKey: string;
  outDir: string;
  model?: string;
  prompt?: string;
  maxUnits?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export async function main(options: ClientExampleOptions) {
  const log = options.log ?? console.log;
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true });
  try {
    const deployment = await loadDeployment(options.deploymentFile);
    // NonceManager: ethers caches nonce reads briefly, so back-to-back transactions (approve, then create) need it.
    const client = new NonceManager(new Wallet(options.privateKey, provider));

    const job = await submitJob(client, deployment, {
      model: options.model ?? "llama3.2",
      prompt: options.prompt ?? "Write a haiku about GPUs.",
      maxUnits: options.maxUnits ?? "30",
    });
    log(`job ${job.jobId} created in ${job.txHash}; ${job.escrow} base units escrowed (${job.funding})`);

    const served = await waitForReceipt(options.relayerUrl, job.jobId, { timeoutMs: options.timeoutMs ?? 120_000 });
    if (served.batch === null || served.proof === null) throw new Error(`the relayer served job ${job.jobId}'s receipt without a batch`);
    const verdict = await verifyReceiptOnChain(provider, deployment, served.receiptText, { root: served.batch.root, proof: served.proof });
    if (!verdict.valid) throw new Error(`receipt of job ${job.jobId} is invalid: ${verdict.code} (${verdict.reason})`);
    log(`receipt ${verdict.receiptHash}: ${verdict.fields.units} ${verdict.fields.unitType} for ${verdict.fields.price} AITBC, anchored in batch ${verdict.anchored.batchId}`);

    await mkdir(options.outDir, { recursive: true });
    const receiptFile = path.join(options.outDir, `job-${job.jobId}.json`);
    await writeFile(receiptFile, served.receiptText);
    await writeFile(`${receiptFile}.proof.json`, `${JSON.stringify(receiptProofBundle(served.receiptText, served.batch.root, served.proof), null, 2)}\n`);
    log(`wrote ${receiptFile} and its .proof.json`);
    return { jobId: job.jobId, receiptFile, receiptHash: verdict.receiptHash, keyId: verdict.keyId, root: verdict.anchored.root, batchId: verdict.anchored.batchId };
  } finally {
    provider.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      "rpc-url": { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      relayer: { type: "string", default: "http://127.0.0.1:8645" },
      out: { type: "string", default: "receipts" },
      model: { type: "string" },
      prompt: { type: "string" },
      "max-units": { type: "string" },
    },
  });
  const privateKey = process.env.AITBC_CLIENT_PRIVATE_KEY;
  if (privateKey === undefined) {
    console.error("set AITBC_CLIENT_PRIVATE_KEY to the client's private key");
    process.exit(2);
  }
  main({
    rpcUrl: values["rpc-url"],
    deploymentFile: values.deployment,
    relayerUrl: values.relayer,
    outDir: values.out,
    privateKey,
    model: values.model,
    prompt: values.prompt,
    maxUnits: values["max-units"],
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
