import { expect } from "chai";
import { network } from "hardhat";

import { deploySystem } from "../../lib/deploy-system.js";
import { parseDeployment } from "../../lib/deployments.js";
import {
  AITBCGovernor__factory,
  AITBCTimelock__factory,
  AITBCToken__factory,
  ModelRegistry__factory,
} from "../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();

describe("deploySystem", function () {
  async function deployed() {
    const [deployer, ...others] = await ethers.getSigners();
    const devAccounts = await Promise.all(others.slice(0, 3).map((s) => s.getAddress()));
    const deployment = await deploySystem(deployer, { network: "test", devAccounts });
    return { deployer, devAccounts, deployment };
  }

  it("writes a deployment document that validates and names every governance contract", async function () {
    const { deployment } = await networkHelpers.loadFixture(deployed);
    expect(parseDeployment(JSON.parse(JSON.stringify(deployment)), "memory")).to.deep.equal(deployment);
    expect(deployment.chainId).to.equal(31337);
    for (const address of Object.values(deployment.contracts)) expect(await ethers.provider.getCode(address)).to.not.equal("0x");
  });

  it("leaves the timelock with no admin but itself, and the Governor as its only proposer and canceller", async function () {
    const { deployer, deployment } = await networkHelpers.loadFixture(deployed);
    const timelock = AITBCTimelock__factory.connect(deployment.contracts.AITBCTimelock, ethers.provider);
    const admin = await timelock.DEFAULT_ADMIN_ROLE();
    expect(await timelock.hasRole(admin, deployer.address)).to.equal(false);
    expect(await timelock.hasRole(admin, deployment.contracts.AITBCTimelock)).to.equal(true);
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), deployment.contracts.AITBCGovernor)).to.equal(true);
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), deployer.address)).to.equal(false);
    expect(await timelock.hasRole(await timelock.CANCELLER_ROLE(), deployment.contracts.AITBCGovernor)).to.equal(true);
    expect(await timelock.hasRole(await timelock.EXECUTOR_ROLE(), ethers.ZeroAddress)).to.equal(true);
  });

  it("distributes the initial supply as the parameters say and makes the timelock the only minter", async function () {
    const { deployer, devAccounts, deployment } = await networkHelpers.loadFixture(deployed);
    const token = AITBCToken__factory.connect(deployment.contracts.AITBCToken, deployer);
    let sum = 0n;
    for (const [holder, amount] of Object.entries(deployment.parameters.token.initialDistribution)) {
      expect(await token.balanceOf(holder)).to.equal(BigInt(amount));
      sum += BigInt(amount);
    }
    expect(await token.totalSupply()).to.equal(sum);
    expect(await token.balanceOf(devAccounts[0])).to.equal(ethers.parseEther("1000000"));
    expect(await token.owner()).to.equal(deployment.contracts.AITBCTimelock);
    await expect(token.mint(deployer.address, 1n)).to.be.revertedWithCustomError(token, "OwnableUnauthorizedAccount");
  });

  it("configures the Governor with the local-chain windows and a timestamp clock", async function () {
    const { deployment } = await networkHelpers.loadFixture(deployed);
    const governor = AITBCGovernor__factory.connect(deployment.contracts.AITBCGovernor, ethers.provider);
    const g = deployment.parameters.governance;
    expect(await governor.votingDelay()).to.equal(BigInt(g.votingDelay));
    expect(await governor.votingPeriod()).to.equal(BigInt(g.votingPeriod));
    expect(await governor["quorumNumerator()"]()).to.equal(BigInt(g.quorumPercent));
    expect(await governor.lateQuorumVoteExtension()).to.equal(BigInt(g.lateQuorumExtension));
    expect(await governor.CLOCK_MODE()).to.equal("mode=timestamp");
    expect(await governor.timelock()).to.equal(deployment.contracts.AITBCTimelock);
  });
});

describe("deploySystem: marketplace", function () {
  async function deployedWithMarket() {
    const [deployer] = await ethers.getSigners();
    return deploySystem(deployer, { network: "test" });
  }

  it("deploys the marketplace owned by the timelock and records it with its parameters", async function () {
    const deployment = await networkHelpers.loadFixture(deployedWithMarket);
    const { JobEscrow, ModelRegistry, ProviderRegistry } = deployment.contracts;
    for (const address of [JobEscrow, ModelRegistry, ProviderRegistry]) {
      expect(address).to.be.a("string");
      expect(await ethers.provider.getCode(address as string)).to.not.equal("0x");
    }
    const rates = ModelRegistry__factory.connect(ModelRegistry as string, ethers.provider);
    const [rate, enabled] = await rates.rateOf(await rates.modelIdOf("llama3.2"));
    expect(rate).to.equal(ethers.parseEther("2"));
    expect(enabled).to.equal(true);
    expect(deployment.parameters.market?.feeBps).to.equal(250);
  });
});
