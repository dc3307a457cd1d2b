/**
 * `node:crypto` (OpenSSL) back-end for envelopes (`lib/privacy/envelope.ts`): RFC 9180 base mode with
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305, written from the RFC's key schedule on OpenSSL's
 * X25519, HMAC-SHA256 and ChaCha20-Poly1305. Server code only; a relayer opening many envelopes a second wants it.
 * It is tested byte for byte against the portable back-end (`@hpke/core`), in both directions.
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";

import type { EncryptionKeyPair, HpkeBackend } from "../privacy/envelope.js";

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const VERSION_LABEL = Buffer.from("HPKE-v1");
const KEM_SUITE = Buffer.from([0x4b, 0x45, 0x4d, KEM_ID >> 8, KEM_ID & 0xff]);
const HPKE_SUITE = Buffer.from([0x48, 0x50, 0x4b, 0x45, KEM_ID >> 8, KEM_ID & 0xff, KDF_ID >> 8, KDF_ID & 0xff, AEAD_ID >> 8, AEAD_ID & 0xff]);
const EMPTY = Buffer.alloc(0);

function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`an X25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function privateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`an X25519 private key has 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

function extract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac("sha256", salt.length === 0 ? Buffer.alloc(32) : salt).update(ikm).digest();
}

function expand(prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = EMPTY;
  for (let i = 1; blocks.length * 32 < length; i++) {
    previous = createHmac("sha256", prk).update(previous).update(info).update(Buffer.from([i])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function labeledExtract(suite: Buffer, salt: Uint8Array, label: string, ikm: Uint8Array): Buffer {
  return extract(salt, Buffer.concat([VERSION_LABEL, suite, Buffer.from(label), ikm]));
}

function labeledExpand(suite: Buffer, prk: Uint8Array, label: string, info: Uint8Array, length: number): Buffer {
  const prefix = Buffer.from([length >> 8, length & 0xff]);
  return expand(prk, Buffer.concat([prefix, VERSION_LABEL, suite, Buffer.from(label), info]), length);
}

/** DHKEM's ExtractAndExpand over the Diffie-Hellman output and the KEM context (enc ‖ pkR). */
function sharedSecret(dh: Buffer, enc: Uint8Array, recipientPublicKey: Uint8Array): Buffer {
  const prk = labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh);
  return labeledExpand(KEM_SUITE, prk, "shared_secret", Buffer.concat([enc, recipientPublicKey]), 32);
}

/** The base-mode key schedule: the AEAD key and base nonce (the only sequence number used is 0). */
function keySchedule(secret: Buffer, info: Uint8Array): { key: Buffer; nonce: Buffer } {
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const context = Buffer.concat([Buffer.from([0x00]), pskIdHash, infoHash]);
  const prk = labeledExtract(HPKE_SUITE, secret, "secret", EMPTY);
  return { key: labeledExpand(HPKE_SUITE, prk, "key", context, 32), nonce: labeledExpand(HPKE_SUITE, prk, "base_nonce", context, 12) };
}

function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function chachaOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (ciphertext.length < 16) throw new RangeError("ciphertext shorter than its tag");
  const body = ciphertext.subarray(0, ciphertext.length - 16);
  const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  decipher.setAAD(aad, { plaintextLength: body.length });
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

/** An X25519 shared secret; OpenSSL refuses an all-zero result (a small-order peer key), as RFC 9180 requires. */
function dh(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey });
}

function view(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const nodeHpke: HpkeBackend = {
  async seal(recipientPublicKey, info, plaintext) {
    const ephemeral = generateKeyPairSync("x25519");
    const enc = rawPublicKey(ephemeral.publicKey);
    const secret = sharedSecret(dh(ephemeral.privateKey, publicKeyObject(recipientPublicKey)), enc, recipientPublicKey);
    const { key, nonce } = keySchedule(secret, info);
    return { enc: view(enc), ciphertext: view(chachaSeal(key, nonce, plaintext, EMPTY)) };
  },
  async open(keyPair: EncryptionKeyPair, enc, info, ciphertext) {
    const secret = sharedSecret(dh(privateKeyObject(keyPair.privateKey), publicKeyObject(enc)), enc, keyPair.publicKey);
    const { key, nonce } = keySchedule(secret, info);
    return view(chachaOpen(key, nonce, ciphertext, EMPTY));
  },
  async aeadSeal(key, nonce, plaintext, aad) {
    return view(chachaSeal(key, nonce, plaintext, aad));
  },
  async aeadOpen(key, nonce, ciphertext, aad) {
    return view(chachaOpen(key, nonce, ciphertext, aad));
  },
};

/** A fresh X25519 key pair (raw 32-byte keys) from OpenSSL's generator: a provider's encryption key. */
export function x25519KeyPair(): EncryptionKeyPair {
  const pair = generateKeyPairSync("x25519");
  const privateKey = pair.privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
  return { publicKey: view(rawPublicKey(pair.publicKey)), privateKey: view(privateKey) };
}

/** The public key of a raw X25519 private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return view(rawPublicKey(createPublicKey(privateKeyObject(privateKey))));
}
