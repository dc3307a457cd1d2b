/**
 * What a client does with the marketplace: submit a job (funded by an EIP-2612 permit when the wallet can sign one,
 * by `approve` otherwise), dispute a settled job inside its window, and withdraw refunds and earnings.
 */
import { hexlify, Signature, ZeroAddress, type Signer } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { formatTimestamp } from "../time.js";
import { formatAitbc, formatTokenAmount, milliToUnits } from "../money/amounts.js";
import { parseAddressOption, parseDeadline, parseMaxUnits } from "../market/jobs.js";
import { findModel, readRateCard } from "../market/rates.js";
import { escrowFor } from "../money/prices.js";
import { checkOffer, type Offer, type OfferVerdict, type ProposedJob } from "../market/offer.js";
import { envelopeOverhead, portableHpke, type HpkeBackend } from "../privacy/envelope.js";
import { MAX_PROVIDER_RECIPIENTS, sealJobRequest } from "../privacy/request.js";
import { MAX_PROMPT_BYTES } from "../protocol.js";
import type { AITBCToken } from "../../typechain-types/index.js";
import { chainTime, connectMarket, providerBatches, providerEntry, providerOf, readJob, requireJobStatus, sameAddress } from "./market.js";
import { DEFAULT_OFFER_TIMEOUT_MS, discoverProviders, offersFor, providerListing, refusalHint, type ProviderListing, type ProviderOffer } from "./offers.js";
import { resultKeyFor } from "./results.js";
import { sendTransaction, type ProgressFn, type SentTx } from "./tx.js";

/** Deadline of a job when the caller names none: an hour of chain time. */
export const DEFAULT_JOB_TTL_SECONDS = 3_600n;

const aitbc = formatAitbc;

/**
 * The prompt as the bytes the escrow stores a hash of (UTF-8 for text).
 *
 * @throws {AitbcError} `BAD_PROMPT` for an empty prompt or one over {@link MAX_PROMPT_BYTES}.
 */
export function encodePrompt(prompt: string | Uint8Array): Uint8Array {
  const bytes = typeof prompt === "string" ? new TextEncoder().encode(prompt) : prompt;
  if (bytes.length === 0 || bytes.length > MAX_PROMPT_BYTES) {
    throw new AitbcError("BAD_PROMPT", `the prompt is ${bytes.length} bytes; the escrow accepts 1 to ${MAX_PROMPT_BYTES}`, {
      hint: "Shorten the prompt, or host the input and send its address instead.",
    });
  }
  return bytes;
}

/**
 * An EIP-2612 permit letting `spender` move `amount` of `owner`'s tokens until `deadline`, or `undefined` when the
 * signer cannot sign typed data (some hardware and remote signers): callers then fall back to `approve`.
 */
