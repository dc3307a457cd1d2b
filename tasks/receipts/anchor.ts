import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { ReceiptMerkleTree } from "../../lib/receipts/proof-bundle.js";
import { encodeSettlementRecords, settlementOrder } from "../../lib/receipts/settlement.js";
import type { ReceiptLeafValue } from "../../lib/receipts/leaf.js";
import { priceFor } from "../../lib/money/prices.js";
import { MAX_BATCH_SIZE } from "../../lib/protocol.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { verifyReceipt, type ReceiptFields } from "../../lib/receipts/receipt.js";
import { chainNow, describeContractRevert, type MarketContext, openMarket, pickSender, providerEntry, readJob, sameAddress, send, type Signer } from "../market/shared.js";
import { runTask } from "../shared/cli.js";
import { isProofFile, proofPathOf, writeProofFile } from "../../lib/sdk/proof-files.js";
import { receiptTrustedKeyForText } from "../../lib/sdk/key-history.js";

interface AnchorArgs {
  dir: string;
  fromJournal: string;
  out: string;
  dryRun: boolean;
  from: string;
  json: boolean;
}

interface Candidate {
  /** Receipt file (written first for journal receipts). */
  file: string;
  text: string;
  fields: ReceiptFields;
  leaf: ReceiptLeafValue;
}

interface Skipped {
  file: string;
  code: string;
  reason: string;
}

export interface AnchoredBatch {
  /** `existing`: the receipts' root was anchored before (their proof files were lost); only the proofs are written. */
  path: "settle" | "anchor" | "existing";
  batchId: bigint | null;
  root: string;
  count: number;
  gasUsed: bigint | null;
  tx: string | null;
  files: string[];
}

async function receiptsFromDir(dir: string): Promise<{ file: string; text: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new AitbcError("BAD_DIR", `cannot read --dir ${dir}: ${(cause as Error).message}`, { hint: "Pass the folder holding the receipt files.", cause });
  }
  const files = names.filter((n) => n.endsWith(".json") && !isProofFile(n)).sort().map((n) => path.join(dir, n));
  // A receipt with a proof next to it is anchored already.
  const pending = files.filter((f) => !existsSync(proofPathOf(f)));
  return Promise.all(pending.map(async (file) => ({ file, text: await readFile(file, "utf8") })));
}

async function receiptsFromJournal(journal: string, out: string): Promise<{ file: string; text: string; fresh: boolean }[]> {
  if (!existsSync(journal)) throw new AitbcError("BAD_JOURNAL", `no journal at ${journal}`, { hint: "Pass the relayer's SQLite journal file (its `journal` setting)." });
  const { DatabaseSync } = await import("node:sqlite");
  let rows: { receipt_id: string; json: string }[];
  try {
    const db = new DatabaseSync(journal, { readOnly: true });
    try {
      rows = db.prepare("SELECT receipt_id, json FROM receipts WHERE batch_id IS NULL ORDER BY signed_at, receipt_id").all() as typeof rows;
    } finally {
      db.close();
    }
  } catch (cause) {
    throw new AitbcError("BAD_JOURNAL", `${journal} is not a readable relayer journal: ${(cause as Error).message}`, { hint: "Pass the relayer's SQLite journal file.", cause });
  }
  return rows
    .map((r) => ({ file: path.join(out, `${r.receipt_id}.json`), text: r.json, fresh: true }))
    .filter((r) => !existsSync(proofPathOf(r.file)));
}

function leafOf(fields: ReceiptFields, receiptHash: string): ReceiptLeafValue {
  return { chainId: fields.chainId, escrow: fields.escrow, jobId: fields.jobId, provider: fields.provider, unitsMilli: fields.unitsMilli, price: fields.priceBase, receiptHash };
}

