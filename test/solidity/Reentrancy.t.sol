// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IJobEscrow} from "../../contracts/interfaces/IJobEscrow.sol";
import {JobEscrow} from "../../contracts/market/JobEscrow.sol";
import {ModelRegistry} from "../../contracts/market/ModelRegistry.sol";
import {ProviderRegistry} from "../../contracts/market/ProviderRegistry.sol";
import {Test} from "./utils/Test.sol";
import {Market} from "./utils/MarketSetup.sol";
import {ReentrantToken} from "./utils/ReentrantToken.sol";

/// @notice Checklist item 1: a token hook that re-enters the escrow during a refund or a withdrawal is refused, and
/// the escrow's books still balance.
contract ReentrancyTest is Test {
    ReentrantToken internal token;
    JobEscrow internal escrow;
    ProviderRegistry internal providers;
    address internal constant ALICE = address(0xA11CE);
    address internal constant PROVIDER = address(0x9001);

    function setUp() public {
        address[] memory holders = new address[](2);
        (holders[0], holders[1]) = (ALICE, PROVIDER);
        token = new ReentrantToken(holders);
        string[] memory names = new string[](1);
        string[] memory units = new string[](1);
        uint256[] memory rates = new uint256[](1);
        (names[0], units[0], rates[0]) = ("llama3.2", "gpu_seconds", 2e18);
        ModelRegistry models = new ModelRegistry(address(this), names, units, rates);
        address predicted = predictCreate(address(this), vm.getNonce(address(this)) + 1);
        providers = new ProviderRegistry(token, models, predicted, address(0x7EA5), address(this), 100e18, 1 days, 1_000);
        escrow = new JobEscrow(token, models, providers, address(0x7EA5), address(this), Market.defaultParams());
        uint16[] memory served = new uint16[](1);
        served[0] = 1;
        vm.startPrank(PROVIDER);
        token.approve(address(providers), type(uint256).max);
        providers.register(Market.VALID_KEY, served, 100e18);
        vm.stopPrank();
        vm.prank(ALICE);
        token.approve(address(escrow), type(uint256).max);
    }

    function _job() internal returns (uint256 id) {
        vm.prank(ALICE);
        id = escrow.createJob(1, 10_000, address(0), uint40(block.timestamp + 1 hours), "");
    }

    function _settled() internal returns (uint256 id) {
        id = _job();
        vm.prank(PROVIDER);
        escrow.acceptJob(id);
        vm.prank(PROVIDER);
        escrow.settleBatch(abi.encodePacked(bytes6(uint48(id)), bytes8(uint64(2_000)), keccak256("r")));
    }

    function _assertBooksBalance() internal view {
        (uint256 jobs,) = escrow.counters();
        uint256 accounted;
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobEscrow.JobView memory j = escrow.job(id);
            if (j.status == IJobEscrow.JobStatus.Open || j.status == IJobEscrow.JobStatus.Accepted) {
                accounted += j.escrow;
            }
        }
        (, uint256 batches) = escrow.counters();
        for (uint256 b = 1; b <= batches; ++b) {
            (, uint256 amount,,) = escrow.payoutOf(b);
            accounted += amount;
        }
        accounted += escrow.balanceOf(ALICE) + escrow.balanceOf(PROVIDER) + escrow.balanceOf(address(0x7EA5));
        assertEq(accounted, token.balanceOf(address(escrow)), "books balance");
    }

    function test_cancelJob_reentrantWithdrawDuringRefund_reverts() public {
        _settled(); // gives ALICE a withdrawable balance worth stealing twice
        uint256 id = _job();
        token.arm(address(escrow), abi.encodeCall(JobEscrow.withdraw, ()));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(ALICE);
        escrow.cancelJob(id);
        _assertBooksBalance();
    }

    function test_withdraw_reentrantWithdraw_reverts() public {
        _settled();
        token.arm(address(escrow), abi.encodeCall(JobEscrow.withdraw, ()));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        vm.prank(ALICE);
        escrow.withdraw();
        _assertBooksBalance();
    }

    function test_reclaimExpired_reentrantCancel_reverts() public {
        uint256 a = _job();
        uint256 b = _job();
        vm.warp(block.timestamp + 2 hours);
        token.arm(address(escrow), abi.encodeCall(JobEscrow.reclaimExpired, (b)));
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        escrow.reclaimExpired(a);
        _assertBooksBalance();
    }

    function test_sweepFees_reentrantSettle_reverts() public {
        _settled();
        uint256 id = _job();
        vm.prank(PROVIDER);
        escrow.acceptJob(id);
        token.arm(
            address(escrow),
            abi.encodeCall(
                JobEscrow.settleBatch, (abi.encodePacked(bytes6(uint48(id)), bytes8(uint64(1)), keccak256("x")))
            )
        );
        vm.expectRevert(IJobEscrow.JobEscrowReentrantCall.selector);
        escrow.sweepFees();
        _assertBooksBalance();
    }
}
