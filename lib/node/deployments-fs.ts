import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { AitbcError } from "../errors.js";
import { type Deployment, parseDeployment } from "../deployments.js";

/** Default folder of deployment files, relative to the project root. */
export const DEPLOYMENTS_DIR = "deployments";

export function deploymentPath(network: string, root: string = process.cwd()): string {
  return path.join(root, DEPLOYMENTS_DIR, `${network}.json`);
}

/**
 * Reads and validates a deployment file: the one loader, for the CLI, the SDK (`loadDeployment(file)`), the relayer
 * (`relayer/app/start.ts`, which reports its errors as config errors) and the tools.
 * With `network`, the file is that network's `deployments/<network>.json` and the errors say how to create it.
 *
 * @throws {AitbcError} `DEPLOYMENT_MISSING` when the file cannot be read, `DEPLOYMENT_INVALID` when it is not one.
 */
export async function loadDeployment(file: string, network?: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if (network === undefined) {
      throw new AitbcError("DEPLOYMENT_MISSING", `cannot read the deployment file ${file}`, { hint: "Deploy first (`npx hardhat deploy --network <network>`) or pass the right path.", cause });
    }
    const hint = `Deploy first: \`npx hardhat deploy --network ${network}\` (for a local node: \`npx hardhat node\` in another terminal).`;
    throw new AitbcError("DEPLOYMENT_MISSING", `No deployment found for network \`${network}\` (${file})`, { hint, cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const hint = network === undefined ? "Restore the file from the deployment that wrote it." : `Fix or delete the file, then run \`npx hardhat deploy --network ${network} --redeploy\`.`;
    throw new AitbcError("DEPLOYMENT_INVALID", `${file} is not valid JSON`, { hint, cause });
  }
  return parseDeployment(parsed, file);
}

/** Reads `deployments/<network>.json` ({@link loadDeployment}). */
export function readDeployment(network: string, root: string = process.cwd()): Promise<Deployment> {
  return loadDeployment(deploymentPath(network, root), network);
}

/** Writes the deployment atomically (temp file + rename), so a crash never leaves half a file. */
export async function writeDeployment(deployment: Deployment, root: string = process.cwd()): Promise<string> {
  const file = deploymentPath(deployment.network, root);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(tmp, file);
  return file;
}
