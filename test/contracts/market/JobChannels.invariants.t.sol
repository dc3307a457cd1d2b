// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobChannels} from "../../../contracts/interfaces/IJobChannels.sol";
import {JobChannels} from "../../../contracts/market/JobChannels.sol";
import {ChannelHandler} from "../../fixtures/contracts/ChannelHandler.sol";
import {Test} from "../../fixtures/contracts/Test.sol";

/// @notice The channel mode's books under random deposits, claims, replays, fallback claims, disputes and closings.
contract JobChannelsInvariantsTest is Test {
    ChannelHandler internal handler;
    JobChannels internal channels;
    IERC20 internal token;

    function setUp() public {
        handler = new ChannelHandler();
        channels = handler.channels();
        (token,,,,,) = handler.s();
        targetContract(address(handler));
    }

    /// @dev Guards the handler itself: its actions must reach voucher claims, fallback claims, disputes and
    /// withdrawals, or the invariant runs would pass vacuously.
    function test_handler_reachesClaimsDisputesAndWithdrawals() public {
        handler.deposit(0, 0, 300e18);
        handler.deposit(1, 1, 300e18);
        handler.redeem(0, 0, 20e18);
        handler.replay(0, 0);
        assertEq(handler.vouchersRedeemed(), 1, "voucher redeemed");
        assertEq(handler.replaysAccepted(), 0, "replay refused");
        handler.fallbackClaim(1, 1, 5_000, 10e18);
        handler.fallbackClaim(0, 0, 5_000, 10e18);
        assertEq(handler.claimCount(), 2, "fallback claims");
        handler.dispute(0);
        handler.resolve(0, 4_000);
        assertEq(handler.disputesResolved(), 1, "dispute resolved");
        handler.requestWithdrawal(0, 0);
        handler.warp(3 hours);
        handler.redeem(0, 0, 1e18);
        assertEq(handler.closedClaimsAccepted(), 0, "claim after the delay refused");
        handler.release(1);
        handler.withdrawChannel(0, 0);
        handler.withdraw(0);
        handler.withdraw(1);
        handler.sweep();
        assertGt(handler.withdrawnFromChannel(handler.clientAt(0), handler.providerAt(0)), 0, "channel withdrawn");
        invariant_fundsConservation();
        invariant_channelBooksExact();
        invariant_nobodyReceivesMoreThanWasDepositedForThem();
    }

    /// @dev Σ channel balances + Σ held claims and open bonds + Σ withdrawable + accrued fees == token balance.
    function invariant_fundsConservation() public view {
        uint256 accounted = channels.accruedFees();
        for (uint256 c = 0; c < 3; ++c) {
            address client = handler.clientAt(c);
            accounted += channels.balanceOf(client);
            for (uint256 p = 0; p < 2; ++p) accounted += channels.channel(client, handler.providerAt(p)).balance;
        }
        for (uint256 p = 0; p < 2; ++p) accounted += channels.balanceOf(handler.providerAt(p));
        uint256 n = handler.claimCount();
        for (uint256 i = 0; i < n; ++i) {
            IJobChannels.ClaimView memory k = channels.claimOf(handler.claims(i));
            accounted += k.held + k.bond;
        }
        assertEq(accounted, token.balanceOf(address(channels)), "channels balance == accounted funds");
    }

    /// @dev Per channel: what is in it + what left to its provider + what the client took back == what was deposited.
    function invariant_channelBooksExact() public view {
        for (uint256 c = 0; c < 3; ++c) {
            address client = handler.clientAt(c);
            for (uint256 p = 0; p < 2; ++p) {
                address provider = handler.providerAt(p);
                IJobChannels.ChannelView memory ch = channels.channel(client, provider);
                assertEq(
                    ch.balance + handler.paidOut(client, provider) + handler.withdrawnFromChannel(client, provider),
                    handler.deposited(client, provider),
                    "balance + paid + withdrawn == deposited"
                );
                assertLe(ch.spent, handler.deposited(client, provider), "vouchers never exceed the deposits");
            }
        }
    }

    /// @dev A client gets back at most what was deposited for it (plus its own dispute bonds); a provider is paid at
    /// most what its clients' channels released to it (plus bonds it won, at most all bonds paid).
    function invariant_nobodyReceivesMoreThanWasDepositedForThem() public view {
        uint256 bonds;
        uint256 released;
        for (uint256 c = 0; c < 3; ++c) {
            address client = handler.clientAt(c);
            uint256 total;
            uint256 back = handler.refundsReceived(client) + channels.balanceOf(client);
            for (uint256 p = 0; p < 2; ++p) {
                address provider = handler.providerAt(p);
                total += handler.deposited(client, provider);
                back += handler.withdrawnFromChannel(client, provider);
                released += handler.paidOut(client, provider);
            }
            bonds += handler.bondsPaid(client);
            assertLe(back, total + handler.bondsPaid(client), "client receives at most its deposits and bonds");
        }
        uint256 providersHold = channels.accruedFees() + token.balanceOf(address(0x7EA5));
        for (uint256 p = 0; p < 2; ++p) {
            address provider = handler.providerAt(p);
            providersHold += channels.balanceOf(provider) + handler.providerWithdrawn(provider);
        }
        assertLe(providersHold, released + bonds, "providers + treasury hold at most what channels paid out + bonds");
    }
}
