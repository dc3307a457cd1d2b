import { expect } from "chai";
import { getCreateAddress, Wallet } from "ethers";
import { network } from "hardhat";

import { defaultParameters, deployGovernance, finalizeGovernance } from "../../../lib/deploy/deploy.js";
import { deploySystem } from "../../../lib/deploy/system.js";
import { parseDeployment } from "../../../lib/deployments.js";
import {
  AITBCGovernor__factory,
  AITBCTimelock__factory,
  AITBCToken__factory,
  ModelRegistry__factory,
} from "../../../typechain-types/index.js";

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

describe("deploySystem: no capture at launch (checklist item 37)", function () {
  const E18 = 10n ** 18n;

  function publicParams(distribution: { address: string; amount: bigint }[] | undefined, deployer: string) {
    return defaultParameters({ local: false, deployer, distribution });
  }

  it("refuses a public-network deployment without a distribution list, or whose list gives one key quorum", async function () {
    const [deployer] = await ethers.getSigners();
    expect(codeOf(() => publicParams(undefined, deployer.address))).to.equal("DISTRIBUTION_REQUIRED");
    // The old default: the deployer holds the whole circulating supply, 25x quorum.
    const concentrated = publicParams([{ address: deployer.address, amount: 40_000_000n * E18 }], deployer.address);
    const nonce = await ethers.provider.getTransactionCount(deployer.address);
    await expectCode(deployGovernance(deployer, concentrated), "CONCENTRATED_DISTRIBUTION");
    // 25 holders of 4 % each: each one is exactly at quorum, still refused.
    const atQuorum = Array.from({ length: 25 }, () => ({ address: Wallet.createRandom().address, amount: 1_600_000n * E18 }));
    await expectCode(deployGovernance(deployer, publicParams(atQuorum, deployer.address)), "CONCENTRATED_DISTRIBUTION");
    const duplicate = [...atQuorum.slice(0, 1), ...atQuorum.slice(0, 1)];
    await expectCode(deployGovernance(deployer, publicParams(duplicate, deployer.address)), "BAD_DISTRIBUTION");
    expect(await ethers.provider.getTransactionCount(deployer.address), "nothing was sent").to.equal(nonce);
  });

  it("deploys a dispersed public distribution in which no holder reaches quorum, with no admin", async function () {
    const [deployer] = await ethers.getSigners();
    const holders = Array.from({ length: 30 }, () => ({ address: Wallet.createRandom().address, amount: 1_000_000n * E18 }));
    const params = publicParams(holders, deployer.address);
    const governance = await deployGovernance(deployer, params);
    await finalizeGovernance(deployer, governance.timelock);
    const token = AITBCToken__factory.connect(governance.token, ethers.provider);
    const governor = AITBCGovernor__factory.connect(governance.governor, ethers.provider);
    await networkHelpers.mine(2);
    const t = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) - 1n;
    const quorum = await governor.quorum(t);
    expect(quorum, "4 % of the 30M castable, the treasury left out").to.equal((30_000_000n * E18 * 4n) / 100n);
    for (const h of holders) expect(await token.balanceOf(h.address) < quorum).to.equal(true);
    const timelock = AITBCTimelock__factory.connect(governance.timelock, ethers.provider);
    expect(await timelock.hasRole(await timelock.DEFAULT_ADMIN_ROLE(), deployer.address)).to.equal(false);
  });

  it("a deployment that fails half-way leaves no admin behind and no proposer but the missing Governor", async function () {
    const [deployer] = await ethers.getSigners();
    const params = defaultParameters({ local: true, deployer: deployer.address });
    // A zero voting period makes the Governor's constructor revert: the timelock and the token are already deployed.
    params.governance = { ...params.governance, votingPeriod: 0 };
    const nonce = await ethers.provider.getTransactionCount(deployer.address);
    let failed = false;
    try {
      await deployGovernance(deployer, params);
    } catch {
      failed = true;
    }
    expect(failed, "the deployment stopped").to.equal(true);
    const timelockAddress = getCreateAddress({ from: deployer.address, nonce });
    const governorAddress = getCreateAddress({ from: deployer.address, nonce: nonce + 2 });
    expect(await ethers.provider.getCode(timelockAddress)).to.not.equal("0x");
    const timelock = AITBCTimelock__factory.connect(timelockAddress, ethers.provider);
    for (const role of [await timelock.DEFAULT_ADMIN_ROLE(), await timelock.PROPOSER_ROLE(), await timelock.CANCELLER_ROLE()]) {
      expect(await timelock.hasRole(role, deployer.address), role).to.equal(false);
    }
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), governorAddress)).to.equal(true);
    await expectCode(finalizeGovernance(deployer, timelockAddress), undefined);
  });

  it("quorum counts only castable votes: minting the cap headroom into the treasury leaves it unchanged, and the treasury's votes weigh nothing", async function () {
    const [deployer, ...others] = await ethers.getSigners();
    const deployment = await deploySystem(deployer, { network: "test", devAccounts: others.slice(0, 3).map((s) => s.address) });
    const c = deployment.contracts;
    const token = AITBCToken__factory.connect(c.AITBCToken, ethers.provider);
    const governor = AITBCGovernor__factory.connect(c.AITBCGovernor, ethers.provider);
    await networkHelpers.mine(1);
    const before = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) - 1n;
    const supply = await token.totalSupply();
    const treasury = await token.balanceOf(c.AITBCTimelock);
    expect(await governor.quorum(before)).to.equal(((supply - treasury) * 4n) / 100n);
    expect(await governor.getVotes(c.AITBCTimelock, before), "the treasury's weight").to.equal(0n);

    await networkHelpers.impersonateAccount(c.AITBCTimelock);
    await networkHelpers.setBalance(c.AITBCTimelock, 10n ** 18n);
    const asTimelock = await ethers.getSigner(c.AITBCTimelock);
    await (await token.connect(asTimelock).mint(c.AITBCTimelock, (await token.cap()) - supply)).wait();
    await networkHelpers.mine(1);
    const after = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) - 1n;
    expect(await token.totalSupply()).to.equal(await token.cap());
    expect(await governor.quorum(after), "unchanged by treasury mints").to.equal(await governor.quorum(before));
    expect(await governor.quorum(after) < supply - treasury).to.equal(true);
  });
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** Awaits `p`; with a code, expects it to reject with that AitbcError code, without one, to resolve. */
async function expectCode(p: Promise<unknown>, code: string | undefined): Promise<void> {
  let got: string | undefined;
  try {
    await p;
  } catch (error) {
    got = (error as { code?: string }).code ?? String(error);
  }
  expect(got).to.equal(code);
}
