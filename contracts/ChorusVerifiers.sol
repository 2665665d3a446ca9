// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// The verifiers who co-sign the sequencer's batches: each binds a secp256k1 address to a Chorus
/// node id and posts a bond. The binding itself (the node's ed25519 signature of the address) is
/// logged for anyone to check off chain: the chain has no ed25519. A verifier that signed a batch
/// proven wrong loses its bond and its seat.
abstract contract ChorusVerifiers {
    struct Verifier {
        bytes32 node;
        uint128 bond;
        bool active;
    }

    /// Micro-units (the ledger's integer amounts) to wei: one unit of money is 1e18 wei.
    uint256 public constant WEI_PER_MICRO = 1e12;

    mapping(address => Verifier) public verifiers;
    uint256 public activeVerifiers;
    /// Signatures a batch needs (k of the active n).
    uint256 public immutable threshold;
    uint256 public immutable minVerifierBond;
    /// Slashed bonds and lost dispute bonds not paid to anyone.
    uint256 public forfeited;

    event VerifierRegistered(address indexed verifier, bytes32 indexed node, bytes binding);
    event VerifierSlashed(address indexed verifier, uint256 bond);

    error BondTooSmall(uint256 given, uint256 needed);
    error AlreadyRegistered();

    constructor(uint256 threshold_, uint256 minVerifierBond_) {
        require(threshold_ > 0, "threshold must be positive");
        threshold = threshold_;
        minVerifierBond = minVerifierBond_;
    }

    /// `binding`: the node's ed25519 signature over "chorus/evm-verifier\n" ‖ this address.
    function registerVerifier(bytes32 node, bytes calldata binding) external payable {
        if (verifiers[msg.sender].active || verifiers[msg.sender].bond > 0) revert AlreadyRegistered();
        if (msg.value < minVerifierBond) revert BondTooSmall(msg.value, minVerifierBond);
        verifiers[msg.sender] = Verifier(node, uint128(msg.value), true);
        activeVerifiers++;
        emit VerifierRegistered(msg.sender, node, binding);
    }

    /// Takes a signer's bond: half to whoever proved the fault, half forfeited.
    function slash(address signer) internal returns (uint256 paid) {
        Verifier storage v = verifiers[signer];
        uint256 bond = v.bond;
        if (v.active) activeVerifiers--;
        v.active = false;
        v.bond = 0;
        emit VerifierSlashed(signer, bond);
        paid = bond / 2;
        forfeited += bond - paid;
    }
}
