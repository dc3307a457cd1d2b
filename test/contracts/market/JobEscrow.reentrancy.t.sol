// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";
import {ReentrantToken} from "../../fixtures/contracts/ReentrantToken.sol";

/// @notice Checklist item 1: a token hook that re-enters the escrow during a refund or a withdrawal is refused, and
/// the escrow's books still balance.
contract JobEscrowReentrancyTest is MarketTest {
    using Market for Market.System;

    ReentrantToken internal token;

    /// @dev The default market around a token whose `transfer` calls back into the escrow once armed.
    function setUp() public override {
        token = new ReentrantToken(_actors());
        s = Market.deploy(token, address(this), TREASURY, false);
        _openMarket();
    }

    function _settledJob() internal returns (uint256 id) {
        id = _accepted(ALICE, 10_000);
        s.settleOne(PROVIDER, id, 2_000, keccak256("r"));
    }

    function test_cancelJob_reentrantWithdrawDuringRefund_reverts() public {
        _settledJob(); // gives ALICE a withdrawable balance worth stealing twice
        uint256 id = _job(10_000, 1 hours);
        token.arm(address(s.escrow), abi.encodeCall(JobEscrow.withdraw, ()));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
        _assertBooksBalance();
    }

    function test_withdraw_reentrantWithdraw_reverts() public {
        _settledJob();
        token.arm(address(s.escrow), abi.encodeCall(JobEscrow.withdraw, ()));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(ALICE);
        s.escrow.withdraw();
        _assertBooksBalance();
    }

    function test_reclaimExpired_reentrantCancel_reverts() public {
        uint256 a = _job(10_000, 1 hours);
        uint256 b = _job(10_000, 1 hours);
        vm.warp(block.timestamp + 2 hours);
        token.arm(address(s.escrow), abi.encodeCall(JobEscrow.reclaimExpired, (b)));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        s.escrow.reclaimExpired(a);
        _assertBooksBalance();
    }

    function test_sweepFees_reentrantSettle_reverts() public {
        _settledJob();
        uint256 id = _job(10_000, 1 hours);
        vm.prank(PROVIDER);
        s.escrow.acceptJob(id);
        token.arm(
            address(s.escrow),
            abi.encodeCall(
                JobEscrow.settleBatch, (abi.encodePacked(bytes6(uint48(id)), bytes8(uint64(1)), keccak256("x")))
            )
        );
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        s.escrow.sweepFees();
        _assertBooksBalance();
    }

    /// @dev Every other guarded entry point refuses a re-entry from a payout's hook too, before any of its own checks
    /// (each would fail later on the caller, which the guard must not rely on).
    function _expectWithdrawRefusesReentryInto(bytes memory call) internal {
        token.arm(address(s.escrow), call);
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(ALICE);
        s.escrow.withdraw();
        _assertBooksBalance();
    }

    function test_withdraw_reentrantJobCreation_reverts() public {
        _settledJob();
        uint40 deadline = uint40(block.timestamp + 1 hours);
        _expectWithdrawRefusesReentryInto(abi.encodeCall(JobEscrow.createJob, (1, 1000, address(0), deadline, "p")));
        _expectWithdrawRefusesReentryInto(
            abi.encodeCall(
                JobEscrow.createJobWithPermit, (1, 1000, address(0), deadline, "p", deadline, 27, bytes32(0), bytes32(0))
            )
        );
        IJobEscrow.JobRequest[] memory requests = new IJobEscrow.JobRequest[](1);
        _expectWithdrawRefusesReentryInto(abi.encodeCall(JobEscrow.createJobs, (requests)));
    }

    function test_withdraw_reentrantReleaseDisputeOrTimeout_reverts() public {
        uint256 id = _settledJob();
        uint256 batchId = s.escrow.job(id).batchId;
        _expectWithdrawRefusesReentryInto(abi.encodeCall(JobEscrow.releaseBatches, (_ids(batchId))));
        _expectWithdrawRefusesReentryInto(abi.encodeCall(JobEscrow.dispute, (id)));
        _expectWithdrawRefusesReentryInto(abi.encodeCall(JobEscrow.closeTimedOutDispute, (id)));
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Settled, "still settled, undisputed");
    }

    function _ids(uint256 id) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = id;
    }
}
