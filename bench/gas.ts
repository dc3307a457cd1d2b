/**
 * Deterministic gas benchmark of the marketplace: `./node_modules/.bin/hardhat run bench/gas.ts`.
 * Prints the figures with their traffic and writes `bench/results/gas.json` (figures at the top level, compared with
 * the baseline by `bench/report.ts`; the traffic of each under `traffic`). The scenarios and their definitions are in
 * `bench/gas-scenarios.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";

import { network } from "hardhat";

import { measureGasReport } from "./gas-scenarios.js";

const { ethers } = await network.create();
const { figures, traffic } = await measureGasReport(ethers);
console.table(
  Object.entries(figures).map(([metric, gas]) => {
    const t = traffic[metric];
    return { metric, gas, clients: t?.clients, "jobs/create": t?.jobsPerCreate, "prompt B": t?.promptBytes, "÷ jobs": t?.jobs, counts: t?.counts };
  }),
);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/gas.json", `${JSON.stringify({ ...figures, traffic }, null, 2)}\n`);
console.log("wrote bench/results/gas.json");
