import { expect } from "chai";
import { getBytes, Wallet } from "ethers";

import { nodeHpke } from "../../../lib/node/hpke-node.js";
import {
  deriveResultKeyPair,
  envelopeOverhead,
  generateEncryptionKeyPair,
  isEnvelope,
  keyTag,
  MAX_RECIPIENTS,
  openEnvelope,
  openEnvelopeDetailed,
  portableHpke,
  readEnvelopeHeader,
  resultKeyMessage,
  revealEnvelope,
  sealEnvelope,
  type EncryptionKeyPair,
  type EnvelopeContext,
} from "../../../lib/privacy/envelope.js";
import { rejectionCode as refusal } from "../../fixtures/errors.js";

const prompt = new TextEncoder().encode("Summarise our Q3 revenue figures: 4.2 M€, 🚀 growth, confidential.");
const context: EnvelopeContext = { chainId: 31337n, market: `0x${"11".repeat(20)}`, client: `0x${"22".repeat(20)}` };
const resultContext: EnvelopeContext = { ...context, jobId: 7n };


/** The fixed header: marker, version, kind, recipient count and the 32-byte key commitment. */
const H = 4 + 32;

const backends = [
  ["portable", portableHpke],
  ["node:crypto", nodeHpke],
] as const;

describe("lib/privacy/envelope: private prompts and results", function () {
  let alice: EncryptionKeyPair;
  let bob: EncryptionKeyPair;
  let carol: EncryptionKeyPair;

  before(async function () {
    [alice, bob, carol] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
  });

  for (const [sealName, sealWith] of backends) {
    for (const [openName, openWith] of backends) {
      it(`sealed with the ${sealName} back-end, opens with the ${openName} one for every recipient and no one else`, async function () {
        const envelope = await sealEnvelope("prompt", prompt, [alice.publicKey, bob.publicKey], context, sealWith);
        expect(await openEnvelope("prompt", envelope, alice, context, openWith)).to.deep.equal(prompt);
        expect(await openEnvelope("prompt", envelope, bob, context, openWith)).to.deep.equal(prompt);
        expect(await refusal(openEnvelope("prompt", envelope, carol, context, openWith))).to.equal("ENVELOPE_NOT_A_RECIPIENT");
      });
    }
  }

  it("shows nothing of the plaintext: no run of 8 plaintext bytes appears in the envelope", async function () {
    const envelope = await sealEnvelope("prompt", prompt, [alice.publicKey], context);
    const hex = Buffer.from(envelope).toString("hex");
    for (let i = 0; i + 8 <= prompt.length; i++) expect(hex).to.not.include(Buffer.from(prompt.subarray(i, i + 8)).toString("hex"));
    const header = readEnvelopeHeader(envelope);
    expect(header.plaintextBytes).to.equal(prompt.length);
    expect(header.recipients.map((r) => Buffer.from(r.keyTag).toString("hex"))).to.deep.equal([Buffer.from(keyTag(alice.publicKey)).toString("hex")]);
    expect(envelope.length).to.equal(H + 88 + prompt.length + 16);
    expect(envelopeOverhead(1)).to.equal(envelope.length - prompt.length);
    expect(isEnvelope(envelope)).to.equal(true);
    expect(isEnvelope(prompt)).to.equal(false);
  });

  it("does not open in another context: chain, market, client, job id or kind", async function () {
    const envelope = await sealEnvelope("result", prompt, [alice.publicKey], resultContext);
    expect(await openEnvelope("result", envelope, alice, resultContext)).to.deep.equal(prompt);
    for (const other of [
      { ...resultContext, chainId: 1n },
      { ...resultContext, market: `0x${"33".repeat(20)}` },
      { ...resultContext, client: `0x${"44".repeat(20)}` },
      { ...resultContext, jobId: 8n },
    ]) {
      expect(await refusal(openEnvelope("result", envelope, alice, other))).to.equal("ENVELOPE_OPEN_FAILED");
    }
    expect(await refusal(openEnvelope("prompt", envelope, alice, context))).to.equal("ENVELOPE_MALFORMED");
  });

  it("refuses every changed byte, a truncation and a removed recipient", async function () {
    const envelope = await sealEnvelope("prompt", prompt, [alice.publicKey, bob.publicKey], context);
    const accepted = new Set(["ENVELOPE_OPEN_FAILED", "ENVELOPE_NOT_A_RECIPIENT", "ENVELOPE_MALFORMED"]);
    // Every byte of the header and a sample of the content.
    const positions = [...Array(H + 2 * 88).keys(), H + 2 * 88, envelope.length - 17, envelope.length - 1];
    for (const at of positions) {
      const tampered = envelope.slice();
      tampered[at] ^= 0x01;
      const code = await refusal(openEnvelope("prompt", tampered, bob, context, nodeHpke));
      expect(accepted.has(code), `byte ${at}: ${code}`).to.equal(true);
    }
    expect(await refusal(openEnvelope("prompt", envelope.subarray(0, envelope.length - 1), bob, context))).to.equal("ENVELOPE_OPEN_FAILED");
    expect(await refusal(openEnvelope("prompt", envelope.subarray(0, H + 2 * 88 + 15), bob, context))).to.equal("ENVELOPE_MALFORMED");
    // Drop Alice's slot and say there is one recipient: Bob's wrapped key still opens, but the content's additional
    // data (the header) changed, so nobody reads the content.
    const withoutAlice = new Uint8Array([...envelope.subarray(0, H), ...envelope.subarray(H + 88)]);
    withoutAlice[3] = 1;
    expect(await refusal(openEnvelope("prompt", withoutAlice, bob, context))).to.equal("ENVELOPE_OPEN_FAILED");
  });

  it("commits to its content key: the revealed key opens it for anyone, no other key does", async function () {
    const envelope = await sealEnvelope("result", prompt, [alice.publicKey], resultContext, nodeHpke);
    const opened = await openEnvelopeDetailed("result", envelope, alice, resultContext);
    expect(opened.plaintext).to.deep.equal(prompt);
    for (const [, backend] of backends) expect(await revealEnvelope("result", envelope, opened.contentKey, backend)).to.deep.equal(prompt);
    const otherKey = opened.contentKey.slice();
    otherKey[0] ^= 1;
    expect(await refusal(revealEnvelope("result", envelope, otherKey))).to.equal("ENVELOPE_OPEN_FAILED");
    expect(await refusal(revealEnvelope("prompt", envelope, opened.contentKey))).to.equal("ENVELOPE_MALFORMED");
    // A key that matches the commitment but content that was changed: the AEAD refuses.
    const changed = envelope.slice();
    changed[changed.length - 20] ^= 1;
    expect(await refusal(revealEnvelope("result", changed, opened.contentKey))).to.equal("ENVELOPE_OPEN_FAILED");
  });

  it("refuses bad recipient lists and bad keys by code", async function () {
    expect(await refusal(sealEnvelope("prompt", prompt, [], context))).to.equal("ENVELOPE_RECIPIENTS");
    const many = await Promise.all(Array.from({ length: MAX_RECIPIENTS + 1 }, () => generateEncryptionKeyPair()));
    expect(await refusal(sealEnvelope("prompt", prompt, many.map((k) => k.publicKey), context))).to.equal("ENVELOPE_RECIPIENTS");
    const full = await sealEnvelope("prompt", prompt, many.slice(0, MAX_RECIPIENTS).map((k) => k.publicKey), context, nodeHpke);
    expect(await openEnvelope("prompt", full, many[MAX_RECIPIENTS - 1], context)).to.deep.equal(prompt);
    expect(await refusal(sealEnvelope("prompt", prompt, [alice.publicKey, alice.publicKey], context))).to.equal("ENVELOPE_RECIPIENTS");
    expect(await refusal(sealEnvelope("prompt", prompt, [alice.publicKey.subarray(0, 31)], context))).to.equal("ENVELOPE_BAD_KEY");
    // The all-zero point is of small order: both back-ends refuse to encrypt to it.
    for (const [, backend] of backends) {
      expect(await refusal(sealEnvelope("prompt", prompt, [new Uint8Array(32)], context, backend))).to.equal("ENVELOPE_BAD_KEY");
    }
    expect(await refusal(sealEnvelope("prompt", prompt, [alice.publicKey], resultContext))).to.equal("ENVELOPE_BAD_CONTEXT");
    expect(await refusal(sealEnvelope("result", prompt, [alice.publicKey], context))).to.equal("ENVELOPE_BAD_CONTEXT");
    expect(await refusal(sealEnvelope("prompt", prompt, [alice.publicKey], { ...context, client: "alice" }))).to.equal("ENVELOPE_BAD_CONTEXT");
  });

  it("reads only marked version 1 envelopes of a known kind", async function () {
    const envelope = await sealEnvelope("prompt", prompt, [alice.publicKey], context);
    const unmarked = envelope.slice();
    unmarked[0] = 0x7b;
    expect(await refusal(openEnvelope("prompt", unmarked, alice, context))).to.equal("ENVELOPE_MALFORMED");
    const v2 = envelope.slice();
    v2[1] = 2;
    expect(await refusal(openEnvelope("prompt", v2, alice, context))).to.equal("ENVELOPE_MALFORMED");
    const kind = envelope.slice();
    kind[2] = 9;
    expect(await refusal(openEnvelope("prompt", kind, alice, context))).to.equal("ENVELOPE_MALFORMED");
    const zero = envelope.slice();
    zero[3] = 0;
    expect(await refusal(openEnvelope("prompt", zero, alice, context))).to.equal("ENVELOPE_MALFORMED");
  });

  it("derives one result key per account and chain from a wallet signature, the same every time", async function () {
    const wallet = new Wallet(`0x${"5a".repeat(32)}`);
    const sign = async (chainId: bigint, account: Wallet) => getBytes(await account.signMessage(resultKeyMessage(chainId, account.address)));
    const first = await deriveResultKeyPair(await sign(31337n, wallet));
    const again = await deriveResultKeyPair(await sign(31337n, wallet));
    expect(Buffer.from(again.privateKey).equals(Buffer.from(first.privateKey))).to.equal(true);
    const otherChain = await deriveResultKeyPair(await sign(1n, wallet));
    expect(Buffer.from(otherChain.publicKey).equals(Buffer.from(first.publicKey))).to.equal(false);
    const otherAccount = await deriveResultKeyPair(await sign(31337n, new Wallet(`0x${"5b".repeat(32)}`)));
    expect(Buffer.from(otherAccount.publicKey).equals(Buffer.from(first.publicKey))).to.equal(false);
    expect(resultKeyMessage(31337n, wallet.address)).to.include("does not move funds");
    // A result sealed to the derived key opens with a key derived again later, and with no one else's.
    const envelope = await sealEnvelope("result", prompt, [first.publicKey], resultContext, nodeHpke);
    expect(await openEnvelope("result", envelope, again, resultContext)).to.deep.equal(prompt);
    expect(await refusal(openEnvelope("result", envelope, otherAccount, resultContext))).to.equal("ENVELOPE_NOT_A_RECIPIENT");
    expect(await refusal(deriveResultKeyPair(new Uint8Array(64)))).to.equal("ENVELOPE_BAD_KEY");
  });
});
