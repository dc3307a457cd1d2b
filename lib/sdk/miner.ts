/**
 * What a miner needs from the SDK: a registration in `ProviderRegistry` that matches its receipt key and models. The
 * relayer itself (`startMiner`) is the package's `aitbc-evm/miner` entry (relayer/index.ts), which builds on this one.
 */
import type { Signer } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { formatTokenAmount } from "../money/amounts.js";
import { receiptKeyMismatch } from "../node/key-file.js";
import { parseServiceUrl } from "../market/endpoint.js";
import { findModel, readRateCard } from "../market/rates.js";
import { connectMarket, providerEntry, providerOf } from "./market.js";
import { sendTransaction, type ProgressFn, type SentTx } from "./tx.js";

export interface ProviderRegistration {
  /** 0x hex of the 32-byte Ed25519 receipt key (a key file's `publicKeyHex`). */
  receiptKey: string;
  /** Model names to serve, as on the rate card. */
  models: readonly string[];
  /** Bond for a new registration (base units); the registry minimum by default. */
  bond?: bigint;
}

export interface RegistrationResult {
  provider: string;
  /** `register`, `set-key`, `add-models`, in the order done; empty when the registration was already current. */
  actions: string[];
  transactions: SentTx[];
}

/**
 * Registers the signer as a provider (approving and bonding `bond`), or brings an existing registration up to date:
 * a different registered receipt key is replaced only with `rotateKey` (else `RECEIPT_KEY_MISMATCH`, nothing sent), and missing models are added. Models served already stay served.
 *
 * @throws {AitbcError} `UNKNOWN_MODEL`, `PROVIDER_UNBONDING`, `BOND_TOO_LOW`, `INSUFFICIENT_BALANCE`, `KEY_INVALID`,
 *   `TX_WOULD_REVERT`.
 */
