import { chmod, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { nodeHpke } from "../../../lib/node/hpke-node.js";
import { defaultEncryptionKeyFile, loadOrCreateEncryptionKeyFile, readEncryptionKeyFile } from "../../../lib/node/key-file.js";
import { openEnvelope, sealEnvelope } from "../../../lib/privacy/envelope.js";
import { rejectionCode as refusal } from "../../fixtures/errors.js";


describe("lib/node/key-file: the provider's encryption key on disk", function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-enc-key-"));
  });

  it("lives beside the receipt key file", function () {
    const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    expect(defaultEncryptionKeyFile("localhost", address)).to.equal(path.join(".aitbc", "keys", "localhost", `${address.toLowerCase()}.x25519.json`));
  });

  it("is created once with mode 0600, read back the same, and opens what is sealed to it", async function () {
    const file = path.join(dir, "keys", "p.x25519.json");
    const first = await loadOrCreateEncryptionKeyFile(file);
    expect(first.created).to.equal(true);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    const again = await loadOrCreateEncryptionKeyFile(file);
    expect(again.created).to.equal(false);
    expect(again.key.publicKeyHex).to.equal(first.key.publicKeyHex);
    const context = { chainId: 31337n, market: `0x${"11".repeat(20)}`, client: `0x${"22".repeat(20)}` };
    const envelope = await sealEnvelope("prompt", new TextEncoder().encode("private"), [first.key.publicKey], context);
    expect(new TextDecoder().decode(await openEnvelope("prompt", envelope, again.key, context, nodeHpke))).to.equal("private");
  });

  it("refuses a file others can read, another format, and a public key that is not the private key's", async function () {
    const file = path.join(dir, "p.x25519.json");
    await loadOrCreateEncryptionKeyFile(file);
    await chmod(file, 0o640);
    expect(await refusal(readEncryptionKeyFile(file))).to.equal("KEY_FILE_PERMISSIONS");
    await chmod(file, 0o600);

    const fields = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
    const other = path.join(dir, "other.json");
    await writeFile(other, JSON.stringify({ ...fields, public_key: fields.public_key.replace(/^./, (c) => (c === "A" ? "B" : "A")) }), { mode: 0o600 });
    expect(await refusal(readEncryptionKeyFile(other))).to.equal("KEY_FILE_INVALID");
    await writeFile(other, JSON.stringify({ ...fields, format: "aitbc-receipt-key-v1" }), { mode: 0o600 });
    expect(await refusal(readEncryptionKeyFile(other))).to.equal("KEY_FILE_INVALID");
    await writeFile(other, "not json", { mode: 0o600 });
    expect(await refusal(readEncryptionKeyFile(other))).to.equal("KEY_FILE_INVALID");
    const missing = await readEncryptionKeyFile(path.join(dir, "absent.json")).catch((e: NodeJS.ErrnoException) => e.code);
    expect(missing).to.equal("ENOENT");
  });
});
