// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobChannels} from "../../../contracts/interfaces/IJobChannels.sol";
import {JobChannels} from "../../../contracts/market/JobChannels.sol";
import {Channels} from "../../fixtures/contracts/Channels.sol";
import {ChannelsTest} from "../../fixtures/contracts/ChannelsTest.sol";
import {Vm} from "../../fixtures/contracts/Vm.sol";

/// @notice The fallback claim (a signed request and an anchored receipt, no voucher) and its disputes.
contract JobChannelsFallbackTest is ChannelsTest {
    using Channels for JobChannels;

    function setUp() public override {
        super.setUp();
        _deposit(CAROL, PROVIDER, DEPOSIT);
    }

    /// @dev CAROL's signed request `id` to PROVIDER, served at `units` and `price`, anchored in a one-leaf root.
    function _fallback(IJobChannels.UnvouchedClaim memory k) internal returns (bytes32 digest, uint256 charged) {
        vm.prank(PROVIDER);
        return channels.claimUnvouched(k);
    }

    function _expectFallbackRevert(address caller, IJobChannels.UnvouchedClaim memory k, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(caller);
        channels.claimUnvouched(k);
    }

    // ------------------------------------------------------------------------------------------------ claiming ---

    /// @dev PROVIDER redeems CAROL's voucher for `cumulative` covering the requests up to `coveredThrough`.
    function _vouch(uint256 cumulative, uint256 coveredThrough) internal returns (uint256 paid) {
        vm.prank(PROVIDER);
        return channels.claim(bytes32(0), 0, _one(channels.voucher(CAROL_KEY, PROVIDER, cumulative, coveredThrough)));
    }

    function test_attack_fallbackForARequestAVoucherPaid_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        _vouch(PRICE, 1);
        bytes32 digest = channels.requestDigest(k.request);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsRequestVouched.selector, digest, 1, 1)
        );
        assertEq(channels.channel(CAROL, PROVIDER).balance, DEPOSIT - PRICE, "paid once, by the voucher");
        // A request above the voucher's coverage still has the fallback.
        (, uint256 charged) = _fallback(_served(2, UNITS, PRICE));
        assertEq(charged, PRICE, "request 2 was not covered");
    }

    function test_attack_voucherCoveringAFallbackClaim_doesNotPayItAgain() public {
        (, uint256 charged) = _fallback(_served(1, UNITS, PRICE));
        assertEq(channels.channel(CAROL, PROVIDER).spent, PRICE, "a fallback charge counts as spent");
        // CAROL then vouches for requests 1 and 2 at their full price: only request 2's part is paid.
        uint256 paid = _vouch(2 * PRICE, 2);
        assertEq(paid, PRICE, "request 1 is not paid twice");
        IJobChannels.ChannelView memory c = channels.channel(CAROL, PROVIDER);
        assertEq(c.balance, DEPOSIT - 2 * PRICE, "two requests paid in all");
        assertEq(c.spent, 2 * PRICE, "spent");
        assertEq(c.coveredThrough, 2, "coverage");
        assertEq(charged + paid, 2 * PRICE, "exactly the two prices");
    }

    function test_claim_voucherCoverageBackwards_reverts() public {
        _vouch(PRICE, 5);
        IJobChannels.SignedVoucher memory back = channels.voucher(CAROL_KEY, PROVIDER, 2 * PRICE, 4);
        _expectClaimRevert(
            PROVIDER,
            _one(back),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidCoverage.selector, CAROL, 4, 5)
        );
        uint256 tooFar = uint256(type(uint40).max) + 1;
        IJobChannels.SignedVoucher memory far = channels.voucher(CAROL_KEY, PROVIDER, 2 * PRICE, tooFar);
        _expectClaimRevert(
            PROVIDER, _one(far), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidCoverage.selector, CAROL, tooFar, 5)
        );
        // The same coverage with more money is a top-up for the same requests (a price correction): accepted.
        assertEq(_vouch(2 * PRICE, 5), PRICE, "same coverage, higher amount");
    }

    function test_claimUnvouched_chargesUnitsAtTheRateAndHoldsTheProvidersPart() public {
        (bytes32 digest, uint256 charged) = _fallback(_served(1, UNITS, PRICE));
        assertEq(charged, PRICE, "units x rate");
        assertEq(channels.channel(CAROL, PROVIDER).balance, DEPOSIT - PRICE, "left the channel");
        assertEq(channels.accruedFees(), FEE, "fee at claim");
        IJobChannels.ClaimView memory c = channels.claimOf(digest);
        assertTrue(c.status == IJobChannels.ClaimStatus.Held, "held");
        assertEq(c.held, PRICE - FEE, "held part");
        assertEq(channels.balanceOf(PROVIDER), 0, "not withdrawable yet");
        vm.expectRevert(
            abi.encodeWithSelector(IJobChannels.JobChannelsDisputeWindowOpen.selector, digest, block.timestamp + 600)
        );
        channels.releaseClaims(_digests(digest));
        vm.warp(block.timestamp + 600);
        channels.releaseClaims(_digests(digest));
        channels.releaseClaims(_digests(digest)); // released claims are skipped
        assertEq(channels.balanceOf(PROVIDER), PRICE - FEE, "released once");
        _assertChannelBooks(_clients(), _digests(digest));
    }

    function test_claimUnvouched_sameRequestTwice_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        (bytes32 digest,) = _fallback(k);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsRequestAlreadyClaimed.selector, digest)
        );
        // Nor through another root holding the same request's receipt at other units.
        IJobChannels.UnvouchedClaim memory again = _served(1, UNITS - 1, PRICE);
        _expectFallbackRevert(
            PROVIDER, again, abi.encodeWithSelector(IJobChannels.JobChannelsRequestAlreadyClaimed.selector, digest)
        );
        assertEq(channels.channel(CAROL, PROVIDER).balance, DEPOSIT - PRICE, "charged once");
    }

    function test_claimUnvouched_requestSignedByAnotherKey_reverts() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(DAVE_KEY, r), UNITS, PRICE);
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 1);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsInvalidRequestSignature.selector, CAROL)
        );
    }

    function test_claimUnvouched_requestAlteredAfterSigning_reverts() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        bytes memory sig = channels.signRequest(CAROL_KEY, r);
        r.maxUnitsMilli = 50_000; // the provider raises the cap the client signed
        IJobChannels.UnvouchedClaim memory k = channels.single(r, sig, 20_000, 40e18);
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 1);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsInvalidRequestSignature.selector, CAROL)
        );
    }

    function test_claimUnvouched_byAnotherProvider_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        _expectFallbackRevert(
            OTHER_PROVIDER,
            k,
            abi.encodeWithSelector(IJobChannels.JobChannelsNotRequestProvider.selector, OTHER_PROVIDER, PROVIDER)
        );
        _expectFallbackRevert(
            STRANGER, k, abi.encodeWithSelector(IJobChannels.JobChannelsNotRequestProvider.selector, STRANGER, PROVIDER)
        );
    }

    function test_claimUnvouched_unitsZeroOrAboveTheRequest_revert() public {
        _expectFallbackRevert(
            PROVIDER,
            _served(1, 10_001, 1e18),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidUnits.selector, 10_001, 10_000)
        );
        _expectFallbackRevert(
            PROVIDER, _served(2, 0, 0), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidUnits.selector, 0, 10_000)
        );
    }

    function test_claimUnvouched_priceAboveTheRate_chargesAtTheRate() public {
        (, uint256 charged) = _fallback(_served(1, UNITS, 1_000e18));
        assertEq(charged, PRICE, "capped at units x rate");
        (, uint256 lower) = _fallback(_served(2, UNITS, 3e18));
        assertEq(lower, 3e18, "the receipt's lower price");
    }

    function test_claimUnvouched_rootNotAnchoredByTheProvider_reverts() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(CAROL_KEY, r), UNITS, PRICE);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsUnknownRoot.selector, PROVIDER, k.root)
        );
        vm.prank(OTHER_PROVIDER);
        channels.anchorRoot(k.root, 1); // someone else's anchor proves nothing for PROVIDER
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsUnknownRoot.selector, PROVIDER, k.root)
        );
    }

    function test_claimUnvouched_anchoredAfterTheDeadline_reverts() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(CAROL_KEY, r), UNITS, PRICE);
        vm.warp(uint256(r.deadline) + 1);
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 1);
        _expectFallbackRevert(
            PROVIDER,
            k,
            abi.encodeWithSelector(
                IJobChannels.JobChannelsAnchoredAfterDeadline.selector, k.root, block.timestamp, r.deadline
            )
        );
    }

    function test_claimUnvouched_anchoredAtTheDeadline_succeeds() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(CAROL_KEY, r), UNITS, PRICE);
        vm.warp(r.deadline);
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 1);
        vm.warp(uint256(r.deadline) + 1 days);
        (, uint256 charged) = _fallback(k);
        assertEq(charged, PRICE, "claimed later from a timely anchor");
    }

    function test_claimUnvouched_proofOfAnotherLeaf_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        k.unitsMilli = UNITS + 1; // not what the anchored receipt says
        bytes32 leaf = channels.receiptLeaf(channels.requestDigest(k.request), PROVIDER, UNITS + 1, PRICE, k.receiptHash);
        _expectFallbackRevert(
            PROVIDER, k, abi.encodeWithSelector(IJobChannels.JobChannelsInvalidProof.selector, k.root, leaf)
        );
    }

    function test_claimUnvouched_twoLeafTree_verifiesTheProof() public {
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 7);
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(CAROL_KEY, r), UNITS, PRICE);
        Channels.pairWith(k, k.root, keccak256("another receipt"));
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 2);
        (, uint256 charged) = _fallback(k);
        assertEq(charged, PRICE, "proven under a two-leaf root");
    }

    function test_claimUnvouched_aboveTheChannelBalance_reverts() public {
        channels.setFeeBps(0);
        IJobChannels.JobRequest memory r = Channels.request(CAROL, PROVIDER, 1);
        r.maxUnitsMilli = 60_000;
        IJobChannels.UnvouchedClaim memory k = channels.single(r, channels.signRequest(CAROL_KEY, r), 60_000, 120e18);
        vm.prank(PROVIDER);
        channels.anchorRoot(k.root, 1);
        _expectFallbackRevert(
            PROVIDER,
            k,
            abi.encodeWithSelector(IJobChannels.JobChannelsInsufficientBalance.selector, CAROL, PROVIDER, 120e18, DEPOSIT)
        );
    }

    function test_claimUnvouched_unpricedModel_reverts() public {
        s.models.setEnabled(1, false);
        s.models.setRate(1, 0);
        _expectFallbackRevert(
            PROVIDER, _served(1, UNITS, PRICE), abi.encodeWithSelector(IJobChannels.JobChannelsModelNotPriced.selector, 1)
        );
    }

    function test_claimUnvouched_heldPartSurvivesTheClientsWithdrawal() public {
        (bytes32 digest,) = _fallback(_served(1, UNITS, PRICE));
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        vm.prank(CAROL);
        assertEq(channels.withdrawChannel(PROVIDER), DEPOSIT - PRICE, "the claim is not the client's to take");
        channels.releaseClaims(_digests(digest));
        assertEq(channels.balanceOf(PROVIDER), PRICE - FEE, "provider still paid");
        _assertChannelBooks(_clients(), _digests(digest));
    }

    function test_claimUnvouched_afterTheChannelClosed_reverts() public {
        IJobChannels.UnvouchedClaim memory k = _served(1, UNITS, PRICE);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        uint256 closesAt = block.timestamp + 2 hours;
        vm.warp(closesAt);
        _expectFallbackRevert(
            PROVIDER,
            k,
            abi.encodeWithSelector(IJobChannels.JobChannelsChannelClosed.selector, CAROL, PROVIDER, closesAt)
        );
    }

    // ----------------------------------------------------------------------------------------------- disputes ---

    function _disputed() internal returns (bytes32 digest) {
        (digest,) = _fallback(_served(1, UNITS, PRICE));
        vm.prank(CAROL);
        channels.dispute(digest);
    }

    function test_dispute_holdsTheClaimAndTakesTheBond() public {
        uint256 before = s.token.balanceOf(CAROL);
        bytes32 digest = _disputed();
        IJobChannels.ClaimView memory c = channels.claimOf(digest);
        assertTrue(c.status == IJobChannels.ClaimStatus.Disputed, "disputed");
        assertEq(c.bond, 1e18, "bond");
        assertEq(s.token.balanceOf(CAROL), before - 1e18, "bond paid");
        vm.warp(block.timestamp + 600);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsUnexpectedClaimStatus.selector, digest, IJobChannels.ClaimStatus.Disputed
            )
        );
        channels.releaseClaims(_digests(digest));
        _assertChannelBooks(_clients(), _digests(digest));
    }

    function test_dispute_byAnyoneButTheClient_orAfterTheWindow_reverts() public {
        (bytes32 digest,) = _fallback(_served(1, UNITS, PRICE));
        vm.prank(DAVE);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNotClient.selector, digest, DAVE));
        channels.dispute(digest);
        vm.warp(block.timestamp + 600);
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(IJobChannels.JobChannelsDisputeWindowClosed.selector, digest, block.timestamp)
        );
        channels.dispute(digest);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsUnknownClaim.selector, bytes32(uint256(1))));
        channels.dispute(bytes32(uint256(1)));
    }

    function test_resolveDispute_splitsTheHeldPartAndReturnsTheBond() public {
        bytes32 digest = _disputed();
        channels.resolveDispute(digest, 2_500);
        uint256 held = PRICE - FEE;
        assertEq(channels.balanceOf(PROVIDER), (held * 2_500) / 10_000, "provider share");
        assertEq(channels.balanceOf(CAROL), held - (held * 2_500) / 10_000 + 1e18, "client share + bond");
        channels.resolveDispute(digest, 10_000); // already resolved: skipped
        assertEq(channels.balanceOf(PROVIDER), (held * 2_500) / 10_000, "resolved once");
        vm.prank(CAROL);
        channels.withdraw();
        _assertChannelBooks(_clients(), _digests(digest));
    }

    function test_resolveDispute_providerWins_getsTheBond() public {
        bytes32 digest = _disputed();
        channels.resolveDispute(digest, 10_000);
        assertEq(channels.balanceOf(PROVIDER), PRICE - FEE + 1e18, "held + bond");
        assertEq(channels.balanceOf(CAROL), 0, "client nothing");
    }

    function test_resolveDispute_byNonOwnerOrBadShare_reverts() public {
        bytes32 digest = _disputed();
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        channels.resolveDispute(digest, 0);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsInvalidShare.selector, 10_001));
        channels.resolveDispute(digest, 10_001);
    }

    function test_closeTimedOutDispute_paysTheProvider_andALateResolutionIsSkipped() public {
        bytes32 digest = _disputed();
        uint256 timesOutAt = block.timestamp + 3600;
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsDisputeNotTimedOut.selector, digest, timesOutAt));
        channels.closeTimedOutDispute(digest);
        vm.warp(timesOutAt);
        channels.closeTimedOutDispute(digest);
        assertEq(channels.balanceOf(PROVIDER), PRICE - FEE + 1e18, "held + bond to the provider");
        channels.resolveDispute(digest, 0);
        assertEq(channels.balanceOf(CAROL), 0, "the late resolution moved nothing");
        _assertChannelBooks(_clients(), _digests(digest));
    }

    function test_releaseAndTimeout_unknownOrUndisputedClaim_revert() public {
        bytes32 unknown = keccak256("no such request");
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsUnknownClaim.selector, unknown));
        channels.releaseClaims(_digests(unknown));
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsUnknownClaim.selector, unknown));
        channels.closeTimedOutDispute(unknown);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsUnknownClaim.selector, unknown));
        channels.resolveDispute(unknown, 0);
        (bytes32 digest,) = _fallback(_served(1, UNITS, PRICE));
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsUnexpectedClaimStatus.selector, digest, IJobChannels.ClaimStatus.Held
            )
        );
        channels.closeTimedOutDispute(digest);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsUnexpectedClaimStatus.selector, digest, IJobChannels.ClaimStatus.Held
            )
        );
        channels.resolveDispute(digest, 0);
    }

    // --------------------------------------------------------------------------------------------------- fuzz ---

    /// @dev Any units, receipt price, rate and fee: charge = min(price, units x rate), fee + held == charge, and the
    /// channel loses exactly the charge.
    function testFuzz_claimUnvouched_moneyIsExact(uint64 units, uint256 price, uint256 rate, uint256 feeBps) public {
        units = uint64(bound(units, 1, 10_000));
        rate = bound(rate, 1, 10e18);
        price = bound(price, 0, 1_000e18);
        feeBps = bound(feeBps, 0, 2000);
        s.models.setRate(1, rate);
        channels.setFeeBps(feeBps);
        uint256 atRate = (uint256(units) * rate) / 1000;
        uint256 expected = price < atRate ? price : atRate;
        (bytes32 digest, uint256 charged) = _fallback(_served(1, units, price));
        assertEq(charged, expected, "charge");
        assertEq(channels.claimOf(digest).held + channels.accruedFees(), charged, "held + fee == charge");
        assertEq(channels.channel(CAROL, PROVIDER).balance, DEPOSIT - charged, "channel debited by the charge");
        _assertChannelBooks(_clients(), _digests(digest));
    }
    // ------------------------------------------------- balances that add up, tokens and events that only move when due ---

    /// @dev How many of `logs` are `topic` events emitted by `emitter`.
    function _count(Vm.Log[] memory logs, address emitter, bytes32 topic) internal pure returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics.length > 0 && logs[i].topics[0] == topic) n++;
        }
    }

    function test_releaseClaims_aReleasedClaimInTheListDoesNotStopTheRest() public {
        (bytes32 d1,) = _fallback(_served(1, UNITS, PRICE));
        (bytes32 d2,) = _fallback(_served(2, UNITS, PRICE));
        vm.warp(block.timestamp + 600);
        channels.releaseClaims(_digests(d1));
        bytes32[] memory both = new bytes32[](2);
        (both[0], both[1]) = (d1, d2);
        channels.releaseClaims(both);
        assertTrue(channels.claimOf(d2).status == IJobChannels.ClaimStatus.Released, "the claim after a released one");
        assertEq(channels.balanceOf(PROVIDER), 2 * (PRICE - FEE), "each held part paid once");
        _assertChannelBooks(_clients(), both);
    }

    function test_dispute_aClaimAlreadyDisputed_reverts() public {
        bytes32 digest = _disputed();
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsUnexpectedClaimStatus.selector, digest, IJobChannels.ClaimStatus.Disputed
            )
        );
        channels.dispute(digest);
    }

    function test_resolveDispute_sharesAddToBalancesAlreadyHeld() public {
        // The provider already earned from a voucher (covering no request), the client already got a refund.
        _vouch(1e18, 0);
        uint256 providerBefore = channels.balanceOf(PROVIDER);
        assertGt(providerBefore, 0, "earnings before");
        bytes32 d1 = _disputed();
        channels.resolveDispute(d1, 0);
        uint256 carolBefore = channels.balanceOf(CAROL);
        assertEq(carolBefore, PRICE - FEE + 1e18, "refund and bond before");
        (bytes32 d2,) = _fallback(_served(2, UNITS, PRICE));
        vm.prank(CAROL);
        channels.dispute(d2);
        channels.resolveDispute(d2, 5_000);
        uint256 held = PRICE - FEE;
        assertEq(channels.balanceOf(PROVIDER), providerBefore + held / 2, "the provider's share adds to its earnings");
        assertEq(channels.balanceOf(CAROL), carolBefore + held - held / 2 + 1e18, "the client's share and bond add up");
    }

    function test_closeTimedOutDispute_addsToTheProvidersEarnings_andReportsTheBond() public {
        _vouch(1e18, 0);
        uint256 providerBefore = channels.balanceOf(PROVIDER);
        bytes32 digest = _disputed();
        vm.warp(block.timestamp + 3600);
        vm.recordLogs();
        channels.closeTimedOutDispute(digest);
        assertEq(channels.balanceOf(PROVIDER), providerBefore + PRICE - FEE + 1e18, "held + bond on top of earnings");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_count(logs, address(channels), IJobChannels.DisputeBondPaid.selector), 1, "DisputeBondPaid");
    }

    function test_withoutABond_disputesMoveNoTokenAndPayNoBond() public {
        channels.setDisputeBond(0);
        (bytes32 d1,) = _fallback(_served(1, UNITS, PRICE));
        (bytes32 d2,) = _fallback(_served(2, UNITS, PRICE));
        vm.recordLogs();
        vm.startPrank(CAROL);
        channels.dispute(d1);
        channels.dispute(d2);
        vm.stopPrank();
        channels.resolveDispute(d1, 5_000);
        vm.warp(block.timestamp + 3600);
        channels.closeTimedOutDispute(d2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_count(logs, address(s.token), IERC20.Transfer.selector), 0, "no zero-amount bond transfer");
        assertEq(_count(logs, address(channels), IJobChannels.DisputeBondPaid.selector), 0, "no bond, no DisputeBondPaid");
    }

    function test_withdrawChannel_ofAnEmptyChannel_movesNoToken() public {
        vm.prank(DAVE);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        vm.recordLogs();
        vm.prank(DAVE);
        assertEq(channels.withdrawChannel(PROVIDER), 0, "nothing to pay");
        assertEq(_count(vm.getRecordedLogs(), address(s.token), IERC20.Transfer.selector), 0, "no zero-amount transfer");
    }
}
