// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {Market, MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice Receipt keys: the registry refuses weak keys and keeps every past key with the time range it signed in.
contract ProviderRegistryKeysTest is MarketTest {
    bytes32 internal constant KEY_A = Market.VALID_KEY;
    // Another canonical encoding outside the small-order subgroup.
    bytes32 internal constant KEY_B = 0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a;
    /// @dev The identity point: a small-order key that accepts forged signatures.
    bytes32 internal constant IDENTITY_KEY = 0x0100000000000000000000000000000000000000000000000000000000000000;
    uint256 internal constant OPEN = type(uint64).max;

    /// @dev PROVIDER registered with KEY_A for model 1 at t = 1,000,000.
    function setUp() public override {
        _marketBeforeRegistration();
        vm.warp(1_000_000);
        _register(KEY_A, Market.MIN_BOND);
    }

    function _rotate(bytes32 key) internal {
        vm.prank(PROVIDER);
        s.providers.setReceiptKey(key);
    }

    function test_register_opensOneOpenEndedPeriod() public view {
        IProviderRegistry.ReceiptKeyPeriod[] memory h = s.providers.receiptKeyHistory(PROVIDER);
        assertEq(h.length, 1, "one period");
        assertEq(h[0].key, KEY_A, "key");
        assertEq(h[0].validFrom, 1_000_000, "from registration");
        assertEq(h[0].validUntil, OPEN, "open ended");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_000), "valid from registration");
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 999_999), "not before registration");
    }

    function test_setReceiptKey_receiptSignedBeforeRotationWithOldKey_accepted() public {
        vm.warp(1_000_500);
        _rotate(KEY_B);
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_499), "old key, before rotation");
        assertEq(s.providers.provider(PROVIDER).receiptKey, KEY_B, "current key rotated");
    }

    function test_setReceiptKey_receiptSignedAfterRotationWithOldKey_refused() public {
        vm.warp(1_000_500);
        _rotate(KEY_B);
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_500), "old key at the rotation");
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 2_000_000), "old key after rotation");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, 1_000_500), "new key from the rotation");
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, 1_000_499), "new key not before it");
        IProviderRegistry.ReceiptKeyPeriod[] memory h = s.providers.receiptKeyHistory(PROVIDER);
        assertEq(h.length, 2, "two periods");
        assertEq(h[0].validUntil, 1_000_500, "old period closed at the rotation");
        assertEq(h[1].validFrom, 1_000_500, "new period opens at the rotation");
        assertEq(h[1].validUntil, OPEN, "new period open ended");
    }

    function test_setReceiptKey_toSmallOrderKey_reverts() public {
        // The identity point verifies a forged signature over any message: rotating to it would let anyone sign.
        bytes32[3] memory weak = [
            bytes32(0x0100000000000000000000000000000000000000000000000000000000000000),
            0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,
            0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a
        ];
        for (uint256 i = 0; i < weak.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidReceiptKey.selector, weak[i])
            );
            _rotate(weak[i]);
        }
        assertEq(s.providers.receiptKeyHistory(PROVIDER).length, 1, "history untouched");
        assertEq(s.providers.provider(PROVIDER).receiptKey, KEY_A, "key untouched");
    }

    function test_setReceiptKey_bySomeoneElse_doesNotTouchTheProvider() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, STRANGER));
        vm.prank(STRANGER);
        s.providers.setReceiptKey(KEY_B);
        assertEq(s.providers.provider(PROVIDER).receiptKey, KEY_A, "provider key untouched");
        assertEq(s.providers.receiptKeyHistory(PROVIDER).length, 1, "provider history untouched");
        assertEq(s.providers.receiptKeyHistory(STRANGER).length, 0, "stranger has no history");
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, block.timestamp), "stranger's key not the provider's");
    }

    function test_setReceiptKey_sameKey_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryReceiptKeyUnchanged.selector, KEY_A));
        _rotate(KEY_A);
        assertEq(s.providers.receiptKeyHistory(PROVIDER).length, 1, "no empty period added");
    }

    function test_setReceiptKey_backToAnOldKey_opensASecondRangeOnly() public {
        vm.warp(1_000_100);
        _rotate(KEY_B);
        vm.warp(1_000_200);
        _rotate(KEY_A);
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_099), "first range");
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_150), "gap while B was the key");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, 1_000_150), "B inside its range");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, 1_000_200), "second range");
    }

    function test_register_again_afterWithdrawal_closesThePreviousKey() public {
        vm.prank(PROVIDER);
        s.providers.startUnbonding();
        vm.warp(block.timestamp + 1 days);
        vm.prank(PROVIDER);
        s.providers.withdrawBond();
        uint256 rejoined = block.timestamp + 10;
        vm.warp(rejoined);
        _register(KEY_B, Market.MIN_BOND);
        assertFalse(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, rejoined), "old key closed at re-registration");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, rejoined - 1), "old receipts still verify");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, rejoined), "new key open");
    }

    function testFuzz_wasReceiptKeyAt_matchesTheRotationTime(uint32 delay, uint32 probe) public {
        uint256 rotatedAt = 1_000_000 + uint256(delay);
        vm.warp(rotatedAt);
        _rotate(KEY_B);
        uint256 t = 1_000_000 + uint256(probe);
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_A, t) == (t < rotatedAt), "old key iff before");
        assertTrue(s.providers.wasReceiptKeyAt(PROVIDER, KEY_B, t) == (t >= rotatedAt), "new key iff from");
    }

    function test_setReceiptKey_rotatesTheKey() public {
        bytes32 next = bytes32(uint256(Market.VALID_KEY) + 2);
        vm.prank(PROVIDER);
        s.providers.setReceiptKey(next);
        assertEq(s.providers.provider(PROVIDER).receiptKey, next, "rotated");
    }

    function test_setReceiptKey_smallOrderKey_reverts() public {
        vm.prank(PROVIDER);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidReceiptKey.selector, IDENTITY_KEY)
        );
        s.providers.setReceiptKey(IDENTITY_KEY);
        assertEq(s.providers.provider(PROVIDER).receiptKey, Market.VALID_KEY, "unchanged");
    }

    function test_setReceiptKey_unregistered_reverts() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, STRANGER));
        s.providers.setReceiptKey(Market.VALID_KEY);
    }
}
