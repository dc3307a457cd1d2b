/**
 * The relayer as a process of its own:
 *
 *   node --import tsx/esm relayer/main.ts --network localhost --rpc-url http://127.0.0.1:8545 --dev-account 1
 *
 * Flags override the `--config` JSON file, which overrides the environment defaults (see docs/MINER.md). Logs are
 * JSON lines (pino) on stdout. SIGINT/SIGTERM stop it gracefully; a `kill -9` is safe too: the journal resumes it.
 * Exit status on a refused start: 2 configuration, 3 RPC outage (retry later), 4 another relayer holds the journal,
 * the provider or the port, 5 the journal does not belong to this chain or is damaged.
 * `npx hardhat miner:start` runs the same app in-process, with provider registration and a status line.
 */
import { parseArgs } from "node:util";

import { isAitbcError } from "../lib/errors.js";
import { loadRelayerConfig } from "./app/config.js";
import { startRelayerApp } from "./app/start.js";
import { exitCodeFor, formatStatusLine } from "./app/status-line.js";

const FLAGS = {
  config: { type: "string" },
  network: { type: "string" },
  "rpc-url": { type: "string" },
  "deployment-file": { type: "string" },
  "dev-account": { type: "string" },
  journal: { type: "string" },
  "key-file": { type: "string" },
  port: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean" },
} as const;

function num(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  if (values.help === true) {
    console.log(`usage: relayer/main.ts [--config file] [--network name] [--rpc-url url] [--deployment-file file]
       [--dev-account index] [--journal file] [--key-file file] [--port n] [--log-level level]
The EVM key comes from AITBC_RELAYER_PRIVATE_KEY or --dev-account (local chains). See docs/MINER.md.`);
    return;
  }
  const overrides: Record<string, unknown> = {
    network: values.network,
    rpcUrl: values["rpc-url"],
    deploymentFile: values["deployment-file"],
    journalPath: values.journal,
    providerKeyFile: values["key-file"],
    logLevel: values["log-level"],
    evm: { devAccountIndex: num(values["dev-account"]) },
    http: { port: num(values.port) },
  };
  const config = loadRelayerConfig({
    file: values.config,
    overrides,
    defaults: { network: "localhost", rpcUrl: "http://127.0.0.1:8545" },
  });
  const app = await startRelayerApp(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // A status line on stderr every 10 s while degraded (and once when it recovers), with every reason spelled out.
  let wasDegraded = false;
  const statusTimer = setInterval(() => {
    const status = app.relayer.status();
    const degraded = status.health.status !== "ok";
    if (degraded || wasDegraded) console.error(formatStatusLine(status));
    wasDegraded = degraded;
  }, 10_000);
  statusTimer.unref();
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  if (isAitbcError(error)) {
    console.error(`✖ ${error.toUserString()}`);
    process.exit(exitCodeFor(error.code));
  }
  console.error(error);
  process.exit(1);
});
