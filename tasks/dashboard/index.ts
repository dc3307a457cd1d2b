import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const dashboardTasks = [
  task("dashboard", "Serve the DAO voting dashboard and receipts explorer for a deployed network")
    .addOption({ name: "port", description: "Port to listen on (127.0.0.1 only; 0 picks a free one)", type: ArgumentType.INT, defaultValue: 8787 })
    .addOption({ name: "relayer", description: "Base URL of a provider relayer's HTTP API, for the receipts explorer", defaultValue: "" })
    .addFlag({ name: "rebuild", description: "Build the web app even if the existing build is up to date" })
    .setAction(() => import("./dashboard.js"))
    .build(),
];
