/**
 * `lib/` is browser-safe except `lib/node/` (files and node crypto) and `lib/sdk/` (it may use both): the dashboard
 * bundles the rest. Reads the import lines of every file, so a node-only import in the wrong folder fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

const LIB = fileURLToPath(new URL("../../lib/", import.meta.url));
/** Node-only by design, outside lib/node/ for now: the CLI's error output (writes to stderr with node:fs). */
const NODE_ONLY = new Set(["error-contract.ts"]);
const UPWARD = ["relayer", "tasks", "scripts", "bench", "test", "dashboard"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node" || e.name === "sdk" ? [] : sources(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

describe("lib: browser-safe outside lib/node and lib/sdk", function () {
  const files = sources(LIB).filter((f) => !NODE_ONLY.has(path.relative(LIB, f)));

  it("finds the modules it checks", function () {
    for (const name of ["protocol.ts", "money/amounts.ts", "receipts/leaf.ts", "governance/proposals.ts", "merkle.ts"]) {
      expect(files.map((f) => path.relative(LIB, f))).to.include(name);
    }
  });

  it("imports no node: module and nothing from lib/node", function () {
    for (const file of files) {
      for (const spec of importsOf(file)) {
        expect(spec, path.relative(LIB, file)).to.not.match(/^node:/);
        if (spec.startsWith(".")) expect(path.relative(LIB, path.resolve(path.dirname(file), spec)), `${path.relative(LIB, file)} imports ${spec}`).to.not.match(/^node\//);
      }
    }
  });

  it("imports nothing above lib/ but the generated contract bindings", function () {
    for (const file of files) {
      for (const spec of importsOf(file).filter((s) => s.startsWith("."))) {
        const top = path.relative(path.dirname(LIB), path.resolve(path.dirname(file), spec)).split(path.sep)[0];
        expect(UPWARD, `${path.relative(LIB, file)} imports ${spec}`).to.not.include(top);
      }
    }
  });
});
