import { network } from "hardhat";

import { deploySystem } from "../lib/deploy-system.js";

// The demo runs on the embedded chain: deploy the whole system and print what was deployed.
const { ethers, networkName } = await network.getOrCreate();
const [deployer, ...others] = await ethers.getSigners();
const started = Date.now();
const deployment = await deploySystem(deployer, {
  network: networkName,
  devAccounts: await Promise.all(others.slice(0, 9).map((s) => s.getAddress())),
  progress: (step) => console.log(`  · ${step}`),
});
console.log(`\nAITBC deployed on the embedded chain (chain ${deployment.chainId}) in ${Date.now() - started} ms:`);
for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(18)} ${address}`);
