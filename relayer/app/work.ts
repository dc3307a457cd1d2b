import type { Logger } from "pino";

import { isAitbcError } from "../../lib/errors.js";
import type { TxSender } from "../adapters/chain/sender.js";
import type { Journal } from "../adapters/journal/journal.js";
import type { MarketReader } from "./contracts.js";
import type { RelayerSettings } from "./relayer.js";

/**
 * What the relayer's three stages (accept.ts, run.ts, settle.ts) share: the journal, the sender, the chain reader,
 * the settings, and the relayer's own bookkeeping (errors, background tasks, the main loop's wake-up).
 */
export interface Work {
  readonly journal: Journal;
  readonly sender: TxSender;
  readonly market: MarketReader;
  readonly settings: RelayerSettings;
  readonly contracts: { escrow: string; providerRegistry: string; modelRegistry: string };
  readonly chainId: bigint;
  /** The provider's address (lower-case). */
  readonly provider: string;
  readonly log: Logger;
  now(): number;
  /** The time the next block will at least have: the chain's latest timestamp, or the wall clock on an idle chain. */
  chainNow(): Promise<number>;
  recordError(error: unknown, context: string, level?: "warn" | "error"): void;
  /** Runs `work` in the background, tracked so a stop waits for it; failures are recorded, never thrown. */
  background(work: () => Promise<void>, context: string): void;
  /** Runs a pass of the main loop now (new work arrived). */
  kick(): void;
}

export function sec(ms: number): number {
  return Math.floor(ms / 1000);
}

export function errorCode(error: unknown): string {
  return isAitbcError(error) ? error.code : "INTERNAL";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
