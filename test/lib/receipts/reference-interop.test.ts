/**
 * Interop with the AITBC reference stack itself (Python's json + PyNaCl, Debian's python3-nacl under /usr/bin/python3):
 * the committed reference vectors are what test/vectors/generate_reference.py writes today, and this project's
 * receipts — extra fields, nesting, Unicode and all — verify under the reference verifier.
 *
 * These tests need the reference stack and fail (they never skip) when it is missing; .ci/run installs it.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { JsonNumber } from "../../../lib/receipts/canonical.js";
import { getPublicKey } from "../../../lib/receipts/ed25519.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { buildReceipt, keyIdOf, receiptHash, serializeReceipt, signReceipt } from "../../../lib/receipts/receipt.js";

const PYTHON = "/usr/bin/python3";
const GENERATOR = fileURLToPath(new URL("../../vectors/generate_reference.py", import.meta.url));
const COMMITTED = fileURLToPath(new URL("../../vectors/reference.json", import.meta.url));

function python(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { input, encoding: "utf8", timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("receipts: interop with the reference stack (Python json + PyNaCl)", function () {
  this.timeout(120_000);

  before(function () {
    let probe: ReturnType<typeof python> | undefined;
    try {
      probe = python(["-c", "import nacl.signing"]);
    } catch {
      probe = undefined;
    }
    if (probe === undefined || probe.code !== 0) {
      throw new Error(
        `the reference stack is missing: ${PYTHON} with PyNaCl is needed for these tests. Install it with \`apt-get install -y python3-nacl\` ` +
          `(.ci/run does this).${probe === undefined ? "" : ` ${probe.stderr.trim()}`}`,
      );
    }
  });

  it("regenerates the committed reference vectors byte for byte (deterministic seeds)", function () {
    const r = python([GENERATOR, "--stdout"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout === readFileSync(COMMITTED, "utf8"), "test/vectors/reference.json is stale: run /usr/bin/python3 test/vectors/generate_reference.py").to.equal(true);
  });

  const secret = new Uint8Array(32).fill(9);
  const keyId = keyIdOf(getPublicKey(secret));
  const receipts = [
    { name: "a plain receipt", extra: {} },
    {
      name: "extra fields with nesting, Unicode, nulls and Python floats",
      extra: {
        metadata: { note: "résumé 😀 𝄞 \u2028", tags: ["a", null, "b"], gpu: null, nested: [[null, { x: 1 }]], "\u{1F600}": 1, "\uE000": 2 },
        unit_price: JsonNumber.float(0.02),
        tiny: JsonNumber.float(1.5e-7),
        whole: JsonNumber.float(5),
        big: 2n ** 64n + 1n,
      },
    },
  ];
  for (const { name, extra } of receipts) {
    it(`has the reference verifier accept ${name} signed here, with the same receipt hash`, function () {
      const receipt = signReceipt(
        buildReceipt({
          chainId: 31337,
          escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
          jobId: 11n,
          provider: "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a",
          client: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
          model: "llama3.2",
          unitsMilli: 1250,
          priceBase: 25n * 10n ** 17n,
          startedAt: 1767225601,
          completedAt: 1767225604,
          inputHash: `0x${"ab".repeat(32)}`,
          resultHash: `0x${"cd".repeat(32)}`,
          extra,
        }),
        secret,
        nodeBackend,
      );
      const served = serializeReceipt(receipt);
      const ok = python([GENERATOR, "verify", keyId], served);
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      expect(ok.stdout.trim()).to.equal(`VALID ${receiptHash(receipt)}`);

      const tampered = served.replace('"model":"llama3.2"', '"model":"llama3.3"');
      const bad = python([GENERATOR, "verify", keyId], tampered);
      expect(bad.code).to.equal(1);
      expect(bad.stdout).to.match(/INVALID: bad signature/);
    });
  }
});
