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
}
