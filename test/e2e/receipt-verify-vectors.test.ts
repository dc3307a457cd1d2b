/**
 * `receipt:verify` on the independent vectors (canonical bytes from Python's json.dumps, signatures from the OpenSSL
 * CLI; see test/vectors/generate.py), run as a user runs it: receipts as Python services serve them (pretty-printed,
 * any key order, non-ASCII unescaped) are VALID with the vector's receipt_hash; every invalid vector is INVALID with
 * its precise code, and the exit code is non-zero whenever one file is invalid.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { REPO_ROOT, runHardhat } from "../../tools/hardhat-node.js";

interface ValidVector {
  name: string;
  document: string;
  receipt_hash: string;
  trusted_key: string;
}
interface InvalidVector {
  name: string;
  document: string;
  code: string;
  trusted_key: string;
}

const vectors = JSON.parse(await readFile(path.join(REPO_ROOT, "test", "vectors", "receipts.json"), "utf8")) as {
  valid: ValidVector[];
  invalid: InvalidVector[];
};

/** Receipts in the AITBC network's own shapes, signed by the reference stack (test/vectors/generate_reference.py). */
const reference = JSON.parse(await readFile(path.join(REPO_ROOT, "test", "vectors", "reference.json"), "utf8")) as {
  keys: { miner: string; coordinator: string; other: string };
  valid: (ValidVector & { attestation_key: string | null; attestations: string[] })[];
  invalid: (InvalidVector & { attestation_key: string | null })[];
};

function groupByKey<T extends { trusted_key: string }>(list: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const v of list) groups.set(v.trusted_key, [...(groups.get(v.trusted_key) ?? []), v]);
  return groups;
}

