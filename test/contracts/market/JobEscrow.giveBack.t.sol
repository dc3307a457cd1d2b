// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";
import {Market, MarketTest, Record} from "../../fixtures/contracts/MarketTest.sol";
import {ReentrantToken} from "../../fixtures/contracts/ReentrantToken.sol";

/// @notice Giving back an accepted job (docs/SECURITY.md item A7): only the accepting provider, only an Accepted
/// job, the whole escrow to the client and nothing else moved, the exposure released, and the job closed for good.
contract JobEscrowGiveBackTest is MarketTest {
    using Market for Market.System;

    /// @dev ALICE's job of 10,000 milli-units of llama3.2 (20 AITBC escrow), accepted by PROVIDER.
    function _acceptedJob() internal returns (uint256 id) {
        id = _accepted(ALICE, 10_000);
    }

    function _giveBack(address caller, uint256 id) internal {
        vm.prank(caller);
        s.escrow.giveBackJob(id);
    }

    function _expectStatus(uint256 id, IJobEscrow.JobStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, status));
    }

    // ------------------------------------------------------------------------------------------------ callers ---

    function test_attack_strangerGivesBack_reverts() public {
        uint256 id = _acceptedJob();
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotProvider.selector, id, STRANGER));
        _giveBack(STRANGER, id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Accepted, "still accepted");
    }

    function test_attack_clientGivesBack_reverts() public {
        uint256 id = _acceptedJob();
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotProvider.selector, id, ALICE));
        _giveBack(ALICE, id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Accepted, "still accepted");
    }

    function test_attack_otherProviderGivesBack_reverts() public {
        uint256 id = _acceptedJob();
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotProvider.selector, id, OTHER_PROVIDER));
        _giveBack(OTHER_PROVIDER, id);
        assertEq(s.escrow.exposureOf(PROVIDER), s.escrow.job(id).escrow, "exposure untouched");
    }

    function test_unknownJob_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownJob.selector, 99));
        _giveBack(PROVIDER, 99);
    }

    // ----------------------------------------------------------------------------------------------- statuses ---

    function test_attack_giveBackOpenJob_reverts() public {
        uint256 id = _job(10_000, 1 hours);
        _expectStatus(id, IJobEscrow.JobStatus.Open);
        _giveBack(PROVIDER, id);
    }

    function test_attack_giveBackSettledJob_reverts() public {
        (uint256 id,) = _settled();
        _expectStatus(id, IJobEscrow.JobStatus.Settled);
        _giveBack(PROVIDER, id);
    }

    function test_attack_giveBackDisputedJob_reverts() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        _expectStatus(id, IJobEscrow.JobStatus.Disputed);
        _giveBack(PROVIDER, id);
    }

    function test_attack_giveBackCancelledJob_reverts() public {
        uint256 id = _job(10_000, 1 hours);
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
        _expectStatus(id, IJobEscrow.JobStatus.Cancelled);
        _giveBack(PROVIDER, id);
    }

    function test_attack_giveBackExpiredJob_reverts() public {
        uint256 id = _acceptedJob();
        vm.warp(block.timestamp + 1 hours + 1);
        s.escrow.reclaimExpired(id);
        _expectStatus(id, IJobEscrow.JobStatus.Expired);
        _giveBack(PROVIDER, id);
    }

    function test_attack_giveBackTwice_reverts() public {
        uint256 id = _acceptedJob();
        _giveBack(PROVIDER, id);
        uint256 aliceAfter = s.token.balanceOf(ALICE);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        _giveBack(PROVIDER, id);
        assertEq(s.token.balanceOf(ALICE), aliceAfter, "refunded once");
    }

    // ---------------------------------------------------------------------------------------------- the money ---

    /// @dev What may move when a job is given back: token holdings, withdrawable balances, a payout, the bond.
    struct Books {
        uint256 aliceTokens;
        uint256 bobTokens;
        uint256 providerTokens;
        uint256 treasuryTokens;
        uint256 escrowTokens;
        uint256 registryTokens;
        uint256 aliceBalance;
        uint256 providerBalance;
        uint256 treasuryBalance;
        uint256 payout;
        uint256 bond;
        uint256 exposure;
    }

    function _books(uint256 batchId) internal view returns (Books memory b) {
        b.aliceTokens = s.token.balanceOf(ALICE);
        b.bobTokens = s.token.balanceOf(BOB);
        b.providerTokens = s.token.balanceOf(PROVIDER);
        b.treasuryTokens = s.token.balanceOf(TREASURY);
        b.escrowTokens = s.token.balanceOf(address(s.escrow));
        b.registryTokens = s.token.balanceOf(address(s.providers));
        b.aliceBalance = s.escrow.balanceOf(ALICE);
        b.providerBalance = s.escrow.balanceOf(PROVIDER);
        b.treasuryBalance = s.escrow.balanceOf(TREASURY);
        (, b.payout,,) = s.escrow.payoutOf(batchId);
        b.bond = s.providers.provider(PROVIDER).bond;
        b.exposure = s.escrow.exposureOf(PROVIDER);
    }

    /// @dev With a settled batch inside its window and another accepted job around, giving back moves the job's
    /// escrow to the client and nothing else: treasury, provider (tokens, escrow balance, payout), bond unchanged.
    function test_giveBack_refundsExactlyTheEscrowAndNothingElseMoves() public {
        (, uint256 batchId) = _settled();
        uint256 other = _accepted(BOB, 4_000);
        uint256 id = _acceptedJob();
        uint256 escrowed = s.escrow.job(id).escrow;
        assertEq(escrowed, 20e18, "10 units x 2 AITBC");
        Books memory b = _books(batchId);

        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobGivenBack(id, PROVIDER, ALICE, escrowed);
        _giveBack(PROVIDER, id);

        Books memory a = _books(batchId);
        assertEq(a.aliceTokens, b.aliceTokens + escrowed, "client refunded the whole escrow at once");
        assertEq(a.escrowTokens, b.escrowTokens - escrowed, "escrow paid out exactly that");
        assertEq(a.bobTokens, b.bobTokens, "other client unchanged");
        assertEq(a.providerTokens, b.providerTokens, "provider tokens unchanged");
        assertEq(a.treasuryTokens, b.treasuryTokens, "treasury tokens unchanged");
        assertEq(a.registryTokens, b.registryTokens, "registry unchanged");
        assertEq(a.aliceBalance, b.aliceBalance, "no withdrawable balance credited");
        assertEq(a.providerBalance, b.providerBalance, "provider balance unchanged");
        assertEq(a.treasuryBalance, b.treasuryBalance, "treasury balance unchanged: no fee");
        assertEq(a.payout, b.payout, "settled payout unchanged");
        assertEq(a.bond, b.bond, "nothing slashed");
        assertEq(a.exposure, b.exposure - escrowed, "exposure down by exactly the escrow");

        IJobEscrow.JobView memory j = s.escrow.job(id);
        assertTrue(j.status == IJobEscrow.JobStatus.GivenBack, "status GivenBack");
        assertEq(j.escrow, escrowed, "the job still reports what it escrowed");
        assertTrue(s.escrow.job(other).status == IJobEscrow.JobStatus.Accepted, "other job untouched");
        _assertBooksBalance();
    }

    /// @dev An accepted job past its deadline may still be given back (the client gets the same refund it would
    /// reclaim), and then it cannot be reclaimed a second time.
    function test_giveBackAfterDeadline_refundsOnce() public {
        uint256 id = _acceptedJob();
        vm.warp(block.timestamp + 2 hours);
        uint256 before = s.token.balanceOf(ALICE);
        _giveBack(PROVIDER, id);
        assertEq(s.token.balanceOf(ALICE) - before, 20e18, "refunded");
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        s.escrow.reclaimExpired(id);
        assertEq(s.token.balanceOf(ALICE) - before, 20e18, "not refunded twice");
        _assertBooksBalance();
    }

    // ----------------------------------------------------------------------------------------------- exposure ---

    /// @dev A provider at its exposure cap gives a job back and can accept again, up to the cap and not beyond.
    function test_giveBack_makesRoomUnderTheExposureCap() public {
        s.providers.setExposureMultiple(1); // 100 AITBC bond: cap 100 AITBC
        uint256 first = _job(30_000, 1 hours); // 60 AITBC
        uint256 second = _job(30_000, 1 hours);
        uint256 third = _job(30_000, 1 hours);
        s.accept(PROVIDER, first);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowExposureCapExceeded.selector, PROVIDER, 120e18, 100e18)
        );
        s.accept(PROVIDER, second);

        _giveBack(PROVIDER, first);
        assertEq(s.escrow.exposureOf(PROVIDER), 0, "exposure released");
        s.accept(PROVIDER, second);
        assertEq(s.escrow.exposureOf(PROVIDER), 60e18, "the second job fits");
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowExposureCapExceeded.selector, PROVIDER, 120e18, 100e18)
        );
        s.accept(PROVIDER, third);
    }

    /// @dev An unbonding provider holding an accepted job cannot take its bond out; once it gives the job back it
    /// can, and the client has its escrow.
    function test_giveBack_letsAnUnbondingProviderWithdrawItsBond() public {
        s.providers.setUnbondingPeriod(1 hours);
        uint256 id = _job(10_000, 1 days);
        s.accept(PROVIDER, id);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 hours + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryExposureOutstanding.selector, PROVIDER, 20e18)
        );
        vm.prank(PROVIDER);
        s.providers.withdrawBond();

        uint256 aliceBefore = s.token.balanceOf(ALICE);
        _giveBack(PROVIDER, id);
        uint256 providerBefore = s.token.balanceOf(PROVIDER);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        assertEq(s.token.balanceOf(PROVIDER) - providerBefore, Market.MIN_BOND, "whole bond out");
        assertEq(s.token.balanceOf(ALICE) - aliceBefore, 20e18, "client refunded");
        _assertBooksBalance();
    }

    // --------------------------------------------------------------------------------------- closed for good ---

    function test_attack_settleGivenBackJob_reverts() public {
        uint256 id = _acceptedJob();
        _giveBack(PROVIDER, id);
        Record[] memory records = new Record[](1);
        records[0] = Record(id, 5_000, keccak256("after give-back"));
        bytes memory items = Market.pack(s, PROVIDER, records);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        vm.prank(PROVIDER);
        s.escrow.settleBatch(items);
        assertEq(s.escrow.balanceOf(PROVIDER), 0, "nothing paid");
    }

    function test_attack_disputeGivenBackJob_reverts() public {
        uint256 id = _acceptedJob();
        _giveBack(PROVIDER, id);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        vm.prank(ALICE);
        s.escrow.dispute(id);
    }

    function test_attack_reclaimOrCancelGivenBackJob_reverts() public {
        uint256 id = _acceptedJob();
        _giveBack(PROVIDER, id);
        vm.warp(block.timestamp + 2 hours);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        s.escrow.reclaimExpired(id);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
        _expectStatus(id, IJobEscrow.JobStatus.GivenBack);
        vm.prank(OTHER_PROVIDER);
        s.escrow.acceptJob(id);
        _assertBooksBalance();
    }
}

