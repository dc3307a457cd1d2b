// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title AITBCTimelock
 * @notice The DAO's timelock: holds the treasury (protocol fees, unallocated supply) and owns every marketplace
 * parameter. A plain OpenZeppelin {TimelockController}; it exists as its own artifact so deployments and tooling
 * name it explicitly.
 */
contract AITBCTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
