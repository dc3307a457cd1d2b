/**
 * `aitbc-evm/miner`: the relayer, embedded in the caller's process, with what a miner needs around it.
 *
 * The SDK (`aitbc-evm`) talks to the chain and to relayers; this entry runs one. It depends on the SDK (provider
 * registration, key files), never the other way round, so importing `aitbc-evm` stays light for clients and watchers
 * and never loads the relayer (SQLite journal, runtimes, HTTP API).
 */
import { parseRelayerConfig, type RelayerConfigInput } from "./app/config.js";
import { startRelayerApp, type RelayerApp, type StartOptions } from "./app/start.js";

export type { RelayerApp, StartOptions } from "./app/start.js";
export type { RelayerConfig, RelayerConfigInput } from "./app/config.js";
export { publishEndpoint, registerProvider, type EndpointResult, type ProviderRegistration, type RegistrationResult } from "../lib/sdk/miner.js";
export { loadOrCreateEncryptionKeyFile, loadOrCreateKeyFile, readEncryptionKeyFile, readKeyFile, type EncryptionKey, type ReceiptKey } from "../lib/node/key-file.js";

/**
 * Validates `config` (the relayer's configuration document, see docs/MINER.md) and starts the relayer: it watches
 * the deployment's escrow, accepts and runs jobs, signs receipts and settles them in anchored batches, and serves its
 * read API on `config.http`. The provider must already be registered with the receipt key in
 * `config.providerKeyFile` ({@link registerProvider}). Call `close()` on the result to stop it.
 *
 * @throws `RELAYER_INVALID_CONFIG` (a `RelayerError`, an `AitbcError`) naming every bad field, an unreachable
 *   node, a chain/deployment mismatch or a missing registration.
 */
export async function startMiner(config: RelayerConfigInput, options: StartOptions = {}): Promise<RelayerApp> {
  return startRelayerApp(parseRelayerConfig(config), options);
}
