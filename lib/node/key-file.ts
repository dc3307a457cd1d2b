/**
 * The provider's keys on disk: JSON files readable by their owner only. The Ed25519 receipt key signs receipts; the
 * X25519 encryption key opens the private prompts clients seal to the provider (`lib/privacy/envelope.ts`).
 *
 * The receipt key file is a JSON file readable by its owner only. The one implementation used by
 * `provider:register`, `miner:start` and the relayer, so a key created by any of them works with the others.
 *
 *   { "format": "aitbc-receipt-key-v1", "alg": "Ed25519", "public_key": "<base64url>", "secret_key": "<base64url>" }
 *
 * Both keys are the raw 32 bytes, base64url without padding; `public_key` is the `key_id` receipts carry. The file is
 * created with mode 0600 and never overwritten, and a file that group or others can read is refused: a leaked receipt
 * key lets anyone sign receipts in the provider's name.
 *
 * One file per network and provider account, `.aitbc/keys/<network>/<address>.ed25519.json` ({@link defaultKeyFile}):
 * `provider:register`, `miner:start` and the devnet all look there, so none of them registers a key another one does
 * not have.
 */
import { constants } from "node:fs";
import { link, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";

import { AitbcError } from "../errors.js";
import { getPublicKey, randomSecretKey, validatePublicKey } from "../receipts/ed25519.js";
import { nodeBackend } from "./ed25519-node.js";
import { x25519KeyPair, x25519PublicKey } from "./hpke-node.js";
import { base64UrlDecode, base64UrlEncode, bytesEqual, toHex } from "../receipts/encoding.js";

export const KEY_FILE_FORMAT = "aitbc-receipt-key-v1";
export const ENCRYPTION_KEY_FILE_FORMAT = "aitbc-encryption-key-v1";

/** The receipt key file of `address` on `network`, relative to the project folder. */
export function defaultKeyFile(network: string, address: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(network) || network.startsWith(".")) {
    throw new AitbcError("BAD_ARGUMENT", `network name ${JSON.stringify(network)} cannot name a key folder`, { hint: "Use a network name made of letters, digits, `-`, `_` and `.`." });
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new AitbcError("BAD_ADDRESS", `${JSON.stringify(address)} is not an address`, { hint: "Pass the provider's 0x address (40 hex digits)." });
  }
  return path.join(".aitbc", "keys", network, `${address.toLowerCase()}.ed25519.json`);
}

/** The encryption key file of `address` on `network`, beside its receipt key file. */
export function defaultEncryptionKeyFile(network: string, address: string): string {
  return defaultKeyFile(network, address).replace(/\.ed25519\.json$/, ".x25519.json");
}

/**
 * `RECEIPT_KEY_MISMATCH`: the registry holds another receipt key for the provider than the key file. Replacing it is a
 * rotation and needs the explicit `--rotate-key`.
 */
export function receiptKeyMismatch(provider: string, registered: string, file: string, fileKey: string): AitbcError {
  return new AitbcError(
    "RECEIPT_KEY_MISMATCH",
    `${provider} is registered with receipt key ${registered}, but ${file} holds ${fileKey}; nothing was changed`,
    {
      hint:
        "Use the key file that holds the registered key (--key-file), or pass --rotate-key to make this key the receipt key: " +
        "receipts already issued stay verifiable (the registry keeps the old key for the time it signed), and from then on only the new key's receipts are trusted.",
      details: { provider, registered, file, fileKey },
    },
  );
}

export interface ReceiptKey {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** base64url of the public key: the receipts' `key_id`. */
  keyId: string;
  /** `0x` hex of the public key: the `bytes32 receiptKey` that `ProviderRegistry` stores. */
  publicKeyHex: `0x${string}`;
}

function keyError(code: string, file: string, message: string, hint: string, cause?: unknown): AitbcError {
  return new AitbcError(code, `${file}: ${message}`, { hint, details: { file }, cause });
}

