// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AITBCToken} from "../../../contracts/token/AITBCToken.sol";
import {IJobEscrow} from "../../../contracts/interfaces/IJobEscrow.sol";
import {JobEscrow} from "../../../contracts/market/JobEscrow.sol";
import {ModelRegistry} from "../../../contracts/market/ModelRegistry.sol";
import {ProviderRegistry} from "../../../contracts/market/ProviderRegistry.sol";
import {BuggyJobEscrow} from "./BuggyJobEscrow.sol";
import {Vm} from "./Vm.sol";

/// @notice One settlement record before packing.
struct Record {
    uint256 jobId;
    uint64 units;
    bytes32 receiptHash;
}

/**
 * @notice Deploys token + rate card + provider registry + escrow with `owner` standing in for the timelock, and
 * offers the small steps tests are made of. Works both as a base of test contracts and inside invariant handlers.
 */
library Market {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error PredictionMissed(address predicted, address deployed);

    uint256 internal constant LLAMA_RATE = 2e18;
    uint256 internal constant MIN_BOND = 100e18;
    uint256 internal constant EXPOSURE_MULTIPLE = 1_000;
    uint256 internal constant DISPUTE_BOND = 1e18;
    bytes32 internal constant VALID_KEY = 0x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c;

    struct System {
        AITBCToken token;
        ModelRegistry models;
        ProviderRegistry providers;
        JobEscrow escrow;
        address owner;
        address treasury;
    }

    /// @notice Deploys everything from the calling contract.
    function deploy(address owner, address treasury, address[] memory funded) internal returns (System memory) {
        return deploy(owner, treasury, funded, false);
    }

    /// @notice {deploy}, with the planted-bug variant of the escrow when `buggy` is set.
    function deploy(address owner, address treasury, address[] memory funded, bool buggy)
        internal
        returns (System memory s)
    {
        s.owner = owner;
        s.treasury = treasury;
        uint256[] memory amounts = new uint256[](funded.length);
        for (uint256 i = 0; i < funded.length; ++i) amounts[i] = 1e9 ether / 1000;
        s.token = new AITBCToken(1e9 ether, owner, funded, amounts);
        string[] memory names = new string[](4);
        string[] memory units = new string[](4);
        uint256[] memory rates = new uint256[](4);
        (names[0], names[1], names[2], names[3]) = ("llama3.2", "llama3.2:1b", "codellama", "stable-diffusion");
        (rates[0], rates[1], rates[2], rates[3]) = (2e18, 0.5e18, 2.5e18, 5e18);
        for (uint256 i = 0; i < 4; ++i) units[i] = "gpu_seconds";
        s.models = new ModelRegistry(owner, names, units, rates);
        address predicted = _predict(address(this), vm.getNonce(address(this)) + 1);
        s.providers =
            new ProviderRegistry(s.token, s.models, predicted, treasury, owner, MIN_BOND, 1 days, EXPOSURE_MULTIPLE);
        s.escrow = buggy
            ? new BuggyJobEscrow(s.token, s.models, s.providers, treasury, owner, defaultParams())
            : new JobEscrow(s.token, s.models, s.providers, treasury, owner, defaultParams());
        if (address(s.escrow) != predicted) revert PredictionMissed(predicted, address(s.escrow));
    }

    function defaultParams() internal pure returns (JobEscrow.Params memory) {
        return JobEscrow.Params({
            feeBps: 250,
            disputeWindow: 600,
            disputeTimeout: 3600,
            maxDeadlineDelay: 1 days,
            disputeBond: DISPUTE_BOND
        });
    }

    function registerProvider(System memory s, address provider, bytes32 key) internal {
        uint16[] memory served = new uint16[](4);
        (served[0], served[1], served[2], served[3]) = (1, 2, 3, 4);
        vm.startPrank(provider);
        s.token.approve(address(s.providers), type(uint256).max);
        s.providers.register(key, served, MIN_BOND);
        vm.stopPrank();
    }

    function approveEscrow(System memory s, address client) internal {
        vm.prank(client);
        s.token.approve(address(s.escrow), type(uint256).max);
    }

    function createJob(System memory s, address client, uint16 model, uint64 maxUnits, address provider)
        internal
        returns (uint256 jobId)
    {
        vm.prank(client);
        jobId = s.escrow.createJob(model, maxUnits, provider, uint40(block.timestamp + 1 hours), "prompt");
    }

    function accept(System memory s, address provider, uint256 jobId) internal {
        vm.prank(provider);
        s.escrow.acceptJob(jobId);
    }

    /// @notice Sorts `records` by leaf (insertion sort, test sizes only) and packs them.
    function pack(System memory s, address provider, Record[] memory records) internal view returns (bytes memory) {
        bytes32[] memory leaves = new bytes32[](records.length);
        for (uint256 i = 0; i < records.length; ++i) leaves[i] = leafOf(s, provider, records[i]);
        for (uint256 i = 1; i < records.length; ++i) {
            for (uint256 k = i; k > 0 && leaves[k - 1] > leaves[k]; --k) {
                (leaves[k - 1], leaves[k]) = (leaves[k], leaves[k - 1]);
                (records[k - 1], records[k]) = (records[k], records[k - 1]);
            }
        }
        bytes memory items;
        for (uint256 i = 0; i < records.length; ++i) {
            Record memory r = records[i];
            items = bytes.concat(items, bytes6(uint48(r.jobId)), bytes8(r.units), r.receiptHash);
        }
        return items;
    }

    function leafOf(System memory s, address provider, Record memory r) internal view returns (bytes32) {
        uint256 rate = s.escrow.job(r.jobId).rate;
        return s.escrow.receiptLeaf(
            IJobEscrow.ReceiptLeaf({
                jobId: r.jobId,
                provider: provider,
                unitsMilli: r.units,
                price: (uint256(r.units) * rate) / 1000,
                receiptHash: r.receiptHash
            })
        );
    }

    function settleOne(System memory s, address provider, uint256 jobId, uint64 units)
        internal
        returns (uint256 batchId, bytes32 root)
    {
        Record[] memory records = new Record[](1);
        records[0] = Record(jobId, units, keccak256(abi.encode("receipt", jobId)));
        bytes memory items = pack(s, provider, records);
        vm.prank(provider);
        return s.escrow.settleBatch(items);
    }

    /**
     * @notice The funds-conservation check, shared by the invariant test and the planted-bug test:
     * Σ escrow of open and accepted jobs + Σ unreleased batch payouts + Σ dispute holds and dispute bonds of open
     * disputes + Σ withdrawable balances == token.balanceOf(escrow). `accounts` must list every address that may hold a balance.
     */
    function accountedFunds(System memory s, uint256 jobCount, uint256 batchCount, address[] memory accounts)
        internal
        view
        returns (uint256 accounted, uint256 held)
    {
        for (uint256 id = 1; id <= jobCount; ++id) {
            IJobEscrow.JobView memory j = s.escrow.job(id);
            if (j.status == IJobEscrow.JobStatus.Open || j.status == IJobEscrow.JobStatus.Accepted) {
                accounted += j.escrow;
            } else if (j.status == IJobEscrow.JobStatus.Disputed) {
                (uint256 h,, uint256 bond) = s.escrow.disputeOf(id);
                accounted += h + bond;
            }
        }
        for (uint256 b = 1; b <= batchCount; ++b) {
            try s.escrow.payoutOf(b) returns (address, uint256 amount, uint256, bool) {
                accounted += amount;
            } catch {}
        }
        for (uint256 i = 0; i < accounts.length; ++i) accounted += s.escrow.balanceOf(accounts[i]);
        held = s.token.balanceOf(address(s.escrow));
    }

    function _predict(address deployer, uint256 nonce) private pure returns (address) {
        bytes memory rlp;
        if (nonce < 0x80) rlp = abi.encodePacked(bytes1(0xd6), bytes1(0x94), deployer, uint8(nonce));
        else rlp = abi.encodePacked(bytes1(0xd7), bytes1(0x94), deployer, bytes1(0x81), uint8(nonce));
        return address(uint160(uint256(keccak256(rlp))));
    }
}
