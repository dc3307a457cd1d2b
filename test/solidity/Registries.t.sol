// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {Test} from "./utils/Test.sol";
import {Market} from "./utils/MarketSetup.sol";

contract ModelRegistryTest is Test {
    using Market for Market.System;

    Market.System internal s;

    function setUp() public {
        s = Market.deploy(address(this), address(0x7EA5), new address[](0));
    }

    function test_constructor_seedsDefaultCard() public view {
        assertEq(s.models.modelCount(), 4, "four models");
        assertEq(s.models.model(s.models.modelIdOf("llama3.2")).rate, 2e18, "llama3.2");
        assertEq(s.models.model(s.models.modelIdOf("llama3.2:1b")).rate, 0.5e18, "llama3.2:1b");
        assertEq(s.models.model(s.models.modelIdOf("codellama")).rate, 2.5e18, "codellama");
        assertEq(s.models.model(s.models.modelIdOf("stable-diffusion")).rate, 5e18, "stable-diffusion");
        assertEq(keccak256(bytes(s.models.model(1).unitType)), keccak256("gpu_seconds"), "unit type");
    }

    function test_setRate_zeroForEnabledModel_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryZeroRateForEnabledModel.selector, uint16(1))
        );
        s.models.setRate(1, 0);
    }

    function test_setRate_zeroForDisabledModel_thenEnable_reverts() public {
        s.models.setEnabled(1, false);
        s.models.setRate(1, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryZeroRateForEnabledModel.selector, uint16(1))
        );
        s.models.setEnabled(1, true);
    }

    function test_setRate_aboveMax_reverts() public {
        uint256 max = s.models.MAX_RATE();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryRateTooHigh.selector, max + 1, max));
        s.models.setRate(1, max + 1);
    }

    function test_setRate_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, uint16(5)));
        s.models.setRate(5, 1);
    }

    function test_addModel_duplicateName_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryDuplicateName.selector, "codellama", uint16(3))
        );
        s.models.addModel("codellama", "gpu_seconds", 1e18);
    }

    function test_addModel_zeroRate_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryZeroRateForEnabledModel.selector, uint16(5))
        );
        s.models.addModel("free", "gpu_seconds", 0);
    }

    function test_addModel_emptyName_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidName.selector, ""));
        s.models.addModel("", "gpu_seconds", 1);
    }

    function test_modelIdOf_unknownName_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownName.selector, "llama3.3"));
        s.models.modelIdOf("llama3.3");
    }

    function test_setEnabled_nonOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(0xBAD)));
        vm.prank(address(0xBAD));
        s.models.setEnabled(1, false);
    }
}

contract ProviderRegistryTest is Test {
    using Market for Market.System;

    Market.System internal s;
    address internal constant PROVIDER = address(0x9001);

    function setUp() public {
        address[] memory funded = new address[](1);
        funded[0] = PROVIDER;
        s = Market.deploy(address(this), address(0x7EA5), funded);
        vm.prank(PROVIDER);
        s.token.approve(address(s.providers), type(uint256).max);
    }

    function _register(bytes32 key, uint256 bond) internal {
        uint16[] memory served = new uint16[](1);
        served[0] = 1;
        vm.prank(PROVIDER);
        s.providers.register(key, served, bond);
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