function fromSecret(secretKey: Uint8Array): ReceiptKey {
  const publicKey = getPublicKey(secretKey, nodeBackend);
  return { publicKey, secretKey, keyId: base64UrlEncode(publicKey), publicKeyHex: toHex(publicKey) };
}

/** Throws `KEY_INVALID` unless the public key meets the strict receipt-key rules (canonical, not small-order). */
export function assertValidReceiptKey(publicKey: Uint8Array, source: string): void {
  const check = validatePublicKey(publicKey);
  if (!check.valid) {
    throw new AitbcError("KEY_INVALID", `${source}: ${check.reason}`, {
      hint: "Generate a fresh key: move the file away and run `provider:register` (or `miner:start`) again.",
      details: { reason: check.code },
    });
  }
}

/**
 * Reads and checks a key file: owner-only permissions, format, and that the secret derives the stated public key.
 *
 * @throws AitbcError `KEY_FILE_PERMISSIONS`, `KEY_FILE_INVALID`, `KEY_INVALID`; a missing file rejects with the
 *   plain `ENOENT` error so callers can tell "absent" from "bad".
 */
export async function readKeyFile(file: string): Promise<ReceiptKey> {
  const fields = await readSecretJson(file);
  if (fields.format !== KEY_FILE_FORMAT || fields.alg !== "Ed25519") {
    throw keyError("KEY_FILE_INVALID", file, `is not an ${KEY_FILE_FORMAT} Ed25519 key file`, "Point the key file option at a file written by `provider:register` or `miner:start`.");
  }
  const secret = typeof fields.secret_key === "string" ? base64UrlDecode(fields.secret_key) : undefined;
  const stated = typeof fields.public_key === "string" ? base64UrlDecode(fields.public_key) : undefined;
  if (secret === undefined || secret.length !== 32 || stated === undefined || stated.length !== 32) {
    throw keyError("KEY_FILE_INVALID", file, "secret_key and public_key must be base64url of 32 bytes", "Restore the file from its backup or generate a new key.");
  }
  const key = fromSecret(secret);
  if (!bytesEqual(key.publicKey, stated)) {
    throw keyError("KEY_FILE_INVALID", file, "public_key does not belong to secret_key", "The file was edited or corrupted; restore it from its backup or generate a new key.");
  }
  assertValidReceiptKey(key.publicKey, file);
  return key;
}

/** An owner-only JSON file's fields; a missing file rejects with the plain `ENOENT` error. */
async function readSecretJson(file: string): Promise<Record<string, unknown>> {
  const info = await stat(file);
  if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
    throw keyError(
      "KEY_FILE_PERMISSIONS",
      file,
      `readable or writable by others (mode ${(info.mode & 0o777).toString(8)})`,
      `Restrict it to its owner: \`chmod 600 ${file}\`, and rotate the key if others may have read it.`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw keyError("KEY_FILE_INVALID", file, "is not JSON", "Point the key file option at a file written by `provider:register` or `miner:start`.", cause);
  }
  return typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : {};
}

/**
 * Creates a new key file (mode 0600, parent folders 0700) and refuses to overwrite anything.
 *
 * The key is written to a private temporary file, synced, then hard-linked to its name: the link fails when the name
 * exists (no overwrite, even in a race), and the name only ever points at a complete file, so a crash cannot leave a
 * half-written key behind.
 *
 * @throws AitbcError `KEY_FILE_EXISTS` when `file` exists.
 */
export async function createKeyFile(file: string): Promise<ReceiptKey> {
  let key: ReceiptKey;
  // A random seed gives a valid key with overwhelming probability; the check documents the rule and costs nothing.
  do key = fromSecret(randomSecretKey());
  while (!validatePublicKey(key.publicKey).valid);
  await writeSecretFileOnce(file, { format: KEY_FILE_FORMAT, alg: "Ed25519", public_key: key.keyId, secret_key: base64UrlEncode(key.secretKey) });
  return key;
}

