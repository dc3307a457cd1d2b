/**
 * Anyone, offline: verify a receipt file with a key you already trust (the provider's `key_id`, as
 * `npx hardhat provider:status` prints it from ProviderRegistry) and, when `<receipt>.proof.json` is present, its
 * inclusion proof against the batch root it names. No node is contacted: whether that root is anchored is a question
 * for the chain (`verifyReceiptOnChain`).
 *
 *   node --conditions=aitbc-source --import tsx examples/verify-receipt-offline.ts receipts/job-1.json --key <key_id>
 *
 * It imports the package `aitbc-evm`: copied into a project that depends on it, drop `--conditions=aitbc-source`
 * (that condition, used from this repository only, maps the package to its TypeScript sources instead of dist/).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

import { importProofBundle, nodeBackend, verifyReceipt, type ReceiptVerification } from "aitbc-evm";

export interface OfflineExampleOptions {
  receiptFile: string;
  /** The provider's trusted receipt key: base64url `key_id` or 0x hex. */
  key: string;
  log?: (line: string) => void;
}

export async function main(options: OfflineExampleOptions): Promise<ReceiptVerification & { proofChecked: boolean }> {
  const log = options.log ?? console.log;
  const text = await readFile(options.receiptFile, "utf8");
  const proofFile = `${options.receiptFile}.proof.json`;
  let proof: { root: string; proof: string[] } | undefined;
  if (existsSync(proofFile)) {
    // importProofBundle recomputes every leaf and proof of the bundle; the receipt's own leaf is matched below.
    const bundle = importProofBundle(JSON.parse(await readFile(proofFile, "utf8")));
    const first = verifyReceipt(text, { trustedKey: options.key, backend: nodeBackend });
    const item = first.valid ? bundle.items.find((i) => i.leaf === first.leaf) : undefined;
    proof = { root: bundle.root, proof: item?.proof ?? [] };
  }
  const verdict = verifyReceipt(text, { trustedKey: options.key, backend: nodeBackend, proof });
  log(verdict.valid ? `VALID ${verdict.receiptHash}${proof === undefined ? "" : ` (in root ${proof.root})`}` : `INVALID ${verdict.code}: ${verdict.reason}`);
  return { ...verdict, proofChecked: proof !== undefined };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const usage = "usage: verify-receipt-offline.ts <receipt.json> --key <key_id>";
  // A base64url key_id begins with "-" for one key in 64, which parseArgs would take for a flag: the argument after
  // --key is its value whatever it starts with.
  const args = process.argv.slice(2);
  const at = args.indexOf("--key");
  if (at >= 0 && at + 1 < args.length) args.splice(at, 2, `--key=${args[at + 1]}`);
  let parsed: { key?: string; receiptFile?: string };
  try {
    const { values, positionals } = parseArgs({ args, options: { key: { type: "string" } }, allowPositionals: true });
    parsed = { key: values.key, receiptFile: positionals.length === 1 ? positionals[0] : undefined };
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.receiptFile === undefined || parsed.key === undefined) {
    console.error(usage);
    process.exit(2);
  }
  main({ receiptFile: parsed.receiptFile, key: parsed.key }).then(
    (verdict) => process.exit(verdict.valid ? 0 : 1),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
