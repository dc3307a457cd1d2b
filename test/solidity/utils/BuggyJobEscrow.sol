// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";

/**
 * @notice A deliberately broken escrow for the planted-bug test: `withdrawWithoutDebit` pays an account its balance
 * but forgets to zero it (the classic missing-effect bug), so the same balance can be withdrawn again. The funds
 * conservation check must notice.
 */
contract BuggyJobEscrow is JobEscrow {
    constructor(
        IERC20 token_,
        IModelRegistry models_,
        IProviderRegistry providers_,
        address treasury_,
        address owner_,
        Params memory params
    ) JobEscrow(token_, models_, providers_, treasury_, owner_, params) {}

    function withdrawWithoutDebit() external {
        token.transfer(msg.sender, this.balanceOf(msg.sender));
    }
}