describe("e2e: receipt:verify on the independent vectors", function () {
  this.timeout(240_000);
  let dir: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-vectors-"));
  });

  async function writeAll<T extends { document: string }>(prefix: string, list: T[]): Promise<string[]> {
    return Promise.all(
      list.map(async (v, i) => {
        const file = path.join(dir, `${prefix}-${i}.json`);
        await writeFile(file, v.document);
        return file;
      }),
    );
  }

  it("prints VALID <receipt_hash> for every valid vector and exits 0", async function () {
    for (const [key, list] of groupByKey(vectors.valid)) {
      const files = await writeAll(`valid-${key.slice(0, 6)}`, list);
      const result = await runHardhat(["receipt:verify", ...files, "--key", key], { cwd: REPO_ROOT });
      expect(result.code, result.stderr + result.stdout).to.equal(0);
      const lines = result.stdout.split("\n").filter((l) => /^(VALID|INVALID) /.test(l));
      expect(lines.map((l) => l.split(" | ")[0])).to.deep.equal(list.map((v, i) => `VALID ${files[i]} ${v.receipt_hash.startsWith("0x") ? v.receipt_hash : `0x${v.receipt_hash}`}`));
      expect(lines.every((l) => l.includes("| signature: pass (the given key) | settlement profile: pass")), lines.join("\n")).to.equal(true);
    }
  });

  it("prints INVALID <file>: <reason> with the vector's code for every invalid vector and exits 1", async function () {
    // One CLI run per trusted key; the runs are independent, so three go at a time.
    const groups = [...groupByKey(vectors.invalid)].map(([key, list], g) => ({ key, list, prefix: `invalid-${g}` }));
    const check = async ({ key, list, prefix }: (typeof groups)[number]): Promise<number> => {
      const files = await writeAll(prefix, list);
      let result = await runHardhat(["receipt:verify", ...files, "--key", key, "--json"], { cwd: REPO_ROOT });
      expect(result.code, result.stderr + result.stdout).to.equal(1);
      let out = JSON.parse(result.stdout) as { results?: { file: string; valid: boolean; code?: string }[]; error?: { code: string } };
      if (out.error !== undefined) {
        // The vector's key is itself unusable (small-order, non-canonical, wrong length): the CLI refuses it as a
        // --key outright, naming the fix. Checking the same files with the key they carry must still refuse each one.
        expect(out.error.code).to.match(/KEY/);
        result = await runHardhat(["receipt:verify", ...files, "--embedded-key", "--json"], { cwd: REPO_ROOT });
        expect(result.code, result.stderr + result.stdout).to.equal(1);
        out = JSON.parse(result.stdout) as typeof out;
      }
      const verdicts = out.results ?? [];
      // `[receipt]` is no object, so the library refuses it as one receipt; the CLI reads a JSON array as the list
      // of receipts it holds, and verifies the one inside.
      const arrayOfOne = (v: InvalidVector) => v.code === "NOT_AN_OBJECT" && v.document.trimStart().startsWith("[");
      expect(verdicts.map((v) => v.valid)).to.deep.equal(list.map((v) => arrayOfOne(v)));
      expect(verdicts.map((v) => v.code)).to.deep.equal(list.map((v) => (arrayOfOne(v) ? undefined : v.code)));
      return list.length;
    };
    let checked = 0;
    const queue = [...groups];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const n = await check(next);
          checked += n;
        }
      }),
    );
    expect(checked).to.equal(vectors.invalid.length);
  });

  it("verifies the payments guide's example and the reference coordinator's receipts with --key, naming each file and its layers", async function () {
    const files = await writeAll("reference-valid", reference.valid);
    const result = await runHardhat(["receipt:verify", ...files, "--key", reference.keys.miner, "--json"], { cwd: REPO_ROOT });
    expect(result.code, result.stderr + result.stdout).to.equal(0);
    const out = JSON.parse(result.stdout) as { results: { file: string; valid: boolean; receiptHash: string; layers: Record<string, { status: string }> }[] };
    expect(out.results.map((r) => [r.file, r.valid, r.receiptHash])).to.deep.equal(reference.valid.map((v, i) => [files[i], true, v.receipt_hash]));
    expect(out.results.map((r) => [r.layers.signature.status, r.layers.settlement.status])).to.deep.equal(reference.valid.map(() => ["pass", "skip"]));

    const text = await runHardhat(["receipt:verify", files[0], "--key", reference.keys.miner], { cwd: REPO_ROOT });
    expect(text.stdout.trim()).to.equal(`VALID ${files[0]} ${reference.valid[0].receipt_hash} | signature: pass (the given key) | settlement profile: not a settlement receipt`);
  });

  it("verifies the coordinator's attestations with --attestation-key and reports each", async function () {
    const attested = reference.valid.filter((v) => v.attestation_key !== null);
    const files = await writeAll("reference-attested", attested);
    const result = await runHardhat(["receipt:verify", ...files, "--key", reference.keys.miner, "--attestation-key", reference.keys.coordinator, "--json"], { cwd: REPO_ROOT });
    expect(result.code, result.stderr + result.stdout).to.equal(0);
    const out = JSON.parse(result.stdout) as { results: { layers: { attestations: { status: string; results: { status: string }[] } } }[] };
    expect(out.results.map((r) => r.layers.attestations.status)).to.deep.equal(attested.map(() => "pass"));
    expect(out.results.map((r) => r.layers.attestations.results.map((a) => a.status))).to.deep.equal(attested.map((v) => v.attestations));
  });

  it("refuses every tampered reference receipt with its reason code and exits 1", async function () {
    const groups = new Map<string, typeof reference.invalid>();
    for (const v of reference.invalid) {
      const k = `${v.trusted_key} ${v.attestation_key ?? ""}`;
      groups.set(k, [...(groups.get(k) ?? []), v]);
    }
    let checked = 0;
    for (const list of groups.values()) {
      const files = await writeAll(`reference-invalid-${checked}`, list);
      const args = ["receipt:verify", ...files, "--key", list[0].trusted_key, ...(list[0].attestation_key === null ? [] : ["--attestation-key", list[0].attestation_key]), "--json"];
      const result = await runHardhat(args, { cwd: REPO_ROOT });
      expect(result.code, result.stderr + result.stdout).to.equal(1);
      const out = JSON.parse(result.stdout) as { results: { valid: boolean; code?: string }[] };
      expect(out.results.map((r) => [r.valid, r.code]), list.map((v) => v.name).join(", ")).to.deep.equal(list.map((v) => [false, v.code]));
      checked += list.length;
    }
    expect(checked).to.equal(reference.invalid.length);
  });

  it("reads the shapes users hold: a JSON array, JSON lines and a relayer receipt list, one verdict per receipt", async function () {
    const docs = reference.valid.slice(0, 3).map((v) => v.document.trim());
    // One line each, every lexeme kept (re-serialising with JSON.stringify would turn 5.0 into 5 and break signatures).
    const compact = docs.map((d) => d.split("\n").map((l) => l.trim()).join(""));
    const array = path.join(dir, "many.json");
    const lines = path.join(dir, "many.jsonl");
    const list = path.join(dir, "list.json");
    await writeFile(array, `[${docs.join(",")}]`);
    await writeFile(lines, `${compact.join("\n")}\n`);
    await writeFile(list, `{"items":[${docs.map((d) => `{"receipt_id":"x","receipt":${d}}`).join(",")}],"next_cursor":null}`);
    const result = await runHardhat(["receipt:verify", array, lines, list, "--key", reference.keys.miner, "--json"], { cwd: REPO_ROOT });
    expect(result.code, result.stderr + result.stdout).to.equal(0);
    const out = JSON.parse(result.stdout) as { results: { file: string; valid: boolean; receiptHash: string }[] };
    const hashes = reference.valid.slice(0, 3).map((v) => v.receipt_hash);
    expect(out.results.map((r) => [r.file, r.receiptHash])).to.deep.equal([
      ...hashes.map((h, i) => [`${array}#${i + 1}`, h]),
      ...hashes.map((h, i) => [`${lines}:${i + 1}`, h]),
      ...hashes.map((h, i) => [`${list}#${i + 1}`, h]),
    ]);

    // One bad line is INVALID on its own, naming the line; the others stay VALID.
    await writeFile(lines, `${compact[0]}\n{"oops"\n${compact[1]}\n`);
    const mixed = await runHardhat(["receipt:verify", lines, "--key", reference.keys.miner, "--json"], { cwd: REPO_ROOT });
    expect(mixed.code).to.equal(1);
    const verdicts = (JSON.parse(mixed.stdout) as { results: { file: string; valid: boolean; code?: string }[] }).results;
    expect(verdicts.map((v) => [v.file, v.valid, v.code ?? null])).to.deep.equal([
      [`${lines}:1`, true, null],
      [`${lines}:2`, false, "INVALID_JSON"],
      [`${lines}:3`, true, null],
    ]);
  });
});
