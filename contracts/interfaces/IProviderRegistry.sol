// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title IProviderRegistry
 * @notice Compute providers: their Ed25519 receipt key, the models they serve, their bond and their record.
 *
 * A provider registers with a bond of at least {minBond}. To leave, it starts unbonding: from then on it cannot accept
 * new jobs, and after {unbondingPeriod} it withdraws the bond. Until it does, the escrow may slash the bond when the
 * DAO resolves a dispute against the provider; slashed tokens go to the treasury.
 *
 * The bond stays while the provider has exposure in the escrow (accepted jobs, payouts inside their dispute window,
 * open disputes: {IJobEscrow-exposureOf}), whatever the unbonding period, so it can always be slashed for the jobs it
 * backs; and a provider accepts jobs only up to an exposure of {exposureMultiple} times its bond ({exposureCapOf}).
 */
interface IProviderRegistry {
    /// @notice A provider's entry.
    /// @param bond tokens held for the provider.
    /// @param unbondingSince zero while active; the time unbonding started otherwise.
    /// @param registered true once registered (stays true after the bond is withdrawn; {register} re-activates).
    /// @param disputesLost disputes resolved against the provider.
    /// @param receiptKey raw 32-byte Ed25519 public key that signs the provider's receipts.
    struct Provider {
        uint128 bond;
        uint40 unbondingSince;
        bool registered;
        uint32 disputesLost;
        bytes32 receiptKey;
    }

    /// @notice One receipt key a provider has had, and the time range it signed in.
    /// @param key raw 32-byte Ed25519 public key.
    /// @param validFrom block timestamp at which the key was registered (inclusive).
    /// @param validUntil block timestamp at which it was replaced (exclusive); `type(uint64).max` while current.
    struct ReceiptKeyPeriod {
        bytes32 key;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice Where clients reach a provider and how they encrypt to it (private jobs).
    /// @param encryptionKey raw 32-byte X25519 public key; prompts are sealed to it (HPKE, RFC 9180).
    /// @param serviceUrl base URL of the provider's relayer API (`<serviceUrl>/api/v1/offer`, ...).
    struct Endpoint {
        bytes32 encryptionKey;
        string serviceUrl;
    }

    /// @notice Thrown when the key is zero, a small-order point or not a canonical encoding (y >= p, or x = 0 with the
    /// sign bit set).
    error ProviderRegistryInvalidReceiptKey(bytes32 key);
    /// @notice Thrown by {register} when the bond is below {minBond}.
    error ProviderRegistryBondTooLow(uint256 bond, uint256 minBond);
    /// @notice Thrown by {register} when the caller is active or still holds a bond.
    error ProviderRegistryAlreadyRegistered(address provider);
    /// @notice Thrown when the caller has no active registration.
    error ProviderRegistryNotRegistered(address provider);
    /// @notice Thrown when an action needs an active provider and `provider` is unbonding.
    error ProviderRegistryUnbonding(address provider, uint256 unbondingSince);
    /// @notice Thrown by {withdrawBond} when the provider has not started unbonding.
    error ProviderRegistryNotUnbonding(address provider);
    /// @notice Thrown by {withdrawBond} before `unlocksAt`.
    error ProviderRegistryBondLocked(address provider, uint256 unlocksAt);
    /// @notice Thrown by {withdrawBond} while the provider's exposure in the escrow is `exposure` (not zero): settle or
    /// let expire the accepted jobs, release the batches past their dispute window and wait out open disputes first.
    error ProviderRegistryExposureOutstanding(address provider, uint256 exposure);
    /// @notice Thrown by {setExposureMultiple} for a value outside [1, {MAX_EXPOSURE_MULTIPLE}].
    error ProviderRegistryInvalidExposureMultiple(uint256 multiple);
    /// @notice Thrown when a model id is not on the rate card.
    error ProviderRegistryUnknownModel(uint16 modelId);
    /// @notice Thrown when an encryption key is zero (X25519 refuses the all-zero point; other weak points are refused
    /// by every client before it encrypts).
    error ProviderRegistryInvalidEncryptionKey(bytes32 key);
    /// @notice Thrown when a service URL is empty, longer than `MAX_SERVICE_URL_BYTES`, not `http://` or `https://`,
    /// or holds a space or a control character.
    error ProviderRegistryInvalidServiceUrl(string serviceUrl);
    /// @notice Thrown when a function reserved to the escrow is called by `caller`.
    error ProviderRegistryUnauthorizedEscrow(address caller);
    /// @notice Thrown by {setMinBond} for a value outside [1, {MAX_MIN_BOND}].
    error ProviderRegistryInvalidMinBond(uint256 minBond);
    /// @notice Thrown by {setUnbondingPeriod} for a value outside [{MIN_UNBONDING_PERIOD}, {MAX_UNBONDING_PERIOD}].
    error ProviderRegistryInvalidUnbondingPeriod(uint256 period);
    /// @notice Thrown by {setReceiptKey} when `key` is already the caller's current receipt key.
    error ProviderRegistryReceiptKeyUnchanged(bytes32 key);
    /// @notice Thrown by the constructor for a zero address.
    error ProviderRegistryZeroAddress();
    /// @notice Thrown when an amount is zero where it must not be.
    error ProviderRegistryZeroAmount();

