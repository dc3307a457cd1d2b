import { HDNodeWallet, Wallet } from "ethers";

import { isLocalChain } from "../../lib/sdk/deployment.js";
import { RelayerError } from "../core/errors.js";

/** The mnemonic `hardhat node` derives its funded development accounts from. Public; local chains only. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** A development account of `hardhat node` (index 0 is the usual deployer). */
export function devAccount(index: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
}

/**
 * The provider's EVM wallet: a private key (environment or keystore) wins; otherwise a development account, which is
 * refused on chains other than the local ones.
 */
export function resolveEvmWallet(options: { privateKey?: string; devAccountIndex?: number; chainId: bigint }): Wallet | HDNodeWallet {
  const local = isLocalChain(options.chainId);
  if (options.privateKey !== undefined && options.privateKey !== "") {
    const hex = options.privateKey.startsWith("0x") ? options.privateKey : `0x${options.privateKey}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
      throw new RelayerError("RELAYER_INVALID_CONFIG", "the provider's EVM private key is not 32 bytes of hex", {
        hint: "set AITBC_RELAYER_PRIVATE_KEY (or the keystore entry) to a 0x-prefixed 64-digit hex key",
      });
    }
    return new Wallet(hex);
  }
  if (options.devAccountIndex !== undefined) {
    if (!local) {
      throw new RelayerError("RELAYER_INVALID_CONFIG", `evm.devAccountIndex is for local chains only, but the node is chain ${options.chainId}`, {
        hint: "on a live network put the key in Hardhat's keystore (`npx hardhat keystore set AITBC_LIVE_PRIVATE_KEY`) or in AITBC_RELAYER_PRIVATE_KEY",
      });
    }
    return devAccount(options.devAccountIndex);
  }
  throw new RelayerError("RELAYER_INVALID_CONFIG", "no EVM key for the provider", {
    hint: "set evm.devAccountIndex (local chains), AITBC_RELAYER_PRIVATE_KEY, or run `npx hardhat miner:start` which reads Hardhat's keystore",
  });
}
