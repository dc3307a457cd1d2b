/**
 * Discovering providers and their offers: who is registered (from `ProviderRegistry` events), what each serves, where
 * its relayer answers and the key private prompts are sealed to (its registered endpoint), and what its relayer offers
 * (`GET <service URL>/api/v1/offer`, {@link ../market/offer.ts}). What `job:submit` checks before it escrows, what the
 * `providers` task lists and what the dashboard shows. Browser-safe: `fetch` and the contracts only.
 */
import { getAddress, type ContractRunner } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { parseOffer, type Offer } from "../market/offer.js";
import { findModel, readRateCard } from "../market/rates.js";
import { connectMarket, providerEntry } from "./market.js";

const ZERO_KEY = `0x${"0".repeat(64)}`;
/** How long a client waits for an offer by default. */
export const DEFAULT_OFFER_TIMEOUT_MS = 5_000;

/** A registered provider as the chain describes it. */
export interface ProviderListing {
  /** Checksummed address. */
  address: string;
  /** Model names it serves (registry), in rate-card order. */
  models: string[];
  /** Models it can take jobs for now (`canServe`: registered, not unbonding, bonded, serving the model). */
  servable: string[];
  /** With a model asked for: whether it can take that model's jobs now; otherwise whether it can take any. */
  canServe: boolean;
  /** Its registered X25519 encryption key (32 bytes), or `null` without an endpoint. */
  encryptionKey: Uint8Array | null;
  /** 0x hex of {@link encryptionKey}, or `null`. */
  encryptionKeyHex: string | null;
  /** Its registered service URL (no trailing `/`), or `null` without an endpoint. */
  serviceUrl: string | null;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

type Market = ReturnType<typeof connectMarket>;
type Card = Awaited<ReturnType<typeof readRateCard>>;

async function listingOf(m: Market, card: Card, address: string, wanted: string | undefined): Promise<ProviderListing & { registered: boolean }> {
  const [entry, endpoint, served, servable] = await Promise.all([
    providerEntry(m.providers, address),
    m.providers.endpointOf(address),
    Promise.all(card.map((row) => m.providers.serves(address, row.id))),
    Promise.all(card.map((row) => m.providers.canServe(address, row.id))),
  ]);
  const models = card.filter((_, i) => served[i]).map((row) => row.name);
  const canNow = card.filter((_, i) => servable[i]).map((row) => row.name);
  const hasEndpoint = endpoint.encryptionKey !== ZERO_KEY && endpoint.serviceUrl !== "";
  return {
    address: getAddress(address),
    registered: entry.registered,
    models,
    servable: canNow,
    canServe: wanted === undefined ? canNow.length > 0 : canNow.includes(wanted),
    encryptionKey: hasEndpoint ? hexToBytes(endpoint.encryptionKey) : null,
    encryptionKeyHex: hasEndpoint ? endpoint.encryptionKey.toLowerCase() : null,
    serviceUrl: hasEndpoint ? endpoint.serviceUrl.replace(/\/+$/, "") : null,
  };
}

function wantedModel(card: Card, model: string | undefined): string | undefined {
  return model === undefined || model.trim() === "" ? undefined : findModel(card, model.trim()).name;
}

/**
 * Every provider registered on `deployment` (from `ProviderRegistered` events since the deployment block), with its
 * models, whether it can serve now, and its endpoint. With `model`, only the providers that serve it (the name is
 * checked against the rate card: `UNKNOWN_MODEL` otherwise). Ordered by first registration.
 *
 * @throws {AitbcError} `UNKNOWN_MODEL`, `CONTRACT_NOT_DEPLOYED`.
 */
export async function discoverProviders(deployment: Deployment, runner: ContractRunner, options: { model?: string } = {}): Promise<ProviderListing[]> {
  const m = connectMarket(deployment, runner);
  const card = await readRateCard(m.models);
  const wanted = wantedModel(card, options.model);
  const events = await m.providers.queryFilter(m.providers.filters.ProviderRegistered(), deployment.block);
  const addresses = [...new Set(events.map((e) => getAddress(e.args.provider)))];
  const listings = await Promise.all(addresses.map((address) => listingOf(m, card, address, wanted)));
  return listings
    .filter((l) => l.registered && (wanted === undefined || l.models.includes(wanted)))
    .map(({ registered: _registered, ...listing }) => listing);
}

/** One provider's listing, registered or not (then it serves nothing and `canServe` is false). */
export async function providerListing(deployment: Deployment, runner: ContractRunner, address: string, options: { model?: string } = {}): Promise<ProviderListing> {
  const m = connectMarket(deployment, runner);
  const card = await readRateCard(m.models);
  const { registered: _registered, ...listing } = await listingOf(m, card, address, wantedModel(card, options.model));
  return listing;
}

function unreachable(url: string, why: string, cause?: unknown): AitbcError {
  return new AitbcError("OFFER_UNREACHABLE", `the relayer at ${url} does not answer with an offer (${why})`, {
    hint: "Pick another provider with --provider (see `npx hardhat providers`), try later, or escrow anyway with --force.",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Fetches and parses a relayer's offer (`GET <serviceUrl>/api/v1/offer`).
 *
 * @throws {AitbcError} `OFFER_UNREACHABLE` when the request fails, times out or answers anything but 200;
 *   `OFFER_MALFORMED` when the body is not an offer; `ABORTED` when `signal` fires.
 */
export async function fetchOffer(serviceUrl: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Offer> {
  const base = serviceUrl.trim().replace(/\/+$/, "");
  const url = `${base}/api/v1/offer`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_OFFER_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let body: string;
  try {
    const response = await fetch(url, { signal, headers: { accept: "application/json" } });
    body = await response.text();
    if (response.status !== 200) throw unreachable(base, `HTTP ${response.status}`);
  } catch (cause) {
    if (cause instanceof AitbcError) throw cause;
    if (options.signal?.aborted === true) throw new AitbcError("ABORTED", "the offer request was cancelled", { cause: options.signal.reason });
    if (timeout.aborted) throw unreachable(base, `no answer within ${timeoutMs} ms`, cause);
    const reason = (cause as Error & { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw unreachable(base, reason, cause);
  }
  return parseOffer(body);
}

/** A provider with its offer, or why it has none. */
export interface ProviderOffer extends ProviderListing {
  offer: Offer | null;
  /** Why there is no offer: `NO_ENDPOINT`, `OFFER_UNREACHABLE`, `OFFER_MALFORMED`, `OFFER_MISMATCH`. */
  error: { code: string; message: string; hint?: string } | null;
}

/**
 * Fetches the offer of each listed provider in parallel, each within `timeoutMs`. An offer is kept only when it is
 * for that provider and, when `expect` is given, for that chain and escrow (else `OFFER_MISMATCH`: a service URL that
 * serves another provider's offer must not decide for this one). Never throws for one provider's failure.
 */
export async function offersFor(
  providers: readonly ProviderListing[],
  options: { timeoutMs?: number; signal?: AbortSignal; expect?: { chainId: bigint; escrow: string } } = {},
): Promise<ProviderOffer[]> {
  return Promise.all(
    providers.map(async (p): Promise<ProviderOffer> => {
      if (p.serviceUrl === null) {
        return { ...p, offer: null, error: { code: "NO_ENDPOINT", message: `${p.address} has registered no service URL`, hint: "The provider publishes one with `provider:endpoint`." } };
      }
      try {
        const offer = await fetchOffer(p.serviceUrl, options);
        const mismatch =
          offer.provider.toLowerCase() !== p.address.toLowerCase()
            ? `provider ${offer.provider}`
            : options.expect !== undefined && offer.chainId !== options.expect.chainId
              ? `chain ${offer.chainId}`
              : options.expect !== undefined && offer.escrow.toLowerCase() !== options.expect.escrow.toLowerCase()
                ? `escrow ${offer.escrow}`
                : undefined;
        if (mismatch !== undefined) {
          return {
            ...p,
            offer: null,
            error: { code: "OFFER_MISMATCH", message: `the offer at ${p.serviceUrl} is for ${mismatch}, not for ${p.address} on this deployment`, hint: "The provider's registered service URL points at another relayer." },
          };
        }
        return { ...p, offer, error: null };
      } catch (error) {
        if (error instanceof AitbcError && error.code === "ABORTED") throw error;
        const e = error instanceof AitbcError ? error : new AitbcError("OFFER_UNREACHABLE", (error as Error).message);
        return { ...p, offer: null, error: { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) } };
      }
    }),
  );
}

/**
 * What a client does about a refusal, by its reason (an admission reason of {@link checkOffer}, or a relayer's
 * `NOT_A_RECIPIENT` / `BAD_ENVELOPE`): the hint `job:submit` and `job:status` print.
 */
export function refusalHint(reason: string): string {
  switch (reason) {
    case "MODEL_NOT_SERVED":
    case "MODEL_NOT_OFFERED":
      return "Pick a model a provider serves (`npx hardhat providers`), or --force to escrow anyway.";
    case "UNITS_TOO_LARGE":
    case "PRICE_TOO_HIGH":
      return "Submit it again with a smaller --max-units, or --provider one that takes larger jobs.";
    case "DEADLINE_TOO_CLOSE":
      return "Submit it again with a later --deadline.";
    case "RATE_TOO_LOW":
      return "The provider wants more than the rate card pays; --provider another one (`npx hardhat providers`).";
    case "PROMPT_EMPTY":
    case "PROMPT_TOO_LONG":
      return "Shorten the prompt to what the provider's offer takes (`npx hardhat providers`), or --provider another one.";
    case "PROMPT_NOT_UTF8":
      return "Send the prompt as UTF-8 text (the runtimes take text).";
    case "PRIVATE_NOT_OFFERED":
      return "Pass --public to send the prompt in the clear, or --provider one that runs private jobs.";
    case "PUBLIC_NOT_OFFERED":
      return "Leave out --public: this provider runs private jobs only.";
    case "DEGRADED":
    case "OFFER_UNREACHABLE":
      return "Pick another provider with --provider (`npx hardhat providers`), try later, or escrow anyway with --force.";
    case "NOT_A_RECIPIENT":
    case "BAD_ENVELOPE":
      return "The prompt was not sealed to this provider's current key; cancel the job (`job:cancel`) and submit it again.";
    case "AT_CAPACITY":
      return "The provider is busy; it takes the job when a slot frees up.";
    default:
      return "Cancel the job (`job:cancel`) and submit it again to another provider (--provider).";
  }
}
