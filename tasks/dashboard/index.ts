import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { projectAction } from "../shared/action.js";

export const dashboardTasks = [
  task("dashboard", "Serve the DAO voting dashboard and receipts explorer for a deployed network")
    .addOption({ name: "port", description: "Port to listen on (127.0.0.1 only; 0 picks a free one)", type: ArgumentType.INT, defaultValue: 8787 })
    .addOption({ name: "relayer", description: "Base URL of a provider relayer's HTTP API, for the receipts explorer", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "rebuild", description: "Build the web app even if the existing build is up to date" })
    .setAction(projectAction(() => import("./dashboard.js")))
    .build(),
];
