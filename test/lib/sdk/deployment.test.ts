import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Wallet } from "ethers";
import { network } from "hardhat";

import { deploySystem } from "../../../lib/deploy/system.js";
import { loadDeployment, readDeployment } from "../../../lib/node/deployments-fs.js";
import { isAitbcError } from "../../../lib/errors.js";
import { assertDeployment, deploymentState, isLocalChain } from "../../../lib/sdk/deployment.js";

const { ethers, networkHelpers } = await network.create();

async function codeOf(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
  } catch (error) {
    if (isAitbcError(error)) return error.code;
    throw error;
  }
  return undefined;
}

async function deployed() {
  const [deployer, other] = await ethers.getSigners();
  return deploySystem(deployer, { network: "hardhat", devAccounts: [other.address] });
}

describe("lib/sdk/deployment: the one deployment check", function () {
  it("passes a live deployment, with the node's chain id given or asked", async function () {
    const deployment = await networkHelpers.loadFixture(deployed);
    expect(await deploymentState(ethers.provider, deployment)).to.equal("live");
    expect(await codeOf(() => assertDeployment(ethers.provider, deployment))).to.equal(undefined);
    expect(await codeOf(() => assertDeployment(ethers.provider, deployment, { chainId: 31337n }))).to.equal(undefined);
  });

  it("WRONG_NETWORK for a deployment of another chain, DEPLOYMENT_STALE for contracts the chain does not have", async function () {
    const deployment = await networkHelpers.loadFixture(deployed);
    const other = { ...deployment, chainId: 1 };
    expect(await deploymentState(ethers.provider, other)).to.equal("wrong-network");
    expect(await codeOf(() => assertDeployment(ethers.provider, other, { target: "--network" }))).to.equal("WRONG_NETWORK");
    expect(await codeOf(() => assertDeployment(ethers.provider, deployment, { chainId: 5n }))).to.equal("WRONG_NETWORK");
    const gone = { ...deployment, contracts: { ...deployment.contracts, AITBCGovernor: Wallet.createRandom().address } };
    expect(await deploymentState(ethers.provider, gone)).to.equal("stale");
    expect(await codeOf(() => assertDeployment(ethers.provider, gone))).to.equal("DEPLOYMENT_STALE");
  });

  it("treats Hardhat's and Ganache's chain ids as local, any other as public", function () {
    expect([31337n, 1337, 1, 11155111n, 8453].map(isLocalChain)).to.deep.equal([true, true, false, false, false]);
  });
});

describe("lib/node/deployments-fs: the one deployment loader", function () {
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-deployments-"));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a deployment file back as it was written, by path or by network", async function () {
    const deployment = await networkHelpers.loadFixture(deployed);
    await mkdir(path.join(dir, "deployments"));
    const file = path.join(dir, "deployments", "hardhat.json");
    await writeFile(file, JSON.stringify(deployment));
    expect(await loadDeployment(file)).to.deep.equal(deployment);
    expect(await readDeployment("hardhat", dir)).to.deep.equal(deployment);
  });

  it("DEPLOYMENT_MISSING for no file, DEPLOYMENT_INVALID for text that is not JSON or not a deployment", async function () {
    expect(await codeOf(() => loadDeployment(path.join(dir, "none.json")))).to.equal("DEPLOYMENT_MISSING");
    expect(await codeOf(() => readDeployment("nowhere", dir))).to.equal("DEPLOYMENT_MISSING");
    await writeFile(path.join(dir, "broken.json"), "{ not json");
    expect(await codeOf(() => loadDeployment(path.join(dir, "broken.json")))).to.equal("DEPLOYMENT_INVALID");
    await writeFile(path.join(dir, "other.json"), JSON.stringify({ format: 1, network: "x" }));
    expect(await codeOf(() => loadDeployment(path.join(dir, "other.json")))).to.equal("DEPLOYMENT_INVALID");
  });
});
