/**
 * Private prompts and results: HPKE envelopes (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20-Poly1305), browser-safe.
 *
 * An envelope carries one random content key wrapped for each recipient, then the content sealed once under that
 * key. A job for one provider has one recipient; an open job one per eligible provider (at most
 * {@link MAX_RECIPIENTS}); a result has one, the client. Layout (all lengths fixed except the content):
 *
 * ```
 * u8  marker 0xFF (never the first byte of UTF-8 text, so an envelope is never mistaken for a public prompt)
 * u8  version (1)
 * u8  kind (1 prompt, 2 result)
 * u8  recipient count n (1 … MAX_RECIPIENTS)
 * 32 bytes key commitment = SHA-256("aitbc/envelope-key/v1" ‖ content key)
 * n × ( 8 bytes key tag = first 8 bytes of SHA-256(recipient public key)
 *      32 bytes HPKE enc
 *      48 bytes wrapped content key (32 + 16-byte tag) )
 * …   content: ChaCha20-Poly1305(content key, nonce 0, aad = every byte above) of the plaintext
 * ```

 * What each part protects:
 * - The HPKE `info` binds every wrapped key to its context ({@link EnvelopeContext}: chain, market contract, client,
 *   and for a result the job id), so an envelope copied into another job, chain or market does not open there.
 * - The content's additional data is the whole header, so a recipient slot cannot be removed, added or swapped
 *   without the content failing to open for everyone.
 * - The content key is fresh per envelope and used once, which is what makes the fixed zero nonce safe.
 * - The key commitment makes the envelope commit to one plaintext: ChaCha20-Poly1305 alone is not key-committing (a
 *   sender could build one ciphertext that opens to two texts under two keys), so every opener checks the content key
 *   against the commitment. That is what lets a client prove to anyone what it asked or received by revealing the
 *   content key ({@link revealEnvelope}), without any private key.
 *
 * What stays public (see docs/CLIENT.md): the number of recipients and their key tags (who can read it), the
 * plaintext's length (ciphertext = plaintext + 16 bytes), and everything the job carries anyway (model, limits,
 * timing). Padding is not added.
 */
import { CipherSuite, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { sha256 } from "@noble/hashes/sha2.js";

import { AitbcError } from "../errors.js";
import { bytesEqual } from "../receipts/encoding.js";

export const ENVELOPE_VERSION = 1;
/** The first byte of every envelope. 0xFF never starts (or appears in) valid UTF-8. */
export const ENVELOPE_MARKER = 0xff;
export const MAX_RECIPIENTS = 16;
const COMMITMENT_BYTES = 32;
const KEY_TAG_BYTES = 8;
const ENC_BYTES = 32;
const WRAPPED_KEY_BYTES = 48;
const SLOT_BYTES = KEY_TAG_BYTES + ENC_BYTES + WRAPPED_KEY_BYTES;
const HEADER_BYTES = 4 + COMMITMENT_BYTES;
const TAG_BYTES = 16;
const COMMITMENT_LABEL = new TextEncoder().encode("aitbc/envelope-key/v1");

/** Bytes an envelope adds to its plaintext: the fixed header, one slot per recipient and the content's tag. */
export function envelopeOverhead(recipients: number): number {
  return HEADER_BYTES + recipients * SLOT_BYTES + TAG_BYTES;
}

/** Whether `bytes` is shaped like an envelope (its marker byte); public prompts are UTF-8 and never are. */
export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === ENVELOPE_MARKER;
}

function keyCommitment(contentKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(COMMITMENT_LABEL.length + contentKey.length);
  input.set(COMMITMENT_LABEL);
  input.set(contentKey, COMMITMENT_LABEL.length);
  return sha256(input);
}

export type EnvelopeKind = "prompt" | "result";
const KIND_BYTE: Record<EnvelopeKind, number> = { prompt: 1, result: 2 };

/** Where an envelope belongs. A result also names its job. */
export interface EnvelopeContext {
  chainId: bigint;
  /** The market contract the job lives in (escrow or channels). */
  market: string;
  /** The paying client's address. */
  client: string;
  /** Results only: the job whose result this is. */
  jobId?: bigint;
}

/** A recipient's X25519 key pair as raw 32-byte strings. */
export interface EncryptionKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

let suiteInstance: CipherSuite | undefined;
function suite(): CipherSuite {
  suiteInstance ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
  return suiteInstance;
}

/**
 * The primitives an envelope needs: RFC 9180 single-shot seal and open of the content key, and the content AEAD.
 * {@link portableHpke} runs everywhere (pure JavaScript); `lib/node/hpke-node.ts` is the `node:crypto` fast path
 * for servers. Both are tested against each other, byte for byte.
 */
