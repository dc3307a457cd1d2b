// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";
import {ProviderRegistry} from "../../../contracts/market/ProviderRegistry.sol";
import {Test} from "../utils/Test.sol";
import {Market, Record} from "../utils/MarketSetup.sol";

/**
 * @notice Input guards and small surfaces the scenario tests never reach: constructor zero addresses, limits on job
 * size and prompt length, key rotation, bond top-ups, cancelled unbonding, a full rate card, and the front-running
 * of a settlement's root through {IJobEscrow.anchorRoot}. Each test pins one guard by its custom error.
 */
contract AssuranceCoverageTest is Test {
    using Market for Market.System;

    Market.System internal s;
    address internal constant TREASURY = address(0x7EA5);
    address internal constant ALICE = address(0xA11CE);
    address internal constant PROVIDER = address(0x9001);
    address internal constant OTHER_PROVIDER = address(0x9002);
    address internal constant STRANGER = address(0xBAD);
    /// @dev The identity point: a small-order key that accepts forged signatures.
    bytes32 internal constant IDENTITY_KEY = 0x0100000000000000000000000000000000000000000000000000000000000000;
    bytes32 internal constant OTHER_KEY = bytes32(uint256(Market.VALID_KEY) + 1);

    function setUp() public {
        address[] memory funded = new address[](3);
        (funded[0], funded[1], funded[2]) = (ALICE, PROVIDER, OTHER_PROVIDER);
        s = Market.deploy(address(this), TREASURY, funded);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.registerProvider(OTHER_PROVIDER, OTHER_KEY);
        s.approveEscrow(ALICE);
    }

    // ------------------------------------------------------------------------------------------- JobEscrow ---

    function test_escrowConstructor_eachZeroAddress_reverts() public {
        JobEscrow.Params memory params = Market.defaultParams();
        for (uint256 i = 0; i < 4; ++i) {
            address[4] memory a = [address(s.token), address(s.models), address(s.providers), TREASURY];
            a[i] = address(0);
            vm.expectRevert(IJobEscrow.JobEscrowZeroAddress.selector);
            new JobEscrow(IERC20(a[0]), IModelRegistry(a[1]), IProviderRegistry(a[2]), a[3], address(this), params);
        }
    }

    function test_createJobs_emptyList_reverts() public {
        vm.prank(ALICE);
        vm.expectRevert(IJobEscrow.JobEscrowEmptyRequest.selector);
        s.escrow.createJobs(new IJobEscrow.JobRequest[](0));
    }

    function test_createJob_zeroMaxUnits_reverts() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(0)));
        s.escrow.createJob(1, 0, address(0), uint40(block.timestamp + 1 hours), "p");
    }

    function test_createJob_maxUnitsAboveLimit_reverts() public {
        uint64 tooMany = uint64(s.escrow.MAX_UNITS_MILLI()) + 1;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(tooMany)));
        s.escrow.createJob(1, tooMany, address(0), uint40(block.timestamp + 1 hours), "p");
    }

    /// @dev The limit itself passes validation: the creation gets as far as pulling the escrow, which no test
    /// account can fund (2^48 milli-units of a 0.5 AITBC model are about 1.4e11 AITBC, above the token cap).
    function test_createJob_maxUnitsAtLimit_passesValidation() public {
        uint64 limit = uint64(s.escrow.MAX_UNITS_MILLI());
        uint256 needed = (uint256(limit) * 0.5e18 + 999) / 1000;
        uint256 balance = s.token.balanceOf(ALICE);
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, ALICE, balance, needed)
        );
        s.escrow.createJob(2, limit, address(0), uint40(block.timestamp + 1 hours), "p");
    }

    function test_quote_matchesEscrow_andRefusesBadSizes() public {
        // 1,001 milli-units of codellama (2.5 AITBC per unit): ceil(1001 * 2.5e18 / 1000) = 2.5025e18.
        assertEq(s.escrow.quote(3, 1001), 2.5025e18, "quote");
        uint64 tooMany = uint64(s.escrow.MAX_UNITS_MILLI()) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(0)));
        s.escrow.quote(3, 0);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(tooMany)));
        s.escrow.quote(3, tooMany);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowModelNotEnabled.selector, uint16(9)));
        s.escrow.quote(9, 1);
    }

    function test_createJob_promptAtLimit_succeeds_andOneByteMore_reverts() public {
        uint256 limit = s.escrow.MAX_PROMPT_BYTES();
        vm.prank(ALICE);
        s.escrow.createJob(1, 1, address(0), uint40(block.timestamp + 1 hours), new bytes(limit));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowPromptTooLong.selector, limit + 1, limit));
        s.escrow.createJob(1, 1, address(0), uint40(block.timestamp + 1 hours), new bytes(limit + 1));
    }

    /// @dev A list that repeats an already released batch must still release the batches after it (a `break` in
    /// place of the skip would strand them silently).
    function test_releaseBatches_skipsReleasedBatchAndReleasesTheRest() public {
        uint256 first = s.createJob(ALICE, 1, 1000, address(0));
        uint256 second = s.createJob(ALICE, 1, 1000, address(0));
        s.accept(PROVIDER, first);
        s.accept(PROVIDER, second);
        (uint256 batchOne,) = s.settleOne(PROVIDER, first, 1000);
        (uint256 batchTwo,) = s.settleOne(PROVIDER, second, 1000);
        vm.warp(block.timestamp + 600);

        uint256[] memory ids = new uint256[](1);
        ids[0] = batchOne;
        s.escrow.releaseBatches(ids);
        uint256 afterOne = s.escrow.balanceOf(PROVIDER);

        ids = new uint256[](2);
        (ids[0], ids[1]) = (batchOne, batchTwo);
        s.escrow.releaseBatches(ids);
        assertEq(s.escrow.balanceOf(PROVIDER), 2 * afterOne, "second batch released, first not paid twice");
        (,,, bool released) = s.escrow.payoutOf(batchTwo);
        assertTrue(released, "second batch marked released");
    }

    /// @dev A batch id that was never settled has nothing to release; a plain anchor takes no batch id at all.
    function test_releaseBatches_unknownBatch_reverts_plainAnchorTakesNoBatchId() public {
        uint256[] memory ids = new uint256[](1);
        ids[0] = 7;
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownBatch.selector, uint256(7)));
        s.escrow.releaseBatches(ids);

        (, uint256 batchesBefore) = s.escrow.counters();
        vm.prank(PROVIDER);
        s.escrow.anchorRoot(keccak256("plain"), 3);
        (, uint256 batchesAfter) = s.escrow.counters();
        assertEq(batchesAfter, batchesBefore, "no batch id");
        (uint256 at, uint256 claimed) = s.escrow.plainAnchor(PROVIDER, keccak256("plain"));
        assertEq(at, block.timestamp, "anchored now");
        assertEq(claimed, 3, "claimed count, reported as a claim");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownRoot.selector, keccak256("plain")));
        s.escrow.batch(keccak256("plain"));
    }

    function test_batch_unknownRoot_reverts() public {
        bytes32 root = keccak256("never anchored");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownRoot.selector, root));
        s.escrow.batch(root);
    }

    /// @dev Attack 1 (root squatting): another provider, and the victim itself, plain-anchor the root of a pending
    /// one-record settlement (for one record the root is the leaf, which is public). The settlement still lands
    /// with that very root, the provider is paid, and the plain anchors stay plain.
    function test_attack_rootSquatting_preAnchoredSettlementRootStillSettles() public {
        uint256 first = s.createJob(ALICE, 1, 1000, address(0));
        s.accept(PROVIDER, first);
        Record memory r = Record(first, 500, keccak256("receipt 1"));
        bytes32 victimRoot = Market.leafOf(s, PROVIDER, r);

        vm.prank(OTHER_PROVIDER);
        s.escrow.anchorRoot(victimRoot, 1);
        vm.prank(PROVIDER);
        s.escrow.anchorRoot(victimRoot, 1);

        Record[] memory one = new Record[](1);
        one[0] = r;
        bytes memory items = Market.pack(s, PROVIDER, one);
        vm.prank(PROVIDER);
        (uint256 batchId, bytes32 root) = s.escrow.settleBatch(items);
        assertEq(root, victimRoot, "the same root settles");
        assertTrue(s.escrow.job(first).status == IJobEscrow.JobStatus.Settled, "settled");
        IJobEscrow.BatchView memory b = s.escrow.batch(victimRoot);
        assertEq(b.id, batchId, "the root's batch is the settlement");
        assertEq(b.submitter, PROVIDER, "settled by the job's provider");
        assertEq(b.count, 1, "true count");
        (uint256 at,) = s.escrow.plainAnchor(OTHER_PROVIDER, victimRoot);
        assertGt(at, 0, "the squatter's plain anchor is its own and settles nothing");
    }

    // ------------------------------------------------------------------------------------ ProviderRegistry ---

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

    function test_setReceiptKey_rotatesTheKey() public {
        bytes32 next = bytes32(uint256(Market.VALID_KEY) + 2);
        vm.prank(PROVIDER);
        s.providers.setReceiptKey(next);
        assertEq(s.providers.provider(PROVIDER).receiptKey, next, "rotated");
    }

    function test_setReceiptKey_smallOrderKey_reverts() public {
        vm.prank(PROVIDER);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidReceiptKey.selector, IDENTITY_KEY)
        );
        s.providers.setReceiptKey(IDENTITY_KEY);
        assertEq(s.providers.provider(PROVIDER).receiptKey, Market.VALID_KEY, "unchanged");
    }

    function test_setReceiptKey_unregistered_reverts() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, STRANGER));
        s.providers.setReceiptKey(Market.VALID_KEY);
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

    // --------------------------------------------------------------------------------------- ModelRegistry ---

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
}

