// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice The escrow's deployment checks and its governed parameters: who may set them, their bounds, their
/// events, and the fee snapshot that keeps a change away from existing jobs.
contract JobEscrowParametersTest is MarketTest {
    using Market for Market.System;

    // ---------------------------------------------------------------------------------------------- constructor ---

    function test_escrowConstructor_eachZeroAddress_reverts() public {
        JobEscrow.Params memory params = Market.defaultParams();
        for (uint256 i = 0; i < 4; ++i) {
            address[4] memory a = [address(s.token), address(s.models), address(s.providers), TREASURY];
            a[i] = address(0);
            vm.expectRevert(IJobEscrow.JobEscrowZeroAddress.selector);
            new JobEscrow(IERC20(a[0]), IModelRegistry(a[1]), IProviderRegistry(a[2]), a[3], address(this), params);
        }
    }

    // -------------------------------------------------------------------------------------------------- setters ---

    function test_setters_nonOwner_revert() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER);
        vm.startPrank(STRANGER);
        vm.expectRevert(unauthorized);
        s.escrow.setFeeBps(100);
        vm.expectRevert(unauthorized);
        s.escrow.setDisputeWindow(1 days);
        vm.expectRevert(unauthorized);
        s.escrow.setDisputeTimeout(1 days);
        vm.expectRevert(unauthorized);
        s.escrow.setMaxDeadlineDelay(1 days);
        vm.expectRevert(unauthorized);
        s.escrow.setDisputeBond(0);
        vm.expectRevert(unauthorized);
        s.models.setRate(1, 1e18);
        vm.expectRevert(unauthorized);
        s.models.addModel("x", "gpu_seconds", 1e18);
        vm.expectRevert(unauthorized);
        s.models.setEnabled(1, false);
        vm.expectRevert(unauthorized);
        s.providers.setMinBond(1e18);
        vm.expectRevert(unauthorized);
        s.providers.setUnbondingPeriod(2 days);
        vm.expectRevert(unauthorized);
        s.providers.setExposureMultiple(1);
        vm.stopPrank();
    }

    /// @dev The next setter call reverts with `JobEscrowParameterOutOfBounds` for `name` = `value`, outside [min, max].
    function _expectOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max) private {
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowParameterOutOfBounds.selector, name, value, min, max)
        );
    }

    function test_setFeeBps_aboveMax_reverts() public {
        uint256 max = s.escrow.MAX_FEE_BPS();
        _expectOutOfBounds("feeBps", max + 1, 0, max);
        s.escrow.setFeeBps(max + 1);
        s.escrow.setFeeBps(max);
        (uint256 fee,,,) = s.escrow.parameters();
        assertEq(fee, max, "max allowed");
    }

    function test_setDisputeWindow_outOfBounds_reverts() public {
        _expectOutOfBounds("disputeWindow", 59, 60, 30 days);
        s.escrow.setDisputeWindow(59);
        _expectOutOfBounds("disputeWindow", 30 days + 1, 60, 30 days);
        s.escrow.setDisputeWindow(30 days + 1);
    }

    function test_setDisputeTimeoutAndDeadlineDelay_outOfBounds_revert() public {
        _expectOutOfBounds("disputeTimeout", 0, 60, 180 days);
        s.escrow.setDisputeTimeout(0);
        _expectOutOfBounds("maxDeadlineDelay", 366 days, 60, 365 days);
        s.escrow.setMaxDeadlineDelay(366 days);
    }

    function test_setters_emitParameterUpdatedWithOldAndNew() public {
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("feeBps", 250, 300);
        s.escrow.setFeeBps(300);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("disputeWindow", 600, 900);
        s.escrow.setDisputeWindow(900);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("disputeTimeout", 3600, 7200);
        s.escrow.setDisputeTimeout(7200);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("maxDeadlineDelay", 1 days, 2 days);
        s.escrow.setMaxDeadlineDelay(2 days);
    }

    // -------------------------------------------------------------------------- item 36: the fee is snapshotted ---

    /// @dev The DAO raises the fee from 2.5 % to 20 % after a job was created and accepted: it settles at 2.5 %
    /// (and a dispute holds its 2.5 %-net share); a job created after the change pays 20 %.
    function test_attack_feeRaisedAfterAcceptance_jobSettlesAtItsOwnFee() public {
        uint256 old = _job(10_000, 1 hours);
        s.accept(PROVIDER, old);
        s.escrow.setFeeBps(2_000);
        uint256 fresh = _job(10_000, 1 hours);
        s.accept(PROVIDER, fresh);
        assertEq(s.escrow.job(old).feeBps, 250, "old job keeps 2.5 %");
        assertEq(s.escrow.job(fresh).feeBps, 2_000, "new job 20 %");

        (uint256 batchId,) = s.settleOne(PROVIDER, old, 10_000, keccak256("old"));
        (, uint256 payout,,) = s.escrow.payoutOf(batchId);
        assertEq(payout, 20e18 - 0.5e18, "20 AITBC at 2.5 %");
        assertEq(s.escrow.balanceOf(TREASURY), 0.5e18, "fee at 2.5 %");
        vm.prank(ALICE);
        s.escrow.dispute(old);
        (uint256 held,,) = s.escrow.disputeOf(old);
        assertEq(held, 20e18 - 0.5e18, "held at the job's fee");

        (uint256 freshBatch,) = s.settleOne(PROVIDER, fresh, 10_000, keccak256("fresh"));
        (, uint256 freshPayout,,) = s.escrow.payoutOf(freshBatch);
        assertEq(freshPayout, 16e18, "20 AITBC at 20 %");
    }

    function test_setDisputeBond_aboveMax_reverts() public {
        uint256 max = s.escrow.MAX_DISPUTE_BOND();
        _expectOutOfBounds("disputeBond", max + 1, 0, max);
        s.escrow.setDisputeBond(max + 1);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("disputeBond", Market.DISPUTE_BOND, max);
        s.escrow.setDisputeBond(max);
        assertEq(s.escrow.disputeBond(), max, "max allowed");
    }
}
