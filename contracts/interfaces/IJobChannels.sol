// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title IJobChannels
 * @notice The channel job mode: prepaid channels from a client to one provider, paid with cumulative vouchers.
 * It runs side by side with {IJobEscrow} and shares its rate card, its provider registry and its receipt leaf.
 *
 * Channels: a channel is the pair (client, provider). Its funds are segregated: a voucher for provider A can only ever
 * draw on the (client, A) channel, so a client cannot promise the same tokens to two providers. Anyone may deposit
 * into a channel for a client ({deposit}); only the client can take the funds back, and only through a withdrawal
 * request that takes effect {withdrawalDelay} seconds later.
 *
 * Jobs: a job request is EIP-712 typed data signed by the client ({JobRequest}) and handed to the provider's relayer
 * off-chain. There is no create or accept transaction and no per-job storage slot.
 *
 * Payment: the client signs cumulative vouchers ({Voucher}: "I owe provider P a total of X on this channel"). The
 * provider redeems the newest voucher of each client in a {claim}: per client one signature check and one write of
 * the channel slot, whatever the number of jobs the voucher covers. Of each claim's total, `fee =
 * floor(total * feeBps / 10000)` is credited to the treasury and `total - fee` to the provider's withdrawable
 * balance. Vouchers are final: the client signed the amount.
 *
 * Fallback: for a served job the client did not pay with a voucher, the provider proves the signed request and the
 * inclusion of its receipt leaf under a root it anchored by the request's deadline ({claimUnvouched}). The charge is
 * `min(price, floor(unitsMilli * rate / 1000))` with `unitsMilli <= maxUnitsMilli` and today's rate from the rate
 * card; it leaves the channel at once, the fee goes to the treasury and the rest is held for {disputeWindow}, during
 * which the client may dispute it to the DAO (paying {disputeBond}). Each request can be claimed this way once.
 *
 * Time boundaries (block timestamps):
 * - claims on a channel are allowed while no withdrawal is pending or `block.timestamp < closesAt`; the client's
 *   {withdrawChannel} only when `block.timestamp >= closesAt`. A channel is never both claimable and withdrawable,
 *   so it cannot be closed under a claim made before `closesAt`.
 * - a fallback claim is disputable while `block.timestamp < releasableAt` and releasable from `releasableAt` on.
 * - an open dispute may be closed by timeout when `block.timestamp >= openedAt + disputeTimeout`; the held amount
 *   then goes to the provider (an unanswered dispute is no finding against a signed request and an anchored receipt).
 *
 * Conservation: `token.balanceOf(this) == Σ channel balances + Σ amounts held by fallback claims + Σ dispute bonds
 * of open disputes + Σ withdrawable balances + accrued fees`.
 */
interface IJobChannels {
    /// @notice A job request, signed by `client` as EIP-712 typed data (primary type `JobRequest`).
    /// @param requestId the request's position in the channel: the client numbers its requests to this provider 1, 2,
    /// 3, … and never reuses a number; a voucher pays for every request up to a position (`coveredThrough`).
    /// @param deadline last timestamp at which the receipt may be anchored.
    /// @param inputHash binds the prompt (or its envelope), as the receipt's `input_hash`.
    struct JobRequest {
        address client;
        address provider;
        uint256 requestId;
        uint16 modelId;
        uint64 maxUnitsMilli;
        uint40 deadline;
        bytes32 inputHash;
    }

    /// @notice One client's newest voucher in a {claim}: EIP-712 `Voucher(client, provider = caller, cumulativeAmount,
    /// coveredThrough)` signed by `client` (an EOA signature, or ERC-1271 for a contract client). It says: "for every
    /// request of this channel numbered up to `coveredThrough`, I owe `cumulativeAmount` in all". A request a voucher
    /// covers can never be claimed through the fallback, so no job is paid twice.
    struct SignedVoucher {
        address client;
        uint256 cumulativeAmount;
        uint256 coveredThrough;
        bytes signature;
    }

    /// @notice A fallback claim: the signed request and the receipt leaf fields with their inclusion proof.
    /// @param price the price written in the receipt; the charge is at most this and at most `unitsMilli x rate`.
    /// @param root a root the caller anchored at or before `request.deadline`.
    struct UnvouchedClaim {
        JobRequest request;
        bytes requestSignature;
        uint64 unitsMilli;
        uint256 price;
        bytes32 receiptHash;
        bytes32 root;
        bytes32[] proof;
    }

    /// @notice A channel as seen from outside.
    /// @param balance tokens in the channel not yet claimed.
    /// @param spent the largest cumulative voucher amount redeemed so far (never decreases, survives closing).
    /// @param closesAt zero, or the time at which the pending withdrawal takes effect.
    struct ChannelView {
        uint256 balance;
        uint256 spent;
        uint256 closesAt;
        uint256 coveredThrough;
    }

    /// @notice Status of a fallback claim.
    enum ClaimStatus {
        None,
        Held,
        Disputed,
        Released,
        Resolved
    }

    /// @notice A fallback claim as seen from outside.
    /// @param held the provider's part still held (the fee was credited at claim time).
    /// @param bond the client's dispute bond while a dispute is open.
    struct ClaimView {
        ClaimStatus status;
        address client;
        address provider;
        uint256 held;
        uint256 releasableAt;
        uint256 disputedAt;
        uint256 bond;
    }

    // --------------------------------------------------------------------------------------------------- errors ---

    /// @notice Thrown by the constructor for a zero address.
    error JobChannelsZeroAddress();
    /// @notice Thrown by {deposit} for a zero amount.
    error JobChannelsZeroAmount();
    /// @notice Thrown by {deposit} when `provider` is not an active registered provider, and by {claim},
    /// {claimUnvouched} and {anchorRoot} when the caller never registered.
    error JobChannelsNotProvider(address account);
    /// @notice Thrown when a channel's lifetime total (balance + spent) would not fit 88 bits (about 309 million
    /// tokens).
    error JobChannelsAmountOverflow(uint256 amount);
    /// @notice Thrown by {claim} for no vouchers or more than {MAX_VOUCHERS}.
    error JobChannelsInvalidVoucherCount(uint256 count);
    /// @notice Thrown when a voucher's cumulative amount is not above what the channel already paid: a replay, an old
    /// voucher, or the same client twice in one claim.
    error JobChannelsVoucherNotAbove(address client, uint256 cumulativeAmount, uint256 spent);
    /// @notice Thrown when a voucher covers fewer requests than the channel's last one, or more than 2^40 - 1.
    error JobChannelsInvalidCoverage(address client, uint256 coveredThrough, uint256 current);
    /// @notice Thrown by {claimUnvouched} for a request a redeemed voucher already covers (it was paid that way).
    error JobChannelsRequestVouched(bytes32 requestDigest, uint256 requestId, uint256 coveredThrough);
    /// @notice Thrown when a voucher is not signed by `client` for this channel, chain and contract.
    error JobChannelsInvalidVoucherSignature(address client);
    /// @notice Thrown when a job request is not signed by `client` for this chain and contract.
    error JobChannelsInvalidRequestSignature(address client);
    /// @notice Thrown when a claim needs `needed` from the (client, provider) channel, which holds `available`.
    error JobChannelsInsufficientBalance(address client, address provider, uint256 needed, uint256 available);
    /// @notice Thrown when claiming on a channel whose withdrawal took effect at `closesAt`.
    error JobChannelsChannelClosed(address client, address provider, uint256 closesAt);
    /// @notice Thrown by {withdrawChannel} and {cancelWithdrawal} when no withdrawal is pending.
    error JobChannelsNoWithdrawalPending(address client, address provider);
    /// @notice Thrown by {requestWithdrawal} when one is already pending, and by {withdrawChannel} before `closesAt`.
    error JobChannelsWithdrawalPending(address client, address provider, uint256 closesAt);
    /// @notice Thrown for a zero root or a count of zero or above {MAX_RECEIPTS_PER_ROOT}.
    error JobChannelsInvalidAnchor(bytes32 root, uint256 count);
    /// @notice Thrown when `provider` already anchored `root`.
    error JobChannelsRootAlreadyAnchored(address provider, bytes32 root);
    /// @notice Thrown by {claimUnvouched} when `provider` never anchored `root`.
    error JobChannelsUnknownRoot(address provider, bytes32 root);
    /// @notice Thrown by {claimUnvouched} when the root was anchored after the request's deadline.
    error JobChannelsAnchoredAfterDeadline(bytes32 root, uint256 anchoredAt, uint256 deadline);
    /// @notice Thrown by {claimUnvouched} when the caller is not the request's provider.
    error JobChannelsNotRequestProvider(address caller, address provider);
    /// @notice Thrown by {claimUnvouched} for zero units or more than the request's maximum.
    error JobChannelsInvalidUnits(uint256 unitsMilli, uint256 maxUnitsMilli);
    /// @notice Thrown by {claimUnvouched} when the model has no rate on the card.
    error JobChannelsModelNotPriced(uint16 modelId);
    /// @notice Thrown by {claimUnvouched} when the proof does not put the receipt leaf under the root.
    error JobChannelsInvalidProof(bytes32 root, bytes32 leaf);
    /// @notice Thrown by {claimUnvouched} for a request that was already claimed through the fallback.
    error JobChannelsRequestAlreadyClaimed(bytes32 requestDigest);
    /// @notice Thrown when `requestDigest` has no fallback claim.
    error JobChannelsUnknownClaim(bytes32 requestDigest);
    /// @notice Thrown when the fallback claim is in `status` and the action needs another.
    error JobChannelsUnexpectedClaimStatus(bytes32 requestDigest, ClaimStatus status);
    /// @notice Thrown by {dispute} when `caller` is not the claim's client.
    error JobChannelsNotClient(bytes32 requestDigest, address caller);
    /// @notice Thrown by {dispute} at or after `releasableAt`.
    error JobChannelsDisputeWindowClosed(bytes32 requestDigest, uint256 releasableAt);
    /// @notice Thrown by {releaseClaims} before `releasableAt`.
    error JobChannelsDisputeWindowOpen(bytes32 requestDigest, uint256 releasableAt);
    /// @notice Thrown by {closeTimedOutDispute} before `timesOutAt`.
    error JobChannelsDisputeNotTimedOut(bytes32 requestDigest, uint256 timesOutAt);
    /// @notice Thrown when a basis-point share is above 10,000.
    error JobChannelsInvalidShare(uint256 shareBps);
    /// @notice Thrown by {withdraw} and {sweepFees} when there is nothing to pay.
    error JobChannelsNothingToWithdraw(address account);
    /// @notice Thrown when a guarded function is entered again during its own execution.
    error JobChannelsReentrantCall();
    /// @notice Thrown when a parameter setter gets `value` outside [`min`, `max`].
    error JobChannelsParameterOutOfBounds(bytes32 parameter, uint256 value, uint256 min, uint256 max);

    // --------------------------------------------------------------------------------------------------- events ---

    /// @notice Emitted when `from` deposits `amount` into the (client, provider) channel, now holding `balance`.
    event ChannelDeposited(
        address indexed client, address indexed provider, address indexed from, uint256 amount, uint256 balance
    );
    /// @notice Emitted when the client asks for its channel's funds; they become withdrawable at `closesAt`.
    event WithdrawalRequested(address indexed client, address indexed provider, uint256 closesAt);
    /// @notice Emitted when the client calls off a pending withdrawal.
    event WithdrawalCancelled(address indexed client, address indexed provider);
    /// @notice Emitted when the client takes `amount`, the channel's whole balance, back.
    event ChannelWithdrawn(address indexed client, address indexed provider, uint256 amount);
    /// @notice Emitted once per {claim}. There is no per-voucher event: the vouchers are the transaction's calldata
    /// and {channel} reports each channel's `spent`.
    /// @param root the receipt root anchored by the claim (zero if none).
    event VouchersClaimed(
        address indexed provider, bytes32 indexed root, uint256 vouchers, uint256 amount, uint256 fee
    );
    /// @notice Emitted for every anchored receipt root; `count` is the provider's claimed number of receipts.
    event RootAnchored(address indexed provider, bytes32 indexed root, uint256 count);
    /// @notice Emitted by {claimUnvouched}: `charged` left the channel, `fee` of it went to the treasury and the
    /// rest is held until `releasableAt`.
    event UnvouchedClaimed(
        bytes32 indexed requestDigest,
        address indexed client,
        address indexed provider,
        uint64 unitsMilli,
        uint256 charged,
        uint256 fee,
        uint256 releasableAt
    );
    /// @notice Emitted when a fallback claim's held amount joins the provider's withdrawable balance.
    event ClaimReleased(bytes32 indexed requestDigest, address indexed provider, uint256 amount);
    /// @notice Emitted when the client disputes a fallback claim, paying `bond`.
    event ClaimDisputed(bytes32 indexed requestDigest, address indexed client, uint256 held, uint256 bond);
    /// @notice Emitted when the arbiter resolves a dispute.
    event DisputeResolved(bytes32 indexed requestDigest, uint256 providerAmount, uint256 clientAmount);
    /// @notice Emitted when {resolveDispute} finds the dispute already closed by timeout.
    event DisputeResolutionSkipped(bytes32 indexed requestDigest);
    /// @notice Emitted when an unresolved dispute is closed by timeout, paying `providerAmount` to the provider.
    event DisputeTimedOut(bytes32 indexed requestDigest, uint256 providerAmount);
    /// @notice Emitted when the dispute bond is credited to `recipient` (the client if it won, else the provider).
    event DisputeBondPaid(bytes32 indexed requestDigest, address indexed recipient, uint256 amount);
    /// @notice Emitted when `account` withdraws `amount`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when accrued protocol fees are transferred to the treasury.
    event FeesSwept(address indexed treasury, uint256 amount);
    /// @notice Emitted when a governed parameter changes.
    event ParameterUpdated(bytes32 indexed parameter, uint256 oldValue, uint256 newValue);

    // ------------------------------------------------------------------------------------------------ functions ---

    /// @notice Pulls `amount` from the caller (approve first) into the (client, provider) channel. `provider` must be
    /// active in the registry. Depositing does not call off a pending withdrawal.
    function deposit(address client, address provider, uint256 amount) external;

    /// @notice Client only: asks for the channel's balance; it becomes withdrawable {withdrawalDelay} seconds from now,
    /// and until then the provider may still claim.
    function requestWithdrawal(address provider) external;

    /// @notice Client only: calls off a pending withdrawal.
    function cancelWithdrawal(address provider) external;

    /// @notice Client only, from `closesAt` on: transfers the channel's whole balance to the client and leaves the
    /// channel open again (its `spent` stays, so no old voucher ever counts again).
    function withdrawChannel(address provider) external returns (uint256 amount);

    /// @notice Redeems one voucher per client on the caller's channels and anchors `root` (skipped when zero) with
    /// `receiptCount` receipts. Each voucher pays `cumulativeAmount - spent` out of its channel (fallback charges count
    /// in `spent`, so a voucher that later covers a fallback-claimed request does not pay it again).
    /// WARNING: the whole claim reverts if one voucher fails; check {channel} for every client first.
    function claim(bytes32 root, uint256 receiptCount, SignedVoucher[] calldata vouchers)
        external
        returns (uint256 amount);

    /// @notice Anchors a receipt root in the caller's namespace without claiming (for the fallback path).
    function anchorRoot(bytes32 root, uint256 receiptCount) external;

    /// @notice The fallback claim for a served job without a voucher; see the contract notes. The caller must be the
    /// request's provider.
    function claimUnvouched(UnvouchedClaim calldata c) external returns (bytes32 requestDigest, uint256 charged);

    /// @notice Moves the held amount of each fallback claim past its dispute window to its provider's withdrawable
    /// balance. Anyone may call; released claims are skipped.
    function releaseClaims(bytes32[] calldata requestDigests) external;

    /// @notice Client only: disputes a held fallback claim inside its window, paying {disputeBond}.
    function dispute(bytes32 requestDigest) external;

    /// @notice Arbiter (owner, the timelock) only: gives `providerShareBps` of the held amount to the provider and the
    /// rest to the client. The bond returns to the client unless the provider gets everything. A dispute already
    /// closed by timeout is skipped ({DisputeResolutionSkipped}).
    function resolveDispute(bytes32 requestDigest, uint256 providerShareBps) external;

    /// @notice Closes a dispute left unresolved for {disputeTimeout}: the held amount and the bond go to the provider.
    function closeTimedOutDispute(bytes32 requestDigest) external;

    /// @notice Transfers the caller's whole withdrawable balance (provider earnings, dispute refunds) to it.
    function withdraw() external returns (uint256 amount);

    /// @notice Transfers the accrued protocol fees to the treasury. Anyone may call.
    function sweepFees() external returns (uint256 amount);

    /// @notice Owner only: protocol fee in basis points, at most {MAX_FEE_BPS}. Applies to claims made from then on.
    function setFeeBps(uint256 feeBps) external;

    /// @notice Owner only: dispute window of fallback claims, within [{MIN_DISPUTE_WINDOW}, {MAX_DISPUTE_WINDOW}].
    function setDisputeWindow(uint256 window) external;

    /// @notice Owner only: dispute timeout, within [{MIN_DISPUTE_TIMEOUT}, {MAX_DISPUTE_TIMEOUT}].
    function setDisputeTimeout(uint256 timeout) external;

    /// @notice Owner only: delay between {requestWithdrawal} and {withdrawChannel}, within
    /// [{MIN_WITHDRAWAL_DELAY}, {MAX_WITHDRAWAL_DELAY}]. Applies to requests made from then on.
    function setWithdrawalDelay(uint256 delay) external;

    /// @notice Owner only: the bond a client pays to dispute, at most {MAX_DISPUTE_BOND} (zero disables it).
    function setDisputeBond(uint256 bond) external;

    /// @notice The (client, provider) channel.
    function channel(address client, address provider) external view returns (ChannelView memory);

    /// @notice The fallback claim of `requestDigest` (status `None` if there is none).
    function claimOf(bytes32 requestDigest) external view returns (ClaimView memory);

    /// @notice When `provider` anchored `root` (zero if never) and the receipt count it declared.
    function anchorOf(address provider, bytes32 root) external view returns (uint256 timestamp, uint256 count);

    /// @notice Withdrawable balance of `account`.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Protocol fees accrued and not yet swept.
    function accruedFees() external view returns (uint256);

    /// @notice The EIP-712 digest the client signs for `request`; also the job's id in its receipt leaf.
    function requestDigest(JobRequest calldata request) external view returns (bytes32);

    /// @notice The EIP-712 digest the client signs for a voucher.
    function voucherDigest(address client, address provider, uint256 cumulativeAmount, uint256 coveredThrough)
        external
        view
        returns (bytes32);

    /// @notice The receipt leaf of a channel job: {IJobEscrow-receiptLeaf}'s encoding with this contract as the
    /// escrow and `uint256(requestDigest)` as the job id.
    function receiptLeaf(bytes32 requestDigest, address provider, uint64 unitsMilli, uint256 price, bytes32 receiptHash)
        external
        view
        returns (bytes32);

    /// @notice Current parameters.
    function parameters()
        external
        view
        returns (
            uint256 feeBps,
            uint256 disputeWindow,
            uint256 disputeTimeout,
            uint256 withdrawalDelay,
            uint256 disputeBond
        );
}
