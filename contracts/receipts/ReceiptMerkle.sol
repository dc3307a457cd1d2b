// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/**
 * @title ReceiptMerkle
 * @notice Receipt leaves and Merkle roots that match `@openzeppelin/merkle-tree`'s `StandardMerkleTree` exactly.
 *
 * Leaf: `keccak256(bytes.concat(keccak256(abi.encode(chainId, escrow, jobId, provider, unitsMilli, price,
 * receiptHash))))`. The double hash means no 64-byte pair of internal nodes can ever pass for a leaf, and `chainId` and
 * `escrow` bind the leaf to one deployment.
 *
 * Tree: the "array form" of `StandardMerkleTree.of`: leaves sorted ascending by hash are stored from the end of an
 * array of `2n - 1` nodes backwards (`tree[2n - 2 - i] = leaf[i]`), and every internal node `i` is the sorted-pair hash
 * of `tree[2i + 1]` and `tree[2i + 2]`. The root is `tree[0]`.
 */
library ReceiptMerkle {
    /// @notice The leaf of a receipt.
    function leaf(
        uint256 chainId,
        address escrow,
        uint256 jobId,
        address provider,
        uint64 unitsMilli,
        uint256 price,
        bytes32 receiptHash
    ) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            // Seven static words in scratch space past the free-memory pointer, which is left untouched (nothing is
            // allocated).
            let ptr := mload(0x40)
            mstore(ptr, chainId)
            mstore(add(ptr, 0x20), and(escrow, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x40), jobId)
            mstore(add(ptr, 0x60), and(provider, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x80), and(unitsMilli, 0xffffffffffffffff))
            mstore(add(ptr, 0xa0), price)
            mstore(add(ptr, 0xc0), receiptHash)
            mstore(0x00, keccak256(ptr, 0xe0))
            result := keccak256(0x00, 0x20)
        }
    }

    /**
     * @notice Fills the internal nodes of `tree`, whose last `n` entries hold the sorted leaves in array form, and
     * returns the root.
     * @dev `tree.length` must be `2n - 1` with `n >= 1`; the caller guarantees it.
     */
    function fold(bytes32[] memory tree) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let length := mload(tree)
            let data := add(tree, 0x20)
            // Internal nodes are indices 0 .. (length - 1) / 2 - 1 = n - 2, processed from the last one back.
            for { let i := shr(1, length) } gt(i, 0) {} {
                i := sub(i, 1)
                let left := mload(add(data, shl(5, add(shl(1, i), 1))))
                let right := mload(add(data, shl(5, add(shl(1, i), 2))))
                // Sorted-pair hashing, as OpenZeppelin's Hashes.commutativeKeccak256.
                switch lt(left, right)
                case 1 {
                    mstore(0x00, left)
                    mstore(0x20, right)
                }
                default {
                    mstore(0x00, right)
                    mstore(0x20, left)
                }
                mstore(add(data, shl(5, i)), keccak256(0x00, 0x40))
            }
            root := mload(data)
        }
    }
}
