// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice The rate card: the seeded models, rates and their bounds, new models, enabling, and their events.
contract ModelRegistryTest is MarketTest {
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

    function test_addModel_invalidUnitType_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidUnitType.selector, ""));
        s.models.addModel("new-model", "", 1e18);
        string memory tooLong = "gpu_seconds_gpu_seconds_gpu_secon"; // 33 bytes
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidUnitType.selector, tooLong));
        s.models.addModel("new-model", tooLong, 1e18);
        s.models.addModel("new-model", "gpu_seconds_gpu_seconds_gpu_seco", 1e18); // 32 bytes: the limit
    }

    function test_addModel_rateAboveMax_reverts() public {
        uint256 max = s.models.MAX_RATE();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryRateTooHigh.selector, max + 1, max));
        s.models.addModel("new-model", "gpu_seconds", max + 1);
        s.models.addModel("max-model", "gpu_seconds", max);
    }

    function test_addModel_fullCard_reverts() public {
        // Slot 3 is `_modelCount` (after Ownable's owner and the two mappings); 65,531 real additions would take
        // minutes, so the count is set directly. The read-back pins the layout this relies on.
        bytes32 countSlot = bytes32(uint256(3));
        assertEq(uint256(vm.load(address(s.models), countSlot)), 4, "layout: four seeded models");
        vm.store(address(s.models), countSlot, bytes32(uint256(type(uint16).max)));
        vm.expectRevert(IModelRegistry.ModelRegistryFull.selector);
        s.models.addModel("one-too-many", "gpu_seconds", 1e18);
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

    function test_rateCard_emitsEveryEvent() public {
        vm.expectEmit(address(s.models));
        emit IModelRegistry.ModelAdded(5, "mistral", "gpu_seconds", 1.5e18);
        s.models.addModel("mistral", "gpu_seconds", 1.5e18);
        vm.expectEmit(address(s.models));
        emit IModelRegistry.ModelRateUpdated(5, 1.5e18, 2.5e18);
        s.models.setRate(5, 2.5e18);
        vm.expectEmit(address(s.models));
        emit IModelRegistry.ModelEnabledSet(5, false);
        s.models.setEnabled(5, false);
    }
}
