/**
 * What a client does with the marketplace: submit a job (funded by an EIP-2612 permit when the wallet can sign one,
 * by `approve` otherwise), dispute a settled job inside its window, and withdraw refunds and earnings.
 */
import { Signature, ZeroAddress, type Signer } from "ethers";

import type { Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { formatTimestamp } from "../time.js";
import { formatTokenAmount, milliToUnits } from "../money/amounts.js";
import { parseAddressOption, parseDeadline, parseMaxUnits } from "../market/jobs.js";
import { findModel, readRateCard } from "../market/rates.js";
import { escrowFor } from "../money/prices.js";
import { MAX_PROMPT_BYTES } from "../protocol.js";
import type { AITBCToken } from "../../typechain-types/index.js";
import { chainTime, connectMarket, providerBatches, providerEntry, providerOf, readJob, requireJobStatus, sameAddress } from "./market.js";
import { sendTransaction, type ProgressFn, type SentTx } from "./tx.js";

/** Deadline of a job when the caller names none: an hour of chain time. */
export const DEFAULT_JOB_TTL_SECONDS = 3_600n;

function aitbc(base: bigint): string {
  return `${formatTokenAmount(base)} AITBC`;
}

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
}

/**
 * Escrows tokens for a job and creates it. Everything is checked before anything is sent: the model is on the rate
 * card and enabled, the addressed provider can serve it, the deadline fits the escrow's window, the balance covers
 * the escrow, and the escrow's own quote equals `lib/money/prices.ts` arithmetic.
 *
 * @throws {AitbcError} `UNKNOWN_MODEL`, `MODEL_DISABLED`, `BAD_UNITS`, `BAD_DEADLINE`, `BAD_PROMPT`, `BAD_ADDRESS`,
 *   `PROVIDER_CANNOT_SERVE`, `INSUFFICIENT_BALANCE`, `QUOTE_MISMATCH`, `TX_WOULD_REVERT`, `TX_FAILED`.
 */
export async function submitJob(signer: Signer, deployment: Deployment, request: SubmitJobRequest, options: { onProgress?: ProgressFn } = {}): Promise<SubmittedJob> {
  const say = options.onProgress ?? (() => undefined);
  if (request.model.trim() === "") throw new AitbcError("MISSING_OPTION", "a job needs a model", { hint: "Pick a model from the rate card, e.g. llama3.2." });
  const maxUnitsMilli = parseMaxUnits(request.maxUnits);
  const addressed = request.provider === undefined || request.provider.trim() === "" ? undefined : parseAddressOption(request.provider, "provider");
  const prompt = encodePrompt(request.prompt);
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
  say(`Job: ${model.name} (model ${model.id}), up to ${milliToUnits(maxUnitsMilli)} ${model.unitType} at ${aitbc(model.rate)} → escrow ${aitbc(escrow)}`);
  say(`  deadline ${formatTimestamp(deadline)}${addressed === undefined ? "" : `, only provider ${addressed}`}`);

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
      estimate: () => escrowContract.createJobWithPermit.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, prompt, permitDeadline, permit.v, permit.r, permit.s),
      send: () => escrowContract.createJobWithPermit(model.id, maxUnitsMilli, providerArg, deadline, prompt, permitDeadline, permit.v, permit.r, permit.s),
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
      estimate: () => escrowContract.createJob.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, prompt),
      send: () => escrowContract.createJob(model.id, maxUnitsMilli, providerArg, deadline, prompt),
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