export async function registerProvider(
  signer: Signer,
  deployment: Deployment,
  registration: ProviderRegistration,
  options: {
    onProgress?: ProgressFn;
    /** Asked before a new registration locks the bond; `false` stops with `BOND_DECLINED` and nothing sent. */
    confirmBond?: (bond: bigint) => Promise<boolean>;
    /**
     * Replace a different receipt key already registered (a rotation; receipts it signed stay verifiable for the time
     * it was registered). Without it, a different registered key stops with `RECEIPT_KEY_MISMATCH` and nothing sent.
     */
    rotateKey?: boolean;
    /** Where the key came from, for the `RECEIPT_KEY_MISMATCH` message. */
    keySource?: string;
  } = {},
): Promise<RegistrationResult> {
  const m = connectMarket(deployment, providerOf(signer));
  const address = await signer.getAddress();
  const card = await readRateCard(m.models);
  const ids = registration.models.map((name) => findModel(card, name).id);
  const providers = m.providers.connect(signer);
  const key = registration.receiptKey.toLowerCase();
  if (!(await providers.isValidReceiptKey(key))) {
    throw new AitbcError("KEY_INVALID", `the registry refuses receipt key ${key}`, { hint: "Generate a new key file and register again." });
  }
  const [entry, minBond] = await Promise.all([providerEntry(m.providers, address), providers.minBond()]);
  const transactions: SentTx[] = [];
  const actions: string[] = [];
  const send = async (label: string, call: Parameters<typeof sendTransaction>[1]) => transactions.push(await sendTransaction(label, call, { onProgress: options.onProgress }));
  if (!entry.registered) {
    if (entry.bond > 0n) {
      throw new AitbcError("PROVIDER_UNBONDING", `${address} is unbonding and still holds a bond of ${formatTokenAmount(entry.bond)} AITBC`, {
        hint: "Withdraw the bond once it unlocks (ProviderRegistry.withdrawBond), then register again.",
      });
    }
    const bond = registration.bond ?? minBond;
    if (bond < minBond) {
      throw new AitbcError("BOND_TOO_LOW", `a bond of ${formatTokenAmount(bond)} AITBC is below the registry minimum of ${formatTokenAmount(minBond)} AITBC`, {
        hint: "Bond at least the registry minimum.",
        details: { bond: bond.toString(), minBond: minBond.toString() },
      });
    }
    const token = m.token.connect(signer);
    const [balance, allowance] = await Promise.all([token.balanceOf(address), token.allowance(address, m.addresses.providers)]);
    if (balance < bond) {
      throw new AitbcError("INSUFFICIENT_BALANCE", `${address} holds ${formatTokenAmount(balance)} AITBC; the bond needs ${formatTokenAmount(bond)} AITBC`, {
        hint: "Fund the provider account with AITBC first.",
        details: { balance: balance.toString(), needed: bond.toString() },
      });
    }
    if (options.confirmBond !== undefined && !(await options.confirmBond(bond))) {
      throw new AitbcError("BOND_DECLINED", "registration declined; nothing was sent", { hint: "Run again and confirm, or pass --yes." });
    }
    if (allowance < bond) {
      await send(`approve ${formatTokenAmount(bond)} AITBC for the provider registry`, {
        estimate: () => token.approve.estimateGas(m.addresses.providers, bond),
        send: () => token.approve(m.addresses.providers, bond),
      });
    }
    await send("register", { estimate: () => providers.register.estimateGas(key, ids, bond), send: () => providers.register(key, ids, bond) });
    actions.push("register");
    return { provider: address, actions, transactions };
  }
  if (entry.unbondingSince !== 0n) {
    throw new AitbcError("PROVIDER_UNBONDING", `${address} is unbonding (since ${entry.unbondingSince})`, {
      hint: "Cancel unbonding (ProviderRegistry.cancelUnbonding) to serve jobs again.",
    });
  }
  if (entry.receiptKey.toLowerCase() !== key) {
    if (options.rotateKey !== true) throw receiptKeyMismatch(address, entry.receiptKey.toLowerCase(), options.keySource ?? "the given key", key);
    await send("set receipt key", { estimate: () => providers.setReceiptKey.estimateGas(key), send: () => providers.setReceiptKey(key) });
    actions.push("set-key");
  }
  const served = await Promise.all(ids.map((id) => providers.serves(address, id)));
  const missing = ids.filter((_, i) => !served[i]);
  if (missing.length > 0) {
    await send(`serve model ids ${missing.join(", ")}`, { estimate: () => providers.updateModels.estimateGas(missing, []), send: () => providers.updateModels(missing, []) });
    actions.push("add-models");
  }
  return { provider: address, actions, transactions };
}

export interface EndpointResult {
  provider: string;
  /** `set` when a transaction published the endpoint, `current` when the chain already held it. */
  action: "set" | "current";
  transactions: SentTx[];
}

/**
 * Publishes the relayer's service URL and X25519 encryption key (`ProviderRegistry.setEndpoint`) unless the chain
 * already holds exactly these, so clients can find the offer and seal private prompts to this provider.
 *
 * @throws {AitbcError} `BAD_SERVICE_URL`, `PROVIDER_NOT_REGISTERED`, `TX_WOULD_REVERT`.
 */
export async function publishEndpoint(
  signer: Signer,
  deployment: Deployment,
  endpoint: { encryptionKey: string; serviceUrl: string },
  options: { onProgress?: ProgressFn } = {},
): Promise<EndpointResult> {
  const url = parseServiceUrl(endpoint.serviceUrl);
  const key = endpoint.encryptionKey.toLowerCase();
  const m = connectMarket(deployment, providerOf(signer));
  const address = await signer.getAddress();
  const entry = await providerEntry(m.providers, address);
  if (!entry.registered) {
    throw new AitbcError("PROVIDER_NOT_REGISTERED", `${address} is not a registered provider`, { hint: "Register first (provider:register or miner:start), then publish the endpoint." });
  }
  const current = await m.providers.endpointOf(address);
  if (current.encryptionKey.toLowerCase() === key && current.serviceUrl === url) return { provider: address, action: "current", transactions: [] };
  const providers = m.providers.connect(signer);
  const tx = await sendTransaction("set endpoint", { estimate: () => providers.setEndpoint.estimateGas(key, url), send: () => providers.setEndpoint(key, url) }, { onProgress: options.onProgress });
  return { provider: address, action: "set", transactions: [tx] };
}
