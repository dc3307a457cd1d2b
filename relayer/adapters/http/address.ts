import { keccak_256 } from "@noble/hashes/sha3.js";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * Whether `text` is an EVM address a user may type: all lower case, all upper case, or mixed case with a valid
 * EIP-55 checksum (a mixed-case address with a wrong checksum is a typo and is refused).
 */
export function isAddress(text: string): boolean {
  if (!HEX_ADDRESS.test(text)) return false;
  const body = text.slice(2);
  if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
  const lower = body.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = body[i];
    if (c >= "a" && c <= "f" && nibble >= 8) return false;
    if (c >= "A" && c <= "F" && nibble < 8) return false;
  }
  return true;
}
