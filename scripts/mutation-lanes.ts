/**
 * Evaluates SuMo's mutants in parallel lanes, each mutant against only the Solidity tests that exercise its contract.
 *
 *   node --import tsx scripts/mutation-lanes.ts run --work DIR --out DIR [--lanes N] [--only File.sol,...]
 *   node --import tsx scripts/mutation-lanes.ts report --out DIR [--markdown]
 *
 * `scripts/mutation.sh` prepares DIR (a scratch copy of the repository with SuMo's mutants saved under
 * `.sumo/results/mutants`) and calls `run`. Each lane is its own copy of DIR with its own build cache, so lanes
 * never see each other's mutant. Per mutant a lane writes the mutated contract, runs the contract's first-stage test
 * files (`hardhat test solidity <files>`, which compiles only the contract and those files), and, when they all
 * pass, the second stage; then it restores the contract.
 *
 *   killed     a test failed                       stillborn  the mutant does not compile (not counted)
 *   timedout   the tests ran past the limit (a mutant that makes a loop spin until out of gas; counted as detected)
 *   live       every test of both stages passed (a survivor)
 *
 * Results are appended to OUT/results.jsonl as each mutant finishes, and `run` skips the mutants already there, so
 * an interrupted run resumes where it stopped. `report` prints the table per file and every survivor.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Test files per mutated contract: the first stage runs for every mutant, the second only for its survivors. Together
 * they are every Solidity test that exercises the contract; the split only saves the compilation of the second set
 * for the mutants the first one already kills (most of them). A verdict is the same as running both at once.
 */
export const TESTS: Record<string, { first: string[]; second: string[] }> = {
  "token/AITBCToken.sol": { first: ["test/contracts/token/AITBCToken.t.sol"], second: [] },
  "receipts/Ed25519Key.sol": {
    first: ["test/contracts/market/ProviderRegistry.keys.t.sol"],
    second: ["test/contracts/market/ProviderRegistry.t.sol"],
  },
  "market/ModelRegistry.sol": {
    first: ["test/contracts/market/ModelRegistry.t.sol"],
    second: ["test/contracts/market/JobEscrow.jobs.t.sol", "test/contracts/market/JobEscrow.parameters.t.sol"],
  },
  "market/ProviderRegistry.sol": {
    first: ["test/contracts/market/ProviderRegistry.t.sol"],
    second: [
      "test/contracts/market/ProviderRegistry.keys.t.sol",
      "test/contracts/market/ProviderRegistry.endpoint.t.sol",
      "test/contracts/market/JobEscrow.disputes.t.sol",
      "test/contracts/market/JobEscrow.exposure.t.sol",
      "test/contracts/market/JobEscrow.jobs.t.sol",
      "test/contracts/market/JobEscrow.parameters.t.sol",
    ],
  },
  "market/JobEscrow.sol": {
    first: [
      "test/contracts/market/JobEscrow.jobs.t.sol",
      "test/contracts/market/JobEscrow.settlement.t.sol",
      "test/contracts/market/JobEscrow.disputes.t.sol",
    ],
    second: [
      "test/contracts/market/JobEscrow.exposure.t.sol",
      "test/contracts/market/JobEscrow.giveBack.t.sol",
      "test/contracts/market/JobEscrow.parameters.t.sol",
      "test/contracts/market/JobEscrow.reentrancy.t.sol",
      "test/contracts/Invariants.t.sol",
    ],
  },
  "market/JobChannels.sol": {
    first: [
      "test/contracts/market/JobChannels.t.sol",
      "test/contracts/market/JobChannels.events.t.sol",
      "test/contracts/market/JobChannels.reentrancy.t.sol",
    ],
    second: ["test/contracts/market/JobChannels.fallback.t.sol", "test/contracts/market/JobChannels.invariants.t.sol"],
  },
};

export interface Mutant {
  hash: string;
  /** Path under contracts/. */
  file: string;
  operator: string;
  startLine: number;
  endLine: number;
  original: string;
  replacement: string;
}

export type Status = "killed" | "timedout" | "live" | "stillborn";

