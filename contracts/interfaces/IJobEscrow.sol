// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title IJobEscrow
 * @notice Escrowed compute jobs, batched settlement and receipt anchoring.
 *
 * Money (all exact, see docs/ARCHITECTURE.md): `escrow = ceil(maxUnitsMilli * rate / 1000)` is pulled at creation with
 * the model's rate and the protocol fee snapshotted into the job; at settlement
 * `price = floor(unitsMilli * rate / 1000)`, `fee = floor(price * feeBps / 10000)`, the provider earns `price - fee`,
 * the treasury `fee` and the client `escrow - price`, so the three always add up to the escrow.
 *
 * Payment model: at settlement the fee is credited to the treasury's balance in the escrow, from which anyone can push
 * it to the treasury with {sweepFees} (one transfer for many batches instead of one per batch). The client's remainder
 * and every other amount owed to an account are credited to a withdrawable balance that the account pulls with
 * {withdraw}, so a settlement never calls into client code. A provider's earnings stay pending per batch until the
 * batch's dispute window has passed ({releaseBatches}), then join its withdrawable balance. Cancellations and
 * expiry refunds are transferred to the client directly.
 *
 * Time boundaries (block timestamps, all inclusive/exclusive as stated):
 * - accept and settle are allowed while `block.timestamp <= deadline`; reclaim of an expired job when
 *   `block.timestamp > deadline`. A job is never both settleable and reclaimable.
 * - a batch is disputable while `block.timestamp < releasableAt` and releasable when `block.timestamp >= releasableAt`
 *   (`releasableAt = settlement time + dispute window at settlement`).
 * - an open dispute may be closed by timeout when `block.timestamp >= openedAt + disputeTimeout`; the timeout pays
 *   the held amount to the provider (an unanswered dispute is no finding against a signed, anchored receipt).
 *
 * Exposure: for each provider the escrow keeps `exposure` = escrow of its accepted, unsettled jobs + its settled
 * batches' unreleased payouts + the amounts held by its open disputes. A provider may accept a job only while its
 * exposure after the job stays within the registry's cap (`exposureMultiple x bond`), and the registry refuses to pay
 * out a bond while the exposure is not zero. Settling, releasing, expiring and closing disputes bring it back down,
 * so a provider that stopped accepting (unbonding) still settles, is paid, and then leaves.
 *
 * Disputes cost the client a bond ({disputeBond}, set by the DAO, snapshotted into the dispute): it is returned when
 * the resolution finds for the client in any part (a provider share below 100 % or a slash) and paid to the provider
 * otherwise, including when the dispute times out.
 */
interface IJobEscrow {
    /// @notice Stored status of a job. `Finalized` is never stored: {job} reports it for a settled job whose batch is
    /// past its dispute window.
    enum JobStatus {
        None,
        Open,
        Accepted,
        Settled,
        Finalized,
        Cancelled,
        Expired,
        Disputed,
        Resolved,
        GivenBack
    }

    /// @notice One job as seen from outside.
    /// @param unitsMilli settled units (zero before settlement).
    /// @param price settled price (zero before settlement).
    /// @param batchId the settlement batch (zero before settlement).
    struct JobView {
        JobStatus status;
        uint16 modelId;
        address client;
        address provider;
        uint256 rate;
        uint16 feeBps;
        uint64 maxUnitsMilli;
        uint256 escrow;
        uint40 deadline;
        uint64 unitsMilli;
        uint256 price;
        uint40 batchId;
    }

    /// @notice One job order for {createJobs}.
    struct JobRequest {
        uint16 modelId;
        uint64 maxUnitsMilli;
        address provider;
        uint40 deadline;
        bytes prompt;
    }

    /// @notice A settlement batch. Every field is what {settleBatch} recorded: `count` is the number of records it
    /// settled, `submitter` the provider that settled them. Plain anchors are not batches (see {plainAnchor}).
    /// @param settlement always true (kept so that readers can tell this view from a plain anchor's).
    /// @param payout provider earnings of the batch not yet released.
    /// @param releasableAt first timestamp at which the payout can be released.
    struct BatchView {
        uint256 id;
        bytes32 root;
        address submitter;
        uint24 count;
        uint40 timestamp;
        bool settlement;
        uint128 payout;
        uint40 releasableAt;
        bool released;
    }

