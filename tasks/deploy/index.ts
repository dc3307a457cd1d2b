import { task } from "hardhat/config";

export const deployTasks = [
  task("deploy", "Deploy the AITBC token, DAO and marketplace, and write deployments/<network>.json")
    .addFlag({ name: "redeploy", description: "Deploy again even if this network already has a live deployment" })
    .addOption({ name: "guardian", description: "Proposal guardian address (default: deployer on local chains, none elsewhere)", defaultValue: "" })
    .addOption({
      name: "distribution",
      description: 'Public networks: JSON file of the initial holders, { "holders": [{ "address": "0x…", "amount": "AITBC" }] }, none at or above quorum',
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print the deployment as JSON" })
    .setAction(() => import("./deploy.js"))
    .build(),
];
