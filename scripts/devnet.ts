/**
 * A local marketplace in one command:
 *
 *   npm run devnet                     (node --import tsx scripts/devnet.ts)
 *   npm run devnet -- --port 8545 --relayer-port 8788 --dashboard-port 8787
 *
 * Starts `hardhat node`, deploys the system (development accounts get 1,000,000 AITBC each), registers development
 * account 1 as a provider and runs its relayer (`miner:start`, embedded llama.cpp with a tiny generated model), and
 * serves the dashboard. Prints the URLs and commands to try, then runs until Ctrl-C, when every child gets SIGTERM
 * (SIGKILL after a grace period) and the script exits.
 *
 * Commands run from the current directory: `deployments/localhost.json` and the devnet state (`--state-dir`, default
 * `.aitbc/devnet`: provider key, relayer journal, miner config, `devnet.log`) land there.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Child, openLog } from "./lib/children.js";
import { createNodeLogFilter } from "./lib/node-log.js";
import { DEFAULT_RELAYER_PORT } from "../relayer/app/config.js";
import { rpcAnswers } from "../tools/hardhat-node.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
const CONFIG = path.join(ROOT, "hardhat.config.ts");
const STOP_GRACE_MS = 10_000;
const READY_TIMEOUT_MS = 180_000;
const SERVED_MODELS = ["llama3.2", "llama3.2:1b", "codellama"];

const USAGE = `usage: npm run devnet -- [--port 8545] [--relayer-port 8788] [--dashboard-port 8787] [--state-dir .aitbc/devnet] [--no-dashboard]`;

class DevnetError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function port(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_535) {
    throw new DevnetError("BAD_PORT", `${flag} ${text} is not a TCP port (1…65535)`);
  }
  return Number(text);
}

function readOptions(): { port: number; relayerPort: number; dashboardPort: number; stateDir: string; dashboard: boolean } {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      "relayer-port": { type: "string" },
      "dashboard-port": { type: "string" },
      "state-dir": { type: "string" },
      "no-dashboard": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const options = {
    port: port(values.port, 8545, "--port"),
    relayerPort: port(values["relayer-port"], DEFAULT_RELAYER_PORT, "--relayer-port"),
    dashboardPort: port(values["dashboard-port"], 8787, "--dashboard-port"),
    stateDir: path.resolve(values["state-dir"] ?? path.join(".aitbc", "devnet")),
    dashboard: values["no-dashboard"] !== true,
  };
  const ports = [options.port, options.relayerPort, ...(options.dashboard ? [options.dashboardPort] : [])];
  if (new Set(ports).size !== ports.length) throw new DevnetError("BAD_PORT", `the ports must differ (${ports.join(", ")})`);
  return options;
}

async function main(): Promise<number> {
  const options = readOptions();
  const rpcUrl = `http://127.0.0.1:${options.port}`;
  const relayerUrl = `http://127.0.0.1:${options.relayerPort}`;
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(options.stateDir, "devnet.log");
  const log = openLog(logFile);
  const env = { ...process.env, AITBC_RPC_URL: rpcUrl };
  const children: Child[] = [];
  const start = (name: string, args: string[]): Child => {
    const logFilter = name === "node" ? createNodeLogFilter() : undefined;
    const child = new Child({ name, command: process.execPath, args: [HARDHAT, "--config", CONFIG, ...args], cwd: process.cwd(), env, log, logFilter });
    children.push(child);
    return child;
  };
  const say = (text: string): void => console.log(text);

  let stopping: Promise<void> | undefined;
  // Relayer and dashboard first (they talk to the node), the node last.
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      const [node, ...rest] = children;
      await Promise.all(rest.map((c) => c.stop(STOP_GRACE_MS)));
      await node?.stop(STOP_GRACE_MS);
      log.end();
    })());
  const interrupted = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  // Last resort if the supervisor dies some other way: no child outlives it.
  process.once("exit", () => {
    for (const c of children) if (c.running) c.signal("SIGKILL");
  });

  const started = performance.now();
  try {
    const ready = (async () => {
      say(`devnet: starting hardhat node on ${rpcUrl} (logs: ${logFile})`);
      if (await rpcAnswers(rpcUrl)) throw new DevnetError("PORT_IN_USE", `something already answers JSON-RPC on ${rpcUrl}; stop it or pass --port`);
      const node = start("node", ["node", "--hostname", "127.0.0.1", "--port", String(options.port)]);
      const nodeDeadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await rpcAnswers(rpcUrl))) {
        if (!node.running) throw new DevnetError("CHILD_FAILED", `hardhat node exited before it answered:\n${node.output()}`);
        if (Date.now() > nodeDeadline) throw new DevnetError("CHILD_FAILED", `hardhat node did not answer on ${rpcUrl}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      say("devnet: deploying the system (development accounts get 1,000,000 AITBC each)");
      const deploy = start("deploy", ["deploy", "--network", "localhost", "--redeploy"]);
      const deployed = await deploy.exited;
      if (deployed.code !== 0) throw new DevnetError("CHILD_FAILED", `deploy failed (exit ${deployed.code}):\n${deploy.output()}`);
      children.splice(children.indexOf(deploy), 1);

      // A fresh chain: a journal from an earlier devnet would describe jobs that no longer exist.
      const journal = path.join(options.stateDir, "relayer.sqlite");
      for (const suffix of ["", "-wal", "-shm", ".cursor.json"]) await rm(`${journal}${suffix}`, { force: true });
      const minerConfig = path.join(options.stateDir, "miner.json");
      await writeFile(
        minerConfig,
        `${JSON.stringify(
          {
            journalPath: journal,
            models: Object.fromEntries(SERVED_MODELS.map((m) => [m, {}])),
            batching: { maxItems: 20, maxAgeSeconds: 2 },
            chain: { pollIntervalMs: 250 },
            http: { port: options.relayerPort },
          },
          null,
          2,
        )}\n`,
      );
      say(`devnet: registering development account 1 as a provider (${SERVED_MODELS.join(", ")}) and starting its relayer${options.dashboard ? " and the dashboard" : ""}`);
      const miner = start("miner", ["miner:start", "--network", "localhost", "--yes", "--account", "1", "--miner-config", minerConfig]);
      const waits: Promise<unknown>[] = [miner.waitForLine(/^Serving .*; API (http:\/\/\S+)\./, READY_TIMEOUT_MS)];
      let dashboardUrl: string | undefined;
      if (options.dashboard) {
        const dashboard = start("dashboard", ["dashboard", "--network", "localhost", "--port", String(options.dashboardPort), "--relayer", relayerUrl]);
        waits.push(dashboard.waitForLine(/Dashboard listening on (http:\/\/\S+)/, READY_TIMEOUT_MS).then((m) => (dashboardUrl = m[1])));
      }
      await Promise.all(waits);
      return dashboardUrl;
    })();

    const first = await Promise.race([ready.then((url) => ({ ready: true as const, url })), interrupted.then(() => ({ ready: false as const, url: undefined }))]);
    if (!first.ready) {
      say("devnet: interrupted while starting; stopping");
      return 0;
    }
    const net = "--network localhost";
    // The localhost network reads its URL from AITBC_RPC_URL; only a non-default port needs it spelled out.
    const hh = options.port === 8545 ? "npx hardhat" : `AITBC_RPC_URL=${rpcUrl} npx hardhat`;
    say(
      [
        "",
        `devnet ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        `  chain      ${rpcUrl}  (chain 31337; deployment in ${path.join(process.cwd(), "deployments", "localhost.json")})`,
        `  relayer    ${relayerUrl}/api/v1/receipts   health ${relayerUrl}/health`,
        first.url === undefined ? "" : `  dashboard  ${first.url}`,
        `  logs       ${logFile}`,
        "",
        "Try, in another terminal in this directory:",
        `  ${hh} rates ${net}`,
        `  ${hh} job:submit ${net} --model llama3.2 --prompt "hi" --max-units 2`,
        `  ${hh} job:status ${net} --id 1`,
        `  ${hh} receipts ${net} --relayer ${relayerUrl}`,
        `  ${hh} dao:delegate ${net}`,
        `  ${hh} dao:propose ${net} --kind set-rate --model llama3.2 --rate 2.5 --description "Reprice llama3.2"`,
        `  ${hh} dao:advance ${net} --id 1   (then dao:vote, dao:queue, dao:execute; see docs/GOVERNANCE.md)`,
        "",
        "Ctrl-C stops everything.",
      ]
        .filter((line, i, all) => line !== "" || all[i - 1] !== "")
        .join("\n"),
    );

    // Run until interrupted, or until a child dies on its own (then the devnet is broken: stop and say why).
    const died = Promise.race(children.map((c) => c.exited.then((exit) => ({ child: c, exit }))));
    const outcome = await Promise.race([interrupted.then((signal) => ({ signal })), died]);
    if ("signal" in outcome) {
      say(`\ndevnet: ${outcome.signal} received; stopping the relayer, the dashboard and the node`);
      return 0;
    }
    console.error(`devnet: ${outcome.child.name} exited unexpectedly (code ${outcome.exit.code}, signal ${outcome.exit.signal}); stopping.\n${outcome.child.output().slice(-4_000)}`);
    return 1;
  } catch (error) {
    console.error(`devnet failed: ${error instanceof Error ? error.message : String(error)}${error instanceof DevnetError ? ` [${error.code}]` : ""}`);
    return 1;
  } finally {
    await stopAll();
    say("devnet: stopped");
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`devnet failed: ${error instanceof Error ? error.message : String(error)}${error instanceof DevnetError ? ` [${error.code}]` : ""}`);
  console.error(USAGE);
  process.exitCode = 1;
}
