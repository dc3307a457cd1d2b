// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../contracts/interfaces/IJobEscrow.sol";
import {BuggyJobEscrow} from "../fixtures/contracts/BuggyJobEscrow.sol";
import {EscrowHandler} from "../fixtures/contracts/EscrowHandler.sol";
import {Market, MarketTest} from "../fixtures/contracts/MarketTest.sol";
import {Test} from "../fixtures/contracts/Test.sol";

contract EscrowInvariantsTest is Test {
    EscrowHandler internal handler;

    function setUp() public {
        handler = new EscrowHandler();
        targetContract(address(handler));
    }

    /// @dev Guards the handler itself: its actions must reach settlement, disputes and anchoring, or the invariant
    /// runs would pass vacuously.
    function test_handler_reachesSettlementDisputeAndAnchoring() public {
        handler.create(0, 0, 5_000, false);
        handler.create(1, 0, 5_000, false);
        handler.accept(0, 0);
        handler.accept(0, 1);
        handler.settle(0, 0, type(uint256).max, false);
        handler.settle(0, 0, type(uint256).max, true);
        assertEq(handler.maxTimesSettled(), 1, "settled once, replay refused");
        assertEq(handler.rootCount(), 1, "one anchored root");
        handler.unbond(0);
        handler.withdrawBond(0);
        assertEq(handler.bondWithdrawals(), 0, "exposure keeps the bond");
        handler.create(2, 0, 5_000, false);
        handler.accept(1, 2);
        handler.giveBack(0, 2);
        assertEq(handler.givenBack(), 0, "only the accepting provider gives back");
        handler.giveBack(1, 2);
        assertEq(handler.givenBack(), 1, "give-back reached");
        invariant_giveBackMovesExactlyTheEscrow();
        handler.dispute(0);
        handler.resolve(0, 5_000, 10e18);
        assertGt(handler.slashed(), 0, "slash reached");
        invariant_exposureMatchesTheBook();
        invariant_noBondWithdrawalWhileExposed();
        invariant_fundsConservation();
        invariant_bondAccounting();
    }

    function _system() internal view returns (Market.System memory sys) {
        (sys.token, sys.models, sys.providers, sys.escrow, sys.owner, sys.treasury) = handler.s();
    }

    /// @dev Σ open escrow + Σ pending payouts + Σ dispute holds + Σ withdrawable == token.balanceOf(escrow).
    function invariant_fundsConservation() public view {
        Market.System memory sys = _system();
        (uint256 jobs, uint256 batches) = sys.escrow.counters();
        (uint256 accounted, uint256 held) = Market.accountedFunds(sys, jobs, batches, handler.allAccounts());
        assertEq(accounted, held, "escrow balance == accounted funds");
    }

    /// @dev Every give-back moved the job's escrow to its client and out of its provider's exposure, nothing else.
    function invariant_giveBackMovesExactlyTheEscrow() public view {
        assertEq(handler.giveBackMismatches(), 0, "a give-back moved something other than the escrow");
    }

    function invariant_noJobPaidTwice() public view {
        assertLe(handler.maxTimesSettled(), 1, "a job settled more than once");
    }

    function invariant_rateSnapshotHonoured() public view {
        Market.System memory sys = _system();
        uint256 n = handler.jobCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.jobIds(i);
            IJobEscrow.JobView memory j = sys.escrow.job(id);
            assertEq(j.rate, handler.rateAtCreation(id), "rate snapshot");
            if (j.unitsMilli != 0) assertEq(j.price, (uint256(j.unitsMilli) * j.rate) / 1000, "price at snapshot");
        }
    }

    function invariant_bondAccounting() public view {
        Market.System memory sys = _system();
        address[] memory ps = handler.providersOf();
        uint256 bonds;
        for (uint256 i = 0; i < ps.length; ++i) bonds += sys.providers.provider(ps[i]).bond;
        assertEq(sys.token.balanceOf(address(sys.providers)), bonds, "registry holds exactly the bonds");
        assertEq(bonds, handler.bondsIn() - handler.bondsOut() - handler.slashed(), "bonds in - out - slashed");
    }

    /// @dev No bond ever leaves the registry while its provider has exposure in the escrow.
    function invariant_noBondWithdrawalWhileExposed() public view {
        assertEq(handler.bondsLeftWhileExposed(), 0, "bond withdrawn with exposure > 0");
    }

    /// @dev Each provider's exposure is exactly: escrow of its accepted jobs + unreleased payouts of its batches +
    /// amounts held by its open disputes.
    function invariant_exposureMatchesTheBook() public view {
        Market.System memory sys = _system();
        address[] memory ps = handler.providersOf();
        (uint256 jobs, uint256 batches) = sys.escrow.counters();
        for (uint256 k = 0; k < ps.length; ++k) {
            uint256 book;
            for (uint256 id = 1; id <= jobs; ++id) {
                IJobEscrow.JobView memory j = sys.escrow.job(id);
                if (j.provider != ps[k]) continue;
                if (j.status == IJobEscrow.JobStatus.Accepted) book += j.escrow;
                if (j.status == IJobEscrow.JobStatus.Disputed) {
                    (uint256 held,,) = sys.escrow.disputeOf(id);
                    book += held;
                }
            }
            for (uint256 b = 1; b <= batches; ++b) {
                (address provider, uint256 amount,,) = sys.escrow.payoutOf(b);
                if (provider == ps[k]) book += amount;
            }
            assertEq(sys.escrow.exposureOf(ps[k]), book, "exposure == book");
        }
    }

    function invariant_anchoredRootsImmutable() public view {
        uint256 n = handler.rootCount();
        for (uint256 i = 0; i < n; ++i) {
            bytes32 root = handler.roots(i);
            assertEq(handler.digest(root), handler.anchorDigest(root), "anchor changed");
        }
    }
}

/// @notice The conservation check must catch a planted accounting bug.
contract PlantedBugTest is MarketTest {
    using Market for Market.System;

    /// @dev Each test deploys its own market, with the real escrow or the planted-bug one.
    function setUp() public override {}

    function _scenario(bool buggy) internal returns (address[] memory accounts) {
        s = Market.deploy(address(this), TREASURY, _actors(), buggy);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.approveEscrow(ALICE);
        uint256 a = s.createJob(ALICE, 1, 10_000, address(0));
        s.createJob(ALICE, 1, 10_000, address(0));
        s.accept(PROVIDER, a);
        s.settleOne(PROVIDER, a, 2_500);
        accounts = _accounts();
    }

    function test_conservationCheck_holdsOnRealEscrow() public {
        address[] memory accounts = _scenario(false);
        vm.prank(ALICE);
        s.escrow.withdraw();
        (uint256 accounted, uint256 held) = Market.accountedFunds(s, 2, 1, accounts);
        assertEq(accounted, held, "real escrow conserves funds");
    }

    function test_conservationCheck_catchesPlantedBug() public {
        address[] memory accounts = _scenario(true);
        (uint256 accountedBefore, uint256 heldBefore) = Market.accountedFunds(s, 2, 1, accounts);
        assertEq(accountedBefore, heldBefore, "consistent before the bug fires");
        vm.prank(ALICE);
        BuggyJobEscrow(address(s.escrow)).withdrawWithoutDebit();
        (uint256 accounted, uint256 held) = Market.accountedFunds(s, 2, 1, accounts);
        assertGt(accounted, held, "the check reports the leak");
    }
}