    /// @notice Fields of a receipt leaf; the leaf binds them to this chain and this escrow.
    struct ReceiptLeaf {
        uint256 jobId;
        address provider;
        uint64 unitsMilli;
        uint256 price;
        bytes32 receiptHash;
    }

    // --------------------------------------------------------------------------------------------------- errors ---

    /// @notice Thrown when the model is unknown or disabled.
    error JobEscrowModelNotEnabled(uint16 modelId);
    /// @notice Thrown when `maxUnitsMilli` is zero or above {MAX_UNITS_MILLI}.
    error JobEscrowInvalidMaxUnits(uint256 maxUnitsMilli);
    /// @notice Thrown when `deadline` is not in the future or further ahead than the maximum deadline delay.
    error JobEscrowInvalidDeadline(uint256 deadline, uint256 latest);
    /// @notice Thrown when a job is addressed to `provider` but it cannot serve the model right now.
    error JobEscrowProviderCannotServe(address provider, uint16 modelId);
    /// @notice Thrown when the prompt is longer than {MAX_PROMPT_BYTES}.
    error JobEscrowPromptTooLong(uint256 length, uint256 maxLength);
    /// @notice Thrown by {createJobs} for an empty list.
    error JobEscrowEmptyRequest();
    /// @notice Thrown when job `jobId` does not exist.
    error JobEscrowUnknownJob(uint256 jobId);
    /// @notice Thrown when job `jobId` is in `status` and the action needs another status.
    error JobEscrowUnexpectedStatus(uint256 jobId, JobStatus status);
    /// @notice Thrown when `caller` is not the job's client.
    error JobEscrowNotClient(uint256 jobId, address caller);
    /// @notice Thrown when `caller` is not the job's provider.
    error JobEscrowNotProvider(uint256 jobId, address caller);
    /// @notice Thrown when accepting or settling after the deadline (`block.timestamp > deadline`).
    error JobEscrowDeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice Thrown when reclaiming before the deadline has passed (`block.timestamp <= deadline`).
    error JobEscrowDeadlineNotPassed(uint256 jobId, uint256 deadline);
    /// @notice Thrown when settling zero units or more than the job's maximum.
    error JobEscrowInvalidUnits(uint256 jobId, uint256 unitsMilli, uint256 maxUnitsMilli);
    /// @notice Thrown when the settlement calldata is empty, not a multiple of 46 bytes or longer than
    /// {MAX_BATCH_SIZE} records.
    error JobEscrowInvalidBatchLength(uint256 length);
    /// @notice Thrown when record `index` does not have a leaf hash strictly above the previous record's.
    error JobEscrowLeavesNotSorted(uint256 index);
    /// @notice Thrown when a settlement root is already recorded (as batch `batchId`). Settlement leaves bind the
    /// settling provider and each job settles once, so this cannot happen to an honest batch.
    error JobEscrowRootAlreadyAnchored(bytes32 root, uint256 batchId);
    /// @notice Thrown by {anchorRoot} when `submitter` already anchored `root` as a plain anchor.
    error JobEscrowPlainAnchorExists(address submitter, bytes32 root);
    /// @notice Thrown when accepting would bring `provider`'s exposure to `exposure`, above its `cap`
    /// (`exposureMultiple x bond` in the registry); settle, or add to the bond, first.
    error JobEscrowExposureCapExceeded(address provider, uint256 exposure, uint256 cap);
    /// @notice Thrown by {anchorRoot} for a zero root or a count of zero or above {MAX_BATCH_SIZE}.
    error JobEscrowInvalidAnchor(bytes32 root, uint256 count);
    /// @notice Thrown when `caller` must be an active registered provider and is not.
    error JobEscrowNotActiveProvider(address caller);
    /// @notice Thrown when batch `batchId` does not exist or is not a settlement batch.
    error JobEscrowUnknownBatch(uint256 batchId);
    /// @notice Thrown when a dispute is opened at or after `releasableAt`.
    error JobEscrowDisputeWindowClosed(uint256 jobId, uint256 releasableAt);
    /// @notice Thrown when a batch is released before `releasableAt`.
    error JobEscrowDisputeWindowOpen(uint256 batchId, uint256 releasableAt);
    /// @notice Thrown when a dispute is closed by timeout before `timesOutAt`.
    error JobEscrowDisputeNotTimedOut(uint256 jobId, uint256 timesOutAt);
    /// @notice Thrown when a basis-point share is above 10,000.
    error JobEscrowInvalidShare(uint256 shareBps);
    /// @notice Thrown by {withdraw} when the caller has nothing to withdraw.
    error JobEscrowNothingToWithdraw(address account);
    /// @notice Thrown when a parameter setter gets `value` outside [`min`, `max`].
    error JobEscrowParameterOutOfBounds(bytes32 parameter, uint256 value, uint256 min, uint256 max);
    /// @notice Thrown by the constructor for a zero address.
    error JobEscrowZeroAddress();
    /// @notice Thrown when a guarded function is entered again during its own execution.
    error JobEscrowReentrantCall();
    /// @notice Thrown by {batch} for a root that is not anchored.
    error JobEscrowUnknownRoot(bytes32 root);
    /// @notice Thrown when an account's withdrawable balance would not fit its 96-bit slot.
    error JobEscrowBalanceOverflow(address account);

