/**
 * The error contract, walked over EVERY task the project's config registers (read from the config, not listed here):
 * bad input of any kind gets exit ≠ 0, a stable code, a message and a hint — and with `--json` exactly one JSON
 * object on stdout — never a Hardhat `HHEnnn` text or a stack trace.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import config from "../../hardhat.config.js";
import { startHardhatNode, type CliResult, type HardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";

interface OptionShape {
  name: string;
  type: string;
}
interface TaskShape {
  id: string[];
  options: Record<string, OptionShape>;
  positionalArguments: { name: string; isVariadic?: boolean; defaultValue?: unknown }[];
}

const tasks = ((config.tasks ?? []) as unknown as TaskShape[]).map((t) => ({
  name: t.id.join(":"),
  options: Object.values(t.options),
  positionals: t.positionalArguments,
  json: Object.values(t.options).some((o) => o.name === "json"),
}));

const kebab = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Values for the required positional arguments, so the run gets past Hardhat's parser. */
function positionalValues(task: (typeof tasks)[number], value = "1"): string[] {
  return task.positionals.filter((p) => p.defaultValue === undefined).map(() => value);
}

/** Every value-taking option set to `value` (flags left off). */
function everyOption(task: (typeof tasks)[number], value: string): string[] {
  return task.options.filter((o) => o.type !== "FLAG" && o.type !== "BOOLEAN").flatMap((o) => [kebab(o.name), value]);
}

/** The contract: non-zero exit, one JSON error object (with --json) or one `✖ … [CODE]` message, nothing of Hardhat's. */
function assertContract(result: CliResult, json: boolean, what: string): string {
  const all = `${result.stdout}\n${result.stderr}`;
  assert.notEqual(result.code, 0, `${what}: exit 0\n${all}`);
  assert.doesNotMatch(all, /HHE\d+:|An unexpected error occurred|^\s+at .+:\d+:\d+\)?$/m, `${what}: Hardhat error text or stack trace\n${all}`);
  if (json) {
    let parsed: { error?: { code?: unknown; message?: unknown; hint?: unknown } };
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed;
    } catch {
      assert.fail(`${what}: stdout is not exactly one JSON object\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
    }
    const e = parsed.error;
    assert.ok(e !== undefined && typeof e.code === "string" && /^[A-Z][A-Z0-9_]+$/.test(e.code), `${what}: no stable error code\n${result.stdout}`);
    assert.equal(typeof e.message, "string", `${what}: no message`);
    assert.equal(typeof e.hint, "string", `${what}: no hint naming the fix`);
    return e.code as string;
  }
  const match = /^✖ .+ \[([A-Z][A-Z0-9_]+)\]\n {2}→ .+/m.exec(result.stderr);
  assert.ok(match !== null, `${what}: no "✖ message [CODE]" with a "→ fix" line on stderr\n${result.stderr}`);
  return match[1];
}

/** Runs `items` through `fn`, two at a time (the CLI start-up is CPU-bound), and reports every failure at the end. */
async function eachPaired<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const failures: string[] = [];
  await Promise.all([0, 1].map(async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await fn(item);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  }));
  assert.deepEqual(failures, [], `${failures.length} of ${items.length} failed:\n\n${failures.join("\n\n")}`);
}

// Tasks that never connect to a chain: they talk to a relayer or read files, so an RPC failure cannot reach them.
const OFFLINE = new Set(["miner:status"]);

describe("error contract: every registered task", function () {
  this.timeout(600_000);
  let dead: Workspace;
  let notRpc: Workspace;
  let live: Workspace;
  let web: Server;
  let node: HardhatNode;

  before(async function () {
    assert.ok(tasks.length >= 25, `the config registers ${tasks.length} tasks`);
    web = createServer((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html><body>Not an RPC node</body></html>");
    });
    await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
    dead = await createWorkspace("contract-dead", "http://127.0.0.1:9");
    notRpc = await createWorkspace("contract-web", `http://127.0.0.1:${(web.address() as AddressInfo).port}`);
    node = await startHardhatNode();
    live = await createWorkspace("contract-live", node.url);
    const deployed = await live.run(["deploy", "--network", "localhost", "--json"]);
    assert.equal(deployed.code, 0, deployed.stderr);
  });

  after(async function () {
    await node?.stop();
    web?.close();
    await Promise.all([dead, notRpc, live].map((w) => w?.remove()));
  });

  it("an unknown option gets UNKNOWN_OPTION, as JSON with --json and as one message without", async function () {
    await eachPaired(tasks, async (task) => {
      const withJson = await dead.run([task.name, ...positionalValues(task), "--no-such-option", "x", ...(task.json ? ["--json"] : [])]);
      assert.equal(assertContract(withJson, task.json, `${task.name} --no-such-option`), "UNKNOWN_OPTION");
      if (task.json) {
        const text = await dead.run([task.name, ...positionalValues(task), "--no-such-option", "x"]);
        assert.equal(assertContract(text, false, `${task.name} --no-such-option (text)`), "UNKNOWN_OPTION");
      }
    });
  });

  it("a missing positional argument gets MISSING_ARGUMENT", async function () {
    const withPositional = tasks.filter((t) => t.positionals.some((p) => p.defaultValue === undefined && p.isVariadic !== true));
    assert.ok(withPositional.length > 0, "some task takes a required positional argument");
    for (const task of withPositional) {
      const result = await dead.run([task.name, ...(task.json ? ["--json"] : [])]);
      assert.equal(assertContract(result, task.json, `${task.name} without its argument`), "MISSING_ARGUMENT");
    }
  });

  it("a node that is down gets RPC_UNREACHABLE with the fix", async function () {
    await eachPaired(tasks, async (task) => {
      const result = await dead.run([task.name, ...positionalValues(task), "--network", "localhost", ...(task.json ? ["--json"] : [])]);
      const code = assertContract(result, task.json, `${task.name} with the node down`);
      if (!OFFLINE.has(task.name)) assert.equal(code, "RPC_UNREACHABLE", `${task.name}\n${result.stdout}${result.stderr}`);
    });
  });

  it("a URL that answers but is not an RPC node gets RPC_BAD_RESPONSE", async function () {
    await eachPaired(tasks, async (task) => {
      const result = await notRpc.run([task.name, ...positionalValues(task), "--network", "localhost", ...(task.json ? ["--json"] : [])]);
      const code = assertContract(result, task.json, `${task.name} against a web server`);
      if (!OFFLINE.has(task.name)) assert.equal(code, "RPC_BAD_RESPONSE", `${task.name}\n${result.stdout}${result.stderr}`);
    });
  });

  for (const value of ["99999999999999999999999999999999999999999999999999999999999999999999999999999999", "1e400", "-1", "not-a-value"]) {
    it(`every option set to ${value.length > 20 ? "a huge number" : JSON.stringify(value)} is refused under the contract`, async function () {
      // A task without arguments (`rates`) has no input to get wrong.
      const withInput = tasks.filter((t) => everyOption(t, value).length > 0 || positionalValues(t).length > 0);
      await eachPaired(withInput, async (task) => {
        const args = [task.name, ...positionalValues(task, value), ...everyOption(task, value), "--network", "localhost", ...(task.json ? ["--json"] : [])];
        assertContract(await live.run(args), task.json, args.join(" "));
      });
    });
  }
});
