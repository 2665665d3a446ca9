// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// The network's parameters (ticket price, fee split, minimum stake, calibration rate, judge share
/// cap, the oldest live rules version…), changed only by a stake-weighted vote: a proposal passes
/// with more stake for than against and a quorum of all stake voting, then waits out a timelock
/// before anyone may execute it. Stake that voted stays locked until the vote is over, so the same
/// money cannot vote twice from two addresses.
contract ChorusGovernance {
    struct Proposal {
        bytes32 key;
        uint256 value;
        uint64 ends;
        uint64 eta;
        bool executed;
        uint256 yes;
        uint256 no;
    }

    mapping(bytes32 => uint256) public parameters;
    mapping(address => uint256) public stakeOf;
    mapping(address => uint64) public lockedUntil;
    uint256 public totalStake;

    Proposal[] public proposals;
    mapping(uint256 => mapping(address => bool)) public voted;

    uint256 public immutable votingPeriod;
    uint256 public immutable timelock;
    /// Basis points of all stake that must vote.
    uint256 public immutable quorumBp;

    event Staked(address indexed who, uint256 amount);
    event Unstaked(address indexed who, uint256 amount);
    event Proposed(uint256 indexed id, bytes32 indexed key, uint256 value, uint64 ends);
    event Voted(uint256 indexed id, address indexed who, bool support, uint256 weight);
    event Queued(uint256 indexed id, uint64 eta);
    event ParameterChanged(bytes32 indexed key, uint256 value, uint256 proposal);

    error NoStake();
    error Locked(uint64 until);
    error VoteClosed();
    error AlreadyVoted();
    error NotPassed(string why);
    error TooEarly(uint64 at);

    constructor(uint256 votingPeriod_, uint256 timelock_, uint256 quorumBp_, bytes32[] memory keys, uint256[] memory values) {
        require(quorumBp_ <= 10_000, "quorum above 100 %");
        require(keys.length == values.length, "one value per key");
        votingPeriod = votingPeriod_;
        timelock = timelock_;
        quorumBp = quorumBp_;
        for (uint256 i = 0; i < keys.length; i++) {
            parameters[keys[i]] = values[i];
            emit ParameterChanged(keys[i], values[i], type(uint256).max);
        }
    }

    function stake() external payable {
        if (msg.value == 0) revert NoStake();
        stakeOf[msg.sender] += msg.value;
        totalStake += msg.value;
        emit Staked(msg.sender, msg.value);
    }

    function unstake(uint256 amount) external {
        if (block.timestamp < lockedUntil[msg.sender]) revert Locked(lockedUntil[msg.sender]);
        stakeOf[msg.sender] -= amount;
        totalStake -= amount;
        emit Unstaked(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "transfer refused");
    }

    function propose(bytes32 key, uint256 value) external returns (uint256 id) {
        if (stakeOf[msg.sender] == 0) revert NoStake();
        id = proposals.length;
        uint64 ends = uint64(block.timestamp + votingPeriod);
        proposals.push(Proposal(key, value, ends, 0, false, 0, 0));
        emit Proposed(id, key, value, ends);
    }

    function vote(uint256 id, bool support) external {
        Proposal storage p = proposals[id];
        if (block.timestamp >= p.ends) revert VoteClosed();
        if (voted[id][msg.sender]) revert AlreadyVoted();
        uint256 weight = stakeOf[msg.sender];
        if (weight == 0) revert NoStake();
        voted[id][msg.sender] = true;
        if (support) p.yes += weight;
        else p.no += weight;
        if (lockedUntil[msg.sender] < p.ends) lockedUntil[msg.sender] = p.ends;
        emit Voted(id, msg.sender, support, weight);
    }

    /// After the vote: a passed proposal starts its timelock.
    function queue(uint256 id) external {
        Proposal storage p = proposals[id];
        if (block.timestamp < p.ends) revert TooEarly(p.ends);
        if (p.eta != 0) revert NotPassed("already queued");
        if ((p.yes + p.no) * 10_000 < totalStake * quorumBp) revert NotPassed("no quorum");
        if (p.yes <= p.no) revert NotPassed("more stake against than for");
        p.eta = uint64(block.timestamp + timelock);
        emit Queued(id, p.eta);
    }

    function execute(uint256 id) external {
        Proposal storage p = proposals[id];
        if (p.eta == 0) revert NotPassed("not queued");
        if (p.executed) revert NotPassed("already executed");
        if (block.timestamp < p.eta) revert TooEarly(p.eta);
        p.executed = true;
        parameters[p.key] = p.value;
        emit ParameterChanged(p.key, p.value, id);
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }
}
