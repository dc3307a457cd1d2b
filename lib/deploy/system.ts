import type { Signer } from "ethers";

import { isLocalChain } from "../sdk/deployment.js";
import { defaultParameters, deployGovernance, describeDeployment, finalizeGovernance, type DistributionEntry, type ProgressFn } from "./deploy.js";
import { defaultMarketParameters, deployMarket, type MarketParameters } from "./market.js";
import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";

export interface DeploySystemOptions {
  network: string;
  /** Accounts funded with test tokens on local chains. */
  devAccounts?: string[];
  guardian?: string;
  /** Public networks: the initial holders of the circulating supply (required there, see `defaultParameters`). */
  distribution?: readonly DistributionEntry[];
  /** Overrides of the marketplace defaults for the chain kind. */
  market?: Partial<MarketParameters>;
  progress?: ProgressFn;
}

/**
 * Deploys the whole system (token, timelock, governor, marketplace) with the default parameters for the chain kind;
 * no deployer privilege exists at any point (see `deployGovernance`). Returns the deployment document.
 */
export async function deploySystem(deployer: Signer, options: DeploySystemOptions): Promise<Deployment> {
  const provider = deployer.provider;
  if (provider === null) throw new AitbcError("NO_PROVIDER", "The deployer signer is not connected to a chain");
  const chainId = (await provider.getNetwork()).chainId;
  const local = isLocalChain(chainId);
  const deployerAddress = await deployer.getAddress();
  const params = defaultParameters({ local, deployer: deployerAddress, devAccounts: local ? options.devAccounts : [], guardian: options.guardian, distribution: options.distribution });
  const progress = options.progress ?? (() => {});
  const governance = await deployGovernance(deployer, params, progress);
  progress("marketplace: rate card, provider registry, job escrow, job channels");
  const marketParams: MarketParameters = { ...defaultMarketParameters(local), ...options.market };
  const market = await deployMarket(
    deployer,
    { token: governance.token, timelock: governance.timelock, treasury: governance.timelock },
    marketParams,
    { nonce: governance.nextNonce },
  );
  progress("check: the deployer holds no role on the timelock");
  await finalizeGovernance(deployer, governance.timelock);
  return describeDeployment({
    network: options.network,
    chainId,
    deployer: deployerAddress,
    governance,
    params,
    market: {
      contracts: {
        ModelRegistry: market.addresses.modelRegistry,
        ProviderRegistry: market.addresses.providerRegistry,
        JobEscrow: market.addresses.jobEscrow,
        JobChannels: market.addresses.jobChannels,
      },
      parameters: {
        feeBps: marketParams.feeBps,
        disputeWindow: marketParams.disputeWindow,
        disputeTimeout: marketParams.disputeTimeout,
        maxDeadlineDelay: marketParams.maxDeadlineDelay,
        minBond: marketParams.minBond.toString(),
        unbondingPeriod: marketParams.unbondingPeriod,
        exposureMultiple: marketParams.exposureMultiple,
        disputeBond: marketParams.disputeBond.toString(),
        rateCard: marketParams.rateCard.map((m) => ({ name: m.name, unitType: m.unitType, rate: m.rate.toString() })),
        channels: { ...marketParams.channels, disputeBond: marketParams.channels.disputeBond.toString() },
      },
    },
  });
}
