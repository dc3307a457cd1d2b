/**
 * The error contract (lib/node/error-contract.ts) with the fixes of a Hardhat task of this repository: its `--help`, and
 * `npx hardhat node` / `npm run devnet` for a node that does not answer.
 */
import type { AitbcError } from "../../lib/errors.js";
import { toContractError as toError, type CommandHints } from "../../lib/node/error-contract.js";

export { reportError, toJson, type ReportOptions } from "../../lib/node/error-contract.js";

/** The fixes a task's errors name. */
export function taskHints(task?: string): CommandHints {
  return {
    usage: task === undefined ? "Run `npx hardhat --help` to list the tasks." : `Run \`npx hardhat ${task} --help\` to see its arguments and options.`,
    startNode: "Start the node (`npx hardhat node`, or `npm run devnet`) or fix the network's URL (AITBC_RPC_URL for --network localhost).",
  };
}

/** Any thrown value as a project error; `task` names the running task for usage hints. */
export function toContractError(error: unknown, task?: string): AitbcError {
  return toError(error, taskHints(task), task);
}
