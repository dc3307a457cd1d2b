/**
 * The folder rules of docs/ARCHITECTURE.md, checked against the imports the sources really make. Every arrow points
 * down: `lib` is the floor (pure protocol rules, browser-safe; then the SDK; node-only code in `lib/node`), the relayer
 * and the CLI tasks stand on it, and the scripts, benchmarks and tests stand on top. A test file is `*.test.ts` (or
 * `*.t.sol`); anything else under `test/` is a fixture and declares no tests.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";

const REPO = path.resolve(import.meta.dirname, "..");

/** Folders a file under each prefix must never import from (longest prefix wins). */
const FORBIDDEN: Record<string, readonly string[]> = {
  "lib/": ["relayer/", "tasks/", "scripts/", "bench/", "test/", "tools/", "dashboard/", "examples/"],
  "relayer/": ["tasks/", "scripts/", "bench/", "test/", "tools/", "dashboard/", "examples/"],
  "tasks/": ["scripts/", "bench/", "test/", "tools/", "dashboard/src/", "examples/"],
  "dashboard/src/": ["relayer/", "tasks/", "scripts/", "bench/", "test/", "tools/", "lib/node/", "examples/"],
  "scripts/": ["tasks/", "test/", "bench/"],
  "bench/": ["tasks/", "test/", "scripts/"],
  "tools/": ["tasks/", "test/", "scripts/", "bench/"],
  "examples/": ["relayer/", "tasks/", "scripts/", "bench/", "test/", "tools/"],
};

/**
 * Browser-safe code imports no Node built-in and nothing from `lib/node/`: the dashboard and everything of `lib/`
 * outside `lib/node/` (file access, node crypto) and `lib/sdk/` (which may use both; the dashboard imports the parts
 * of it that do not).
 */
function browserSafe(file: string): boolean {
  if (file.startsWith("dashboard/src/")) return true;
  return file.startsWith("lib/") && !file.startsWith("lib/node/") && !file.startsWith("lib/sdk/");
}

const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[\s;])import\s*["']([^"']+)["']/gm;

export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

/** Every module specifier a source text imports (static, dynamic and side-effect imports, re-exports). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function ruleFor(file: string): [string, readonly string[]] | undefined {
  const prefixes = Object.keys(FORBIDDEN).filter((p) => file.startsWith(p));
  prefixes.sort((a, b) => b.length - a.length);
  return prefixes.length === 0 ? undefined : [prefixes[0], FORBIDDEN[prefixes[0]]];
}

/** The violations of the folder rules in one file (repo-relative path, its text). */
export function checkImports(file: string, text: string): Violation[] {
  const violations: Violation[] = [];
  const rule = ruleFor(file);
  for (const spec of importsOf(text)) {
    if (browserSafe(file) && spec.startsWith("node:")) {
      violations.push({ file, imports: spec, rule: "browser-safe code imports no Node built-in" });
    }
    if (!spec.startsWith(".")) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    if (browserSafe(file) && target.startsWith("lib/node/")) {
      violations.push({ file, imports: target, rule: "browser-safe code imports nothing from lib/node/" });
    }
    if (rule === undefined) continue;
    const banned = rule[1].find((folder) => target === folder.slice(0, -1) || target.startsWith(folder));
    if (banned !== undefined) violations.push({ file, imports: target, rule: `${rule[0]} never imports ${banned}` });
  }
  return violations;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(REPO, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") out.push(...(await walk(rel)));
    } else out.push(rel);
  }
  return out;
}

describe("architecture: every arrow points down", function () {
  it("the checker sees each kind of import and flags an upward one", function () {
    const text = [
      'import { a } from "../../relayer/app/start.js";',
      'export { b } from "../money/index.js";',
      'const c = await import("../../tasks/miner/start.js");',
      'import "../../test/fixtures/market.js";',
      'import type { D } from "ethers";',
    ].join("\n");
    expect(importsOf(text)).to.deep.equal([
      "../../relayer/app/start.js",
      "../money/index.js",
      "../../tasks/miner/start.js",
      "../../test/fixtures/market.js",
      "ethers",
    ]);
    expect(checkImports("lib/sdk/x.ts", text).map((v) => v.imports)).to.deep.equal([
      "relayer/app/start.js",
      "tasks/miner/start.js",
      "test/fixtures/market.js",
    ]);
    expect(checkImports("dashboard/src/x.ts", 'import { readFile } from "node:fs";')).to.have.length(1);
    expect(checkImports("lib/receipts/x.ts", 'import { readFile } from "node:fs";')).to.have.length(1);
    expect(checkImports("lib/receipts/x.ts", 'import { nodeHpke } from "../node/hpke-node.js";')).to.have.length(1);
    expect(checkImports("lib/sdk/x.ts", 'import { nodeHpke } from "../node/hpke-node.js";')).to.deep.equal([]);
    expect(checkImports("lib/node/x.ts", 'import { readFile } from "node:fs";')).to.deep.equal([]);
    expect(checkImports("test/x.test.ts", text)).to.deep.equal([]);
  });

  it("no source file imports a folder above it", async function () {
    const files: string[] = [];
    for (const root of ["lib", "relayer", "tasks", "scripts", "bench", "dashboard/src", "tools", "examples"]) {
      const found = await walk(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      });
      files.push(...found.filter((f) => SOURCE.test(f)));
    }
    expect(files.length).to.be.greaterThan(100);
    const violations: Violation[] = [];
    for (const file of files) violations.push(...checkImports(file, await readFile(path.join(REPO, file), "utf8")));
    expect(violations.map((v) => `${v.file} imports ${v.imports} (${v.rule})`)).to.deep.equal([]);
  });

  it("test files are *.test.ts or *.t.sol, and fixtures declare no tests", async function () {
    const files = (await walk("test")).filter((f) => /\.(ts|sol)$/.test(f));
    const misnamed: string[] = [];
    const fixturesWithTests: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(REPO, file), "utf8");
      const isTest = file.endsWith(".test.ts") || file.endsWith(".t.sol");
      const declaresTests = file.endsWith(".ts") ? /^\s*(describe|it)\(/m.test(text) : /function\s+(test|invariant)\w*\s*\(/.test(text);
      if (!isTest && declaresTests) misnamed.push(file);
      if (isTest && file.startsWith("test/fixtures/")) fixturesWithTests.push(file);
    }
    expect(misnamed, "files that declare tests but are not named *.test.ts / *.t.sol").to.deep.equal([]);
    expect(fixturesWithTests, "test files inside test/fixtures").to.deep.equal([]);
  });
});
