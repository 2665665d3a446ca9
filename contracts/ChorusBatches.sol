// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ChorusVerifiers} from "./ChorusVerifiers.sol";

/// The sequencer's batches: many settled rounds at once, each accepted when at least `threshold`
/// registered verifiers signed its header (EIP-712) after replaying its transcripts themselves, and
/// final once its challenge window passed without a proven fault. The chain keeps each header's
/// hash; whoever needs a field (a dispute, a withdrawal) hands the header back.
abstract contract ChorusBatches is ChorusVerifiers {
    struct Header {
        uint64 index;
        /// The sequencer's log entry the batch ends on, and its hash (the log is a hash chain,
        /// so this commits every entry before it).
        uint64 logSeq;
        bytes32 logHead;
        bytes32 prevStateRoot;
        /// Every account's leaf (account, payout, held, withdrawable, reputation).
        bytes32 stateRoot;
        /// Every round's leaf (batch, position, round, transcript root, settlement entry).
        bytes32 roundsRoot;
        /// Every account's net change over the batch.
        bytes32 deltasRoot;
        /// Deposits credited: those numbered depositsFrom < i <= depositsThrough.
        uint64 depositsFrom;
        uint64 depositsThrough;
        /// Micro-units the batch destroyed (fees of rounds their gateways let expire): they stay in
        /// custody, owed to no one.
        uint128 burned;
        uint32 rounds;
        /// The newest beacon the sequencer had issued by logSeq (its chain, index and value): every
        /// later beacon of that chain hashes back to it.
        uint32 beaconChain;
        uint64 beaconIndex;
        bytes32 beaconTip;
        /// Where the batch's transcripts can be fetched.
        string transcripts;
    }

    uint8 internal constant POSTED = 1;
    uint8 internal constant FINAL = 2;
    uint8 internal constant FAULTY = 3;

    struct Batch {
        bytes32 header;
        bytes32 signers;
        uint64 postedAt;
        uint8 status;
    }

    bytes32 internal constant HEADER_TYPEHASH = keccak256(
        "Batch(uint64 index,uint64 logSeq,bytes32 logHead,bytes32 prevStateRoot,bytes32 stateRoot,bytes32 roundsRoot,bytes32 deltasRoot,uint64 depositsFrom,uint64 depositsThrough,uint128 burned,uint32 rounds,uint32 beaconChain,uint64 beaconIndex,bytes32 beaconTip,string transcripts)"
    );
    bytes32 internal immutable DOMAIN_SEPARATOR;

    /// A beacon of the sequencer's chains: chain number, index on it, value.
    struct BeaconAt {
        uint32 chain;
        uint64 index;
        bytes32 value;
    }

    /// The newest beacon at the rollup's genesis entry (batch 0's beacons hash back to it).
    BeaconAt public genesisBeacon;

    address public immutable sequencer;
    uint256 public immutable challengeWindow;

    mapping(uint256 => Batch) public batches;
    /// Batches posted and not undone by a proven fault; the next is numbered so.
    uint64 public batchCount;
    uint64 public finalCount;
    /// The state root the next batch follows, and the newest final one.
    bytes32 public tipStateRoot;
    bytes32 public finalStateRoot;
    uint64 public tipDeposits;

    event BatchPosted(uint64 indexed index, bytes32 header, bytes32 stateRoot, uint32 rounds, address[] signers, string transcripts);
    event BatchFinal(uint64 indexed index, bytes32 stateRoot);
    event BatchFaulty(uint64 indexed index, string fault);

    error NotSequencer();
    error WrongBatch(string why);
    error BadSignatures(string why);
    error NotFinalYet(uint256 at);

    constructor(address sequencer_, uint256 challengeWindow_, bytes32 genesisStateRoot, BeaconAt memory genesisBeacon_) {
        sequencer = sequencer_;
        genesisBeacon = genesisBeacon_;
        challengeWindow = challengeWindow_;
        tipStateRoot = genesisStateRoot;
        finalStateRoot = genesisStateRoot;
        DOMAIN_SEPARATOR = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Chorus"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    function headerHash(Header calldata h) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                HEADER_TYPEHASH, h.index, h.logSeq, h.logHead, h.prevStateRoot, h.stateRoot, h.roundsRoot, h.deltasRoot,
                h.depositsFrom, h.depositsThrough, h.burned, h.rounds, h.beaconChain, h.beaconIndex, h.beaconTip, keccak256(bytes(h.transcripts))
            )
        );
    }

    /// What each verifier signs (EIP-712).
    function digest(Header calldata h) public view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR, headerHash(h)));
    }

    function depositCount() public view virtual returns (uint64);

    /// Signatures: 65 bytes each (r, s, v), from distinct active verifiers in ascending address order.
    function postBatch(Header calldata h, bytes[] calldata signatures) external {
        if (msg.sender != sequencer) revert NotSequencer();
        if (h.index != batchCount) revert WrongBatch("not the next index");
        if (h.prevStateRoot != tipStateRoot) revert WrongBatch("does not follow the tip state root");
        if (h.depositsFrom != tipDeposits || h.depositsThrough < h.depositsFrom || h.depositsThrough > depositCount()) revert WrongBatch("deposits out of range");
        if (signatures.length < threshold) revert BadSignatures("fewer than the threshold");
        bytes32 d = digest(h);
        address[] memory signers = new address[](signatures.length);
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address s = recover(d, signatures[i]);
            if (s <= last) revert BadSignatures("signers not distinct and ascending");
            if (!verifiers[s].active) revert BadSignatures("a signer is not an active verifier");
            signers[i] = s;
            last = s;
        }
        bytes32 hh = headerHash(h);
        batches[h.index] = Batch(hh, keccak256(abi.encode(signers)), uint64(block.timestamp), POSTED);
        batchCount = h.index + 1;
        tipStateRoot = h.stateRoot;
        tipDeposits = h.depositsThrough;
        emit BatchPosted(h.index, hh, h.stateRoot, h.rounds, signers, h.transcripts);
    }

    /// Outcome disputes still being voted on, by batch header: a batch does not become final meanwhile.
    mapping(bytes32 => uint256) public openDisputes;

    /// Batches become final in order, each once its challenge window is over and no vote on it runs.
    function finalize(Header calldata h) external {
        Batch storage b = posted(h);
        if (h.index != finalCount) revert WrongBatch("an earlier batch is not final");
        if (block.timestamp < b.postedAt + challengeWindow) revert NotFinalYet(b.postedAt + challengeWindow);
        if (openDisputes[b.header] > 0) revert WrongBatch("a vote on one of its outcomes is running");
        b.status = FINAL;
        finalCount = h.index + 1;
        finalStateRoot = h.stateRoot;
        emit BatchFinal(h.index, h.stateRoot);
    }

    /// A posted batch still open to disputes, given its header.
    function posted(Header calldata h) internal view returns (Batch storage b) {
        b = batches[h.index];
        if (h.index >= batchCount || b.status != POSTED || b.header != headerHash(h)) revert WrongBatch("not a posted batch");
    }

    /// A proven fault: the batch and every later one are undone, and its signers slashed.
    function undo(Header calldata h, address[] calldata signers, string memory fault) internal returns (uint256 reward) {
        Batch storage b = posted(h);
        if (block.timestamp >= b.postedAt + challengeWindow) revert WrongBatch("its challenge window is over");
        return undoPosted(h, signers, fault);
    }

    /// Undoes a posted batch (a fault proven, or voted, in time).
    function undoPosted(Header calldata h, address[] calldata signers, string memory fault) internal returns (uint256 reward) {
        Batch storage b = posted(h);
        if (keccak256(abi.encode(signers)) != b.signers) revert WrongBatch("not the batch's signers");
        b.status = FAULTY;
        batchCount = h.index;
        tipStateRoot = h.prevStateRoot;
        tipDeposits = h.depositsFrom;
        for (uint256 i = 0; i < signers.length; i++) reward += slash(signers[i]);
        emit BatchFaulty(h.index, fault);
    }

    function recover(bytes32 d, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) revert BadSignatures("a signature is not 65 bytes");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        // Only the low s of the two valid forms: a signature cannot be varied into another.
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) revert BadSignatures("high s");
        if (v != 27 && v != 28) revert BadSignatures("bad v");
        address a = ecrecover(d, v, r, s);
        if (a == address(0)) revert BadSignatures("unrecoverable");
        return a;
    }
}