    /// @notice Emitted when `provider` registers (or re-activates) with `bond` and `receiptKey`.
    event ProviderRegistered(address indexed provider, bytes32 receiptKey, uint256 bond);
    /// @notice Emitted when `provider` replaces its receipt key.
    event ReceiptKeyUpdated(address indexed provider, bytes32 oldKey, bytes32 newKey);
    /// @notice Emitted for each model a provider starts (`served` true) or stops serving.
    /// @notice Emitted when `provider` publishes where it is reached and the key prompts are sealed to.
    event EndpointSet(address indexed provider, bytes32 encryptionKey, string serviceUrl);
    /// @notice Emitted when `provider` withdraws its endpoint (it then takes public jobs only).
    event EndpointCleared(address indexed provider);
    event ModelServedSet(address indexed provider, uint16 indexed modelId, bool served);
    /// @notice Emitted when `provider` adds `amount` to its bond, now `bond`.
    event BondIncreased(address indexed provider, uint256 amount, uint256 bond);
    /// @notice Emitted when `provider` starts unbonding; the bond unlocks at `unlocksAt`.
    event UnbondingStarted(address indexed provider, uint256 unlocksAt);
    /// @notice Emitted when `provider` cancels unbonding and is active again.
    event UnbondingCancelled(address indexed provider);
    /// @notice Emitted when `provider` withdraws its bond `amount`.
    event BondWithdrawn(address indexed provider, uint256 amount);
    /// @notice Emitted when the escrow slashes `amount` of `provider`'s bond to the treasury (may be zero).
    event ProviderSlashed(address indexed provider, uint256 amount);
    /// @notice Emitted when the minimum bond changes.
    event MinBondUpdated(uint256 oldMinBond, uint256 newMinBond);
    /// @notice Emitted when the unbonding period changes.
    event UnbondingPeriodUpdated(uint256 oldPeriod, uint256 newPeriod);
    /// @notice Emitted when the exposure multiple changes.
    event ExposureMultipleUpdated(uint256 oldMultiple, uint256 newMultiple);

    /// @notice Registers the caller with `receiptKey`, the models it serves and `bond` (pulled with transferFrom).
    function register(bytes32 receiptKey, uint16[] calldata models, uint256 bond) external;

    /// @notice Rotates the caller's receipt key to `receiptKey`. The old key is kept in {receiptKeyHistory} with the
    /// time range it signed in, so receipts it issued before this call stay verifiable; receipts dated at or after
    /// this call must be signed by the new key.
    /// WARNING: the signing time of a receipt is the time the provider wrote into it. A leaked old key can still sign
    /// receipts dated inside its range; only the settlement records on-chain bind what was really settled.
    function setReceiptKey(bytes32 receiptKey) external;