export async function signPermit(token: AITBCToken, owner: Signer, spender: string, amount: bigint, deadline: bigint): Promise<Signature | undefined> {
  try {
    const address = await owner.getAddress();
    const [domain, nonce] = await Promise.all([token.eip712Domain(), token.nonces(address)]);
    const signature = await owner.signTypedData(
      { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
      {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      { owner: address, spender, value: amount, nonce, deadline },
    );
    return Signature.from(signature);
  } catch {
    return undefined;
  }
}

export interface SubmitJobRequest {
  /** Model name on the rate card, e.g. `llama3.2`. */
  model: string;
  /** The input; text is sent as UTF-8. */
  prompt: string | Uint8Array;
  /** Largest job size in gpu_seconds with at most 3 decimals, e.g. `"2.5"`; the escrow holds `ceil(max × rate)`. */
  maxUnits: string;
  /** Only this provider may accept the job; any provider serving the model when omitted. */
  provider?: string;
  /**
   * A Unix time in seconds (bigint), or text: seconds from now (`"600"`) or an ISO time with its zone. Defaults to an
   * hour of chain time; it must fall within the escrow's `maxDeadlineDelay`.
   */
  deadline?: bigint | string;
  /** `"auto"` (default): an existing allowance, else a permit, else `approve`; `"approve"`: never a permit. */
  funding?: "auto" | "approve";
  /**
   * Seal the prompt to the provider(s) and the result to the client (default `true`). `false` sends the prompt in the
   * clear: it stays readable in calldata and in the `JobCreated` event for ever.
   */
  private?: boolean;
  /** Skip the offers (admission): escrow even if no relayer says it will run the job. The chain's checks still apply. */
  force?: boolean;
  /** How long to wait for each provider's offer (default 5 s). */
  offerTimeoutMs?: number;
}

export interface SubmittedJob {
  jobId: bigint;
  /** Tokens escrowed (base units). */
  escrow: bigint;
  /** The transaction that created the job. */
  txHash: string;
  model: string;
  modelId: number;
  client: string;
  provider: string | null;
  maxUnitsMilli: bigint;
  rate: bigint;
  deadline: bigint;
  /** keccak-256 of the prompt; the receipt's `input_hash` must equal it. */
  inputHash: string;
  funding: "allowance" | "permit" | "approve";
  /** Every transaction sent, in order (an `approve` first when one was needed). */
  transactions: SentTx[];
  /** Whether the prompt went on-chain sealed (and the result will be sealed to {@link resultKey}). */
  private: boolean;
  /** The providers the prompt was sealed to (checksummed); empty for a public job. */
  recipients: string[];
  /** 0x hex of the client's result public key the result will be sealed to; `null` for a public job. */
  resultKey: string | null;
  /** What the offers warn about (a provider at capacity); the job was still escrowed. */
  warnings: string[];
}

/** The order in which refusals are reported for an open job: what the client can fix first. */
const REFUSAL_ORDER = [
  "PROMPT_NOT_UTF8",
  "PROMPT_EMPTY",
  "PROMPT_TOO_LONG",
  "UNITS_TOO_LARGE",
  "PRICE_TOO_HIGH",
  "DEADLINE_TOO_CLOSE",
  "RATE_TOO_LOW",
  "PRIVATE_NOT_OFFERED",
  "PUBLIC_NOT_OFFERED",
  "MODEL_NOT_SERVED",
  "DEGRADED",
  "OFFER_MALFORMED",
  "OFFER_MISMATCH",
  "OFFER_UNREACHABLE",
  "NO_ENDPOINT",
] as const;

interface Refusal {
  provider: string;
  reason: string;
  detail: string;
  offer: Offer | null;
}

function largestUnits(offers: readonly Offer[], job: ProposedJob): bigint | undefined {
  const caps = offers.flatMap((o) => {
    const m = o.models.find((x) => x.name === job.model);
    if (m === undefined) return [];
    let cap = m.maxUnitsMilli;
    if (o.limits.maxJobPrice !== null && job.rate > 0n) {
      const byPrice = (o.limits.maxJobPrice * 1000n) / job.rate;
      if (byPrice < cap) cap = byPrice;
    }
    return [cap];
  });
  return caps.length === 0 ? undefined : caps.reduce((a, b) => (b > a ? b : a));
}

/**
 * The one error for a job that no provider's offer accepts: the reason the client can act on first, with a hint that
 * names the fix (with the numbers from the offers), and every provider's answer in `details.providers`.
 */
function refusalError(refusals: readonly Refusal[], job: ProposedJob, directed: boolean): AitbcError {
  const rank = (r: string) => {
    const i = (REFUSAL_ORDER as readonly string[]).indexOf(r);
    return i < 0 ? REFUSAL_ORDER.length : i;
  };
  const first = [...refusals].sort((a, b) => rank(a.reason) - rank(b.reason))[0];
  const offers = refusals.flatMap((r) => (r.offer === null ? [] : [r.offer]));
  const details = { providers: refusals.map((r) => ({ provider: r.provider, reason: r.reason, detail: r.detail })) };
  const who = directed ? `provider ${first.provider}` : refusals.length === 1 ? `the one provider serving ${job.model} (${first.provider})` : `none of the ${refusals.length} providers serving ${job.model}`;
  const says = `${who} ${directed || refusals.length === 1 ? "would refuse" : "would take"} this job: ${first.detail}`;
  const other = directed ? "" : ", or --provider one whose offer takes it";
  switch (first.reason) {
    case "UNITS_TOO_LARGE":
    case "PRICE_TOO_HIGH": {
      const cap = largestUnits(offers, job);
      return new AitbcError(first.reason, says, {
        hint: cap === undefined || cap === 0n ? refusalHint(first.reason) : `Use a smaller --max-units, at most ${milliToUnits(cap)}${other}.`,
        details: { ...details, largestMaxUnitsMilli: cap?.toString() ?? null },
      });
    }
    case "DEADLINE_TOO_CLOSE": {
      const longestRun = Number((job.maxUnitsMilli + 999n) / 1000n);
      const margins = offers.map((o) => o.limits.deadlineMarginSeconds);
      // A few seconds on top of the offer's need: the creation has to be mined before the relayer sees the job.
      const least = margins.length === 0 ? undefined : longestRun + Math.min(...margins) + 15;
      return new AitbcError("DEADLINE_TOO_CLOSE", says, {
        hint: least === undefined ? refusalHint("DEADLINE_TOO_CLOSE") : `Use a later --deadline, at least ${least} s from now (--deadline ${least}), or a smaller --max-units.`,
        details: { ...details, leastDeadlineSeconds: least ?? null },
      });
    }
    case "PROMPT_TOO_LONG": {
      const limits = offers.map((o) => o.limits.maxPromptBytes);
      const most = limits.length === 0 ? undefined : Math.max(...limits);
      return new AitbcError("PROMPT_TOO_LONG", says, {
        hint: most === undefined ? refusalHint("PROMPT_TOO_LONG") : `Shorten the prompt to at most ${most} bytes${other}.`,
        details: { ...details, maxPromptBytes: most ?? null },
      });
    }
    case "MODEL_NOT_SERVED":
      return new AitbcError("MODEL_NOT_OFFERED", `no provider's offer serves ${job.model}: ${first.detail}`, { hint: refusalHint("MODEL_NOT_OFFERED"), details });
    case "NO_ENDPOINT":
      if (job.private) {
        return new AitbcError("PRIVATE_NOT_OFFERED", `${who} has published no endpoint (encryption key and service URL), so a private prompt cannot be sealed to it`, {
          hint: `Pass --public (with --force: no offer can be checked), or --provider one that published an endpoint (\`npx hardhat providers\`).`,
          details,
        });
      }
      return new AitbcError("OFFER_UNREACHABLE", `${who} has registered no service URL, so its offer cannot be checked`, { hint: refusalHint("OFFER_UNREACHABLE"), details });
    case "OFFER_MALFORMED":
    case "OFFER_MISMATCH":
      return new AitbcError(first.reason, `${who}: ${first.detail}`, { hint: refusalHint("OFFER_UNREACHABLE"), details });
    case "OFFER_UNREACHABLE":
      return new AitbcError("OFFER_UNREACHABLE", `${who}: ${first.detail}`, { hint: refusalHint("OFFER_UNREACHABLE"), details });
    default:
      return new AitbcError(first.reason, says, { hint: refusalHint(first.reason), details });
  }
}

function tooManyRecipients(providers: readonly ProviderListing[], job: ProposedJob): AitbcError {
  return new AitbcError("TOO_MANY_RECIPIENTS", `${providers.length} providers would take this ${job.model} job; a private prompt is sealed to at most ${MAX_PROVIDER_RECIPIENTS}`, {
    hint: "Direct the job to one provider with --provider (see `npx hardhat providers`).",
    details: { providers: providers.map((p) => p.address) },
  });
}

interface Admission {
  /** The providers to seal the prompt to (private jobs). */
  recipients: ProviderListing[];
  warnings: string[];
}

/**
 * Admission before escrow: the providers that may take the job, their offers, and the verdict of the relayer's own
 * rule on each. Refuses with the error that names the fix when none would run the job; sends nothing.
 */
async function admit(
  signerProvider: ReturnType<typeof providerOf>,
  deployment: Deployment,
  job: ProposedJob,
  options: { addressed?: string; force: boolean; now: bigint; chainId: bigint; escrow: string; timeoutMs: number },
): Promise<Admission> {
  const candidates =
    options.addressed !== undefined
      ? [await providerListing(deployment, signerProvider, options.addressed, { model: job.model })]
      : (await discoverProviders(deployment, signerProvider, { model: job.model })).filter((p) => p.canServe);
  const sealable = (list: readonly ProviderListing[]) => list.filter((p) => p.encryptionKey !== null);
  if (options.force) {
    if (!job.private) return { recipients: [], warnings: [] };
    const keyed = sealable(candidates);
    if (keyed.length === 0) {
      throw new AitbcError("PRIVATE_NOT_OFFERED", options.addressed !== undefined ? `provider ${options.addressed} has registered no encryption key` : `no provider serving ${job.model} has registered an encryption key`, {
        hint: refusalHint("PRIVATE_NOT_OFFERED"),
      });
    }
    if (keyed.length > MAX_PROVIDER_RECIPIENTS) throw tooManyRecipients(keyed, job);
    return { recipients: keyed, warnings: [] };
  }
  if (candidates.length === 0) {
    throw new AitbcError("MODEL_NOT_OFFERED", `no registered provider can take ${job.model} jobs now`, { hint: refusalHint("MODEL_NOT_OFFERED") });
  }
  const offers: ProviderOffer[] = await offersFor(candidates, { timeoutMs: options.timeoutMs, expect: { chainId: options.chainId, escrow: options.escrow } });
  const refusals: Refusal[] = [];
  const accepted: { listing: ProviderListing; verdict: Extract<OfferVerdict, { ok: true }> }[] = [];
  for (const o of offers) {
    if (o.offer === null) {
      refusals.push({ provider: o.address, reason: o.error?.code ?? "OFFER_UNREACHABLE", detail: o.error?.message ?? "no offer", offer: null });
      continue;
    }
    const verdict = checkOffer(o.offer, job, Number(options.now));
    if (!verdict.ok) refusals.push({ provider: o.address, reason: verdict.reason, detail: verdict.detail, offer: o.offer });
    else if (job.private && o.encryptionKey === null) {
      refusals.push({ provider: o.address, reason: "PRIVATE_NOT_OFFERED", detail: `${o.address} has registered no encryption key on-chain`, offer: o.offer });
    } else accepted.push({ listing: o, verdict });
  }
  if (accepted.length === 0) throw refusalError(refusals, job, options.addressed !== undefined);
  if (job.private && accepted.length > MAX_PROVIDER_RECIPIENTS) throw tooManyRecipients(accepted.map((a) => a.listing), job);
  return { recipients: accepted.map((a) => a.listing), warnings: accepted.flatMap((a) => a.verdict.warnings.map((w) => `${a.listing.address}: ${w}`)) };
}

/**
 * Escrows tokens for a job and creates it. Everything is checked before anything is signed or sent: the model is on
 * the rate card and enabled, the addressed provider can serve it, the deadline fits the escrow's window, the balance
 * covers the escrow, the escrow's own quote equals `lib/money/prices.ts` arithmetic, and (unless `force`) the offer of
 * the addressed provider, or of every provider serving the model, accepts the job under the relayer's own rule
 * (`checkOffer`).
 *
 * A private job (the default) is sealed to the addressed provider's registered encryption key, or for an open job to
 * every provider whose offer accepts it (at most {@link MAX_PROVIDER_RECIPIENTS}), and to the client's result key
 * ({@link resultKeyFor}: one signature of the signer, no transaction).
 *
 * @throws {AitbcError} `UNKNOWN_MODEL`, `MODEL_DISABLED`, `BAD_UNITS`, `BAD_DEADLINE`, `BAD_PROMPT`, `BAD_ADDRESS`,
 *   `PROVIDER_CANNOT_SERVE`, `INSUFFICIENT_BALANCE`, `QUOTE_MISMATCH`; admission: `MODEL_NOT_OFFERED`,
 *   `UNITS_TOO_LARGE`, `PRICE_TOO_HIGH`, `DEADLINE_TOO_CLOSE`, `RATE_TOO_LOW`, `PROMPT_NOT_UTF8`, `PROMPT_TOO_LONG`,
 *   `PRIVATE_NOT_OFFERED`, `PUBLIC_NOT_OFFERED`, `DEGRADED`, `OFFER_UNREACHABLE`, `OFFER_MALFORMED`, `OFFER_MISMATCH`,
 *   `TOO_MANY_RECIPIENTS`, `ENVELOPE_TOO_LARGE`; `TX_WOULD_REVERT`, `TX_FAILED`.
 */
export async function submitJob(
  signer: Signer,
  deployment: Deployment,
  request: SubmitJobRequest,
  options: { onProgress?: ProgressFn; hpke?: HpkeBackend } = {},
): Promise<SubmittedJob> {
  const say = options.onProgress ?? (() => undefined);
  if (request.model.trim() === "") throw new AitbcError("MISSING_OPTION", "a job needs a model", { hint: "Pick a model from the rate card, e.g. llama3.2." });
  const maxUnitsMilli = parseMaxUnits(request.maxUnits);
  const addressed = request.provider === undefined || request.provider.trim() === "" ? undefined : parseAddressOption(request.provider, "provider");
  const prompt = encodePrompt(request.prompt);
  const isPrivate = request.private ?? true;
  const provider = providerOf(signer);
  const m = connectMarket(deployment, provider);
  const client = await signer.getAddress();
  const model = findModel(await readRateCard(m.models), request.model.trim(), { requireEnabled: true });
  const [params, now] = await Promise.all([m.escrow.parameters(), chainTime(provider)]);
  const deadlineText = request.deadline === undefined ? DEFAULT_JOB_TTL_SECONDS.toString() : typeof request.deadline === "bigint" ? (request.deadline - now).toString() : request.deadline;
  const deadline = parseDeadline(deadlineText, now, params.maxDeadlineDelay);
  if (addressed !== undefined && !(await m.providers.canServe(addressed, model.id))) {
    throw new AitbcError("PROVIDER_CANNOT_SERVE", `provider ${addressed} cannot take ${model.name} jobs now (not registered, unbonding, under-bonded or not serving it)`, {
      hint: `Check it with \`npx hardhat provider:status --address ${addressed}\`, or leave the provider out.`,
    });
  }
  const escrow = escrowFor(maxUnitsMilli, model.rate);
  const quoted = await m.escrow.quote(model.id, maxUnitsMilli);
  if (quoted !== escrow) {
    throw new AitbcError("QUOTE_MISMATCH", `the escrow quotes ${quoted} base units, lib/money/prices.ts computes ${escrow}`, { hint: "This library and the deployed escrow disagree on the arithmetic; update the library." });
  }
  const token = m.token.connect(signer);
  const [balance, allowance] = await Promise.all([token.balanceOf(client), token.allowance(client, m.addresses.escrow)]);
  if (balance < escrow) {
    throw new AitbcError("INSUFFICIENT_BALANCE", `${client} holds ${aitbc(balance)}; this job escrows ${aitbc(escrow)}`, {
      hint: "Fund the account with AITBC, or lower the job size.",
      details: { balance: balance.toString(), needed: escrow.toString() },
    });
  }
  const chainId = (await provider.getNetwork()).chainId;
  const proposed: ProposedJob = {
    model: model.name,
    rate: model.rate,
    maxUnitsMilli,
    deadline: Number(deadline),
    prompt,
    private: isPrivate,
    addressedProvider: addressed?.toLowerCase() ?? null,
  };
  const admission = await admit(provider, deployment, proposed, {
    addressed,
    force: request.force === true,
    now,
    chainId,
    escrow: m.addresses.escrow,
    timeoutMs: request.offerTimeoutMs ?? DEFAULT_OFFER_TIMEOUT_MS,
  });
  let onChainPrompt: Uint8Array = prompt;
  let resultKey: string | null = null;
  if (isPrivate) {
    const size = 1 + 32 + prompt.length + envelopeOverhead(admission.recipients.length + 1);
    if (size > MAX_PROMPT_BYTES) {
      throw new AitbcError("ENVELOPE_TOO_LARGE", `sealed to ${admission.recipients.length} provider(s) and you, the prompt makes ${size} bytes; the escrow accepts at most ${MAX_PROMPT_BYTES}`, {
        hint: `Shorten the prompt by ${size - MAX_PROMPT_BYTES} bytes, or direct the job to one provider with --provider (each recipient adds 88 bytes).`,
        details: { bytes: size, max: MAX_PROMPT_BYTES },
      });
    }
    const keyPair = await resultKeyFor(signer, chainId);
    resultKey = hexlify(keyPair.publicKey);
    onChainPrompt = await sealJobRequest(
      { prompt, resultKey: keyPair.publicKey },
      admission.recipients.map((r) => r.encryptionKey as Uint8Array),
      { chainId, market: m.addresses.escrow, client },
      options.hpke ?? portableHpke,
    );
    keyPair.privateKey.fill(0);
  }
  say(`Job: ${model.name} (model ${model.id}), up to ${milliToUnits(maxUnitsMilli)} ${model.unitType} at ${aitbc(model.rate)} → escrow ${aitbc(escrow)}`);
  say(`  deadline ${formatTimestamp(deadline)}${addressed === undefined ? "" : `, only provider ${addressed}`}`);
  say(isPrivate ? `  private: prompt sealed to ${admission.recipients.map((r) => r.address).join(", ")} and your result key` : "  public: the prompt goes on-chain in the clear");
  for (const warning of admission.warnings) say(`  warning: ${warning}`);

  const escrowContract = m.escrow.connect(signer);
  const providerArg = addressed ?? ZeroAddress;
  const sent: SentTx[] = [];
  let funding: SubmittedJob["funding"] = "allowance";
  let created: SentTx;
  // The permit only has to survive until the creation is mined; an hour of chain time is ample.
  const permitDeadline = now + 3_600n;
  const permit = allowance >= escrow || request.funding === "approve" ? undefined : await signPermit(m.token, signer, m.addresses.escrow, escrow, permitDeadline);
  if (permit !== undefined) {
    funding = "permit";
    created = await sendTransaction("create job (with permit)", {
      estimate: () => escrowContract.createJobWithPermit.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, onChainPrompt, permitDeadline, permit.v, permit.r, permit.s),
      send: () => escrowContract.createJobWithPermit(model.id, maxUnitsMilli, providerArg, deadline, onChainPrompt, permitDeadline, permit.v, permit.r, permit.s),
    }, { onProgress: say });
  } else {
    if (allowance < escrow) {
      funding = "approve";
      sent.push(
        await sendTransaction(`approve ${aitbc(escrow)} for the escrow`, {
          estimate: () => token.approve.estimateGas(m.addresses.escrow, escrow),
          send: () => token.approve(m.addresses.escrow, escrow),
        }, { onProgress: say }),
      );
    }
    created = await sendTransaction("create job", {
      estimate: () => escrowContract.createJob.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, onChainPrompt),
      send: () => escrowContract.createJob(model.id, maxUnitsMilli, providerArg, deadline, onChainPrompt),
    }, { onProgress: say });
  }
  sent.push(created);
  const event = created.receipt.logs
    .map((log) => {
      try {
        return escrowContract.interface.parseLog(log);
      } catch {
        return null;
      }
    })
    .find((parsed) => parsed?.name === "JobCreated");
  if (event === undefined || event === null) {
    throw new AitbcError("TX_FAILED", `the job was created (${created.hash}) but no JobCreated event was found`, { hint: "Check that the deployment file points at the JobEscrow." });
  }
  return {
    jobId: event.args.jobId as bigint,
    escrow,
    txHash: created.hash,
    model: model.name,
    modelId: model.id,
    client,
    provider: addressed ?? null,
    maxUnitsMilli,
    rate: model.rate,
    deadline,
    inputHash: event.args.inputHash as string,
    funding,
    transactions: sent,
    private: isPrivate,
    recipients: isPrivate ? admission.recipients.map((r) => r.address) : [],
    resultKey,
    warnings: admission.warnings,
  };
}

