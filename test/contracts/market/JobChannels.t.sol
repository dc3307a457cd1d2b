// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobChannels} from "../../../contracts/interfaces/IJobChannels.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {JobChannels} from "../../../contracts/market/JobChannels.sol";
import {AITBCToken} from "../../../contracts/token/AITBCToken.sol";
import {Channels} from "../../fixtures/contracts/Channels.sol";
import {ChannelsTest} from "../../fixtures/contracts/ChannelsTest.sol";
import {Market} from "../../fixtures/contracts/MarketTest.sol";
import {WalletClient} from "../../fixtures/contracts/WalletClient.sol";

/// @notice Deposits, voucher claims, replays, over-commitment, closing and the parameters.
contract JobChannelsTest is ChannelsTest {
    using Channels for JobChannels;

    // ------------------------------------------------------------------------------------------------ deposits ---

    function test_deposit_creditsTheChannelAndPullsTheTokens() public {
        uint256 before = s.token.balanceOf(CAROL);
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.ChannelView memory c = channels.channel(CAROL, PROVIDER);
        assertEq(c.balance, DEPOSIT, "balance");
        assertEq(c.spent, 0, "spent");
        assertEq(s.token.balanceOf(CAROL), before - DEPOSIT, "pulled");
        assertEq(s.token.balanceOf(address(channels)), DEPOSIT, "held");
    }

    function test_deposit_forAnotherClient_onlyThatClientWithdraws() public {
        vm.prank(ALICE);
        s.token.approve(address(channels), type(uint256).max);
        vm.prank(ALICE);
        channels.deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNoWithdrawalPending.selector, ALICE, PROVIDER));
        channels.withdrawChannel(PROVIDER);
        assertEq(channels.channel(CAROL, PROVIDER).balance, DEPOSIT, "credited to the client");
    }

    function test_deposit_toNonProvider_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNotProvider.selector, STRANGER));
        _deposit(CAROL, STRANGER, DEPOSIT);
    }

    function test_deposit_toUnbondingProvider_reverts() public {
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNotProvider.selector, PROVIDER));
        _deposit(CAROL, PROVIDER, DEPOSIT);
    }

    function test_deposit_zeroAmountOrZeroClient_reverts() public {
        vm.expectRevert(IJobChannels.JobChannelsZeroAmount.selector);
        _deposit(CAROL, PROVIDER, 0);
        vm.prank(CAROL);
        vm.expectRevert(IJobChannels.JobChannelsZeroAddress.selector);
        channels.deposit(address(0), PROVIDER, 1);
    }

    // -------------------------------------------------------------------------------------------------- claims ---

    function test_claim_paysTheDeltaFeeToTreasuryRestToProvider() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        uint256 paid = _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 40e18)));
        assertEq(paid, 40e18, "amount");
        uint256 fee = (40e18 * 250) / 10_000;
        assertEq(channels.accruedFees(), fee, "fee");
        assertEq(channels.balanceOf(PROVIDER), 40e18 - fee, "provider");
        IJobChannels.ChannelView memory c = channels.channel(CAROL, PROVIDER);
        assertEq(c.balance, 60e18, "balance");
        assertEq(c.spent, 40e18, "spent");
        // The next voucher pays only the difference.
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 55e18)));
        assertEq(channels.channel(CAROL, PROVIDER).balance, 45e18, "delta only");
        vm.prank(PROVIDER);
        channels.withdraw();
        channels.sweepFees();
        assertEq(s.token.balanceOf(TREASURY), (40e18 * 250) / 10_000 + (15e18 * 250) / 10_000, "treasury paid");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_claim_manyClientsInOneClaim_oneWritePerClient() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _deposit(DAVE, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher[] memory vs = _carolAndDave(10e18, 20e18);
        assertEq(_claim(vs), 30e18, "total");
        assertEq(channels.channel(CAROL, PROVIDER).spent, 10e18, "carol");
        assertEq(channels.channel(DAVE, PROVIDER).spent, 20e18, "dave");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_claim_sameVoucherTwice_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher memory v = channels.voucher(CAROL_KEY, PROVIDER, 10e18);
        _claim(_one(v));
        _expectClaimRevert(
            PROVIDER,
            _one(v),
            abi.encodeWithSelector(IJobChannels.JobChannelsVoucherNotAbove.selector, CAROL, 10e18, 10e18)
        );
        assertEq(channels.channel(CAROL, PROVIDER).balance, 90e18, "paid once");
    }

    function test_claim_sameVoucherTwiceInOneClaim_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher[] memory vs = new IJobChannels.SignedVoucher[](2);
        vs[0] = channels.voucher(CAROL_KEY, PROVIDER, 10e18);
        vs[1] = vs[0];
        _expectClaimRevert(
            PROVIDER, vs, abi.encodeWithSelector(IJobChannels.JobChannelsVoucherNotAbove.selector, CAROL, 10e18, 10e18)
        );
    }

    function test_claim_olderVoucherAfterNewer_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher memory old = channels.voucher(CAROL_KEY, PROVIDER, 10e18);
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 30e18)));
        _expectClaimRevert(
            PROVIDER,
            _one(old),
            abi.encodeWithSelector(IJobChannels.JobChannelsVoucherNotAbove.selector, CAROL, 10e18, 30e18)
        );
    }

    function test_claim_voucherOfAnotherProvidersChannel_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _deposit(CAROL, OTHER_PROVIDER, DEPOSIT);
        // Signed for (CAROL, OTHER_PROVIDER), presented by PROVIDER on (CAROL, PROVIDER).
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucher(CAROL_KEY, OTHER_PROVIDER, 10e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
    }

    function test_claim_voucherSignedByAnotherClient_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucherSignedBy(DAVE_KEY, CAROL, PROVIDER, 10e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
    }

    function test_claim_voucherForAnotherDeployment_reverts() public {
        JobChannels other = Market.deployChannels(s);
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher memory v = other.voucher(CAROL_KEY, PROVIDER, 10e18);
        _expectClaimRevert(
            PROVIDER, _one(v), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
    }

    function test_claim_voucherForAnotherChain_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        bytes32 digest = Channels.voucherDigestOn(address(channels), block.chainid + 1, CAROL, PROVIDER, 10e18, 3);
        IJobChannels.SignedVoucher memory v = IJobChannels.SignedVoucher(CAROL, 10e18, 3, Channels.sign(CAROL_KEY, digest));
        _expectClaimRevert(
            PROVIDER, _one(v), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
        // The same voucher with this chain's domain is accepted: only the chain id differed.
        assertEq(
            Channels.voucherDigestOn(address(channels), block.chainid, CAROL, PROVIDER, 10e18, 3),
            channels.voucherDigest(CAROL, PROVIDER, 10e18, 3),
            "digest rules match the contract"
        );
    }

    function test_claim_contractClient_isCheckedWithERC1271() public {
        WalletClient wallet = new WalletClient(CAROL);
        vm.prank(ALICE);
        s.token.approve(address(channels), type(uint256).max);
        vm.prank(ALICE);
        channels.deposit(address(wallet), PROVIDER, DEPOSIT);
        assertEq(_claim(_one(channels.voucherSignedBy(CAROL_KEY, address(wallet), PROVIDER, 10e18))), 10e18, "1271");
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucherSignedBy(DAVE_KEY, address(wallet), PROVIDER, 20e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, address(wallet))
        );
    }

    function test_claim_malformedSignature_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher memory v = channels.voucher(CAROL_KEY, PROVIDER, 10e18);
        v.signature = bytes.concat(v.signature, hex"00");
        _expectClaimRevert(
            PROVIDER, _one(v), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
        v.cumulativeAmount = 11e18; // a raised amount under the original signature
        v.signature = channels.voucher(CAROL_KEY, PROVIDER, 10e18).signature;
        _expectClaimRevert(
            PROVIDER, _one(v), abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
    }

    function test_claim_voucherAboveTheDeposit_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, DEPOSIT + 1)),
            abi.encodeWithSelector(
                IJobChannels.JobChannelsInsufficientBalance.selector, CAROL, PROVIDER, DEPOSIT + 1, DEPOSIT
            )
        );
        // Exactly the deposit is fine.
        assertEq(_claim(_one(channels.voucher(CAROL_KEY, PROVIDER, DEPOSIT))), DEPOSIT, "whole deposit");
    }

    function test_claim_clientOverCommitsAcrossProviders_eachChannelPaysOnlyItsOwn() public {
        _deposit(CAROL, PROVIDER, 10e18);
        _deposit(CAROL, OTHER_PROVIDER, 10e18);
        // CAROL promises 15 to each provider, 30 in all against 20 deposited.
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, 15e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsInsufficientBalance.selector, CAROL, PROVIDER, 15e18, 10e18)
        );
        _expectClaimRevert(
            OTHER_PROVIDER,
            _one(channels.voucher(CAROL_KEY, OTHER_PROVIDER, 15e18)),
            abi.encodeWithSelector(
                IJobChannels.JobChannelsInsufficientBalance.selector, CAROL, OTHER_PROVIDER, 15e18, 10e18
            )
        );
        // What each channel holds is each provider's, and no more: PROVIDER's claim never touches the other channel.
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 10e18)));
        assertEq(channels.channel(CAROL, OTHER_PROVIDER).balance, 10e18, "other channel untouched");
        vm.prank(OTHER_PROVIDER);
        channels.claim(bytes32(0), 0, _one(channels.voucher(CAROL_KEY, OTHER_PROVIDER, 10e18)));
        assertEq(s.token.balanceOf(address(channels)), 20e18, "exactly the deposits, no more");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_claim_byNonProvider_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _expectClaimRevert(
            STRANGER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, 10e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsNotProvider.selector, STRANGER)
        );
    }

    function test_claim_byAnotherProviderWithTheClientsVoucher_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _deposit(CAROL, OTHER_PROVIDER, DEPOSIT);
        _expectClaimRevert(
            OTHER_PROVIDER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, 10e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherSignature.selector, CAROL)
        );
    }

    function test_claim_unbondingProvider_stillClaims() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        assertEq(_claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 10e18))), 10e18, "exiting provider is paid");
    }

    function test_claim_emptyOrOversized_reverts() public {
        _expectClaimRevert(
            PROVIDER,
            new IJobChannels.SignedVoucher[](0),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherCount.selector, 0)
        );
        _expectClaimRevert(
            PROVIDER,
            new IJobChannels.SignedVoucher[](1025),
            abi.encodeWithSelector(IJobChannels.JobChannelsInvalidVoucherCount.selector, 1025)
        );
    }

    function test_claim_anchorsTheRootOnceInTheProvidersNamespace() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        bytes32 root = keccak256("batch");
        vm.prank(PROVIDER);
        channels.claim(root, 10, _one(channels.voucher(CAROL_KEY, PROVIDER, 1e18)));
        (uint256 at, uint256 count) = channels.anchorOf(PROVIDER, root);
        assertEq(at, block.timestamp, "anchored now");
        assertEq(count, 10, "count");
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsRootAlreadyAnchored.selector, PROVIDER, root));
        channels.claim(root, 10, _one(channels.voucher(CAROL_KEY, PROVIDER, 2e18)));
        // Another provider's namespace is its own: the same root does not collide, nor count for PROVIDER.
        vm.prank(OTHER_PROVIDER);
        channels.anchorRoot(root, 1);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsInvalidAnchor.selector, keccak256("x"), 0));
        channels.anchorRoot(keccak256("x"), 0);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNotProvider.selector, STRANGER));
        channels.anchorRoot(keccak256("x"), 1);
    }

    // ------------------------------------------------------------------------------------------------- closing ---

    function test_claim_beforeTheDelayEnds_succeedsUnderAPendingWithdrawal() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        uint256 closesAt = channels.channel(CAROL, PROVIDER).closesAt;
        assertEq(closesAt, block.timestamp + 2 hours, "delay");
        // The client cannot take the funds while the provider may still claim.
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(IJobChannels.JobChannelsWithdrawalPending.selector, CAROL, PROVIDER, closesAt)
        );
        channels.withdrawChannel(PROVIDER);
        vm.warp(closesAt - 1);
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 30e18)));
        vm.warp(closesAt);
        vm.prank(CAROL);
        assertEq(channels.withdrawChannel(PROVIDER), 70e18, "only what was not claimed");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    function test_claim_afterTheDelay_reverts() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        uint256 closesAt = block.timestamp + 2 hours;
        vm.warp(closesAt);
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, 30e18)),
            abi.encodeWithSelector(IJobChannels.JobChannelsChannelClosed.selector, CAROL, PROVIDER, closesAt)
        );
    }

    function test_withdrawChannel_withoutRequest_andRequestTwice_revert() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNoWithdrawalPending.selector, CAROL, PROVIDER));
        channels.withdrawChannel(PROVIDER);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsWithdrawalPending.selector, CAROL, PROVIDER, block.timestamp + 2 hours
            )
        );
        channels.requestWithdrawal(PROVIDER);
    }

    function test_cancelWithdrawal_reopensTheChannelForClaims() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.prank(CAROL);
        channels.cancelWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 3 hours);
        assertEq(_claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 1e18))), 1e18, "claimable again");
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNoWithdrawalPending.selector, CAROL, PROVIDER));
        channels.cancelWithdrawal(PROVIDER);
    }

    function test_withdrawChannel_thenRedeposit_oldVouchersStayWorthless() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        IJobChannels.SignedVoucher memory v = channels.voucher(CAROL_KEY, PROVIDER, 40e18);
        _claim(_one(v));
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        vm.prank(CAROL);
        channels.withdrawChannel(PROVIDER);
        _deposit(CAROL, PROVIDER, DEPOSIT);
        _expectClaimRevert(
            PROVIDER,
            _one(v),
            abi.encodeWithSelector(IJobChannels.JobChannelsVoucherNotAbove.selector, CAROL, 40e18, 40e18)
        );
        // Vouchers keep counting from the lifetime total.
        assertEq(_claim(_one(channels.voucher(CAROL_KEY, PROVIDER, 45e18))), 5e18, "delta over the lifetime total");
    }

    // ---------------------------------------------------------------------------------------------- parameters ---

    function test_setters_outOfBounds_revert() public {
        vm.expectRevert(
            abi.encodeWithSelector(IJobChannels.JobChannelsParameterOutOfBounds.selector, bytes32("feeBps"), 2001, 0, 2000)
        );
        channels.setFeeBps(2001);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsParameterOutOfBounds.selector,
                bytes32("withdrawalDelay"),
                1 hours - 1,
                1 hours,
                90 days
            )
        );
        channels.setWithdrawalDelay(1 hours - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsParameterOutOfBounds.selector, bytes32("disputeWindow"), 59, 60, 30 days
            )
        );
        channels.setDisputeWindow(59);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsParameterOutOfBounds.selector, bytes32("disputeTimeout"), 181 days, 60, 180 days
            )
        );
        channels.setDisputeTimeout(181 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobChannels.JobChannelsParameterOutOfBounds.selector, bytes32("disputeBond"), 1e6 ether + 1, 0, 1e6 ether
            )
        );
        channels.setDisputeBond(1e6 ether + 1);
        channels.setFeeBps(2000);
        channels.setWithdrawalDelay(90 days);
        (uint256 fee,,, uint256 delay,) = channels.parameters();
        assertEq(fee, 2000, "fee at the bound");
        assertEq(delay, 90 days, "delay at the bound");
    }

    function test_setters_byAnyoneButTheOwner_revert() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER);
        vm.startPrank(STRANGER);
        vm.expectRevert(err);
        channels.setFeeBps(0);
        vm.expectRevert(err);
        channels.setWithdrawalDelay(1 days);
        vm.expectRevert(err);
        channels.setDisputeWindow(1 days);
        vm.expectRevert(err);
        channels.setDisputeTimeout(1 days);
        vm.expectRevert(err);
        channels.setDisputeBond(0);
        vm.stopPrank();
    }

    function test_deposit_pastTheLifetimeLimit_reverts() public {
        // The four channel fields share one slot: balance + spent stays below 2^88 over the channel's life.
        uint256 limit = type(uint88).max;
        AITBCToken(address(s.token)).mint(DAVE, limit);
        _deposit(DAVE, PROVIDER, limit);
        assertEq(channels.channel(DAVE, PROVIDER).balance, limit, "up to the limit exactly");
        vm.prank(DAVE);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsAmountOverflow.selector, limit + 1));
        channels.deposit(DAVE, PROVIDER, 1);
    }

    function test_withdrawAndSweepFees_withNothingThere_revert() public {
        vm.prank(DAVE);
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNothingToWithdraw.selector, DAVE));
        channels.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IJobChannels.JobChannelsNothingToWithdraw.selector, channels.treasury()));
        channels.sweepFees();
    }

    function test_constructor_eachZeroAddress_reverts() public {
        JobChannels.Params memory p = Market.channelParams();
        vm.expectRevert(IJobChannels.JobChannelsZeroAddress.selector);
        new JobChannels(IERC20(address(0)), s.models, s.providers, TREASURY, address(this), p);
        vm.expectRevert(IJobChannels.JobChannelsZeroAddress.selector);
        new JobChannels(s.token, IModelRegistry(address(0)), s.providers, TREASURY, address(this), p);
        vm.expectRevert(IJobChannels.JobChannelsZeroAddress.selector);
        new JobChannels(s.token, s.models, IProviderRegistry(address(0)), TREASURY, address(this), p);
        vm.expectRevert(IJobChannels.JobChannelsZeroAddress.selector);
        new JobChannels(s.token, s.models, s.providers, address(0), address(this), p);
    }

    function test_constructor_feeAboveTheBound_reverts() public {
        JobChannels.Params memory p = Market.channelParams();
        p.feeBps = 2001;
        vm.expectRevert(
            abi.encodeWithSelector(IJobChannels.JobChannelsParameterOutOfBounds.selector, bytes32("feeBps"), 2001, 0, 2000)
        );
        new JobChannels(s.token, s.models, s.providers, TREASURY, address(this), p);
    }

    function test_setWithdrawalDelay_reachesOnlyLaterRequests() public {
        _deposit(CAROL, PROVIDER, DEPOSIT);
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        channels.setWithdrawalDelay(1 hours);
        assertEq(channels.channel(CAROL, PROVIDER).closesAt, block.timestamp + 2 hours, "pending request unchanged");
    }

    // --------------------------------------------------------------------------------------------------- fuzz ---

    /// @dev Two successive vouchers at any fee: provider + treasury + channel == deposit, to the base unit.
    function testFuzz_claim_moneyIsExact(uint256 deposit, uint256 first, uint256 second, uint256 feeBps) public {
        deposit = bound(deposit, 1, 10_000e18);
        first = bound(first, 1, deposit);
        second = bound(second, first, deposit);
        feeBps = bound(feeBps, 0, 2000);
        channels.setFeeBps(feeBps);
        _deposit(CAROL, PROVIDER, deposit);
        _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, first)));
        if (second > first) _claim(_one(channels.voucher(CAROL_KEY, PROVIDER, second)));
        IJobChannels.ChannelView memory c = channels.channel(CAROL, PROVIDER);
        assertEq(c.spent, second, "spent is the newest voucher");
        assertEq(
            channels.balanceOf(PROVIDER) + channels.accruedFees() + c.balance, deposit, "provider + fees + rest == deposit"
        );
        assertLe(channels.accruedFees(), (second * feeBps) / 10_000, "fee within its rate");
        vm.prank(CAROL);
        channels.requestWithdrawal(PROVIDER);
        vm.warp(block.timestamp + 2 hours);
        vm.prank(CAROL);
        assertEq(channels.withdrawChannel(PROVIDER), deposit - second, "client gets back exactly the unspent");
        _assertChannelBooks(_clients(), new bytes32[](0));
    }

    /// @dev Any voucher above what the channel ever held is refused, and the books never move.
    function testFuzz_claim_aboveTheChannel_reverts(uint256 deposit, uint256 cumulative) public {
        deposit = bound(deposit, 1, 10_000e18);
        cumulative = bound(cumulative, deposit + 1, type(uint256).max);
        _deposit(CAROL, PROVIDER, deposit);
        _expectClaimRevert(
            PROVIDER,
            _one(channels.voucher(CAROL_KEY, PROVIDER, cumulative)),
            abi.encodeWithSelector(
                IJobChannels.JobChannelsInsufficientBalance.selector, CAROL, PROVIDER, cumulative, deposit
            )
        );
        assertEq(channels.channel(CAROL, PROVIDER).balance, deposit, "untouched");
    }
}
