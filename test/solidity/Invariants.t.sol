// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../contracts/interfaces/IJobEscrow.sol";
import {Test} from "./utils/Test.sol";
import {Market, Record} from "./utils/MarketSetup.sol";
import {BuggyJobEscrow} from "./utils/BuggyJobEscrow.sol";

/**
 * @notice Drives the marketplace with random but well-formed actions and keeps ghost records of what must hold. It
 * is the timelock too (owner of every parameter), so rate changes, fee changes and dispute resolutions are in the mix.
 */
contract EscrowHandler is Test {
    using Market for Market.System;

    Market.System public s;
    address[] public clients;
    address[] public providerList;
    address[] public accounts;

    uint256[] public jobIds;
    mapping(uint256 jobId => uint256) public timesSettled;
    mapping(uint256 jobId => uint256) public rateAtCreation;
    uint256 public maxTimesSettled;

    bytes32[] public roots;
    mapping(bytes32 root => bytes32) public anchorDigest;

    /// @dev Bond withdrawals that succeeded while the provider's exposure was not zero (must stay 0).
    uint256 public bondsLeftWhileExposed;
    uint256 public bondWithdrawals;

    uint256 public bondsIn;
    uint256 public bondsOut;
    uint256 public slashed;

    constructor() {
        clients = [address(0xC1), address(0xC2), address(0xC3)];
        providerList = [address(0xB1), address(0xB2)];
        address[] memory funded = new address[](5);
        (funded[0], funded[1], funded[2], funded[3], funded[4]) =
            (clients[0], clients[1], clients[2], providerList[0], providerList[1]);
        s = Market.deploy(address(this), address(0x7EA5), funded);
        for (uint256 i = 0; i < 3; ++i) s.approveEscrow(clients[i]);
        s.registerProvider(providerList[0], Market.VALID_KEY);
        s.registerProvider(providerList[1], bytes32(uint256(Market.VALID_KEY) + 7));
        bondsIn = 2 * Market.MIN_BOND;
        accounts = [clients[0], clients[1], clients[2], providerList[0], providerList[1], address(0x7EA5)];
    }

    // ------------------------------------------------------------------------------------------------ actions ---

    function create(uint256 clientSeed, uint256 modelSeed, uint256 units, bool directed) external {
        address client = clients[clientSeed % 3];
        uint16 model = uint16(1 + (modelSeed % 4));
        units = bound(units, 1, 50_000);
        address provider = directed ? providerList[modelSeed % 2] : address(0);
        vm.prank(client);
        try s.escrow.createJob(model, uint64(units), provider, uint40(block.timestamp + 1 hours), "p") returns (
            uint256 id
        ) {
            jobIds.push(id);
            (uint256 rate,) = s.models.rateOf(model);
            rateAtCreation[id] = rate;
        } catch {}
    }

    function accept(uint256 providerSeed, uint256 jobSeed) external {
        if (jobIds.length == 0) return;
        vm.prank(providerList[providerSeed % 2]);
        try s.escrow.acceptJob(jobIds[jobSeed % jobIds.length]) {} catch {}
    }

    /// @dev Settles up to four jobs of a provider; with `includeSettled`, a settled job is slipped in as well.
    function settle(uint256 providerSeed, uint256 startSeed, uint256 unitsSeed, bool includeSettled) external {
        if (jobIds.length == 0) return;
        address provider = providerList[providerSeed % 2];
        Record[] memory picked = new Record[](4);
        uint256 count;
        uint256 start = startSeed % jobIds.length;
        for (uint256 k = 0; k < jobIds.length && count < 4; ++k) {
            uint256 id = jobIds[(start + k) % jobIds.length];
            IJobEscrow.JobView memory j = s.escrow.job(id);
            bool settledOne = j.status == IJobEscrow.JobStatus.Settled || j.status == IJobEscrow.JobStatus.Finalized;
            bool pick = (j.status == IJobEscrow.JobStatus.Accepted && j.provider == provider)
                || (includeSettled && settledOne && j.provider == provider);
            if (!pick) continue;
            uint256 max = j.status == IJobEscrow.JobStatus.Accepted ? j.maxUnitsMilli : j.unitsMilli;
            picked[count++] = Record(id, uint64(bound(unitsSeed >> (k * 8), 1, max)), keccak256(abi.encode(id, k)));
        }
        if (count == 0) return;
        Record[] memory records = new Record[](count);
        for (uint256 i = 0; i < count; ++i) records[i] = picked[i];
        bytes memory items = Market.pack(s, provider, records);
        vm.prank(provider);
        try s.escrow.settleBatch(items) returns (uint256, bytes32 root) {
            for (uint256 i = 0; i < count; ++i) {
                uint256 times = ++timesSettled[records[i].jobId];
                if (times > maxTimesSettled) maxTimesSettled = times;
            }
            _remember(root);
        } catch {}
    }

    function anchor(bytes32 root, uint256 count) external {
        vm.prank(providerList[count % 2]);
        // Plain anchors live apart from settlement roots: invariant_anchoredRootsImmutable checks that settlement
        // batches never change, whatever is plain-anchored (including their own roots, see `settle`).
        try s.escrow.anchorRoot(root, bound(count, 1, 1024)) {} catch {}
        if (roots.length != 0) {
            try s.escrow.anchorRoot(roots[count % roots.length], 1) {} catch {}
        }
    }

    function cancel(uint256 jobSeed) external {
        if (jobIds.length == 0) return;
        uint256 id = jobIds[jobSeed % jobIds.length];
        vm.prank(s.escrow.job(id).client);
        try s.escrow.cancelJob(id) {} catch {}
    }

    function reclaim(uint256 jobSeed) external {
        if (jobIds.length == 0) return;
        try s.escrow.reclaimExpired(jobIds[jobSeed % jobIds.length]) {} catch {}
    }

    function dispute(uint256 jobSeed) external {
        if (jobIds.length == 0) return;
        uint256 id = jobIds[jobSeed % jobIds.length];
        vm.prank(s.escrow.job(id).client);
        try s.escrow.dispute(id) {} catch {}
    }

    function resolve(uint256 jobSeed, uint256 shareBps, uint256 slash) external {
        if (jobIds.length == 0) return;
        uint256 id = jobIds[jobSeed % jobIds.length];
        IJobEscrow.JobView memory j = s.escrow.job(id);
        if (j.status != IJobEscrow.JobStatus.Disputed) return;
        uint256 bondBefore = s.providers.provider(j.provider).bond;
        s.escrow.resolveDispute(id, bound(shareBps, 0, 10_000), bound(slash, 0, 50e18));
        slashed += bondBefore - s.providers.provider(j.provider).bond;
    }

    function timeout(uint256 jobSeed) external {
        if (jobIds.length == 0) return;
        try s.escrow.closeTimedOutDispute(jobIds[jobSeed % jobIds.length]) {} catch {}
    }

    function release(uint256 batchSeed) external {
        (, uint256 batches) = s.escrow.counters();
        if (batches == 0) return;
        uint256[] memory ids = new uint256[](1);
        ids[0] = 1 + (batchSeed % batches);
        try s.escrow.releaseBatches(ids) {} catch {}
    }

    function withdraw(uint256 accountSeed) external {
        vm.prank(accounts[accountSeed % accounts.length]);
        try s.escrow.withdraw() {} catch {}
    }

    function sweep() external {
        try s.escrow.sweepFees() {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 hours));
    }

    function setRate(uint256 modelSeed, uint256 rate) external {
        s.models.setRate(uint16(1 + (modelSeed % 4)), bound(rate, 1, 100e18));
    }

    function setFee(uint256 feeBps) external {
        s.escrow.setFeeBps(bound(feeBps, 0, 2_000));
    }

    function unbond(uint256 providerSeed) external {
        vm.prank(providerList[providerSeed % 2]);
        try s.providers.startUnbonding() {} catch {}
    }

    function withdrawBond(uint256 providerSeed) external {
        address p = providerList[providerSeed % 2];
        uint256 bond = s.providers.provider(p).bond;
        uint256 exposure = s.escrow.exposureOf(p);
        vm.prank(p);
        try s.providers.withdrawBond() {
            bondsOut += bond;
            bondWithdrawals += 1;
            if (exposure != 0) bondsLeftWhileExposed += 1;
        } catch {}
    }

    function reRegister(uint256 providerSeed, uint256 extra) external {
        address p = providerList[providerSeed % 2];
        uint256 bond = Market.MIN_BOND + bound(extra, 0, 100e18);
        uint16[] memory served = new uint16[](4);
        (served[0], served[1], served[2], served[3]) = (1, 2, 3, 4);
        vm.prank(p);
        try s.providers.register(bytes32(uint256(Market.VALID_KEY) + providerSeed % 2), served, bond) {
            bondsIn += bond;
        } catch {}
    }

    // -------------------------------------------------------------------------------------------------- views ---

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    function rootCount() external view returns (uint256) {
        return roots.length;
    }

    function allAccounts() external view returns (address[] memory) {
        return accounts;
    }

    function providersOf() external view returns (address[] memory) {
        return providerList;
    }

    function digest(bytes32 root) public view returns (bytes32) {
        IJobEscrow.BatchView memory b = s.escrow.batch(root);
        return keccak256(abi.encode(b.id, b.root, b.submitter, b.count, b.timestamp, b.settlement));
    }

    function _remember(bytes32 root) private {
        roots.push(root);
        anchorDigest[root] = digest(root);
    }
}

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
contract PlantedBugTest is Test {
    using Market for Market.System;

    address internal constant ALICE = address(0xA11CE);
    address internal constant PROVIDER = address(0x9001);

    function _scenario(bool buggy) internal returns (Market.System memory s, address[] memory accounts) {
        address[] memory funded = new address[](2);
        (funded[0], funded[1]) = (ALICE, PROVIDER);
        s = Market.deploy(address(this), address(0x7EA5), funded, buggy);
        s.registerProvider(PROVIDER, Market.VALID_KEY);
        s.approveEscrow(ALICE);
        uint256 a = s.createJob(ALICE, 1, 10_000, address(0));
        s.createJob(ALICE, 1, 10_000, address(0));
        s.accept(PROVIDER, a);
        s.settleOne(PROVIDER, a, 2_500);
        accounts = new address[](3);
        (accounts[0], accounts[1], accounts[2]) = (ALICE, PROVIDER, address(0x7EA5));
    }

    function test_conservationCheck_holdsOnRealEscrow() public {
        (Market.System memory s, address[] memory accounts) = _scenario(false);
        vm.prank(ALICE);
        s.escrow.withdraw();
        (uint256 accounted, uint256 held) = Market.accountedFunds(s, 2, 1, accounts);
        assertEq(accounted, held, "real escrow conserves funds");
    }

    function test_conservationCheck_catchesPlantedBug() public {
        (Market.System memory s, address[] memory accounts) = _scenario(true);
        (uint256 accountedBefore, uint256 heldBefore) = Market.accountedFunds(s, 2, 1, accounts);
        assertEq(accountedBefore, heldBefore, "consistent before the bug fires");
        vm.prank(ALICE);
        BuggyJobEscrow(address(s.escrow)).withdrawWithoutDebit();
        (uint256 accounted, uint256 held) = Market.accountedFunds(s, 2, 1, accounts);
        assertGt(accounted, held, "the check reports the leak");
    }
}
