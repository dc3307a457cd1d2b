import { AitbcError } from "./errors.js";

/** Names of the contracts every deployment records. Market contracts are present once deployed. */
export type ContractName =
  | "AITBCToken"
  | "AITBCTimelock"
  | "AITBCGovernor"
  | "ModelRegistry"
  | "ProviderRegistry"
  | "JobEscrow"
  | "JobChannels";

export interface GovernanceParameters {
  /** Seconds between proposal creation and the vote start (the token clock is a timestamp). */
  votingDelay: number;
  /** Seconds the vote stays open. */
  votingPeriod: number;
  /** Tokens (base units, decimal string) a proposer needs. */
  proposalThreshold: string;
  /** Quorum as a percentage of the supply at the snapshot. */
  quorumPercent: number;
  /** Minimum timelock delay in seconds. */
  timelockDelay: number;
  /** Seconds a vote is extended when quorum is reached late. */
  lateQuorumExtension: number;
  /** Address that may cancel any proposal (zero address: none). */
  guardian: string;
}

export interface TokenParameters {
  /** Hard cap in base units (decimal string). */
  cap: string;
  /** Initial distribution: address → base units (decimal string). */
  initialDistribution: Record<string, string>;
}

export interface Deployment {
  /** File format version. */
  format: 1;
  network: string;
  chainId: number;
  /** Block the first contract was deployed in; watchers start here. */
  block: number;
  deployedAt: string;
  deployer: string;
  contracts: Partial<Record<ContractName, string>> & Record<"AITBCToken" | "AITBCTimelock" | "AITBCGovernor", string>;
  parameters: {
    governance: GovernanceParameters;
    token: TokenParameters;
    market?: Record<string, unknown>;
  };
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Validates a parsed deployment document; throws `DEPLOYMENT_INVALID` naming the first bad field. */
export function parseDeployment(value: unknown, source: string): Deployment {
  const fail = (what: string): never => {
    throw new AitbcError("DEPLOYMENT_INVALID", `${source} is not a valid deployment file: ${what}`, {
      hint: "Redeploy with `npx hardhat deploy --network <network> --redeploy`, or restore the file from version control.",
    });
  };
  if (typeof value !== "object" || value === null) return fail("not a JSON object");
  const d = value as Record<string, unknown>;
  if (d.format !== 1) fail(`unsupported format ${String(d.format)}`);
  if (typeof d.network !== "string") fail("missing `network`");
  if (!Number.isSafeInteger(d.chainId)) fail("missing or bad `chainId`");
  if (!Number.isSafeInteger(d.block)) fail("missing or bad `block`");
  if (typeof d.deployer !== "string" || !ADDRESS.test(d.deployer)) fail("missing or bad `deployer`");
  const contracts = d.contracts as Record<string, unknown> | undefined;
  if (typeof contracts !== "object" || contracts === null) return fail("missing `contracts`");
  for (const name of ["AITBCToken", "AITBCTimelock", "AITBCGovernor"]) {
    if (typeof contracts[name] !== "string" || !ADDRESS.test(contracts[name] as string)) fail(`missing address of ${name}`);
  }
  for (const [name, address] of Object.entries(contracts)) {
    if (typeof address !== "string" || !ADDRESS.test(address)) fail(`bad address for ${name}`);
  }
  if (typeof d.parameters !== "object" || d.parameters === null) fail("missing `parameters`");
  return value as Deployment;
}

/** The address of `name` in `deployment`, or a clear error when this deployment predates that contract. */
export function contractAddress(deployment: Deployment, name: ContractName): string {
  const address = deployment.contracts[name];
  if (address === undefined) {
    throw new AitbcError("CONTRACT_NOT_DEPLOYED", `${name} is not part of the deployment on ${deployment.network}`, {
      hint: `Redeploy with \`npx hardhat deploy --network ${deployment.network} --redeploy\`.`,
    });
  }
  return address;
}
