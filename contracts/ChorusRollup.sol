// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ChorusVerifiers} from "./ChorusVerifiers.sol";
import {ChorusBatches} from "./ChorusBatches.sol";
import {ChorusCustody} from "./ChorusCustody.sol";
import {ChorusMerkle} from "./ChorusMerkle.sol";

/// Chorus on an EVM chain: custody, the verifiers, the sequencer's batches, and the disputes the
/// chain can decide by itself. A dispute carries a bond: a claim proven wins back its bond and half
/// the faulty signers' bonds; a claim about a right batch loses its bond. Inputs that do not even
/// match the batch (a wrong header, a list that is not the batch's) are refused outright.
contract ChorusRollup is ChorusCustody {
    struct RoundLeaf {
        uint64 batch;
        uint32 position;
        bytes32 round;
        bytes32 transcriptRoot;
        /// The hash of its settlement entry in the sequencer's log.
        bytes32 entry;
    }

    uint256 public immutable disputeBond;

    event DisputeLost(uint64 indexed index, address disputer, string claim);

    error WrongBond(uint256 needed);
    error NotProven(string why);

    constructor(
        address sequencer_,
        uint256 threshold_,
        uint256 minVerifierBond_,
        uint256 challengeWindow_,
        uint256 disputeBond_,
        bytes32 genesisStateRoot
    ) ChorusVerifiers(threshold_, minVerifierBond_) ChorusBatches(sequencer_, challengeWindow_, genesisStateRoot) {
        disputeBond = disputeBond_;
    }

    function roundLeaf(RoundLeaf calldata r) public pure returns (bytes32) {
        return ChorusMerkle.leafHash(abi.encode(r.batch, r.position, r.round, r.transcriptRoot, r.entry));
    }

    /**
     * The batch does not conserve money: its accounts' net changes, given whole (they must build
     * its deltas root), and what it burned do not add up to the deposits it credited.
     */
    function disputeConservation(Header calldata h, address[] calldata signers, bytes32[] calldata accounts, int128[] calldata deltas) external payable {
        if (msg.value != disputeBond) revert WrongBond(disputeBond);
        posted(h);
        if (accounts.length != deltas.length) revert NotProven("one delta per account");
        bytes32[] memory leaves = new bytes32[](accounts.length);
        int256 sum = 0;
        for (uint256 i = 0; i < accounts.length; i++) {
            leaves[i] = ChorusMerkle.leafHash(abi.encode(accounts[i], deltas[i]));
            sum += deltas[i];
        }
        if (ChorusMerkle.rootOf(leaves) != h.deltasRoot) revert NotProven("not the batch's deltas");
        int256 credited = int256(depositTotal[h.depositsThrough] - depositTotal[h.depositsFrom]);
        if (sum + int256(uint256(h.burned)) == credited) return lose(h.index, "conservation");
        pay(undo(h, signers, "does not conserve"));
    }

    /// One round settled twice: two leaves for the same round id, at different places.
    function disputeDoubleSettlement(
        Header calldata h,
        address[] calldata signers,
        Header calldata first,
        RoundLeaf calldata a,
        bytes32[] calldata proofA,
        RoundLeaf calldata b,
        bytes32[] calldata proofB
    ) external payable {
        if (msg.value != disputeBond) revert WrongBond(disputeBond);
        if (a.round != b.round || (a.batch == b.batch && a.position == b.position)) revert NotProven("not two places of one round");
        if (b.batch != h.index || a.batch != first.index || first.index > h.index) revert NotProven("leaves are not of these batches");
        if (batches[first.index].header != headerHash(first) || first.index >= batchCount) revert NotProven("not a batch");
        if (!ChorusMerkle.verify(proofA, first.roundsRoot, roundLeaf(a)) || !ChorusMerkle.verify(proofB, h.roundsRoot, roundLeaf(b))) revert BadProof();
        pay(undo(h, signers, "settles a round twice"));
    }

    function pay(uint256 reward) private {
        (bool ok, ) = payable(msg.sender).call{value: reward + disputeBond}("");
        require(ok, "reward refused");
    }

    function lose(uint64 index, string memory claim) private {
        forfeited += disputeBond;
        emit DisputeLost(index, msg.sender, claim);
    }
}
