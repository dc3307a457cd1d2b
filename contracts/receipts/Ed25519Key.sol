// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title Ed25519Key
 * @notice Cheap on-chain screening of Ed25519 public keys (RFC 8032 encoding: 32 bytes, little-endian `y` with the sign
 * of `x` in the top bit).
 *
 * Refused: encodings with `y >= p` (non-canonical), `x = 0` with the sign bit set (non-canonical), and the eight
 * points of small order (order 1, 2, 4 and 8), with which a forger can make signatures that verify under lax rules for
 * any message. The zero key is one of them. Whether `y` is on the curve at all is left to the off-chain verifiers,
 * which decode the key anyway; an off-curve key cannot verify anything, so it harms only its owner.
 */
library Ed25519Key {
    uint256 private constant _P = 2 ** 255 - 19;
    uint256 private constant _Y_MASK = 2 ** 255 - 1;

    /// @notice Whether `key` is a canonical encoding of a point outside the small-order subgroup.
    function isValid(bytes32 key) internal pure returns (bool) {
        uint256 le = _reverseBytes(uint256(key));
        uint256 y = le & _Y_MASK;
        if (y >= _P) return false;
        // Small-order points, as raw key bytes. y = 1 (identity) and y = p - 1 (order 2) have x = 0, so they are
        // listed with and without the sign bit; the orders 4 and 8 points come as both signs of x.
        return key != 0x0100000000000000000000000000000000000000000000000000000000000000
            && key != 0x0100000000000000000000000000000000000000000000000000000000000080
            && key != 0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
            && key != 0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            && key != 0x0000000000000000000000000000000000000000000000000000000000000000
            && key != 0x0000000000000000000000000000000000000000000000000000000000000080
            && key != 0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a
            && key != 0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa
            && key != 0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05
            && key != 0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85;
    }

    /// @dev Byte order reversal of a word: swaps bytes, then pairs, then quads, and so on up to halves.
    function _reverseBytes(uint256 v) private pure returns (uint256) {
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            | ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
            | ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
            | ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
            | ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        return (v >> 128) | (v << 128);
    }
}