export interface Result extends Mutant {
  /** SHA-256 of the unmutated contract: a result counts only while the contract is unchanged. */
  contractSha256: string;
  status: Status;
  /** The stage that decided: 1, 2, or 0 for stillborn. */
  stage: number;
  seconds: number;
  /** The first failing test, when one was named. */
  failing?: string;
}

/** Reads SuMo's generated.csv (`$`-separated; the originals have their line breaks removed). */
export function readGenerated(csvFile: string, contractsDir: string): Mutant[] {
  const lines = readFileSync(csvFile, "utf8").split("\n").slice(1).filter((line) => line.trim() !== "");
  return lines.map((line) => {
    const [hash, file, operator, , , startLine, endLine, original, replacement] = line.split("$");
    if (!hash || !file || !operator || replacement === undefined) throw new Error(`unreadable mutant row: ${line}`);
    return {
      hash,
      file: path.relative(contractsDir, file),
      operator,
      startLine: Number(startLine),
      endLine: Number(endLine),
      original: original ?? "",
      replacement,
    };
  });
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The results recorded so far, keyed by mutant. With `contractsDir`, a result of a contract that changed since (its
 * SHA-256 differs) is left out: that mutant is evaluated again.
 */
export function readResults(resultsFile: string, contractsDir?: string): Map<string, Result> {
  const results = new Map<string, Result>();
  if (!existsSync(resultsFile)) return results;
  const current = new Map<string, string | null>();
  const hashOf = (file: string): string | null => {
    if (!current.has(file)) {
      const full = path.join(contractsDir ?? "", file);
      current.set(file, existsSync(full) ? sha256(readFileSync(full)) : null);
    }
    return current.get(file) ?? null;
  };
  for (const line of readFileSync(resultsFile, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const result = JSON.parse(line) as Result;
    if (contractsDir !== undefined && result.contractSha256 !== hashOf(result.file)) continue;
    results.set(result.hash, result);
  }
  return results;
}

/** Classifies one `hardhat test solidity` run from its exit code and output. */
export function classify(code: number | null, output: string): Status | "passed" {
  if (/HHE910|Compilation failed|CompilerError/.test(output)) return "stillborn";
  if (code === 124 || code === 137 || code === null) return "timedout";
  return code === 0 ? "passed" : "killed";
}

/** The first failing test's name in Hardhat's Solidity test output, if it names one. */
export function firstFailing(output: string): string | undefined {
  const match = /^\s*\d+\)\s+(\S.*)$/m.exec(output) ?? /✘\s+(\S.*)$/m.exec(output);
  return match?.[1]?.trim();
}

function runTests(
  lane: string,
  files: string[],
  limitSeconds: number,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      "timeout",
      ["-k", "5", String(limitSeconds), "./node_modules/.bin/hardhat", "test", "solidity", "--no-typechain", ...files],
      {
        cwd: lane,
        env: {
          ...process.env,
          AITBC_FUZZ_RUNS: process.env.AITBC_FUZZ_RUNS ?? "64",
          AITBC_INVARIANT_RUNS: process.env.AITBC_INVARIANT_RUNS ?? "16",
          AITBC_INVARIANT_DEPTH: process.env.AITBC_INVARIANT_DEPTH ?? "30",
          // Compilation is most of a mutant's cost; see hardhat.config.ts (the baseline runs under the same setting).
          AITBC_SOLC_OPTIMIZER: process.env.AITBC_SOLC_OPTIMIZER ?? "minimal",
          // 2^30 gas per test (the baseline passes under it): a mutant that makes a loop spin runs out of gas in
          // seconds instead of running to the time limit.
          AITBC_TEST_GAS_LIMIT: process.env.AITBC_TEST_GAS_LIMIT ?? String(2 ** 30),
          FORCE_COLOR: "0",
          NO_COLOR: "1",
          ...extraEnv,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

async function evaluate(lane: string, work: string, mutant: Mutant, limitSeconds: number): Promise<Result> {
  const tests = TESTS[mutant.file];
  if (!tests) throw new Error(`no test map for contracts/${mutant.file}: add it to TESTS in scripts/mutation-lanes.ts`);
  const target = path.join(lane, "contracts", mutant.file);
  const pristine = readFileSync(path.join(work, "contracts", mutant.file));
  const contractSha256 = sha256(pristine);
  const mutated = readFileSync(
    path.join(work, ".sumo", "results", "mutants", `${path.basename(mutant.file)}-${mutant.hash}.sol`),
  );
  const started = Date.now();
  writeFileSync(target, mutated);
  try {
    const stages = [tests.first, tests.second].filter((files) => files.length > 0);
    for (const [index, files] of stages.entries()) {
      let { code, output } = await runTests(lane, files, limitSeconds);
      // A time-out is confirmed by a second run: a lane paused (or starved) while its clock ran is not a detection.
      if (classify(code, output) === "timedout") ({ code, output } = await runTests(lane, files, limitSeconds));
      // The minimal optimizer leaves more values on the stack: a mutant it cannot compile is tried under the release
      // optimizer before it counts as stillborn.
      if (classify(code, output) === "stillborn" && /Stack too deep/.test(output)) {
        ({ code, output } = await runTests(lane, files, limitSeconds, { AITBC_SOLC_OPTIMIZER: "release" }));
      }
      const verdict = classify(code, output);
      if (verdict === "passed") continue;
      return {
        ...mutant,
        contractSha256,
        status: verdict,
        stage: verdict === "stillborn" ? 0 : index + 1,
        seconds: (Date.now() - started) / 1000,
        ...(verdict === "killed" ? { failing: firstFailing(output) } : {}),
      };
    }
    return { ...mutant, contractSha256, status: "live", stage: stages.length, seconds: (Date.now() - started) / 1000 };
  } finally {
    writeFileSync(target, pristine);
  }
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      work: { type: "string" },
      out: { type: "string" },
      lanes: { type: "string", default: String(Math.max(1, os.availableParallelism())) },
      only: { type: "string" },
      limit: { type: "string", default: "180" },
    },
  });
  if (!values.work || !values.out) throw new Error("run needs --work DIR and --out DIR");
  const work = path.resolve(values.work);
  const out = path.resolve(values.out);
  mkdirSync(out, { recursive: true });
  const resultsFile = path.join(out, "results.jsonl");
  const only = values.only ? new Set(values.only.split(",").map((name) => name.trim())) : undefined;
  const all = readGenerated(path.join(work, ".sumo", "results", "generated.csv"), path.join(work, "contracts"));
  writeFileSync(path.join(out, "generated.jsonl"), all.map((m) => JSON.stringify(m)).join("\n") + "\n");
  const done = readResults(resultsFile, path.join(work, "contracts"));
  const queue = all.filter((m) => !done.has(m.hash) && (!only || only.has(path.basename(m.file))));
  const lanes = Number(values.lanes);
  console.log(`${all.length} mutants, ${done.size} already evaluated, ${queue.length} to run in ${lanes} lane(s)`);

  // Each lane: a copy of the prepared work directory (node_modules stays linked), built once before the first mutant.
  const laneDirs: string[] = [];
  for (let i = 0; i < lanes; i++) {
    const lane = `${work}-lane${i}`;
    rmSync(lane, { recursive: true, force: true });
    cpSync(work, lane, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes(`${path.sep}.sumo`) });
    laneDirs.push(lane);
  }
  // Baseline: every stage of every contract in the queue passes unmutated, or the run stops (a failing test would
  // count every mutant of its contract as killed).
  const contracts = [...new Set(queue.map((m) => m.file))];
  await Promise.all(
    laneDirs.map(async (lane, laneIndex) => {
      for (const [index, file] of contracts.entries()) {
        if (index % laneDirs.length !== laneIndex) continue;
        const tests = TESTS[file];
        if (!tests) throw new Error(`no test map for contracts/${file}: add it to TESTS in scripts/mutation-lanes.ts`);
        const { code, output } = await runTests(lane, [...tests.first, ...tests.second], Number(values.limit));
        if (classify(code, output) !== "passed") {
          throw new Error(`baseline: the tests of contracts/${file} fail unmutated; fix them first\n${output.slice(-3000)}`);
        }
        console.log(`baseline: the tests of contracts/${file} pass`);
      }
    }),
  );
  let next = 0;
  let finished = 0;
  const started = Date.now();
  await Promise.all(
    laneDirs.map(async (lane, laneIndex) => {
      for (;;) {
        const mutant = queue[next++];
        if (!mutant) return;
        const result = await evaluate(lane, work, mutant, Number(values.limit));
        appendFileSync(resultsFile, JSON.stringify(result) + "\n");
        finished += 1;
        const rate = (Date.now() - started) / 1000 / finished;
        const left = Math.round(((queue.length - finished) * rate) / 60);
        console.log(
          `[${finished}/${queue.length}] lane ${laneIndex} ${result.hash} ${mutant.file}:${mutant.startLine} ` +
            `${mutant.operator} ${result.status} (${result.seconds.toFixed(1)} s; about ${left} min left)`,
        );
      }
    }),
  );
  for (const lane of laneDirs) rmSync(lane, { recursive: true, force: true });
  report(out, false);
}

