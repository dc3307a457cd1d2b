import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { isAitbcError } from "../../../lib/errors.js";
import { createKeyFile, loadOrCreateKeyFile, readKeyFile } from "../../../lib/node/key-file.js";
import { jobStatusName, parseAddressOption, parseDeadline, parseJobId, parseMaxUnits, parseModelList } from "../../../lib/market/jobs.js";
import { findModel, type RateCardRow } from "../../../lib/market/rates.js";
import { validatePublicKey } from "../../../lib/receipts/ed25519.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isAitbcError(error)) return error.code;
    throw error;
  }
  return undefined;
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    if (isAitbcError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe("lib/market: parsing what users type", function () {
  it("names job statuses in IJobEscrow enum order", function () {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(jobStatusName)).to.deep.equal(["None", "Open", "Accepted", "Settled", "Finalized", "Cancelled", "Expired", "Disputed", "Resolved", "GivenBack"]);
    expect(codeOf(() => jobStatusName(10))).to.equal("UNKNOWN_JOB_STATUS");
  });

  it("parses job ids and refuses zero, signs, hex and blanks", function () {
    expect(parseJobId(" 42 ")).to.equal(42n);
    for (const bad of ["0", "-1", "0x2a", "1.5", "abc"]) expect(codeOf(() => parseJobId(bad)), bad).to.equal("BAD_JOB_ID");
    expect(codeOf(() => parseJobId(""))).to.equal("MISSING_OPTION");
  });

  it("parses --max-units into milli-units through lib/money", function () {
    expect(parseMaxUnits("2.5")).to.equal(2500n);
    expect(parseMaxUnits("0.001")).to.equal(1n);
    for (const bad of ["0", "0.0001", "1e3", "-2", "2,5", "281474976710.656"]) expect(codeOf(() => parseMaxUnits(bad)), bad).to.equal("BAD_UNITS");
  });

  it("parses deadlines as seconds from chain time or ISO times, inside the escrow's window", function () {
    const now = 1_800_000_000n;
    expect(parseDeadline("600", now, 86_400n)).to.equal(now + 600n);
    const iso = new Date(Number(now + 3_600n) * 1000).toISOString();
    expect(parseDeadline(iso, now, 86_400n)).to.equal(now + 3_600n);
    expect(codeOf(() => parseDeadline("0", now, 86_400n))).to.equal("BAD_DEADLINE");
    expect(codeOf(() => parseDeadline("86401", now, 86_400n))).to.equal("BAD_DEADLINE");
    expect(codeOf(() => parseDeadline("2026-12-01 12:00", now, 86_400n))).to.equal("BAD_DEADLINE");
    expect(codeOf(() => parseDeadline("tomorrow", now, 86_400n))).to.equal("BAD_DEADLINE");
  });

  it("splits model lists and checks addresses (EIP-55 when mixed case)", function () {
    expect(parseModelList("llama3.2, codellama,llama3.2")).to.deep.equal(["llama3.2", "codellama"]);
    expect(codeOf(() => parseModelList("llama3.2,,x"))).to.equal("BAD_MODEL_LIST");
    expect(parseAddressOption("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "--provider")).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(codeOf(() => parseAddressOption("0x70997970C51812dc3a010c7d01b50e0d17dc79c8", "--provider"))).to.equal("BAD_ADDRESS");
    expect(codeOf(() => parseAddressOption("0x1234", "--provider"))).to.equal("BAD_ADDRESS");
  });

  it("finds models by name and refuses unknown or disabled ones", function () {
    const card: RateCardRow[] = [
      { id: 1, name: "llama3.2", unitType: "gpu_seconds", rate: 2n * 10n ** 18n, enabled: true },
      { id: 2, name: "old", unitType: "gpu_seconds", rate: 0n, enabled: false },
    ];
    expect(findModel(card, "llama3.2").id).to.equal(1);
    expect(codeOf(() => findModel(card, "llama3.3"))).to.equal("UNKNOWN_MODEL");
    expect(findModel(card, "old").id).to.equal(2);
    expect(codeOf(() => findModel(card, "old", { requireEnabled: true }))).to.equal("MODEL_DISABLED");
  });
});

describe("lib/node/key-file: the provider's receipt key on disk", function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-key-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates an owner-only file with a valid key and reads it back", async function () {
    const file = path.join(dir, "nested", "key.json");
    const { key, created } = await loadOrCreateKeyFile(file);
    expect(created).to.equal(true);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect(validatePublicKey(key.publicKey).valid).to.equal(true);
    const again = await loadOrCreateKeyFile(file);
    expect(again.created).to.equal(false);
    expect(again.key.keyId).to.equal(key.keyId);
  });

  it("never overwrites an existing file", async function () {
    const file = path.join(dir, "key.json");
    await writeFile(file, "precious", { mode: 0o600 });
    expect(await asyncCodeOf(() => createKeyFile(file))).to.equal("KEY_FILE_EXISTS");
    expect(await readFile(file, "utf8")).to.equal("precious");
  });

  it("refuses a file others can read, and files that are corrupt or mismatched", async function () {
    const file = path.join(dir, "key.json");
    await createKeyFile(file);
    await chmod(file, 0o644);
    expect(await asyncCodeOf(() => readKeyFile(file))).to.equal("KEY_FILE_PERMISSIONS");
    await chmod(file, 0o600);
    const doc = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
    const other = path.join(dir, "other.json");
    await createKeyFile(other);
    const otherDoc = JSON.parse(await readFile(other, "utf8")) as Record<string, string>;
    await writeFile(file, JSON.stringify({ ...doc, public_key: otherDoc.public_key }), { mode: 0o600 });
    expect(await asyncCodeOf(() => readKeyFile(file))).to.equal("KEY_FILE_INVALID");
    await writeFile(file, "{not json", { mode: 0o600 });
    expect(await asyncCodeOf(() => readKeyFile(file))).to.equal("KEY_FILE_INVALID");
  });
});
