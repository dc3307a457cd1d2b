// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {ProviderRegistry} from "../../../contracts/market/ProviderRegistry.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice Registration, bonds, unbonding, slashing and the governed minimum bond and unbonding period, from a
/// registry nobody has joined yet.
contract ProviderRegistryTest is MarketTest {
    function setUp() public override {
        _marketBeforeRegistration();
    }

    /// @dev The eight small-order points, the two x = 0 encodings with the sign bit set, and y >= p encodings.
    function test_register_rejectsSmallOrderAndNonCanonicalKeys() public {
        bytes32[14] memory bad = [
            bytes32(0x0100000000000000000000000000000000000000000000000000000000000000),
            0x0100000000000000000000000000000000000000000000000000000000000080,
            0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,
            0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff,
            0x0000000000000000000000000000000000000000000000000000000000000000,
            0x0000000000000000000000000000000000000000000000000000000000000080,
            0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a,
            0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa,
            0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05,
            0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85,
            // y = p (the twin of y = 0), y = p + 1 (twin of the identity), y = 2^255 - 1, with and without sign.
            0xedffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,
            0xeeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,
            0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,
            0xedffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            assertFalse(s.providers.isValidReceiptKey(bad[i]), "key accepted");
            vm.expectRevert(
                abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidReceiptKey.selector, bad[i])
            );
            _register(bad[i], Market.MIN_BOND);
        }
        // y = p - 1 - 1 (largest canonical y not in the table) passes the screening.
        assertTrue(
            s.providers.isValidReceiptKey(0xebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f),
            "largest canonical y"
        );
    }

    function test_register_bondBelowMinimum_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.ProviderRegistryBondTooLow.selector, Market.MIN_BOND - 1, Market.MIN_BOND
            )
        );
        _register(Market.VALID_KEY, Market.MIN_BOND - 1);
    }

    function test_register_twice_reverts() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryAlreadyRegistered.selector, PROVIDER));
        _register(Market.VALID_KEY, Market.MIN_BOND);
    }

    function test_register_unknownModel_reverts() public {
        uint16[] memory served = new uint16[](1);
        served[0] = 9;
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnknownModel.selector, uint16(9)));
        vm.prank(PROVIDER);
        s.providers.register(Market.VALID_KEY, served, Market.MIN_BOND);
    }

    function test_withdrawBond_beforeUnbondingPeriod_reverts() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        assertFalse(s.providers.canServe(PROVIDER, 1), "unbonding cannot serve");
        uint256 unlocksAt = block.timestamp + 1 days;
        vm.warp(unlocksAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryBondLocked.selector, PROVIDER, unlocksAt)
        );
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
    }

    function test_withdrawBond_afterUnbondingPeriod_returnsBond() public {
        uint256 before = s.token.balanceOf(PROVIDER);
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 days);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        assertEq(s.token.balanceOf(PROVIDER), before, "bond back");
        assertFalse(s.providers.provider(PROVIDER).registered, "deregistered");
    }

    function test_withdrawBond_withoutUnbonding_reverts() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotUnbonding.selector, PROVIDER));
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
    }

    /// @dev A second `startUnbonding` is refused and does not restart the clock: the first unbonding's unlock time
    /// holds, and so does the provider's absence from the market.
    function test_startUnbonding_twice_reverts_andKeepsTheClock() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        uint256 since = block.timestamp;
        vm.warp(since + 12 hours);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnbonding.selector, PROVIDER, since));
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        assertEq(s.providers.provider(PROVIDER).unbondingSince, since, "clock kept");
        vm.warp(since + 1 days);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        assertFalse(s.providers.provider(PROVIDER).registered, "withdrawn at the first unbonding's unlock time");
    }

    /// @dev A bond slashed to nothing is withdrawn without a token transfer (no zero-amount `Transfer`), and the
    /// provider is deregistered all the same.
    function test_withdrawBond_ofAFullySlashedBond_movesNoToken() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.prank(address(s.escrow));
        s.providers.recordDisputeLost(PROVIDER, Market.MIN_BOND);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 days);
        vm.recordLogs();
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.BondWithdrawn(PROVIDER, 0);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        _assertNoTokenEvent(vm.getRecordedLogs());
        assertFalse(s.providers.provider(PROVIDER).registered, "deregistered");
    }

    /// @dev A lost dispute against an empty bond still counts, slashes nothing and moves no token.
    function test_recordDisputeLost_ofAnEmptyBond_countsAndMovesNoToken() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.startPrank(address(s.escrow));
        s.providers.recordDisputeLost(PROVIDER, Market.MIN_BOND);
        vm.recordLogs();
        uint256 slashed = s.providers.recordDisputeLost(PROVIDER, 1e18);
        vm.stopPrank();
        _assertNoTokenEvent(vm.getRecordedLogs());
        assertEq(slashed, 0, "nothing left to slash");
        assertEq(s.providers.provider(PROVIDER).disputesLost, 2, "both losses count");
        assertEq(s.token.balanceOf(TREASURY), Market.MIN_BOND, "treasury got the first slash only");
    }

    function test_recordDisputeLost_byNonEscrow_reverts() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorizedEscrow.selector, address(this))
        );
        s.providers.recordDisputeLost(PROVIDER, 1);
    }

    function test_recordDisputeLost_slashCappedAtBond() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        vm.prank(address(s.escrow));
        uint256 slashed = s.providers.recordDisputeLost(PROVIDER, Market.MIN_BOND * 5);
        assertEq(slashed, Market.MIN_BOND, "whole bond");
        assertEq(s.token.balanceOf(address(0x7EA5)), Market.MIN_BOND, "treasury");
        assertEq(s.token.balanceOf(address(s.providers)), 0, "registry empty");
    }

    function test_setMinBond_outOfBounds_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidMinBond.selector, uint256(0)));
        s.providers.setMinBond(0);
        uint256 tooHigh = s.providers.MAX_MIN_BOND() + 1;
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidMinBond.selector, tooHigh));
        s.providers.setMinBond(tooHigh);
    }

    /// @dev A multiple of 0 would stop every provider from accepting; one above the maximum would let a bond cover
    /// more escrow than it can answer for.
    function test_setExposureMultiple_outOfBounds_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidExposureMultiple.selector, uint256(0))
        );
        s.providers.setExposureMultiple(0);
        uint256 tooHigh = s.providers.MAX_EXPOSURE_MULTIPLE() + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidExposureMultiple.selector, tooHigh)
        );
        s.providers.setExposureMultiple(tooHigh);
        s.providers.setExposureMultiple(tooHigh - 1);
        assertEq(s.providers.exposureMultiple(), tooHigh - 1, "the maximum itself is allowed");
    }

    function test_setUnbondingPeriod_outOfBounds_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidUnbondingPeriod.selector, uint256(59))
        );
        s.providers.setUnbondingPeriod(59);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidUnbondingPeriod.selector, 366 days)
        );
        s.providers.setUnbondingPeriod(366 days);
    }

    function test_setMinBond_raised_stopsUnderbondedProviderUntilTopUp() public {
        _register(Market.VALID_KEY, Market.MIN_BOND);
        s.providers.setMinBond(Market.MIN_BOND * 2);
        assertFalse(s.providers.canServe(PROVIDER, 1), "under-bonded");
        vm.prank(PROVIDER);
        s.providers.increaseBond(Market.MIN_BOND);
        assertTrue(s.providers.canServe(PROVIDER, 1), "topped up");
    }
}

