/**
 * Miner: register as a provider (bond, Ed25519 receipt key, models), publish the endpoint (the API's URL and an X25519
 * key, so clients can read the offer and seal private prompts to it) and run the relayer inside this process. The
 * relayer watches the escrow, accepts jobs for the served models, runs them on the configured runtime (an embedded
 * llama.cpp with a tiny generated model by default), signs receipts and settles them in anchored batches, and serves
 * its read API.
 *
 *   AITBC_RELAYER_PRIVATE_KEY=0x… node --conditions=aitbc-source --import tsx examples/miner-embedded-relayer.ts \
 *     --rpc-url http://127.0.0.1:8545 --deployment deployments/localhost.json --port 8645
 *
 * It imports the package `aitbc-evm`: copied into a project that depends on it, drop `--conditions=aitbc-source`
 * (that condition, used from this repository only, maps the package to its TypeScript sources instead of dist/).
 */
import { createServer } from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

import { JsonRpcProvider, NonceManager, Wallet } from "ethers";

import { loadDeployment } from "aitbc-evm";
import { loadOrCreateEncryptionKeyFile, loadOrCreateKeyFile, publishEndpoint, registerProvider, startMiner, type RelayerApp } from "aitbc-evm/miner";

export interface MinerExampleOptions {
  rpcUrl: string;
  deploymentFile: string;
  privateKey: string;
  /** Where the receipt key (created if missing, mode 0600) and the journal live. */
  dataDir: string;
  /** HTTP port of the relayer's API (0: any free port). */
  port: number;
  models?: string[];
  log?: (line: string) => void;
}

/** A port free on 127.0.0.1 now: the endpoint is published before the relayer listens, so it must name the port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

export async function main(options: MinerExampleOptions): Promise<{ app: RelayerApp; apiUrl: string }> {
  const log = options.log ?? console.log;
  const models = options.models ?? ["llama3.2"];
  const deployment = await loadDeployment(options.deploymentFile);
  const keyFile = path.join(options.dataDir, "receipt-key.json");
  const { key, created } = await loadOrCreateKeyFile(keyFile);
  log(`receipt key ${key.keyId} (${created ? "new" : "existing"}, ${keyFile})`);

  const port = options.port === 0 ? await freePort() : options.port;
  const encryptionKeyFile = path.join(options.dataDir, "encryption-key.json");
  const { key: encryptionKey } = await loadOrCreateEncryptionKeyFile(encryptionKeyFile);
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true });
  try {
    const signer = new NonceManager(new Wallet(options.privateKey, provider));
    const registration = await registerProvider(signer, deployment, { receiptKey: key.publicKeyHex, models });
    log(`provider ${registration.provider}: ${registration.actions.length === 0 ? "registration up to date" : registration.actions.join(", ")}`);
    // A public miner publishes the URL clients reach it at (behind TLS); this example serves on loopback.
    const endpoint = await publishEndpoint(signer, deployment, { encryptionKey: encryptionKey.publicKeyHex, serviceUrl: `http://127.0.0.1:${port}` });
    log(`endpoint http://127.0.0.1:${port}: ${endpoint.action === "set" ? "published" : "up to date"}`);
  } finally {
    provider.destroy();
  }

  const app = await startMiner(
    {
      network: deployment.network,
      rpcUrl: options.rpcUrl,
      deploymentFile: path.resolve(options.deploymentFile),
      providerKeyFile: keyFile,
      encryptionKeyFile,
      journalPath: path.join(options.dataDir, "journal.sqlite"),
      models: Object.fromEntries(models.map((m) => [m, {}])),
      // Small batches settle quickly; a production miner batches more to save gas.
      batching: { maxItems: 20, maxAgeSeconds: 1 },
      chain: { pollIntervalMs: 250 },
      http: { port, host: "127.0.0.1" },
      logLevel: "warn",
    },
    { privateKey: options.privateKey },
  );
  const apiUrl = app.relayer.apiUrl;
  if (apiUrl === null) {
    await app.close();
    throw new Error("the relayer started without its HTTP API");
  }
  log(`relayer running; API at ${apiUrl}`);
  return { app, apiUrl };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      "rpc-url": { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      "data-dir": { type: "string", default: ".aitbc/example-miner" },
      port: { type: "string", default: "8645" },
      models: { type: "string", default: "llama3.2" },
    },
  });
  const privateKey = process.env.AITBC_RELAYER_PRIVATE_KEY;
  if (privateKey === undefined) {
    console.error("set AITBC_RELAYER_PRIVATE_KEY to the provider's private key");
    process.exit(2);
  }
  main({
    rpcUrl: values["rpc-url"],
    deploymentFile: values.deployment,
    privateKey,
    dataDir: values["data-dir"],
    port: Number(values.port),
    models: values.models.split(","),
  }).then(
    ({ app }) => {
      const stop = () => void app.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
