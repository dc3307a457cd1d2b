import type { ContractTransactionResponse, TransactionReceipt } from "ethers";

import { AitbcError } from "../errors.js";
import { describeContractRevert } from "./reverts.js";

/** A mined, successful transaction. */
export interface SentTx {
  hash: string;
  block: number;
  gasUsed: bigint;
  receipt: TransactionReceipt;
}

/** Receives one human-readable line per step (simulation, broadcast, mining). */
export type ProgressFn = (line: string) => void;

export interface SendOptions {
  onProgress?: ProgressFn;
  /** What to tell the user when the simulation reverts. */
  hint?: string;
}

/**
 * Simulates a transaction, then sends it and waits for it to be mined. A call that would revert is refused with
 * `TX_WOULD_REVERT` naming the contract error (`details.revert`), and nothing is sent; a mined transaction that failed
 * is `TX_FAILED`.
 */
export async function sendTransaction(
  label: string,
  call: { estimate: () => Promise<bigint>; send: () => Promise<ContractTransactionResponse> },
  options: SendOptions = {},
): Promise<SentTx> {
  const say = options.onProgress ?? (() => undefined);
  try {
    await call.estimate();
  } catch (error) {
    const reason = describeContractRevert(error);
    if (reason === undefined) throw error;
    throw new AitbcError("TX_WOULD_REVERT", `${label} would revert with ${reason.text}; nothing was sent`, {
      hint: options.hint ?? "The chain changed since the checks ran; run the step again to see the current state.",
      details: { revert: reason.name },
      cause: error,
    });
  }
  const tx = await call.send();
  say(`  → ${label}: sent ${tx.hash}, waiting for it to be mined…`);
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) {
    throw new AitbcError("TX_FAILED", `${label} failed on-chain (${tx.hash})`, { hint: "Inspect the transaction on the node; nothing else was sent." });
  }
  say(`  ✓ mined in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`);
  return { hash: tx.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
}