export interface HpkeBackend {
  /** HPKE base-mode single-shot seal of `plaintext` to `recipientPublicKey`, no additional data. */
  seal(recipientPublicKey: Uint8Array, info: Uint8Array, plaintext: Uint8Array): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }>;
  /** The inverse of `seal`; throws when the ciphertext does not authenticate. */
  open(keyPair: EncryptionKeyPair, enc: Uint8Array, info: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** ChaCha20-Poly1305 with a 32-byte key, a 12-byte nonce and additional data. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** The inverse of `aeadSeal`; throws when the ciphertext does not authenticate. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

export const portableHpke: HpkeBackend = {
  async seal(recipientPublicKey, info, plaintext) {
    const key = await suite().kem.deserializePublicKey(recipientPublicKey);
    const sealed = await suite().seal({ recipientPublicKey: key, info }, plaintext);
    return { enc: bytes(sealed.enc), ciphertext: bytes(sealed.ct) };
  },
  async open(keyPair, enc, info, ciphertext) {
    const kem = suite().kem;
    const recipientKey = { privateKey: await kem.deserializePrivateKey(keyPair.privateKey), publicKey: await kem.deserializePublicKey(keyPair.publicKey) };
    return bytes(await suite().open({ recipientKey, enc: enc.slice(), info }, ciphertext.slice()));
  },
  async aeadSeal(key, nonce, plaintext, aad) {
    return bytes(await new Chacha20Poly1305().createEncryptionContext(key).seal(nonce, plaintext, aad));
  },
  async aeadOpen(key, nonce, ciphertext, aad) {
    return bytes(await new Chacha20Poly1305().createEncryptionContext(key).open(nonce, ciphertext, aad));
  },
};

function fail(code: string, message: string, hint?: string): never {
  throw new AitbcError(code, message, hint === undefined ? {} : { hint });
}

function bytes(buffer: ArrayBuffer): Uint8Array {
  return new Uint8Array(buffer);
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    fail("ENVELOPE_BAD_KEY", `${what} must be 32 bytes of X25519 key, got ${key instanceof Uint8Array ? key.length : typeof key} bytes`);
  }
}

/** The 8-byte tag under which a recipient finds its slot: the first bytes of SHA-256 of its public key. */
export function keyTag(publicKey: Uint8Array): Uint8Array {
  checkKey(publicKey, "the public key");
  return sha256(publicKey).subarray(0, KEY_TAG_BYTES);
}

/** HPKE `info`: the kind and the context, as ASCII (at most 128 bytes, which RFC 9180 implementations accept). */
export function envelopeInfo(kind: EnvelopeKind, context: EnvelopeContext): Uint8Array {
  if (kind === "result" && context.jobId === undefined) fail("ENVELOPE_BAD_CONTEXT", "a result envelope needs the job id");
  if (kind === "prompt" && context.jobId !== undefined) fail("ENVELOPE_BAD_CONTEXT", "a prompt envelope is sealed before its job has an id");
  const address = (a: string, what: string) => {
    if (!/^0x[0-9a-fA-F]{40}$/.test(a)) fail("ENVELOPE_BAD_CONTEXT", `${what} is not an address: ${a}`);
    return a.slice(2).toLowerCase();
  };
  const parts = [`aitbc/${kind}/v${ENVELOPE_VERSION}`, context.chainId.toString(), address(context.market, "the market"), address(context.client, "the client")];
  if (context.jobId !== undefined) parts.push(context.jobId.toString());
  return new TextEncoder().encode(parts.join("|"));
}

/** A fresh X25519 key pair (a provider's encryption key). */
export async function generateEncryptionKeyPair(): Promise<EncryptionKeyPair> {
  const kem = suite().kem;
  const pair = await kem.generateKeyPair();
  return { publicKey: bytes(await kem.serializePublicKey(pair.publicKey)), privateKey: bytes(await kem.serializePrivateKey(pair.privateKey)) };
}

/** The key pair RFC 9180's DeriveKeyPair makes from `seed` (at least 32 bytes of secret). */
export async function deriveEncryptionKeyPair(seed: Uint8Array): Promise<EncryptionKeyPair> {
  if (seed.length < 32) fail("ENVELOPE_BAD_KEY", `a key seed needs at least 32 bytes, got ${seed.length}`);
  const kem = suite().kem;
  const pair = await kem.deriveKeyPair(seed);
  return { publicKey: bytes(await kem.serializePublicKey(pair.publicKey)), privateKey: bytes(await kem.serializePrivateKey(pair.privateKey)) };
}

