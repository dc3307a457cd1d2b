/**
 * Every contract constant the TypeScript side needs, in one place. The contracts are the source of truth;
 * `test/lib/protocol.test.ts` reads each value back from the compiled artifacts (the public getters of deployed
 * contracts, and the AST for private constants and enums), so a change in a contract that is not made here fails.
 * Pure and browser-safe.
 */

// ── AITBCToken ──────────────────────────────────────────────────────────────────────────────────────────────────
/** `AITBCToken.decimals()`. */
export const TOKEN_DECIMALS = 18;
/** Token base units per token. */
export const TOKEN_UNIT = 10n ** 18n;

// ── JobEscrow ───────────────────────────────────────────────────────────────────────────────────────────────────
/** Milli-units per unit (`JobEscrow._MILLI`): units travel on-chain as milli-units (2.5 gpu_seconds = 2500). */
export const MILLI = 1000n;
/** Basis points in 100 % (`JobEscrow._BPS`). */
export const BPS = 10_000n;
/** `JobEscrow.MAX_FEE_BPS`: largest fee the DAO may set (20 %). */
export const MAX_FEE_BPS = 2_000n;
/** `JobEscrow.MIN_DISPUTE_WINDOW` / `MAX_DISPUTE_WINDOW`, seconds. */
export const MIN_DISPUTE_WINDOW = 60n;
export const MAX_DISPUTE_WINDOW = 30n * 86_400n;
/** `JobEscrow.MIN_DISPUTE_TIMEOUT` / `MAX_DISPUTE_TIMEOUT`, seconds. */
export const MIN_DISPUTE_TIMEOUT = 60n;
export const MAX_DISPUTE_TIMEOUT = 180n * 86_400n;
/** `JobEscrow.MIN_DEADLINE_DELAY` / `MAX_DEADLINE_DELAY`, seconds. */
export const MIN_DEADLINE_DELAY = 60n;
export const MAX_DEADLINE_DELAY = 365n * 86_400n;
/** `JobEscrow.MAX_UNITS_MILLI`: largest `maxUnitsMilli` the escrow accepts (it keeps a job in one storage slot). */
export const MAX_UNITS_MILLI = (1n << 36n) - 1n;
/** `JobEscrow.MAX_DISPUTE_BOND`. */
export const MAX_DISPUTE_BOND = 1_000_000n * TOKEN_UNIT;
/** `JobEscrow.MAX_BATCH_SIZE`: largest number of records in one settlement or anchor. */
export const MAX_BATCH_SIZE = 1_024;
/** `JobEscrow.MAX_PROMPT_BYTES`: largest prompt `createJob` carries. */
export const MAX_PROMPT_BYTES = 64 * 1024;
/** `JobEscrow._RECORD_BYTES`: one `settleBatch` record, `uint48 jobId | uint64 unitsMilli | bytes32 receiptHash`. */
export const SETTLEMENT_RECORD_BYTES = 46;
/** Largest job id a settlement record carries (`uint48`). */
export const MAX_JOB_ID = (1n << 48n) - 1n;
/** `IJobEscrow.JobStatus`, in enum order. `Finalized` is reported by `job()`, never stored. */
export const JOB_STATUSES = ["None", "Open", "Accepted", "Settled", "Finalized", "Cancelled", "Expired", "Disputed", "Resolved", "GivenBack"] as const;

// ── ModelRegistry ───────────────────────────────────────────────────────────────────────────────────────────────
/** `ModelRegistry.MAX_RATE`: rates are snapshotted into 80 bits. */
export const MAX_RATE = (1n << 80n) - 1n;
/** Largest model id (`uint16`). */
export const MAX_MODEL_ID = 65_535n;
/** `ModelRegistry._MAX_NAME_BYTES` / `_MAX_UNIT_TYPE_BYTES`. */
export const MAX_MODEL_NAME_BYTES = 64;
export const MAX_UNIT_TYPE_BYTES = 32;

// ── ProviderRegistry ────────────────────────────────────────────────────────────────────────────────────────────
/** `ProviderRegistry.MAX_MIN_BOND`. */
export const MAX_MIN_BOND = 1_000_000_000n * TOKEN_UNIT;
/** `ProviderRegistry.MIN_UNBONDING_PERIOD` / `MAX_UNBONDING_PERIOD`, seconds. */
export const MIN_UNBONDING_PERIOD = 60n;
export const MAX_UNBONDING_PERIOD = 365n * 86_400n;
/** `ProviderRegistry.MAX_EXPOSURE_MULTIPLE`. */
export const MAX_EXPOSURE_MULTIPLE = 10_000n;
/** `ProviderRegistry.MAX_SERVICE_URL_BYTES`: the longest service URL a provider can publish. */
export const MAX_SERVICE_URL_BYTES = 256;

// ── AITBCGovernor (OpenZeppelin Governor) ───────────────────────────────────────────────────────────────────────
/** `IGovernor.ProposalState`, in enum order. */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
/** `GovernorVotesQuorumFraction.quorumDenominator()`: the quorum is a whole percentage. */
export const QUORUM_DENOMINATOR = 100n;
/** `GovernorSettings.setVotingDelay(uint48)`, `setVotingPeriod(uint32)`, `setLateQuorumVoteExtension(uint48)`: seconds. */
export const MAX_VOTING_DELAY = (1n << 48n) - 1n;
export const MAX_VOTING_PERIOD = (1n << 32n) - 1n;
export const MAX_LATE_QUORUM_EXTENSION = (1n << 48n) - 1n;
/** `GovernorCountingSimple` support values, in order (`0` against, `1` for, `2` abstain). */
export const VOTE_SUPPORT = ["Against", "For", "Abstain"] as const;
