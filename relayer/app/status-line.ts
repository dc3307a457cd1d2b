import type { RelayerStatus } from "./relayer.js";

/**
 * The one-line status an operator watches. Every health reason is spelled out and the last warning is shown, so a
 * degraded relayer says why in the line itself (not only in logs an interactive status line hides).
 */
export function formatStatusLine(s: RelayerStatus): string {
  const j = s.jobsByState;
  const b = s.batchesByStatus;
  const health = s.health.status === "ok" ? "[ok]" : `[DEGRADED: ${s.health.reasons.map((r) => `${r.code} (${r.detail})`).join("; ")}]`;
  const halted = s.halted === null ? "" : ` | STOPPED ${s.halted.code}: ${s.halted.message}`;
  const err = s.lastError === null ? "" : ` | last warning ${s.lastError.code}: ${s.lastError.message.slice(0, 160)}`;
  const jobs = s.privateJobs.enabled ? " | private+public" : ` | PUBLIC ONLY: ${s.privateJobs.warning ?? "private jobs are off"}`;
  return (
    `${health} jobs seen ${j.seen} run ${j.accepted + j.running} done ${j.done + j.signed} batched ${j.batched} ` +
    `settled ${j.settled + j.finalized} failed ${j.failed + j.expired} refused ${j.refused} given back ${j.given_back} | gpu_seconds ${s.gpuSeconds.toFixed(2)} | ` +
    `receipts ${s.receiptsSigned} | batches ${b.confirmed + b.finalized}/${b.intent + b.sent + b.confirmed + b.finalized}${jobs}${halted}${err}`
  );
}

/** Exit status of the relayer process by error code: supervisors restart on an outage, not on a config error. */
export function exitCodeFor(code: string): number {
  switch (code) {
    case "INTERNAL":
      return 1; // a bug: neither the configuration nor the chain
    case "RELAYER_RPC_UNAVAILABLE":
    case "RPC_UNREACHABLE":
    case "RPC_TIMEOUT":
      return 3; // outage: retry later
    case "RELAYER_ALREADY_RUNNING":
    case "RELAYER_PORT_IN_USE":
      return 4; // another instance: do not start a second one
    case "RELAYER_CHAIN_RESET":
    case "RELAYER_WRONG_CHAIN":
    case "RELAYER_DEPLOYMENT_CHANGED":
    case "JOURNAL_EMPTY":
    case "JOURNAL_CORRUPT":
    case "JOURNAL_FOREIGN":
    case "JOURNAL_ROLLED_BACK":
      return 5; // the journal does not match the chain: an operator must decide
    default:
      return 2; // configuration
  }
}
