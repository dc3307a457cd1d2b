/**
 * The mutation runner's bookkeeping: which tests a contract's mutants face, how a run's outcome is read, and which
 * recorded results still count. A wrong map or a misread outcome would make the committed score mean nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";

import { classify, firstFailing, readResults, sha256, tally, TESTS, type Result } from "../../scripts/mutation-lanes.js";
import { REPO_ROOT } from "../../tools/hardhat-node.js";

function solidityTests(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return solidityTests(rel);
    return entry.name.endsWith(".t.sol") ? [rel] : [];
  });
}

describe("scripts/mutation-lanes.ts", function () {
  describe("the test map", function () {
    it("names only test files that exist, each once per contract", function () {
      for (const [contract, { first, second }] of Object.entries(TESTS)) {
        expect(existsSync(path.join(REPO_ROOT, "contracts", contract)), contract).to.equal(true);
        const all = [...first, ...second];
        expect(new Set(all).size, `${contract}: a file listed twice`).to.equal(all.length);
        expect(first.length, `${contract}: no first stage`).to.be.greaterThan(0);
        for (const file of all) expect(existsSync(path.join(REPO_ROOT, file)), `${contract}: ${file}`).to.equal(true);
      }
    });

    it("gives every contract with generated mutants its own tests, named after it", function () {
      const generated = readFileSync(path.join(REPO_ROOT, "docs/mutation/generated.jsonl"), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => (JSON.parse(line) as { file: string }).file);
      const tests = solidityTests("test/contracts");
      for (const contract of new Set(generated)) {
        expect(TESTS[contract], `contracts/${contract} has mutants but no entry in TESTS`).to.not.equal(undefined);
        // Every test file named after the contract (`JobChannels.t.sol`, `JobChannels.events.t.sol`, …) is in its
        // map: a new test file left out would never face the contract's mutants.
        const name = path.basename(contract, ".sol");
        const own = tests.filter((file) => path.basename(file).split(".")[0] === name);
        const mapped = [...TESTS[contract]!.first, ...TESTS[contract]!.second];
        for (const file of own) expect(mapped, `contracts/${contract}`).to.include(file);
      }
    });
  });

  describe("reading an outcome", function () {
    it("tells a compile failure, a time-out, a failing test and a pass apart", function () {
      expect(classify(1, "CompilerError: Stack too deep.\nError HHE910: Compilation failed")).to.equal("stillborn");
      expect(classify(124, "")).to.equal("timedout");
      expect(classify(137, "")).to.equal("timedout");
      expect(classify(null, "")).to.equal("timedout");
      expect(classify(1, "  3 passing\n  1 failing\n")).to.equal("killed");
      expect(classify(0, "  12 passing\n")).to.equal("passed");
    });

    it("names the first failing test", function () {
      const output = "  11 passing\n  2 failing\n\n  1) JobChannelsEventsTest#test_claim_emitsTheRoot()\n    Error: log != expected log\n";
      expect(firstFailing(output)).to.equal("JobChannelsEventsTest#test_claim_emitsTheRoot()");
      expect(firstFailing("  12 passing\n")).to.equal(undefined);
    });
  });

  describe("recorded results", function () {
    it("count only while the contract is unchanged", function () {
      const dir = mkdtempSync(path.join(os.tmpdir(), "mutation-results-"));
      mkdirSync(path.join(dir, "contracts", "market"), { recursive: true });
      writeFileSync(path.join(dir, "contracts", "market", "A.sol"), "contract A {}\n");
      writeFileSync(path.join(dir, "contracts", "market", "B.sol"), "contract B {}\n");
      const base = { operator: "CSC", startLine: 1, endLine: 1, original: "x", replacement: "true", stage: 1, seconds: 1 };
      const rows: Result[] = [
        { ...base, hash: "m1", file: "market/A.sol", contractSha256: sha256("contract A {}\n"), status: "killed" },
        { ...base, hash: "m2", file: "market/B.sol", contractSha256: sha256("an older B\n"), status: "live" },
        { ...base, hash: "m3", file: "market/A.sol", contractSha256: sha256("contract A {}\n"), status: "live" },
      ];
      const file = path.join(dir, "results.jsonl");
      writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");

      const current = readResults(file, path.join(dir, "contracts"));
      expect([...current.keys()].sort()).to.deep.equal(["m1", "m3"]);
      expect(readResults(file).size, "without a contracts directory every row counts").to.equal(3);
      const row = tally([...current.values()]).get("market/A.sol");
      expect(row).to.deep.equal({ killed: 1, timedout: 0, live: 1, stillborn: 0 });
    });
  });
});
