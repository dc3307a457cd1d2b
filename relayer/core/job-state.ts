import { RelayerError } from "./errors.js";

/**
 * The life of one job as the relayer sees it. Each record carries everything needed to resume after a crash, so the
 * journal can store it as is and the app can resume the job from it alone.
 *
 *   seen ─► accepted ─► running ─► done ─► signed ─► batched ─► settled ─► finalized
 *     │         │          │  ▲      │        ▲  │        ▲         │
 *     │         │          └──┘      │        └──┘(batch  └─────────┘(reorg: settlement vanished)
 *     │         │       (restart)    │          failed)
 *     ├─► refused                    │
 *     └─────────┴──────────┴─────────┴────────┴─► expired / failed (see {@link TRANSITIONS})
 *
 * An accepted job the relayer cannot run (the runtime is down, the run failed) goes from `accepted` or `running` to
 * `given_back`: its `giveBackJob` transaction is journaled in the same step and refunds the client on-chain at once.
 */
export const JOB_STATES = [
  "seen",
  "accepted",
  "running",
  "done",
  "signed",
  "batched",
  "settled",
  "finalized",
  "failed",
  "expired",
  "refused",
  "given_back",
] as const;

export type JobState = (typeof JOB_STATES)[number];

/** The explicit transition table: `TRANSITIONS[from]` lists every state `from` may move to. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  seen: ["accepted", "refused", "expired", "failed"],
  accepted: ["running", "expired", "failed", "given_back"],
  // running → running: the process died mid-run; the job is run again from the start.
  running: ["running", "done", "expired", "failed", "given_back"],
  done: ["signed", "expired", "failed"],
  // A receipt that cannot be settled before the deadline is worthless on-chain: the client reclaims the escrow.
  signed: ["batched", "expired"],
  // batched → signed: the settlement transaction failed; the receipt goes back to the pending set.
  batched: ["settled", "signed"],
  // settled → batched: the settlement was reorged out before it was final; it is resubmitted.
  settled: ["finalized", "batched"],
  finalized: [],
  failed: [],
  expired: [],
  refused: [],
  given_back: [],
};

export const TERMINAL_STATES: readonly JobState[] = JOB_STATES.filter((s) => TRANSITIONS[s].length === 0);

export function isTerminal(state: JobState): boolean {
  return TRANSITIONS[state].length === 0;
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What the relayer learnt about a job from its `JobCreated` event. Immutable for the life of the job. */
export interface JobOrigin {
  jobId: bigint;
  model: string;
  /** Lower-case 0x address. */
  client: string;
  /** The provider the job is addressed to, lower-case, or `null` for an open job. */
  addressedProvider: string | null;
  maxUnitsMilli: bigint;
  /** Token base units per unit, as snapshotted in the job. */
  rate: bigint;
  /** Unix seconds. */
  deadline: number;
  /** 0x keccak-256 of the prompt bytes, as emitted. */
  inputHash: string;
  /** Block and transaction that created the job, for reorg checks. */
  createdBlock: number;
  createdTxHash: string;
}

export interface JobFailure {
  code: string;
  message: string;
}

/** One job with the data every state needs to resume. Fields are `null` until the step that sets them. */
export interface JobRecord extends JobOrigin {
  state: JobState;
  /** Whether the prompt is a sealed envelope (a private job): its prompt and result never leave the relayer in clear. */
  private: boolean;
  acceptTxHash: string | null;
  /** Number of times the job was started on a runtime (restarts after a crash increase it). */
  runAttempts: number;
  startedAt: number | null;
  completedAt: number | null;
  unitsMilli: bigint | null;
  /** 0x keccak-256 of the result bytes. */
  resultHash: string | null;
  receiptId: string | null;
  /** Hex SHA-256 of the receipt's canonical bytes. */
  receiptHash: string | null;
  batchId: number | null;
  settleTxHash: string | null;
  settleBlock: number | null;
  failure: JobFailure | null;
  refusal: string | null;
  /** Unix seconds of the first sighting and of the last transition. */
  seenAt: number;
  updatedAt: number;
}

export type JobEvent =
  | { type: "accept"; txHash: string }
  | { type: "start" }
  | { type: "complete"; unitsMilli: bigint; resultHash: string; startedAt: number; completedAt: number }
  | { type: "sign"; receiptId: string; receiptHash: string }
  | { type: "batch"; batchId: number }
  | { type: "unbatch" }
  | { type: "settle"; txHash: string; blockNumber: number }
  | { type: "reorg" }
  | { type: "finalize" }
  | { type: "fail"; code: string; message: string }
  | { type: "expire" }
  | { type: "refuse"; reason: string }
  /** The job is given back on-chain (`giveBackJob`): `code`/`message` say why it could not run. */
  | { type: "give_back"; code: string; message: string };

export type JobEventType = JobEvent["type"];

/** The state each event leads to; `start` from `running` is the restart self-loop. */
const EVENT_TARGET: Readonly<Record<Exclude<JobEventType, "unbatch" | "reorg">, JobState>> = {
  accept: "accepted",
  start: "running",
  complete: "done",
  sign: "signed",
  batch: "batched",
  settle: "settled",
  finalize: "finalized",
  fail: "failed",
  expire: "expired",
  refuse: "refused",
  give_back: "given_back",
};

export function targetState(event: JobEvent): JobState {
  if (event.type === "unbatch") return "signed";
  if (event.type === "reorg") return "batched";
  return EVENT_TARGET[event.type];
}