export function tally(results: Result[]): Map<string, Record<Status, number>> {
  const rows = new Map<string, Record<Status, number>>();
  for (const r of results) {
    const row = rows.get(r.file) ?? { killed: 0, timedout: 0, live: 0, stillborn: 0 };
    row[r.status] += 1;
    rows.set(r.file, row);
  }
  return rows;
}

function report(out: string, markdown: boolean): void {
  const generatedFile = path.join(out, "generated.jsonl");
  const generated = existsSync(generatedFile)
    ? readFileSync(generatedFile, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Mutant)
    : [];
  const results = [...readResults(path.join(out, "results.jsonl"), path.join(ROOT, "contracts")).values()];
  const rows = tally(results);
  const total = { killed: 0, timedout: 0, live: 0, stillborn: 0 };
  const lines: string[] = [];
  const pct = (n: number, d: number) => (d === 0 ? "—" : `${((100 * n) / d).toFixed(1)} %`);
  lines.push("| file | selected | evaluated | killed | timed out | survivors | stillborn | score |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|");
  const files = [...new Set([...generated.map((m) => m.file), ...rows.keys()])].sort();
  for (const file of files) {
    const row = rows.get(file) ?? { killed: 0, timedout: 0, live: 0, stillborn: 0 };
    const evaluated = row.killed + row.timedout + row.live + row.stillborn;
    const selected = generated.filter((m) => m.file === file).length;
    for (const key of Object.keys(total) as Status[]) total[key] += row[key];
    const detected = row.killed + row.timedout;
    lines.push(
      `| \`${file}\` | ${selected} | ${evaluated} | ${row.killed} | ${row.timedout} | ${row.live} | ${row.stillborn} | ` +
        `${pct(detected, detected + row.live)} |`,
    );
  }
  const detected = total.killed + total.timedout;
  const evaluated = detected + total.live + total.stillborn;
  lines.push(
    `| **total** | **${generated.length}** | **${evaluated}** | ${total.killed} | ${total.timedout} | ${total.live} | ` +
      `${total.stillborn} | **${pct(detected, detected + total.live)}** |`,
  );
  const survivors = results.filter((r) => r.status === "live");
  lines.push("", `Survivors (${survivors.length}):`, "");
  for (const r of survivors.sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine)) {
    const change = `${r.original.trim()} → ${r.replacement.trim()}`.replace(/\s+/g, " ").slice(0, 140);
    lines.push(markdown ? `- \`${r.hash}\` \`${r.file}\`:${r.startLine} ${r.operator}: \`${change}\`` : `  ${r.hash} ${r.file}:${r.startLine} ${r.operator}: ${change}`);
  }
  console.log(lines.join("\n"));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "run") {
    await run(rest);
  } else if (command === "report") {
    const { values } = parseArgs({ args: rest, options: { out: { type: "string" }, markdown: { type: "boolean" } } });
    if (!values.out) throw new Error("report needs --out DIR");
    report(path.resolve(values.out), values.markdown ?? false);
  } else {
    console.error("usage: mutation-lanes.ts run --work DIR --out DIR [--lanes N] [--only A.sol,B.sol] | report --out DIR");
    process.exit(2);
  }
}

// Run as a script; imported (by its tests), it only provides the exports.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
