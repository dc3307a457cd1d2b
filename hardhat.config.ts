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

// The release build runs the full optimizer. `AITBC_SOLC_OPTIMIZER=minimal` (the mutation lanes) runs only the Yul
// optimizer's unused-code pass, which the legacy code generator needs to avoid "stack too deep": the same semantics,
// larger code and more gas, compiled in about 60 % of the time. The gas ceilings (mocha tests) use the release build.
const optimizer =
  process.env.AITBC_SOLC_OPTIMIZER === "minimal"
    ? { enabled: false, details: { yul: true, yulDetails: { stackAllocation: true, optimizerSteps: "u:" } } }
    : { enabled: true, runs: 200 };

export default defineConfig({
  plugins: [hardhatToolboxMochaEthersPlugin, cliContractPlugin],
  tasks: [...deployTasks, ...daoTasks, ...marketTasks, ...receiptTasks, ...minerTasks, ...dashboardTasks],
  typechain: { outDir: "typechain-types" },
  solidity: {
    version: SOLC_VERSION,
    path: soljson,
    settings: {
      optimizer,
      evmVersion: "prague",
    },
  },
  test: {
    solidity: {
      // The mutation lanes cap each test's gas, so a mutant that makes a loop spin runs out of gas in seconds.
      ...(process.env.AITBC_TEST_GAS_LIMIT ? { gasLimit: BigInt(process.env.AITBC_TEST_GAS_LIMIT) } : {}),
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
