// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {Test} from "../utils/Test.sol";
import {Market, Record} from "../utils/MarketSetup.sol";

/**
 * @notice Every event of the marketplace, asserted field by field. The relayer, the CLI and the dashboard rebuild
 * their state from these logs (`JobCreated` even carries the prompt), so a missing or wrong event is a real bug even
 * when balances are right.
 */
contract AssuranceEventsTest is Test {
    using Market for Market.System;

    Market.System internal s;
    address internal constant TREASURY = address(0x7EA5);
    address internal constant ALICE = address(0xA11CE);
    address internal constant PROVIDER = address(0x9001);
    address internal constant NEWCOMER = address(0x9003);

    /// @dev llama3.2: 2 AITBC per unit; 1,000 milli-units escrow 2 AITBC.
    uint16 internal constant MODEL = 1;
    uint64 internal constant MAX_UNITS = 1000;
    uint256 internal constant ESCROW = 2e18;

    function setUp() public {
        address[] memory funded = new address[](3);
        (funded[0], funded[1], funded[2]) = (ALICE, PROVIDER, NEWCOMER);
        s = Market.deploy(address(this), TREASURY, funded);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.approveEscrow(ALICE);
    }

    // ------------------------------------------------------------------------------------------- JobEscrow ---

    function test_createJob_emitsJobCreatedWithPromptAndHash() public {
        uint40 deadline = uint40(block.timestamp + 1 hours);
        bytes memory prompt = "summarise this";
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobCreated(
            1, ALICE, PROVIDER, MODEL, MAX_UNITS, 2e18, ESCROW, deadline, keccak256(prompt), prompt
        );
        vm.prank(ALICE);
        s.escrow.createJob(MODEL, MAX_UNITS, PROVIDER, deadline, prompt);
    }

    function test_acceptCancelExpire_emitTheirEvents() public {
        uint256 first = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobAccepted(first, PROVIDER);
        s.accept(PROVIDER, first);

        uint256 second = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobCancelled(second, ALICE, ESCROW);
        vm.prank(ALICE);
        s.escrow.cancelJob(second);

        vm.warp(block.timestamp + 1 hours + 1);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobExpired(first, ALICE, ESCROW);
        s.escrow.reclaimExpired(first);
    }

    function test_settlementLifecycle_emitsEveryEvent() public {
        uint256 id = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        s.accept(PROVIDER, id);
        // 500 milli-units at 2 AITBC: price 1 AITBC, fee 2.5 % = 0.025, provider 0.975, refund 1.
        Record[] memory records = new Record[](1);
        records[0] = Record(id, 500, keccak256("receipt"));
        bytes32 root = Market.leafOf(s, PROVIDER, records[0]);
        // Packed before the expectations: they apply to the next call, and packing reads the escrow.
        bytes memory items = Market.pack(s, PROVIDER, records);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.RootAnchored(1, root, PROVIDER, 1);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.BatchSettled(1, PROVIDER, root, 0.975e18, 0.025e18, 1e18);
        vm.prank(PROVIDER);
        s.escrow.settleBatch(items);

        vm.warp(block.timestamp + 600);
        uint256[] memory ids = new uint256[](1);
        ids[0] = 1;
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.BatchReleased(1, PROVIDER, 0.975e18);
        s.escrow.releaseBatches(ids);

        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.Withdrawn(PROVIDER, 0.975e18);
        vm.prank(PROVIDER);
        s.escrow.withdraw();

        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.FeesSwept(TREASURY, 0.025e18);
        s.escrow.sweepFees();
    }

    function test_disputePaths_emitTheirEvents() public {
        uint256 resolved = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        uint256 timedOut = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        s.accept(PROVIDER, resolved);
        s.accept(PROVIDER, timedOut);
        s.settleOne(PROVIDER, resolved, 500);
        s.settleOne(PROVIDER, timedOut, 500);

        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.JobDisputed(resolved, ALICE, 0.975e18, Market.DISPUTE_BOND);
        vm.prank(ALICE);
        s.escrow.dispute(resolved);
        vm.prank(ALICE);
        s.escrow.dispute(timedOut);

        // 40 % to the provider, the rest to the client, 10 AITBC of bond slashed.
        vm.expectEmit(address(s.providers));
        emit IProviderRegistry.ProviderSlashed(PROVIDER, 10e18);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeResolved(resolved, 0.39e18, 0.585e18, 10e18);
        s.escrow.resolveDispute(resolved, 4_000, 10e18);

        vm.warp(block.timestamp + 3600);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeTimedOut(timedOut, 0.975e18);
        s.escrow.closeTimedOutDispute(timedOut);
    }

    function test_anchorRoot_emitsPlainRootAnchored() public {
        bytes32 root = keccak256("plain root");
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.PlainRootAnchored(PROVIDER, root, 7);
        vm.prank(PROVIDER);
        s.escrow.anchorRoot(root, 7);
    }

    function test_setters_emitParameterUpdatedWithOldAndNew() public {
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("feeBps", 250, 300);
        s.escrow.setFeeBps(300);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("disputeWindow", 600, 900);
        s.escrow.setDisputeWindow(900);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("disputeTimeout", 3600, 7200);
        s.escrow.setDisputeTimeout(7200);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.ParameterUpdated("maxDeadlineDelay", 1 days, 2 days);
        s.escrow.setMaxDeadlineDelay(2 days);
    }

    // ------------------------------------------------------------------------------------ ProviderRegistry ---

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
    }

    // --------------------------------------------------------------------------------------- ModelRegistry ---

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
