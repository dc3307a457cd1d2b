import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { pino, type Logger } from "pino";

import { contractAddress, parseDeployment, type Deployment } from "../../lib/deployments.js";
import { loadOrCreateKeyFile, type ReceiptKey } from "../../lib/market/key-file.js";
import { ChainError } from "../adapters/chain/errors.js";
import { HttpTransport, RpcClient, RpcHealth, type RpcTransport } from "../adapters/chain/rpc.js";
import { Journal } from "../adapters/journal/journal.js";
import { createRuntime, type RuntimeConfig } from "../adapters/runtimes/index.js";
import type { Runtime } from "../adapters/runtimes/types.js";
import { RelayerError } from "../core/errors.js";
import { defaultConfirmations, defaultJournalPath, type RelayerConfig } from "./config.js";
import { MarketReader } from "./contracts.js";
import { resolveEvmWallet } from "./keys.js";
import { Relayer, type RelayerSettings } from "./relayer.js";
import { FileCursorStore } from "./stores.js";

export interface StartOptions {
  /** The provider's EVM private key (from Hardhat's keystore or the environment); never part of the config file. */
  privateKey?: string;
  /** Use this runtime instead of building the configured one (benchmarks, tests). */
  runtime?: Runtime;
  /** Use this transport instead of HTTP to `config.rpcUrl` (in-process chains). */
  transport?: RpcTransport;
  logger?: Logger;
  /** Repository root for relative default paths. */
  root?: string;
}

export interface RelayerApp {
  relayer: Relayer;
  journal: Journal;
  runtime: Runtime;
  deployment: Deployment;
  providerKey: ReceiptKey;
  journalPath: string;
  logger: Logger;
  /** Stops the relayer and releases the journal and the runtime. Safe to call twice. */
  close(): Promise<void>;
}

export function readDeploymentFile(file: string): Deployment {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `deployment file ${file} cannot be read`, {
      cause,
      hint: "deploy first (`npx hardhat deploy --network <network>`) or set deploymentFile",
    });
  }
  try {
    return parseDeployment(JSON.parse(text), file);
  } catch (cause) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `deployment file ${file} is not a valid deployment`, {
      cause,
      hint: "redeploy with `npx hardhat deploy --network <network> --redeploy`",
    });
  }
}

/** The runtime section, with the served on-chain model names added as aliases of the embedded model by default. */
export function runtimeConfigFor(config: RelayerConfig): RuntimeConfig {
  const rt = config.runtime;
  if (rt.kind === "embedded" && rt.aliases === undefined) {
    const names = Object.entries(config.models).filter(([, m]) => m.runtimeModel === undefined).map(([name]) => name);
    return { ...rt, aliases: names };
  }
  return rt;
}

/**
 * Builds every adapter from a validated config, checks the chain, the deployment and the provider's registration,
 * and starts the relayer. Anything wrong is reported as one error naming the fix; nothing is left half-open.
 */
