// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 whose `transfer` calls back into a target with prepared calldata before moving funds.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;

    constructor(address[] memory holders) ERC20("Evil", "EVIL") {
        for (uint256 i = 0; i < holders.length; ++i) _mint(holders[i], 1e27);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (target != address(0)) {
            address t = target;
            target = address(0);
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = t.call(payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        return super.transfer(to, value);
    }
}
