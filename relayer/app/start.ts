import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

import { pino, type Logger } from "pino";

import { contractAddress, type Deployment } from "../../lib/deployments.js";
import { isAitbcError } from "../../lib/errors.js";
import { loadDeployment } from "../../lib/node/deployments-fs.js";
import { defaultEncryptionKeyFile, defaultKeyFile, loadOrCreateKeyFile, readEncryptionKeyFile, type ReceiptKey } from "../../lib/node/key-file.js";
import { ChainError } from "../adapters/chain/errors.js";
import { HttpTransport, RpcClient, RpcHealth, type RpcTransport } from "../adapters/chain/rpc.js";
import { TxSender } from "../adapters/chain/sender.js";
import { LogWatcher, type LogBatch } from "../adapters/chain/watcher.js";
import { Journal, type JournalIdentity } from "../adapters/journal/journal.js";
import { createRuntime, type RuntimeConfig } from "../adapters/runtimes/index.js";
import type { Runtime } from "../adapters/runtimes/types.js";
import { RelayerError } from "../core/errors.js";
import { defaultConfirmations, defaultJournalPath, type RelayerConfig } from "./config.js";
import { ChannelReader, MarketReader, WATCHED_TOPICS } from "./contracts.js";
import { resolveEvmWallet } from "./keys.js";
import { PACKAGE_HINTS, type RelayerHints } from "./hints.js";
import type { PrivateKeyState } from "./private.js";
import { Relayer, type RelayerSettings } from "./relayer.js";
import { hasAllCode, identityMismatch, readLiveIdentity, type HistoryMarks, type LiveIdentity } from "./identity.js";
import { acquireLock, defaultLockDir, identityLockFile, type HeldLock } from "./locks.js";

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
  /** Directory of the machine-wide provider-identity locks (default: AITBC_RELAYER_LOCK_DIR or the OS temp dir). */
  lockDir?: string;
  /** The fixes named when the start is refused (default: those for the installed package, {@link PACKAGE_HINTS}). */
  hints?: RelayerHints;
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

