// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice A provider's exposure (accepted escrow, unreleased payouts, held disputes): capped at a multiple of its
/// bond, and keeping the bond in the registry until it is zero (docs/SECURITY.md item 32).
contract JobEscrowExposureTest is MarketTest {
    using Market for Market.System;

    // --------------------------------------------------------------------- item 32: unbonding to escape a slash ---

    /// @dev The provider accepts a long job, starts unbonding and tries to take its bond out when the unbonding
    /// period is over, before settling at the maximum. The bond stays; the DAO's full slash takes all of it.
    function test_attack_unbondThenWithdraw_bondStaysAndIsSlashed() public {
        s.providers.setUnbondingPeriod(1 hours);
        uint256 id = _job(10_000, 1 days);
        s.accept(PROVIDER, id);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 hours + 1);
        uint256 escrowed = s.escrow.job(id).escrow;
        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.ProviderRegistryExposureOutstanding.selector, PROVIDER, escrowed
            )
        );
        vm.prank(PROVIDER);
        s.providers.withdrawBond();

        // Still able to settle (exiting providers are paid), at the client's maximum.
        s.settleOne(PROVIDER, id, 10_000, keccak256("inflated"));
        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.ProviderRegistryExposureOutstanding.selector, PROVIDER, s.escrow.exposureOf(PROVIDER)
            )
        );
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        s.escrow.resolveDispute(id, 0, type(uint128).max);
        assertEq(s.token.balanceOf(TREASURY), Market.MIN_BOND, "the whole bond slashed");
        assertEq(s.providers.provider(PROVIDER).bond, 0, "nothing left to withdraw");
        assertEq(s.escrow.exposureOf(PROVIDER), 0, "no exposure left");
    }

    /// @dev Honest exit: unbonding with an accepted job, the provider settles, waits out the window, releases and
    /// then withdraws its bond and its earnings.
    function test_honestExit_settlesIsPaidAndWithdrawsTheBond() public {
        s.providers.setUnbondingPeriod(1 hours);
        uint256 id = _job(10_000, 1 days);
        s.accept(PROVIDER, id);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        (uint256 batchId,) = s.settleOne(PROVIDER, id, 4_000, keccak256("honest"));
        (, uint256 payout,,) = s.escrow.payoutOf(batchId);
        assertEq(s.escrow.exposureOf(PROVIDER), payout, "only the payout inside its window");
        vm.warp(block.timestamp + 1 hours + 600);
        _release(batchId);
        assertEq(s.escrow.exposureOf(PROVIDER), 0, "released");
        uint256 before = s.token.balanceOf(PROVIDER);
        vm.startPrank(PROVIDER);
        s.providers.withdrawBond();
        s.escrow.withdraw();
        vm.stopPrank();
        assertEq(s.token.balanceOf(PROVIDER) - before, Market.MIN_BOND + payout, "bond and earnings out");
    }

    /// @dev A provider may hold accepted-but-unsettled escrow only up to exposureMultiple x bond.
    function test_attack_acceptBeyondExposureCap_reverts_thenSettlingMakesRoom() public {
        s.providers.setExposureMultiple(1);
        // 100 AITBC bond, cap 100 AITBC: a 60 AITBC job fits, a second one does not.
        uint256 first = _job(30_000, 1 hours);
        uint256 second = _job(30_000, 1 hours);
        s.accept(PROVIDER, first);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowExposureCapExceeded.selector, PROVIDER, 120e18, 100e18)
        );
        s.accept(PROVIDER, second);
        vm.prank(PROVIDER);
        s.providers.increaseBond(20e18);
        s.accept(PROVIDER, second);
        assertEq(s.escrow.exposureOf(PROVIDER), 120e18, "two jobs of escrow");
        (uint256 batchId,) = s.settleOne(PROVIDER, first, 10_000, keccak256("a"));
        (, uint256 payout,,) = s.escrow.payoutOf(batchId);
        assertEq(s.escrow.exposureOf(PROVIDER), 60e18 + payout, "escrow of the second plus the first's payout");
    }

    /// @dev An accepted job that expires and is reclaimed leaves the provider's exposure: the client has its escrow
    /// back, so nothing is at stake any more, and the provider's bond is free again.
    function test_reclaimExpired_ofAnAcceptedJob_releasesTheExposure() public {
        s.providers.setUnbondingPeriod(1 hours);
        uint256 id = _job(10_000, 1 days);
        s.accept(PROVIDER, id);
        uint256 escrowed = s.escrow.job(id).escrow;
        assertEq(s.escrow.exposureOf(PROVIDER), escrowed, "the accepted escrow is exposed");
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 days + 1);
        s.escrow.reclaimExpired(id);
        assertEq(s.escrow.exposureOf(PROVIDER), 0, "the reclaimed escrow left the exposure");
        uint256 before = s.token.balanceOf(PROVIDER);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        assertEq(s.token.balanceOf(PROVIDER), before + Market.MIN_BOND, "the bond is free again");
    }
}
