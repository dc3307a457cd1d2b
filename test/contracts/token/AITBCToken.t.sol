// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {AITBCToken} from "../../../contracts/token/AITBCToken.sol";
import {Test} from "../../fixtures/contracts/Test.sol";

/// @notice Unit and fuzz tests of the AITBC token: timestamp-clock vote checkpoints, delegation, permit and the cap.
/// The test contract itself stands in for the timelock (the token's owner and only minter).
contract AITBCTokenTest is Test {
    uint256 private constant CAP = 1_000_000e18;
    uint256 private constant ALICE_KEY = 0xA11CE;

    AITBCToken private token;
    address private alice;
    address private constant BOB = address(0xB0B);
    address private constant CAROL = address(0xCA201);

    function setUp() public {
        alice = vm.addr(ALICE_KEY);
        address[] memory recipients = new address[](2);
        recipients[0] = alice;
        recipients[1] = BOB;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = 100_000e18;
        amounts[1] = 50_000e18;
        vm.warp(1_000);
        token = new AITBCToken(CAP, address(this), recipients, amounts);
    }

    // ---- clock and checkpoints ----

    function test_clock_isTheBlockTimestamp() public {
        vm.warp(12_345);
        assertEq(token.clock(), 12_345, "clock");
        assertTrue(keccak256(bytes(token.CLOCK_MODE())) == keccak256("mode=timestamp"), "clock mode");
    }

    function test_getVotes_zeroUntilDelegated() public {
        assertEq(token.getVotes(alice), 0, "undelegated votes");
        vm.prank(alice);
        token.delegate(alice);
        assertEq(token.getVotes(alice), 100_000e18, "self-delegated votes");
    }

    function test_getPastVotes_checkpointsByTimestamp() public {
        vm.prank(alice);
        token.delegate(alice);
        vm.prank(BOB);
        token.delegate(BOB);
        vm.warp(2_000);
        vm.prank(alice);
        token.transfer(BOB, 30_000e18);
        vm.warp(2_001);
        assertEq(token.getPastVotes(alice, 1_000), 100_000e18, "alice at t=1000");
        assertEq(token.getPastVotes(alice, 1_999), 100_000e18, "alice just before the transfer");
        assertEq(token.getPastVotes(alice, 2_000), 70_000e18, "alice at the transfer second");
        assertEq(token.getPastVotes(BOB, 2_000), 80_000e18, "bob at the transfer second");
    }

    function test_getPastVotes_refusesTheFuture() public {
        vm.warp(5_000);
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, 5_000, uint48(5_000)));
        token.getPastVotes(alice, 5_000);
    }

    function test_delegate_movesVotesBetweenDelegates() public {
        vm.prank(alice);
        token.delegate(BOB);
        assertEq(token.getVotes(BOB), 100_000e18, "bob holds alice's votes");
        vm.prank(alice);
        token.delegate(CAROL);
        assertEq(token.getVotes(BOB), 0, "bob lost them");
        assertEq(token.getVotes(CAROL), 100_000e18, "carol has them");
        assertEq(token.delegates(alice), CAROL, "delegate recorded");
    }

    // ---- permit (EIP-2612) ----

    function test_permit_setsTheAllowanceFromASignature() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, permitDigest(token, alice, BOB, 1_000e18, 0, deadline));
        token.permit(alice, BOB, 1_000e18, deadline, v, r, s);
        assertEq(token.allowance(alice, BOB), 1_000e18, "allowance");
        assertEq(token.nonces(alice), 1, "nonce consumed");
        vm.prank(BOB);
        token.transferFrom(alice, CAROL, 1_000e18);
        assertEq(token.balanceOf(CAROL), 1_000e18, "spent through the permit");
    }

    function test_permit_replayReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, permitDigest(token, alice, BOB, 1_000e18, 0, deadline));
        token.permit(alice, BOB, 1_000e18, deadline, v, r, s);
        // With the nonce consumed the same signature recovers to some unrelated address.
        address recovered = ecrecover(permitDigest(token, alice, BOB, 1_000e18, 1, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, alice));
        token.permit(alice, BOB, 1_000e18, deadline, v, r, s);
    }

    function test_permit_expiredReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, permitDigest(token, alice, BOB, 1e18, 0, deadline));
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(alice, BOB, 1e18, deadline, v, r, s);
    }

    function test_permit_otherSignerReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(0xBAD, permitDigest(token, alice, BOB, 1e18, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, vm.addr(0xBAD), alice));
        token.permit(alice, BOB, 1e18, deadline, v, r, s);
    }

    // ---- minting and the cap ----

    function test_mint_onlyOwner() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        token.mint(alice, 1);
    }

    function test_transfer_atTheCap_stillWorks() public {
        // The cap bounds minting only: at a full supply, holders still move their tokens.
        token.mint(CAROL, CAP - token.totalSupply());
        vm.prank(alice);
        assertTrue(token.transfer(BOB, 100_000e18), "transfer at the cap");
        assertEq(token.balanceOf(BOB), 150_000e18, "received");
        assertEq(token.totalSupply(), CAP, "supply unchanged");
    }

    function test_mint_upToTheCapExactly() public {
        uint256 room = CAP - token.totalSupply();
        token.mint(CAROL, room);
        assertEq(token.totalSupply(), CAP, "supply at the cap");
        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCCapExceeded.selector, 1, CAP, CAP));
        token.mint(CAROL, 1);
    }

    function test_constructor_refusesBadCapsAndDistributions() public {
        address[] memory one = new address[](1);
        one[0] = alice;
        uint256[] memory none = new uint256[](0);
        uint256[] memory tooMuch = new uint256[](1);
        tooMuch[0] = 11;

        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCInvalidCap.selector, 0));
        new AITBCToken(0, address(this), new address[](0), none);

        uint256 huge = uint256(type(uint208).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCInvalidCap.selector, huge));
        new AITBCToken(huge, address(this), new address[](0), none);

        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCDistributionLengthMismatch.selector, 1, 0));
        new AITBCToken(10, address(this), one, none);

        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCCapExceeded.selector, 11, 0, 10));
        new AITBCToken(10, address(this), one, tooMuch);
    }

    // ---- fuzz ----

    function testFuzz_mint_withinCapAddsSupplyAndVotes(uint256 amount) public {
        uint256 supply = token.totalSupply();
        amount = bound(amount, 1, CAP - supply);
        vm.prank(CAROL);
        token.delegate(CAROL);
        token.mint(CAROL, amount);
        assertEq(token.totalSupply(), supply + amount, "supply");
        assertEq(token.getVotes(CAROL), amount, "votes follow the minted balance");
        assertLe(token.totalSupply(), token.cap(), "never above the cap");
    }

    function testFuzz_mint_overCapReverts(uint256 amount) public {
        uint256 supply = token.totalSupply();
        // Up to the largest uint256: even amounts whose sum with the supply would overflow get the named error.
        amount = bound(amount, CAP - supply + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(AITBCToken.AITBCCapExceeded.selector, amount, supply, CAP));
        token.mint(CAROL, amount);
    }

    function testFuzz_transfer_conservesVotes(uint256 amount, uint8 route) public {
        vm.prank(alice);
        token.delegate(alice);
        vm.prank(BOB);
        token.delegate(BOB);
        amount = bound(amount, 0, token.balanceOf(alice));
        address to = route % 3 == 0 ? BOB : route % 3 == 1 ? CAROL : alice;
        uint256 votesBefore = token.getVotes(alice) + token.getVotes(BOB);

        vm.prank(alice);
        token.transfer(to, amount);

        uint256 delegated = token.getVotes(alice) + token.getVotes(BOB);
        // Votes only leave the delegated pool when tokens go to an account that never delegated (CAROL).
        assertEq(delegated, to == CAROL ? votesBefore - amount : votesBefore, "delegated votes");
        assertEq(delegated, token.balanceOf(alice) + token.balanceOf(BOB), "votes equal the delegated balances");
        assertEq(token.totalSupply(), 150_000e18, "transfers never change supply");
    }
}
