// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/**
 * @title NaiveEscrow
 * @notice Benchmark yardstick only, never deployed: the straightforward per-job escrow that {JobEscrow} is measured
 * against. One struct of full-width fields per job, one settlement per transaction, and a token transfer to each payee
 * (provider, treasury, client) at settlement. Same money rules as {JobEscrow}.
 */
contract NaiveEscrow {
    using SafeERC20 for IERC20;

    struct Job {
        address client;
        address provider;
        uint256 rate;
        uint256 maxUnitsMilli;
        uint256 escrow;
        uint256 deadline;
        bool accepted;
        bool settled;
        bytes32 receiptHash;
    }

    /// @notice Thrown when the job is in the wrong state for the call.
    error NaiveEscrowBadState(uint256 jobId);
    /// @notice Thrown when units are zero or above the maximum.
    error NaiveEscrowBadUnits(uint256 jobId, uint256 unitsMilli);

    /// @notice Emitted for each job created.
    event JobCreated(uint256 indexed jobId, address indexed client, uint256 escrow, bytes32 inputHash);
    /// @notice Emitted for each job accepted.
    event JobAccepted(uint256 indexed jobId, address indexed provider);
    /// @notice Emitted for each job settled.
    event JobSettled(uint256 indexed jobId, uint256 unitsMilli, uint256 price, bytes32 receiptHash);

    IERC20 public immutable token;
    address public immutable treasury;
    uint256 public immutable feeBps;
    uint256 public jobCount;
    mapping(uint256 jobId => Job) public jobs;

    constructor(IERC20 token_, address treasury_, uint256 feeBps_) {
        token = token_;
        treasury = treasury_;
        feeBps = feeBps_;
    }

    /// @notice Creates a job at `rate` (the yardstick takes the rate as given instead of reading a rate card).
    function createJob(uint256 rate, uint256 maxUnitsMilli, uint256 deadline, bytes calldata prompt)
        external
        returns (uint256 jobId)
    {
        jobId = ++jobCount;
        uint256 amount = (maxUnitsMilli * rate + 999) / 1000;
        jobs[jobId] = Job({
            client: msg.sender,
            provider: address(0),
            rate: rate,
            maxUnitsMilli: maxUnitsMilli,
            escrow: amount,
            deadline: deadline,
            accepted: false,
            settled: false,
            receiptHash: bytes32(0)
        });
        emit JobCreated(jobId, msg.sender, amount, keccak256(prompt));
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Accepts an open job.
    function acceptJob(uint256 jobId) external {
        Job storage j = jobs[jobId];
        if (j.client == address(0) || j.accepted || block.timestamp > j.deadline) revert NaiveEscrowBadState(jobId);
        j.accepted = true;
        j.provider = msg.sender;
        emit JobAccepted(jobId, msg.sender);
    }

    /// @notice Settles one job, paying every party directly.
    function settle(uint256 jobId, uint256 unitsMilli, bytes32 receiptHash) external {
        Job storage j = jobs[jobId];
        if (!j.accepted || j.settled || j.provider != msg.sender) revert NaiveEscrowBadState(jobId);
        if (unitsMilli == 0 || unitsMilli > j.maxUnitsMilli) revert NaiveEscrowBadUnits(jobId, unitsMilli);
        j.settled = true;
        j.receiptHash = receiptHash;
        uint256 price = (unitsMilli * j.rate) / 1000;
        uint256 fee = (price * feeBps) / 10_000;
        emit JobSettled(jobId, unitsMilli, price, receiptHash);
        token.safeTransfer(msg.sender, price - fee);
        if (fee != 0) token.safeTransfer(treasury, fee);
        if (j.escrow != price) token.safeTransfer(j.client, j.escrow - price);
    }
}