export interface DisputedJob {
  jobId: bigint;
  /** Provider earnings now held until the DAO resolves the dispute. */
  held: bigint;
  /** The dispute bond paid: returned if the DAO finds for the client in any part, else paid to the provider. */
  bond: bigint;
  /** The dispute transaction (after an `approve` of the bond when the allowance did not cover it). */
  transaction: SentTx;
}

/**
 * Disputes a settled job: only its client, and only before the settlement batch's dispute window closes. The client
 * pays the escrow's dispute bond (approved here if the allowance does not cover it). The DAO resolves the dispute with
 * a proposal calling `JobEscrow.resolveDispute`.
 *
 * @throws {AitbcError} `UNKNOWN_JOB`, `JOB_WRONG_STATE`, `NOT_CLIENT`, `DISPUTE_WINDOW_CLOSED`, `INSUFFICIENT_BALANCE`,
 *   `TX_WOULD_REVERT`.
 */
export async function disputeJob(signer: Signer, deployment: Deployment, jobId: bigint, options: { onProgress?: ProgressFn; networkName?: string } = {}): Promise<DisputedJob> {
  const provider = providerOf(signer);
  const m = connectMarket(deployment, provider);
  const sender = await signer.getAddress();
  const job = await readJob(m.escrow, jobId, options.networkName ?? deployment.network);
  requireJobStatus(job, ["Settled"], "disputing", "Only a Settled job inside its dispute window can be disputed; check the job's status.");
  if (!sameAddress(job.client, sender)) {
    throw new AitbcError("NOT_CLIENT", `${sender} is not the client of job ${jobId} (${job.client} is)`, { hint: "Dispute from the account that submitted the job." });
  }
  const [payout, now] = await Promise.all([m.escrow.payoutOf(job.batchId), chainTime(provider)]);
  if (now >= payout.releasableAt) {
    throw new AitbcError("DISPUTE_WINDOW_CLOSED", `the dispute window of job ${jobId} closed at ${formatTimestamp(payout.releasableAt)}`, { hint: "Disputes must be opened inside the window; the settlement is final." });
  }
  const escrow = m.escrow.connect(signer);
  const bond = await m.escrow.disputeBond();
  if (bond > 0n) {
    const [balance, allowance] = await Promise.all([m.token.balanceOf(sender), m.token.allowance(sender, m.addresses.escrow)]);
    if (balance < bond) {
      throw new AitbcError("INSUFFICIENT_BALANCE", `a dispute costs a bond of ${formatTokenAmount(bond)} AITBC; ${sender} holds ${formatTokenAmount(balance)}`, {
        hint: "Fund the client account with the dispute bond first; it comes back if the DAO finds for you.",
      });
    }
    if (allowance < bond) {
      const token = m.token.connect(signer);
      await sendTransaction(`approve the ${formatTokenAmount(bond)} AITBC dispute bond`, { estimate: () => token.approve.estimateGas(m.addresses.escrow, bond), send: () => token.approve(m.addresses.escrow, bond) }, { onProgress: options.onProgress });
    }
  }
  const transaction = await sendTransaction(`dispute job ${jobId}`, { estimate: () => escrow.dispute.estimateGas(jobId), send: () => escrow.dispute(jobId) }, { onProgress: options.onProgress });
  const [held, , paid] = await m.escrow.disputeOf(jobId);
  return { jobId, held, bond: paid, transaction };
}