/** Sorts candidates into the settle path, the plain anchor path, or skipped (with the reason). */
async function classify(m: MarketContext, sender: Signer, inputs: { file: string; text: string }[]) {
  const entry = await providerEntry(m, sender.address);
  if (!entry.registered || entry.unbondingSince !== 0n) {
    throw new AitbcError("NOT_ACTIVE_PROVIDER", `${sender.address} is not an active provider`, { hint: "Anchor from the provider account that signed the receipts (--from); register with `provider:register`." });
  }
  const now = await chainNow(m);
  const settle: Candidate[] = [];
  const anchor: Candidate[] = [];
  const skipped: Skipped[] = [];
  const seen = new Set<string>();
  for (const { file, text } of inputs) {
    const trustedKey = await receiptTrustedKeyForText(m.market.providers, text, entry.receiptKey, nodeBackend);
    const r = verifyReceipt(text, { trustedKey, expectedChainId: m.chainId, expectedEscrow: m.addresses.escrow, backend: nodeBackend });
    if (!r.valid) {
      skipped.push({ file, code: r.code, reason: r.reason });
      continue;
    }
    if (seen.has(r.receiptHash)) {
      skipped.push({ file, code: "DUPLICATE_RECEIPT", reason: `same receipt_hash as another file (${r.receiptHash})` });
      continue;
    }
    seen.add(r.receiptHash);
    const f = r.fields;
    if (!sameAddress(f.provider, sender.address)) {
      skipped.push({ file, code: "NOT_PROVIDER", reason: `receipt names provider ${f.provider}, not ${sender.address}` });
      continue;
    }
    const job = await readJob(m, f.jobId).catch((error: unknown) => error as AitbcError);
    if (job instanceof Error) {
      skipped.push({ file, code: job.code ?? "UNKNOWN_JOB", reason: job.message });
      continue;
    }
    if (!sameAddress(job.client, f.client)) {
      skipped.push({ file, code: "CLIENT_MISMATCH", reason: `job ${f.jobId} belongs to ${job.client}, the receipt names ${f.client}` });
      continue;
    }
    const candidate = { file, text, fields: f, leaf: leafOf(f, r.receiptHash) };
    if (job.status === "Accepted") {
      if (!sameAddress(job.provider, sender.address)) skipped.push({ file, code: "NOT_PROVIDER", reason: `job ${f.jobId} was accepted by ${job.provider}` });
      else if (now > job.deadline) skipped.push({ file, code: "DEADLINE_PASSED", reason: `job ${f.jobId}'s deadline has passed; it can only be reclaimed` });
      else if (f.unitsMilli === 0n || f.unitsMilli > job.maxUnitsMilli) skipped.push({ file, code: "UNITS_OUT_OF_RANGE", reason: `units_milli ${f.unitsMilli} is outside 1..${job.maxUnitsMilli}` });
      else if (priceFor(f.unitsMilli, job.rate) !== f.priceBase) skipped.push({ file, code: "PRICE_MISMATCH", reason: `price_base ${f.priceBase} is not the job's price ${priceFor(f.unitsMilli, job.rate)} at its snapshotted rate` });
      else settle.push(candidate);
    } else if (["Settled", "Finalized", "Disputed", "Resolved"].includes(job.status)) {
      if (job.unitsMilli !== f.unitsMilli || job.price !== f.priceBase) {
        skipped.push({ file, code: "SETTLEMENT_MISMATCH", reason: `job ${f.jobId} settled ${job.unitsMilli} milli-units for ${job.price}, the receipt says ${f.unitsMilli} for ${f.priceBase}` });
      } else anchor.push(candidate);
    } else {
      skipped.push({ file, code: "JOB_WRONG_STATE", reason: `job ${f.jobId} is ${job.status}` });
    }
  }
  return { settle, anchor, skipped };
}

/**
 * The batch and transaction that anchored `root`, when it is anchored already: a settlement batch (receipts of jobs
 * settled by a run whose proof files were lost), or else, for receipts of settled jobs, the sender's own plain anchor
 * (batch id null).
 */
async function anchoredAlready(m: MarketContext, kind: "settle" | "anchor", submitter: string, root: string): Promise<{ batchId: bigint | null; tx: string } | undefined> {
  const escrow = m.market.escrow;
  try {
    const batchId = (await escrow.batch(root)).id;
    const [event] = await escrow.queryFilter(escrow.filters.RootAnchored(undefined, root), m.deployment.block);
    return { batchId, tx: event?.transactionHash ?? "" };
  } catch (error) {
    if (describeContractRevert(error)?.name !== "JobEscrowUnknownRoot") throw error;
  }
  if (kind === "settle") return undefined;
  const [timestamp] = await escrow.plainAnchor(submitter, root);
  if (timestamp === 0n) return undefined;
  const [event] = await escrow.queryFilter(escrow.filters.PlainRootAnchored(submitter, root), m.deployment.block);
  return { batchId: null, tx: event?.transactionHash ?? "" };
}

/** Writes each receipt's proof next to it (and, from a journal, the receipt itself into `journalOut` first). */
async function writeProofs(
  chainId: bigint,
  m: MarketContext,
  ordered: readonly Candidate[],
  tree: ReceiptMerkleTree,
  batchId: bigint | null,
  tx: string,
  journalOut: string | undefined,
): Promise<void> {
  if (journalOut !== undefined) await mkdir(journalOut, { recursive: true });
  for (let i = 0; i < ordered.length; i++) {
    const c = ordered[i];
    if (journalOut !== undefined) {
      const tmp = `${c.file}.${process.pid}.tmp`;
      await writeFile(tmp, c.text);
      await rename(tmp, c.file);
    }
    await writeProofFile(c.file, { ...tree.exportProofs([i]), batchId: batchId === null ? "plain" : batchId.toString(), chainId: chainId.toString(), escrow: m.addresses.escrow.toLowerCase(), tx });
  }
}

function findEvent(m: MarketContext, logs: readonly { topics: readonly string[]; data: string }[], name: string) {
  for (const log of logs) {
    try {
      const parsed = m.market.escrow.interface.parseLog(log);
      if (parsed?.name === name) return parsed;
    } catch {
      // a token Transfer or another contract's log
    }
  }
  return undefined;
}

