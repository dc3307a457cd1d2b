// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IJobEscrow} from "../../contracts/interfaces/IJobEscrow.sol";
import {Test} from "./utils/Test.sol";
import {Market, Record} from "./utils/MarketSetup.sol";

contract JobEscrowTest is Test {
    using Market for Market.System;

    Market.System internal s;
    address internal constant TREASURY = address(0x7EA5);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant PROVIDER = address(0x9001);
    address internal constant OTHER_PROVIDER = address(0x9002);
    address internal constant STRANGER = address(0xBAD);

    function setUp() public {
        address[] memory funded = new address[](4);
        (funded[0], funded[1], funded[2], funded[3]) = (ALICE, BOB, PROVIDER, OTHER_PROVIDER);
        s = Market.deploy(address(this), TREASURY, funded);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.registerProvider(OTHER_PROVIDER, bytes32(uint256(Market.VALID_KEY) + 1));
        s.approveEscrow(ALICE);
        s.approveEscrow(BOB);
    }

    // ------------------------------------------------------------------------------------------------ create ---

    function test_createJob_pullsCeilEscrowAndSnapshotsRate() public {
        uint256 before = s.token.balanceOf(ALICE);
        // 1 milli-unit of llama3.2:1b (0.5e18 per unit) = 0.5e15 exactly; 3 milli-units of codellama = 7.5e15.
        uint256 id = s.createJob(ALICE, 3, 3, address(0));
        IJobEscrow.JobView memory j = s.escrow.job(id);
        assertEq(j.escrow, 7.5e15, "escrow");
        assertEq(j.rate, 2.5e18, "rate snapshot");
        assertEq(before - s.token.balanceOf(ALICE), 7.5e15, "pulled");
        assertTrue(j.status == IJobEscrow.JobStatus.Open, "open");
    }

    function test_createJob_roundsEscrowUp() public {
        vm.prank(address(this));
        uint16 odd = s.models.addModel("odd", "gpu_seconds", 1001);
        vm.prank(ALICE);
        uint256 id = s.escrow.createJob(odd, 1, address(0), uint40(block.timestamp + 60), "");
        assertEq(s.escrow.job(id).escrow, 2, "ceil(1 * 1001 / 1000)");
    }

    function test_createJob_disabledModel_reverts() public {
        s.models.setEnabled(2, false);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowModelNotEnabled.selector, uint16(2)));
        s.createJob(ALICE, 2, 1000, address(0));
    }

    function test_createJob_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowModelNotEnabled.selector, uint16(99)));
        s.createJob(ALICE, 99, 1000, address(0));
    }

    function test_createJob_zeroUnits_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(0)));
        s.createJob(ALICE, 1, 0, address(0));
    }

    function test_createJob_unitsAboveMax_reverts() public {
        uint64 tooMany = uint64(s.escrow.MAX_UNITS_MILLI()) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidMaxUnits.selector, uint256(tooMany)));
        s.createJob(ALICE, 1, tooMany, address(0));
    }

    function test_createJob_deadlineBounds_exact() public {
        uint256 latest = block.timestamp + 1 days;
        vm.startPrank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidDeadline.selector, block.timestamp, latest)
        );
        s.escrow.createJob(1, 1000, address(0), uint40(block.timestamp), "");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidDeadline.selector, latest + 1, latest));
        s.escrow.createJob(1, 1000, address(0), uint40(latest + 1), "");
        s.escrow.createJob(1, 1000, address(0), uint40(latest), "");
        s.escrow.createJob(1, 1000, address(0), uint40(block.timestamp + 1), "");
        vm.stopPrank();
    }

    function test_createJob_directedToProviderNotServing_reverts() public {
        uint16[] memory none = new uint16[](0);
        uint16[] memory drop = new uint16[](1);
        drop[0] = 1;
        vm.prank(OTHER_PROVIDER);
        s.providers.updateModels(none, drop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowProviderCannotServe.selector, OTHER_PROVIDER, uint16(1))
        );
        s.createJob(ALICE, 1, 1000, OTHER_PROVIDER);
    }

    function test_createJobs_pullsSummedEscrowOnce() public {
        IJobEscrow.JobRequest[] memory reqs = new IJobEscrow.JobRequest[](3);
        for (uint256 i = 0; i < 3; ++i) {
            reqs[i] = IJobEscrow.JobRequest({
                modelId: uint16(i + 1),
                maxUnitsMilli: 1000,
                provider: address(0),
                deadline: uint40(block.timestamp + 60),
                prompt: ""
            });
        }
        uint256 before = s.token.balanceOf(ALICE);
        vm.prank(ALICE);
        uint256 first = s.escrow.createJobs(reqs);
        assertEq(first, 1, "first id");
        assertEq(before - s.token.balanceOf(ALICE), 2e18 + 0.5e18 + 2.5e18, "sum of escrows");
    }

    // ------------------------------------------------------------------------------------------------ accept ---

    function test_acceptJob_atDeadline_succeeds() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.warp(s.escrow.job(id).deadline);
        s.accept(PROVIDER, id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Accepted, "accepted");
    }

    function test_acceptJob_afterDeadline_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        uint256 deadline = s.escrow.job(id).deadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowDeadlinePassed.selector, id, deadline));
        s.accept(PROVIDER, id);
    }

    function test_acceptJob_directedJobByOtherProvider_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotProvider.selector, id, OTHER_PROVIDER));
        s.accept(OTHER_PROVIDER, id);
    }

    function test_acceptJob_unbondingProvider_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowProviderCannotServe.selector, PROVIDER, uint16(1)));
        s.accept(PROVIDER, id);
    }

    function test_acceptJob_unregisteredCaller_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowProviderCannotServe.selector, STRANGER, uint16(1)));
        s.accept(STRANGER, id);
    }

    function test_acceptJob_cancelledJob_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Cancelled)
        );
        s.accept(PROVIDER, id);
    }

    function test_acceptJob_expiredJob_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.warp(s.escrow.job(id).deadline + 1);
        s.escrow.reclaimExpired(id);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Expired)
        );
        s.accept(PROVIDER, id);
    }

    // ------------------------------------------------------------------------------------------- cancel/expire ---

    function test_cancelJob_refundsWholeEscrow() public {
        uint256 before = s.token.balanceOf(ALICE);
        uint256 id = s.createJob(ALICE, 1, 1234, address(0));
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
        assertEq(s.token.balanceOf(ALICE), before, "refunded");
        assertEq(s.token.balanceOf(address(s.escrow)), 0, "empty escrow");
    }

    function test_cancelJob_afterAccept_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        s.accept(PROVIDER, id);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Accepted)
        );
        vm.prank(ALICE);
        s.escrow.cancelJob(id);
    }

    function test_cancelJob_byStranger_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotClient.selector, id, STRANGER));
        vm.prank(STRANGER);
        s.escrow.cancelJob(id);
    }

    function test_reclaimExpired_atDeadline_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        uint256 deadline = s.escrow.job(id).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowDeadlineNotPassed.selector, id, deadline));
        s.escrow.reclaimExpired(id);
    }

    function test_reclaimExpired_afterDeadline_refundsClientEvenIfAccepted() public {
        uint256 before = s.token.balanceOf(ALICE);
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        s.accept(PROVIDER, id);
        vm.warp(s.escrow.job(id).deadline + 1);
        vm.prank(STRANGER);
        s.escrow.reclaimExpired(id);
        assertEq(s.token.balanceOf(ALICE), before, "client got everything back");
    }

    // ------------------------------------------------------------------------------------------------ settle ---

    function _accepted(address client, uint64 maxUnits) internal returns (uint256 id) {
        id = s.createJob(client, 1, maxUnits, address(0));
        s.accept(PROVIDER, id);
    }

    function test_settleBatch_paysExactSplit() public {
        uint256 id = _accepted(ALICE, 10_000);
        uint256 escrowed = s.escrow.job(id).escrow;
        (uint256 batchId,) = s.settleOne(PROVIDER, id, 4_321);
        uint256 price = (4_321 * Market.LLAMA_RATE) / 1000;
        uint256 fee = (price * 250) / 10_000;
        (, uint256 pending,,) = s.escrow.payoutOf(batchId);
        assertEq(pending, price - fee, "provider pending");
        assertEq(s.escrow.balanceOf(TREASURY), fee, "fee credited to treasury");
        assertEq(s.escrow.balanceOf(ALICE), escrowed - price, "client remainder");
        assertEq(pending + fee + (escrowed - price), escrowed, "sums to escrow");
    }

    function test_settleBatch_deadlineMinusOne_succeeds() public {
        uint256 id = _accepted(ALICE, 1000);
        vm.warp(s.escrow.job(id).deadline - 1);
    }

    function test_settleBatch_atDeadline_succeeds() public {
        uint256 id = _accepted(ALICE, 1000);
        vm.warp(s.escrow.job(id).deadline);
        s.settleOne(PROVIDER, id, 1000);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Settled, "settled");
    }

    function test_settleBatch_deadlinePlusOne_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        uint256 deadline = s.escrow.job(id).deadline;
        vm.warp(deadline + 1);
        _settleExpectingRevert(
            PROVIDER, id, 1000, abi.encodeWithSelector(IJobEscrow.JobEscrowDeadlinePassed.selector, id, deadline)
        );
    }

    function test_settleBatch_sameJobTwiceInOneBatch_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        Record[] memory records = new Record[](2);
        records[0] = Record(id, 500, keccak256("a"));
        records[1] = Record(id, 600, keccak256("b"));
        bytes memory items = Market.pack(s, PROVIDER, records);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Settled)
        );
        vm.prank(PROVIDER);
        s.escrow.settleBatch(items);
    }

    function test_settleBatch_sameJobInSecondBatch_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        s.settleOne(PROVIDER, id, 1000);
        uint256 pendingBefore = s.token.balanceOf(address(s.escrow));
        _settleExpectingRevert(
            PROVIDER,
            id,
            999,
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Settled)
        );
        assertEq(s.token.balanceOf(address(s.escrow)), pendingBefore, "no second payout");
    }

    function test_settleBatch_foreignProvider_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        _settleExpectingRevert(
            OTHER_PROVIDER,
            id,
            1000,
            abi.encodeWithSelector(IJobEscrow.JobEscrowNotProvider.selector, id, OTHER_PROVIDER)
        );
    }

    function test_settleBatch_openJob_reverts() public {
        uint256 id = s.createJob(ALICE, 1, 1000, address(0));
        _settleExpectingRevert(
            PROVIDER,
            id,
            1000,
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Open)
        );
    }

    function test_settleBatch_unknownJob_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownJob.selector, uint256(77)));
        vm.prank(PROVIDER);
        s.escrow.settleBatch(abi.encodePacked(bytes6(uint48(77)), bytes8(uint64(1)), bytes32(0)));
    }

    function test_settleBatch_unitsAboveMax_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        _settleExpectingRevert(
            PROVIDER, id, 1001, abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidUnits.selector, id, 1001, 1000)
        );
    }

    function test_settleBatch_zeroUnits_reverts() public {
        uint256 id = _accepted(ALICE, 1000);
        _settleExpectingRevert(
            PROVIDER, id, 0, abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidUnits.selector, id, 0, 1000)
        );
    }

    function test_settleBatch_unitsOverflowingUint64_cannotBeEncoded() public {
        uint256 id = _accepted(ALICE, 1000);
        // The record's units field is 8 bytes, so no record can carry more than 2^64 - 1 milli-units, and jobs hold at
        // most 2^48 - 1: the largest encodable value is refused instead of overflowing units * rate.
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidUnits.selector, id, uint256(type(uint64).max), 1000)
        );
        vm.prank(PROVIDER);
        s.escrow.settleBatch(abi.encodePacked(bytes6(uint48(id)), bytes8(type(uint64).max), bytes32(0)));
    }

    function test_settleBatch_unsortedRecords_reverts() public {
        uint256 a = _accepted(ALICE, 1000);
        uint256 b = _accepted(BOB, 1000);
        Record[] memory records = new Record[](2);
        records[0] = Record(a, 1000, keccak256("a"));
        records[1] = Record(b, 1000, keccak256("b"));
        bytes memory sorted = Market.pack(s, PROVIDER, records);
        // Swap the two 46-byte records.
        bytes memory swapped = bytes.concat(_slice(sorted, 46, 92), _slice(sorted, 0, 46));
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowLeavesNotSorted.selector, uint256(1)));
        vm.prank(PROVIDER);
        s.escrow.settleBatch(swapped);
    }

    function test_settleBatch_badLength_reverts() public {
        vm.startPrank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidBatchLength.selector, uint256(0)));
        s.escrow.settleBatch("");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidBatchLength.selector, uint256(45)));
        s.escrow.settleBatch(new bytes(45));
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidBatchLength.selector, uint256(47)));
        s.escrow.settleBatch(new bytes(47));
        vm.stopPrank();
    }

    function test_settleBatch_snapshottedRateAfterRateChange() public {
        uint256 id = _accepted(ALICE, 1000);
        s.models.setRate(1, 7e18);
        s.settleOne(PROVIDER, id, 1000);
        IJobEscrow.JobView memory j = s.escrow.job(id);
        assertEq(j.rate, Market.LLAMA_RATE, "old rate kept");
        assertEq(j.price, Market.LLAMA_RATE, "paid at snapshot");
        assertEq(s.escrow.quote(1, 1000), 7e18, "new jobs use the new rate");
    }

    function test_settleBatch_anchorsRootWithSubmitterAndCount() public {
        uint256 id = _accepted(ALICE, 1000);
        (uint256 batchId, bytes32 root) = s.settleOne(PROVIDER, id, 500);
        IJobEscrow.BatchView memory b = s.escrow.batch(root);
        assertEq(b.id, batchId, "id");
        assertEq(b.submitter, PROVIDER, "submitter");
        assertEq(b.count, 1, "count");
        assertEq(b.timestamp, block.timestamp, "time");
        assertTrue(b.settlement, "settlement batch");
    }

    // ------------------------------------------------------------------------------------------------ anchors ---

    function test_anchorRoot_sameRootTwice_reverts() public {
        vm.startPrank(PROVIDER);
        s.escrow.anchorRoot(keccak256("root"), 3);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowPlainAnchorExists.selector, PROVIDER, keccak256("root"))
        );
        s.escrow.anchorRoot(keccak256("root"), 3);
        vm.stopPrank();
    }

    function test_anchorRoot_nonProvider_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotActiveProvider.selector, STRANGER));
        vm.prank(STRANGER);
        s.escrow.anchorRoot(keccak256("root"), 3);
    }

    function test_anchorRoot_zeroRootOrCount_reverts() public {
        vm.startPrank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidAnchor.selector, bytes32(0), uint256(1)));
        s.escrow.anchorRoot(0, 1);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidAnchor.selector, keccak256("r"), 0));
        s.escrow.anchorRoot(keccak256("r"), 0);
        vm.stopPrank();
    }

    function test_verifyReceiptInclusion_singleLeafAndInternalNodeAttack() public {
        uint256 a = _accepted(ALICE, 1000);
        uint256 b = _accepted(BOB, 1000);
        Record[] memory records = new Record[](2);
        records[0] = Record(a, 1000, keccak256("a"));
        records[1] = Record(b, 700, keccak256("b"));
        bytes memory items = Market.pack(s, PROVIDER, records);
        vm.prank(PROVIDER);
        (, bytes32 root) = s.escrow.settleBatch(items);
        IJobEscrow.ReceiptLeaf memory la = IJobEscrow.ReceiptLeaf(a, PROVIDER, 1000, 2e18, keccak256("a"));
        IJobEscrow.ReceiptLeaf memory lb = IJobEscrow.ReceiptLeaf(b, PROVIDER, 700, 1.4e18, keccak256("b"));
        bytes32[] memory proofA = new bytes32[](1);
        proofA[0] = s.escrow.receiptLeaf(lb);
        assertTrue(s.escrow.verifyReceiptInclusion(root, la, proofA), "a included");
        // A different price for the same job does not verify.
        la.price += 1;
        assertFalse(s.escrow.verifyReceiptInclusion(root, la, proofA), "tampered price");
        // Unanchored root never verifies, even with a correct proof shape.
        assertFalse(s.escrow.verifyReceiptInclusion(keccak256("x"), lb, new bytes32[](0)), "unknown root");
    }

    // ----------------------------------------------------------------------------------------------- disputes ---

    function _settled() internal returns (uint256 id, uint256 batchId) {
        id = _accepted(ALICE, 10_000);
        (batchId,) = s.settleOne(PROVIDER, id, 5_000);
    }

    function test_dispute_lastSecondOfWindow_succeeds() public {
        (uint256 id, uint256 batchId) = _settled();
        (,, uint256 releasableAt,) = s.escrow.payoutOf(batchId);
        vm.warp(releasableAt - 1);
        vm.prank(ALICE);
        s.escrow.dispute(id);
        (uint256 held,,) = s.escrow.disputeOf(id);
        assertEq(held, 10e18 - 0.25e18, "held = provider share");
    }

    function test_dispute_atWindowEnd_reverts() public {
        (uint256 id, uint256 batchId) = _settled();
        (,, uint256 releasableAt,) = s.escrow.payoutOf(batchId);
        vm.warp(releasableAt);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowDisputeWindowClosed.selector, id, releasableAt));
        vm.prank(ALICE);
        s.escrow.dispute(id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Finalized, "finalized");
    }

    function test_dispute_byStranger_reverts() public {
        (uint256 id,) = _settled();
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNotClient.selector, id, STRANGER));
        vm.prank(STRANGER);
        s.escrow.dispute(id);
    }

    function test_resolveDispute_splitsAndSlashes() public {
        (uint256 id, uint256 batchId) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        (uint256 held,,) = s.escrow.disputeOf(id);
        uint256 clientBefore = s.escrow.balanceOf(ALICE);
        s.escrow.resolveDispute(id, 2_500, 40e18);
        assertEq(s.escrow.balanceOf(PROVIDER), held / 4, "provider quarter");
        assertEq(
            s.escrow.balanceOf(ALICE) - clientBefore, held - held / 4 + Market.DISPUTE_BOND, "client rest, bond back"
        );
        assertEq(s.token.balanceOf(TREASURY), 40e18, "slashed to treasury");
        assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND - 40e18, "bond reduced");
        assertEq(s.providers.provider(PROVIDER).disputesLost, 1, "counted");
        (, uint256 pending,,) = s.escrow.payoutOf(batchId);
        assertEq(pending, 0, "held amount left the batch payout");
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Resolved, "resolved");
    }

    function test_resolveDispute_byNonOwner_reverts() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        vm.prank(STRANGER);
        s.escrow.resolveDispute(id, 0, 0);
    }

    function test_resolveDispute_shareAbove100Percent_reverts() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowInvalidShare.selector, uint256(10_001)));
        s.escrow.resolveDispute(id, 10_001, 0);
    }

    function test_closeTimedOutDispute_beforeTimeout_reverts() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        uint256 timesOutAt = block.timestamp + 3600;
        vm.warp(timesOutAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowDisputeNotTimedOut.selector, id, timesOutAt));
        s.escrow.closeTimedOutDispute(id);
    }

    function test_closeTimedOutDispute_atTimeout_paysProviderTheHeldAmountAndTheDisputeBond() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        (uint256 held,,) = s.escrow.disputeOf(id);
        vm.warp(block.timestamp + 3600);
        vm.prank(STRANGER);
        s.escrow.closeTimedOutDispute(id);
        assertEq(s.escrow.balanceOf(PROVIDER), held + Market.DISPUTE_BOND, "provider paid, with the dispute bond");
        // A late resolution of the closed dispute is skipped, not reverted, and changes nothing.
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeResolutionSkipped(id);
        s.escrow.resolveDispute(id, 0, 50e18);
        assertEq(s.escrow.balanceOf(PROVIDER), held + Market.DISPUTE_BOND, "unchanged");
        assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND, "no slash");
    }

    // ------------------------------------------------------------------------------------------ release/withdraw ---

    function test_releaseBatches_beforeWindow_reverts() public {
        (, uint256 batchId) = _settled();
        (,, uint256 releasableAt,) = s.escrow.payoutOf(batchId);
        vm.warp(releasableAt - 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = batchId;
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowDisputeWindowOpen.selector, batchId, releasableAt));
        s.escrow.releaseBatches(ids);
    }

    function test_releaseBatches_thenWithdraw_paysProviderOnce() public {
        (, uint256 batchId) = _settled();
        (,, uint256 releasableAt,) = s.escrow.payoutOf(batchId);
        vm.warp(releasableAt);
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (batchId, batchId);
        s.escrow.releaseBatches(ids);
        uint256 before = s.token.balanceOf(PROVIDER);
        vm.prank(PROVIDER);
        uint256 paid = s.escrow.withdraw();
        assertEq(paid, 10e18 - 0.25e18, "net price");
        assertEq(s.token.balanceOf(PROVIDER) - before, paid, "transferred");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNothingToWithdraw.selector, PROVIDER));
        vm.prank(PROVIDER);
        s.escrow.withdraw();
    }

    function test_sweepFees_movesTreasuryBalance() public {
        _settled();
        uint256 fee = s.escrow.balanceOf(TREASURY);
        assertGt(fee, 0, "fee accrued");
        vm.prank(STRANGER);
        s.escrow.sweepFees();
        assertEq(s.token.balanceOf(TREASURY), fee, "swept");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowNothingToWithdraw.selector, TREASURY));
        s.escrow.sweepFees();
    }

    // ----------------------------------------------------------------------------------------------- setters ---

    function test_setters_nonOwner_revert() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER);
        vm.startPrank(STRANGER);
        vm.expectRevert(unauthorized);
        s.escrow.setFeeBps(100);
        vm.expectRevert(unauthorized);
        s.escrow.setDisputeWindow(1 days);
        vm.expectRevert(unauthorized);
        s.escrow.setDisputeTimeout(1 days);
        vm.expectRevert(unauthorized);
        s.escrow.setMaxDeadlineDelay(1 days);
        vm.expectRevert(unauthorized);
        s.models.setRate(1, 1e18);
        vm.expectRevert(unauthorized);
        s.models.addModel("x", "gpu_seconds", 1e18);
        vm.expectRevert(unauthorized);
        s.models.setEnabled(1, false);
        vm.expectRevert(unauthorized);
        s.providers.setMinBond(1e18);
        vm.expectRevert(unauthorized);
        s.providers.setUnbondingPeriod(2 days);
        vm.stopPrank();
    }

    function test_setFeeBps_aboveMax_reverts() public {
        uint256 max = s.escrow.MAX_FEE_BPS();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobEscrow.JobEscrowParameterOutOfBounds.selector, bytes32("feeBps"), max + 1, 0, max
            )
        );
        s.escrow.setFeeBps(max + 1);
        s.escrow.setFeeBps(max);
        (uint256 fee,,,) = s.escrow.parameters();
        assertEq(fee, max, "max allowed");
    }

    function test_setDisputeWindow_outOfBounds_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobEscrow.JobEscrowParameterOutOfBounds.selector, bytes32("disputeWindow"), 59, 60, 30 days
            )
        );
        s.escrow.setDisputeWindow(59);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobEscrow.JobEscrowParameterOutOfBounds.selector,
                bytes32("disputeWindow"),
                30 days + 1,
                60,
                30 days
            )
        );
        s.escrow.setDisputeWindow(30 days + 1);
    }

    function test_setDisputeTimeoutAndDeadlineDelay_outOfBounds_revert() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobEscrow.JobEscrowParameterOutOfBounds.selector, bytes32("disputeTimeout"), 0, 60, 180 days
            )
        );
        s.escrow.setDisputeTimeout(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobEscrow.JobEscrowParameterOutOfBounds.selector,
                bytes32("maxDeadlineDelay"),
                366 days,
                60,
                365 days
            )
        );
        s.escrow.setMaxDeadlineDelay(366 days);
    }

    // ------------------------------------------------------------------------------------------------- fuzzing ---

    /// @dev provider + treasury + client == escrow, exactly, for every job size, units, rate and fee.
    function test_fuzz_settleBatch_splitIsExact(uint256 maxUnits, uint256 units, uint256 rate, uint256 feeBps)
        public
    {
        maxUnits = bound(maxUnits, 1, s.escrow.MAX_UNITS_MILLI());
        units = bound(units, 1, maxUnits);
        rate = bound(rate, 1, s.models.MAX_RATE());
        feeBps = bound(feeBps, 0, s.escrow.MAX_FEE_BPS());
        uint16 model = s.models.addModel("fuzz", "gpu_seconds", rate);
        uint16[] memory add = new uint16[](1);
        add[0] = model;
        vm.prank(PROVIDER);
        s.providers.updateModels(add, new uint16[](0));
        s.escrow.setFeeBps(feeBps);
        // The largest cap, so that the exposure cap (tested on its own) never refuses the largest job here.
        s.providers.setExposureMultiple(s.providers.MAX_EXPOSURE_MULTIPLE());
        // Make sure the client can pay even the largest escrow (2^48 * 2^80 / 1000 base units).
        uint256 escrowed = (maxUnits * rate + 999) / 1000;
        vm.assume(escrowed <= s.token.balanceOf(ALICE));

        uint256 id = s.createJob(ALICE, model, uint64(maxUnits), address(0));
        s.accept(PROVIDER, id);
        uint256 balanceBefore = s.token.balanceOf(address(s.escrow));
        (uint256 batchId,) = s.settleOne(PROVIDER, id, uint64(units));
        (, uint256 providerPart,,) = s.escrow.payoutOf(batchId);
        uint256 treasuryPart = s.escrow.balanceOf(TREASURY);
        uint256 clientPart = s.escrow.balanceOf(ALICE);
        assertEq(providerPart + treasuryPart + clientPart, escrowed, "split sums to escrow");
        uint256 price = (units * rate) / 1000;
        assertEq(treasuryPart, (price * feeBps) / 10_000, "fee");
        assertEq(clientPart, escrowed - price, "client");
        assertEq(s.token.balanceOf(address(s.escrow)), balanceBefore, "nothing moved out");
    }

    /// @dev The largest job at the largest rate neither overflows nor loses precision.
    function test_fuzz_quote_extremesDoNotOverflow(uint256 maxUnits, uint256 rate) public {
        maxUnits = bound(maxUnits, 1, s.escrow.MAX_UNITS_MILLI());
        rate = bound(rate, 1, s.models.MAX_RATE());
        s.models.setRate(1, rate);
        uint256 quoted = s.escrow.quote(1, uint64(maxUnits));
        assertEq(quoted, (maxUnits * rate + 999) / 1000, "ceil");
        assertTrue(quoted * 1000 >= maxUnits * rate && (quoted - 1) * 1000 < maxUnits * rate, "tight ceiling");
    }

    function _settleExpectingRevert(address provider, uint256 id, uint64 units, bytes memory err) internal {
        Record[] memory records = new Record[](1);
        records[0] = Record(id, units, keccak256(abi.encode("receipt", id)));
        bytes memory items = Market.pack(s, provider, records);
        vm.expectRevert(err);
        vm.prank(provider);
        s.escrow.settleBatch(items);
    }

    function _slice(bytes memory data, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i = from; i < to; ++i) out[i - from] = data[i];
    }
}
