// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ReceiptMerkle} from "../receipts/ReceiptMerkle.sol";

/**
 * @title JobEscrow
 * @notice Escrowed compute jobs with batched settle-and-anchor. See {IJobEscrow} for the money rules, the time
 * boundaries and the payment model.
 *
 * Storage is shaped for the settlement loop: everything a settlement needs about a job sits in ONE slot (status,
 * deadline, max units, client and provider account ids, model id, snapshotted rate), packed by hand so that settling
 * a job costs exactly one cold read and one write of that slot. Accounts (clients and providers) get a 32-bit id on
 * first use; an account's id slot also holds its withdrawable balance, so crediting a client never writes a fresh
 * slot.
 *
 * The owner is the DAO timelock: it sets the parameters and arbitrates disputes.
 */
contract JobEscrow is IJobEscrow, Ownable {
    using SafeERC20 for IERC20;

    /// @notice Largest protocol fee the DAO may set: 20 %.
    uint256 public constant MAX_FEE_BPS = 2_000;
    /// @notice Dispute window bounds.
    uint256 public constant MIN_DISPUTE_WINDOW = 1 minutes;
    uint256 public constant MAX_DISPUTE_WINDOW = 30 days;
    /// @notice Dispute timeout bounds.
    uint256 public constant MIN_DISPUTE_TIMEOUT = 1 minutes;
    uint256 public constant MAX_DISPUTE_TIMEOUT = 180 days;
    /// @notice Bounds for the largest distance between creation and deadline.
    uint256 public constant MIN_DEADLINE_DELAY = 1 minutes;
    uint256 public constant MAX_DEADLINE_DELAY = 365 days;
    /// @notice Largest job size in milli-units (about 68.7 million units); it keeps `maxUnitsMilli` within the job
    /// slot's 36 bits and makes `units * rate` (at most 2^36 * 2^80) impossible to overflow.
    uint256 public constant MAX_UNITS_MILLI = (1 << 36) - 1;
    /// @notice Largest dispute bond the DAO may set.
    uint256 public constant MAX_DISPUTE_BOND = 1e6 ether;
    /// @notice Largest number of records in one settlement or anchor.
    uint256 public constant MAX_BATCH_SIZE = 1_024;
    /// @notice Largest prompt carried by {createJob}.
    uint256 public constant MAX_PROMPT_BYTES = 64 * 1024;

    bytes32 private constant _FEE_BPS = "feeBps";
    bytes32 private constant _DISPUTE_WINDOW = "disputeWindow";
    bytes32 private constant _DISPUTE_TIMEOUT = "disputeTimeout";
    bytes32 private constant _MAX_DEADLINE_DELAY = "maxDeadlineDelay";
    bytes32 private constant _DISPUTE_BOND = "disputeBond";

    uint256 private constant _RECORD_BYTES = 46;
    /// @dev Account 1 is the treasury's: protocol fees accrue there until {sweepFees}.
    uint32 private constant _TREASURY_ACCOUNT = 1;
    /// @dev Status, deadline-or-batch and units: the bits a settlement rewrites.
    uint256 private constant _LOW_84_BITS = (1 << 84) - 1;
    /// @dev Provider account word: bits 0-31 account id, 32-159 exposure, 160-199 jobs settled.
    uint256 private constant _ID_MASK = (1 << 32) - 1;
    uint256 private constant _STATUS_MASK = 0xff;
    uint256 private constant _EXPOSURE_MASK = (1 << 128) - 1;
    uint256 private constant _BPS = 10_000;
    uint256 private constant _MILLI = 1_000;

    /// @dev A job unpacked. Stored as one word (see `_save`): bits 0-7 status, 8-47 `deadlineOrBatch`, 48-83 `units`,
    /// 84-95 fee (basis points, snapshotted at creation like the rate), 96-127 client account, 128-159 provider
    /// account, 160-175 model id, 176-255 rate. After settlement `deadlineOrBatch` holds the batch id and `units` the
    /// settled units: the deadline and the maximum are no longer needed then.
    struct Job {
        JobStatus status;
        uint40 deadlineOrBatch;
        uint48 units;
        uint16 feeBps;
        uint32 client;
        uint32 provider;
        uint16 modelId;
        uint80 rate;
    }

    /// @dev Counters and parameters, one slot.
    struct Config {
        uint48 jobCount;
        uint32 batchCount;
        uint32 accountCount;
        uint16 feeBps;
        uint32 disputeWindow;
        uint32 disputeTimeout;
        uint32 maxDeadlineDelay;
    }

    struct Account {
        address owner;
        uint96 balance;
    }

    /// @dev One slot per settlement root; it answers "is this a settlement root, of which batch, by whom, when" with
    /// one read. Only {settleBatch} writes here, and a settlement root's leaves bind the settling provider, so no one
    /// can pre-empt another provider's root.
    struct Anchor {
        uint32 batchId;
        address submitter;
        uint24 count;
        uint40 timestamp;
    }

    /// @dev A plain anchor: a root the submitter vouches for, with the record count it claims (never checked).
    struct PlainAnchor {
        uint40 timestamp;
        uint24 claimedCount;
    }

    struct Payout {
        uint128 amount;
        uint40 releasableAt;
        bool released;
        uint32 provider;
    }

    /// @dev Working state of one settlement batch, in memory. {_settlementLoop} addresses the fields by offset:
    /// keep their order and their full-word types.
    struct Totals {
        uint256 providerAmount;
        uint256 fees;
        uint256 refunds;
        uint256 provider;
        uint256 batchId;
        bytes32 previous;
        uint256 leafBuffer;
        uint256 treePointer;
        uint256 table;
        uint256 mask;
        uint256 clients;
        uint256 clientCount;
    }

    /// @dev `bond` is the client's dispute bond as paid (a later DAO change does not alter it).
    struct Dispute {
        uint128 held;
        uint40 openedAt;
        uint88 bond;
    }

    /// @notice Initial governed parameters.
    struct Params {
        uint256 feeBps;
        uint256 disputeWindow;
        uint256 disputeTimeout;
        uint256 maxDeadlineDelay;
        uint256 disputeBond;
    }

    /// @notice The payment token (AITBC).
    IERC20 public immutable token;
    /// @notice The rate card.
    IModelRegistry public immutable models;
    /// @notice The provider registry.
    IProviderRegistry public immutable providers;
    /// @notice Receives protocol fees (the DAO timelock).
    address public immutable treasury;

    bool private transient _entered;
    Config private _config;
    mapping(uint256 jobId => uint256 packedJob) private _jobs;
    /// @dev Account id in bits 0-31; for providers also the exposure (bits 32-159) and the jobs settled (160-199), so
    /// accepting and settling update them in a slot they read anyway.
    mapping(address account => uint256 word) private _accountOf;
    mapping(uint32 id => Account) private _accounts;
    mapping(bytes32 root => Anchor) private _anchors;
    mapping(address submitter => mapping(bytes32 root => PlainAnchor)) private _plainAnchors;
    mapping(uint32 batchId => Payout) private _payouts;
    mapping(uint256 jobId => Dispute) private _disputes;
    uint256 private _disputeBond;

    /// @dev A transient-storage lock: the token is trusted, but no settlement, refund or withdrawal may ever be
    /// re-entered through a token hook or a future token upgrade.
    modifier nonReentrant() {
        if (_entered) revert JobEscrowReentrantCall();
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
    ) Ownable(owner_) {
        if (
            address(token_) == address(0) || address(models_) == address(0) || address(providers_) == address(0)
                || treasury_ == address(0)
        ) revert JobEscrowZeroAddress();
        token = token_;
        models = models_;
        providers = providers_;
        treasury = treasury_;
        _accountOf[treasury_] = _TREASURY_ACCOUNT;
        _accounts[_TREASURY_ACCOUNT] = Account({owner: treasury_, balance: 0});
        _config.accountCount = _TREASURY_ACCOUNT;
        _setFeeBps(params.feeBps);
        _setDisputeWindow(params.disputeWindow);
        _setDisputeTimeout(params.disputeTimeout);
        _setMaxDeadlineDelay(params.maxDeadlineDelay);
        _setDisputeBond(params.disputeBond);
    }

    // ------------------------------------------------------------------------------------------------ creation ---

    /// @inheritdoc IJobEscrow
    function createJob(uint16 modelId, uint64 maxUnitsMilli, address provider, uint40 deadline, bytes calldata prompt)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        return _createOne(modelId, maxUnitsMilli, provider, deadline, prompt);
    }

    /// @inheritdoc IJobEscrow
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
    ) external nonReentrant returns (uint256 jobId) {
        // A failed permit is ignored on purpose: if someone front-ran it, the allowance is already in place, and if
        // not, the transferFrom below fails with the token's own error.
        (uint256 rate,) = models.rateOf(modelId);
        uint256 amount = _escrowOf(maxUnitsMilli <= MAX_UNITS_MILLI ? maxUnitsMilli : 0, rate);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {}
            catch {}
        return _createOne(modelId, maxUnitsMilli, provider, deadline, prompt);
    }

    /// @inheritdoc IJobEscrow
    function createJobs(JobRequest[] calldata requests) external nonReentrant returns (uint256 firstJobId) {
        uint256 count = requests.length;
        if (count == 0) revert JobEscrowEmptyRequest();
        Config memory cfg = _config;
        uint32 client = _accountId(msg.sender, cfg);
        firstJobId = uint256(cfg.jobCount) + 1;
        uint256 total;
        uint16 cachedModel;
        uint256 cachedRate;
        for (uint256 i = 0; i < count; ++i) {
            JobRequest calldata q = requests[i];
            if (q.modelId != cachedModel || cachedRate == 0) {
                cachedModel = q.modelId;
                cachedRate = _enabledRate(q.modelId);
            }
            total += _store(cfg, client, q.modelId, cachedRate, q.maxUnitsMilli, q.provider, q.deadline, q.prompt);
        }
        _writeCounters(cfg);
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    // ------------------------------------------------------------------------------------------------ accepting ---

    // Accepting moves no tokens and calls out only to a view of the registry (a static call), so it needs no lock.

    /// @inheritdoc IJobEscrow
    function acceptJob(uint256 jobId) external {
        (uint256 account,,) = _accept(jobId, _accountCreating(msg.sender), 0, 0);
        _accountOf[msg.sender] = account;
    }

    /// @inheritdoc IJobEscrow
    function acceptJobs(uint256[] calldata jobIds) external {
        uint256 account = _accountCreating(msg.sender);
        uint16 servedModel;
        uint256 cap;
        for (uint256 i = 0; i < jobIds.length; ++i) {
            (account, servedModel, cap) = _accept(jobIds[i], account, servedModel, cap);
        }
        _accountOf[msg.sender] = account;
    }

    // ---------------------------------------------------------------------------------------- refunds by client ---

    /// @inheritdoc IJobEscrow
    function cancelJob(uint256 jobId) external nonReentrant {
        Job memory j = _existingJob(jobId);
        if (j.status != JobStatus.Open) revert JobEscrowUnexpectedStatus(jobId, j.status);
        address client = _accounts[j.client].owner;
        if (msg.sender != client) revert JobEscrowNotClient(jobId, msg.sender);
        j.status = JobStatus.Cancelled;
        _save(jobId, j);
        uint256 refund = _escrowOf(j.units, j.rate);
        emit JobCancelled(jobId, client, refund);
        token.safeTransfer(client, refund);
    }

    /// @inheritdoc IJobEscrow
    function reclaimExpired(uint256 jobId) external nonReentrant {
        Job memory j = _existingJob(jobId);
        if (j.status != JobStatus.Open && j.status != JobStatus.Accepted) {
            revert JobEscrowUnexpectedStatus(jobId, j.status);
        }
        if (block.timestamp <= j.deadlineOrBatch) revert JobEscrowDeadlineNotPassed(jobId, j.deadlineOrBatch);
        bool accepted = j.status == JobStatus.Accepted;
        j.status = JobStatus.Expired;
        _save(jobId, j);
        address client = _accounts[j.client].owner;
        uint256 refund = _escrowOf(j.units, j.rate);
        if (accepted) _reduceExposure(j.provider, refund);
        emit JobExpired(jobId, client, refund);
        token.safeTransfer(client, refund);
    }

    // -------------------------------------------------------------------------------------- refunds by provider ---

    /// @inheritdoc IJobEscrow
    function giveBackJob(uint256 jobId) external nonReentrant {
        Job memory j = _existingJob(jobId);
        if (j.status != JobStatus.Accepted) revert JobEscrowUnexpectedStatus(jobId, j.status);
        // An accepted job always names its provider's account; only that account's owner may give it back.
        if (_accounts[j.provider].owner != msg.sender) revert JobEscrowNotProvider(jobId, msg.sender);
        j.status = JobStatus.GivenBack;
        _save(jobId, j);
        address client = _accounts[j.client].owner;
        uint256 refund = _escrowOf(j.units, j.rate);
        _reduceExposure(j.provider, refund);
        emit JobGivenBack(jobId, msg.sender, client, refund);
        token.safeTransfer(client, refund);
    }

    // --------------------------------------------------------------------------------------------- settlement ---

    /// @inheritdoc IJobEscrow
    function settleBatch(bytes calldata items) external nonReentrant returns (uint256 batchId, bytes32 root) {
        uint256 length = items.length;
        uint256 n = length / _RECORD_BYTES;
        if (n == 0 || n * _RECORD_BYTES != length || n > MAX_BATCH_SIZE) revert JobEscrowInvalidBatchLength(length);

        Config storage cfg = _config;
        uint32 id = cfg.batchCount + 1;
        uint256 account = _accountOf[msg.sender];
        Totals memory t;
        t.provider = account & _ID_MASK;
        t.batchId = id;
        root = _settleRecords(items, n, t);
        _anchor(root, id, n);
        _config.batchCount = id;
        _payouts[id] = Payout({
            amount: SafeCast.toUint128(t.providerAmount),
            releasableAt: uint40(block.timestamp + cfg.disputeWindow),
            released: false,
            provider: uint32(t.provider)
        });
        // The settled jobs' escrow leaves the exposure and their payout enters it: escrow - payout = fees + refunds.
        // Checked: the exposure holds at least the escrow of every job the provider accepted and has not settled.
        uint256 exposure = ((account >> 32) & _EXPOSURE_MASK) - t.fees - t.refunds;
        _accountOf[msg.sender] = (account & _ID_MASK) | (exposure << 32) | (((account >> 160) + n) << 160);
        if (t.fees != 0) _credit(_TREASURY_ACCOUNT, t.fees);
        emit BatchSettled(id, msg.sender, root, t.providerAmount, t.fees, t.refunds);
        return (id, root);
    }

    /// @inheritdoc IJobEscrow
    function anchorRoot(bytes32 root, uint256 claimedCount) external {
        if (root == 0 || claimedCount == 0 || claimedCount > MAX_BATCH_SIZE) {
            revert JobEscrowInvalidAnchor(root, claimedCount);
        }
        if (!providers.isActive(msg.sender)) revert JobEscrowNotActiveProvider(msg.sender);
        PlainAnchor storage a = _plainAnchors[msg.sender][root];
        if (a.timestamp != 0) revert JobEscrowPlainAnchorExists(msg.sender, root);
        a.timestamp = uint40(block.timestamp);
        a.claimedCount = uint24(claimedCount);
        emit PlainRootAnchored(msg.sender, root, claimedCount);
    }

    /// @inheritdoc IJobEscrow
    function releaseBatches(uint256[] calldata batchIds) external nonReentrant {
        for (uint256 i = 0; i < batchIds.length; ++i) {
            uint32 id = SafeCast.toUint32(batchIds[i]);
            Payout memory p = _payouts[id];
            if (p.releasableAt == 0) revert JobEscrowUnknownBatch(id);
            if (p.released) continue;
            if (block.timestamp < p.releasableAt) revert JobEscrowDisputeWindowOpen(id, p.releasableAt);
            _payouts[id].released = true;
            _payouts[id].amount = 0;
            if (p.amount != 0) {
                _credit(p.provider, p.amount);
                _reduceExposure(p.provider, p.amount);
            }
            emit BatchReleased(id, _accounts[p.provider].owner, p.amount);
        }
    }

    // ----------------------------------------------------------------------------------------------- disputes ---

    /// @inheritdoc IJobEscrow
    function dispute(uint256 jobId) external nonReentrant {
        Job memory j = _existingJob(jobId);
        if (j.status != JobStatus.Settled) revert JobEscrowUnexpectedStatus(jobId, j.status);
        if (msg.sender != _accounts[j.client].owner) revert JobEscrowNotClient(jobId, msg.sender);
        uint32 batchId = uint32(j.deadlineOrBatch);
        Payout memory p = _payouts[batchId];
        if (block.timestamp >= p.releasableAt) revert JobEscrowDisputeWindowClosed(jobId, p.releasableAt);

        uint256 held;
        // Cannot overflow or underflow: see settleBatch; the held amount was added to p.amount at settlement and the
        // batch has not been released (releasing needs block.timestamp >= releasableAt).
        unchecked {
            uint256 price = (uint256(j.units) * j.rate) / _MILLI;
            held = price - (price * j.feeBps) / _BPS;
            _payouts[batchId].amount = uint128(p.amount - held);
        }
        // The held amount moves from the batch's payout to the dispute: the provider's exposure is unchanged.
        uint256 bond = _disputeBond;
        j.status = JobStatus.Disputed;
        _save(jobId, j);
        _disputes[jobId] = Dispute({held: uint128(held), openedAt: uint40(block.timestamp), bond: uint88(bond)});
        emit JobDisputed(jobId, msg.sender, held, bond);
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobEscrow
    function resolveDispute(uint256 jobId, uint256 providerShareBps, uint256 slashAmount)
        external
        onlyOwner
        nonReentrant
    {
        if (providerShareBps > _BPS) revert JobEscrowInvalidShare(providerShareBps);
        Job memory j = _existingJob(jobId);
        // Each dispute stands alone: one that was closed meanwhile (by timeout) is skipped, so a proposal resolving
        // several disputes still resolves the others.
        if (j.status == JobStatus.Resolved) {
            emit DisputeResolutionSkipped(jobId);
            return;
        }
        if (j.status != JobStatus.Disputed) revert JobEscrowUnexpectedStatus(jobId, j.status);
        Dispute memory d = _disputes[jobId];
        uint256 providerAmount = (uint256(d.held) * providerShareBps) / _BPS;
        uint256 clientAmount = d.held - providerAmount;
        bool clientWins = providerShareBps < _BPS || slashAmount != 0;
        j.status = JobStatus.Resolved;
        _save(jobId, j);
        _reduceExposure(j.provider, d.held);
        if (providerAmount != 0) _credit(j.provider, providerAmount);
        if (clientAmount != 0) _credit(j.client, clientAmount);
        _settleDisputeBond(jobId, d.bond, clientWins ? j.client : j.provider);
        uint256 slashed;
        if (clientWins) slashed = providers.recordDisputeLost(_accounts[j.provider].owner, slashAmount);
        emit DisputeResolved(jobId, providerAmount, clientAmount, slashed);
    }

    /// @inheritdoc IJobEscrow
    function closeTimedOutDispute(uint256 jobId) external nonReentrant {
        Job memory j = _disputedJob(jobId);
        Dispute memory d = _disputes[jobId];
        uint256 timesOutAt = uint256(d.openedAt) + _config.disputeTimeout;
        if (block.timestamp < timesOutAt) revert JobEscrowDisputeNotTimedOut(jobId, timesOutAt);
        j.status = JobStatus.Resolved;
        _save(jobId, j);
        _reduceExposure(j.provider, d.held);
        if (d.held != 0) _credit(j.provider, d.held);
        _settleDisputeBond(jobId, d.bond, j.provider);
        emit DisputeTimedOut(jobId, d.held);
    }

    // ---------------------------------------------------------------------------------------------- withdrawal ---

    /// @inheritdoc IJobEscrow
    function withdraw() external nonReentrant returns (uint256 amount) {
        uint32 id = uint32(_accountOf[msg.sender]);
        amount = _accounts[id].balance;
        if (id == 0 || amount == 0) revert JobEscrowNothingToWithdraw(msg.sender);
        _accounts[id].balance = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IJobEscrow
    function sweepFees() external nonReentrant returns (uint256 amount) {
        amount = _accounts[_TREASURY_ACCOUNT].balance;
        if (amount == 0) revert JobEscrowNothingToWithdraw(treasury);
        _accounts[_TREASURY_ACCOUNT].balance = 0;
        emit FeesSwept(treasury, amount);
        token.safeTransfer(treasury, amount);
    }

    // --------------------------------------------------------------------------------------------- parameters ---

    /// @inheritdoc IJobEscrow
    function setFeeBps(uint256 feeBps) external onlyOwner {
        _setFeeBps(feeBps);
    }

    /// @inheritdoc IJobEscrow
    function setDisputeWindow(uint256 window) external onlyOwner {
        _setDisputeWindow(window);
    }

    /// @inheritdoc IJobEscrow
    function setDisputeTimeout(uint256 timeout) external onlyOwner {
        _setDisputeTimeout(timeout);
    }

    /// @inheritdoc IJobEscrow
    function setMaxDeadlineDelay(uint256 delay) external onlyOwner {
        _setMaxDeadlineDelay(delay);
    }

    /// @inheritdoc IJobEscrow
    function setDisputeBond(uint256 bond) external onlyOwner {
        _setDisputeBond(bond);
    }

    // -------------------------------------------------------------------------------------------------- views ---

    /// @inheritdoc IJobEscrow
    function job(uint256 jobId) external view returns (JobView memory v) {
        Job memory j = _existingJob(jobId);
        v.status = j.status;
        v.modelId = j.modelId;
        v.client = _accounts[j.client].owner;
        v.provider = _accounts[j.provider].owner;
        v.rate = j.rate;
        v.feeBps = j.feeBps;
        bool settled = j.status == JobStatus.Settled || j.status == JobStatus.Disputed
            || j.status == JobStatus.Resolved;
        if (settled) {
            v.unitsMilli = j.units;
            v.price = (uint256(j.units) * j.rate) / _MILLI;
            v.batchId = j.deadlineOrBatch;
            if (j.status == JobStatus.Settled && block.timestamp >= _payouts[uint32(j.deadlineOrBatch)].releasableAt) {
                v.status = JobStatus.Finalized;
            }
        } else {
            v.maxUnitsMilli = j.units;
            v.escrow = _escrowOf(j.units, j.rate);
            v.deadline = j.deadlineOrBatch;
        }
    }

    /// @inheritdoc IJobEscrow
    function batch(bytes32 root) external view returns (BatchView memory v) {
        Anchor memory a = _anchors[root];
        if (a.batchId == 0) revert JobEscrowUnknownRoot(root);
        Payout memory p = _payouts[a.batchId];
        v = BatchView({
            id: a.batchId,
            root: root,
            submitter: a.submitter,
            count: a.count,
            timestamp: a.timestamp,
            settlement: true,
            payout: p.amount,
            releasableAt: p.releasableAt,
            released: p.released
        });
    }

    /// @inheritdoc IJobEscrow
    function payoutOf(uint256 batchId)
        external
        view
        returns (address provider, uint256 amount, uint256 releasableAt, bool released)
    {
        Payout memory p = _payouts[SafeCast.toUint32(batchId)];
        if (p.releasableAt == 0) revert JobEscrowUnknownBatch(batchId);
        return (_accounts[p.provider].owner, p.amount, p.releasableAt, p.released);
    }

    /// @inheritdoc IJobEscrow
    function plainAnchor(address submitter, bytes32 root)
        external
        view
        returns (uint256 timestamp, uint256 claimedCount)
    {
        PlainAnchor memory a = _plainAnchors[submitter][root];
        return (a.timestamp, a.claimedCount);
    }

    /// @inheritdoc IJobEscrow
    function disputeOf(uint256 jobId) external view returns (uint256 held, uint256 openedAt, uint256 bond) {
        Dispute memory d = _disputes[jobId];
        return (d.held, d.openedAt, d.bond);
    }

    /// @inheritdoc IJobEscrow
    function balanceOf(address account) external view returns (uint256) {
        uint32 id = uint32(_accountOf[account]);
        return id == 0 ? 0 : _accounts[id].balance;
    }

    /// @inheritdoc IJobEscrow
    function exposureOf(address provider) external view returns (uint256) {
        return (_accountOf[provider] >> 32) & _EXPOSURE_MASK;
    }

    /// @inheritdoc IJobEscrow
    function jobsSettledOf(address provider) external view returns (uint256) {
        return _accountOf[provider] >> 160;
    }

    /// @inheritdoc IJobEscrow
    function disputeBond() external view returns (uint256) {
        return _disputeBond;
    }

    /// @inheritdoc IJobEscrow
    function receiptLeaf(ReceiptLeaf calldata receipt) public view returns (bytes32) {
        return ReceiptMerkle.leaf(
            block.chainid,
            address(this),
            receipt.jobId,
            receipt.provider,
            receipt.unitsMilli,
            receipt.price,
            receipt.receiptHash
        );
    }

    /// @inheritdoc IJobEscrow
    function verifyReceiptInclusion(bytes32 root, ReceiptLeaf calldata receipt, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        uint256 batchId = _anchors[root].batchId;
        if (batchId == 0) return false;
        Job memory j = _load(receipt.jobId);
        bool settled = j.status == JobStatus.Settled || j.status == JobStatus.Disputed
            || j.status == JobStatus.Resolved;
        // Settled as signed: this job settled in exactly this batch, by this provider, for these units and price.
        return settled && j.deadlineOrBatch == batchId && _accounts[j.provider].owner == receipt.provider
            && j.units == receipt.unitsMilli && (uint256(j.units) * j.rate) / _MILLI == receipt.price
            && MerkleProof.verifyCalldata(proof, root, receiptLeaf(receipt));
    }

    /// @inheritdoc IJobEscrow
    function quote(uint16 modelId, uint64 maxUnitsMilli) external view returns (uint256) {
        if (maxUnitsMilli == 0 || maxUnitsMilli > MAX_UNITS_MILLI) revert JobEscrowInvalidMaxUnits(maxUnitsMilli);
        return _escrowOf(maxUnitsMilli, _enabledRate(modelId));
    }

    /// @inheritdoc IJobEscrow
    function parameters()
        external
        view
        returns (uint256 feeBps, uint256 disputeWindow, uint256 disputeTimeout, uint256 maxDeadlineDelay)
    {
        Config memory cfg = _config;
        return (cfg.feeBps, cfg.disputeWindow, cfg.disputeTimeout, cfg.maxDeadlineDelay);
    }

    /// @inheritdoc IJobEscrow
    function counters() external view returns (uint256 jobs, uint256 batches) {
        Config memory cfg = _config;
        return (cfg.jobCount, cfg.batchCount);
    }

    // ----------------------------------------------------------------------------------------------- internal ---

    function _createOne(
        uint16 modelId,
        uint64 maxUnitsMilli,
        address provider,
        uint40 deadline,
        bytes calldata prompt
    ) private returns (uint256 jobId) {
        Config memory cfg = _config;
        uint32 client = _accountId(msg.sender, cfg);
        uint256 amount = _store(cfg, client, modelId, _enabledRate(modelId), maxUnitsMilli, provider, deadline, prompt);
        _writeCounters(cfg);
        token.safeTransferFrom(msg.sender, address(this), amount);
        return cfg.jobCount;
    }

    /// @dev Validates and stores one job, bumping `cfg.jobCount` in memory; returns its escrow.
    function _store(
        Config memory cfg,
        uint32 client,
        uint16 modelId,
        uint256 rate,
        uint64 maxUnitsMilli,
        address provider,
        uint40 deadline,
        bytes calldata prompt
    ) private returns (uint256 amount) {
        if (maxUnitsMilli == 0 || maxUnitsMilli > MAX_UNITS_MILLI) revert JobEscrowInvalidMaxUnits(maxUnitsMilli);
        {
            uint256 latest = block.timestamp + cfg.maxDeadlineDelay;
            if (deadline <= block.timestamp || deadline > latest) revert JobEscrowInvalidDeadline(deadline, latest);
        }
        if (prompt.length > MAX_PROMPT_BYTES) revert JobEscrowPromptTooLong(prompt.length, MAX_PROMPT_BYTES);
        uint32 providerId;
        if (provider != address(0)) {
            if (!providers.canServe(provider, modelId)) revert JobEscrowProviderCannotServe(provider, modelId);
            providerId = _accountId(provider, cfg);
        }
        amount = _escrowOf(maxUnitsMilli, rate);
        uint256 jobId = uint256(cfg.jobCount) + 1;
        // A 48-bit job counter lasts for 2.8e14 jobs; the check keeps the settlement record's 48-bit id exact.
        cfg.jobCount = SafeCast.toUint48(jobId);
        // The fee in force now is snapshotted with the rate: a later DAO change does not reach this job.
        _jobs[jobId] = _openJobWord(deadline, maxUnitsMilli, cfg.feeBps, client, providerId, modelId, rate);
        emit JobCreated(
            jobId,
            msg.sender,
            provider,
            modelId,
            maxUnitsMilli,
            rate,
            amount,
            deadline,
            keccak256(prompt),
            prompt
        );
    }

    /**
     * @dev Accepts one job for the provider whose account word is `account` and returns that word with the job's
     * escrow added to the exposure. `servedModel` and `cap` cache the last model the registry confirmed for this
     * provider and the exposure cap it reported.
     */
    function _accept(uint256 jobId, uint256 account, uint16 servedModel, uint256 cap)
        private
        returns (uint256, uint16, uint256)
    {
        // Works on the packed word (layout in {_save}): accepting is on every job's path.
        uint256 word = _jobs[jobId];
        JobStatus status = JobStatus(word & 0xff);
        if (status != JobStatus.Open) {
            if (status == JobStatus.None) revert JobEscrowUnknownJob(jobId);
            revert JobEscrowUnexpectedStatus(jobId, status);
        }
        if (block.timestamp > uint40(word >> 8)) revert JobEscrowDeadlinePassed(jobId, uint40(word >> 8));
        uint256 provider = account & _ID_MASK;
        uint256 assigned = uint32(word >> 128);
        if (assigned != 0 && assigned != provider) revert JobEscrowNotProvider(jobId, msg.sender);
        uint16 modelId = uint16(word >> 160);
        if (modelId != servedModel) {
            cap = providers.exposureCapOf(msg.sender, modelId);
            if (cap == 0) revert JobEscrowProviderCannotServe(msg.sender, modelId);
            servedModel = modelId;
        }
        // Exposure is a sum of escrow held by this contract, so it stays far below 2^128 (the token's supply).
        uint256 exposure = ((account >> 32) & _EXPOSURE_MASK) + _escrowOf((word >> 48) & MAX_UNITS_MILLI, word >> 176);
        if (exposure > cap) revert JobEscrowExposureCapExceeded(msg.sender, exposure, cap);
        _jobs[jobId] = (word & ~(_STATUS_MASK | (_ID_MASK << 128))) | uint256(JobStatus.Accepted) | (provider << 128);
        emit JobAccepted(jobId, msg.sender);
        return ((account & ~(_EXPOSURE_MASK << 32)) | (exposure << 32), servedModel, cap);
    }

    /**
     * @dev The settlement loop. For each record: one read of the job word, the checks, the money, the leaf, one write
     * of the job word. Refunds are summed per client in a small in-memory hash table and credited once per client
     * after the loop. Written in assembly because this loop is the protocol's hot path (see the gas targets in
     * bench/gas.ts); a failing record stops the loop and {_revertForRecord} re-runs its checks in plain Solidity to
     * raise the precise error.
     *
     * Memory: the tree (2n - 1 words), the refund table (2 * capacity words), the first-seen list (n words) and a
     * 224-byte leaf buffer are allocated here; the loop writes only inside them, into `t` and into the scratch space.
     */
    function _settleRecords(bytes calldata items, uint256 n, Totals memory t) private returns (bytes32) {
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        uint256 capacity = 2;
        while (capacity < 2 * n) capacity <<= 1;
        uint256[] memory table = new uint256[](2 * capacity);
        uint256[] memory clients = new uint256[](n);
        bytes memory leafBuffer = new bytes(0xe0);
        t.mask = capacity - 1;
        assembly ("memory-safe") {
            let buf := add(leafBuffer, 0x20)
            mstore(buf, chainid())
            mstore(add(buf, 0x20), address())
            mstore(add(buf, 0x60), caller())
            mstore(add(t, 0xc0), buf)
            // Leaf i (ascending) goes to tree index 2n - 2 - i: start at the last slot and walk backwards.
            mstore(add(t, 0xe0), add(tree, shl(5, sub(shl(1, n), 1))))
            mstore(add(t, 0x100), add(table, 0x20))
            mstore(add(t, 0x140), add(clients, 0x20))
        }
        uint256 failed = _settlementLoop(items, t);
        if (failed != 0) _revertForRecord(items, failed - 1);
        // Each distinct client once, in first-seen order: `clients` holds their table entries' addresses.
        for (uint256 k = 0; k < t.clientCount; ++k) {
            uint256 entry = clients[k];
            uint256 client;
            uint256 refund;
            assembly ("memory-safe") {
                client := mload(entry)
                refund := mload(add(entry, 0x20))
            }
            _credit(uint32(client), refund);
        }
        return ReceiptMerkle.fold(tree);
    }

    /// @dev See {_settleRecords}. Returns zero, or the 1-based index of the first failing record. `t` field offsets:
    /// 0x00 providerAmount, 0x20 fees, 0x40 refunds, 0x60 provider, 0x80 batchId, 0xa0 previous leaf, 0xc0 leaf buffer,
    /// 0xe0 tree write pointer, 0x100 refund table, 0x120 table mask, 0x140 list of the table entries in first-seen
    /// order, 0x160 its length.
    // solhint-disable-next-line function-max-lines
    function _settlementLoop(bytes calldata items, Totals memory t) private returns (uint256 failed) {
        assembly ("memory-safe") {
            let end := add(items.offset, items.length)
            let treePtr := mload(add(t, 0xe0))
            for { let at := items.offset } lt(at, end) { at := add(at, 46) } {
                let word
                let slot
                let refund
                {
                    let buf := mload(add(t, 0xc0))
                    let units := and(shr(144, calldataload(at)), 0xffffffffffffffff)
                    mstore(0x00, shr(208, calldataload(at)))
                    mstore(0x20, _jobs.slot)
                    mstore(add(buf, 0x40), mload(0x00))
                    slot := keccak256(0x00, 0x40)
                    word := sload(slot)
                    let maxUnits := and(shr(48, word), 0xfffffffff)
                    // Status Accepted (2), the caller's job, deadline not passed, 0 < units <= maxUnits.
                    if or(
                        or(
                            iszero(eq(and(word, 0xff), 2)),
                            iszero(eq(and(shr(128, word), 0xffffffff), mload(add(t, 0x60))))
                        ),
                        or(gt(timestamp(), and(shr(8, word), 0xffffffffff)), or(iszero(units), gt(units, maxUnits)))
                    ) {
                        failed := add(div(sub(at, items.offset), 46), 1)
                        break
                    }
                    // No overflow: units, maxUnits < 2^36 and rate < 2^80; price <= escrow since units <= maxUnits;
                    // fee <= price since the job's snapshotted feeBps <= MAX_FEE_BPS.
                    let price := div(mul(units, shr(176, word)), 1000)
                    refund := sub(div(add(mul(maxUnits, shr(176, word)), 999), 1000), price)
                    {
                        let fee := div(mul(price, and(shr(84, word), 0xfff)), 10000)
                        mstore(t, add(mload(t), sub(price, fee)))
                        mstore(add(t, 0x20), add(mload(add(t, 0x20)), fee))
                        mstore(add(t, 0x40), add(mload(add(t, 0x40)), refund))
                    }
                    mstore(add(buf, 0x80), units)
                    mstore(add(buf, 0xa0), price)
                    mstore(add(buf, 0xc0), calldataload(add(at, 14)))
                    mstore(0x00, keccak256(buf, 0xe0))
                    let leaf := keccak256(0x00, 0x20)
                    if iszero(gt(leaf, mload(add(t, 0xa0)))) {
                        failed := add(div(sub(at, items.offset), 46), 1)
                        break
                    }
                    mstore(add(t, 0xa0), leaf)
                    mstore(treePtr, leaf)
                    treePtr := sub(treePtr, 0x20)
                    // Settled (3), the batch id over the deadline, the settled units over the maximum; the fee stays.
                    sstore(
                        slot, or(and(word, not(_LOW_84_BITS)), or(shl(48, units), or(shl(8, mload(add(t, 0x80))), 3)))
                    )
                }
                if refund {
                    let client := and(shr(96, word), 0xffffffff)
                    let mask := mload(add(t, 0x120))
                    // Open addressing with linear probing; the table is at least half empty, so probes are short.
                    for { let h := and(mul(client, 0x9e3779b1), mask) } 1 { h := and(add(h, 1), mask) } {
                        let entry := add(mload(add(t, 0x100)), shl(6, h))
                        if eq(mload(entry), client) {
                            mstore(add(entry, 0x20), add(mload(add(entry, 0x20)), refund))
                            break
                        }
                        if iszero(mload(entry)) {
                            mstore(entry, client)
                            mstore(add(entry, 0x20), refund)
                            let count := mload(add(t, 0x160))
                            mstore(add(mload(add(t, 0x140)), shl(5, count)), entry)
                            mstore(add(t, 0x160), add(count, 1))
                            break
                        }
                    }
                }
            }
        }
    }

    /// @dev Raises the error for record `i`, which failed a check in {_settleRecords}. The checks run in the same
    /// order; if all pass, the record failed the leaf order.
    function _revertForRecord(bytes calldata items, uint256 i) private view {
        uint256 offset = i * _RECORD_BYTES;
        uint256 jobId = uint48(bytes6(items[offset:offset + 6]));
        uint256 units = uint64(bytes8(items[offset + 6:offset + 14]));
        Job memory j = _existingJob(jobId);
        if (j.status != JobStatus.Accepted) revert JobEscrowUnexpectedStatus(jobId, j.status);
        if (j.provider != uint32(_accountOf[msg.sender]) || j.provider == 0) {
            revert JobEscrowNotProvider(jobId, msg.sender);
        }
        if (block.timestamp > j.deadlineOrBatch) revert JobEscrowDeadlinePassed(jobId, j.deadlineOrBatch);
        if (units == 0 || units > j.units) revert JobEscrowInvalidUnits(jobId, units, j.units);
        revert JobEscrowLeavesNotSorted(i);
    }

    function _anchor(bytes32 root, uint32 id, uint256 count) private {
        Anchor memory existing = _anchors[root];
        if (existing.batchId != 0) revert JobEscrowRootAlreadyAnchored(root, existing.batchId);
        _anchors[root] =
            Anchor({batchId: id, submitter: msg.sender, count: uint24(count), timestamp: uint40(block.timestamp)});
        emit RootAnchored(id, root, msg.sender, count);
    }

    /// @dev The account id of `account`, creating it (in `cfg`, written back by the caller) on first use.
    function _accountId(address account, Config memory cfg) private returns (uint32 id) {
        id = uint32(_accountOf[account]);
        if (id == 0) {
            id = cfg.accountCount + 1;
            cfg.accountCount = id;
            _accountOf[account] = id;
            _accounts[id] = Account({owner: account, balance: 0});
        }
    }

    /// @dev The account word of `account` (see `_accountOf`), creating the account on first use; reads the config
    /// slot only to create one.
    function _accountCreating(address account) private returns (uint256 word) {
        word = _accountOf[account];
        if (uint32(word) == 0) {
            Config memory cfg = _config;
            word = _accountId(account, cfg);
            _config.accountCount = cfg.accountCount;
        }
    }

    /// @dev Takes `amount` off the exposure of provider account `id`. Checked: every amount taken off was added when
    /// the job was accepted (escrow) or settled (payout) and has not been taken off since.
    function _reduceExposure(uint32 id, uint256 amount) private {
        address owner_ = _accounts[id].owner;
        uint256 word = _accountOf[owner_];
        uint256 exposure = ((word >> 32) & _EXPOSURE_MASK) - amount;
        _accountOf[owner_] = (word & ~(_EXPOSURE_MASK << 32)) | (exposure << 32);
    }

    /// @dev Credits the dispute bond of `jobId` to account `to`: the client when it won, the provider otherwise.
    function _settleDisputeBond(uint256 jobId, uint256 bond, uint32 to) private {
        if (bond == 0) return;
        _credit(to, bond);
        emit DisputeBondPaid(jobId, _accounts[to].owner, bond);
    }

    /// @dev Writes back the counters a creation may change. (Assigning the whole struct would rewrite every field.)
    function _writeCounters(Config memory cfg) private {
        Config storage stored = _config;
        stored.jobCount = cfg.jobCount;
        stored.accountCount = cfg.accountCount;
    }

    /// @dev The word of a new open job, in the layout of {_save}. `rate` fits 80 bits (the rate card's MAX_RATE).
    function _openJobWord(
        uint40 deadline,
        uint64 maxUnitsMilli,
        uint16 feeBps,
        uint32 client,
        uint32 providerId,
        uint16 modelId,
        uint256 rate
    ) private pure returns (uint256) {
        return uint256(JobStatus.Open) | (uint256(deadline) << 8) | (uint256(maxUnitsMilli) << 48)
            | (uint256(feeBps) << 84) | (uint256(client) << 96) | (uint256(providerId) << 128)
            | (uint256(modelId) << 160) | (rate << 176);
    }

    function _save(uint256 jobId, Job memory j) private {
        _jobs[jobId] = uint256(j.status) | (uint256(j.deadlineOrBatch) << 8) | (uint256(j.units) << 48)
            | (uint256(j.feeBps) << 84) | (uint256(j.client) << 96) | (uint256(j.provider) << 128)
            | (uint256(j.modelId) << 160) | (uint256(j.rate) << 176);
    }

    function _load(uint256 jobId) private view returns (Job memory j) {
        uint256 word = _jobs[jobId];
        j.status = JobStatus(word & 0xff);
        j.deadlineOrBatch = uint40(word >> 8);
        j.units = uint48((word >> 48) & MAX_UNITS_MILLI);
        j.feeBps = uint16((word >> 84) & 0xfff);
        j.client = uint32(word >> 96);
        j.provider = uint32(word >> 128);
        j.modelId = uint16(word >> 160);
        j.rate = uint80(word >> 176);
    }

    function _credit(uint32 id, uint256 amount) private {
        Account storage a = _accounts[id];
        uint256 balance = a.balance + amount;
        if (balance > type(uint96).max) revert JobEscrowBalanceOverflow(a.owner);
        a.balance = uint96(balance);
    }

    function _enabledRate(uint16 modelId) private view returns (uint256 rate) {
        bool enabled;
        (rate, enabled) = models.rateOf(modelId);
        if (!enabled || rate == 0) revert JobEscrowModelNotEnabled(modelId);
    }

    function _existingJob(uint256 jobId) private view returns (Job memory j) {
        j = _load(jobId);
        if (j.status == JobStatus.None) revert JobEscrowUnknownJob(jobId);
    }

    function _disputedJob(uint256 jobId) private view returns (Job memory j) {
        j = _existingJob(jobId);
        if (j.status != JobStatus.Disputed) revert JobEscrowUnexpectedStatus(jobId, j.status);
    }

    /// @dev ceil(units * rate / 1000). Cannot overflow for units < 2^64 and rate < 2^80.
    function _escrowOf(uint256 units, uint256 rate) private pure returns (uint256) {
        unchecked {
            return (units * rate + (_MILLI - 1)) / _MILLI;
        }
    }

    function _setFeeBps(uint256 value) private {
        if (value > MAX_FEE_BPS) revert JobEscrowParameterOutOfBounds(_FEE_BPS, value, 0, MAX_FEE_BPS);
        uint256 old = _config.feeBps;
        _config.feeBps = uint16(value);
        emit ParameterUpdated(_FEE_BPS, old, value);
    }

    function _setDisputeWindow(uint256 value) private {
        if (value < MIN_DISPUTE_WINDOW || value > MAX_DISPUTE_WINDOW) {
            revert JobEscrowParameterOutOfBounds(_DISPUTE_WINDOW, value, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        }
        uint256 old = _config.disputeWindow;
        _config.disputeWindow = uint32(value);
        emit ParameterUpdated(_DISPUTE_WINDOW, old, value);
    }

    function _setDisputeTimeout(uint256 value) private {
        if (value < MIN_DISPUTE_TIMEOUT || value > MAX_DISPUTE_TIMEOUT) {
            revert JobEscrowParameterOutOfBounds(_DISPUTE_TIMEOUT, value, MIN_DISPUTE_TIMEOUT, MAX_DISPUTE_TIMEOUT);
        }
        uint256 old = _config.disputeTimeout;
        _config.disputeTimeout = uint32(value);
        emit ParameterUpdated(_DISPUTE_TIMEOUT, old, value);
    }

    function _setDisputeBond(uint256 value) private {
        if (value > MAX_DISPUTE_BOND) revert JobEscrowParameterOutOfBounds(_DISPUTE_BOND, value, 0, MAX_DISPUTE_BOND);
        uint256 old = _disputeBond;
        _disputeBond = value;
        emit ParameterUpdated(_DISPUTE_BOND, old, value);
    }

    function _setMaxDeadlineDelay(uint256 value) private {
        if (value < MIN_DEADLINE_DELAY || value > MAX_DEADLINE_DELAY) {
            revert JobEscrowParameterOutOfBounds(_MAX_DEADLINE_DELAY, value, MIN_DEADLINE_DELAY, MAX_DEADLINE_DELAY);
        }
        uint256 old = _config.maxDeadlineDelay;
        _config.maxDeadlineDelay = uint32(value);
        emit ParameterUpdated(_MAX_DEADLINE_DELAY, old, value);
    }
}
