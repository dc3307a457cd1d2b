import { isAddress as isEthersAddress } from "ethers";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * Whether `text` is an EVM address a user may type: all lower case, all upper case, or mixed case with a valid
 * EIP-55 checksum (a mixed-case address with a wrong checksum is a typo and is refused). The `0x` form only: ethers
 * alone would also take a bare 40-digit hex string or an ICAP address.
 */
export function isAddress(text: string): boolean {
  return HEX_ADDRESS.test(text) && isEthersAddress(text);
}
