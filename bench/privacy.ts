/**
 * Private-job envelopes: seal and open per second with each back-end (portable `@hpke/*`, `node:crypto`), for a
 * 1 KiB prompt to one provider and to eight (an open job), and the bytes an envelope adds to the prompt.
 *
 *   ./node_modules/.bin/hardhat run --no-compile bench/privacy.ts
 *
 * Environment:
 *   AITBC_BENCH_OUT      output file (default bench/results/privacy.json)
 *   AITBC_BENCH_SECONDS  seconds per measurement (default 1)
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { nodeHpke } from "../lib/node/hpke-node.js";
import {
  generateEncryptionKeyPair,
  openEnvelope,
  portableHpke,
  sealEnvelope,
  type EnvelopeContext,
  type HpkeBackend,
} from "../lib/privacy/envelope.js";

const seconds = Number(process.env.AITBC_BENCH_SECONDS ?? 1);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`AITBC_BENCH_SECONDS must be a positive number, got ${process.env.AITBC_BENCH_SECONDS}`);
const outFile = process.env.AITBC_BENCH_OUT ?? path.join("bench", "results", "privacy.json");

const context: EnvelopeContext = { chainId: 31337n, market: `0x${"11".repeat(20)}`, client: `0x${"22".repeat(20)}` };
const prompt = new Uint8Array(1024).fill(0x61);

async function rate(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await run();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    await run();
    n++;
  }
  return Math.round((n * 1000) / (performance.now() - start));
}

const keys = await Promise.all(Array.from({ length: 8 }, () => generateEncryptionKeyPair()));
const backends: [string, HpkeBackend][] = [
  ["portable", portableHpke],
  ["node:crypto", nodeHpke],
];
const rows: { measure: string; value: number }[] = [];
for (const [name, backend] of backends) {
  for (const recipients of [1, 8]) {
    const to = keys.slice(0, recipients).map((k) => k.publicKey);
    rows.push({ measure: `seal/s, ${name}, 1 KiB to ${recipients}`, value: await rate(() => sealEnvelope("prompt", prompt, to, context, backend)) });
    const envelope = await sealEnvelope("prompt", prompt, to, context, backend);
    const last = keys[recipients - 1];
    rows.push({ measure: `open/s, ${name}, 1 KiB, slot ${recipients} of ${recipients}`, value: await rate(() => openEnvelope("prompt", envelope, last, context, backend)) });
  }
}
for (const recipients of [1, 8]) {
  const envelope = await sealEnvelope("prompt", prompt, keys.slice(0, recipients).map((k) => k.publicKey), context, nodeHpke);
  rows.push({ measure: `bytes added to the prompt, ${recipients} recipient(s)`, value: envelope.length - prompt.length });
}

console.table(rows);
await mkdir(path.dirname(outFile), { recursive: true });
const tmp = `${outFile}.tmp`;
await writeFile(tmp, `${JSON.stringify({ measuredAt: new Date().toISOString(), seconds, results: rows }, null, 2)}\n`);
await rename(tmp, outFile);
console.log(`written to ${outFile}`);
