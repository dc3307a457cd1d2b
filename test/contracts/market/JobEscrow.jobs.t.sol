// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice A job before settlement: creation (escrow, rate snapshot, input limits), quote, acceptance, cancellation
/// and expiry, with their events.
contract JobEscrowJobsTest is MarketTest {
    using Market for Market.System;

    // --------------------------------------------------------------------------------------------------- create ---

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

    /// @dev The client's EIP-2612 permit for the escrow, signed with `key` at the client's next nonce.
    function _permit(uint256 key, uint256 value, uint256 deadline)
        private
        view
        returns (uint8 v, bytes32 r, bytes32 rs)
    {
        IERC20Permit token = IERC20Permit(address(s.token));
        address owner = vm.addr(key);
        return vm.sign(key, permitDigest(token, owner, address(s.escrow), value, token.nonces(owner), deadline));
    }

    /// @dev One call, no approval beforehand: the permit sets the allowance, the job is created and its id returned.
    /// A permit front-run by anyone (its signature is public in the mempool) does not stop the client's job: the
    /// allowance it set is used. The same signature sent by someone else creates nothing and takes nothing.
    function test_createJobWithPermit_returnsTheJob_evenWhenThePermitIsFrontRun() public {
        uint256 key = 0xC11E47;
        address client = vm.addr(key);
        vm.prank(ALICE);
        s.token.transfer(client, 10 * ESCROW);
        uint40 deadline = uint40(block.timestamp + 60);
        uint256 until = block.timestamp + 1 hours;

        (uint8 v, bytes32 r, bytes32 rs) = _permit(key, ESCROW, until);
        vm.prank(client);
        uint256 first = s.escrow.createJobWithPermit(MODEL, MAX_UNITS, address(0), deadline, "p", until, v, r, rs);
        IJobEscrow.JobView memory j = s.escrow.job(first);
        assertTrue(first != 0, "an id");
        assertEq(j.client, client, "the client's job");
        assertEq(j.escrow, ESCROW, "escrowed");
        assertEq(s.token.balanceOf(client), 9 * ESCROW, "pulled once");

        (v, r, rs) = _permit(key, ESCROW, until);
        vm.prank(STRANGER);
        IERC20Permit(address(s.token)).permit(client, address(s.escrow), ESCROW, until, v, r, rs);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(s.escrow), 0, ESCROW)
        );
        vm.prank(STRANGER);
        s.escrow.createJobWithPermit(MODEL, MAX_UNITS, address(0), deadline, "p", until, v, r, rs);
        vm.prank(client);
        uint256 second = s.escrow.createJobWithPermit(MODEL, MAX_UNITS, address(0), deadline, "p", until, v, r, rs);
        assertEq(second, first + 1, "the next id");
        assertEq(s.escrow.job(second).client, client, "the client's second job");
        assertEq(s.token.balanceOf(client), 8 * ESCROW, "two escrows in all");
        assertEq(s.token.allowance(client, address(s.escrow)), 0, "the permit's allowance is used up");
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

    function test_createJob_promptAtLimit_succeeds_andOneByteMore_reverts() public {
        uint256 limit = s.escrow.MAX_PROMPT_BYTES();
        vm.prank(ALICE);
        s.escrow.createJob(1, 1, address(0), uint40(block.timestamp + 1 hours), new bytes(limit));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowPromptTooLong.selector, limit + 1, limit));
        s.escrow.createJob(1, 1, address(0), uint40(block.timestamp + 1 hours), new bytes(limit + 1));
    }

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

    // ---------------------------------------------------------------------------------------------------- quote ---

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

    /// @dev The largest job at the largest rate neither overflows nor loses precision.
    function test_fuzz_quote_extremesDoNotOverflow(uint256 maxUnits, uint256 rate) public {
        maxUnits = bound(maxUnits, 1, s.escrow.MAX_UNITS_MILLI());
        rate = bound(rate, 1, s.models.MAX_RATE());
        s.models.setRate(1, rate);
        uint256 quoted = s.escrow.quote(1, uint64(maxUnits));
        assertEq(quoted, (maxUnits * rate + 999) / 1000, "ceil");
        assertTrue(quoted * 1000 >= maxUnits * rate && (quoted - 1) * 1000 < maxUnits * rate, "tight ceiling");
    }

    // --------------------------------------------------------------------------------------------------- accept ---

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

    // -------------------------------------------------------------------------------------------- cancel/expire ---

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

    /// @dev Accepting a job id that was never created names it as unknown (not as a job in an unexpected state).
    function test_acceptJob_unknownJob_reverts() public {
        uint256 id = s.createJob(ALICE, MODEL, MAX_UNITS, address(0));
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownJob.selector, id + 1));
        vm.prank(PROVIDER);
        s.escrow.acceptJob(id + 1);
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (id, id + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobEscrow.JobEscrowUnknownJob.selector, id + 1));
        vm.prank(PROVIDER);
        s.escrow.acceptJobs(ids);
    }
}
