// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";
import {Vm} from "../../fixtures/contracts/Vm.sol";

/// @notice Disputes of a settled job: the window, the bond, the DAO's resolution and the timeout path.
contract JobEscrowDisputesTest is MarketTest {
    using Market for Market.System;

    // ------------------------------------------------------------------------------------------------- disputes ---

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

    // --------------------------------------------------- item 34: a batched resolution survives a timed-out one ---

    /// @dev The DAO (a real TimelockController) schedules one operation resolving three disputes; one of them is
    /// closed by timeout before execution. The batch still executes and resolves the two others.
    function test_attack_timeoutBeforeBatchedResolution_othersStillResolve() public {
        address[] memory roles = new address[](1);
        roles[0] = address(this);
        TimelockController timelock = new TimelockController(1 minutes, roles, roles, address(0));
        _deployMarket(address(timelock));
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.approveEscrow(ALICE);

        uint256[] memory ids = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            ids[i] = _job(10_000, 1 hours);
            s.accept(PROVIDER, ids[i]);
            s.settleOne(PROVIDER, ids[i], 5_000, keccak256(abi.encode(i)));
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

    // --------------------------------------------------------------------------- item 35: disputes are not free ---

    /// @dev A client disputes jobs it has no case against: each dispute costs it the bond, which goes to the
    /// provider when the DAO finds for the provider (or the dispute times out). A justified dispute gets it back.
    function test_attack_frivolousDisputes_costTheBond_justifiedOneGetsItBack() public {
        uint256[] memory ids = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            ids[i] = _job(10_000, 1 hours);
            s.accept(PROVIDER, ids[i]);
            s.settleOne(PROVIDER, ids[i], 5_000, keccak256(abi.encode(i)));
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
        s.settleOne(PROVIDER, id, 5_000, keccak256("r"));
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

    /// @dev With the dispute bond set to zero, a dispute moves no token at all (no zero-amount transfer).
    function test_dispute_withoutABond_movesNoToken() public {
        s.escrow.setDisputeBond(0);
        (uint256 id,) = _settled();
        uint256 before = s.token.balanceOf(ALICE);
        vm.recordLogs();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        _assertNoTokenEvent(vm.getRecordedLogs());
        assertEq(s.token.balanceOf(ALICE), before, "no bond taken");
        (,, uint256 bond) = s.escrow.disputeOf(id);
        assertEq(bond, 0, "no bond held");
    }

    /// @dev The arbiter can only resolve a dispute: resolving a settled job nobody disputed would mark it resolved
    /// and count a lost dispute (with a slash) against an honest provider.
    function test_attack_resolveAnUndisputedJob_reverts() public {
        (uint256 id,) = _settled();
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, id, IJobEscrow.JobStatus.Settled)
        );
        s.escrow.resolveDispute(id, 0, 10e18);
        uint256 open = _accepted(ALICE, 10_000);
        vm.expectRevert(
            abi.encodeWithSelector(IJobEscrow.JobEscrowUnexpectedStatus.selector, open, IJobEscrow.JobStatus.Accepted)
        );
        s.escrow.resolveDispute(open, 0, 10e18);
        assertEq(s.providers.provider(PROVIDER).disputesLost, 0, "no lost dispute recorded");
        assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND, "no slash");
    }

    /// @dev A provider that wins its dispute outright (the whole held amount, no slash) has not lost one.
    function test_resolveDispute_providerWins_recordsNoLoss() public {
        (uint256 id,) = _settled();
        vm.prank(ALICE);
        s.escrow.dispute(id);
        s.escrow.resolveDispute(id, 10_000, 0);
        assertEq(s.providers.provider(PROVIDER).disputesLost, 0, "a won dispute is not a loss");
        assertEq(s.providers.provider(PROVIDER).bond, Market.MIN_BOND, "no slash");
    }

    /// @dev Without a bond there is no bond to pay: neither a resolution nor a timeout reports a `DisputeBondPaid`.
    function test_withoutABond_noOutcomeReportsABondPaid() public {
        s.escrow.setDisputeBond(0);
        (uint256 resolved,) = _settled();
        (uint256 timedOut,) = _settled();
        vm.startPrank(ALICE);
        s.escrow.dispute(resolved);
        s.escrow.dispute(timedOut);
        vm.stopPrank();
        vm.recordLogs();
        s.escrow.resolveDispute(resolved, 5_000, 0);
        vm.warp(block.timestamp + 3600);
        s.escrow.closeTimedOutDispute(timedOut);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 outcomes;
        for (uint256 i = 0; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            assertTrue(topic != IJobEscrow.DisputeBondPaid.selector, "no DisputeBondPaid without a bond");
            if (topic == IJobEscrow.DisputeResolved.selector || topic == IJobEscrow.DisputeTimedOut.selector) outcomes++;
        }
        assertEq(outcomes, 2, "both outcomes are reported");
    }

    /// @dev The bond's way is reported: to the client that won, or to the provider on a win or a timeout.
    function test_disputeOutcomes_reportWhereTheBondWent() public {
        (uint256 clientWins,) = _settled();
        (uint256 providerWins,) = _settled();
        (uint256 timedOut,) = _settled();
        vm.startPrank(ALICE);
        s.escrow.dispute(clientWins);
        s.escrow.dispute(providerWins);
        s.escrow.dispute(timedOut);
        vm.stopPrank();
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeBondPaid(clientWins, ALICE, Market.DISPUTE_BOND);
        s.escrow.resolveDispute(clientWins, 0, 0);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeBondPaid(providerWins, PROVIDER, Market.DISPUTE_BOND);
        s.escrow.resolveDispute(providerWins, 10_000, 0);
        vm.warp(block.timestamp + 3600);
        vm.expectEmit(address(s.escrow));
        emit IJobEscrow.DisputeBondPaid(timedOut, PROVIDER, Market.DISPUTE_BOND);
        s.escrow.closeTimedOutDispute(timedOut);
    }
}