    // --------------------------------------------------------------------------------------------------- events ---

    /// @notice Emitted for every new job. The prompt lives only here and in calldata; `inputHash = keccak256(prompt)`.
    event JobCreated(
        uint256 indexed jobId,
        address indexed client,
        address indexed provider,
        uint16 modelId,
        uint64 maxUnitsMilli,
        uint256 rate,
        uint256 escrow,
        uint40 deadline,
        bytes32 inputHash,
        bytes prompt
    );
    /// @notice Emitted when `provider` accepts `jobId`.
    event JobAccepted(uint256 indexed jobId, address indexed provider);
    /// @notice Emitted when the client cancels an open job; `refund` (the whole escrow) is transferred back.
    event JobCancelled(uint256 indexed jobId, address indexed client, uint256 refund);
    /// @notice Emitted when an unsettled job past its deadline is reclaimed; `refund` is transferred to the client.
    event JobExpired(uint256 indexed jobId, address indexed client, uint256 refund);
    /// @notice Emitted when the provider gives back an accepted job it cannot run; `refund` (the whole escrow) is
    /// transferred to the client at once.
    event JobGivenBack(uint256 indexed jobId, address indexed provider, address indexed client, uint256 refund);
    /// @notice Emitted once per settlement batch, after its {RootAnchored} (which carries the count). There is no
    /// per-job event: the jobs, units and receipt hashes are the 46-byte records of the transaction's calldata, and
    /// {job} reports each job's settlement.
    /// @param fee credited to the treasury's balance, see {sweepFees}.
    event BatchSettled(
        uint256 indexed batchId,
        address indexed provider,
        bytes32 indexed root,
        uint256 providerAmount,
        uint256 fee,
        uint256 refunds
    );
    /// @notice Emitted when accrued protocol fees are transferred to the treasury.
    event FeesSwept(address indexed treasury, uint256 amount);
    /// @notice Emitted for every settlement root, by {settleBatch} only; `count` is the number of records settled.
    event RootAnchored(uint256 indexed batchId, bytes32 indexed root, address indexed submitter, uint256 count);
    /// @notice Emitted by {anchorRoot}: a plain anchor, which settles and proves nothing. `claimedCount` is the
    /// submitter's unverified claim.
    event PlainRootAnchored(address indexed submitter, bytes32 indexed root, uint256 claimedCount);
    /// @notice Emitted when a batch's pending provider earnings join the provider's withdrawable balance.
    event BatchReleased(uint256 indexed batchId, address indexed provider, uint256 amount);
    /// @notice Emitted when the client disputes `jobId`; `held` of the provider's earnings is set aside and the
    /// client pays the dispute `bond`.
    event JobDisputed(uint256 indexed jobId, address indexed client, uint256 held, uint256 bond);
    /// @notice Emitted when the dispute bond of `jobId` is credited to `recipient` (client if it won, else provider).
    event DisputeBondPaid(uint256 indexed jobId, address indexed recipient, uint256 amount);
    /// @notice Emitted when {resolveDispute} finds the dispute already closed (by timeout) and leaves it as it is.
    event DisputeResolutionSkipped(uint256 indexed jobId);
    /// @notice Emitted when the arbiter resolves a dispute.
    event DisputeResolved(uint256 indexed jobId, uint256 providerAmount, uint256 clientAmount, uint256 slashed);
    /// @notice Emitted when an unresolved dispute is closed by timeout, paying `providerAmount` to the provider.
    event DisputeTimedOut(uint256 indexed jobId, uint256 providerAmount);
    /// @notice Emitted when `account` withdraws `amount`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when a governed parameter changes.
    event ParameterUpdated(bytes32 indexed parameter, uint256 oldValue, uint256 newValue);

