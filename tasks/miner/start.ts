import { createInterface } from "node:readline/promises";

import { Wallet, type HDNodeWallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { pino } from "pino";

import { AitbcError } from "../../lib/errors.js";
import { isLocalChain } from "../../lib/sdk/deployment.js";
import { defaultEncryptionKeyFile, defaultKeyFile, loadOrCreateEncryptionKeyFile, loadOrCreateKeyFile, type ReceiptKey } from "../../lib/node/key-file.js";
import { parseServiceUrl } from "../../lib/market/endpoint.js";
import { formatTokenAmount } from "../../lib/money/amounts.js";
import { publishEndpoint, registerProvider } from "../../lib/sdk/miner.js";
import { startMiner } from "../../relayer/index.js";
import { defaultJournalPath, loadRelayerConfig } from "../../relayer/app/config.js";
import { devAccount, resolveEvmWallet } from "../../relayer/app/keys.js";
import { formatStatusLine } from "../../relayer/app/status-line.js";
import { PROJECT_HINTS } from "../../relayer/app/hints.js";
import { runTask, withDeployment, type DeployedContext } from "../shared/cli.js";
import { checkJournalWritable, checkPortFree, checkRuntime, pickFreePort } from "./preflight.js";

interface StartArgs {
  runtime: string;
  model: string;
  gguf: string;
  runtimeUrl: string;
  port: string;
  minerConfig: string;
  account: string;
  keyFile: string;
  serviceUrl: string;
  rotateKey: boolean;
  yes: boolean;
  jsonLogs: boolean;
}

function flagOverrides(args: StartArgs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (args.runtime !== "") {
    if (!["embedded", "ollama", "openai"].includes(args.runtime)) {
      throw new AitbcError("BAD_ARGUMENT", `--runtime ${args.runtime} is not a runtime`, { hint: "use embedded, ollama or openai" });
    }
    const runtime: Record<string, unknown> = { kind: args.runtime };
    if (args.gguf !== "") runtime.modelPath = args.gguf;
    if (args.runtimeUrl !== "") runtime.baseUrl = args.runtimeUrl;
    out.runtime = runtime;
  } else if (args.gguf !== "") {
    out.runtime = { kind: "embedded", modelPath: args.gguf };
  }
  if (args.model !== "") out.models = { [args.model]: {} };
  if (args.port !== "") {
    if (!/^[0-9]{1,5}$/.test(args.port)) throw new AitbcError("BAD_ARGUMENT", `--port ${args.port} is not a port number`, { hint: "pass 0…65535" });
    out.http = { port: Number(args.port) };
  }
  if (args.account !== "") {
    if (!/^[0-9]{1,4}$/.test(args.account)) throw new AitbcError("BAD_ARGUMENT", `--account ${args.account} is not an index`, { hint: "pass 0, 1, 2, …" });
    out.evm = { devAccountIndex: Number(args.account) };
  }
  return out;
}

/** The live network's key from Hardhat's keystore (`accounts: [configVariable(...)]`), if configured. */
async function keystoreKey(hre: HardhatRuntimeEnvironment, networkName: string): Promise<string | undefined> {
  const net = hre.config.networks[networkName];
  if (net === undefined || net.type !== "http" || !Array.isArray(net.accounts) || net.accounts.length === 0) return undefined;
  return net.accounts[0].get();
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Registers the provider, or brings its receipt key and served models up to date. Returns what it did. */
async function ensureRegistered(
  ctx: DeployedContext,
  wallet: Wallet | HDNodeWallet,
  key: { key: ReceiptKey; file: string },
  models: string[],
  flags: { yes: boolean; local: boolean; rotateKey: boolean },
): Promise<string> {
  const { yes, local } = flags;
  const result = await registerProvider(
    wallet.connect(ctx.ethers.provider),
    ctx.deployment,
    { receiptKey: key.key.publicKeyHex, models },
    {
      onProgress: (line) => ctx.say(`  · ${line}`),
      rotateKey: flags.rotateKey,
      keySource: key.file,
      confirmBond:
        local || yes
          ? undefined
          : (bond) => confirm(`Bond ${formatTokenAmount(bond)} AITBC from ${wallet.address} to register as a provider? [y/N] `),
    },
  );
  const said: Record<string, string> = { register: `registered ${wallet.address}`, "set-key": "receipt key rotated (receipts signed before now stay verifiable with the old key)", "add-models": "models added" };
  return result.actions.length === 0 ? "registration up to date" : result.actions.map((a) => said[a] ?? a).join("; ");
}

/**
 * Publishes where clients find this relayer's offer and the key private prompts are sealed to, unless the chain holds
 * them already. On a local chain the URL defaults to the API's own address; elsewhere it must be given, since only the
 * operator knows the public address.
 */
async function ensureEndpoint(
  ctx: DeployedContext,
  wallet: Wallet | HDNodeWallet,
  http: { host: string; port: number },
  serviceUrlFlag: string,
  local: boolean,
  encryptionKeyFile: string,
): Promise<string> {
  if (http.port < 0) return "none (the API is disabled, so there is no offer and no private jobs)";
  const given = serviceUrlFlag.trim();
  const host = http.host === "0.0.0.0" || http.host === "::" ? "127.0.0.1" : http.host.includes(":") ? `[${http.host}]` : http.host;
  const url = given !== "" ? parseServiceUrl(given) : local ? `http://${host}:${http.port}` : undefined;
  if (url === undefined) {
    return "none published: clients cannot check this relayer's offer or send it private jobs (pass --service-url https://<public address>)";
  }
  const keyFile = encryptionKeyFile;
  const { key, created } = await loadOrCreateEncryptionKeyFile(keyFile);
  if (created) ctx.say(`Encryption key ${key.publicKeyHex} (generated and stored in ${keyFile}, mode 0600)`);
  const result = await publishEndpoint(wallet.connect(ctx.ethers.provider), ctx.deployment, { encryptionKey: key.publicKeyHex, serviceUrl: url }, { onProgress: (line) => ctx.say(`  · ${line}`) });
  return result.action === "set" ? `${url} published with encryption key ${key.publicKeyHex}` : `${url} (up to date)`;
}

export default async function minerStartAction(args: StartArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, { json: false }, async (base) => {
    const ctx = await withDeployment(base);
    const connection = await hre.network.getOrCreate();
    const netConfig = connection.networkConfig;
    const rpcUrl = netConfig.type === "http" ? await netConfig.url.get() : undefined;
    if (rpcUrl === undefined) {
      throw new AitbcError("EPHEMERAL_NETWORK", "miner:start needs a network reachable over HTTP", { hint: "start `npx hardhat node` and pass --network localhost" });
    }
    const local = isLocalChain(ctx.chainId);
    const config = loadRelayerConfig({
      file: args.minerConfig === "" ? undefined : args.minerConfig,
      overrides: { network: ctx.networkName, rpcUrl, ...flagOverrides(args) },
      defaults: local ? { evm: { devAccountIndex: 1 } } : {},
    });
    const privateKey = local ? undefined : await keystoreKey(hre, ctx.networkName);
    const wallet =
      local && config.evm.devAccountIndex !== undefined && privateKey === undefined
        ? devAccount(config.evm.devAccountIndex)
        : resolveEvmWallet({ privateKey: privateKey ?? process.env.AITBC_RELAYER_PRIVATE_KEY, devAccountIndex: config.evm.devAccountIndex, chainId: ctx.chainId });
    // One key file per network and account (shared with provider:register), unless the flag or the config names one.
    const keyFile = args.keyFile !== "" ? args.keyFile : config.providerKeyFile ?? defaultKeyFile(ctx.networkName, wallet.address);
    const journal = config.journalPath ?? defaultJournalPath(config.network, wallet.address);
    ctx.say(`Provider ${wallet.address} on ${ctx.networkName} (chain ${ctx.chainId})`);

    // Everything that could stop the relayer from starting is checked before the registration is touched.
    await checkPortFree(config.http.host, config.http.port);
    // A free port is picked now, not by the server, so the endpoint published below names the port the API will use.
    if (config.http.port === 0) config.http.port = await pickFreePort(config.http.host);
    if (args.serviceUrl.trim() !== "") parseServiceUrl(args.serviceUrl);
    await checkJournalWritable(journal);
    await checkRuntime(config.runtime);

    const { key, created } = await loadOrCreateKeyFile(keyFile);
    ctx.say(`Receipt key ${key.keyId} (${created ? "generated and stored in" : "loaded from"} ${keyFile}, mode 0600)`);
    ctx.say(`Registration: ${await ensureRegistered(ctx, wallet, { key, file: keyFile }, Object.keys(config.models), { yes: args.yes, local, rotateKey: args.rotateKey })}`);
    ctx.say(`Endpoint: ${await ensureEndpoint(ctx, wallet, config.http, args.serviceUrl, local, config.encryptionKeyFile ?? defaultEncryptionKeyFile(ctx.networkName, wallet.address))}`);

    const logger = args.jsonLogs ? pino({ level: config.logLevel }) : pino({ level: "error" }, pino.destination(2));
    ctx.say(`Journal ${journal}; loading the ${config.runtime.kind} runtime…`);
    const encryptionKeyFile = config.encryptionKeyFile ?? defaultEncryptionKeyFile(ctx.networkName, wallet.address);
    const app = await startMiner({ ...config, providerKeyFile: keyFile, encryptionKeyFile }, { privateKey: wallet.privateKey, logger, hints: PROJECT_HINTS });
    const jobs = app.relayer.status().privateJobs;
    ctx.say(`Jobs: ${jobs.enabled ? `private and public (offer at ${app.relayer.apiUrl ?? "?"}/api/v1/offer)` : `public only: ${jobs.warning ?? "private jobs are off"}`}`);
    ctx.say(`Serving ${Object.keys(config.models).join(", ")}; API ${app.relayer.apiUrl ?? "disabled"}. Ctrl-C to stop.`);
    const interactive = !args.jsonLogs && process.stdout.isTTY === true;
    const timer = setInterval(() => {
      const line = formatStatusLine(app.relayer.status());
      if (interactive) process.stdout.write(`\r\x1b[2K${line}`);
      else if (!args.jsonLogs) console.log(line);
    }, interactive ? 1_000 : 10_000);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    clearInterval(timer);
    if (interactive) process.stdout.write("\n");
    ctx.say("Stopping (work in progress resumes from the journal on the next start)…");
    await app.close();
    return undefined;
  });
}
