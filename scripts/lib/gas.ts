/** Gas spent per step of a scripted run, for the summary table. */
import type { TransactionReceipt } from "ethers";

import { formatTable } from "./report.js";

interface Entry {
  gas: bigint;
  txs: number;
  /** Jobs the transactions handled (0 when the step is not per job). */
  jobs: number;
}

export class GasLedger {
  readonly #entries = new Map<string, Entry>();

  /** Adds one mined transaction to `step`; `jobs` is how many jobs it handled. */
  add(step: string, receipt: Pick<TransactionReceipt, "gasUsed"> | null, jobs = 0): bigint {
    if (receipt === null) throw new Error(`${step}: the transaction was not mined`);
    const entry = this.#entries.get(step) ?? { gas: 0n, txs: 0, jobs: 0 };
    entry.gas += receipt.gasUsed;
    entry.txs += 1;
    entry.jobs += jobs;
    this.#entries.set(step, entry);
    return receipt.gasUsed;
  }

  /** The rows in insertion order, amounts as decimal strings (for JSON output). */
  toJson(): { step: string; txs: number; gas: string; perTx: string; jobs: number; perJob: string | null }[] {
    return [...this.#entries].map(([step, e]) => ({
      step,
      txs: e.txs,
      gas: e.gas.toString(),
      perTx: (e.gas / BigInt(e.txs)).toString(),
      jobs: e.jobs,
      perJob: e.jobs === 0 ? null : (e.gas / BigInt(e.jobs)).toString(),
    }));
  }

  format(): string {
    const n = (v: bigint | number): string => v.toLocaleString("en-US");
    return formatTable(
      ["step", "txs", "gas", "gas / tx", "jobs", "gas / job"],
      [...this.#entries].map(([step, e]) => [
        step,
        n(e.txs),
        n(e.gas),
        n(e.gas / BigInt(e.txs)),
        e.jobs === 0 ? "" : n(e.jobs),
        e.jobs === 0 ? "" : n(e.gas / BigInt(e.jobs)),
      ]),
      ["left", "right", "right", "right", "right", "right"],
    );
  }
}