/** The deployment file through the one loader (`lib/node/deployments-fs.ts`), refused as a config error with the fix. */
async function readDeploymentFile(file: string, hints: RelayerHints): Promise<Deployment> {
  try {
    return await loadDeployment(file);
  } catch (cause) {
    const missing = isAitbcError(cause, "DEPLOYMENT_MISSING");
    const message = missing ? `deployment file ${file} cannot be read` : `deployment file ${file} is not a valid deployment`;
    throw new RelayerError("RELAYER_INVALID_CONFIG", message, { cause, hint: missing ? hints.deploymentMissing : hints.deploymentInvalid });
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

/** Tries `eth_chainId` until it answers or `seconds` pass, backing off; an endpoint that never answers is an outage. */
async function connect(rpc: RpcClient, config: RelayerConfig, logger: Logger, hints: RelayerHints): Promise<bigint> {
  const deadline = Date.now() + config.chain.startupRetrySeconds * 1000;
  let wait = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return BigInt(await rpc.call<string>("eth_chainId"));
    } catch (cause) {
      if (Date.now() + wait > deadline) {
        throw new RelayerError("RELAYER_RPC_UNAVAILABLE", `the RPC endpoint ${config.rpcUrl} does not answer (tried ${attempt} times over ${config.chain.startupRetrySeconds} s)`, {
          cause,
          details: { rpcUrl: config.rpcUrl, attempts: attempt },
          hint: hints.rpcUnavailable,
        });
      }
      logger.warn({ module: "start", attempt, retryInMs: wait, code: isAitbcCode(cause) }, "RPC endpoint does not answer yet; retrying");
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

function isAitbcCode(error: unknown): string {
  return error instanceof ChainError ? error.code : "RPC_ERROR";
}

/** Binds the API port for a moment, so a port in use is refused before the journal, the sender or the watcher open. */
async function checkPortFree(port: number, host: string): Promise<void> {
  if (port <= 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new RelayerError("RELAYER_PORT_IN_USE", `the API port ${host}:${port} is ${error.code === "EADDRINUSE" ? "already in use" : `not available (${error.code ?? error.message})`}`, {
          cause: error,
          details: { port, host },
          hint: "another relayer (or program) listens there: stop it, or pick another port with --port / http.port / AITBC_RELAYER_PORT (0 picks a free one)",
        }),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The blocks the journal's watcher cursor remembers, oldest first (what a chain reset makes non-canonical). */
function journalMarks(journal: Journal): HistoryMarks {
  const cursor = journal.blocks.load();
  if (cursor === null) return [];
  const marks = cursor.history.map((m) => ({ number: m.number, hash: m.hash }));
  if (!marks.some((m) => m.number === cursor.blockNumber)) marks.push({ number: cursor.blockNumber, hash: cursor.blockHash });
  return marks;
}

function identityOf(live: LiveIdentity, provider: string, contracts: JournalIdentity["contracts"]): JournalIdentity {
  return {
    chainId: live.chainId,
    genesisHash: live.genesisHash,
    anchorBlock: live.anchorBlock,
    anchorHash: live.anchorHash ?? "",
    provider,
    contracts: { escrow: contracts.escrow.toLowerCase(), providerRegistry: contracts.providerRegistry.toLowerCase(), modelRegistry: contracts.modelRegistry.toLowerCase() },
    codeHashes: live.codeHashes,
    createdAt: Math.floor(Date.now() / 1000),
  };
}

/**
 * Checks the journal against the chain: a journal records what it belongs to when it is created, and every later
 * start must find the same chain id, genesis, deployment block, addresses and code. A journal from before identities
 * were recorded is adopted only if its last processed block is still on this chain.
 */
async function verifyJournalIdentity(journal: Journal, live: LiveIdentity, rpc: RpcClient, provider: string, contracts: JournalIdentity["contracts"], journalPath: string): Promise<JournalIdentity> {
  const recorded = journal.meta.identity();
  if (recorded === null) {
    const cursor = journal.blocks.position();
    const m = journal.metrics();
    const used = cursor !== null || Object.values(m.jobsByState).some((n) => n > 0) || Object.values(m.txsByStatus).some((n) => n > 0);
    if (used) {
      const block = cursor === null ? null : await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [`0x${cursor.blockNumber.toString(16)}`, false]);
      if (block === null || block.hash.toLowerCase() !== cursor?.blockHash) {
        throw new RelayerError("RELAYER_CHAIN_RESET", `journal ${journalPath} belongs to a chain that no longer exists: its last block ${cursor?.blockNumber ?? "?"} is not on this chain`, {
          hint: `the node was reset or replaced: move ${journalPath} aside (keep it for the old receipts) and start again`,
        });
      }
    }
    const identity = identityOf(live, provider, contracts);
    journal.meta.recordIdentity(identity);
    return identity;
  }
  if (recorded.provider !== provider) {
    throw new RelayerError("JOURNAL_FOREIGN", `journal ${journalPath} belongs to provider ${recorded.provider}, not ${provider}`, {
      hint: "each provider has its own journal: point journalPath at this provider's journal, or at a path that does not exist yet",
    });
  }
  const mismatch = identityMismatch(recorded, live, contracts, journalPath);
  if (mismatch !== null) throw mismatch;
  return recorded;
}

/**
 * The encryption key private jobs need: the key file's, when it is the one the provider published on-chain. A missing
 * file, a provider with no published key, or another key published means public jobs only, with the fix in the
 * warning. A file that exists but is unreadable or corrupt stops the start (`KEY_FILE_*`).
 */
async function privateKeyState(market: MarketReader, address: string, file: string): Promise<PrivateKeyState> {
  let key;
  try {
    key = await readEncryptionKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return { enabled: false, warning: `no encryption key file ${file}; create and publish one with \`npx hardhat provider:endpoint\`` };
  }
  const published = (await market.endpoint(address)).encryptionKey;
  if (published === null) {
    return { enabled: false, warning: `${address} has published no encryption key on-chain; publish ${file} with \`npx hardhat provider:endpoint\`` };
  }
  if (published !== key.publicKeyHex.toLowerCase()) {
    return { enabled: false, warning: `the encryption key in ${file} (${key.publicKeyHex}) is not the one published on-chain (${published}); publish it with \`npx hardhat provider:endpoint\` or point encryptionKeyFile at the published key's file` };
  }
  return { enabled: true, keyPair: { publicKey: key.publicKey, privateKey: key.privateKey } };
}

/**
 * Builds every adapter from a validated config, checks the chain, the deployment and the provider's registration,
 * and starts the relayer. Anything wrong is reported as one error naming the fix; nothing is left half-open.
 *
 * Order (each step only after the previous one passed): deployment file and keys → exclusive locks on the journal,
 * the receipt key and the provider address (a second relayer is refused here, before anything opens) → the RPC
 * endpoint (an outage is retried, then reported as `RELAYER_RPC_UNAVAILABLE`) → chain and deployment checks → API port
 * → journal, checked against the chain it belongs to → runtime → the relayer (API, sender, watcher).
 */
export async function startRelayerApp(config: RelayerConfig, options: StartOptions = {}): Promise<RelayerApp> {
  const root = options.root ?? process.cwd();
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: "aitbc-relayer" } });
  const deploymentFile = path.resolve(root, config.deploymentFile ?? path.join("deployments", `${config.network}.json`));
  const hints = options.hints ?? PACKAGE_HINTS;
  const deployment = await readDeploymentFile(deploymentFile, hints);
  const contracts = {
    escrow: contractAddress(deployment, "JobEscrow"),
    providerRegistry: contractAddress(deployment, "ProviderRegistry"),
    modelRegistry: contractAddress(deployment, "ModelRegistry"),
  };
  // The channel mode runs beside the escrow when the deployment has the channel contract.
  const channelsAddress = deployment.contracts.JobChannels;
  const deploymentChainId = BigInt(deployment.chainId);
  const wallet = resolveEvmWallet({ privateKey: options.privateKey ?? process.env.AITBC_RELAYER_PRIVATE_KEY, devAccountIndex: config.evm.devAccountIndex, chainId: deploymentChainId });
  const provider = wallet.address.toLowerCase();
  const keyFile = path.resolve(root, config.providerKeyFile ?? defaultKeyFile(config.network, wallet.address));
  const encryptionKeyFile = path.resolve(root, config.encryptionKeyFile ?? defaultEncryptionKeyFile(config.network, wallet.address));
  const journalPath = path.resolve(root, config.journalPath ?? defaultJournalPath(config.network, wallet.address, root));
  const lockDir = options.lockDir ?? defaultLockDir();

  const locks: HeldLock[] = [];
  let journal: Journal | undefined;
  let runtime: Runtime | undefined = options.runtime;
  const releaseAll = () => {
    for (const lock of locks.splice(0).reverse()) lock.release();
  };
  try {
    mkdirSync(path.dirname(journalPath), { recursive: true });
    locks.push(acquireLock(`${journalPath}.lock`, "journal", journalPath));
    locks.push(acquireLock(`${keyFile}.lock`, "receipt key", keyFile));
    const { key: providerKey } = await loadOrCreateKeyFile(keyFile);
    locks.push(acquireLock(identityLockFile(lockDir, "key", "ed25519", providerKey.publicKeyHex), "receipt key", providerKey.publicKeyHex));

    const rpcHealth = new RpcHealth();
    const rpc = new RpcClient({
      transport: options.transport ?? new HttpTransport({ url: config.rpcUrl, name: config.network }),
      health: rpcHealth,
      retry: { maxAttempts: config.chain.rpcMaxAttempts, perCallTimeoutMs: config.chain.rpcTimeoutMs },
      onRetry: (e) => logger.debug({ module: "rpc", ...e }, "RPC retry"),
    });
    const chainId = await connect(rpc, config, logger, hints);
    if (deploymentChainId !== chainId || (config.chainId !== undefined && BigInt(config.chainId) !== chainId)) {
      throw new RelayerError("RELAYER_INVALID_CONFIG", `chain mismatch: the node is chain ${chainId}, the deployment ${deployment.chainId}${config.chainId === undefined ? "" : `, the config ${config.chainId}`}`, {
        hint: "point rpcUrl at the chain the deployment file describes, or use the deployment file of this chain",
      });
    }
    const live = await readLiveIdentity(rpc, contracts, deployment.block);
    // One relayer per provider address and deployment on this machine (the deployment block's hash tells two local
    // chains with the same id and addresses apart).
    locks.push(
      acquireLock(
        identityLockFile(lockDir, "address", `${chainId}-${contracts.escrow.slice(2, 12)}-${(live.anchorHash ?? "none").slice(2, 14)}`, provider),
        "provider address",
        `${wallet.address} on chain ${chainId}`,
      ),
    );
    await checkPortFree(config.http.port, config.http.host);

    const noContracts = () =>
      new RelayerError("RELAYER_INVALID_CONFIG", `no AITBC contracts at the deployment's addresses on chain ${chainId} (JobEscrow ${contracts.escrow}); was the node restarted?`, {
        hint: hints.contractsGone(config.network),
      });
    // Nothing to serve and no journal yet: refuse before creating one.
    if (!hasAllCode(live) && !existsSync(journalPath)) throw noContracts();
    journal = Journal.open(journalPath);
    journal.blocks.adoptLegacyFile(`${journalPath}.cursor.json`);
    if (journal.meta.identity() !== null || hasAllCode(live)) {
      const withHistory = { ...live, historyCanonical: (await readLiveIdentity(rpc, contracts, deployment.block, journalMarks(journal))).historyCanonical };
      await verifyJournalIdentity(journal, withHistory, rpc, provider, contracts, journalPath);
    }
    if (!hasAllCode(live)) throw noContracts();

    const market = new MarketReader(rpc, contracts);
    const entry = await market.provider(wallet.address);
    if (!entry.registered || entry.receiptKey !== providerKey.publicKeyHex) {
      throw new RelayerError("RELAYER_INVALID_CONFIG", entry.registered
        ? `the receipt key registered for ${wallet.address} is not the key in ${keyFile}`
        : `${wallet.address} is not a registered provider`, {
        hint: hints.notRegistered,
        details: { registeredKey: entry.receiptKey, localKey: providerKey.publicKeyHex },
      });
    }

    const encryption = await privateKeyState(market, wallet.address, encryptionKeyFile);

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
      contextTokens: config.run.contextTokens ?? null,
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
      unpaidGraceSeconds: config.channels.unpaidGraceSeconds,
      pollIntervalMs: config.chain.pollIntervalMs,
      maxFeePerGas: BigInt(config.chain.maxFeePerGasGwei) * 1_000_000_000n,
      stuckAfterMs: config.chain.stuckAfterSeconds * 1000,
      httpPort: config.http.port,
      httpHost: config.http.host,
      corsOrigin: config.http.corsOrigin,
      health: {
        maxRecentRpcErrors: config.health.maxRecentRpcErrors,
        maxJournalLagBlocks: config.health.maxJournalLagBlocks,
        maxPollSilenceMs: config.health.maxPollSilenceSeconds * 1000,
        maxTxPendingMs: config.health.maxTxPendingSeconds * 1000,
        maxHeadSilenceMs: config.health.maxHeadSilenceSeconds === undefined ? null : config.health.maxHeadSilenceSeconds * 1000,
        probeIntervalMs: config.health.probeIntervalMs,
      },
    };
    const j0 = journal;
    const sender = new TxSender({
      rpc,
      signer: wallet,
      store: journal.transactions,
      maxFeePerGasCap: settings.maxFeePerGas,
      chainId,
      // The sender's count includes the including block; the relayer's setting counts blocks on top of it.
      confirmations: confirmations + 1,
      pollIntervalMs: Math.min(settings.pollIntervalMs, 1000),
      stuckAfterMs: settings.stuckAfterMs,
    });
    const watch = (onLogs: (batch: LogBatch) => Promise<void>) =>
      new LogWatcher({
        rpc,
        address: contracts.escrow.toLowerCase(),
        topics: [WATCHED_TOPICS],
        startBlock: deployment.block,
        confirmations,
        cursorStore: j0.blocks,
        onLogs,
        historyBlocks: Math.max(64, confirmations + 1),
        pollIntervalMs: settings.pollIntervalMs,
      });
    const relayer = new Relayer({
      rpc,
      rpcHealth,
      provider,
      sender,
      market,
      watch,
      receiptSecretKey: providerKey.secretKey,
      runtime,
      journal,
      logger,
      chainId,
      contracts,
      settings,
      identity: { check: () => readLiveIdentity(rpc, contracts, deployment.block, journalMarks(j0)), journalPath },
      encryption,
      ...(channelsAddress === undefined
        ? {}
        : { channels: { address: channelsAddress, reader: new ChannelReader(rpc, { channels: channelsAddress, modelRegistry: contracts.modelRegistry }, wallet.address) } }),
    });
    await relayer.start();
    let closed: Promise<void> | null = null;
    const rt = runtime;
    const j = journal;
    return {
      relayer,
      journal: j,
      runtime: rt,
      deployment,
      providerKey,
      journalPath,
      logger,
      close() {
        closed ??= (async () => {
          try {
            await relayer.stop();
            if (options.runtime === undefined) await rt.close();
            j.close();
          } finally {
            releaseAll();
          }
        })();
        return closed;
      },
    };
  } catch (error) {
    if (options.runtime === undefined) await runtime?.close().catch(() => undefined);
    journal?.close();
    releaseAll();
    if (error instanceof ChainError && error.code === "CHAIN_INVALID_CONFIG") {
      throw new RelayerError("RELAYER_INVALID_CONFIG", error.message, { cause: error, hint: error.hint });
    }
    throw error;
  }
}
