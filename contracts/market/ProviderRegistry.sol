// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {Ed25519Key} from "../receipts/Ed25519Key.sol";

/**
 * @title ProviderRegistry
 * @notice Providers, their receipt keys, served models and bonds. Bonds are held here (not in the escrow), so the
 * escrow's balance is exactly its jobs' money. Parameters belong to the owner (the DAO timelock); slashing belongs to
 * the escrow, which slashes only when the DAO resolves a dispute.
 */
contract ProviderRegistry is IProviderRegistry, Ownable {
    using SafeERC20 for IERC20;

    /// @notice Upper bound for {minBond}: far above any sensible bond, low enough that a typo cannot lock everyone out
    /// with a number no one can hold.
    uint256 public constant MAX_MIN_BOND = 1e9 ether;
    /// @notice Shortest unbonding period the DAO may set.
    uint256 public constant MIN_UNBONDING_PERIOD = 1 minutes;
    /// @notice Longest unbonding period the DAO may set.
    uint256 public constant MAX_UNBONDING_PERIOD = 365 days;
    /// @notice Largest exposure multiple the DAO may set.
    uint256 public constant MAX_EXPOSURE_MULTIPLE = 10_000;
    /// @notice Longest service URL accepted, in bytes.
    uint256 public constant MAX_SERVICE_URL_BYTES = 256;

    /// @notice The bond token (AITBC).
    IERC20 public immutable token;
    /// @notice The rate card, used to refuse unknown model ids.
    IModelRegistry public immutable models;
    /// @inheritdoc IProviderRegistry
    address public immutable escrow;
    /// @notice Receives slashed bonds (the DAO timelock).
    address public immutable treasury;

    mapping(address provider => Provider) private _providers;
    // 256 model ids per word: one storage read answers "does this provider serve that model".
    mapping(address provider => mapping(uint256 word => uint256 bits)) private _served;
    // Packed in one slot: {exposureCapOf} reads both with one cold read, as {canServe} reads the minimum bond.
    uint128 private _minBond;
    uint32 private _exposureMultiple;
    uint256 private _unbondingPeriod;
    // Every receipt key each provider has had, oldest first, so receipts signed before a rotation stay verifiable.
    mapping(address provider => ReceiptKeyPeriod[]) private _keyHistory;
    mapping(address provider => Endpoint) private _endpoints;

    modifier onlyEscrow() {
        if (msg.sender != escrow) revert ProviderRegistryUnauthorizedEscrow(msg.sender);
        _;
    }

    /**
     * @param escrow_ the JobEscrow; deployers predict its address (it is deployed right after this contract), which
     * keeps both links immutable without a privileged one-time setter.
     */
    constructor(
        IERC20 token_,
        IModelRegistry models_,
        address escrow_,
        address treasury_,
        address owner_,
        uint256 minBond_,
        uint256 unbondingPeriod_,
        uint256 exposureMultiple_
    ) Ownable(owner_) {
        if (
            address(token_) == address(0) || address(models_) == address(0) || escrow_ == address(0)
                || treasury_ == address(0)
        ) revert ProviderRegistryZeroAddress();
        token = token_;
        models = models_;
        escrow = escrow_;
        treasury = treasury_;
        _setMinBond(minBond_);
        _setUnbondingPeriod(unbondingPeriod_);
        _setExposureMultiple(exposureMultiple_);
    }

    /// @inheritdoc IProviderRegistry
    function register(bytes32 receiptKey, uint16[] calldata modelIds, uint256 bond) external {
        Provider storage p = _providers[msg.sender];
        if (p.registered || p.bond != 0) revert ProviderRegistryAlreadyRegistered(msg.sender);
        if (!Ed25519Key.isValid(receiptKey)) revert ProviderRegistryInvalidReceiptKey(receiptKey);
        if (bond < _minBond) revert ProviderRegistryBondTooLow(bond, _minBond);

        p.registered = true;
        p.unbondingSince = 0;
        p.bond = SafeCast.toUint128(bond);
        p.receiptKey = receiptKey;
        _recordReceiptKey(msg.sender, receiptKey);
        emit ProviderRegistered(msg.sender, receiptKey, bond);
        _setServed(modelIds, true);

        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IProviderRegistry
    function setReceiptKey(bytes32 receiptKey) external {
        Provider storage p = _registered(msg.sender);
        if (!Ed25519Key.isValid(receiptKey)) revert ProviderRegistryInvalidReceiptKey(receiptKey);
        bytes32 oldKey = p.receiptKey;
        if (oldKey == receiptKey) revert ProviderRegistryReceiptKeyUnchanged(receiptKey);
        p.receiptKey = receiptKey;
        _recordReceiptKey(msg.sender, receiptKey);
        emit ReceiptKeyUpdated(msg.sender, oldKey, receiptKey);
    }

    /// @inheritdoc IProviderRegistry
    function updateModels(uint16[] calldata add, uint16[] calldata remove) external {
        _registered(msg.sender);
        _setServed(add, true);
        _setServed(remove, false);
    }

    /// @inheritdoc IProviderRegistry
    function increaseBond(uint256 amount) external {
        Provider storage p = _registered(msg.sender);
        if (amount == 0) revert ProviderRegistryZeroAmount();
        uint256 bond = p.bond + amount;
        p.bond = SafeCast.toUint128(bond);
        emit BondIncreased(msg.sender, amount, bond);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function startUnbonding() external {
        Provider storage p = _registered(msg.sender);
        if (p.unbondingSince != 0) revert ProviderRegistryUnbonding(msg.sender, p.unbondingSince);
        p.unbondingSince = uint40(block.timestamp);
        emit UnbondingStarted(msg.sender, block.timestamp + _unbondingPeriod);
    }

    /// @inheritdoc IProviderRegistry
    function cancelUnbonding() external {
        Provider storage p = _registered(msg.sender);
        if (p.unbondingSince == 0) revert ProviderRegistryNotUnbonding(msg.sender);
        p.unbondingSince = 0;
        emit UnbondingCancelled(msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawBond() external {
        Provider storage p = _registered(msg.sender);
        if (p.unbondingSince == 0) revert ProviderRegistryNotUnbonding(msg.sender);
        // The period in force at withdrawal applies, so a DAO that lengthens it also covers unbondings in progress.
        uint256 unlocksAt = uint256(p.unbondingSince) + _unbondingPeriod;
        if (block.timestamp < unlocksAt) revert ProviderRegistryBondLocked(msg.sender, unlocksAt);
        // Accepted jobs, payouts inside their dispute window and open disputes keep the bond here, slashable.
        uint256 exposure = IJobEscrow(escrow).exposureOf(msg.sender);
        if (exposure != 0) revert ProviderRegistryExposureOutstanding(msg.sender, exposure);
        uint256 amount = p.bond;
        p.bond = 0;
        p.unbondingSince = 0;
        p.registered = false;
        emit BondWithdrawn(msg.sender, amount);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function recordDisputeLost(address provider_, uint256 amount) external onlyEscrow returns (uint256 slashed) {
        Provider storage p = _providers[provider_];
        uint256 bond = p.bond;
        slashed = amount < bond ? amount : bond;
        // Cannot underflow: slashed <= bond. disputesLost counts at most one per settled job; it is still checked.
        p.bond = uint128(bond - slashed);
        p.disputesLost += 1;
        emit ProviderSlashed(provider_, slashed);
        if (slashed != 0) token.safeTransfer(treasury, slashed);
    }

    /// @inheritdoc IProviderRegistry
    function setMinBond(uint256 minBond_) external onlyOwner {
        _setMinBond(minBond_);
    }

    /// @inheritdoc IProviderRegistry
    function setUnbondingPeriod(uint256 period) external onlyOwner {
        _setUnbondingPeriod(period);
    }

    /// @inheritdoc IProviderRegistry
    function setExposureMultiple(uint256 multiple) external onlyOwner {
        _setExposureMultiple(multiple);
    }

    /// @inheritdoc IProviderRegistry
    function canServe(address provider_, uint16 modelId) external view returns (bool) {
        Provider storage p = _providers[provider_];
        return p.registered && p.unbondingSince == 0 && p.bond >= _minBond && _serves(provider_, modelId);
    }

    /// @inheritdoc IProviderRegistry
    function exposureCapOf(address provider_, uint16 modelId) external view returns (uint256) {
        Provider storage p = _providers[provider_];
        uint256 bond = p.bond;
        if (!p.registered || p.unbondingSince != 0 || bond < _minBond || !_serves(provider_, modelId)) return 0;
        return bond * _exposureMultiple;
    }

    /// @inheritdoc IProviderRegistry
    function isActive(address provider_) external view returns (bool) {
        Provider storage p = _providers[provider_];
        return p.registered && p.unbondingSince == 0;
    }

    /// @inheritdoc IProviderRegistry
    function provider(address provider_) external view returns (Provider memory) {
        return _providers[provider_];
    }

    /// @inheritdoc IProviderRegistry
    function serves(address provider_, uint16 modelId) external view returns (bool) {
        return _serves(provider_, modelId);
    }

    /// @inheritdoc IProviderRegistry
    function isValidReceiptKey(bytes32 key) external pure returns (bool) {
        return Ed25519Key.isValid(key);
    }

    /// @inheritdoc IProviderRegistry
    function minBond() external view returns (uint256) {
        return _minBond;
    }

    /// @inheritdoc IProviderRegistry
    function unbondingPeriod() external view returns (uint256) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IProviderRegistry
    function exposureMultiple() external view returns (uint256) {
        return _exposureMultiple;
    }

    /// @inheritdoc IProviderRegistry
    function receiptKeyHistory(address provider_) external view returns (ReceiptKeyPeriod[] memory) {
        return _keyHistory[provider_];
    }

    /// @inheritdoc IProviderRegistry
    function wasReceiptKeyAt(address provider_, bytes32 key, uint256 time) external view returns (bool) {
        ReceiptKeyPeriod[] storage history = _keyHistory[provider_];
        // Newest first: receipts are usually checked against the current or the previous key.
        for (uint256 i = history.length; i > 0; --i) {
            ReceiptKeyPeriod storage period = history[i - 1];
            if (period.key == key && period.validFrom <= time && time < period.validUntil) return true;
        }
        return false;
    }

    /// @inheritdoc IProviderRegistry
    function setEndpoint(bytes32 encryptionKey, string calldata serviceUrl) external {
        _registered(msg.sender);
        if (encryptionKey == bytes32(0)) revert ProviderRegistryInvalidEncryptionKey(encryptionKey);
        if (!_isServiceUrl(bytes(serviceUrl))) revert ProviderRegistryInvalidServiceUrl(serviceUrl);
        _endpoints[msg.sender] = Endpoint({encryptionKey: encryptionKey, serviceUrl: serviceUrl});
        emit EndpointSet(msg.sender, encryptionKey, serviceUrl);
    }

    /// @inheritdoc IProviderRegistry
    function clearEndpoint() external {
        _registered(msg.sender);
        delete _endpoints[msg.sender];
        emit EndpointCleared(msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function endpointOf(address provider_) external view returns (Endpoint memory) {
        return _endpoints[provider_];
    }

    /// @dev `http://` or `https://`, then at least one more byte, at most MAX_SERVICE_URL_BYTES in all, and no byte
    /// at or below the space (no whitespace, no control characters) nor DEL.
    function _isServiceUrl(bytes calldata url) private pure returns (bool) {
        uint256 length = url.length;
        if (length > MAX_SERVICE_URL_BYTES) return false;
        uint256 start;
        if (length > 8 && bytes8(url[:8]) == bytes8("https://")) start = 8;
        else if (length > 7 && bytes7(url[:7]) == bytes7("http://")) start = 7;
        else return false;
        for (uint256 i = start; i < length; ++i) {
            bytes1 c = url[i];
            if (c <= 0x20 || c == 0x7f) return false;
        }
        return true;
    }

    /// @dev Closes the open period (if any) at the current block and opens one for `key`.
    function _recordReceiptKey(address provider_, bytes32 key) private {
        ReceiptKeyPeriod[] storage history = _keyHistory[provider_];
        uint64 now_ = SafeCast.toUint64(block.timestamp);
        uint256 length = history.length;
        if (length != 0 && history[length - 1].validUntil == type(uint64).max) history[length - 1].validUntil = now_;
        history.push(ReceiptKeyPeriod({key: key, validFrom: now_, validUntil: type(uint64).max}));
    }

    function _setServed(uint16[] calldata modelIds, bool served) private {
        uint256 count = models.modelCount();
        for (uint256 i = 0; i < modelIds.length; ++i) {
            uint16 id = modelIds[i];
            if (id == 0 || id > count) revert ProviderRegistryUnknownModel(id);
            uint256 mask = uint256(1) << (id & 0xff);
            mapping(uint256 => uint256) storage words = _served[msg.sender];
            words[id >> 8] = served ? words[id >> 8] | mask : words[id >> 8] & ~mask;
            emit ModelServedSet(msg.sender, id, served);
        }
    }

    function _serves(address provider_, uint16 modelId) private view returns (bool) {
        return (_served[provider_][modelId >> 8] >> (modelId & 0xff)) & 1 == 1;
    }

    function _registered(address provider_) private view returns (Provider storage p) {
        p = _providers[provider_];
        if (!p.registered) revert ProviderRegistryNotRegistered(provider_);
    }

    function _setMinBond(uint256 minBond_) private {
        if (minBond_ == 0 || minBond_ > MAX_MIN_BOND) revert ProviderRegistryInvalidMinBond(minBond_);
        uint256 oldMinBond = _minBond;
        // Fits: MAX_MIN_BOND < 2^128.
        _minBond = uint128(minBond_);
        emit MinBondUpdated(oldMinBond, minBond_);
    }

    function _setExposureMultiple(uint256 multiple) private {
        if (multiple == 0 || multiple > MAX_EXPOSURE_MULTIPLE) revert ProviderRegistryInvalidExposureMultiple(multiple);
        uint256 old = _exposureMultiple;
        _exposureMultiple = uint32(multiple);
        emit ExposureMultipleUpdated(old, multiple);
    }

    function _setUnbondingPeriod(uint256 period) private {
        if (period < MIN_UNBONDING_PERIOD || period > MAX_UNBONDING_PERIOD) {
            revert ProviderRegistryInvalidUnbondingPeriod(period);
        }
        uint256 oldPeriod = _unbondingPeriod;
        _unbondingPeriod = period;
        emit UnbondingPeriodUpdated(oldPeriod, period);
    }
}