/** Seals `plaintext` for every key in `recipients` (1 … MAX_RECIPIENTS distinct X25519 public keys). */
export async function sealEnvelope(
  kind: EnvelopeKind,
  plaintext: Uint8Array,
  recipients: readonly Uint8Array[],
  context: EnvelopeContext,
  backend: HpkeBackend = portableHpke,
): Promise<Uint8Array> {
  if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS) {
    fail("ENVELOPE_RECIPIENTS", `an envelope has 1 to ${MAX_RECIPIENTS} recipients, got ${recipients.length}`, "name fewer providers, or direct the job to one");
  }
  const tags = recipients.map(keyTag);
  const seen = new Set(tags.map((t) => Array.from(t).join(",")));
  if (seen.size !== tags.length) fail("ENVELOPE_RECIPIENTS", "the same recipient key is named twice");
  const info = envelopeInfo(kind, context);
  const contentKey = crypto.getRandomValues(new Uint8Array(32));
  const header = new Uint8Array(HEADER_BYTES + recipients.length * SLOT_BYTES);
  header[0] = ENVELOPE_MARKER;
  header[1] = ENVELOPE_VERSION;
  header[2] = KIND_BYTE[kind];
  header[3] = recipients.length;
  header.set(keyCommitment(contentKey), 4);
  for (let i = 0; i < recipients.length; i++) {
    let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
    try {
      sealed = await backend.seal(recipients[i], info, contentKey);
    } catch {
      fail("ENVELOPE_BAD_KEY", `recipient ${i + 1}'s key is not a usable X25519 public key`);
    }
    const at = HEADER_BYTES + i * SLOT_BYTES;
    header.set(tags[i], at);
    header.set(sealed.enc, at + KEY_TAG_BYTES);
    header.set(sealed.ciphertext, at + KEY_TAG_BYTES + ENC_BYTES);
  }
  const content = await backend.aeadSeal(contentKey, new Uint8Array(12), plaintext, header);
  contentKey.fill(0);
  const out = new Uint8Array(header.length + content.length);
  out.set(header);
  out.set(content, header.length);
  return out;
}

/** The parts of an envelope, checked for shape (not opened). */
export interface EnvelopeHeader {
  kind: EnvelopeKind;
  /** SHA-256("aitbc/envelope-key/v1" ‖ content key). */
  commitment: Uint8Array;
  recipients: { keyTag: Uint8Array; enc: Uint8Array; wrappedKey: Uint8Array }[];
  headerBytes: number;
  plaintextBytes: number;
}

export function readEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  if (envelope.length < HEADER_BYTES) fail("ENVELOPE_MALFORMED", `an envelope has at least ${HEADER_BYTES} bytes, got ${envelope.length}`);
  if (envelope[0] !== ENVELOPE_MARKER) fail("ENVELOPE_MALFORMED", `an envelope starts with byte 0xff, this starts with 0x${envelope[0].toString(16).padStart(2, "0")}`);
  if (envelope[1] !== ENVELOPE_VERSION) fail("ENVELOPE_MALFORMED", `unknown envelope version ${envelope[1]} (this build reads version ${ENVELOPE_VERSION})`);
  const kind = envelope[2] === 1 ? "prompt" : envelope[2] === 2 ? "result" : fail("ENVELOPE_MALFORMED", `unknown envelope kind ${envelope[2]}`);
  const n = envelope[3];
  if (n === 0 || n > MAX_RECIPIENTS) fail("ENVELOPE_MALFORMED", `an envelope has 1 to ${MAX_RECIPIENTS} recipients, this one says ${n}`);
  const headerBytes = HEADER_BYTES + n * SLOT_BYTES;
  if (envelope.length < headerBytes + TAG_BYTES) fail("ENVELOPE_MALFORMED", `an envelope for ${n} recipient(s) has at least ${headerBytes + TAG_BYTES} bytes, got ${envelope.length}`);
  const recipients = [];
  for (let i = 0; i < n; i++) {
    const at = HEADER_BYTES + i * SLOT_BYTES;
    recipients.push({
      keyTag: envelope.subarray(at, at + KEY_TAG_BYTES),
      enc: envelope.subarray(at + KEY_TAG_BYTES, at + KEY_TAG_BYTES + ENC_BYTES),
      wrappedKey: envelope.subarray(at + KEY_TAG_BYTES + ENC_BYTES, at + SLOT_BYTES),
    });
  }
  return { kind, commitment: envelope.subarray(4, 4 + COMMITMENT_BYTES), recipients, headerBytes, plaintextBytes: envelope.length - headerBytes - TAG_BYTES };
}

/** What opening an envelope gives: the plaintext, and the content key that anyone can use to check it. */
export interface OpenedEnvelope {
  plaintext: Uint8Array;
  /** The envelope's content key: reveal it (with the envelope) to prove the plaintext, see {@link revealEnvelope}. */
  contentKey: Uint8Array;
}

