// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// Merkle trees of the sequencer's batches (src/ledger/evm/merkle.ts builds the same): a leaf is the
/// keccak of its encoding hashed once more (so no inner node can pass for a leaf), and an inner node
/// hashes its two children in ascending order, so a proof needs no positions. A level of odd length
/// carries its last node up unchanged.
library ChorusMerkle {
    function leafHash(bytes memory encoded) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(encoded)));
    }

    function pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        bytes32 h = leaf;
        for (uint256 i = 0; i < proof.length; i++) h = pair(h, proof[i]);
        return h == root;
    }

    /// The root over every leaf, in order (a dispute hands the chain a whole list to check).
    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        uint256 n = leaves.length;
        while (n > 1) {
            uint256 m = 0;
            for (uint256 i = 0; i < n; i += 2) {
                leaves[m++] = i + 1 < n ? pair(leaves[i], leaves[i + 1]) : leaves[i];
            }
            n = m;
        }
        return leaves[0];
    }
}
