// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IJobEscrow} from "../../contracts/interfaces/IJobEscrow.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {Test} from "./utils/Test.sol";
import {Market, Record} from "./utils/MarketSetup.sol";

/**
 * @notice The attacks of docs/SECURITY.md items 31-36, each performed against the escrow and shown to fail, with the
 * honest path next to it. Root squatting (item 31) is `test_attack_rootSquatting_*` in assurance/Coverage.t.sol.
 */
contract MoneyAttacksTest is Test {
    using Market for Market.System;

    Market.System internal s;
    address internal constant TREASURY = address(0x7EA5);
    address internal constant ALICE = address(0xA11CE);
    address internal constant PROVIDER = address(0x9001);
    address internal constant OTHER_PROVIDER = address(0x9002);

    function setUp() public {
        address[] memory funded = new address[](3);
        (funded[0], funded[1], funded[2]) = (ALICE, PROVIDER, OTHER_PROVIDER);
        s = Market.deploy(address(this), TREASURY, funded);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.registerProvider(OTHER_PROVIDER, bytes32(uint256(Market.VALID_KEY) + 1));
        s.approveEscrow(ALICE);
    }

    function _job(uint64 maxUnits, uint256 deadlineIn) internal returns (uint256 id) {
        vm.prank(ALICE);
        id = s.escrow.createJob(1, maxUnits, address(0), uint40(block.timestamp + deadlineIn), "prompt");
    }

    function _settle(address provider, uint256 id, uint64 units, bytes32 receiptHash)
        internal
        returns (uint256 batchId, bytes32 root)
    {
        Record[] memory records = new Record[](1);
        records[0] = Record(id, units, receiptHash);
        bytes memory items = s.pack(provider, records);
        vm.prank(provider);
        return s.escrow.settleBatch(items);
    }

    function _release(uint256 batchId) internal {
        uint256[] memory ids = new uint256[](1);
        ids[0] = batchId;
        s.escrow.releaseBatches(ids);
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

    // -------------------------------------------------------------------- item 32: unbonding to escape a slash ---

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
        _settle(PROVIDER, id, 10_000, keccak256("inflated"));
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
        (uint256 batchId,) = _settle(PROVIDER, id, 4_000, keccak256("honest"));
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
        (uint256 batchId,) = _settle(PROVIDER, first, 10_000, keccak256("a"));
        (, uint256 payout,,) = s.escrow.payoutOf(batchId);
        assertEq(s.escrow.exposureOf(PROVIDER), 60e18 + payout, "escrow of the second plus the first's payout");
    }

    // ------------------------------------------------------------------ item 33: verified = settled as signed ---

    /// @dev The provider settled the job at 5,000 milli-units and plain-anchors a cheaper receipt (1,000) for the
    /// same job: the plain anchor's proof does not verify, nor does a cheaper leaf against the real settlement root,
    /// nor the real leaf against another provider's settlement root. The receipt as settled verifies.
    function test_attack_cheapReceiptUnderPlainAnchor_doesNotVerify_settledOneDoes() public {
        uint256 id = _job(10_000, 1 hours);
        s.accept(PROVIDER, id);
        bytes32 hash = keccak256("receipt");
        (, bytes32 settledRoot) = _settle(PROVIDER, id, 5_000, hash);
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
        (, bytes32 otherRoot) = _settle(OTHER_PROVIDER, other, 5_000, hash);
        assertFalse(s.escrow.verifyReceiptInclusion(otherRoot, settled, none), "not this job's batch");
        IJobEscrow.ReceiptLeaf memory wrongProvider = _leaf(OTHER_PROVIDER, id, 5_000, 2e18, hash);
        assertFalse(s.escrow.verifyReceiptInclusion(settledRoot, wrongProvider, none), "not its provider");
    }

    // ----------------------------------------------------- item 34: a batched resolution survives a timed-out one ---

    /// @dev The DAO (a real TimelockController) schedules one operation resolving three disputes; one of them is
    /// closed by timeout before execution. The batch still executes and resolves the two others.
    function test_attack_timeoutBeforeBatchedResolution_othersStillResolve() public {
        address[] memory roles = new address[](1);
        roles[0] = address(this);
        TimelockController timelock = new TimelockController(1 minutes, roles, roles, address(0));
        address[] memory funded = new address[](2);
        (funded[0], funded[1]) = (ALICE, PROVIDER);
        s = Market.deploy(address(timelock), TREASURY, funded);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.approveEscrow(ALICE);

        uint256[] memory ids = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            ids[i] = _job(10_000, 1 hours);
            s.accept(PROVIDER, ids[i]);
            _settle(PROVIDER, ids[i], 5_000, keccak256(abi.encode(i)));
            vm.prank(ALICE);
            s.escrow.dispute(ids[i]);
        }
        address[] memory targets = new address[](3);
        uint256[] memory values = new uint256[](3);
        bytes[] memory calls = new bytes[](3);
        for (uint256 i = 0; i < 3; ++i) {
            targets[i] = address(s.escrow);
            calls[i] = abi.encodeCall(IJobEscrow.resolveDispute, (ids[i], 0, 0));
        }
        timelock.scheduleBatch(targets, values, calls, 0, 0, 1 minutes);
        vm.warp(block.timestamp + 3600);
        s.escrow.closeTimedOutDispute(ids[1]);
        timelock.executeBatch(targets, values, calls, 0, 0);

        assertTrue(s.escrow.job(ids[0]).status == IJobEscrow.JobStatus.Resolved, "first resolved");
        assertTrue(s.escrow.job(ids[2]).status == IJobEscrow.JobStatus.Resolved, "third resolved");
        (uint256 held,,) = s.escrow.disputeOf(ids[0]);
        // Client got both held amounts and both bonds back; the provider got the timed-out one and its bond.
        assertEq(s.escrow.balanceOf(PROVIDER), held + Market.DISPUTE_BOND, "timed-out dispute paid the provider");
        assertEq(s.escrow.exposureOf(PROVIDER), 0, "no exposure left");
    }

    // ------------------------------------------------------------------------- item 35: disputes are not free ---

    /// @dev A client disputes jobs it has no case against: each dispute costs it the bond, which goes to the
    /// provider when the DAO finds for the provider (or the dispute times out). A justified dispute gets it back.
    function test_attack_frivolousDisputes_costTheBond_justifiedOneGetsItBack() public {
        uint256[] memory ids = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            ids[i] = _job(10_000, 1 hours);
            s.accept(PROVIDER, ids[i]);
            _settle(PROVIDER, ids[i], 5_000, keccak256(abi.encode(i)));
        }
        uint256 before = s.token.balanceOf(ALICE);
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(ALICE);
            s.escrow.dispute(ids[i]);
        }
        assertEq(before - s.token.balanceOf(ALICE), 3 * Market.DISPUTE_BOND, "three bonds paid");
        (uint256 held,, uint256 bond) = s.escrow.disputeOf(ids[0]);
        assertEq(bond, Market.DISPUTE_BOND, "bond recorded");

        s.escrow.resolveDispute(ids[0], 10_000, 0);
        vm.warp(block.timestamp + 3600);
        s.escrow.closeTimedOutDispute(ids[1]);
        assertEq(s.escrow.balanceOf(PROVIDER), 2 * (held + Market.DISPUTE_BOND), "provider got the lost bonds");

        uint256 clientBefore = s.escrow.balanceOf(ALICE);
        s.escrow.resolveDispute(ids[2], 0, 0);
        assertEq(s.escrow.balanceOf(ALICE) - clientBefore, held + Market.DISPUTE_BOND, "justified: bond back");
    }

    /// @dev Without the bond's allowance the dispute does not open; the DAO's bond change applies to new disputes.
    function test_dispute_withoutBondAllowance_reverts() public {
        uint256 id = _job(10_000, 1 hours);
        s.accept(PROVIDER, id);
        _settle(PROVIDER, id, 5_000, keccak256("r"));
        vm.prank(ALICE);
        s.token.approve(address(s.escrow), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(s.escrow), 0, Market.DISPUTE_BOND
            )
        );
        vm.prank(ALICE);
        s.escrow.dispute(id);
        assertTrue(s.escrow.job(id).status == IJobEscrow.JobStatus.Settled, "still settled");
    }

    // ----------------------------------------------------------------------- item 36: the fee is snapshotted ---

    /// @dev The DAO raises the fee from 2.5 % to 20 % after a job was created and accepted: it settles at 2.5 %
    /// (and a dispute holds its 2.5 %-net share); a job created after the change pays 20 %.
    function test_attack_feeRaisedAfterAcceptance_jobSettlesAtItsOwnFee() public {
        uint256 old = _job(10_000, 1 hours);
        s.accept(PROVIDER, old);
        s.escrow.setFeeBps(2_000);
        uint256 fresh = _job(10_000, 1 hours);
        s.accept(PROVIDER, fresh);
        assertEq(s.escrow.job(old).feeBps, 250, "old job keeps 2.5 %");
        assertEq(s.escrow.job(fresh).feeBps, 2_000, "new job 20 %");

        (uint256 batchId,) = _settle(PROVIDER, old, 10_000, keccak256("old"));
        (, uint256 payout,,) = s.escrow.payoutOf(batchId);
        assertEq(payout, 20e18 - 0.5e18, "20 AITBC at 2.5 %");
        assertEq(s.escrow.balanceOf(TREASURY), 0.5e18, "fee at 2.5 %");
        vm.prank(ALICE);
        s.escrow.dispute(old);
        (uint256 held,,) = s.escrow.disputeOf(old);
        assertEq(held, 20e18 - 0.5e18, "held at the job's fee");

        (uint256 freshBatch,) = _settle(PROVIDER, fresh, 10_000, keccak256("fresh"));
        (, uint256 freshPayout,,) = s.escrow.payoutOf(freshBatch);
        assertEq(freshPayout, 16e18, "20 AITBC at 20 %");
    }
}
