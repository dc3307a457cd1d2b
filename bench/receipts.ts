/**
 * Receipts benchmark: Ed25519 sign+verify throughput of receipt bytes per back-end and thread count (and of the
 * whole signReceipt/verifyReceipt path), and Merkle root time for a million receipt leaves next to the OpenZeppelin
 * library (same leaves, roots compared).
 *
 *   ./node_modules/.bin/hardhat run --no-compile bench/receipts.ts
 *
 * Environment:
 *   AITBC_BENCH_OUT           output file (default bench/results/receipts.json)
 *   AITBC_BENCH_SECONDS       seconds per signing measurement (default 3)
 *   AITBC_BENCH_MERKLE_LEAVES leaves for the fast tree (default 1000000)
 *   AITBC_BENCH_OZ_LEAVES     leaves for the OpenZeppelin tree (default 100000)
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";

import { readFileSync } from "node:fs";

import { RECEIPT_LEAF_ENCODING, type ReceiptLeafValue, toOzLeafValue } from "../lib/receipts/leaf.js";
import { ReceiptMerkleTree } from "../lib/receipts/proof-bundle.js";
import { verifyReceiptLayers } from "../lib/receipts/aitbc.js";
import { nodeBackend } from "../lib/node/ed25519-node.js";
import { signAndVerifyFor, type BackendName, type OperationKind } from "./receipts-worker.js";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

const seconds = envNumber("AITBC_BENCH_SECONDS", 3);
const merkleLeaves = envNumber("AITBC_BENCH_MERKLE_LEAVES", 1_000_000);
const ozLeaves = envNumber("AITBC_BENCH_OZ_LEAVES", 100_000);
const outFile = process.env.AITBC_BENCH_OUT ?? path.join("bench", "results", "receipts.json");

function perSecond({ ops, ms }: { ops: number; ms: number }): number {
  return Math.round((ops * 1000) / ms);
}

function inWorkers(backend: BackendName, kind: OperationKind, threads: number): Promise<number> {
  const workerUrl = new URL("./receipts-worker.ts", import.meta.url);
  const runs = Array.from(
    { length: threads },
    () =>
      new Promise<{ ops: number; ms: number }>((resolve, reject) => {
        // The worker is TypeScript: load it through the same tsx loader that runs this script.
        const worker = new Worker(workerUrl, { workerData: { backend, kind, durationMs: seconds * 1000 }, execArgv: ["--import", "tsx"] });
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", (code) => code !== 0 && reject(new Error(`worker exited with code ${code}`)));
      }),
  );
  return Promise.all(runs).then((results) => results.reduce((sum, r) => sum + perSecond(r), 0));
}

/** Leaf values that look like a real batch: distinct jobs, a few providers, random receipt hashes. */
function leafValues(n: number): ReceiptLeafValue[] {
  const values: ReceiptLeafValue[] = new Array(n);
  let seed = 0x2545f491;
  const hex = (bytes: number) => {
    let out = "0x";
    for (let i = 0; i < bytes; i += 4) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      out += (seed >>> 0).toString(16).padStart(8, "0");
    }
    return out.slice(0, 2 + bytes * 2);
  };
  const providers = Array.from({ length: 16 }, () => hex(20));
  const escrow = hex(20);
  for (let i = 0; i < n; i++) {
    const unitsMilli = BigInt(1000 + (i % 9000));
    values[i] = {
      chainId: 31337n,
      escrow,
      jobId: BigInt(i + 1),
      provider: providers[i % providers.length],
      unitsMilli,
      price: unitsMilli * 2n * 10n ** 15n,
      receiptHash: hex(32),
    };
  }
  return values;
}

/**
 * Both verification layers and the attestation of a reference-coordinator receipt (nested metadata, big integers,
 * floats, non-BMP characters; from test/vectors/reference.json), verified from its served text, per second.
 */
