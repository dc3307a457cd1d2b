// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobChannels} from "../../../contracts/interfaces/IJobChannels.sol";
import {JobChannels} from "../../../contracts/market/JobChannels.sol";
import {Channels} from "../../fixtures/contracts/Channels.sol";
import {ChannelsTest} from "../../fixtures/contracts/ChannelsTest.sol";
import {Market} from "../../fixtures/contracts/MarketTest.sol";
import {ReentrantToken} from "../../fixtures/contracts/ReentrantToken.sol";

/// @notice Checklist item 1 for the channel mode: a token hook that re-enters during a payout is refused, and the
/// books still balance.
contract JobChannelsReentrancyTest is ChannelsTest {
    using Channels for JobChannels;

    ReentrantToken internal token;

    /// @dev The channel market around a token whose `transfer` calls back into the channels once armed.
    function setUp() public override {
        token = new ReentrantToken(_actors());
        s = Market.deploy(token, address(this), TREASURY, false);
        _openMarket();
        _deployChannels();
        CAROL = vm.addr(CAROL_KEY);
        DAVE = vm.addr(DAVE_KEY);
        _fund(CAROL);
        _fund(DAVE);
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 40e18)));
    }

    function test_withdraw_reentrantWithdraw_reverts() public {
        token.arm(address(channels), abi.encodeCall(JobChannels.withdraw, ()));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        vm.prank(PROVIDER);
        channels.withdraw();
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_withdrawChannel_reentrantWithdrawChannel_reverts() public {
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        token.arm(address(channels), abi.encodeCall(JobChannels.withdrawChannel, (PROVIDER)));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        vm.prank(CAROL);
        channels.withdrawChannel(PROVIDER);
        assertEq(channels.channel(CAROL, PROVIDER).balance, 60e18, "nothing left the channel");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_sweepFees_reentrantClaim_reverts() public {
        IJobChannels.SignedVoucher[] memory vs = _one(channels.voucher(CAROL_KEY, PROVIDER, 50e18));
        token.arm(address(channels), abi.encodeCall(JobChannels.claim, (bytes32(0), 0, vs)));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        channels.sweepFees();
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_withdraw_reentrantDeposit_reverts() public {
        token.arm(address(channels), abi.encodeCall(JobChannels.deposit, (CAROL, PROVIDER, 1e18)));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        vm.prank(PROVIDER);
        channels.withdraw();
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    /// @dev The fallback claim and the dispute take their own guard: a payout's hook cannot enter them either (each
    /// would fail later on its caller check, which the guard must not rely on).
    function test_withdraw_reentrantClaimUnvouched_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        token.arm(address(channels), abi.encodeCall(JobChannels.claimUnvouched, (k)));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        vm.prank(PROVIDER);
        channels.withdraw();
        bytes32 digest = channels.requestDigest(k.request);
        assertTrue(channels.claimOf(digest).status == IJobChannels.ClaimStatus.None, "no claim");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_withdraw_reentrantDispute_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        vm.prank(PROVIDER);
        (bytes32 digest,) = channels.claimUnvouched(k);
        token.arm(address(channels), abi.encodeCall(JobChannels.dispute, (digest)));
        vm.expectRevert(IJobChannels.JobChannelsReentrantCall.selector);
        vm.prank(PROVIDER);
        channels.withdraw();
        assertTrue(channels.claimOf(digest).status == IJobChannels.ClaimStatus.Held, "still held, undisputed");
        _assertChannelBooks(_clients(), _digests(digest));
    }
}
