/**
 * "Verified" means settled as signed: a receipt's leaf checks out only against the settlement batch in which ITS
 * provider settled THAT job, with the receipt's units, price and hash. This is the one implementation of that rule
 * for every verifier — the SDK (`verifyInclusion`, `verifyReceiptOnChain`), the CLI (`receipt:verify --onchain`) and
 * the dashboard — and it ends with the escrow's own view (`JobEscrow.verifyReceiptInclusion`), which applies the same
 * rule on-chain. It has no Node-only dependency, so the browser runs it as is.
 *
 * The checks run in a fixed order — what the chain recorded first (the root is a settlement of this provider, the
 * job settled in it with these units and price), then the Merkle proof (which binds the receipt hash), then the
 * contract's view — and stop at the first failure; the result lists each check that ran.
 */
import type { IJobEscrow } from "../../typechain-types/index.js";
import { verifyReceiptLeafProof, type ReceiptLeafValue } from "../receipts/leaf.js";
import { describeContractRevert } from "./reverts.js";

/** The escrow reads the checks need (a `JobEscrow` or `IJobEscrow` contract handle). */
export type SettlementReader = Pick<IJobEscrow, "batch" | "job" | "plainAnchor" | "verifyReceiptInclusion">;

/** The checks, in the order they run. */
export const SETTLEMENT_CHECKS = ["domain", "settlement-root", "batch-provider", "job-in-batch", "units", "price", "proof", "contract"] as const;
export type SettlementCheckId = (typeof SETTLEMENT_CHECKS)[number];

/**
 * Why a receipt is not settled as signed. `PLAIN_ANCHOR_ONLY`: the root is only a plain anchor (which settles and
 * proves nothing); `NOT_ANCHORED`: no anchor at all; `NOT_SETTLED_AS_SIGNED`: a settlement root, but not the record
 * of this job as the receipt states it (other provider, other batch, other units or price).
 */
export type SettlementFailureCode = "MERKLE_PROOF_INVALID" | "NOT_ANCHORED" | "PLAIN_ANCHOR_ONLY" | "NOT_SETTLED_AS_SIGNED";

export interface SettlementCheck {
  id: SettlementCheckId;
  ok: boolean;
  detail: string;
}

export type SettledReceiptVerdict =
  | { valid: true; batchId: bigint; checks: SettlementCheck[] }
  | { valid: false; code: SettlementFailureCode; reason: string; checks: SettlementCheck[] };

/** Job statuses (IJobEscrow.JobStatus) of a job that settled: Settled, Finalized, Disputed, Resolved. */
const SETTLED_STATUSES = new Set([3n, 4n, 7n, 8n]);

const CODE_OF: Record<SettlementCheckId, SettlementFailureCode> = {
  domain: "MERKLE_PROOF_INVALID",
  proof: "MERKLE_PROOF_INVALID",
  "settlement-root": "NOT_ANCHORED",
  "batch-provider": "NOT_SETTLED_AS_SIGNED",
  "job-in-batch": "NOT_SETTLED_AS_SIGNED",
  units: "NOT_SETTLED_AS_SIGNED",
  price: "NOT_SETTLED_AS_SIGNED",
  contract: "NOT_SETTLED_AS_SIGNED",
};

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Checks that `leaf` (proven by `proof` under `root`) is the record its provider settled for its job on `escrow`
 * (deployed at `escrowAddress` on chain `chainId`). Never throws for a bad receipt; only transport failures throw.
 */
export async function checkSettledReceipt(
  escrow: SettlementReader,
  deployment: { chainId: bigint; escrowAddress: string },
  input: { root: string; leaf: ReceiptLeafValue; proof: readonly string[] },
): Promise<SettledReceiptVerdict> {
  const { root, leaf, proof } = input;
  const checks: SettlementCheck[] = [];
  const fail = (id: SettlementCheckId, detail: string, code: SettlementFailureCode = CODE_OF[id]): SettledReceiptVerdict => {
    checks.push({ id, ok: false, detail });
    return { valid: false, code, reason: detail, checks };
  };
  const pass = (id: SettlementCheckId, detail: string) => checks.push({ id, ok: true, detail });

  if (leaf.chainId !== deployment.chainId || !same(leaf.escrow, deployment.escrowAddress)) {
    return fail("domain", "the leaf is bound to another chain or escrow");
  }
  pass("domain", `chain ${leaf.chainId}, escrow ${leaf.escrow}`);

  let batch: Awaited<ReturnType<SettlementReader["batch"]>>;
  try {
    batch = await escrow.batch(root);
  } catch (error) {
    if (describeContractRevert(error)?.name !== "JobEscrowUnknownRoot") throw error;
    const [plainAt] = await escrow.plainAnchor(leaf.provider, root);
    if (plainAt !== 0n) {
      return fail("settlement-root", `root ${root} is only a plain anchor by ${leaf.provider}: a plain anchor settles and proves nothing`, "PLAIN_ANCHOR_ONLY");
    }
    return fail("settlement-root", `root ${root} is not a settlement root on the escrow`);
  }
  pass("settlement-root", `settlement batch #${batch.id}: ${batch.count} records settled by ${batch.submitter}`);
  if (!same(batch.submitter, leaf.provider)) {
    return fail("batch-provider", `batch #${batch.id} was settled by ${batch.submitter}, the receipt names provider ${leaf.provider}`);
  }
  pass("batch-provider", `settled by the receipt's provider ${leaf.provider}`);

  const job = await escrow.job(leaf.jobId);
  if (!SETTLED_STATUSES.has(BigInt(job.status)) || job.batchId !== batch.id) {
    const where = job.batchId === 0n ? "has not settled" : `settled in batch #${job.batchId}`;
    return fail("job-in-batch", `job ${leaf.jobId} ${where}, not in batch #${batch.id}`);
  }
  pass("job-in-batch", `job ${leaf.jobId} settled in batch #${batch.id}`);
  if (job.unitsMilli !== leaf.unitsMilli) {
    return fail("units", `job ${leaf.jobId} settled ${job.unitsMilli} milli-units, the receipt states ${leaf.unitsMilli}`);
  }
  pass("units", `${leaf.unitsMilli} milli-units, as settled`);
  if (job.price !== leaf.price) return fail("price", `job ${leaf.jobId} settled at price ${job.price}, the receipt states ${leaf.price}`);
  pass("price", `price ${leaf.price}, as settled`);
  if (!verifyReceiptLeafProof(root, leaf, proof)) return fail("proof", `the proof does not lead from the leaf to root ${root}`);
  pass("proof", `leaf proven under ${root} in ${proof.length} steps`);

  const onChain = await escrow.verifyReceiptInclusion(
    root,
    { jobId: leaf.jobId, provider: leaf.provider, unitsMilli: leaf.unitsMilli, price: leaf.price, receiptHash: leaf.receiptHash },
    [...proof],
  );
  if (!onChain) return fail("contract", "JobEscrow.verifyReceiptInclusion refuses the receipt");
  pass("contract", "JobEscrow.verifyReceiptInclusion accepts it");
  return { valid: true, batchId: batch.id, checks };
}