function referenceVerifyPerSecond(ms: number): number {
  const vectors = JSON.parse(readFileSync(new URL("../test/vectors/reference.json", import.meta.url), "utf8")) as {
    keys: { miner: string; coordinator: string };
    valid: { name: string; document: string }[];
  };
  const { document } = vectors.valid.find((v) => v.name === "coordinator receipt, numbers and characters")!;
  const options = { trustedKey: vectors.keys.miner, attestationKeys: vectors.keys.coordinator, backend: nodeBackend };
  for (let i = 0; i < 50; i++) verifyReceiptLayers(document, options);
  const start = performance.now();
  let ops = 0;
  while (performance.now() - start < ms) {
    if (!verifyReceiptLayers(document, options).valid) throw new Error("the reference receipt failed verification");
    ops++;
  }
  return perSecond({ ops, ms: performance.now() - start });
}

function time<T>(run: () => T): [T, number] {
  const start = performance.now();
  const result = run();
  return [result, (performance.now() - start) / 1000];
}

async function main(): Promise<void> {
  const ms = seconds * 1000;
  const node1 = perSecond(signAndVerifyFor("node", "crypto", ms));
  const node2 = await inWorkers("node", "crypto", 2);
  const noble1 = perSecond(signAndVerifyFor("noble", "crypto", ms));
  const receiptNode1 = perSecond(signAndVerifyFor("node", "receipt", ms));
  const receiptNode2 = await inWorkers("node", "receipt", 2);
  const referenceNode1 = referenceVerifyPerSecond(ms);

  const values = leafValues(merkleLeaves);
  const [fast, merkleSeconds] = time(() => ReceiptMerkleTree.of(values));
  const ozValues = values.slice(0, ozLeaves);
  const [oz, ozSeconds] = time(() => StandardMerkleTree.of(ozValues.map(toOzLeafValue), [...RECEIPT_LEAF_ENCODING]));
  const fastOfOzSet = ReceiptMerkleTree.of(ozValues);
  if (fastOfOzSet.root !== oz.root) throw new Error(`root mismatch: fast ${fastOfOzSet.root}, OpenZeppelin ${oz.root}`);

  const result = {
    sign_verify_per_s_node_1t: node1,
    sign_verify_per_s_node_2t: node2,
    sign_verify_per_s_noble_1t: noble1,
    receipt_sign_verify_per_s_node_1t: receiptNode1,
    receipt_sign_verify_per_s_node_2t: receiptNode2,
    reference_receipt_verify_per_s_node_1t: referenceNode1,
    merkle_1m_s: Number(merkleSeconds.toFixed(2)),
    merkle_leaves: merkleLeaves,
    merkle_root: fast.root,
    oz_merkle_100k_s: Number(ozSeconds.toFixed(2)),
    oz_leaves: ozLeaves,
    goals: { sign_verify_per_s_node_2t: 10_000, merkle_1m_s: 15 },
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memory_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    timestamp: new Date().toISOString(),
  };

  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(`${outFile}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  await rename(`${outFile}.tmp`, outFile);

  console.table([
    { measure: "sign+verify/s node:crypto, 1 thread", value: node1, goal: "" },
    { measure: "sign+verify/s node:crypto, 2 threads", value: node2, goal: "≥ 10000" },
    { measure: "sign+verify/s noble, 1 thread", value: noble1, goal: "" },
    { measure: "signReceipt+verifyReceipt/s node:crypto, 1 thread", value: receiptNode1, goal: "" },
    { measure: "signReceipt+verifyReceipt/s node:crypto, 2 threads", value: receiptNode2, goal: "" },
    { measure: "verifyReceiptLayers/s, coordinator receipt + attestation, 1 thread", value: referenceNode1, goal: "" },
    { measure: `Merkle root, ${merkleLeaves} leaves (s)`, value: result.merkle_1m_s, goal: "≤ 15" },
    { measure: `OpenZeppelin tree, ${ozLeaves} leaves (s)`, value: result.oz_merkle_100k_s, goal: "" },
  ]);
  console.log(`written to ${outFile}`);
}

await main();
