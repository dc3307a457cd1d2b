/**
 * `toContractError` and `reportError`: what any thrown value becomes, and how it is printed.
 */
import assert from "node:assert/strict";

import { AitbcError } from "../../../lib/errors.js";
import { reportError, toContractError } from "../../../tasks/shared/error-contract.js";
import { createNodeLogFilter } from "../../../scripts/lib/node-log.js";
import { isSqliteExperimentalWarning } from "../../../lib/node/warnings.js";

function hardhatError(number: number, messageArguments: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`HHE${number}: something`), { name: "HardhatError", number, errorCode: `HHE${number}`, messageArguments, formattedMessage: "something\nmore" });
}

function capture(fn: () => void): { stdout: string; stderr: string } {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...p: unknown[]) => void out.push(p.join(" "));
  console.error = (...p: unknown[]) => void err.push(p.join(" "));
  try {
    fn();
  } finally {
    console.log = log;
    console.error = error;
  }
  return { stdout: out.join("\n"), stderr: err.join("\n") };
}

describe("error contract: toContractError", function () {
  it("keeps the project's own error, also when it is the cause of another", function () {
    const own = new AitbcError("UNKNOWN_JOB", "no job 7", { hint: "list jobs" });
    assert.equal(toContractError(own), own);
    assert.equal(toContractError(new Error("wrapped", { cause: own })).code, "UNKNOWN_JOB");
  });

  it("maps Hardhat's own errors to project codes with the fix", function () {
    assert.equal(toContractError(hardhatError(703, { network: "localhost" })).code, "RPC_UNREACHABLE");
    assert.equal(toContractError(hardhatError(505, { argument: "id" }), "receipt:show").code, "MISSING_ARGUMENT");
    assert.equal(toContractError(hardhatError(504, { option: "--bogus" }), "rates").code, "UNKNOWN_OPTION");
    assert.equal(toContractError(hardhatError(500, { name: "port", value: "x" }), "dashboard").code, "BAD_ARGUMENT");
    assert.equal(toContractError(hardhatError(411), "dao:list").code, "TASK_UNAVAILABLE");
    for (const n of [703, 505, 504, 500, 411, 999]) {
      const e = toContractError(hardhatError(n));
      assert.ok(e.hint !== undefined && e.hint.length > 0, `HHE${n} has a hint`);
      assert.doesNotMatch(e.message, /\n/, `HHE${n}: one line`);
    }
  });

  it("tells how to pass a value that Hardhat reads as grouped options (a key id starting with -)", function () {
    const e = toContractError(hardhatError(509, { option: "-x3kQ" }), "receipt:verify");
    assert.equal(e.code, "UNKNOWN_OPTION");
    assert.match(e.hint ?? "", /0x \+ 64 hex/);
  });

  it("maps transport failures: refused connection, a server that is not JSON-RPC", function () {
    assert.equal(toContractError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })).code, "RPC_UNREACHABLE");
    assert.equal(toContractError(new Error("Received an unexpected status code from http://127.0.0.1:8787")).code, "RPC_BAD_RESPONSE");
  });

  it("turns anything else into INTERNAL, whose stack is printed only with --verbose", function () {
    const bug = new TypeError("cannot read properties of undefined (reading 'x')");
    const known = toContractError(bug);
    assert.equal(known.code, "INTERNAL");
    assert.equal(known.cause, bug);
    const quiet = capture(() => reportError(known, { json: false, verbose: false }));
    assert.match(quiet.stderr, /^✖ Unexpected error: .+ \[INTERNAL\]\n {2}→ /);
    assert.doesNotMatch(quiet.stderr, /\n\s+at /);
    const verbose = capture(() => reportError(known, { json: false, verbose: true }));
    assert.match(verbose.stderr, /TypeError: cannot read properties[\s\S]*\n\s+at /);
  });

  it("prints exactly one JSON object on stdout with --json, and nothing on stdout otherwise", function () {
    const e = new AitbcError("BAD_AMOUNT", "--rate `1e400` is not a token amount", { hint: "write 2.5" });
    const json = capture(() => reportError(e, { json: true, verbose: false }));
    assert.deepEqual(JSON.parse(json.stdout), { error: { code: "BAD_AMOUNT", message: e.message, hint: "write 2.5" } });
    assert.equal(json.stderr, "");
    const text = capture(() => reportError(e, { json: false, verbose: false }));
    assert.equal(text.stdout, "");
  });
});

describe("devnet log filter", function () {
  it("drops coloured read-only polling requests with their details and keeps transactions", function () {
    const filter = createNodeLogFilter();
    const lines = [
      "\x1b[32meth_blockNumber\x1b[0m",
      "\x1b[32meth_call\x1b[0m",
      "  Contract call:       ModelRegistry#model",
      "  From:                0xf39f",
      "",
      "\x1b[32meth_sendRawTransaction\x1b[0m",
      "  Contract call:       JobEscrow#createJob",
      "",
      "\x1b[32meth_getLogs (3)\x1b[0m",
      "Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:8545/",
    ];
    const kept = lines.map(filter).filter((l) => l !== undefined);
    assert.deepEqual(kept, ["eth_sendRawTransaction", "  Contract call:       JobEscrow#createJob", "", "Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:8545/"]);
    assert.ok(kept.every((l) => !l.includes("\x1b[")), "no colour codes");
  });
});

describe("SQLite warning filter", function () {
  it("recognises only node:sqlite's ExperimentalWarning", function () {
    const sqlite = Object.assign(new Error("SQLite is an experimental feature and might change at any time"), { name: "ExperimentalWarning" });
    const other = Object.assign(new Error("Type Stripping is an experimental feature"), { name: "ExperimentalWarning" });
    assert.equal(isSqliteExperimentalWarning(sqlite), true);
    assert.equal(isSqliteExperimentalWarning(other), false);
  });
});