async function openContent(header: EnvelopeHeader, envelope: Uint8Array, contentKey: Uint8Array, backend: HpkeBackend): Promise<Uint8Array> {
  if (contentKey.length !== 32 || !bytesEqual(keyCommitment(contentKey), header.commitment)) {
    fail("ENVELOPE_OPEN_FAILED", "the content key does not match the envelope's key commitment");
  }
  try {
    return await backend.aeadOpen(contentKey, new Uint8Array(12), envelope.subarray(header.headerBytes), envelope.subarray(0, header.headerBytes));
  } catch {
    return fail("ENVELOPE_OPEN_FAILED", "the envelope's content does not authenticate: it was changed after sealing");
  }
}

/**
 * Opens an envelope with a recipient's key pair and returns the plaintext with the content key. Refuses with
 * ENVELOPE_NOT_A_RECIPIENT when no slot carries the key's tag, and ENVELOPE_OPEN_FAILED when a slot or the content
 * does not authenticate (a tampered envelope, another context, another key with a colliding tag) or the content key
 * does not match the commitment.
 */
export async function openEnvelopeDetailed(
  kind: EnvelopeKind,
  envelope: Uint8Array,
  keyPair: EncryptionKeyPair,
  context: EnvelopeContext,
  backend: HpkeBackend = portableHpke,
): Promise<OpenedEnvelope> {
  checkKey(keyPair.privateKey, "the private key");
  const header = readEnvelopeHeader(envelope);
  if (header.kind !== kind) fail("ENVELOPE_MALFORMED", `expected a ${kind} envelope, got a ${header.kind} envelope`);
  const tag = keyTag(keyPair.publicKey);
  const slots = header.recipients.filter((r) => bytesEqual(r.keyTag, tag));
  if (slots.length === 0) fail("ENVELOPE_NOT_A_RECIPIENT", "this key is not one of the envelope's recipients", "open it with the key it was sealed to");
  const info = envelopeInfo(kind, context);
  for (const slot of slots) {
    let contentKey: Uint8Array;
    try {
      contentKey = await backend.open(keyPair, slot.enc, info, slot.wrappedKey);
    } catch {
      continue;
    }
    return { plaintext: await openContent(header, envelope, contentKey, backend), contentKey };
  }
  return fail("ENVELOPE_OPEN_FAILED", "the envelope does not open with this key in this context (another job, chain or market, or changed bytes)");
}

/** {@link openEnvelopeDetailed}, the plaintext only. */
export async function openEnvelope(
  kind: EnvelopeKind,
  envelope: Uint8Array,
  keyPair: EncryptionKeyPair,
  context: EnvelopeContext,
  backend: HpkeBackend = portableHpke,
): Promise<Uint8Array> {
  const opened = await openEnvelopeDetailed(kind, envelope, keyPair, context, backend);
  opened.contentKey.fill(0);
  return opened.plaintext;
}

/**
 * Opens an envelope with its revealed content key, no private key needed: how a client proves to the DAO (or anyone)
 * what it asked or received. The key commitment makes the answer unique: no other key opens the same envelope.
 */
export async function revealEnvelope(kind: EnvelopeKind, envelope: Uint8Array, contentKey: Uint8Array, backend: HpkeBackend = portableHpke): Promise<Uint8Array> {
  const header = readEnvelopeHeader(envelope);
  if (header.kind !== kind) fail("ENVELOPE_MALFORMED", `expected a ${kind} envelope, got a ${header.kind} envelope`);
  return openContent(header, envelope, contentKey, backend);
}

/**
 * The message a client signs (EIP-191 personal_sign) to derive its result key. It names the chain and the address,
 * so one signature gives one key per chain and account, and says what the signature is for.
 */
export function resultKeyMessage(chainId: bigint, client: string): string {
  return [
    "AITBC on EVM: derive my result decryption key.",
    "Signing this does not move funds or approve anything.",
    `chain: ${chainId}`,
    `account: ${client.toLowerCase()}`,
    `version: ${ENVELOPE_VERSION}`,
  ].join("\n");
}

/**
 * The client's result key pair from its signature over {@link resultKeyMessage}. ECDSA signatures from wallets are
 * deterministic (RFC 6979), so the same account gets the same key every time, in the CLI and in a browser wallet.
 */
export async function deriveResultKeyPair(signature: Uint8Array): Promise<EncryptionKeyPair> {
  if (signature.length !== 65) fail("ENVELOPE_BAD_KEY", `a wallet signature has 65 bytes, got ${signature.length}`);
  return deriveEncryptionKeyPair(sha256(signature));
}
