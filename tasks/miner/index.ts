import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { projectAction } from "../shared/action.js";

// Definitions only; each action is imported lazily so the config loads before the first build.

export const minerTasks = [
  task("miner:start", "Run a provider relayer: check the port, journal and runtime, load or create the receipt key, register or update the provider, then serve jobs until Ctrl-C")
    .addOption({ name: "runtime", description: "Inference runtime: embedded | ollama | openai (default: from --miner-config, else embedded)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "model", description: "On-chain model name to serve, e.g. llama3.2 (default: from --miner-config, else llama3.2)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "gguf", description: "embedded: path of a GGUF model file (default: a tiny generated model, for testing)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "runtimeUrl", description: "ollama/openai: base URL of the runtime server", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "port", description: "HTTP API port (default 8788, the relayer API port; 0 picks a free one, -1 disables the API)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "minerConfig", description: "Miner JSON config file (see docs/MINER.md); flags override it", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "account", description: "Local chains: index of the node's development account to mine with (default 1)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "keyFile", description: "Receipt key file (default .aitbc/keys/<network>/<address>.ed25519.json, shared with provider:register; created with mode 0600 if missing)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "serviceUrl", description: "URL where clients reach this relayer's API, published on-chain with the encryption key for private jobs (default on a local chain: the API's own address; required elsewhere for private jobs)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "rotateKey", description: "Replace a different receipt key already registered: receipts it signed stay verifiable for the time it was registered, later ones must carry the new key" })
    .addFlag({ name: "yes", description: "Bond without asking on a live network" })
    .addFlag({ name: "jsonLogs", description: "JSON log lines on stdout instead of the live status line" })
    .setAction(projectAction(() => import("./start.js")))
    .build(),
  task("miner:status", "Show a running relayer's health and counters (from its HTTP API)")
    .addOption({ name: "url", description: "Base URL of the relayer API (default http://127.0.0.1:8788, or the port in AITBC_RELAYER_PORT: where `npm run devnet` and `miner:start` serve it)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: "Print the status as JSON" })
    .setAction(projectAction(() => import("./status.js")))
    .build(),
];
