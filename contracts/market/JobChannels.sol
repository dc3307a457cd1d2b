// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IJobChannels} from "../interfaces/IJobChannels.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ReceiptMerkle} from "../receipts/ReceiptMerkle.sol";

/**
 * @title JobChannels
 * @notice Prepaid client-to-provider channels paid with cumulative EIP-712 vouchers. See {IJobChannels} for the money
 * rules, the time boundaries and the fallback path.
 *
 * Storage is shaped for {claim}: a channel is ONE slot (balance, spent, closesAt, coveredThrough), so redeeming a
 * client's voucher is one cold read, one signature recovery and one write, whatever the number of jobs it pays for.
 * The provider's earnings and the treasury's fees are summed in memory and written once per claim.
 *
 * The owner is the DAO timelock: it sets the parameters and arbitrates disputes of fallback claims. Channel disputes
 * cannot slash a bond: the registry lets only the escrow slash (see docs/CHANNELS.md).
 */
contract JobChannels is IJobChannels, EIP712, Ownable {
    using SafeERC20 for IERC20;

    /// @notice Largest protocol fee the DAO may set: 20 % (as the escrow).
    uint256 public constant MAX_FEE_BPS = 2_000;
    /// @notice Dispute window bounds (fallback claims).
    uint256 public constant MIN_DISPUTE_WINDOW = 1 minutes;
    uint256 public constant MAX_DISPUTE_WINDOW = 30 days;
    /// @notice Dispute timeout bounds.
    uint256 public constant MIN_DISPUTE_TIMEOUT = 1 minutes;
    uint256 public constant MAX_DISPUTE_TIMEOUT = 180 days;
    /// @notice Withdrawal delay bounds. The floor leaves a provider at least an hour to claim what it served.
    uint256 public constant MIN_WITHDRAWAL_DELAY = 1 hours;
    uint256 public constant MAX_WITHDRAWAL_DELAY = 90 days;
    /// @notice Largest dispute bond the DAO may set.
    uint256 public constant MAX_DISPUTE_BOND = 1e6 ether;
    /// @notice Largest number of vouchers in one claim.
    uint256 public constant MAX_VOUCHERS = 1_024;
    /// @notice Largest receipt count an anchor may declare.
    uint256 public constant MAX_RECEIPTS_PER_ROOT = type(uint24).max;

    /// @notice EIP-712 type of a job request.
    bytes32 public constant JOB_REQUEST_TYPEHASH = keccak256(
        "JobRequest(address client,address provider,uint256 requestId,uint16 modelId,uint64 maxUnitsMilli,"
        "uint40 deadline,bytes32 inputHash)"
    );
    /// @notice EIP-712 type of a voucher.
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(address client,address provider,uint256 cumulativeAmount,uint256 coveredThrough)");

    bytes32 private constant _FEE_BPS = "feeBps";
    bytes32 private constant _DISPUTE_WINDOW = "disputeWindow";
    bytes32 private constant _DISPUTE_TIMEOUT = "disputeTimeout";
    bytes32 private constant _WITHDRAWAL_DELAY = "withdrawalDelay";
    bytes32 private constant _DISPUTE_BOND = "disputeBond";
    uint256 private constant _BPS = 10_000;
    uint256 private constant _MILLI = 1_000;

    /// @dev One slot. `balance + spent` never exceeds 2^88 - 1 (checked at deposit), so neither can overflow.
    /// `coveredThrough`: the highest request position a redeemed voucher paid for.
    struct Channel {
        uint88 balance;
        uint88 spent;
        uint40 closesAt;
        uint40 coveredThrough;
    }

    /// @dev Parameters, one slot.
    struct Config {
        uint16 feeBps;
        uint32 disputeWindow;
        uint32 disputeTimeout;
        uint32 withdrawalDelay;
        uint96 disputeBond;
    }

    struct Anchor {
        uint40 timestamp;
        uint24 count;
    }

    struct Claim {
        address provider;
        uint96 held;
        address client;
        uint40 releasableAt;
        uint40 disputedAt;
        ClaimStatus status;
        uint96 bond;
    }

    /// @notice Initial governed parameters.
    struct Params {
        uint256 feeBps;
        uint256 disputeWindow;
        uint256 disputeTimeout;
        uint256 withdrawalDelay;
        uint256 disputeBond;
    }

    /// @notice The payment token (AITBC).
    IERC20 public immutable token;
    /// @notice The rate card (fallback claims price at its rate).
    IModelRegistry public immutable models;
    /// @notice The provider registry.
    IProviderRegistry public immutable providers;
    /// @notice Receives protocol fees (the DAO timelock).
    address public immutable treasury;

    bool private transient _entered;
    Config private _config;
    uint256 private _fees;
    mapping(address client => mapping(address provider => Channel)) private _channels;
    mapping(address account => uint256) private _balances;
    mapping(address provider => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(bytes32 requestDigest => Claim) private _claims;

    /// @dev A transient-storage lock (as the escrow's): no deposit, claim or withdrawal may be re-entered through a
    /// token hook. A plain `transient` variable rather than OpenZeppelin's ReentrancyGuardTransient, whose inline
    /// `tstore` makes every build print the compiler's transient-storage warning.
    modifier nonReentrant() {
        if (_entered) revert JobChannelsReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }

    constructor(
        IERC20 token_,
        IModelRegistry models_,
        IProviderRegistry providers_,
        address treasury_,
        address owner_,
        Params memory params
    ) EIP712("AITBC JobChannels", "1") Ownable(owner_) {
        if (
            address(token_) == address(0) || address(models_) == address(0) || address(providers_) == address(0)
                || treasury_ == address(0)
        ) revert JobChannelsZeroAddress();
        token = token_;
        models = models_;
        providers = providers_;
        treasury = treasury_;
        _setFeeBps(params.feeBps);
        _setDisputeWindow(params.disputeWindow);
        _setDisputeTimeout(params.disputeTimeout);
        _setWithdrawalDelay(params.withdrawalDelay);
        _setDisputeBond(params.disputeBond);
    }

    // ------------------------------------------------------------------------------------------------ channels ---

    /// @inheritdoc IJobChannels
    function deposit(address client, address provider, uint256 amount) external nonReentrant {
        if (client == address(0)) revert JobChannelsZeroAddress();
        if (amount == 0) revert JobChannelsZeroAmount();
        if (!providers.isActive(provider)) revert JobChannelsNotProvider(provider);
        Channel memory c = _channels[client][provider];
        uint256 lifetime = uint256(c.balance) + c.spent + amount;
        if (lifetime > type(uint88).max) revert JobChannelsAmountOverflow(lifetime);
        uint256 balance = uint256(c.balance) + amount;
        _channels[client][provider].balance = uint88(balance);
        emit ChannelDeposited(client, provider, msg.sender, amount, balance);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IJobChannels
    function requestWithdrawal(address provider) external {
        Channel storage c = _channels[msg.sender][provider];
        if (c.closesAt != 0) revert JobChannelsWithdrawalPending(msg.sender, provider, c.closesAt);
        uint256 closesAt = block.timestamp + _config.withdrawalDelay;
        c.closesAt = uint40(closesAt);
        emit WithdrawalRequested(msg.sender, provider, closesAt);
    }

    /// @inheritdoc IJobChannels
    function cancelWithdrawal(address provider) external {
        Channel storage c = _channels[msg.sender][provider];
        if (c.closesAt == 0) revert JobChannelsNoWithdrawalPending(msg.sender, provider);
        c.closesAt = 0;
        emit WithdrawalCancelled(msg.sender, provider);
    }

    /// @inheritdoc IJobChannels
    function withdrawChannel(address provider) external nonReentrant returns (uint256 amount) {
        Channel storage c = _channels[msg.sender][provider];
        uint256 closesAt = c.closesAt;
        if (closesAt == 0) revert JobChannelsNoWithdrawalPending(msg.sender, provider);
        if (block.timestamp < closesAt) revert JobChannelsWithdrawalPending(msg.sender, provider, closesAt);
        amount = c.balance;
        c.balance = 0;
        c.closesAt = 0;
        emit ChannelWithdrawn(msg.sender, provider, amount);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    // -------------------------------------------------------------------------------------------------- claims ---

    /// @inheritdoc IJobChannels
    function claim(bytes32 root, uint256 receiptCount, SignedVoucher[] calldata vouchers)
        external
        nonReentrant
        returns (uint256 amount)
    {
        uint256 n = vouchers.length;
        if (n == 0 || n > MAX_VOUCHERS) revert JobChannelsInvalidVoucherCount(n);
        _requireRegistered(msg.sender);
        if (root != 0) _anchor(root, receiptCount);
        for (uint256 i = 0; i < n; ++i) {
            amount += _redeem(vouchers[i]);
        }
        // Cannot overflow: amount is a sum of channel balances, each below 2^96, over at most MAX_VOUCHERS vouchers.
        uint256 fee = (amount * _config.feeBps) / _BPS;
        if (fee != 0) _fees += fee;
        _balances[msg.sender] += amount - fee;
        emit VouchersClaimed(msg.sender, root, n, amount, fee);
    }

    /// @inheritdoc IJobChannels
    function anchorRoot(bytes32 root, uint256 receiptCount) external {
        _requireRegistered(msg.sender);
        _anchor(root, receiptCount);
    }

    /// @inheritdoc IJobChannels
    function claimUnvouched(UnvouchedClaim calldata c)
        external
        nonReentrant
        returns (bytes32 digest, uint256 charged)
    {
        JobRequest calldata r = c.request;
        if (msg.sender != r.provider) revert JobChannelsNotRequestProvider(msg.sender, r.provider);
        _requireRegistered(msg.sender);
        digest = _requestDigest(r);
        if (_claims[digest].status != ClaimStatus.None) revert JobChannelsRequestAlreadyClaimed(digest);
        if (!_isValidSignature(r.client, digest, c.requestSignature)) {
            revert JobChannelsInvalidRequestSignature(r.client);
        }
        if (c.unitsMilli == 0 || c.unitsMilli > r.maxUnitsMilli) {
            revert JobChannelsInvalidUnits(c.unitsMilli, r.maxUnitsMilli);
        }
        _checkReceipt(c, digest);
        charged = _fallbackCharge(r.modelId, c.unitsMilli, c.price);
        _debit(r.client, msg.sender, r.requestId, digest, charged);

        Config memory cfg = _config;
        uint256 fee = (charged * cfg.feeBps) / _BPS;
        if (fee != 0) _fees += fee;
        uint256 releasableAt = block.timestamp + cfg.disputeWindow;
        _claims[digest] = Claim({
            provider: msg.sender,
            held: uint96(charged - fee),
            client: r.client,
            releasableAt: uint40(releasableAt),
            disputedAt: 0,
            status: ClaimStatus.Held,
            bond: 0
        });
        emit UnvouchedClaimed(digest, r.client, msg.sender, c.unitsMilli, charged, fee, releasableAt);
    }

    /// @inheritdoc IJobChannels
    function releaseClaims(bytes32[] calldata requestDigests) external {
        for (uint256 i = 0; i < requestDigests.length; ++i) {
            bytes32 digest = requestDigests[i];
            Claim storage k = _claims[digest];
            ClaimStatus status = k.status;
            if (status == ClaimStatus.None) revert JobChannelsUnknownClaim(digest);
            if (status == ClaimStatus.Released) continue;
            if (status != ClaimStatus.Held) revert JobChannelsUnexpectedClaimStatus(digest, status);
            if (block.timestamp < k.releasableAt) revert JobChannelsDisputeWindowOpen(digest, k.releasableAt);
            uint256 held = k.held;
            address provider = k.provider;
            k.status = ClaimStatus.Released;
            k.held = 0;
            _balances[provider] += held;
            emit ClaimReleased(digest, provider, held);
        }
    }

    // ----------------------------------------------------------------------------------------------- disputes ---

    /// @inheritdoc IJobChannels
    function dispute(bytes32 requestDigest_) external nonReentrant {
        Claim storage k = _claims[requestDigest_];
        if (k.status == ClaimStatus.None) revert JobChannelsUnknownClaim(requestDigest_);
        if (k.status != ClaimStatus.Held) revert JobChannelsUnexpectedClaimStatus(requestDigest_, k.status);
        if (msg.sender != k.client) revert JobChannelsNotClient(requestDigest_, msg.sender);
        if (block.timestamp >= k.releasableAt) revert JobChannelsDisputeWindowClosed(requestDigest_, k.releasableAt);
        uint256 bond = _config.disputeBond;
        k.status = ClaimStatus.Disputed;
        k.disputedAt = uint40(block.timestamp);
        k.bond = uint96(bond);
        emit ClaimDisputed(requestDigest_, msg.sender, k.held, bond);
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobChannels
    function resolveDispute(bytes32 requestDigest_, uint256 providerShareBps) external onlyOwner {
        if (providerShareBps > _BPS) revert JobChannelsInvalidShare(providerShareBps);
        Claim storage k = _claims[requestDigest_];
        ClaimStatus status = k.status;
        // Each dispute stands alone: one closed by timeout meanwhile is skipped, so a proposal resolving several
        // disputes still resolves the others.
        if (status == ClaimStatus.Resolved) {
            emit DisputeResolutionSkipped(requestDigest_);
            return;
        }
        if (status == ClaimStatus.None) revert JobChannelsUnknownClaim(requestDigest_);
        if (status != ClaimStatus.Disputed) revert JobChannelsUnexpectedClaimStatus(requestDigest_, status);
        uint256 held = k.held;
        uint256 bond = k.bond;
        uint256 providerAmount = (held * providerShareBps) / _BPS;
        uint256 clientAmount = held - providerAmount;
        (address provider, address client) = (k.provider, k.client);
        k.status = ClaimStatus.Resolved;
        k.held = 0;
        k.bond = 0;
        if (providerAmount != 0) _balances[provider] += providerAmount;
        if (clientAmount != 0) _balances[client] += clientAmount;
        if (bond != 0) {
            address winner = providerShareBps < _BPS ? client : provider;
            _balances[winner] += bond;
            emit DisputeBondPaid(requestDigest_, winner, bond);
        }
        emit DisputeResolved(requestDigest_, providerAmount, clientAmount);
    }

    /// @inheritdoc IJobChannels
    function closeTimedOutDispute(bytes32 requestDigest_) external {
        Claim storage k = _claims[requestDigest_];
        ClaimStatus status = k.status;
        if (status == ClaimStatus.None) revert JobChannelsUnknownClaim(requestDigest_);
        if (status != ClaimStatus.Disputed) revert JobChannelsUnexpectedClaimStatus(requestDigest_, status);
        uint256 timesOutAt = uint256(k.disputedAt) + _config.disputeTimeout;
        if (block.timestamp < timesOutAt) revert JobChannelsDisputeNotTimedOut(requestDigest_, timesOutAt);
        uint256 held = k.held;
        uint256 bond = k.bond;
        address provider = k.provider;
        k.status = ClaimStatus.Resolved;
        k.held = 0;
        k.bond = 0;
        _balances[provider] += held + bond;
        if (bond != 0) emit DisputeBondPaid(requestDigest_, provider, bond);
        emit DisputeTimedOut(requestDigest_, held);
    }

    // ---------------------------------------------------------------------------------------------- withdrawal ---

    /// @inheritdoc IJobChannels
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _balances[msg.sender];
        if (amount == 0) revert JobChannelsNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IJobChannels
    function sweepFees() external nonReentrant returns (uint256 amount) {
        amount = _fees;
        if (amount == 0) revert JobChannelsNothingToWithdraw(treasury);
        _fees = 0;
        emit FeesSwept(treasury, amount);
        token.safeTransfer(treasury, amount);
    }

    // --------------------------------------------------------------------------------------------- parameters ---

    /// @inheritdoc IJobChannels
    function setFeeBps(uint256 feeBps) external onlyOwner {
        _setFeeBps(feeBps);
    }

    /// @inheritdoc IJobChannels
    function setDisputeWindow(uint256 window) external onlyOwner {
        _setDisputeWindow(window);
    }

    /// @inheritdoc IJobChannels
    function setDisputeTimeout(uint256 timeout) external onlyOwner {
        _setDisputeTimeout(timeout);
    }

    /// @inheritdoc IJobChannels
    function setWithdrawalDelay(uint256 delay) external onlyOwner {
        _setWithdrawalDelay(delay);
    }

    /// @inheritdoc IJobChannels
    function setDisputeBond(uint256 bond) external onlyOwner {
        _setDisputeBond(bond);
    }

    // -------------------------------------------------------------------------------------------------- views ---

    /// @inheritdoc IJobChannels
    function channel(address client, address provider) external view returns (ChannelView memory) {
        Channel memory c = _channels[client][provider];
        return ChannelView({
            balance: c.balance, spent: c.spent, closesAt: c.closesAt, coveredThrough: c.coveredThrough
        });
    }

    /// @inheritdoc IJobChannels
    function claimOf(bytes32 requestDigest_) external view returns (ClaimView memory) {
        Claim memory k = _claims[requestDigest_];
        return ClaimView({
            status: k.status,
            client: k.client,
            provider: k.provider,
            held: k.held,
            releasableAt: k.releasableAt,
            disputedAt: k.disputedAt,
            bond: k.bond
        });
    }

    /// @inheritdoc IJobChannels
    function anchorOf(address provider, bytes32 root) external view returns (uint256 timestamp, uint256 count) {
        Anchor memory a = _anchors[provider][root];
        return (a.timestamp, a.count);
    }

    /// @inheritdoc IJobChannels
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IJobChannels
    function accruedFees() external view returns (uint256) {
        return _fees;
    }

    /// @inheritdoc IJobChannels
    function requestDigest(JobRequest calldata request) external view returns (bytes32) {
        return _requestDigest(request);
    }

    /// @inheritdoc IJobChannels
    function voucherDigest(address client, address provider, uint256 cumulativeAmount, uint256 coveredThrough)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, client, provider, cumulativeAmount, coveredThrough))
        );
    }

    /// @inheritdoc IJobChannels
    function receiptLeaf(
        bytes32 requestDigest_,
        address provider,
        uint64 unitsMilli,
        uint256 price,
        bytes32 receiptHash
    ) public view returns (bytes32) {
        return ReceiptMerkle.leaf(
            block.chainid, address(this), uint256(requestDigest_), provider, unitsMilli, price, receiptHash
        );
    }

    /// @inheritdoc IJobChannels
    function parameters()
        external
        view
        returns (
            uint256 feeBps,
            uint256 disputeWindow,
            uint256 disputeTimeout,
            uint256 withdrawalDelay,
            uint256 disputeBond
        )
    {
        Config memory cfg = _config;
        return (cfg.feeBps, cfg.disputeWindow, cfg.disputeTimeout, cfg.withdrawalDelay, cfg.disputeBond);
    }

    // ----------------------------------------------------------------------------------------------- internal ---

    /// @dev Redeems one voucher on the caller's channel with `v.client`: one read, one recovery, one write.
    function _redeem(SignedVoucher calldata v) private returns (uint256 paid) {
        address client = v.client;
        uint256 cumulative = v.cumulativeAmount;
        Channel memory c = _channels[client][msg.sender];
        if (c.closesAt != 0 && block.timestamp >= c.closesAt) {
            revert JobChannelsChannelClosed(client, msg.sender, c.closesAt);
        }
        if (cumulative <= c.spent) revert JobChannelsVoucherNotAbove(client, cumulative, c.spent);
        // No underflow: cumulative > spent.
        unchecked {
            paid = cumulative - c.spent;
        }
        if (paid > c.balance) revert JobChannelsInsufficientBalance(client, msg.sender, paid, c.balance);
        uint256 covered = v.coveredThrough;
        if (covered < c.coveredThrough || covered > type(uint40).max) {
            revert JobChannelsInvalidCoverage(client, covered, c.coveredThrough);
        }
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, client, msg.sender, cumulative, covered)));
        if (!_isValidSignature(client, digest, v.signature)) revert JobChannelsInvalidVoucherSignature(client);
        // The casts are exact: cumulative = spent + paid <= spent + balance < 2^88 (see {deposit}); covered < 2^40.
        _channels[client][msg.sender] = Channel({
            balance: uint88(c.balance - paid),
            spent: uint88(cumulative),
            closesAt: c.closesAt,
            coveredThrough: uint40(covered)
        });
    }

    /// @dev Takes `amount` out of the (client, provider) channel for a fallback claim of request `requestId`, which no
    /// redeemed voucher may cover. The charge counts in `spent`, as if a voucher had paid it: a later voucher that
    /// covers the request pays only what is above it.
    function _debit(address client, address provider, uint256 requestId, bytes32 digest, uint256 amount) private {
        Channel memory c = _channels[client][provider];
        if (c.closesAt != 0 && block.timestamp >= c.closesAt) {
            revert JobChannelsChannelClosed(client, provider, c.closesAt);
        }
        if (requestId <= c.coveredThrough) revert JobChannelsRequestVouched(digest, requestId, c.coveredThrough);
        if (amount > c.balance) revert JobChannelsInsufficientBalance(client, provider, amount, c.balance);
        // Exact: spent + amount <= spent + balance < 2^88.
        Channel storage stored = _channels[client][provider];
        stored.balance = uint88(c.balance - amount);
        stored.spent = uint88(c.spent + amount);
    }

    /// @dev The receipt of a fallback claim: under a root the caller anchored by the request's deadline.
    function _checkReceipt(UnvouchedClaim calldata c, bytes32 digest) private view {
        Anchor memory a = _anchors[msg.sender][c.root];
        if (a.timestamp == 0) revert JobChannelsUnknownRoot(msg.sender, c.root);
        if (a.timestamp > c.request.deadline) {
            revert JobChannelsAnchoredAfterDeadline(c.root, a.timestamp, c.request.deadline);
        }
        bytes32 leaf = receiptLeaf(digest, msg.sender, c.unitsMilli, c.price, c.receiptHash);
        if (!MerkleProof.verifyCalldata(c.proof, c.root, leaf)) revert JobChannelsInvalidProof(c.root, leaf);
    }

    /// @dev `min(price, floor(unitsMilli * rate / 1000))` at today's rate. Cannot overflow: units < 2^64, rate < 2^80.
    function _fallbackCharge(uint16 modelId, uint64 unitsMilli, uint256 price) private view returns (uint256) {
        (uint256 rate,) = models.rateOf(modelId);
        if (rate == 0) revert JobChannelsModelNotPriced(modelId);
        uint256 atRate = (uint256(unitsMilli) * rate) / _MILLI;
        return price < atRate ? price : atRate;
    }

    function _anchor(bytes32 root, uint256 count) private {
        if (root == 0 || count == 0 || count > MAX_RECEIPTS_PER_ROOT) revert JobChannelsInvalidAnchor(root, count);
        Anchor storage a = _anchors[msg.sender][root];
        if (a.timestamp != 0) revert JobChannelsRootAlreadyAnchored(msg.sender, root);
        a.timestamp = uint40(block.timestamp);
        a.count = uint24(count);
        emit RootAnchored(msg.sender, root, count);
    }

    /// @dev An unbonding provider still claims what it served, so registration (not activity) is what counts.
    function _requireRegistered(address account) private view {
        if (!providers.provider(account).registered) revert JobChannelsNotProvider(account);
    }

    /// @dev ECDSA first (no EXTCODESIZE on the common path), then ERC-1271 for contract clients.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }

    function _requestDigest(JobRequest calldata r) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    JOB_REQUEST_TYPEHASH,
                    r.client,
                    r.provider,
                    r.requestId,
                    r.modelId,
                    r.maxUnitsMilli,
                    r.deadline,
                    r.inputHash
                )
            )
        );
    }

    function _setFeeBps(uint256 value) private {
        if (value > MAX_FEE_BPS) revert JobChannelsParameterOutOfBounds(_FEE_BPS, value, 0, MAX_FEE_BPS);
        uint256 old = _config.feeBps;
        _config.feeBps = uint16(value);
        emit ParameterUpdated(_FEE_BPS, old, value);
    }

    function _setDisputeWindow(uint256 value) private {
        if (value < MIN_DISPUTE_WINDOW || value > MAX_DISPUTE_WINDOW) {
            revert JobChannelsParameterOutOfBounds(_DISPUTE_WINDOW, value, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        }
        uint256 old = _config.disputeWindow;
        _config.disputeWindow = uint32(value);
        emit ParameterUpdated(_DISPUTE_WINDOW, old, value);
    }

    function _setDisputeTimeout(uint256 value) private {
        if (value < MIN_DISPUTE_TIMEOUT || value > MAX_DISPUTE_TIMEOUT) {
            revert JobChannelsParameterOutOfBounds(_DISPUTE_TIMEOUT, value, MIN_DISPUTE_TIMEOUT, MAX_DISPUTE_TIMEOUT);
        }
        uint256 old = _config.disputeTimeout;
        _config.disputeTimeout = uint32(value);
        emit ParameterUpdated(_DISPUTE_TIMEOUT, old, value);
    }

    function _setWithdrawalDelay(uint256 value) private {
        if (value < MIN_WITHDRAWAL_DELAY || value > MAX_WITHDRAWAL_DELAY) {
            revert JobChannelsParameterOutOfBounds(
                _WITHDRAWAL_DELAY, value, MIN_WITHDRAWAL_DELAY, MAX_WITHDRAWAL_DELAY
            );
        }
        uint256 old = _config.withdrawalDelay;
        _config.withdrawalDelay = uint32(value);
        emit ParameterUpdated(_WITHDRAWAL_DELAY, old, value);
    }

    function _setDisputeBond(uint256 value) private {
        if (value > MAX_DISPUTE_BOND) {
            revert JobChannelsParameterOutOfBounds(_DISPUTE_BOND, value, 0, MAX_DISPUTE_BOND);
        }
        uint256 old = _config.disputeBond;
        _config.disputeBond = uint96(value);
        emit ParameterUpdated(_DISPUTE_BOND, old, value);
    }
}
