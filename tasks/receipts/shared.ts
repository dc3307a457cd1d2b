import { readAnchoredBatches } from "../../lib/sdk/watcher.js";
import { type MarketContext } from "../market/shared.js";

/** Root of every anchored batch since the deployment, by batch id (from `RootAnchored` events). */
export async function anchoredRoots(m: MarketContext, fromBlock = m.deployment.block): Promise<Map<bigint, { root: string; submitter: string; count: bigint; block: number }>> {
  const batches = await readAnchoredBatches(m.ethers.provider, m.deployment, { fromBlock });
  return new Map(batches.map((b) => [b.batchId, { root: b.root, submitter: b.submitter, count: b.count, block: b.blockNumber }]));
}