export default async function receiptAnchorAction(args: AnchorArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const dir = args.dir.trim();
    const journal = args.fromJournal.trim();
    if ((dir === "") === (journal === "")) {
      throw new AitbcError("MISSING_OPTION", dir === "" ? "receipt:anchor needs --dir or --from-journal" : "pass either --dir or --from-journal, not both", {
        hint: "Anchor a folder of receipt files (--dir receipts/) or the relayer's journal (--from-journal relayer.sqlite).",
      });
    }
    const m = await openMarket(ctx);
    const out = args.out.trim() === "" ? path.join(".aitbc", "receipts", ctx.networkName) : args.out.trim();
    const inputs = dir !== "" ? await receiptsFromDir(dir) : await receiptsFromJournal(journal, out);
    const sender = await pickSender(ctx, args.from);
    const { settle, anchor, skipped } = await classify(m, sender, inputs);
    for (const s of skipped) ctx.say(`  skip ${s.file}: ${s.reason} [${s.code}]`);
    if (settle.length + anchor.length === 0) {
      throw new AitbcError("NOTHING_TO_ANCHOR", `no receipt to anchor (${inputs.length} unanchored, ${skipped.length} skipped)`, {
        hint: "Receipts with a .proof.json next to them are anchored already; skipped ones say why above (or in --json details).",
        details: { skipped },
      });
    }
    const batches: AnchoredBatch[] = [];
    const escrow = m.market.escrow.connect(sender);
    for (const [kind, group] of [["settle", settle], ["anchor", anchor]] as const) {
      if (group.length === 0) continue;
      const ordered = settlementOrder(group, (c) => c.leaf).slice(0, MAX_BATCH_SIZE);
      const tree = ReceiptMerkleTree.of(ordered.map((c) => c.leaf));
      ctx.say(`${kind === "settle" ? "Settle-and-anchor" : "Anchor"} ${ordered.length} receipt(s), root ${tree.root}${group.length > ordered.length ? ` (${group.length - ordered.length} left for the next run)` : ""}`);
      const existing = await anchoredAlready(m, kind, sender.address, tree.root);
      if (existing !== undefined) {
        // Sending would revert (JobEscrowRootAlreadyAnchored) on every run; the proofs can be rebuilt instead.
        ctx.say(`  root ${tree.root} is anchored already as ${existing.batchId === null ? "your plain anchor" : `batch ${existing.batchId}`}: ${args.dryRun ? "would write" : "writing"} the proof files only, nothing to send`);
        if (!args.dryRun) await writeProofs(ctx.chainId, m, ordered, tree, existing.batchId, existing.tx, dir === "" ? out : undefined);
        batches.push({ path: "existing", batchId: existing.batchId, root: tree.root, count: ordered.length, gasUsed: null, tx: existing.tx, files: ordered.map((c) => c.file) });
        continue;
      }
      if (args.dryRun) {
        batches.push({ path: kind, batchId: null, root: tree.root, count: ordered.length, gasUsed: null, tx: null, files: ordered.map((c) => c.file) });
        continue;
      }
      const items = encodeSettlementRecords(ordered.map((c) => ({ jobId: c.fields.jobId, unitsMilli: c.fields.unitsMilli, receiptHash: c.leaf.receiptHash })));
      const tx =
        kind === "settle"
          ? await send(m, `settleBatch (${ordered.length} jobs)`, { estimate: () => escrow.settleBatch.estimateGas(items), send: () => escrow.settleBatch(items) })
          : await send(m, `anchorRoot (${ordered.length} receipts)`, {
              estimate: () => escrow.anchorRoot.estimateGas(tree.root, ordered.length),
              send: () => escrow.anchorRoot(tree.root, ordered.length),
            });
      // A settlement emits RootAnchored (a settlement batch); a plain anchor PlainRootAnchored, which takes no batch id
      // and proves nothing on-chain.
      const anchored = findEvent(m, tx.receipt.logs, kind === "settle" ? "RootAnchored" : "PlainRootAnchored");
      if (anchored === undefined || anchored.args.root !== tree.root) {
        throw new AitbcError("ROOT_MISMATCH", `the escrow anchored ${anchored?.args.root ?? "nothing"} in ${tx.hash}, the receipts give ${tree.root}; no proofs were written`, {
          hint: "The receipts and the chain disagree on a leaf; inspect the transaction.",
        });
      }
      const batchId = kind === "settle" ? (anchored.args.batchId as bigint) : null;
      await writeProofs(ctx.chainId, m, ordered, tree, batchId, tx.hash, dir === "" ? out : undefined);
      ctx.say(
        batchId === null
          ? `  plain anchor: root ${tree.root}, ${ordered.length} receipt(s) claimed, gas ${tx.gasUsed}; a plain anchor settles nothing and on-chain verification refuses it (PLAIN_ANCHOR_ONLY)`
          : `  batch ${batchId}: root ${tree.root}, ${ordered.length} receipt(s), gas ${tx.gasUsed}; proofs written next to the receipts`,
      );
      batches.push({ path: kind, batchId, root: tree.root, count: ordered.length, gasUsed: tx.gasUsed, tx: tx.hash, files: ordered.map((c) => c.file) });
    }
    return { dryRun: args.dryRun, provider: sender.address, batches, skipped };
  });
}