export async function startRelayerApp(config: RelayerConfig, options: StartOptions = {}): Promise<RelayerApp> {
  const root = options.root ?? process.cwd();
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: "aitbc-relayer" } });
  const deploymentFile = path.resolve(root, config.deploymentFile ?? path.join("deployments", `${config.network}.json`));
  const deployment = readDeploymentFile(deploymentFile);

  const rpcHealth = new RpcHealth();
  const rpc = new RpcClient({
    transport: options.transport ?? new HttpTransport({ url: config.rpcUrl, name: config.network }),
    health: rpcHealth,
    retry: { maxAttempts: config.chain.rpcMaxAttempts, perCallTimeoutMs: config.chain.rpcTimeoutMs },
    onRetry: (e) => logger.debug({ module: "rpc", ...e }, "RPC retry"),
  });
  let chainId: bigint;
  try {
    chainId = BigInt(await rpc.call<string>("eth_chainId"));
  } catch (cause) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `cannot reach the RPC endpoint ${config.rpcUrl}`, {
      cause,
      hint: "start the node (`npx hardhat node`) or fix rpcUrl / AITBC_RPC_URL",
    });
  }
  if (BigInt(deployment.chainId) !== chainId || (config.chainId !== undefined && BigInt(config.chainId) !== chainId)) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `chain mismatch: the node is chain ${chainId}, the deployment ${deployment.chainId}${config.chainId === undefined ? "" : `, the config ${config.chainId}`}`, {
      hint: "point rpcUrl at the chain the deployment file describes, or use the deployment file of this chain",
    });
  }
  const contracts = {
    escrow: contractAddress(deployment, "JobEscrow"),
    providerRegistry: contractAddress(deployment, "ProviderRegistry"),
    modelRegistry: contractAddress(deployment, "ModelRegistry"),
  };
  const code = await rpc.call<string>("eth_getCode", [contracts.escrow, "latest"]);
  if (code === "0x") {
    throw new RelayerError("RELAYER_INVALID_CONFIG", `no JobEscrow at ${contracts.escrow} on chain ${chainId} (was the node restarted?)`, {
      hint: `redeploy: \`npx hardhat deploy --network ${config.network} --redeploy\``,
    });
  }

  const wallet = resolveEvmWallet({ privateKey: options.privateKey ?? process.env.AITBC_RELAYER_PRIVATE_KEY, devAccountIndex: config.evm.devAccountIndex, chainId });
  const keyFile = path.resolve(root, config.providerKeyFile);
  const { key: providerKey } = await loadOrCreateKeyFile(keyFile);
  const market = new MarketReader(rpc, contracts);
  const entry = await market.provider(wallet.address);
  if (!entry.registered || entry.receiptKey !== providerKey.publicKeyHex) {
    throw new RelayerError("RELAYER_INVALID_CONFIG", entry.registered
      ? `the receipt key registered for ${wallet.address} is not the key in ${keyFile}`
      : `${wallet.address} is not a registered provider`, {
      hint: "run `npx hardhat miner:start --network <network>`: it registers the provider (or updates its key) before starting",
      details: { registeredKey: entry.receiptKey, localKey: providerKey.publicKeyHex },
    });
  }

  const journalPath = path.resolve(root, config.journalPath ?? defaultJournalPath(config.network, wallet.address, root));
  mkdirSync(path.dirname(journalPath), { recursive: true });
  const journal = Journal.open(journalPath);
  let runtime: Runtime | undefined = options.runtime;
  try {
    runtime ??= await createRuntime(runtimeConfigFor(config));
    const confirmations = config.chain.confirmations ?? defaultConfirmations(chainId);
    const settings: RelayerSettings = {
      models: new Map(
        Object.entries(config.models).map(([name, m]) => [
          name,
          { minRate: BigInt(m.minRate), maxUnitsMilli: BigInt(m.maxUnitsMilli), runtimeModel: m.runtimeModel ?? name },
        ]),
      ),
      maxConcurrentJobs: config.policy.maxConcurrentJobs,
      maxJobPrice: config.policy.maxJobPrice === undefined ? null : BigInt(config.policy.maxJobPrice),
      deadlineMarginSeconds: config.policy.deadlineMarginSeconds,
      maxPromptBytes: config.policy.maxPromptBytes,
      maxAcceptBatch: config.policy.maxAcceptBatch,
      maxTokens: config.run.maxTokens,
      runTimeoutMs: config.run.timeoutMs,
      runConcurrency: config.run.concurrency,
      batching: {
        maxItems: config.batching.maxItems,
        maxAgeSeconds: config.batching.maxAgeSeconds,
        deadlineMarginSeconds: config.batching.deadlineMarginSeconds,
        maxInFlight: config.batching.maxInFlight,
        gasBudget: BigInt(config.batching.gasBudget),
        baseGas: BigInt(config.batching.baseGas),
        perItemGas: BigInt(config.batching.perItemGas),
      },
      confirmations,
      pollIntervalMs: config.chain.pollIntervalMs,
      maxFeePerGas: BigInt(config.chain.maxFeePerGasGwei) * 1_000_000_000n,
      stuckAfterMs: config.chain.stuckAfterSeconds * 1000,
      httpPort: config.http.port,
      httpHost: config.http.host,
      corsOrigin: config.http.corsOrigin,
      health: { maxRecentRpcErrors: config.health.maxRecentRpcErrors, maxJournalLagBlocks: config.health.maxJournalLagBlocks },
    };
    const relayer = new Relayer({
      rpc,
      rpcHealth,
      signer: wallet,
      receiptSecretKey: providerKey.secretKey,
      runtime,
      journal,
      cursorStore: new FileCursorStore(`${journalPath}.cursor.json`),
      logger,
      chainId,
      contracts,
      startBlock: deployment.block,
      settings,
    });
    await relayer.start();
    let closed: Promise<void> | null = null;
    const rt = runtime;
    return {
      relayer,
      journal,
      runtime: rt,
      deployment,
      providerKey,
      journalPath,
      logger,
      close() {
        closed ??= (async () => {
          await relayer.stop();
          if (options.runtime === undefined) await rt.close();
          journal.close();
        })();
        return closed;
      },
    };
  } catch (error) {
    if (options.runtime === undefined) await runtime?.close().catch(() => undefined);
    journal.close();
    if (error instanceof ChainError && error.code === "CHAIN_INVALID_CONFIG") {
      throw new RelayerError("RELAYER_INVALID_CONFIG", error.message, { cause: error, hint: error.hint });
    }
    throw error;
  }
}
