import { expect } from "chai";

import { nodeHpke } from "../../../lib/node/hpke-node.js";
import { generateEncryptionKeyPair, readEnvelopeHeader, keyTag, type EnvelopeContext } from "../../../lib/privacy/envelope.js";
import { decodeJobRequest, encodeJobRequest, MAX_PROVIDER_RECIPIENTS, openJobRequest, sealJobRequest } from "../../../lib/privacy/request.js";
import { rejectionCode as refusal } from "../../fixtures/errors.js";

const context: EnvelopeContext = { chainId: 31337n, market: `0x${"11".repeat(20)}`, client: `0x${"22".repeat(20)}` };
const prompt = new TextEncoder().encode("What does the contract's clause 7 oblige us to?");


describe("lib/privacy/request: a private job's sealed request", function () {
  it("encodes version, result key and prompt, and decodes them back", async function () {
    const { publicKey } = await generateEncryptionKeyPair();
    const bytes = encodeJobRequest({ prompt, resultKey: publicKey });
    expect(bytes[0]).to.equal(1);
    expect(bytes.length).to.equal(1 + 32 + prompt.length);
    expect(decodeJobRequest(bytes)).to.deep.equal({ prompt, resultKey: publicKey });
    expect(await refusal(() => decodeJobRequest(bytes.subarray(0, 32)))).to.equal("REQUEST_MALFORMED");
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(await refusal(() => decodeJobRequest(v2))).to.equal("REQUEST_MALFORMED");
    expect(await refusal(() => encodeJobRequest({ prompt, resultKey: publicKey.subarray(1) }))).to.equal("REQUEST_MALFORMED");
  });

  it("opens for each provider and for the client itself, with the same request and content key", async function () {
    const [p1, p2, client, stranger] = await Promise.all([0, 1, 2, 3].map(() => generateEncryptionKeyPair()));
    const envelope = await sealJobRequest({ prompt, resultKey: client.publicKey }, [p1.publicKey, p2.publicKey], context, nodeHpke);
    const tags = readEnvelopeHeader(envelope).recipients.map((r) => Buffer.from(r.keyTag).toString("hex"));
    expect(tags).to.deep.equal([p1, p2, client].map((k) => Buffer.from(keyTag(k.publicKey)).toString("hex")));
    const opened = await Promise.all([p1, p2, client].map((k) => openJobRequest(envelope, k, context)));
    for (const o of opened) {
      expect(o.prompt).to.deep.equal(prompt);
      expect(o.resultKey).to.deep.equal(client.publicKey);
      expect(o.contentKey).to.deep.equal(opened[0].contentKey);
    }
    expect(await refusal(() => openJobRequest(envelope, stranger, context))).to.equal("ENVELOPE_NOT_A_RECIPIENT");
    // Copied into another client's job, it does not open.
    expect(await refusal(() => openJobRequest(envelope, p1, { ...context, client: `0x${"33".repeat(20)}` }))).to.equal("ENVELOPE_OPEN_FAILED");
  });

  it("seals to 1 to 15 providers (the client takes the last slot)", async function () {
    const client = await generateEncryptionKeyPair();
    const keys = await Promise.all(Array.from({ length: MAX_PROVIDER_RECIPIENTS + 1 }, () => generateEncryptionKeyPair()));
    expect(await refusal(() => sealJobRequest({ prompt, resultKey: client.publicKey }, [], context))).to.equal("ENVELOPE_RECIPIENTS");
    expect(await refusal(() => sealJobRequest({ prompt, resultKey: client.publicKey }, keys.map((k) => k.publicKey), context))).to.equal("ENVELOPE_RECIPIENTS");
    const full = await sealJobRequest({ prompt, resultKey: client.publicKey }, keys.slice(0, MAX_PROVIDER_RECIPIENTS).map((k) => k.publicKey), context, nodeHpke);
    expect(readEnvelopeHeader(full).recipients.length).to.equal(MAX_PROVIDER_RECIPIENTS + 1);
  });
});
