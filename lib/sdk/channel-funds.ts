/**
 * The client's money in the channel job mode (contracts/market/JobChannels.sol): open or top up a prepaid channel to
 * a provider, read it, and take what is left back after the withdrawal delay. Each call checks what the contract
 * would refuse first and says so with the fix; nothing is sent then.
 *
 * A channel is (client, provider): its balance pays only that provider's vouchers, so a client cannot promise the same
 * tokens to two providers. A withdrawal is two steps: `requestChannelWithdrawal` starts the delay (the provider can
 * still claim vouchers and served jobs until it ends), `withdrawChannel` pays the whole remaining balance once it has.
 */
import { getAddress, isAddress, type Provider, type Signer } from "ethers";

import { AITBCToken__factory, JobChannels__factory, ProviderRegistry__factory, type JobChannels } from "../../typechain-types/index.js";
import { contractAddress, type Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { formatDuration } from "../time.js";
import { formatAitbc } from "../money/amounts.js";
import { chainTime } from "./market.js";
import { sendTransaction, type SentTx } from "./tx.js";

type ProgressFn = (line: string) => void;

/** One channel as the contract holds it, with what the client can do with it now. */
export interface ChannelState {
  channels: string;
  client: string;
  provider: string;
  /** Tokens in the channel, not yet claimed by the provider (base units). */
  balance: bigint;
  /** The largest cumulative voucher redeemed so far, plus fallback charges (base units). */
  spent: bigint;
  /** Requests numbered up to this are paid by a redeemed voucher. */
  coveredThrough: bigint;
  /** When a pending withdrawal takes effect (unix seconds), or `null` when none is pending. */
  closesAt: bigint | null;
  /** The chain's latest timestamp, the time `closesAt` is compared with. */
  now: bigint;
  /** `open`: usable; `closing`: a withdrawal waits for its delay; `withdrawable`: the delay has passed. */
  status: "open" | "closing" | "withdrawable";
}

const aitbc = formatAitbc;

function providerOf(signer: Signer): Provider {
  if (signer.provider === null) throw new AitbcError("NO_PROVIDER", "The signer is not connected to a chain");
  return signer.provider;
}

function checkedAddress(value: string, what: string): string {
  if (!isAddress(value)) {
    throw new AitbcError("BAD_ADDRESS", `${what} \`${value}\` is not an address`, { hint: "Pass a 0x-prefixed 20-byte hex address (EIP-55 checksum if mixed case)." });
  }
  return getAddress(value);
}

/** The deployment's JobChannels contract; `CONTRACT_NOT_DEPLOYED` for a deployment from before the channel mode. */
export function connectChannels(deployment: Deployment, runner: Provider | Signer): JobChannels {
  return JobChannels__factory.connect(contractAddress(deployment, "JobChannels"), runner);
}

/** Reads the channel of `client` with `provider`. */
export async function readChannel(deployment: Deployment, provider: Provider, client: string, providerAddress: string): Promise<ChannelState> {
  const c = checkedAddress(client, "client");
  const p = checkedAddress(providerAddress, "provider");
  const channels = connectChannels(deployment, provider);
  const [view, now] = await Promise.all([channels.channel(c, p), chainTime(provider)]);
  const closesAt = view.closesAt === 0n ? null : view.closesAt;
  return {
    channels: await channels.getAddress(),
    client: c,
    provider: p,
    balance: view.balance,
    spent: view.spent,
    coveredThrough: view.coveredThrough,
    closesAt,
    now,
    status: closesAt === null ? "open" : now >= closesAt ? "withdrawable" : "closing",
  };
}

export interface ChannelChange {
  channel: ChannelState;
  transactions: SentTx[];
}

/**
 * Puts `amount` into the channel of `client` (default: the signer) with `provider`, approving the channel contract for
 * exactly that amount first when the allowance is short. Anyone may fund a client's channel; only the client can take
 * it back.
 *
 * @throws {AitbcError} `BAD_AMOUNT` (zero), `NOT_A_PROVIDER` (not registered or unbonding: the contract refuses),
 *   `INSUFFICIENT_BALANCE`, `TX_WOULD_REVERT`.
 */
export async function depositToChannel(
  signer: Signer,
  deployment: Deployment,
  options: { provider: string; amount: bigint; client?: string; onProgress?: ProgressFn },
): Promise<ChannelChange> {
  const chain = providerOf(signer);
  const from = await signer.getAddress();
  const client = checkedAddress(options.client ?? from, "client");
  const provider = checkedAddress(options.provider, "provider");
  if (options.amount <= 0n) {
    throw new AitbcError("BAD_AMOUNT", "the deposit must be more than 0 AITBC", { hint: "Pass the amount to put into the channel, e.g. --amount 50." });
  }
  const registry = ProviderRegistry__factory.connect(contractAddress(deployment, "ProviderRegistry"), chain);
  if (!(await registry.isActive(provider))) {
    throw new AitbcError("NOT_A_PROVIDER", `${provider} is not an active provider: a channel can only be opened to one`, {
      hint: "Pick a provider from `npx hardhat providers` (an unbonding provider takes no new channel funds).",
    });
  }
  const token = AITBCToken__factory.connect(contractAddress(deployment, "AITBCToken"), signer);
  const channels = connectChannels(deployment, signer);
  const channelsAddress = await channels.getAddress();
  const held = await token.balanceOf(from);
  if (held < options.amount) {
    throw new AitbcError("INSUFFICIENT_BALANCE", `${from} holds ${aitbc(held)}, less than the ${aitbc(options.amount)} to deposit`, {
      hint: "Deposit less, or get AITBC first.",
    });
  }
  const transactions: SentTx[] = [];
  if ((await token.allowance(from, channelsAddress)) < options.amount) {
    transactions.push(
      await sendTransaction(`approve ${aitbc(options.amount)} for the channel contract`, {
        estimate: () => token.approve.estimateGas(channelsAddress, options.amount),
        send: () => token.approve(channelsAddress, options.amount),
      }, { onProgress: options.onProgress }),
    );
  }
  transactions.push(
    await sendTransaction(`deposit ${aitbc(options.amount)} into the channel of ${client} with ${provider}`, {
      estimate: () => channels.deposit.estimateGas(client, provider, options.amount),
      send: () => channels.deposit(client, provider, options.amount),
    }, { onProgress: options.onProgress }),
  );
  return { channel: await readChannel(deployment, chain, client, provider), transactions };
}

/**
 * Starts the withdrawal delay of the signer's channel with `provider`. Until it ends the provider can still claim what
 * the client owes it; after it, {@link withdrawChannel} pays the rest back.
 *
 * @throws {AitbcError} `CHANNEL_EMPTY`, `CHANNEL_WITHDRAWAL_PENDING` (one already runs: the error says until when).
 */
export async function requestChannelWithdrawal(signer: Signer, deployment: Deployment, options: { provider: string; onProgress?: ProgressFn }): Promise<ChannelChange> {
  const chain = providerOf(signer);
  const client = await signer.getAddress();
  const before = await readChannel(deployment, chain, client, options.provider);
  if (before.closesAt !== null) throw pendingError(before);
  if (before.balance === 0n) {
    throw new AitbcError("CHANNEL_EMPTY", `the channel of ${client} with ${before.provider} holds nothing`, { hint: "There is nothing to withdraw; deposit first to use the channel." });
  }
  const channels = connectChannels(deployment, signer);
  const tx = await sendTransaction(`request the withdrawal of the channel with ${before.provider}`, {
    estimate: () => channels.requestWithdrawal.estimateGas(before.provider),
    send: () => channels.requestWithdrawal(before.provider),
  }, { onProgress: options.onProgress });
  return { channel: await readChannel(deployment, chain, client, before.provider), transactions: [tx] };
}

/** Calls a pending withdrawal off: the channel is usable again. @throws {AitbcError} `CHANNEL_NO_WITHDRAWAL`. */
export async function cancelChannelWithdrawal(signer: Signer, deployment: Deployment, options: { provider: string; onProgress?: ProgressFn }): Promise<ChannelChange> {
  const chain = providerOf(signer);
  const client = await signer.getAddress();
  const before = await readChannel(deployment, chain, client, options.provider);
  if (before.closesAt === null) throw noWithdrawalError(before);
  const channels = connectChannels(deployment, signer);
  const tx = await sendTransaction(`cancel the withdrawal of the channel with ${before.provider}`, {
    estimate: () => channels.cancelWithdrawal.estimateGas(before.provider),
    send: () => channels.cancelWithdrawal(before.provider),
  }, { onProgress: options.onProgress });
  return { channel: await readChannel(deployment, chain, client, before.provider), transactions: [tx] };
}

/**
 * Pays the signer the whole remaining balance of its channel with `provider`, once the withdrawal delay has passed.
 *
 * @throws {AitbcError} `CHANNEL_NO_WITHDRAWAL` (request one first), `CHANNEL_WITHDRAWAL_PENDING` (the delay has not
 *   passed: the error says when it does).
 */
export async function withdrawChannel(
  signer: Signer,
  deployment: Deployment,
  options: { provider: string; onProgress?: ProgressFn },
): Promise<ChannelChange & { amount: bigint }> {
  const chain = providerOf(signer);
  const client = await signer.getAddress();
  const before = await readChannel(deployment, chain, client, options.provider);
  if (before.closesAt === null) throw noWithdrawalError(before);
  if (before.status !== "withdrawable") throw pendingError(before);
  const channels = connectChannels(deployment, signer);
  const tx = await sendTransaction(`withdraw ${aitbc(before.balance)} from the channel with ${before.provider}`, {
    estimate: () => channels.withdrawChannel.estimateGas(before.provider),
    send: () => channels.withdrawChannel(before.provider),
  }, { onProgress: options.onProgress });
  return { channel: await readChannel(deployment, chain, client, before.provider), transactions: [tx], amount: before.balance };
}

function pendingError(c: ChannelState): AitbcError {
  const closesAt = c.closesAt ?? 0n;
  const left = closesAt > c.now ? closesAt - c.now : 0n;
  return new AitbcError(
    "CHANNEL_WITHDRAWAL_PENDING",
    `the withdrawal of the channel with ${c.provider} is pending until ${new Date(Number(closesAt) * 1000).toISOString()} (${formatDuration(left)} from now)`,
    {
      hint: "Run `channel:withdraw` again after that time to take the balance back, or `channel:withdraw --cancel` to keep using the channel.",
      details: { closesAt: closesAt.toString(), secondsLeft: left.toString() },
    },
  );
}

function noWithdrawalError(c: ChannelState): AitbcError {
  return new AitbcError("CHANNEL_NO_WITHDRAWAL", `no withdrawal of the channel with ${c.provider} is pending`, {
    hint: "Start one with `channel:withdraw --provider <address>` (the provider can claim what you owe until the delay ends).",
  });
}
