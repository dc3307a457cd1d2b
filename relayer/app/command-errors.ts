/**
 * The `aitbc-miner` command's side of the error contract (lib/node/error-contract.ts): the fixes it names are for someone
 * who installed the package (its own `--help`, its flags), and its flag-parsing failures get the contract's codes.
 */
import type { CommandHints } from "../../lib/node/error-contract.js";
import { AitbcError } from "../../lib/errors.js";

/** The fixes the command's own errors name: it is the installed package's binary, not a task of the project. */
export const MINER_HINTS: CommandHints = {
  usage: "Run `aitbc-miner --help` to see its options (docs/MINER.md in the package describes the config file).",
  startNode: "Start the chain's node, or fix --rpc-url / rpcUrl / AITBC_RPC_URL.",
};

/** `node:util` parseArgs failures (unknown flag, missing value, stray argument) as project errors. */
export function fromParseArgs(error: unknown): AitbcError | undefined {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message.split("\n")[0] : String(error);
  switch (e?.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new AitbcError("UNKNOWN_OPTION", message, { hint: MINER_HINTS.usage, cause: error });
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new AitbcError("BAD_ARGUMENT", message, { hint: MINER_HINTS.usage, cause: error });
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new AitbcError("UNEXPECTED_ARGUMENT", message, { hint: MINER_HINTS.usage, cause: error });
    default:
      return undefined;
  }
}