/// @notice Giving back through a token whose transfer re-enters the escrow: every re-entry is refused and the books
/// still balance (checklist item 1 for the give-back refund).
contract JobEscrowGiveBackReentrancyTest is MarketTest {
    using Market for Market.System;

    ReentrantToken internal token;

    function setUp() public override {
        token = new ReentrantToken(_actors());
        s = Market.deploy(token, address(this), TREASURY, false);
        _openMarket();
    }

    function _armAndGiveBack(uint256 id, bytes memory reentry) internal {
        token.arm(address(s.escrow), reentry);
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(PROVIDER);
        s.escrow.giveBackJob(id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Accepted, "rolled back: still accepted");
        _assertBooksBalance();
    }

    function test_giveBack_reentrantGiveBackOfTheSameJob_reverts() public {
        uint256 id = _accepted(ALICE, 10_000);
        _armAndGiveBack(id, abi.encodeCall(JobEscrow.giveBackJob, (id)));
    }

    function test_giveBack_reentrantGiveBackOfAnotherJob_reverts() public {
        uint256 id = _accepted(ALICE, 10_000);
        uint256 other = _accepted(ALICE, 10_000);
        _armAndGiveBack(id, abi.encodeCall(JobEscrow.giveBackJob, (other)));
        assertTrue(s.escrow.job(other).status == IJobEscrow.JobStatus.Accepted, "other job untouched");
    }

    function test_giveBack_reentrantWithdrawDuringRefund_reverts() public {
        uint256 settled = _accepted(ALICE, 10_000);
        s.settleOne(PROVIDER, settled, 2_000, keccak256("r"));
        uint256 id = _accepted(ALICE, 10_000);
        _armAndGiveBack(id, abi.encodeCall(JobEscrow.withdraw, ()));
    }

    function test_giveBack_reentrantSettleOfTheGivenBackJob_reverts() public {
        uint256 id = _accepted(ALICE, 10_000);
        _armAndGiveBack(
            id,
            abi.encodeCall(
                JobEscrow.settleBatch, (abi.encodePacked(bytes6(uint48(id)), bytes8(uint64(1)), keccak256("x")))
            )
        );
    }

    /// @dev Unarmed, the same token refunds normally: the reverts above come from the re-entry, not the token.
    function test_giveBack_unarmedHostileToken_refunds() public {
        uint256 id = _accepted(ALICE, 10_000);
        uint256 before = token.balanceOf(ALICE);
        vm.prank(PROVIDER);
        s.escrow.giveBackJob(id);
        assertEq(token.balanceOf(ALICE) - before, 20e18, "refunded");
        _assertBooksBalance();
    }
}
