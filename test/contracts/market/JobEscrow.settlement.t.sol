// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {Market, MarketTest, Record} from "../../fixtures/contracts/MarketTest.sol";

/**
 * @notice Settlement batches (the split, the record checks, the root anchored with them), plain anchors, receipt
 * inclusion, and the payouts after the dispute window: release, withdrawal, fee sweep.
 */
contract JobEscrowSettlementTest is MarketTest {
    using Market for Market.System;

    // --------------------------------------------------------------------------------------------------- settle ---

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

    // -------------------------------------------------------------------------------------------------- anchors ---

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

    function test_anchorRoot_emitsPlainRootAnchored() public {
        bytes32 root = keccak256("plain root");
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.PlainRootAnchored(PROVIDER, root, 7);
        vm.prank(PROVIDER);
        s.escrow.anchorRoot(root, 7);
    }

    // ---------------------------------------------------------------------------------------- receipt inclusion ---

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

    // -------------------------------------------------------------------- item 33: verified = settled as signed ---

    /// @dev The provider settled the job at 5,000 milli-units and plain-anchors a cheaper receipt (1,000) for the
    /// same job: the plain anchor's proof does not verify, nor does a cheaper leaf against the real settlement root,
    /// nor the real leaf against another provider's settlement root. The receipt as settled verifies.
    function test_attack_cheapReceiptUnderPlainAnchor_doesNotVerify_settledOneDoes() public {
        uint256 id = _job(10_000, 1 hours);
        s.accept(PROVIDER, id);
        bytes32 hash = keccak256("receipt");
        (, bytes32 settledRoot) = s.settleOne(PROVIDER, id, 5_000, hash);
        bytes32[] memory none = new bytes32[](0);
        IJobEscrow.ReceiptLeaf memory settled = _leaf(PROVIDER, id, 5_000, 2e18, hash);
        assertTrue(s.escrow.verifyReceiptInclusion(settledRoot, settled, none), "settled receipt verifies");

        IJobEscrow.ReceiptLeaf memory cheap = _leaf(PROVIDER, id, 1_000, 2e18, keccak256("cheap"));
        bytes32 cheapRoot = s.escrow.receiptLeaf(cheap);
        vm.prank(PROVIDER);
        s.escrow.anchorRoot(cheapRoot, 1);
        assertFalse(s.escrow.verifyReceiptInclusion(cheapRoot, cheap, none), "plain anchor proves nothing");
        assertFalse(s.escrow.verifyReceiptInclusion(settledRoot, cheap, none), "not the settled record");

        uint256 other = _job(10_000, 1 hours);
        s.accept(OTHER_PROVIDER, other);
        (, bytes32 otherRoot) = s.settleOne(OTHER_PROVIDER, other, 5_000, hash);
        assertFalse(s.escrow.verifyReceiptInclusion(otherRoot, settled, none), "not this job's batch");
        IJobEscrow.ReceiptLeaf memory wrongProvider = _leaf(OTHER_PROVIDER, id, 5_000, 2e18, hash);
        assertFalse(s.escrow.verifyReceiptInclusion(settledRoot, wrongProvider, none), "not its provider");
    }

    // ----------------------------------------------------------------------------------------- release/withdraw ---

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

    function _leaf(address provider, uint256 id, uint64 units, uint256 rate, bytes32 receiptHash)
        internal
        pure
        returns (IJobEscrow.ReceiptLeaf memory)
    {
        return IJobEscrow.ReceiptLeaf({
            jobId: id,
            provider: provider,
            unitsMilli: units,
            price: (uint256(units) * rate) / 1000,
            receiptHash: receiptHash
        });
    }

    /// @dev Releasing a released batch again changes nothing and says nothing: no second `BatchReleased`, which the
    /// relayer and the dashboard would read as a second payout.
    function test_releaseBatches_aReleasedBatchAgain_emitsNothing() public {
        (, uint256 batchId) = _settled();
        vm.warp(block.timestamp + 600);
        _release(batchId);
        uint256 balance = s.escrow.balanceOf(PROVIDER);
        vm.recordLogs();
        _release(batchId);
        assertEq(vm.getRecordedLogs().length, 0, "no event for a batch already released");
        assertEq(s.escrow.balanceOf(PROVIDER), balance, "nothing paid twice");
    }

    /// @dev A batch id that was never settled has no payout to report (not a zero payout of a zero provider).
    function test_payoutOf_unknownBatch_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownBatch.selector, uint256(5)));
        s.escrow.payoutOf(5);
        (, uint256 batchId) = _settled();
        (address provider,,,) = s.escrow.payoutOf(batchId);
        assertEq(provider, PROVIDER, "a settled batch reports its provider");
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownBatch.selector, batchId + 1));
        s.escrow.payoutOf(batchId + 1);
    }

    /// @dev One batch, 40 clients: the refund table grows past its first size, every job taken in one `acceptJobs`,
    /// and each client gets back exactly its own unused escrow (escrow − price), nobody else's.
    function test_settleBatch_manyDistinctClients_refundsEachExactly() public {
        uint256 n = 40;
        uint256[] memory ids = new uint256[](n);
        address[] memory clients = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            clients[i] = vm.addr(0xC11E470 + i);
            vm.prank(ALICE);
            s.token.transfer(clients[i], 100e18);
            vm.prank(clients[i]);
            s.token.approve(address(s.escrow), type(uint256).max);
            ids[i] = s.createJob(clients[i], 1, 1000, address(0));
        }
        vm.prank(PROVIDER);
        s.escrow.acceptJobs(ids);
        Record[] memory records = new Record[](n);
        uint256[] memory escrows = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            assertTrue(s.escrow.job(ids[i]).status == IJobEscrow.JobStatus.Accepted, "accepted in one call");
            escrows[i] = s.escrow.job(ids[i]).escrow;
            records[i] = Record(ids[i], uint64(100 + i), keccak256(abi.encode("receipt", i)));
        }
        bytes memory items = Market.pack(s, PROVIDER, records);
        vm.prank(PROVIDER);
        s.escrow.settleBatch(items);
        for (uint256 i = 0; i < n; ++i) {
            IJobEscrow.JobView memory j = s.escrow.job(ids[i]);
            assertEq(j.price, ((100 + i) * j.rate) / 1000, "units x rate");
            assertEq(s.escrow.balanceOf(clients[i]), escrows[i] - j.price, "the client's own refund");
        }
    }

    /// @dev The provider's public count of settled jobs (the dashboard's reputation line) counts every settled job.
    function test_jobsSettledOf_countsEverySettledJob() public {
        assertEq(s.escrow.jobsSettledOf(PROVIDER), 0, "none yet");
        _settled();
        _settled();
        assertEq(s.escrow.jobsSettledOf(PROVIDER), 2, "two settled");
        assertEq(s.escrow.jobsSettledOf(OTHER_PROVIDER), 0, "another provider's count is its own");
    }
}
