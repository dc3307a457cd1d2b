/**
 * The relayer as a process of its own:
 *
 *   node --import tsx/esm relayer/main.ts --network localhost --rpc-url http://127.0.0.1:8545 --dev-account 1
 *
 * Flags override the `--config` JSON file, which overrides the environment defaults (see docs/MINER.md). Logs are
 * JSON lines (pino) on stdout. SIGINT/SIGTERM stop it gracefully; a `kill -9` is safe too: the journal resumes it.
 * Exit status on a refused start: 2 configuration, 3 RPC outage (retry later), 4 another relayer holds the journal,
 * the provider or the port, 5 the journal does not belong to this chain or is damaged.
 * Exit status 1 is an unexpected error (a bug). Every refusal follows the project's error contract: a stable code, the
 * message and the fix on stderr, or with `--json` one JSON object `{ "error": … }` on stdout (logs then go to stderr,
 * and a successful start prints one `{ "started": … }` object); `--verbose` adds the stack trace of an unexpected error.
 * `npx hardhat miner:start` runs the same app in-process, with provider registration and a status line.
 */
import { parseArgs } from "node:util";

import { pino } from "pino";

import { reportError, toContractError, toJson } from "../lib/node/error-contract.js";
import { AitbcError } from "../lib/errors.js";
import { silenceSqliteExperimentalWarning } from "../lib/node/warnings.js";
import { fromParseArgs, MINER_HINTS } from "./app/command-errors.js";
import { exitCodeFor, formatStatusLine } from "./app/status-line.js";

const FLAGS = {
  config: { type: "string" },
  network: { type: "string" },
  "rpc-url": { type: "string" },
  "deployment-file": { type: "string" },
  "dev-account": { type: "string" },
  journal: { type: "string" },
  "key-file": { type: "string" },
  "encryption-key-file": { type: "string" },
  port: { type: "string" },
  "log-level": { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean" },
} as const;

// Before the relayer's modules load (they open node:sqlite, whose ExperimentalWarning is noise here): they are
// imported in main().
silenceSqliteExperimentalWarning();

/** How the command reports, known before the flags are parsed (a bad flag is reported in the asked-for form too). */
const output = { json: process.argv.includes("--json"), verbose: process.argv.includes("--verbose") };

function num(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(value)) {
    throw new AitbcError("BAD_ARGUMENT", `--${flag} ${JSON.stringify(value)} is not a whole number`, { hint: `Pass a number such as 0, 1 or 8788. ${MINER_HINTS.usage}` });
  }
  return Number(value);
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>["values"];
  try {
    ({ values } = parseArgs({ options: FLAGS, strict: true }));
  } catch (error) {
    throw fromParseArgs(error) ?? error;
  }
  if (values.help === true) {
    console.log(`usage: aitbc-miner [--config file] [--network name] [--rpc-url url] [--deployment-file file]
                   [--dev-account index] [--journal file] [--key-file file] [--encryption-key-file file] [--port n] [--log-level level] [--json] [--verbose]
The EVM key comes from AITBC_RELAYER_PRIVATE_KEY or --dev-account (local chains). The deployment file
(default deployments/<network>.json) is the JSON the marketplace's deployment wrote: ask its operator for it.
The receipt key file defaults to .aitbc/keys/<network>/<address>.ed25519.json. See docs/MINER.md.`);
    return;
  }
  const overrides: Record<string, unknown> = {
    network: values.network,
    rpcUrl: values["rpc-url"],
    deploymentFile: values["deployment-file"],
    journalPath: values.journal,
    providerKeyFile: values["key-file"],
    encryptionKeyFile: values["encryption-key-file"],
    logLevel: values["log-level"],
    evm: { devAccountIndex: num("dev-account", values["dev-account"]) },
    http: { port: num("port", values.port) },
  };
  const [{ loadRelayerConfig }, { startRelayerApp }] = await Promise.all([import("./app/config.js"), import("./app/start.js")]);
  const config = loadRelayerConfig({
    file: values.config,
    overrides,
    defaults: { network: "localhost", rpcUrl: "http://127.0.0.1:8545" },
  });
  // With --json, stdout carries exactly one object (the start or the error); the JSON log lines go to stderr.
  const logger = output.json ? pino({ level: config.logLevel, base: { service: "aitbc-relayer" } }, pino.destination(2)) : undefined;
  const app = await startRelayerApp(config, { logger });
  if (output.json) {
    console.log(toJson({ started: { provider: app.relayer.provider, apiUrl: app.relayer.apiUrl ?? null, journal: app.journalPath, keyId: app.providerKey.keyId } }));
  }
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
  const known = toContractError(error, MINER_HINTS);
  reportError(known, { ...output, sync: true });
  process.exit(exitCodeFor(known.code));
});