const HASH32 = /^0x[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;

function invalid(jobId: bigint, message: string, details: Record<string, unknown> = {}): RelayerError {
  return new RelayerError("RELAYER_INVALID_JOB_DATA", `job ${jobId}: ${message}`, {
    details: { jobId: jobId.toString(), ...details },
    hint: "this is a bug in the caller: the value comes from the chain, the runtime or the signer and must be checked there",
  });
}

/** A fresh record in state `seen`. Validates the event data so a malformed job never enters the journal. */
export function newJob(origin: JobOrigin, now: number, isPrivate = false): JobRecord {
  const id = origin.jobId;
  if (id < 0n) throw invalid(id, "job id is negative");
  if (origin.model.length === 0) throw invalid(id, "model is empty");
  if (!ADDRESS.test(origin.client)) throw invalid(id, "client is not a lower-case 0x address", { client: origin.client });
  if (origin.addressedProvider !== null && !ADDRESS.test(origin.addressedProvider)) {
    throw invalid(id, "addressed provider is not a lower-case 0x address", { provider: origin.addressedProvider });
  }
  if (origin.maxUnitsMilli <= 0n) throw invalid(id, "maxUnitsMilli must be positive");
  if (origin.rate < 0n) throw invalid(id, "rate is negative");
  if (!Number.isSafeInteger(origin.deadline) || origin.deadline < 0) throw invalid(id, "deadline is not a unix time");
  if (!HASH32.test(origin.inputHash)) throw invalid(id, "inputHash is not a lower-case 0x bytes32");
  if (!Number.isSafeInteger(origin.createdBlock) || origin.createdBlock < 0) throw invalid(id, "createdBlock is invalid");
  if (!HASH32.test(origin.createdTxHash)) throw invalid(id, "createdTxHash is not a lower-case 0x bytes32");
  return {
    ...origin,
    state: "seen",
    private: isPrivate,
    acceptTxHash: null,
    runAttempts: 0,
    startedAt: null,
    completedAt: null,
    unitsMilli: null,
    resultHash: null,
    receiptId: null,
    receiptHash: null,
    batchId: null,
    settleTxHash: null,
    settleBlock: null,
    failure: null,
    refusal: null,
    seenAt: now,
    updatedAt: now,
  };
}

/**
 * Applies `event` to `job` and returns the new record; `job` is not modified.
 *
 * @throws RelayerError `RELAYER_ILLEGAL_TRANSITION` when the table forbids the move,
 *         `RELAYER_INVALID_JOB_DATA` when the event carries data that cannot be right.
 */
export function transition(job: JobRecord, event: JobEvent, now: number): JobRecord {
  const to = targetState(event);
  if (!canTransition(job.state, to)) {
    throw new RelayerError("RELAYER_ILLEGAL_TRANSITION", `job ${job.jobId}: cannot go from ${job.state} to ${to} (${event.type})`, {
      details: { jobId: job.jobId.toString(), from: job.state, to, event: event.type },
      hint: `allowed from ${job.state}: ${TRANSITIONS[job.state].join(", ") || "none (terminal state)"}`,
    });
  }
  const id = job.jobId;
  const next: JobRecord = { ...job, state: to, updatedAt: now };
  switch (event.type) {
    case "accept":
      if (!HASH32.test(event.txHash)) throw invalid(id, "accept tx hash is not a lower-case 0x bytes32");
      next.acceptTxHash = event.txHash;
      break;
    case "start":
      next.runAttempts = job.runAttempts + 1;
      next.startedAt = null;
      break;
    case "complete":
      if (event.unitsMilli <= 0n || event.unitsMilli > job.maxUnitsMilli) {
        throw invalid(id, "unitsMilli must be in 1..maxUnitsMilli", {
          unitsMilli: event.unitsMilli.toString(),
          maxUnitsMilli: job.maxUnitsMilli.toString(),
        });
      }
      if (!HASH32.test(event.resultHash)) throw invalid(id, "resultHash is not a lower-case 0x bytes32");
      if (!Number.isSafeInteger(event.startedAt) || event.completedAt < event.startedAt) {
        throw invalid(id, "completedAt precedes startedAt", { startedAt: event.startedAt, completedAt: event.completedAt });
      }
      next.unitsMilli = event.unitsMilli;
      next.resultHash = event.resultHash;
      next.startedAt = event.startedAt;
      next.completedAt = event.completedAt;
      break;
    case "sign":
      if (event.receiptId.length === 0) throw invalid(id, "receiptId is empty");
      if (!HEX64.test(event.receiptHash)) throw invalid(id, "receiptHash is not 64 lower-case hex digits");
      next.receiptId = event.receiptId;
      next.receiptHash = event.receiptHash;
      break;
    case "batch":
      if (!Number.isSafeInteger(event.batchId) || event.batchId <= 0) throw invalid(id, "batchId must be a positive integer");
      next.batchId = event.batchId;
      break;
    case "unbatch":
      next.batchId = null;
      break;
    case "settle":
      if (!HASH32.test(event.txHash)) throw invalid(id, "settle tx hash is not a lower-case 0x bytes32");
      if (!Number.isSafeInteger(event.blockNumber) || event.blockNumber < 0) throw invalid(id, "settle block is invalid");
      next.settleTxHash = event.txHash;
      next.settleBlock = event.blockNumber;
      break;
    case "reorg":
      next.settleTxHash = null;
      next.settleBlock = null;
      break;
    case "finalize":
    case "expire":
      break;
    case "fail":
    case "give_back":
      next.failure = { code: event.code, message: event.message };
      break;
    case "refuse":
      next.refusal = event.reason;
      break;
  }
  return next;
}
