import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import path from "node:path";

import { HDNodeWallet, Wallet } from "ethers";

import { randomSecretKey, validatePublicKey } from "../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../lib/receipts/ed25519-node.js";
import { base64UrlDecode, base64UrlEncode } from "../../lib/receipts/encoding.js";
import { keyIdOf } from "../../lib/receipts/receipt.js";
import { RelayerError } from "../core/errors.js";

/** The provider's receipt-signing key. The secret never leaves this process; only `publicKey` goes on-chain. */
export interface ProviderKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** base64url of the public key, as receipts carry it. */
  keyId: string;
  /** 0x hex of the public key: the `bytes32 receiptKey` of `ProviderRegistry.register`. */
  receiptKey: string;
  file: string;
  created: boolean;
}

const KEY_FILE_FORMAT = "aitbc-ed25519-key-v1";

function keyError(file: string, problem: string, cause?: unknown): RelayerError {
  return new RelayerError("RELAYER_INVALID_CONFIG", `provider key file ${file}: ${problem}`, {
    cause,
    hint: "restore the key file from your backup, or point providerKeyFile at a new path to generate a fresh key (then update the on-chain key with miner:start)",
  });
}

function describe(secretKey: Uint8Array, file: string, created: boolean): ProviderKey {
  const publicKey = nodeBackend.publicKey(secretKey);
  const check = validatePublicKey(publicKey);
  if (!check.valid) throw keyError(file, `the derived public key is unusable (${check.code})`);
  return {
    secretKey,
    publicKey,
    keyId: keyIdOf(publicKey),
    receiptKey: `0x${Buffer.from(publicKey).toString("hex")}`,
    file,
    created,
  };
}

/** Writes `text` to `file` atomically (temp file, fsync, rename) with mode 0600, so a crash never leaves half a key. */
function writePrivateFile(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

/**
 * Loads the provider's Ed25519 key from `file`, or generates one and stores it with mode 0600 when the file does not
 * exist. A file readable by group or others is refused: whoever reads it can sign receipts in the provider's name.
 */
export function loadOrCreateProviderKey(file: string): ProviderKey {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw keyError(file, "cannot be read", cause);
    const secretKey = randomSecretKey();
    const key = describe(secretKey, file, true);
    writePrivateFile(
      file,
      `${JSON.stringify({ format: KEY_FILE_FORMAT, alg: "Ed25519", key_id: key.keyId, secret_key: base64UrlEncode(secretKey) }, null, 2)}\n`,
    );
    return key;
  }
  if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `provider key file ${file} is readable by other users`, {
      hint: `run \`chmod 600 ${file}\` and start again`,
    });
  }
  let doc: { format?: unknown; secret_key?: unknown; key_id?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (cause) {
    throw keyError(file, "is not JSON", cause);
  }
  if (doc.format !== KEY_FILE_FORMAT || typeof doc.secret_key !== "string") throw keyError(file, `is not an ${KEY_FILE_FORMAT} file`);
  const secretKey = base64UrlDecode(doc.secret_key);
  if (secretKey === undefined || secretKey.length !== 32) throw keyError(file, "secret_key is not 32 bytes of base64url");
  const key = describe(secretKey, file, false);
  if (doc.key_id !== undefined && doc.key_id !== key.keyId) throw keyError(file, "key_id does not match the secret key");
  return key;
}

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
  const local = options.chainId === 31337n || options.chainId === 1337n;
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
