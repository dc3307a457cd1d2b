import { readFile } from "node:fs/promises";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type { DistributionEntry } from "../../lib/deploy/deploy.js";
import { deploySystem } from "../../lib/deploy/system.js";
import { deploymentPath, readDeployment, writeDeployment } from "../../lib/node/deployments-fs.js";
import { deploymentState } from "../../lib/sdk/deployment.js";
import { AitbcError, isAitbcError } from "../../lib/errors.js";
import { parseTokenAmount } from "../../lib/money/amounts.js";
import { runTask } from "../shared/cli.js";

interface DeployArgs {
  redeploy: boolean;
  guardian: string;
  distribution: string;
  json: boolean;
}

/** Reads `--distribution`: `{ "holders": [{ "address": "0x…", "amount": "1000000" }] }`, amounts in AITBC. */
async function readDistribution(file: string): Promise<DistributionEntry[]> {
  const fail = (problem: string) =>
    new AitbcError("BAD_DISTRIBUTION", `--distribution ${file}: ${problem}`, {
      hint: 'Write { "holders": [{ "address": "0x…", "amount": "1000000" }] } with amounts in AITBC.',
    });
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw fail(`cannot be read as JSON (${(error as Error).message})`);
  }
  const holders = (json as { holders?: unknown }).holders;
  if (!Array.isArray(holders) || holders.length === 0) throw fail("has no `holders` list");
  return holders.map((h: unknown, i) => {
    const { address, amount } = (h ?? {}) as { address?: unknown; amount?: unknown };
    if (typeof address !== "string" || typeof amount !== "string") throw fail(`holder ${i} needs a string address and amount`);
    try {
      return { address, amount: parseTokenAmount(amount, { allowZero: true }) };
    } catch {
      throw fail(`holder ${i}: \`${amount}\` is not an AITBC amount`);
    }
  });
}

export default async function deployAction(args: DeployArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    if (args.guardian !== "" && !ctx.ethers.isAddress(args.guardian)) {
      throw new AitbcError("BAD_ADDRESS", `--guardian ${args.guardian} is not an address`, { hint: "Pass a 0x-prefixed 20-byte address." });
    }
    const persistent = !ctx.ephemeral;
    if (persistent && !args.redeploy) {
      const existing = await readDeployment(ctx.networkName).catch((e: unknown) => {
        if (isAitbcError(e, "DEPLOYMENT_MISSING")) return undefined;
        throw e;
      });
      const state = existing === undefined ? undefined : await deploymentState(ctx.ethers.provider, existing, ctx.chainId);
      if (state === "live" && existing !== undefined) {
        ctx.say(`A deployment already exists on ${ctx.networkName} (${deploymentPath(ctx.networkName)}); nothing to do.`);
        ctx.say(`Pass --redeploy to deploy a fresh system.`);
        return { deployed: false, deployment: existing };
      }
      if (state === "stale") ctx.say(`The recorded deployment is gone from this chain (node restarted?); deploying again.`);
    }
    const [deployer, ...others] = await ctx.ethers.getSigners();
    ctx.say(`Deploying to ${ctx.networkName} (chain ${ctx.chainId}) from ${await deployer.getAddress()}`);
    const deployment = await deploySystem(deployer, {
      network: ctx.networkName,
      devAccounts: await Promise.all(others.slice(0, 9).map((s) => s.getAddress())),
      guardian: args.guardian === "" ? undefined : args.guardian,
      distribution: args.distribution === "" ? undefined : await readDistribution(args.distribution),
      progress: (step) => ctx.say(`  · ${step}`),
    });
    if (persistent) {
      const file = await writeDeployment(deployment);
      ctx.say(`Wrote ${file}`);
    } else {
      ctx.say(`(in-process network: nothing written; use --network localhost with \`npx hardhat node\` to keep a deployment)`);
    }
    for (const [name, address] of Object.entries(deployment.contracts)) ctx.say(`  ${name.padEnd(18)} ${address}`);
    return { deployed: true, deployment };
  });
}
