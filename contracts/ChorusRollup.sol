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
        /// The hash of its settlement (or expiry) entry in the sequencer's log.
        bytes32 entry;
        /// The hash of what that entry changed in each account's claim (`changesHash`).
        bytes32 deltas;
        /// Its members and assignment beacons (zero under rules without beacons), both on one chain.
        uint32 beaconChain;
        uint64 membersIndex;
        bytes32 membersBeacon;
        uint64 assignmentIndex;
        bytes32 assignmentBeacon;
    }

    /// The most hash steps a beacon dispute walks (pick a nearer anchor for a longer way).
    uint256 public constant MAX_BEACON_STEPS = 20_000;

    uint256 public immutable disputeBond;

    event DisputeLost(uint64 indexed index, address disputer, string claim);
    event OutcomeDisputed(uint256 indexed id, uint64 indexed batch, bytes32 round, address disputer, string claim, uint64 ends);
    event OutcomeVoted(uint256 indexed id, address indexed verifier, bool wrong, uint256 weight);
    event OutcomeResolved(uint256 indexed id, bool wrong);

    /// A claim the chain cannot check itself (the round's outcome: ed25519 and the aggregation are
    /// not available here), put to a vote of the verifiers who did not sign the batch, by bond.
    struct OutcomeDispute {
        uint64 batch;
        bytes32 header;
        bytes32 round;
        address disputer;
        uint64 ends;
        uint256 wrong;
        uint256 right;
        bool resolved;
    }

    OutcomeDispute[] public outcomeDisputes;
    mapping(uint256 => mapping(address => bool)) public votedOnOutcome;

    error WrongBond(uint256 needed);
    error NotProven(string why);

    constructor(
        address sequencer_,
        uint256 threshold_,
        uint256 minVerifierBond_,
        uint256 challengeWindow_,
        uint256 disputeBond_,
        bytes32 genesisStateRoot,
        BeaconAt memory genesisBeacon_
    ) ChorusVerifiers(threshold_, minVerifierBond_) ChorusBatches(sequencer_, challengeWindow_, genesisStateRoot, genesisBeacon_) {
        disputeBond = disputeBond_;
    }

    function roundLeaf(RoundLeaf calldata r) public pure returns (bytes32) {
        return ChorusMerkle.leafHash(
            abi.encode(r.batch, r.position, r.round, r.transcriptRoot, r.entry, r.deltas, r.beaconChain, r.membersIndex, r.membersBeacon, r.assignmentIndex, r.assignmentBeacon)
        );
    }

    /// What one round's entry changed, account by account.
    struct Changes {
        bytes32[] accounts;
        int128[] deltas;
    }

    function changesHash(Changes calldata c) public pure returns (bytes32) {
        return keccak256(abi.encode(c.accounts, c.deltas));
    }

    /**
     * The rounds' leaves contradict the netted deltas: given every round leaf of the batch (they
     * must build its rounds root) with the changes each commits, one account's changes over them
     * plus the deposits the batch credited it differ from its net change in the deltas root.
     */
    function disputeNetting(
        Header calldata h,
        address[] calldata signers,
        RoundLeaf[] calldata leaves,
        Changes[] calldata changes,
        bytes32 account,
        int128 netted,
        bytes32[] calldata nettedProof
    ) external payable {
        if (msg.value != disputeBond) revert WrongBond(disputeBond);
        posted(h);
        if (leaves.length != changes.length) revert NotProven("one list of changes per leaf");
        if (!ChorusMerkle.verify(nettedProof, h.deltasRoot, ChorusMerkle.leafHash(abi.encode(account, netted)))) revert BadProof();
        bytes32[] memory hashes = new bytes32[](leaves.length);
        int256 sum = 0;
        for (uint256 i = 0; i < leaves.length; i++) {
            if (leaves[i].batch != h.index || leaves[i].position != i || leaves[i].deltas != changesHash(changes[i])) revert NotProven("a leaf out of place, or not its changes");
            hashes[i] = roundLeaf(leaves[i]);
            for (uint256 j = 0; j < changes[i].accounts.length; j++) if (changes[i].accounts[j] == account) sum += changes[i].deltas[j];
        }
        if (ChorusMerkle.rootOf(hashes) != h.roundsRoot) revert NotProven("not every round leaf of the batch");
        for (uint256 d = h.depositsFrom + 1; d <= h.depositsThrough; d++) {
            if (depositAccount[d] == account) sum += int256(depositTotal[d] - depositTotal[d - 1]);
        }
        if (sum == netted) return lose(h.index, "netting");
        pay(undo(h, signers, "nets its rounds' changes wrongly"));
    }

    /**
     * A beacon the batch quotes is not from the sequencer's committed chain: its own tip
     * (`which` 0) or a round's members (1) or assignment (2) beacon does not hash back, link by
     * link, to an earlier committed beacon of the same chain — the tip of a standing batch before
     * it (`anchor`), or the genesis one (`fromGenesis`). A beacon that does hash back loses the bond.
     */
    function disputeBeacon(
        Header calldata h,
        address[] calldata signers,
        uint8 which,
        RoundLeaf calldata r,
        bytes32[] calldata proof,
        Header calldata anchor,
        bool fromGenesis
    ) external payable {
        if (msg.value != disputeBond) revert WrongBond(disputeBond);
        posted(h);
        BeaconAt memory quoted;
        if (which == 0) quoted = BeaconAt(h.beaconChain, h.beaconIndex, h.beaconTip);
        else {
            if (r.batch != h.index || !ChorusMerkle.verify(proof, h.roundsRoot, roundLeaf(r))) revert BadProof();
            quoted = which == 1 ? BeaconAt(r.beaconChain, r.membersIndex, r.membersBeacon) : BeaconAt(r.beaconChain, r.assignmentIndex, r.assignmentBeacon);
        }
        BeaconAt memory base;
        if (fromGenesis) base = genesisBeacon;
        else {
            if (anchor.index >= h.index || anchor.index >= batchCount || batches[anchor.index].header != headerHash(anchor)) revert NotProven("the anchor is not a standing batch before this one");
            base = BeaconAt(anchor.beaconChain, anchor.beaconIndex, anchor.beaconTip);
        }
        if (quoted.chain != base.chain || quoted.index < base.index) revert NotProven("the anchor is not earlier on the same chain");
        if (quoted.index - base.index > MAX_BEACON_STEPS) revert NotProven("too far from the anchor: pick a nearer one");
        bytes32 v = quoted.value;
        for (uint256 i = base.index; i < quoted.index; i++) v = sha256(abi.encodePacked("chorus/beacon\n", v));
        if (v == base.value) return lose(h.index, "beacon");
        pay(undo(h, signers, "quotes a beacon not from the committed chain"));
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

    /**
     * Claims that a round of a posted batch has the wrong outcome (what a verifier finds replaying
     * its transcript). The batch cannot become final until the vote ends, one challenge window
     * from now; the verifiers that did not sign it vote with their bonds.
     */
    function disputeOutcome(Header calldata h, RoundLeaf calldata r, bytes32[] calldata proof, string calldata claim) external payable returns (uint256 id) {
        if (r.batch != h.index || !ChorusMerkle.verify(proof, h.roundsRoot, roundLeaf(r))) revert BadProof();
        return openVote(h, r.round, claim);
    }

    /**
     * Claims a batch is wrong as a whole where nothing can be proven from it — typically its body
     * was never published, so no leaf is at hand: the same vote, about the batch (round 0).
     */
    function disputeBatch(Header calldata h, string calldata claim) external payable returns (uint256 id) {
        return openVote(h, bytes32(0), claim);
    }

    function openVote(Header calldata h, bytes32 round, string calldata claim) private returns (uint256 id) {
        if (msg.value != disputeBond) revert WrongBond(disputeBond);
        Batch storage b = posted(h);
        if (block.timestamp >= b.postedAt + challengeWindow) revert WrongBatch("its challenge window is over");
        id = outcomeDisputes.length;
        uint64 ends = uint64(block.timestamp + challengeWindow);
        outcomeDisputes.push(OutcomeDispute(h.index, b.header, round, msg.sender, ends, 0, 0, false));
        openDisputes[b.header]++;
        emit OutcomeDisputed(id, h.index, round, msg.sender, claim, ends);
    }

    /// An active verifier that did not sign the batch (`signers`, the batch's own list) votes, by its bond.
    function voteOutcome(uint256 id, bool wrong, address[] calldata signers) external {
        OutcomeDispute storage d = outcomeDisputes[id];
        if (block.timestamp >= d.ends || d.resolved) revert NotProven("the vote is over");
        if (keccak256(abi.encode(signers)) != batches[d.batch].signers) revert WrongBatch("not the batch's signers");
        for (uint256 i = 0; i < signers.length; i++) if (signers[i] == msg.sender) revert NotProven("a signer of the batch does not vote on it");
        Verifier storage v = verifiers[msg.sender];
        if (!v.active) revert NotProven("not an active verifier");
        if (votedOnOutcome[id][msg.sender]) revert NotProven("voted already");
        votedOnOutcome[id][msg.sender] = true;
        if (wrong) d.wrong += v.bond;
        else d.right += v.bond;
        emit OutcomeVoted(id, msg.sender, wrong, v.bond);
    }

    /// After the vote: more bond for "wrong" undoes the batch and slashes its signers; otherwise the bond is lost.
    function resolveOutcome(uint256 id, Header calldata h, address[] calldata signers) external {
        OutcomeDispute storage d = outcomeDisputes[id];
        if (block.timestamp < d.ends) revert NotProven("the vote is still running");
        if (d.resolved) revert NotProven("resolved already");
        d.resolved = true;
        openDisputes[d.header]--;
        bool wrong = d.wrong > d.right;
        emit OutcomeResolved(id, wrong);
        // A batch undone meanwhile (another proven fault) leaves nothing to slash: the bond comes back.
        Batch storage b = batches[d.batch];
        if (d.batch >= batchCount || b.status != POSTED || b.header != d.header) return payTo(d.disputer, disputeBond);
        if (headerHash(h) != d.header) revert WrongBatch("not the disputed batch");
        if (!wrong) return lose(d.batch, "outcome");
        uint256 reward = undoPosted(h, signers, "an outcome voted wrong");
        payTo(d.disputer, reward + disputeBond);
    }

    function payTo(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        require(ok, "payment refused");
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
