import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { AitbcError } from "../errors.js";
import { type Deployment, parseDeployment } from "../deployments.js";

/** Default folder of deployment files, relative to the project root. */
export const DEPLOYMENTS_DIR = "deployments";

export function deploymentPath(network: string, root: string = process.cwd()): string {
  return path.join(root, DEPLOYMENTS_DIR, `${network}.json`);
}

/** Reads `deployments/<network>.json`, or throws `DEPLOYMENT_MISSING` naming the command that creates it. */
export async function readDeployment(network: string, root: string = process.cwd()): Promise<Deployment> {
  const file = deploymentPath(network, root);
  if (!existsSync(file)) {
    const hint = `Deploy first: \`npx hardhat deploy --network ${network}\` (for a local node: \`npx hardhat node\` in another terminal).`;
    throw new AitbcError("DEPLOYMENT_MISSING", `No deployment found for network \`${network}\` (${file})`, { hint });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new AitbcError("DEPLOYMENT_INVALID", `${file} is not valid JSON`, {
      hint: `Fix or delete the file, then run \`npx hardhat deploy --network ${network} --redeploy\`.`,
      cause,
    });
  }
  return parseDeployment(parsed, file);
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
