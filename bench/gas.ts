/**
 * Deterministic gas benchmark of the marketplace: `./node_modules/.bin/hardhat run bench/gas.ts`.
 * Prints a table and writes `bench/results/gas.json`; the scenarios and their definitions are in
 * `bench/gas-scenarios.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";

import { network } from "hardhat";

import { measureGas } from "./gas-scenarios.js";

const { ethers } = await network.create();
const results = await measureGas(ethers);
console.table(Object.entries(results).map(([metric, gas]) => ({ metric, gas })));
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/gas.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("wrote bench/results/gas.json");
