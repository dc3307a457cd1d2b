import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";

/**
 * `<receipt>.proof.json`: a receipt's inclusion proof saved next to it, as `receipt:anchor` and the demo write it and
 * `receipt:verify --onchain` reads it. Node-only (file access).
 */
import { AitbcError } from "../errors.js";
import { importProofBundle, type ReceiptProofBundle } from "../receipts/proof-bundle.js";

/** The proof of `<receipt file>`: `<receipt file>.proof.json`, an `aitbc-receipt-proofs-v1` bundle plus the batch. */
export function proofPathOf(receiptFile: string): string {
  return `${receiptFile}.proof.json`;
}

export function isProofFile(file: string): boolean {
  return file.endsWith(".proof.json");
}

export interface ProofFile extends ReceiptProofBundle {
  /** Settlement batch of the root, or "plain" for a plain anchor (which settles and proves nothing on-chain). */
  batchId: string;
  chainId: string;
  escrow: string;
  /** Anchoring transaction. */
  tx: string;
}

/** Writes atomically (temp file + rename), so a crash never leaves half a proof. */
export async function writeProofFile(receiptFile: string, proof: ProofFile): Promise<string> {
  const file = proofPathOf(receiptFile);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(proof, null, 2)}\n`);
  await rename(tmp, file);
  return file;
}

/** Reads and checks a proof file (every proof recomputed against its root); `undefined` when there is none. */
export async function readProofFile(receiptFile: string): Promise<{ root: string; items: { leaf: string; proof: string[] }[] } | undefined> {
  const file = proofPathOf(receiptFile);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new AitbcError("MERKLE_PROOF_FORMAT", `${file} is not JSON`, { hint: "Delete it and anchor the receipt again, or fetch the proof from the relayer (--relayer).", cause });
  }
  return importProofBundle(json);
}
