import { globalFlag } from "hardhat/config";
import type { HardhatPlugin } from "hardhat/types/plugins";

import "./type-extensions.js";

/**
 * The project's command-line contract as a Hardhat plugin: a `--verbose` flag (stack traces of unexpected errors) and
 * a check of the command line before any task runs, so that a misspelt option or a missing argument of a project
 * task gets the same one-message (or one-JSON-object) answer as every other error.
 */
export const cliContractPlugin: HardhatPlugin = {
  id: "aitbc-cli-contract",
  globalOptions: [
    globalFlag({
      name: "verbose",
      description: "Project tasks: print the stack trace of an unexpected (INTERNAL) error",
    }),
  ],
  hookHandlers: {
    hre: () => import("./hre-hooks.js"),
  },
};
