import { JsonRpcProvider, Network } from "ethers";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";

import type { Deployment } from "../../lib/deployments.js";
import { AitbcError } from "../../lib/errors.js";
import { assertDeployment } from "../../lib/sdk/deployment.js";
import { describeContractRevert } from "../../lib/sdk/reverts.js";
import { AITBCGovernor__factory } from "../../typechain-types/factories/governance/AITBCGovernor__factory.js";
import { AITBCTimelock__factory } from "../../typechain-types/factories/governance/AITBCTimelock__factory.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IModelRegistry__factory } from "../../typechain-types/factories/interfaces/IModelRegistry__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { AITBCToken__factory } from "../../typechain-types/factories/token/AITBCToken__factory.js";
import type { AppConfig } from "./config.js";

export function connectContracts(deployment: Deployment, provider: JsonRpcProvider) {
  const c = deployment.contracts;
  return {
    token: AITBCToken__factory.connect(c.AITBCToken, provider),
    governor: AITBCGovernor__factory.connect(c.AITBCGovernor, provider),
    timelock: AITBCTimelock__factory.connect(c.AITBCTimelock, provider),
    models: c.ModelRegistry === undefined ? undefined : IModelRegistry__factory.connect(c.ModelRegistry, provider),
    providers: c.ProviderRegistry === undefined ? undefined : IProviderRegistry__factory.connect(c.ProviderRegistry, provider),
    escrow: c.JobEscrow === undefined ? undefined : IJobEscrow__factory.connect(c.JobEscrow, provider),
  };
}

export type Contracts = ReturnType<typeof connectContracts>;

export interface BlockInfo {
  number: number;
  timestamp: number;
  /** Wall-clock milliseconds when this page first saw the block. */
  seenAt: number;
}

export interface Chain {
  config: AppConfig;
  provider: JsonRpcProvider;
  contracts: Contracts;
  block: BlockInfo;
  /** Set while the node does not answer; the page keeps showing the last data it had. */
  rpcError?: string;
  /** Best estimate of the chain's current time (seconds): the latest block's timestamp plus the time since it was seen. */
  now(): number;
}

const ChainContext = createContext<Chain | undefined>(undefined);

export function useChain(): Chain {
  const chain = useContext(ChainContext);
  if (chain === undefined) throw new Error("useChain outside <ChainProvider>");
  return chain;
}

export function rpcProvider(config: AppConfig): JsonRpcProvider {
  const url = new URL(config.rpcProxy, window.location.href).href;
  // A static network skips ethers' chain-id probing on every request; the chain id is checked once in connectChain.
  return new JsonRpcProvider(url, Network.from(config.chainId), { staticNetwork: true, polling: false, cacheTimeout: -1 });
}

/** Checks that the node is the chain of the deployment and that the deployment still exists on it. */
export async function connectChain(config: AppConfig): Promise<{ provider: JsonRpcProvider; block: BlockInfo }> {
  const provider = rpcProvider(config);
  let chainIdHex: string;
  try {
    chainIdHex = (await provider.send("eth_chainId", [])) as string;
  } catch (cause) {
    throw new AitbcError("RPC_UNREACHABLE", `Cannot reach the ${config.network} node through the dashboard server (${describeError(cause)})`, {
      hint: "Start the node (`npx hardhat node`) or check the network's URL, then reload.",
      cause,
    });
  }
  // The provider's network is static (it never asks the node), so the chain id the node answered is passed in.
  await assertDeployment(provider, config.deployment, { chainId: BigInt(chainIdHex), target: "the dashboard" });
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new AitbcError("RPC_UNREACHABLE", "The node returned no latest block", { hint: "Check the node." });
  return { provider, block: { number: latest.number, timestamp: latest.timestamp, seenAt: Date.now() } };
}

export function ChainProvider(props: { config: AppConfig; provider: JsonRpcProvider; initialBlock: BlockInfo; children: ReactNode }) {
  const { config, provider } = props;
  const [block, setBlock] = useState(props.initialBlock);
  const [rpcError, setRpcError] = useState<string>();
  const [, setTick] = useState(0);
  const contracts = useRef(connectContracts(config.deployment, provider)).current;

  useEffect(() => {
    let stopped = false;
    let current = props.initialBlock.number;
    // A local node mines on demand (and tests jump its clock), so poll it often; public chains change every few seconds.
    const period = config.local ? 1_000 : 4_000;
    const poll = async () => {
      try {
        const number = await provider.getBlockNumber();
        if (number !== current) {
          const b = await provider.getBlock(number);
          if (b !== null && !stopped) {
            current = number;
            setBlock({ number, timestamp: b.timestamp, seenAt: Date.now() });
          }
        }
        if (!stopped) setRpcError(undefined);
      } catch (error) {
        if (!stopped) setRpcError(describeError(error));
      }
    };
    const timer = setInterval(poll, period);
    // Countdowns tick every second even when no block arrives.
    const ticker = setInterval(() => setTick((t) => t + 1), 1_000);
    return () => {
      stopped = true;
      clearInterval(timer);
      clearInterval(ticker);
    };
  }, [provider, config.local, props.initialBlock.number]);

  const chain: Chain = {
    config,
    provider,
    contracts,
    block,
    rpcError,
    now: () => block.timestamp + Math.max(0, Math.floor((Date.now() - block.seenAt) / 1_000)),
  };
  return <ChainContext.Provider value={chain}>{props.children}</ChainContext.Provider>;
}

export interface Query<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
}

/**
 * Runs `loader` now, again whenever a new block arrives and whenever `key` changes. While a reload runs the previous
 * data stays on screen; a failed reload keeps the data and reports the error.
 */
export function useChainQuery<T>(key: string, loader: (chain: Chain) => Promise<T>): Query<T> {
  const chain = useChain();
  const [state, setState] = useState<Query<T> & { key?: string }>({ loading: true });
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    loader(chain).then(
      (data) => {
        if (run === latest.current) setState({ data, loading: false, key });
      },
      (error: unknown) => {
        if (run === latest.current) setState((s) => ({ data: s.key === key ? s.data : undefined, error, loading: false, key }));
      },
    );
    // The loader closes over props that `key` stands for.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, chain.block.number]);
  if (state.key !== undefined && state.key !== key) return { loading: true };
  return state;
}

/** A short human message for anything thrown by ethers, the wallet, the RPC proxy or the library. */
export function describeError(error: unknown): string {
  if (error instanceof AitbcError) return error.hint === undefined ? error.message : `${error.message} — ${error.hint}`;
  const e = error as { code?: string; shortMessage?: string; message?: string; reason?: string; info?: { error?: { message?: string } } };
  if (e?.code === "ACTION_REJECTED") return "Transaction rejected in the wallet";
  const revert = describeContractRevert(error);
  if (revert !== undefined && revert.name !== "UnknownError") return `Reverted: ${revert.text}`;
  const inner = e?.info?.error?.message;
  if (inner !== undefined) return inner;
  return e?.shortMessage ?? e?.reason ?? e?.message ?? String(error);
}
