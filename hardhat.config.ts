import { fileURLToPath } from "node:url";

import hardhatToolboxMochaEthersPlugin from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

import { daoTasks } from "./tasks/dao/index.js";
import { dashboardTasks } from "./tasks/dashboard/index.js";
import { deployTasks } from "./tasks/deploy/index.js";
import { marketTasks } from "./tasks/market/index.js";
import { minerTasks } from "./tasks/miner/index.js";
import { receiptTasks } from "./tasks/receipts/index.js";
import { cliContractPlugin } from "./tasks/shared/plugin/index.js";

// The compiler is the WebAssembly build shipped by the pinned npm `solc` package, so builds are offline and
// reproducible. Hardhat needs an absolute path to it.
const SOLC_VERSION = "0.8.34";
const soljson = fileURLToPath(new URL("./node_modules/solc/soljson.js", import.meta.url));

// Failing fuzz and invariant cases are saved here and replayed first on the next run (upload it from CI on failure).
const failures = fileURLToPath(new URL("./cache/solidity-test-failures/", import.meta.url));
const fuzzRuns = Number(process.env.AITBC_FUZZ_RUNS ?? 256);
const invariantRuns = Number(process.env.AITBC_INVARIANT_RUNS ?? 64);
const invariantDepth = Number(process.env.AITBC_INVARIANT_DEPTH ?? 50);

export default defineConfig({
  plugins: [hardhatToolboxMochaEthersPlugin, cliContractPlugin],
  tasks: [...deployTasks, ...daoTasks, ...marketTasks, ...receiptTasks, ...minerTasks, ...dashboardTasks],
  typechain: { outDir: "typechain-types" },
  solidity: {
    version: SOLC_VERSION,
    path: soljson,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "prague",
    },
  },
  test: {
    solidity: {
      fuzz: { runs: fuzzRuns, seed: process.env.AITBC_FUZZ_SEED ?? "0x2a", failurePersistDir: `${failures}fuzz` },
      invariant: { runs: invariantRuns, depth: invariantDepth, failOnRevert: false, failurePersistDir: `${failures}invariant` },
    },
    mocha: { timeout: 120_000 },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.AITBC_RPC_URL ?? "http://127.0.0.1:8545",
    },
    // Any EVM chain or L2: the RPC URL and the deployer key come from Hardhat's keystore
    // (`npx hardhat keystore set AITBC_LIVE_RPC_URL`, `... AITBC_LIVE_PRIVATE_KEY`).
    live: {
      type: "http",
      chainType: "generic",
      url: configVariable("AITBC_LIVE_RPC_URL"),
      accounts: [configVariable("AITBC_LIVE_PRIVATE_KEY")],
    },
  },
});
