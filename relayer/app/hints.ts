/**
 * The fixes the relayer names when it refuses to start, for the way it was started: the installed `aitbc-miner`
 * command or the SDK ({@link PACKAGE_HINTS}, no project checkout assumed), or `npx hardhat miner:start` in the
 * project ({@link PROJECT_HINTS}).
 */
export interface RelayerHints {
  /** The deployment file is missing or unreadable. */
  deploymentMissing: string;
  /** The deployment file is not a deployment. */
  deploymentInvalid: string;
  /** The deployment's contracts are not on the chain (node restarted, contracts deployed again). */
  contractsGone: (network: string) => string;
  /** Nothing answers at the RPC URL. */
  rpcUnavailable: string;
  /** The provider is not registered with this receipt key. */
  notRegistered: string;
}

export const PACKAGE_HINTS: RelayerHints = {
  deploymentMissing:
    "pass the marketplace's deployment file with --deployment-file (or deploymentFile in the config): it is the JSON the deployment wrote, deployments/<network>.json; ask the marketplace's operator for it, or copy it from the project that deployed the contracts",
  deploymentInvalid: "use the deployment file exactly as the deployment wrote it (deployments/<network>.json); ask the marketplace's operator for a fresh copy",
  contractsGone: (network) =>
    `the contracts were deployed again or the node was reset: get the current deployment file of ${network} from the marketplace's operator and pass it with --deployment-file`,
  rpcUnavailable:
    "an outage, not a configuration error: start the chain's node or wait for the provider to recover, then start again (a supervisor may simply restart the relayer); check --rpc-url / rpcUrl / AITBC_RPC_URL if it never answers",
  notRegistered:
    "register the provider with this receipt key first (`registerProvider` of the aitbc-evm package, with the key file's public key), then start again; it must stake the provider bond",
};

export const PROJECT_HINTS: RelayerHints = {
  deploymentMissing: "deploy first (`npx hardhat deploy --network <network>`) or set deploymentFile",
  deploymentInvalid: "redeploy with `npx hardhat deploy --network <network> --redeploy`",
  contractsGone: (network) => `redeploy: \`npx hardhat deploy --network ${network} --redeploy\``,
  rpcUnavailable:
    "an outage, not a configuration error: start the node (`npx hardhat node`) or wait for the provider to recover, then start again (a supervisor may simply restart the relayer); check rpcUrl / AITBC_RPC_URL if it never answers",
  notRegistered: "run `npx hardhat miner:start --network <network>`: it registers the provider (or updates its key) before starting",
};
