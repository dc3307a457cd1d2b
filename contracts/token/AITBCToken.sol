// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/**
 * @title AITBCToken
 * @notice The AITBC token: pays for compute jobs and carries voting power in the DAO.
 *
 * - ERC-20 with 18 decimals and EIP-2612 permit.
 * - EIP-5805 votes on a timestamp clock (ERC-6372 `CLOCK_MODE` = `mode=timestamp`), so proposal windows are
 *   expressed in seconds on every chain, including L2s whose block times differ from L1.
 * - A hard cap fixed at deployment. The initial distribution is minted by the constructor; afterwards only the owner
 *   (the DAO timelock) can mint, and never above the cap.
 */
contract AITBCToken is ERC20, ERC20Permit, ERC20Votes, Ownable {
    /// @notice Largest total supply that can ever exist.
    uint256 public immutable cap;

    /// @dev Minting `requested` would lift the supply above `cap`.
    error AITBCCapExceeded(uint256 requested, uint256 supply, uint256 cap);
    /// @dev The cap is zero or larger than the votes checkpoints can hold.
    error AITBCInvalidCap(uint256 cap);
    /// @dev Initial distribution arrays differ in length.
    error AITBCDistributionLengthMismatch(uint256 recipients, uint256 amounts);

    /**
     * @param cap_ hard cap in base units (18 decimals).
     * @param owner_ the only account allowed to mint after deployment: the DAO timelock.
     * @param recipients initial holders.
     * @param amounts initial balances, one per recipient; their sum must not exceed `cap_`.
     */
    constructor(
        uint256 cap_,
        address owner_,
        address[] memory recipients,
        uint256[] memory amounts
    ) ERC20("AITBC", "AITBC") ERC20Permit("AITBC") Ownable(owner_) {
        if (cap_ == 0 || cap_ > _maxSupply()) revert AITBCInvalidCap(cap_);
        if (recipients.length != amounts.length) {
            revert AITBCDistributionLengthMismatch(recipients.length, amounts.length);
        }
        cap = cap_;
        // The owner (the DAO timelock) holds the treasury. Its votes are delegated to itself so that they are
        // checkpointed, which lets the Governor leave them out of quorum; the Governor gives them no weight.
        _delegate(owner_, owner_);
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], amounts[i]);
        }
    }

    /// @notice Mints `amount` to `to`. Only the owner (the DAO timelock), and only within the cap.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @inheritdoc Votes
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc Votes
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner_) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner_);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        if (from == address(0)) {
            // Written as a subtraction so that a huge `value` reports the cap instead of an overflow panic; the supply
            // never exceeds the cap, so `cap - supply` cannot underflow.
            uint256 supply = totalSupply();
            if (value > cap - supply) revert AITBCCapExceeded(value, supply, cap);
        }
        super._update(from, to, value);
    }
}
