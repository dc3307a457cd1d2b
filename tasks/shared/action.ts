import { existsSync, writeSync } from "node:fs";
import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArguments } from "hardhat/types/tasks";

import { AitbcError } from "../../lib/errors.js";
import { reportError, toContractError } from "./error-contract.js";

type Action<A> = (args: A, hre: HardhatRuntimeEnvironment) => unknown;

/**
 * The lazily imported action of a project task, with what every project task needs before its own code loads:
 *
 * - The contract bindings (`typechain-types/`) exist: a fresh clone has none until the first build, and an action
 *   that imports them would fail to load. When they are missing, the contracts are built first (quietly; progress
 *   goes to stderr so `--json` output stays one object).
 * - Options declared without a default (`ArgumentType.STRING_WITHOUT_DEFAULT`, so help shows no empty default) reach
 *   the action as `""` when not given, the one spelling of "not given" the actions test for.
 * - A failure to load or build is reported under the error contract like any other error.
 */
export function projectAction<A>(load: () => Promise<{ default: Action<A> }>) {
  return async () => ({
    default: async (args: TaskArguments, hre: HardhatRuntimeEnvironment) => {
      const normalized = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v === undefined ? "" : v])) as A;
      let action: Action<A>;
      try {
        await ensureBindings(hre);
        action = (await load()).default;
      } catch (error) {
        const json = (args as { json?: unknown }).json === true;
        reportError(toContractError(error), { json, verbose: hre.globalOptions.verbose === true });
        process.exitCode = 1;
        return undefined;
      }
      return action(normalized, hre);
    },
  });
}

function bindingsDir(hre: HardhatRuntimeEnvironment): string {
  const outDir = (hre.config as { typechain?: { outDir?: string } }).typechain?.outDir ?? "typechain-types";
  return path.isAbsolute(outDir) ? outDir : path.join(hre.config.paths.root, outDir);
}

async function ensureBindings(hre: HardhatRuntimeEnvironment): Promise<void> {
  const dir = bindingsDir(hre);
  if (existsSync(path.join(dir, "index.ts"))) return;
  writeSync(2, `The contract bindings (${path.relative(process.cwd(), dir) || dir}) are missing: building the contracts first…\n`);
  const log = console.log;
  // The build reports on stdout; keep stdout for the task's own output.
  console.log = (...parts: unknown[]) => console.error(...parts);
  try {
    await hre.tasks.getTask("build").run({ quiet: true });
  } finally {
    console.log = log;
  }
  if (!existsSync(path.join(dir, "index.ts"))) {
    throw new AitbcError("BUILD_FAILED", `the build did not write the contract bindings to ${dir}`, {
      hint: "Run `npx hardhat build` and fix what it reports, then run the command again.",
    });
  }
}