export interface Withdrawal {
  account: string;
  amount: bigint;
  /** Settlement batches released on the way (providers only). */
  releasedBatches: bigint[];
  transactions: SentTx[];
}

/**
 * Withdraws the signer's balance in the escrow: client refunds of settled jobs, resolved disputes, and — for a
 * provider — earnings whose dispute window has passed (their batches are released first, in the same call).
 *
 * @throws {AitbcError} `NOTHING_TO_WITHDRAW` when the balance is zero.
 */
export async function withdraw(signer: Signer, deployment: Deployment, options: { onProgress?: ProgressFn } = {}): Promise<Withdrawal> {
  const provider = providerOf(signer);
  const m = connectMarket(deployment, provider);
  const account = await signer.getAddress();
  const escrow = m.escrow.connect(signer);
  const transactions: SentTx[] = [];
  const entry = await providerEntry(m.providers, account);
  let releasedBatches: bigint[] = [];
  if (entry.registered) {
    const now = await chainTime(provider);
    const ready = (await providerBatches(m.escrow, account, deployment.block)).filter((b) => !b.released && now >= b.releasableAt);
    releasedBatches = ready.map((b) => b.batchId);
    if (releasedBatches.length > 0) {
      transactions.push(
        await sendTransaction(`release ${releasedBatches.length} settled batch(es)`, {
          estimate: () => escrow.releaseBatches.estimateGas(releasedBatches),
          send: () => escrow.releaseBatches(releasedBatches),
        }, { onProgress: options.onProgress }),
      );
    }
  }
  const amount = await escrow.balanceOf(account);
  if (amount === 0n) {
    throw new AitbcError("NOTHING_TO_WITHDRAW", `${account} has no withdrawable balance in the escrow`, {
      hint: "Client refunds of settled jobs and provider earnings past their dispute window land here; check the provider's or the job's status.",
    });
  }
  transactions.push(await sendTransaction(`withdraw ${aitbc(amount)}`, { estimate: () => escrow.withdraw.estimateGas(), send: () => escrow.withdraw() }, { onProgress: options.onProgress }));
  return { account, amount, releasedBatches, transactions };
}
