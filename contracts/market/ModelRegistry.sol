// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/**
 * @title ModelRegistry
 * @notice The rate card, owned by the DAO timelock. The constructor seeds the default card; every later change is a
 * governance proposal.
 */
contract ModelRegistry is IModelRegistry, Ownable {
    /// @inheritdoc IModelRegistry
    uint256 public constant MAX_RATE = type(uint80).max;

    uint256 private constant _MAX_NAME_BYTES = 64;
    uint256 private constant _MAX_UNIT_TYPE_BYTES = 32;

    mapping(uint16 modelId => Model) private _models;
    mapping(bytes32 nameHash => uint16 modelId) private _idOfName;
    uint16 private _modelCount;

    /// @param owner_ the DAO timelock.
    /// @param names seed models; `unitTypes` and `rates` run parallel to it.
    constructor(address owner_, string[] memory names, string[] memory unitTypes, uint256[] memory rates)
        Ownable(owner_)
    {
        // Lengths are checked implicitly: indexing a shorter array reverts.
        for (uint256 i = 0; i < names.length; ++i) {
            _addModel(names[i], unitTypes[i], rates[i]);
        }
    }

    /// @inheritdoc IModelRegistry
    function addModel(string calldata name, string calldata unitType, uint256 rate)
        external
        onlyOwner
        returns (uint16 modelId)
    {
        return _addModel(name, unitType, rate);
    }

    /// @inheritdoc IModelRegistry
    function setRate(uint16 modelId, uint256 rate) external onlyOwner {
        Model storage m = _existing(modelId);
        if (rate > MAX_RATE) revert ModelRegistryRateTooHigh(rate, MAX_RATE);
        if (rate == 0 && m.enabled) revert ModelRegistryZeroRateForEnabledModel(modelId);
        uint256 oldRate = m.rate;
        m.rate = uint80(rate);
        emit ModelRateUpdated(modelId, oldRate, rate);
    }

    /// @inheritdoc IModelRegistry
    function setEnabled(uint16 modelId, bool enabled) external onlyOwner {
        Model storage m = _existing(modelId);
        if (enabled && m.rate == 0) revert ModelRegistryZeroRateForEnabledModel(modelId);
        m.enabled = enabled;
        emit ModelEnabledSet(modelId, enabled);
    }

    /// @inheritdoc IModelRegistry
    function rateOf(uint16 modelId) external view returns (uint256 rate, bool enabled) {
        Model storage m = _models[modelId];
        return (m.rate, m.enabled);
    }

    /// @inheritdoc IModelRegistry
    function model(uint16 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    /// @inheritdoc IModelRegistry
    function modelIdOf(string calldata name) external view returns (uint16) {
        uint16 id = _idOfName[keccak256(bytes(name))];
        if (id == 0) revert ModelRegistryUnknownName(name);
        return id;
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint16) {
        return _modelCount;
    }

    function _addModel(string memory name, string memory unitType, uint256 rate) private returns (uint16 modelId) {
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > _MAX_NAME_BYTES) revert ModelRegistryInvalidName(name);
        uint256 unitLength = bytes(unitType).length;
        if (unitLength == 0 || unitLength > _MAX_UNIT_TYPE_BYTES) revert ModelRegistryInvalidUnitType(unitType);
        if (rate == 0) revert ModelRegistryZeroRateForEnabledModel(_modelCount + 1);
        if (rate > MAX_RATE) revert ModelRegistryRateTooHigh(rate, MAX_RATE);
        bytes32 nameHash = keccak256(bytes(name));
        uint16 existing = _idOfName[nameHash];
        if (existing != 0) revert ModelRegistryDuplicateName(name, existing);
        if (_modelCount == type(uint16).max) revert ModelRegistryFull();

        modelId = ++_modelCount;
        _models[modelId] = Model({rate: uint80(rate), enabled: true, name: name, unitType: unitType});
        _idOfName[nameHash] = modelId;
        emit ModelAdded(modelId, name, unitType, rate);
    }

    function _existing(uint16 modelId) private view returns (Model storage m) {
        if (modelId == 0 || modelId > _modelCount) revert ModelRegistryUnknownModel(modelId);
        return _models[modelId];
    }
}
