import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";

import { AitbcError } from "../../lib/errors.js";
import { readDeployment } from "../../lib/node/deployments-fs.js";
import { assertDeployment } from "../../lib/sdk/deployment.js";
import type { Deployment } from "../../lib/deployments.js";
import { reportError, toContractError, toJson } from "./error-contract.js";

export { toJson } from "./error-contract.js";

export interface TaskContext {
  ethers: HardhatEthers;
  networkHelpers: NetworkHelpers;
  networkName: string;
  /** True for the in-process simulated chain, whose state vanishes when the command exits. */
  ephemeral: boolean;
  chainId: bigint;
  json: boolean;
  /** Human output; silent with `--json`. */
  say: (line: string) => void;
}

export interface DeployedContext extends TaskContext {
  deployment: Deployment;
}

/**
 * Runs a task body with the project's error contract (see `error-contract.ts`): any failure prints one message naming
 * the fix (or one JSON error object with `--json`) and sets a non-zero exit code. Errors that are not the project's
 * own become a project code (`RPC_UNREACHABLE`, `RPC_BAD_RESPONSE`, …) or `INTERNAL`, whose stack trace is printed
 * only with `--verbose`.
 */
export async function runTask<T>(
  hre: HardhatRuntimeEnvironment,
  options: { json?: boolean },
  body: (ctx: TaskContext) => Promise<T>,
): Promise<T | undefined> {
  const json = options.json === true;
  return withErrorContract(hre, json, async () => {
    const connection = await hre.network.getOrCreate();
    const chainId = (await connection.ethers.provider.getNetwork()).chainId;
    const ctx: TaskContext = {
      ethers: connection.ethers,
      networkHelpers: connection.networkHelpers,
      networkName: connection.networkName,
      ephemeral: connection.networkConfig.type === "edr-simulated",
      chainId,
      json,
      say: json ? () => {} : (line) => console.log(line),
    };
    return body(ctx);
  });
}

/** Loads the deployment of the connected network and checks that it still exists on that chain. */
export async function withDeployment(ctx: TaskContext): Promise<DeployedContext> {
  if (ctx.ephemeral) {
    throw new AitbcError("EPHEMERAL_NETWORK", `The in-process network \`${ctx.networkName}\` has no deployment: its chain vanishes when each command exits`, {
      hint: "Start a node (`npx hardhat node`), deploy to it (`npx hardhat deploy --network localhost`) and pass `--network localhost`.",
    });
  }
  const deployment = await readDeployment(ctx.networkName);
  await assertDeployment(ctx.ethers.provider, deployment, { chainId: ctx.chainId, target: "--network" });
  return { ...ctx, deployment };
}

/** {@link runTask} for a task that needs no chain connection (it talks to a relayer, or reads files). */
export async function runOfflineTask<T>(hre: HardhatRuntimeEnvironment, options: { json?: boolean }, body: () => Promise<T>): Promise<T | undefined> {
  return withErrorContract(hre, options.json === true, body);
}

/** Runs `body`, prints its result as JSON with `--json`, and reports any failure by the error contract (exit code 1). */
async function withErrorContract<T>(hre: HardhatRuntimeEnvironment, json: boolean, body: () => Promise<T>): Promise<T | undefined> {
  try {
    const result = await body();
    if (json && result !== undefined) console.log(toJson(result));
    return result;
  } catch (error) {
    reportError(toContractError(error), { json, verbose: hre.globalOptions.verbose === true });
    process.exitCode = 1;
    return undefined;
  }
}