    /// @notice Every receipt key `provider` has registered, oldest first; the last entry is the current key (open
    /// ended, `validUntil == type(uint64).max`): the key most recently registered.
    function receiptKeyHistory(address provider) external view returns (ReceiptKeyPeriod[] memory);

    /// @notice Publishes the caller's service URL and encryption key (registered providers only). Replaces any earlier
    /// endpoint; clients read it before they escrow.
    function setEndpoint(bytes32 encryptionKey, string calldata serviceUrl) external;

    /// @notice Withdraws the caller's endpoint.
    function clearEndpoint() external;

    /// @notice The endpoint `provider` published; an empty URL and a zero key when it has none.
    function endpointOf(address provider) external view returns (Endpoint memory);

    /// @notice Whether `key` was `provider`'s receipt key at block timestamp `time` (validFrom <= time < validUntil).
    function wasReceiptKeyAt(address provider, bytes32 key, uint256 time) external view returns (bool);

    /// @notice Starts serving `add` and stops serving `remove` (in that order).
    function updateModels(uint16[] calldata add, uint16[] calldata remove) external;

    /// @notice Adds `amount` to the caller's bond (pulled with transferFrom).
    function increaseBond(uint256 amount) external;

    /// @notice Stops the caller from accepting new jobs and starts the unbonding clock.
    function startUnbonding() external;

    /// @notice Returns an unbonding provider to active service.
    function cancelUnbonding() external;

    /// @notice Pays the caller's whole bond back once `unbondingSince + unbondingPeriod` has been reached and its
    /// exposure in the escrow is zero ({ProviderRegistryExposureOutstanding} otherwise).
    function withdrawBond() external;

    /// @notice Escrow only: takes up to `amount` from `provider`'s bond to the treasury and counts a lost dispute.
    /// @return slashed the amount actually taken (the bond may be smaller).
    function recordDisputeLost(address provider, uint256 amount) external returns (uint256 slashed);

    /// @notice Owner only: minimum bond for registering and for accepting jobs.
    function setMinBond(uint256 minBond) external;

    /// @notice Owner only: time between {startUnbonding} and {withdrawBond}.
    function setUnbondingPeriod(uint256 period) external;

    /// @notice Owner only: how many times its bond a provider's exposure may reach, within [1,
    /// {MAX_EXPOSURE_MULTIPLE}].
    function setExposureMultiple(uint256 multiple) external;

    /// @notice Whether `provider` may accept a new job for `modelId`: registered, not unbonding, bonded at least
    /// {minBond}, serving the model.
    function canServe(address provider, uint16 modelId) external view returns (bool);

    /// @notice The exposure `provider` may reach by accepting jobs for `modelId`: `bond x exposureMultiple` when
    /// {canServe} holds, zero otherwise.
    function exposureCapOf(address provider, uint16 modelId) external view returns (uint256);

    /// @notice Whether `provider` is registered and not unbonding (it may anchor roots).
    function isActive(address provider) external view returns (bool);

    /// @notice The entry of `provider` (all zero if it never registered).
    function provider(address provider) external view returns (Provider memory);

    /// @notice Whether `provider` lists `modelId` among the models it serves.
    function serves(address provider, uint16 modelId) external view returns (bool);

    /// @notice Whether `key` is acceptable as a receipt key (see {ProviderRegistryInvalidReceiptKey}).
    function isValidReceiptKey(bytes32 key) external pure returns (bool);

    /// @notice Current minimum bond.
    function minBond() external view returns (uint256);

    /// @notice Current unbonding period in seconds.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Current exposure multiple.
    function exposureMultiple() external view returns (uint256);

    /// @notice The escrow allowed to slash, and whose exposure keeps bonds in place.
    function escrow() external view returns (address);
}
