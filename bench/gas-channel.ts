/**
 * Deterministic gas benchmark of the channel job mode: `npm run bench:gas:channel`. Prints a table and writes
 * `bench/results/gas-channel.json`; the scenario and its definitions are in `bench/gas-channel-scenario.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";

import { network } from "hardhat";

import { measureChannelGas } from "./gas-channel-scenario.js";

const { ethers } = await network.create();
const results = await measureChannelGas(ethers);
console.table(Object.entries(results).map(([metric, gas]) => ({ metric, gas })));
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/gas-channel.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("wrote bench/results/gas-channel.json");