    // ------------------------------------------------------------------------------------------------ functions ---

    /// @notice Creates a job and pulls its escrow with transferFrom (approve first).
    /// @param provider the only provider allowed to accept, or zero for any provider serving the model.
    /// @param deadline last timestamp at which the job may be accepted or settled.
    function createJob(uint16 modelId, uint64 maxUnitsMilli, address provider, uint40 deadline, bytes calldata prompt)
        external
        returns (uint256 jobId);

    /// @notice {createJob} preceded by an EIP-2612 permit. The permit is attempted and its failure ignored, so a
    /// permit front-run by a third party (which consumes the signature) does not make the creation fail.
    function createJobWithPermit(
        uint16 modelId,
        uint64 maxUnitsMilli,
        address provider,
        uint40 deadline,
        bytes calldata prompt,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /// @notice Creates several jobs with one token transfer for their summed escrow.
    /// @return firstJobId the id of the first job; the others follow consecutively.
    function createJobs(JobRequest[] calldata requests) external returns (uint256 firstJobId);

    /// @notice Accepts an open job; the caller must be allowed to serve it and the deadline not passed.
    function acceptJob(uint256 jobId) external;

    /// @notice {acceptJob} for each id.
    function acceptJobs(uint256[] calldata jobIds) external;

    /// @notice Client only, `Open` only: cancels and refunds the whole escrow.
    function cancelJob(uint256 jobId) external;

    /// @notice Refunds the whole escrow of an `Open` or `Accepted` job whose deadline has passed. Anyone may call; the
    /// refund always goes to the client.
    function reclaimExpired(uint256 jobId) external;

    /// @notice The accepting provider gives back an `Accepted` job it cannot run (its runtime is down, the job keeps
    /// failing): the whole escrow goes back to the client now, not at the deadline, and the provider's exposure drops
    /// by the same amount. Nothing is charged and nothing is slashed; the job ends as `GivenBack`.
    function giveBackJob(uint256 jobId) external;

    /// @notice Settles the caller's jobs and anchors the receipt root in one transaction.
    /// @param items 46-byte records `uint48 jobId | uint64 unitsMilli | bytes32 receiptHash`, ordered by strictly
    /// ascending leaf hash.
    function settleBatch(bytes calldata items) external returns (uint256 batchId, bytes32 root);

    /// @notice Records a plain anchor: a root the caller vouches for (e.g. receipts of work settled elsewhere), with
    /// a record count it claims. Active registered providers only. Plain anchors live in the submitter's own
    /// namespace, apart from settlement roots: they can neither pre-empt a settlement nor make a receipt verify
    /// (see {verifyReceiptInclusion}), and `claimedCount` is never checked.
    function anchorRoot(bytes32 root, uint256 claimedCount) external;

    /// @notice Moves the pending earnings of each settlement batch whose dispute window has passed to its provider's
    /// withdrawable balance. Anyone may call; already released batches are skipped.
    function releaseBatches(uint256[] calldata batchIds) external;

    /// @notice Client only: disputes a settled job while its batch's window is open, holding the provider's earnings.
    function dispute(uint256 jobId) external;

    /// @notice Arbiter (owner, the timelock) only: gives `providerShareBps` of the held amount to the provider and the
    /// rest to the client, and slashes up to `slashAmount` of the provider's bond to the treasury. The dispute bond
    /// returns to the client unless the provider gets everything and nothing is slashed. A dispute already closed by
    /// timeout is skipped ({DisputeResolutionSkipped}), so one proposal may resolve several disputes safely.
    function resolveDispute(uint256 jobId, uint256 providerShareBps, uint256 slashAmount) external;

    /// @notice Closes a dispute left unresolved for the dispute timeout: the held amount goes to the provider.
    function closeTimedOutDispute(uint256 jobId) external;

    /// @notice Transfers the caller's whole withdrawable balance to it.
    function withdraw() external returns (uint256 amount);

    /// @notice Transfers the protocol fees accrued since the last sweep to the treasury. Anyone may call.
    function sweepFees() external returns (uint256 amount);

    /// @notice Owner only: protocol fee in basis points, at most {MAX_FEE_BPS}.
    function setFeeBps(uint256 feeBps) external;

    /// @notice Owner only: dispute window in seconds, within [{MIN_DISPUTE_WINDOW}, {MAX_DISPUTE_WINDOW}].
    function setDisputeWindow(uint256 window) external;

    /// @notice Owner only: dispute timeout in seconds, within [{MIN_DISPUTE_TIMEOUT}, {MAX_DISPUTE_TIMEOUT}].
    function setDisputeTimeout(uint256 timeout) external;

    /// @notice Owner only: largest `deadline - block.timestamp` a new job may have, within
    /// [{MIN_DEADLINE_DELAY}, {MAX_DEADLINE_DELAY}].
    function setMaxDeadlineDelay(uint256 delay) external;

    /// @notice Owner only: the bond a client pays to open a dispute, at most {MAX_DISPUTE_BOND} (zero disables it).
    function setDisputeBond(uint256 bond) external;

    /// @notice The job `jobId`. Reverts with {JobEscrowUnknownJob} if it does not exist.
    function job(uint256 jobId) external view returns (JobView memory);

    /// @notice The settlement batch of `root`. Reverts with {JobEscrowUnknownRoot} if no settlement has that root
    /// (plain anchors included: see {plainAnchor}).
    /// @dev Batches are looked up by root (roots are what receipts carry); `RootAnchored` events map ids to roots.
    function batch(bytes32 root) external view returns (BatchView memory);

    /// @notice Provider payout of settlement batch `batchId`. Reverts with {JobEscrowUnknownBatch} if it is not one.
    function payoutOf(uint256 batchId)
        external
        view
        returns (address provider, uint256 amount, uint256 releasableAt, bool released);

    /// @notice The plain anchor of `root` by `submitter`: when it was made (zero if never) and the count it claims.
    function plainAnchor(address submitter, bytes32 root)
        external
        view
        returns (uint256 timestamp, uint256 claimedCount);

    /// @notice Held amount, opening time and dispute bond of the dispute on `jobId` (zero if none).
    function disputeOf(uint256 jobId) external view returns (uint256 held, uint256 openedAt, uint256 bond);

    /// @notice The exposure of `provider` (see the contract notes); its bond cannot be withdrawn while it is not zero.
    function exposureOf(address provider) external view returns (uint256);

    /// @notice Number of jobs `provider` has settled.
    function jobsSettledOf(address provider) external view returns (uint256);

    /// @notice The current dispute bond.
    function disputeBond() external view returns (uint256);

    /// @notice Withdrawable balance of `account`.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The StandardMerkleTree leaf of a receipt, bound to this chain and this escrow.
    function receiptLeaf(ReceiptLeaf calldata leaf) external view returns (bytes32);

    /// @notice Whether the receipt was settled as signed: `root` is the settlement root of the batch in which job
    /// `leaf.jobId` settled, by `leaf.provider`, for `leaf.unitsMilli` and `leaf.price`, and `proof` proves the leaf
    /// (which also binds `leaf.receiptHash`) under it. Plain anchors never verify.
    function verifyReceiptInclusion(bytes32 root, ReceiptLeaf calldata leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice Escrow required for a job of `maxUnitsMilli` on `modelId` at today's rate.
    function quote(uint16 modelId, uint64 maxUnitsMilli) external view returns (uint256 escrow);

    /// @notice Current parameters.
    function parameters()
        external
        view
        returns (uint256 feeBps, uint256 disputeWindow, uint256 disputeTimeout, uint256 maxDeadlineDelay);

    /// @notice Number of jobs and batches created so far.
    function counters() external view returns (uint256 jobs, uint256 batches);
}
