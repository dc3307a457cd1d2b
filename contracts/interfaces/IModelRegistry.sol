// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title IModelRegistry
 * @notice The rate card of the marketplace: which models can be ordered, in which unit they are metered and what one
 * unit costs. Only the owner (the DAO timelock) changes it.
 *
 * Model ids are small sequential numbers (1, 2, 3, ...) so that a job can carry its model inside its single packed
 * storage slot; {modelIdOf} resolves a name to its id.
 *
 * Invariant kept by every setter: an enabled model has a rate greater than zero and not above {MAX_RATE}.
 */
interface IModelRegistry {
    /// @notice One entry of the rate card.
    /// @param rate token base units per ONE unit (18 decimals: 2.0 AITBC per GPU-second = 2e18).
    struct Model {
        uint80 rate;
        bool enabled;
        string name;
        string unitType;
    }

    /// @notice Thrown by {addModel} when the name is empty or longer than 64 bytes.
    error ModelRegistryInvalidName(string name);
    /// @notice Thrown by {addModel} when the unit type is empty or longer than 32 bytes.
    error ModelRegistryInvalidUnitType(string unitType);
    /// @notice Thrown by {addModel} when a model with the same name is already on the card.
    error ModelRegistryDuplicateName(string name, uint16 existingId);
    /// @notice Thrown when `modelId` is not on the card.
    error ModelRegistryUnknownModel(uint16 modelId);
    /// @notice Thrown by {modelIdOf} when no model has that name.
    error ModelRegistryUnknownName(string name);
    /// @notice Thrown when a setter would leave an enabled model with rate zero.
    error ModelRegistryZeroRateForEnabledModel(uint16 modelId);
    /// @notice Thrown when a rate exceeds {MAX_RATE} (the width of the rate snapshot kept in each job).
    error ModelRegistryRateTooHigh(uint256 rate, uint256 maxRate);
    /// @notice Thrown by {addModel} when the card already holds the largest number of models an id can address.
    error ModelRegistryFull();

    /// @notice Emitted when a model is put on the card (enabled, at `rate`).
    event ModelAdded(uint16 indexed modelId, string name, string unitType, uint256 rate);
    /// @notice Emitted when the rate of `modelId` changes. Jobs created before keep their snapshotted rate.
    event ModelRateUpdated(uint16 indexed modelId, uint256 oldRate, uint256 newRate);
    /// @notice Emitted when `modelId` is enabled (`enabled` true) or disabled (`enabled` false).
    event ModelEnabledSet(uint16 indexed modelId, bool enabled);

    /// @notice Largest rate a model may have: jobs snapshot the rate into 80 bits.
    function MAX_RATE() external view returns (uint256);

    /// @notice Adds an enabled model. Owner only.
    /// @return modelId the new sequential id.
    function addModel(string calldata name, string calldata unitType, uint256 rate) external returns (uint16 modelId);

    /// @notice Changes the rate of `modelId`. Owner only. Zero is allowed only for a disabled model.
    function setRate(uint16 modelId, uint256 rate) external;

    /// @notice Enables or disables `modelId`. Owner only. Enabling requires a non-zero rate.
    function setEnabled(uint16 modelId, bool enabled) external;

    /// @notice Hot-path read used by the escrow: the rate and whether new jobs may be created.
    /// @dev Returns (0, false) for an unknown id rather than reverting, so callers decide the error.
    function rateOf(uint16 modelId) external view returns (uint256 rate, bool enabled);

    /// @notice The full entry of `modelId`. Reverts with {ModelRegistryUnknownModel} if it does not exist.
    function model(uint16 modelId) external view returns (Model memory);

    /// @notice The id of the model called `name`. Reverts with {ModelRegistryUnknownName} if there is none.
    function modelIdOf(string calldata name) external view returns (uint16);

    /// @notice Number of models ever added; ids run from 1 to this value.
    function modelCount() external view returns (uint16);
}
