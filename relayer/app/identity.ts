import { keccak256 } from "ethers";

import type { RpcClient } from "../adapters/chain/rpc.js";
import type { JournalIdentity } from "../adapters/journal/journal.js";
import { RelayerError } from "../core/errors.js";

export type Contracts = JournalIdentity["contracts"];

/** What the node says now about the chain and the deployment a journal belongs to. */
export interface LiveIdentity {
  chainId: string;
  genesisHash: string;
  anchorBlock: number;
  /** `null` when the node has no such block (a chain shorter than the deployment block: it was reset). */
  anchorHash: string | null;
  codeHashes: JournalIdentity["codeHashes"];
  /**
   * Whether the journal's processed history is still on this chain: `false` when neither its newest nor its oldest
   * remembered block is canonical (deeper than any reorg the watcher can undo: the chain was reset), `null` when the
   * journal has no history yet.
   */
  historyCanonical: boolean | null;
}

/** Blocks a journal remembers (its watcher marks), oldest first. */
export type HistoryMarks = readonly { number: number; hash: string }[];

const EMPTY_CODE_HASH = keccak256("0x");

async function blockHash(rpc: RpcClient, n: number): Promise<string | null> {
  const block = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]);
  return block === null ? null : block.hash.toLowerCase();
}

async function codeHash(rpc: RpcClient, address: string): Promise<string> {
  return keccak256(await rpc.call<string>("eth_getCode", [address, "latest"])).toLowerCase();
}

/** Reads chain id, genesis hash, the anchor (deployment) block's hash and the code hash of each contract. */
export async function readLiveIdentity(rpc: RpcClient, contracts: Contracts, anchorBlock: number, marks: HistoryMarks = []): Promise<LiveIdentity> {
  const [chainId, genesisHash, anchorHash, escrow, providerRegistry, modelRegistry] = await Promise.all([
    rpc.call<string>("eth_chainId"),
    blockHash(rpc, 0),
    blockHash(rpc, anchorBlock),
    codeHash(rpc, contracts.escrow),
    codeHash(rpc, contracts.providerRegistry),
    codeHash(rpc, contracts.modelRegistry),
  ]);
  let historyCanonical: boolean | null = null;
  if (marks.length > 0) {
    const newest = marks[marks.length - 1];
    historyCanonical = (await blockHash(rpc, newest.number)) === newest.hash.toLowerCase();
    if (!historyCanonical && marks.length > 1) historyCanonical = (await blockHash(rpc, marks[0].number)) === marks[0].hash.toLowerCase();
  }
  return {
    historyCanonical,
    chainId: BigInt(chainId).toString(),
    genesisHash: genesisHash ?? "",
    anchorBlock,
    anchorHash,
    codeHashes: { escrow, providerRegistry, modelRegistry },
  };
}

/** Whether every contract has code (a chain reset without a redeploy leaves none). */
export function hasAllCode(live: LiveIdentity): boolean {
  return Object.values(live.codeHashes).every((h) => h !== EMPTY_CODE_HASH);
}

/**
 * Compares a journal's recorded identity with the node. Returns the reason it does not match, or `null`.
 *
 * The order matters for the message: another chain id first, then a chain that was reset (genesis or deployment block
 * changed: the journal's chain no longer exists), then a deployment that changed under the same chain.
 */
export function identityMismatch(recorded: JournalIdentity, live: LiveIdentity, contracts: Contracts, journalPath: string): RelayerError | null {
  const moveAside = `move ${journalPath} aside (keep it: it holds the receipts of the old chain) and start again; a new journal is created for this chain`;
  if (recorded.chainId !== live.chainId) {
    return new RelayerError("RELAYER_WRONG_CHAIN", `journal ${journalPath} belongs to chain ${recorded.chainId}, but the node is chain ${live.chainId}`, {
      details: { recorded: recorded.chainId, node: live.chainId },
      hint: "point rpcUrl at the chain this journal was made for, or use the journal of this chain (journalPath)",
    });
  }
  if (recorded.genesisHash !== live.genesisHash || live.anchorHash === null || recorded.anchorHash !== live.anchorHash || live.historyCanonical === false) {
    return new RelayerError(
      "RELAYER_CHAIN_RESET",
      `journal ${journalPath} belongs to a chain that no longer exists: ` +
        (recorded.anchorHash !== live.anchorHash
          ? `its deployment block ${recorded.anchorBlock} was ${recorded.anchorHash}, the node has ${live.anchorHash ?? "no such block"}`
          : "none of the blocks it processed is on the node's chain") +
        (recorded.genesisHash === live.genesisHash ? "" : ` (genesis ${recorded.genesisHash} → ${live.genesisHash})`),
      {
        details: { recorded: { genesis: recorded.genesisHash, anchor: recorded.anchorHash }, node: { genesis: live.genesisHash, anchor: live.anchorHash } },
        hint: `the node was reset or replaced. If the contracts are gone, use the deployment file of their new deployment, then ${moveAside}`,
      },
    );
  }
  for (const name of ["escrow", "providerRegistry", "modelRegistry"] as const) {
    if (recorded.contracts[name].toLowerCase() !== contracts[name].toLowerCase()) {
      return new RelayerError("RELAYER_DEPLOYMENT_CHANGED", `journal ${journalPath} was made for ${name} ${recorded.contracts[name]}, the deployment file names ${contracts[name]}`, {
        details: { contract: name, recorded: recorded.contracts[name], deployment: contracts[name] },
        hint: `use the deployment file this journal was made for, or ${moveAside}`,
      });
    }
    if (recorded.codeHashes[name] !== live.codeHashes[name]) {
      return new RelayerError("RELAYER_DEPLOYMENT_CHANGED", `the ${name} contract at ${contracts[name]} is not the one journal ${journalPath} was made for: its code changed (redeployed at the same address)`, {
        details: { contract: name, recorded: recorded.codeHashes[name], node: live.codeHashes[name] },
        hint: `redeploy with a fresh deployment file, then ${moveAside}`,
      });
    }
  }
  return null;
}
