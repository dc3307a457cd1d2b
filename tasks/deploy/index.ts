import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { projectAction } from "../shared/action.js";

export const deployTasks = [
  task("deploy", "Deploy the AITBC token, DAO and marketplace, and write deployments/<network>.json")
    .addFlag({ name: "redeploy", description: "Deploy again even if this network already has a live deployment" })
    .addOption({ name: "guardian", description: "Proposal guardian address (default: deployer on local chains, none elsewhere)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({
      name: "distribution",
      description: 'Public networks: JSON file of the initial holders, { "holders": [{ "address": "0x…", "amount": "AITBC" }] }, none at or above quorum',
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addFlag({ name: "json", description: "Print the deployment as JSON" })
    .setAction(projectAction(() => import("./deploy.js")))
    .build(),
];
