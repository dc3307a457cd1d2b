import { RelayerError } from "./errors.js";

/** What the running process knows about its dependencies at one moment. */
export interface HealthInputs {
  /** RPC calls that failed within the observation window. */
  rpcErrorsRecent: number;
  /** `false` when the inference runtime did not answer its last probe. */
  runtimeUp: boolean;
  /** Latest chain head the watcher has seen, or `null` before the first successful RPC call. */
  chainHead: number | null;
  /** Last block the journal has fully processed, or `null` before the first one. */
  journalBlock: number | null;
  /** What the running relayer's own monitor found (stalled watcher, transactions not landing, another chain). */
  issues?: readonly HealthIssue[];
}

export interface HealthIssue {
  code: HealthReason;
  detail: string;
}

export interface HealthThresholds {
  /** Recent RPC errors at or above this count mark the relayer degraded. */
  maxRecentRpcErrors: number;
  /** Blocks the journal may trail the head (confirmation depth + a few) before it is degraded. */
  maxJournalLagBlocks: number;
}

export type HealthReason =
  | "RPC_ERRORS"
  | "RUNTIME_DOWN"
  | "JOURNAL_LAG"
  | "CHAIN_UNKNOWN"
  /** No watcher poll completed recently: the RPC endpoint stalls or the watcher is stuck. */
  | "WATCHER_STALLED"
  /** The chain head has not moved for longer than an interval-mining chain allows. */
  | "HEAD_STALE"
  /** A sent transaction is not mined in time, or the node does not know it (swallowed broadcast). */
  | "TX_NOT_LANDING"
  /** The node's chain is not the one the journal belongs to (reset, replaced, or the contracts redeployed). */
  | "CHAIN_CHANGED";

export interface HealthReport {
  status: "ok" | "degraded";
  reasons: { code: HealthReason; detail: string }[];
  journalLagBlocks: number | null;
}

export function validateHealthThresholds(t: HealthThresholds): HealthThresholds {
  if (!Number.isSafeInteger(t.maxRecentRpcErrors) || t.maxRecentRpcErrors < 1) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", "maxRecentRpcErrors must be an integer ≥ 1", {
      hint: "fix the health section of the relayer configuration",
    });
  }
  if (!Number.isSafeInteger(t.maxJournalLagBlocks) || t.maxJournalLagBlocks < 0) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", "maxJournalLagBlocks must be an integer ≥ 0", {
      hint: "fix the health section of the relayer configuration",
    });
  }
  return t;
}

export function assessHealth(inputs: HealthInputs, thresholds: HealthThresholds): HealthReport {
  const reasons: HealthReport["reasons"] = [];
  if (inputs.rpcErrorsRecent >= thresholds.maxRecentRpcErrors) {
    reasons.push({ code: "RPC_ERRORS", detail: `${inputs.rpcErrorsRecent} RPC errors recently` });
  }
  if (!inputs.runtimeUp) reasons.push({ code: "RUNTIME_DOWN", detail: "the inference runtime does not answer" });
  let lag: number | null = null;
  if (inputs.chainHead === null) {
    reasons.push({ code: "CHAIN_UNKNOWN", detail: "no chain head seen yet" });
  } else {
    lag = Math.max(0, inputs.chainHead - (inputs.journalBlock ?? 0));
    if (lag > thresholds.maxJournalLagBlocks) {
      reasons.push({ code: "JOURNAL_LAG", detail: `journal is ${lag} blocks behind the head` });
    }
  }
  for (const issue of inputs.issues ?? []) {
    if (!reasons.some((r) => r.code === issue.code)) reasons.push({ code: issue.code, detail: issue.detail });
  }
  return { status: reasons.length === 0 ? "ok" : "degraded", reasons, journalLagBlocks: lag };
}