/// @notice The registry inside the default market (PROVIDER registered for all four models): deployment checks,
/// bond top-ups, cancelled unbonding, the reputation counter, the views, and every event.
contract ProviderRegistryInMarketTest is MarketTest {
    using Market for Market.System;

    function test_providerConstructor_eachZeroAddress_reverts() public {
        for (uint256 i = 0; i < 4; ++i) {
            address[4] memory a = [address(s.token), address(s.models), address(s.escrow), TREASURY];
            a[i] = address(0);
            vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAddress.selector);
            new ProviderRegistry(
                IERC20(a[0]), IModelRegistry(a[1]), a[2], a[3], address(this), Market.MIN_BOND, 1 days, 10
            );
        }
    }

    function test_increaseBond_addsAndPulls_zeroReverts() public {
        uint256 before = s.token.balanceOf(PROVIDER);
        vm.prank(PROVIDER);
        s.providers.increaseBond(5e18);
        assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND + 5e18, "bond");
        assertEq(before - s.token.balanceOf(PROVIDER), 5e18, "pulled");
        vm.prank(PROVIDER);
        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAmount.selector);
        s.providers.increaseBond(0);
    }

    function test_cancelUnbonding_restoresActivity_andRequiresUnbonding() public {
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotUnbonding.selector, PROVIDER));
        s.providers.cancelUnbonding();

        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        assertFalse(s.providers.isActive(PROVIDER), "inactive while unbonding");
        vm.prank(PROVIDER);
        s.providers.cancelUnbonding();
        assertTrue(s.providers.isActive(PROVIDER), "active again");
        assertEq(s.providers.provider(PROVIDER).unbondingSince, 0, "cleared");
    }

    /// @dev The registry's record of lost disputes is public reputation (the dashboard shows it): it must count
    /// every loss, not just flag the first.
    function test_recordDisputeLost_countsEveryLoss() public {
        for (uint256 i = 0; i < 2; ++i) {
            uint256 id = s.createJob(ALICE, 1, 1000, address(0));
            s.accept(PROVIDER, id);
            s.settleOne(PROVIDER, id, 1000);
            vm.prank(ALICE);
            s.escrow.dispute(id);
            s.escrow.resolveDispute(id, 0, 1e18);
            assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND - 1e18, "slashed");
            // Back to the minimum bond, or the registry stops the provider from accepting the next job.
            vm.prank(PROVIDER);
            s.providers.increaseBond(1e18);
        }
        assertEq(s.providers.provider(PROVIDER).disputesLost, 2, "two losses");
    }

    function test_serves_followsUpdateModels() public {
        assertTrue(s.providers.serves(PROVIDER, 1), "serves 1");
        assertFalse(s.providers.serves(STRANGER, 1), "stranger serves nothing");
        uint16[] memory none = new uint16[](0);
        uint16[] memory one = new uint16[](1);
        one[0] = 1;
        vm.prank(PROVIDER);
        s.providers.updateModels(none, one);
        assertFalse(s.providers.serves(PROVIDER, 1), "removed");
        assertTrue(s.providers.serves(PROVIDER, 2), "others kept");
        // Adding it back serves it again.
        vm.prank(PROVIDER);
        s.providers.updateModels(one, none);
        assertTrue(s.providers.serves(PROVIDER, 1), "added back");
    }

    function test_minBond_reportsTheGovernedValue() public {
        assertEq(s.providers.minBond(), Market.MIN_BOND, "initial");
        s.providers.setMinBond(2 * Market.MIN_BOND);
        assertEq(s.providers.minBond(), 2 * Market.MIN_BOND, "updated");
    }

    function test_unbondingPeriod_reportsTheGovernedValue() public {
        assertEq(s.providers.unbondingPeriod(), 1 days, "initial");
        s.providers.setUnbondingPeriod(3 days);
        assertEq(s.providers.unbondingPeriod(), 3 days, "updated");
    }

    function test_providerLifecycle_emitsEveryEvent() public {
        uint16[] memory served = new uint16[](2);
        (served[0], served[1]) = (1, 3);
        bytes32 key = bytes32(uint256(Market.VALID_KEY) + 5);
        vm.prank(NEWCOMER);
        s.token.approve(address(s.providers), type(uint256).max);

        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ProviderRegistered(NEWCOMER, key, Market.MIN_BOND);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ModelServedSet(NEWCOMER, 1, true);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ModelServedSet(NEWCOMER, 3, true);
        vm.prank(NEWCOMER);
        s.providers.register(key, served, Market.MIN_BOND);

        uint16[] memory none = new uint16[](0);
        uint16[] memory drop = new uint16[](1);
        drop[0] = 3;
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ModelServedSet(NEWCOMER, 3, false);
        vm.prank(NEWCOMER);
        s.providers.updateModels(none, drop);

        bytes32 next = bytes32(uint256(key) + 1);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ReceiptKeyUpdated(NEWCOMER, key, next);
        vm.prank(NEWCOMER);
        s.providers.setReceiptKey(next);

        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.BondIncreased(NEWCOMER, 1e18, Market.MIN_BOND + 1e18);
        vm.prank(NEWCOMER);
        s.providers.increaseBond(1e18);

        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.UnbondingStarted(NEWCOMER, block.timestamp + 1 days);
        vm.prank(NEWCOMER);
        s.providers.startUnbonding();
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.UnbondingCancelled(NEWCOMER);
        vm.prank(NEWCOMER);
        s.providers.cancelUnbonding();

        vm.prank(NEWCOMER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 days);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.BondWithdrawn(NEWCOMER, Market.MIN_BOND + 1e18);
        vm.prank(NEWCOMER);
        s.providers.withdrawBond();
    }

    function test_providerSetters_emitOldAndNew() public {
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.MinBondUpdated(Market.MIN_BOND, 2 * Market.MIN_BOND);
        s.providers.setMinBond(2 * Market.MIN_BOND);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.UnbondingPeriodUpdated(1 days, 2 days);
        s.providers.setUnbondingPeriod(2 days);
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ExposureMultipleUpdated(Market.EXPOSURE_MULTIPLE, 7);
        s.providers.setExposureMultiple(7);
    }
}