/** Writes `fields` as a new owner-only JSON file, atomically, never over an existing one (`KEY_FILE_EXISTS`). */
async function writeSecretFileOnce(file: string, fields: Record<string, string>): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const body = `${JSON.stringify(fields, null, 2)}\n`;
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, file);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
        throw keyError("KEY_FILE_EXISTS", file, "already exists", "Use it (pass it as the key file) or move it away first; key files are never overwritten.", cause);
      }
      throw cause;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dir);
}

/** Makes the new directory entry durable; platforms that cannot open a directory for sync skip it. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads `file` if it exists, otherwise creates it. `created` says which happened. */
export async function loadOrCreateKeyFile(file: string): Promise<{ key: ReceiptKey; created: boolean }> {
  try {
    return { key: await readKeyFile(file), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  try {
    return { key: await createKeyFile(file), created: true };
  } catch (error) {
    // Another process created it between the two steps: use theirs.
    if (error instanceof AitbcError && error.code === "KEY_FILE_EXISTS") return { key: await readKeyFile(file), created: false };
    throw error;
  }
}

export interface EncryptionKey {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  /** `0x` hex of the public key: the `bytes32 encryptionKey` of the provider's endpoint in `ProviderRegistry`. */
  publicKeyHex: `0x${string}`;
}

function encryptionKeyOf(privateKey: Uint8Array): EncryptionKey {
  const publicKey = x25519PublicKey(privateKey);
  return { publicKey, privateKey, publicKeyHex: toHex(publicKey) };
}

/**
 * Reads and checks an encryption key file (`aitbc-encryption-key-v1`, X25519, raw keys in base64url): owner-only
 * permissions, format, and that the private key derives the stated public key.
 *
 * @throws AitbcError `KEY_FILE_PERMISSIONS`, `KEY_FILE_INVALID`; a missing file rejects with the plain `ENOENT` error.
 */
export async function readEncryptionKeyFile(file: string): Promise<EncryptionKey> {
  const fields = await readSecretJson(file);
  if (fields.format !== ENCRYPTION_KEY_FILE_FORMAT || fields.alg !== "X25519") {
    throw keyError("KEY_FILE_INVALID", file, `is not an ${ENCRYPTION_KEY_FILE_FORMAT} X25519 key file`, "Point --encryption-key-file at a file written by `provider:endpoint`.");
  }
  const secret = typeof fields.private_key === "string" ? base64UrlDecode(fields.private_key) : undefined;
  const stated = typeof fields.public_key === "string" ? base64UrlDecode(fields.public_key) : undefined;
  if (secret === undefined || secret.length !== 32 || stated === undefined || stated.length !== 32) {
    throw keyError("KEY_FILE_INVALID", file, "private_key and public_key must be base64url of 32 bytes", "Restore the file from its backup or generate a new key.");
  }
  const key = encryptionKeyOf(secret);
  if (!bytesEqual(key.publicKey, stated)) {
    throw keyError("KEY_FILE_INVALID", file, "public_key does not belong to private_key", "The file was edited or corrupted; restore it from its backup or generate a new key.");
  }
  return key;
}

/** Reads `file` if it exists, otherwise creates a fresh X25519 key in it (mode 0600). `created` says which happened. */
export async function loadOrCreateEncryptionKeyFile(file: string): Promise<{ key: EncryptionKey; created: boolean }> {
  try {
    return { key: await readEncryptionKeyFile(file), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const pair = x25519KeyPair();
  try {
    await writeSecretFileOnce(file, { format: ENCRYPTION_KEY_FILE_FORMAT, alg: "X25519", public_key: base64UrlEncode(pair.publicKey), private_key: base64UrlEncode(pair.privateKey) });
  } catch (error) {
    if (error instanceof AitbcError && error.code === "KEY_FILE_EXISTS") return { key: await readEncryptionKeyFile(file), created: false };
    throw error;
  }
  return { key: encryptionKeyOf(pair.privateKey), created: true };
}
