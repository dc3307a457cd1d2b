/**
 * The signing/verifying loop of the receipts benchmark. Imported by bench/receipts.ts for the one-thread figures and
 * started as a worker thread by it for the multi-thread figure.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";

import { nobleBackend, signEd25519, verifyEd25519, type Ed25519Backend } from "../lib/receipts/ed25519.js";
import { nodeBackend } from "../lib/node/ed25519-node.js";
import { buildReceipt, canonicalBytes, signReceipt, verifyReceipt, type ReceiptDocument } from "../lib/receipts/receipt.js";

export type BackendName = "node" | "noble";

const BACKENDS: Record<BackendName, Ed25519Backend> = { node: nodeBackend, noble: nobleBackend };

/** A receipt for job `i`: what a provider signs once per settled job. */
export function sampleReceipt(i: number): ReceiptDocument {
  const hex = (n: number, width: number) => `0x${n.toString(16).padStart(width, "0")}`;
  return buildReceipt({
    chainId: 31337,
    escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    jobId: i + 1,
    provider: "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a",
    client: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    model: "llama3.2",
    unitsMilli: 1000 + (i % 5000),
    priceBase: BigInt(1000 + (i % 5000)) * 2n * 10n ** 15n,
    startedAt: 1767225600 + i,
    completedAt: 1767225610 + i,
    inputHash: hex(i * 7 + 1, 64),
    resultHash: hex(i * 13 + 5, 64),
  });
}

/**
 * What one operation is:
 * - `crypto`: Ed25519-sign a receipt's canonical bytes and verify the signature under the strict rules;
 * - `receipt`: the whole path — `signReceipt` (canonicalise, sign) then `verifyReceipt` (serialise, parse, check
 *   every field, canonicalise, strict verify, hash, leaf).
 */
export type OperationKind = "crypto" | "receipt";

/** Runs sign+verify operations for `durationMs`; returns how many completed and the time taken. */
export function signAndVerifyFor(backendName: BackendName, kind: OperationKind, durationMs: number): { ops: number; ms: number } {
  const backend = BACKENDS[backendName];
  const secret = new Uint8Array(32).fill(7);
  const receipts = Array.from({ length: 256 }, (_, i) => sampleReceipt(i));
  const messages = receipts.map((receipt) => canonicalBytes(receipt));
  const publicKey = backend.publicKey(secret);
  const once = (i: number): boolean => {
    if (kind === "crypto") {
      const message = messages[i % messages.length];
      return verifyEd25519(message, signEd25519(message, secret, backend), publicKey, backend).valid;
    }
    return verifyReceipt(signReceipt(receipts[i % receipts.length], secret, backend), { trustedKey: publicKey, backend }).valid;
  };
  // Warm-up, so JIT compilation is not measured.
  for (let i = 0; i < 50; i++) once(i);
  const start = performance.now();
  let ops = 0;
  while (performance.now() - start < durationMs) {
    if (!once(ops)) throw new Error("a benchmark receipt failed verification");
    ops++;
  }
  return { ops, ms: performance.now() - start };
}

if (!isMainThread && parentPort !== null) {
  const { backend, kind, durationMs } = workerData as { backend: BackendName; kind: OperationKind; durationMs: number };
  parentPort.postMessage(signAndVerifyFor(backend, kind, durationMs));
}
