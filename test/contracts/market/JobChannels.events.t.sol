// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobChannels} from "../../../contracts/interfaces/IJobChannels.sol";
import {JobChannels} from "../../../contracts/market/JobChannels.sol";
import {Channels} from "../../fixtures/contracts/Channels.sol";
import {ChannelsTest} from "../../fixtures/contracts/ChannelsTest.sol";

/// @notice Every event of JobChannels, field by field. The relayer, the CLI and the dashboard rebuild a channel's
/// history from these events, so a missing or wrong field is a defect even when the balances are right.
contract JobChannelsEventsTest is ChannelsTest {
    using Channels for JobChannels;

    /// @dev The fixture's channel parameters: dispute window 600 s, dispute timeout 3,600 s, withdrawal delay 2 h,
    /// dispute bond 1 AITBC.
    uint256 internal constant HELD = PRICE - FEE;
    uint256 internal constant BOND = 1e18;

    /// @dev CAROL's request `id` to PROVIDER, served at UNITS and PRICE and anchored, claimed through the fallback.
    function _fallbackClaim(uint256 id) internal returns (bytes32 digest) {
        IJobChannels.UnvouchedClaim memory k = _served(id, UNITS, PRICE);
        digest = channels.requestDigest(k.request);
        vm.expectEmit(address(channels));
        emit IJobChannels.UnvouchedClaimed(digest, CAROL, PROVIDER, UNITS, PRICE, FEE, block.timestamp + 600);
        vm.prank(PROVIDER);
        channels.claimUnvouched(k);
    }

    function _dispute(bytes32 digest) internal {
        vm.expectEmit(address(channels));
        emit IJobChannels.ClaimDisputed(digest, CAROL, HELD, BOND);
        vm.prank(CAROL);
        channels.dispute(digest);
    }

    function test_channelFunds_emitDepositsAndTheWithdrawal() public {
        vm.expectEmit(address(channels));
        emit IJobChannels.ChannelDeposited(CAROL, PROVIDER, CAROL, DEPOSIT, DEPOSIT);
        _deposit(CAROL, PROVIDER, DEPOSIT);
        // Anyone may fund a client's channel: `from` is the payer, `balance` the channel's new total.
        vm.expectEmit(address(channels));
        emit IJobChannels.ChannelDeposited(CAROL, PROVIDER, DAVE, 5e18, DEPOSIT + 5e18);
        vm.prank(DAVE);
        channels.deposit(CAROL, PROVIDER, 5e18);

        vm.expectEmit(address(channels));
        emit IJobChannels.WithdrawalRequested(CAROL, PROVIDER, block.timestamp + 2 hours);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.expectEmit(address(channels));
        emit IJobChannels.WithdrawalCancelled(CAROL, PROVIDER);
        vm.prank(CAROL);
        channels.cancelWithdrawal(PROVIDER);

        vm.warp(block.timestamp + 1 hours);
        vm.expectEmit(address(channels));
        emit IJobChannels.WithdrawalRequested(CAROL, PROVIDER, block.timestamp + 2 hours);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        vm.expectEmit(address(channels));
        emit IJobChannels.ChannelWithdrawn(CAROL, PROVIDER, DEPOSIT + 5e18);
        vm.prank(CAROL);
        channels.withdrawChannel(PROVIDER);
    }

    function test_claim_emitsTheAnchoredRootAndTheClaimTotals() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _deposit(DAVE, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher[] memory vs = _carolAndDave(30e18, 10e18);
        bytes32 root = keccak256("a batch of seven receipts");
        vm.expectEmit(address(channels));
        emit IJobChannels.RootAnchored(PROVIDER, root, 7);
        vm.expectEmit(address(channels));
        emit IJobChannels.VouchersClaimed(PROVIDER, root, 2, 40e18, 1e18);
        vm.prank(PROVIDER);
        channels.claim(root, 7, vs);

        // A claim without a root reports the zero root and anchors nothing; the amount is the increase only.
        vs = _one(channels.voucher(CAROL_KEY, PROVIDER, 50e18));
        vm.expectEmit(address(channels));
        emit IJobChannels.VouchersClaimed(PROVIDER, bytes32(0), 1, 20e18, 0.5e18);
        vm.prank(PROVIDER);
        channels.claim(bytes32(0), 0, vs);

        bytes32 other = keccak256("three more");
        vm.expectEmit(address(channels));
        emit IJobChannels.RootAnchored(PROVIDER, other, 3);
        vm.prank(PROVIDER);
        channels.anchorRoot(other, 3);
    }

    function test_fallbackClaim_emitsTheClaimTheReleaseTheWithdrawalAndTheSweep() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        bytes32 digest = _fallbackClaim(1);
        vm.warp(block.timestamp + 600);
        vm.expectEmit(address(channels));
        emit IJobChannels.ClaimReleased(digest, PROVIDER, HELD);
        channels.releaseClaims(_digests(digest));

        vm.expectEmit(address(channels));
        emit IJobChannels.Withdrawn(PROVIDER, HELD);
        vm.prank(PROVIDER);
        channels.withdraw();
        vm.expectEmit(address(channels));
        emit IJobChannels.FeesSwept(TREASURY, FEE);
        channels.sweepFees();
    }

    function test_disputes_emitTheDisputeTheBondAndEachOutcome() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        bytes32 split = _fallbackClaim(1);
        bytes32 providerWins = _fallbackClaim(2);
        bytes32 timedOut = _fallbackClaim(3);
        _dispute(split);
        _dispute(providerWins);
        _dispute(timedOut);

        // 25 % to the provider: the client keeps the bond.
        uint256 providerPart = (HELD * 2_500) / 10_000;
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeBondPaid(split, CAROL, BOND);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeResolved(split, providerPart, HELD - providerPart);
        channels.resolveDispute(split, 2_500);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeResolutionSkipped(split);
        channels.resolveDispute(split, 10_000);

        // All of it to the provider: the provider takes the bond.
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeBondPaid(providerWins, PROVIDER, BOND);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeResolved(providerWins, HELD, 0);
        channels.resolveDispute(providerWins, 10_000);

        vm.warp(block.timestamp + 3600);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeBondPaid(timedOut, PROVIDER, BOND);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeTimedOut(timedOut, HELD);
        channels.closeTimedOutDispute(timedOut);
        vm.expectEmit(address(channels));
        emit IJobChannels.DisputeResolutionSkipped(timedOut);
        channels.resolveDispute(timedOut, 0);

        vm.expectEmit(address(channels));
        emit IJobChannels.Withdrawn(CAROL, HELD - providerPart + BOND);
        vm.prank(CAROL);
        channels.withdraw();
    }

    function test_parameters_emitTheOldAndTheNewValue() public {
        vm.expectEmit(address(channels));
        emit IJobChannels.ParameterUpdated("feeBps", 250, 100);
        channels.setFeeBps(100);
        vm.expectEmit(address(channels));
        emit IJobChannels.ParameterUpdated("disputeWindow", 600, 1200);
        channels.setDisputeWindow(1200);
        vm.expectEmit(address(channels));
        emit IJobChannels.ParameterUpdated("disputeTimeout", 3600, 7200);
        channels.setDisputeTimeout(7200);
        vm.expectEmit(address(channels));
        emit IJobChannels.ParameterUpdated("withdrawalDelay", 2 hours, 3 hours);
        channels.setWithdrawalDelay(3 hours);
        vm.expectEmit(address(channels));
        emit IJobChannels.ParameterUpdated("disputeBond", BOND, 2e18);
        channels.setDisputeBond(2e18);
        (uint256 feeBps, uint256 window, uint256 timeout, uint256 delay, uint256 bond) = channels.parameters();
        assertEq(feeBps, 100, "fee stored");
        assertEq(window, 1200, "dispute window stored");
        assertEq(timeout, 7200, "dispute timeout stored");
        assertEq(delay, 3 hours, "withdrawal delay stored");
        assertEq(bond, 2e18, "dispute bond stored");
    }
}
