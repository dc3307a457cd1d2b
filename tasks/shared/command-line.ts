/**
 * Checks the command line of a project task before Hardhat runs it.
 *
 * Hardhat parses the task's arguments after the runtime environment exists and, on a mistake (unknown option,
 * missing positional argument, a value of the wrong type), prints its own `Error HHEnnn` text, which is not JSON with
 * `--json` and names no project code. This check parses the same command line with Hardhat's own parser first; when
 * that parser refuses it for a project task, the refusal is reported under the project's error contract and the
 * process exits with status 1 before anything ran.
 */
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { Task } from "hardhat/types/tasks";

import { AitbcError } from "../../lib/errors.js";
import { reportError, toContractError } from "./error-contract.js";
import { silenceSqliteExperimentalWarning } from "../../lib/node/warnings.js";

interface HardhatParser {
  parseRawArguments(raw: string[]): string[];
  parseBuiltinGlobalOptions(args: string[], used: boolean[]): Promise<unknown>;
  parseGlobalOptions(definitions: Map<string, unknown>, args: string[], used: boolean[]): Promise<unknown>;
  parseTask(args: string[], used: boolean[], tasks: Map<string, Task>): Task | string[];
  parseTaskArguments(args: string[], used: boolean[], task: Task): unknown;
}

const hardhatRoot = path.dirname(createRequire(import.meta.url).resolve("hardhat/package.json"));
const internal = (file: string) => pathToFileURL(path.join(hardhatRoot, "dist", "src", "internal", file)).href;

let checked = false;

/** True when this process is Hardhat's command line (not a script or test that creates a runtime environment). */
function isHardhatCli(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(path.join(hardhatRoot, "dist", "src", "cli.js"));
  } catch {
    return false;
  }
}

/** A task defined by this project's config (Hardhat's and plugins' tasks carry a plugin id). */
function isProjectTask(task: Task): boolean {
  return task.pluginId === undefined;
}

/**
 * Hardhat's parser turns `--port 1e400` into `Infinity` and only refuses it later, outside any handler; refuse such
 * numbers here, with the same code as any other bad argument.
 */
function checkNumbers(task: Task, values: Record<string, unknown>, args: readonly string[]): void {
  for (const [name, option] of task.options) {
    const value = values[name];
    if (value === undefined) continue;
    const bad = (option.type === "INT" && !Number.isSafeInteger(value)) || (option.type === "FLOAT" && !Number.isFinite(value as number));
    if (bad) {
      const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const given = args.includes(flag) ? args[args.indexOf(flag) + 1] : String(value);
      throw new AitbcError("BAD_ARGUMENT", `${flag} ${given} is not a usable number`, {
        hint: `Pass a whole number in range for ${flag} (\`npx hardhat ${task.id.join(" ")} --help\`).`,
        details: { option: flag },
      });
    }
  }
}

export async function checkCommandLine(hre: HardhatRuntimeEnvironment, argv: string[] = process.argv.slice(2)): Promise<void> {
  if (checked || !isHardhatCli()) return;
  checked = true;
  silenceSqliteExperimentalWarning();
  const parser = (await import(internal("cli/parser.js"))) as HardhatParser;
  const { BUILTIN_GLOBAL_OPTIONS_DEFINITIONS } = (await import(internal("builtin-global-options.js"))) as { BUILTIN_GLOBAL_OPTIONS_DEFINITIONS: Map<string, unknown> };
  const { buildGlobalOptionDefinitions } = (await import(internal("core/global-options.js"))) as {
    buildGlobalOptionDefinitions(plugins: unknown): Map<string, unknown>;
  };
  const args = parser.parseRawArguments(argv);
  const used = new Array<boolean>(args.length).fill(false);
  let task: Task | undefined;
  try {
    await parser.parseBuiltinGlobalOptions(args, used);
    const definitions = new Map([...BUILTIN_GLOBAL_OPTIONS_DEFINITIONS, ...buildGlobalOptionDefinitions(hre.config.plugins)]);
    await parser.parseGlobalOptions(definitions, args, used);
    const found = parser.parseTask(args, used, hre.tasks.rootTasks);
    if (Array.isArray(found) || !isProjectTask(found) || found.isEmpty || args.includes("--help")) return;
    task = found;
    const values = parser.parseTaskArguments(args, used, found) as Record<string, unknown>;
    checkNumbers(found, values, args);
  } catch (error) {
    // Mistakes outside a project task (a misspelt global option, an unknown task) stay Hardhat's to report.
    if (task === undefined) return;
    const known = toContractError(error, task.id.join(" "));
    reportError(known, { json: args.includes("--json"), verbose: args.includes("--verbose"), sync: true });
    process.exit(1);
  }
}
