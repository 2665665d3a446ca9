// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ChorusBatches} from "./ChorusBatches.sol";
import {ChorusMerkle} from "./ChorusMerkle.sol";

/// The money of nodes, gateways and clients. Deposits come in here, numbered, and the sequencer
/// credits each to its Chorus account in the next batch; stakes, tickets, fees and unbonding are
/// the sequencer's per-round business. What an account has released for withdrawal (after its
/// unbonding delay, to the payout address it named) counts up in its state leaf; anyone may carry
/// a proof of that leaf against the latest final state root here, and the difference from what was
/// already paid goes to the payout address.
abstract contract ChorusCustody is ChorusBatches {
    /// Total micro-units deposited through deposit number i (index 0: none), and whose deposit i was.
    mapping(uint256 => uint256) public depositTotal;
    mapping(uint256 => bytes32) public depositAccount;
    uint64 internal deposits;
    /// Micro-units paid out per account so far.
    mapping(bytes32 => uint256) public withdrawn;

    struct AccountLeaf {
        bytes32 account;
        address payout;
        uint128 held;
        uint128 withdrawable;
        bytes32 reputation;
    }

    event Deposited(uint64 indexed index, bytes32 indexed account, uint256 amount, address from);
    event Withdrawn(bytes32 indexed account, address payout, uint256 amount);

    error BadAmount();
    error BadProof();
    error NothingToWithdraw();

    function depositCount() public view override returns (uint64) {
        return deposits;
    }

    /// Deposits msg.value (a whole number of micro-units) to a Chorus account.
    function deposit(bytes32 account) external payable {
        if (msg.value == 0 || msg.value % WEI_PER_MICRO != 0) revert BadAmount();
        uint256 amount = msg.value / WEI_PER_MICRO;
        uint64 i = ++deposits;
        depositTotal[i] = depositTotal[i - 1] + amount;
        depositAccount[i] = account;
        emit Deposited(i, account, amount, msg.sender);
    }

    function accountLeaf(AccountLeaf calldata a) public pure returns (bytes32) {
        return ChorusMerkle.leafHash(abi.encode(a.account, a.payout, a.held, a.withdrawable, a.reputation));
    }

    /// Whether an account's leaf stands in the latest final state (its balance as the chain knows it).
    function holds(AccountLeaf calldata a, bytes32[] calldata proof) external view returns (bool) {
        return ChorusMerkle.verify(proof, finalStateRoot, accountLeaf(a));
    }

    function withdraw(AccountLeaf calldata a, bytes32[] calldata proof) external {
        if (!ChorusMerkle.verify(proof, finalStateRoot, accountLeaf(a))) revert BadProof();
        uint256 paid = withdrawn[a.account];
        if (a.withdrawable <= paid) revert NothingToWithdraw();
        uint256 amount = a.withdrawable - paid;
        withdrawn[a.account] = a.withdrawable;
        emit Withdrawn(a.account, a.payout, amount);
        (bool ok, ) = payable(a.payout).call{value: amount * WEI_PER_MICRO}("");
        require(ok, "payout refused");
    }
}
