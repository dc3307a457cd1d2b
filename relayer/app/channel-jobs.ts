import { getAddress, isAddress, keccak256, verifyTypedData, type TypedDataDomain } from "ethers";

import { MerkleTree } from "../../lib/merkle.js";
import { priceFor } from "../../lib/money/prices.js";
import { nodeBackend } from "../../lib/node/ed25519-node.js";
import { buildReceipt, receiptHash, receiptLeaf, serializeReceipt, signReceipt } from "../../lib/receipts/receipt.js";
import { JOB_REQUEST_TYPES, VOUCHER_TYPES, channelsDomain, jobRequestDigest, type ChannelJobRequest } from "../../lib/sdk/channels.js";
import type { ChannelJobRecord, StoredVoucher } from "../adapters/journal/channels.js";
import { isRuntimeError, type Runtime } from "../adapters/runtimes/types.js";
import { RelayerError, type RelayerErrorCode } from "../core/errors.js";
import { meterUnitsMilli } from "../core/metering.js";
import { decide, type PolicyConfig } from "../core/policy.js";
import { RESULT_CONTENT_TYPE, type ReceiptSigner } from "./completions.js";
import { anchorRootCalldata, claimCalldata, claimUnvouchedCalldata, releaseClaimsCalldata, type ChannelReader, type ClaimVoucher } from "./contracts.js";
import { ENVELOPE_CONTENT_TYPE, type PrivateJobs } from "./private.js";
import { errorCode, errorMessage, sec, type Work } from "./work.js";

const ZERO_ROOT = `0x${"0".repeat(64)}`;
const UINT = /^(0|[1-9][0-9]{0,77})$/;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
/** Finished requests above a client's voucher coverage before the relayer takes no more from it. */
export const MAX_UNPAID_REQUESTS = 64;
/** Vouchers per claim transaction (JobChannels.MAX_VOUCHERS is 256). */
const MAX_CLAIM_VOUCHERS = 200;
/** Leaves per claim root. */
const MAX_CLAIM_LEAVES = 1000;

/** Everything the channel mode needs beyond the relayer's shared {@link Work}. */
export interface ChannelModeOptions {
  /** The JobChannels address (any case). */
  channels: string;
  reader: ChannelReader;
  runtime: Runtime;
  /** The receipt signer, with the JobChannels address as the receipts' `escrow`. */
  signer: ReceiptSigner;
  /** Private prompts sealed for this relayer in the channel mode's context (the JobChannels address as market). */
  privateJobs: PrivateJobs;
  policy: PolicyConfig;
  tokens: { contextTokens: number | null; countTokens: (prompt: Uint8Array) => number };
  /** Escrow jobs accepted or running: the job slots both modes share. */
  activeEscrowJobs: () => number;
  runtimeUp: () => boolean;
}

/** An answer of the channel API: status and JSON body. */
export interface ChannelReply {
  status: number;
  json: string;
}

function bad(code: RelayerErrorCode, message: string, hint: string, details?: Record<string, unknown>): never {
  throw new RelayerError(code, message, { hint, details });
}

function field(body: Record<string, unknown>, key: string, pattern: RegExp, what: string): string {
  const v = body[key];
  if (typeof v !== "string" || !pattern.test(v)) bad("CHANNEL_BAD_REQUEST", `${key} must be ${what}`, "see docs/CHANNELS.md for the request format");
  return v;
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("CHANNEL_BAD_REQUEST", `${what} must be a JSON object`, "see docs/CHANNELS.md for the request format");
  return value as Record<string, unknown>;
}

function address(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== "string" || !isAddress(v)) bad("CHANNEL_BAD_REQUEST", `${key} must be a 0x address`, "pass a 20-byte hex address");
  return getAddress(v);
}

/** The request fields a client signs, read strictly from JSON (numbers as decimal strings). */
export function parseChannelRequest(value: unknown): ChannelJobRequest {
  const r = objectOf(value, "request");
  const modelId = Number(field(r, "modelId", /^[0-9]{1,5}$/, "a model id (decimal string)"));
  if (modelId > 65_535) bad("CHANNEL_BAD_REQUEST", "modelId must fit uint16", "use the model's id on the rate card");
  const maxUnitsMilli = BigInt(field(r, "maxUnitsMilli", UINT, "a decimal uint64"));
  const deadline = BigInt(field(r, "deadline", UINT, "unix seconds (decimal string)"));
  const requestId = BigInt(field(r, "requestId", UINT, "a decimal uint256"));
  if (maxUnitsMilli === 0n || maxUnitsMilli >= 1n << 64n) bad("CHANNEL_BAD_REQUEST", "maxUnitsMilli must be between 1 and 2^64 − 1", "the largest job size in milli-units");
  if (deadline >= 1n << 40n) bad("CHANNEL_BAD_REQUEST", "deadline must fit uint40", "unix seconds");
  if (requestId === 0n) bad("CHANNEL_BAD_REQUEST", "requestId must be 1 or more", "number your requests 1, 2, 3, … per channel");
  return {
    client: address(r, "client"),
    provider: address(r, "provider"),
    requestId,
    modelId,
    maxUnitsMilli,
    deadline,
    inputHash: field(r, "inputHash", HEX32, "a 32-byte hex hash").toLowerCase(),
  };
}

/**
 * The channel job mode in the relayer (docs/CHANNELS.md): signed requests arrive over HTTP, are checked (signature,
 * provider, admission, the channel's funds and closing time) and journaled before they are acknowledged; each runs
 * on the runtime and its result commits with the one receipt ever signed for it (job id = the request's digest,
 * escrow = the JobChannels address); vouchers arrive over HTTP and only the newest per client is kept; claims anchor
 * the receipt root and redeem the vouchers in one transaction through the relayer's sender.
 */
export class ChannelJobs {
  readonly #w: Work;
  readonly #o: ChannelModeOptions;
  readonly #domain: TypedDataDomain;
  readonly #channels: string;
  readonly #runs = new Map<string, Promise<void>>();
  /** Per-client queue: the checks of one client's submissions and vouchers never interleave. */
  readonly #clientLocks = new Map<string, Promise<unknown>>();
  readonly #signal: AbortSignal;

  constructor(work: Work, options: ChannelModeOptions, signal: AbortSignal) {
    this.#w = work;
    this.#o = options;
    this.#channels = getAddress(options.channels);
    this.#domain = channelsDomain(work.chainId, this.#channels);
    this.#signal = signal;
  }

  get address(): string {
    return this.#channels;
  }

  /** Jobs of the channel mode taking a job slot (queued or running). */
  activeCount(): number {
    return this.#w.journal.channels.count(["queued", "running"]);
  }

  inFlight(): Promise<void>[] {
    return [...this.#runs.values()];
  }

  #serialized<T>(client: string, fn: () => Promise<T>): Promise<T> {
    const key = client.toLowerCase();
    const previous = this.#clientLocks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#clientLocks.set(key, settled);
    void settled.then(() => {
      if (this.#clientLocks.get(key) === settled) this.#clientLocks.delete(key);
    });
    return next;
  }

  // ── requests ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** `POST /api/v1/channel/jobs`: `{ request, signature, prompt (base64) }`. */
  async submit(body: unknown): Promise<ChannelReply> {
    const b = objectOf(body, "the body");
    const request = parseChannelRequest(b.request);
    const signature = field(b, "signature", SIGNATURE, "a 65-byte hex signature");
    if (typeof b.prompt !== "string") bad("CHANNEL_BAD_REQUEST", "prompt must be base64 text", "send the prompt (or its envelope) bytes in base64");
    const prompt = new Uint8Array(Buffer.from(b.prompt, "base64"));
    if (request.provider.toLowerCase() !== this.#w.provider) {
      bad("CHANNEL_WRONG_PROVIDER", `the request names provider ${request.provider}, this relayer is ${this.#w.provider}`, "send the request to the relayer of the provider it names");
    }
    const digest = jobRequestDigest(this.#domain, request).toLowerCase();
    if (keccak256(prompt).toLowerCase() !== request.inputHash) {
      bad("CHANNEL_INPUT_MISMATCH", "keccak-256 of the prompt bytes is not the request's inputHash", "sign the hash of exactly the bytes you send");
    }
    let signer: string;
    try {
      signer = verifyTypedData(this.#domain, JOB_REQUEST_TYPES, request, signature);
    } catch {
      signer = "";
    }
    if (signer.toLowerCase() !== request.client.toLowerCase()) {
      bad("CHANNEL_BAD_SIGNATURE", "the signature is not the client's over this request (EIP-712, this chain and JobChannels deployment)", "sign the request with the client's key (contract-wallet clients are not served over the channel API)");
    }
    return this.#serialized(request.client, () => this.#take(request, signature, prompt, digest));
  }

  async #take(request: ChannelJobRequest, signature: string, prompt: Uint8Array, digest: string): Promise<ChannelReply> {
    const { journal } = this.#w;
    const client = request.client.toLowerCase();
    const known = journal.channels.byRequestId(client, request.requestId) ?? journal.channels.get(digest);
    if (known !== null) {
      if (known.digest !== digest) {
        bad("CHANNEL_REQUEST_ID_USED", `request ${request.requestId} of ${request.client} is already another request`, "number each request of a channel once: ask GET /api/v1/channel/clients/<address> for the next id");
      }
      return { status: 200, json: this.jobJson(known) };
    }
    if (!this.#o.runtimeUp()) bad("CHANNEL_REFUSED", "RUNTIME_DOWN: the inference runtime does not answer", "retry later, or send the job to another provider", { reason: "RUNTIME_DOWN" });
    const [rate, channel] = await Promise.all([this.#o.reader.rate(request.modelId), this.#o.reader.channel(client)]);
    const model = rate === null ? null : await this.#w.market.modelName(request.modelId);
    if (rate === null || model === null || !rate.enabled) {
      bad("CHANNEL_REFUSED", `MODEL_NOT_OFFERED: model ${request.modelId} is not on the rate card or is disabled`, "pick a model from `npx hardhat rates`", { reason: "MODEL_NOT_OFFERED" });
    }
    if (request.requestId <= channel.coveredThrough) {
      bad("CHANNEL_REQUEST_ID_COVERED", `request ${request.requestId} is already covered by a redeemed voucher (through ${channel.coveredThrough})`, "use a request id above the channel's coverage");
    }
    const opened = await this.#o.privateJobs.open({ client }, prompt);
    if (!opened.ok) bad("CHANNEL_REFUSED", `${opened.reason}: ${opened.detail}`, "seal the prompt to this provider's published key, in the JobChannels context", { reason: opened.reason });
    const nowSec = await this.#w.chainNow();
    const active = this.#o.activeEscrowJobs() + this.activeCount();
    const decision = decide(
      this.#o.policy,
      {
        jobId: BigInt(digest),
        model,
        addressedProvider: this.#w.provider,
        maxUnitsMilli: request.maxUnitsMilli,
        rate: rate.rate,
        deadline: Number(request.deadline),
        prompt: opened.prompt,
        promptTokens: this.#o.tokens.contextTokens === null || opened.prompt.length === 0 ? undefined : this.#countTokens(opened.prompt),
      },
      { activeJobs: active, now: nowSec },
    );
    if (!decision.take) bad("CHANNEL_REFUSED", `${decision.reason}: ${decision.detail}`, decision.retryable ? "retry later" : "fix the request (see the provider's offer, GET /api/v1/offer)", { reason: decision.reason });
    const margin = this.#o.policy.settlementMarginSeconds ?? 0;
    if (channel.closesAt !== 0 && channel.closesAt <= Number(request.deadline) + margin) {
      bad("CHANNEL_CLOSING", `the channel's withdrawal takes effect at ${channel.closesAt}, before this job could be served and claimed`, "cancel the withdrawal (`channel:withdraw --cancel`) or use an earlier deadline");
    }
    const cap = priceFor(request.maxUnitsMilli, rate.rate);
    // Only the client's requests above what the chain redeemed: a long-lived client's history is not read again.
    const jobs = journal.channels.ofClientAbove(client, channel.coveredThrough);
    // A job charged through the fallback has its charge out of the balance already: not committed twice. (One a
    // stored voucher covers is still in the balance until that voucher is redeemed.)
    const charged = new Set(["sent", "held", "released", "disputed"]);
    const uncovered = jobs.filter((j) => j.state !== "failed" && (j.fallback === null || !charged.has(j.fallback.status)));
    const committed = uncovered.reduce((sum, j) => sum + (j.state === "done" ? (j.price ?? 0n) : priceFor(j.maxUnitsMilli, j.rate)), 0n);
    if (committed + cap > channel.balance) {
      bad("CHANNEL_UNDERFUNDED", `the channel holds ${channel.balance}; ${committed} is committed to earlier requests and this one may cost ${cap}`, "top the channel up with `channel:deposit`, or send a voucher for the finished requests so the provider claims them", {
        balance: channel.balance.toString(),
        committed: committed.toString(),
        cap: cap.toString(),
      });
    }
    const unpaid = uncovered.filter((j) => j.state === "done").length;
    const voucher = journal.channels.voucher(client);
    const vouchedThrough = voucher?.coveredThrough ?? 0n;
    if (jobs.filter((j) => j.state === "done" && j.requestId > vouchedThrough).length >= MAX_UNPAID_REQUESTS && unpaid > 0) {
      bad("CHANNEL_UNPAID", `${unpaid} finished requests of ${request.client} are not paid by a voucher`, "send a voucher for the finished requests (POST /api/v1/channel/vouchers) before new ones");
    }
    const record = {
      digest,
      client,
      requestId: request.requestId,
      modelId: request.modelId,
      model,
      maxUnitsMilli: request.maxUnitsMilli,
      rate: rate.rate,
      deadline: Number(request.deadline),
      inputHash: request.inputHash,
      signature,
    };
    const outcome = journal.transaction(() => journal.channels.insert(record, prompt, sec(this.#w.now())));
    const job = outcome.inserted ? journal.channels.get(digest) : outcome.existing;
    this.#w.log.info({ digest, client, requestId: request.requestId.toString() }, "channel job taken");
    this.#w.kick();
    return { status: outcome.inserted ? 202 : 200, json: this.jobJson(job as ChannelJobRecord) };
  }

  #countTokens(prompt: Uint8Array): number {
    try {
      return this.#o.tokens.countTokens(prompt);
    } catch {
      return prompt.length + 2;
    }
  }

  // ── runs ──────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Starts runs for queued jobs (and jobs left running by a crash) while run slots are free. */
  start(): void {
    const limit = this.#w.settings.runConcurrency;
    if (this.#runs.size >= limit) return;
    const { journal } = this.#w;
    const candidates = [...journal.channels.list("running", limit * 2), ...journal.channels.list("queued", limit * 2)];
    for (const job of candidates) {
      if (this.#runs.size >= limit) break;
      if (this.#runs.has(job.digest)) continue;
      const run = this.#run(job)
        .catch((error: unknown) => this.#w.recordError(error, `channel job ${job.digest}: run failed`, "error"))
        .finally(() => {
          this.#runs.delete(job.digest);
          this.#w.kick();
        });
      this.#runs.set(job.digest, run);
    }
  }

  async #run(job: ChannelJobRecord): Promise<void> {
    const { journal, settings } = this.#w;
    const nowSec = sec(this.#w.now());
    const left = job.deadline - nowSec - (this.#o.policy.settlementMarginSeconds ?? 0);
    if (left <= 0) {
      journal.channels.fail(job.digest, `DEADLINE_TOO_CLOSE: the job can no longer be served and claimed before its deadline ${job.deadline}`, nowSec);
      return;
    }
    const stored = journal.channels.prompt(job.digest);
    const opened = stored === null ? null : await this.#o.privateJobs.open({ client: job.client }, stored);
    if (opened === null || !opened.ok) {
      journal.channels.fail(job.digest, opened === null ? "PROMPT_MISSING" : `${opened.reason}: ${opened.detail}`, nowSec);
      return;
    }
    const model = settings.models.get(job.model);
    if (model === undefined) {
      journal.channels.fail(job.digest, `MODEL_NOT_SERVED: ${job.model}`, nowSec);
      return;
    }
    journal.channels.start(job.digest, nowSec);
    let result;
    try {
      result = await this.#o.runtime.run({
        jobId: BigInt(job.digest),
        model: model.runtimeModel,
        prompt: opened.prompt,
        maxTokens: settings.maxTokens,
        timeoutMs: Math.max(1, Math.min(settings.runTimeoutMs, left * 1000)),
        signal: this.#signal,
      });
    } catch (error) {
      if (isRuntimeError(error, "RUNTIME_ABORTED")) return; // shutdown: runs again on start
      if (isRuntimeError(error, "RUNTIME_UNAVAILABLE")) {
        this.#w.recordError(error, `channel job ${job.digest}: runtime unavailable, will retry`);
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        return;
      }
      journal.channels.fail(job.digest, `${errorCode(error)}: ${opened.private ? "the runtime failed the private job" : errorMessage(error)}`, sec(this.#w.now()));
      return;
    }
    let unitsMilli = meterUnitsMilli(result.timings, job.maxUnitsMilli);
    if (unitsMilli === 0n) unitsMilli = 1n;
    const price = priceFor(unitsMilli, job.rate);
    const body = opened.private
      ? await this.#o.privateJobs.sealResult({ client: job.client, jobId: BigInt(job.digest) }, opened.resultKey, new TextEncoder().encode(result.output))
      : new TextEncoder().encode(result.output);
    const resultHash = keccak256(body).toLowerCase();
    const signed = signReceipt(
      buildReceipt({
        chainId: this.#o.signer.chainId,
        escrow: this.#o.signer.escrow,
        jobId: BigInt(job.digest),
        provider: this.#o.signer.provider,
        client: job.client,
        model: job.model,
        unitsMilli,
        priceBase: price,
        startedAt: sec(result.timings.startedAt),
        completedAt: sec(result.timings.completedAt),
        inputHash: job.inputHash,
        resultHash,
      }),
      this.#o.signer.secretKey,
      nodeBackend,
    );
    // The result and the one receipt of the job commit together: a crash before this leaves the job running (it
    // runs again, and nothing of the first run left the process); after it, the receipt never changes.
    const finished = journal.transaction(() =>
      journal.channels.finish(
        job.digest,
        {
          unitsMilli,
          price,
          result: body,
          contentType: opened.private ? ENVELOPE_CONTENT_TYPE : RESULT_CONTENT_TYPE,
          resultHash,
          receiptJson: serializeReceipt(signed),
          receiptHash: receiptHash(signed).toLowerCase(),
          leaf: receiptLeaf(signed).toLowerCase(),
        },
        sec(this.#w.now()),
      ),
    );
    if (finished) this.#w.log.info({ digest: job.digest, unitsMilli: unitsMilli.toString(), price: price.toString() }, "channel job done");
  }

  // ── vouchers ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** `POST /api/v1/channel/vouchers`: `{ voucher: { client, provider, cumulativeAmount, coveredThrough }, signature }`. */
  async voucher(body: unknown): Promise<ChannelReply> {
    const b = objectOf(body, "the body");
    const v = objectOf(b.voucher, "voucher");
    const voucher = {
      client: address(v, "client"),
      provider: address(v, "provider"),
      cumulativeAmount: BigInt(field(v, "cumulativeAmount", UINT, "a decimal uint256")),
      coveredThrough: BigInt(field(v, "coveredThrough", UINT, "a decimal uint256")),
    };
    const signature = field(b, "signature", SIGNATURE, "a 65-byte hex signature");
    if (voucher.provider.toLowerCase() !== this.#w.provider) {
      bad("CHANNEL_WRONG_PROVIDER", `the voucher names provider ${voucher.provider}, this relayer is ${this.#w.provider}`, "send the voucher to the relayer of the provider it pays");
    }
    let signer: string;
    try {
      signer = verifyTypedData(this.#domain, VOUCHER_TYPES, voucher, signature);
    } catch {
      signer = "";
    }
    if (signer.toLowerCase() !== voucher.client.toLowerCase()) {
      bad("CHANNEL_BAD_SIGNATURE", "the signature is not the client's over this voucher (EIP-712, this chain and JobChannels deployment)", "sign the voucher with the client's key");
    }
    return this.#serialized(voucher.client, async () => {
      const { journal } = this.#w;
      const client = voucher.client.toLowerCase();
      const stored = journal.channels.voucher(client);
      if (stored !== null && stored.cumulativeAmount === voucher.cumulativeAmount && stored.coveredThrough === voucher.coveredThrough && stored.signature === signature) {
        return { status: 200, json: voucherJson(stored) };
      }
      if (stored !== null && (voucher.cumulativeAmount < stored.cumulativeAmount || voucher.coveredThrough < stored.coveredThrough)) {
        bad("CHANNEL_VOUCHER_STALE", `a newer voucher is held (${stored.cumulativeAmount} through request ${stored.coveredThrough})`, "sign a voucher for the cumulative total of every finished request");
      }
      const jobs = journal.channels.ofClient(client).filter((j) => j.requestId <= voucher.coveredThrough);
      const open = jobs.filter((j) => j.state === "queued" || j.state === "running");
      if (open.length > 0) {
        bad("CHANNEL_VOUCHER_EARLY", `request ${open[0].requestId} is not finished yet; a voucher through ${voucher.coveredThrough} would pay for it unseen`, "vouch only through requests whose receipts you have");
      }
      const owed = jobs.reduce((sum, j) => sum + (j.state === "done" ? (j.price ?? 0n) : 0n), 0n);
      const channel = await this.#o.reader.channel(client);
      // A voucher's total counts from the channel's first request; the chain's `spent` is what was redeemed already.
      if (voucher.cumulativeAmount < owed) {
        bad("CHANNEL_VOUCHER_TOO_LOW", `the requests through ${voucher.coveredThrough} cost ${owed} in all; the voucher pays ${voucher.cumulativeAmount}`, `sign a cumulative amount of at least ${owed}`, { owed: owed.toString() });
      }
      if (voucher.coveredThrough < channel.coveredThrough || voucher.cumulativeAmount < channel.spent) {
        bad("CHANNEL_VOUCHER_STALE", `the channel already redeemed ${channel.spent} through request ${channel.coveredThrough}`, "sign a voucher above what the channel redeemed");
      }
      if (voucher.cumulativeAmount - channel.spent > channel.balance) {
        bad("CHANNEL_VOUCHER_ABOVE_DEPOSIT", `the voucher needs ${voucher.cumulativeAmount - channel.spent} from a channel holding ${channel.balance}`, "top the channel up before vouching for more");
      }
      const saved = { client, cumulativeAmount: voucher.cumulativeAmount, coveredThrough: voucher.coveredThrough, signature };
      journal.transaction(() => {
        journal.channels.saveVoucher(saved, sec(this.#w.now()));
        // The jobs it covers are paid by it: they are never candidates for a fallback claim.
        for (const j of jobs) if (j.state === "done" && j.fallback === null) journal.channels.setFallback(j.digest, "covered", null);
      });
      this.#w.kick();
      return { status: 200, json: voucherJson({ ...saved, receivedAt: sec(this.#w.now()) }) };
    });
  }

  // ── claims ────────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Settles what the claim in flight became, or sends the next claim when one is due: the receipts finished since
   * the last claim (once `batching.maxItems` of them wait, or the oldest waited `batching.maxAgeSeconds`) and every
   * voucher above what its channel redeemed.
   */
  async claimStep(): Promise<void> {
    const { journal, sender } = this.#w;
    const nowSec = sec(this.#w.now());
    const inFlight = journal.channels.claims("sent");
    for (const claim of inFlight) {
      const tx = journal.transactions.get(claim.txId);
      if (tx === null) continue;
      if (tx.status === "confirmed") {
        journal.transaction(() => journal.channels.markClaimConfirmed(claim, nowSec));
        this.#w.log.info({ root: claim.root, receipts: claim.leaves.length, vouchers: claim.vouchers.length }, "channel claim landed");
      } else if (tx.status === "reverted" || tx.status === "abandoned") {
        journal.transaction(() => journal.channels.markClaimFailed(claim, nowSec));
        this.#w.log.warn({ root: claim.root, status: tx.status }, "channel claim did not land; its receipts wait for the next claim");
      }
    }
    if (journal.channels.claims("sent").length > 0) return;

    const s = this.#w.settings.batching;
    const waiting = journal.channels.unanchored(Math.min(MAX_CLAIM_LEAVES, s.maxItems));
    const pending = journal.channels.pendingVouchers(MAX_CLAIM_VOUCHERS);
    // Whether a claim is due is decided from the journal alone; the chain is read only for a claim about to be sent.
    const oldestLeaf = waiting.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...waiting.map((j) => j.updatedAt));
    const oldestVoucher = pending.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...pending.map((v) => v.receivedAt));
    const due = waiting.length >= s.maxItems || Math.min(oldestLeaf, oldestVoucher) + s.maxAgeSeconds <= nowSec;
    if (!due) return;
    const candidates: ClaimVoucher[] = [];
    for (const v of pending) {
      const channel = await this.#o.reader.channel(v.client);
      if (v.cumulativeAmount <= channel.spent || v.coveredThrough < channel.coveredThrough || (channel.closesAt !== 0 && nowSec >= channel.closesAt)) {
        // Nothing left to redeem with it (or the channel closed): it needs no claim.
        journal.channels.settleVoucher(v.client, v.cumulativeAmount);
        continue;
      }
      candidates.push({ client: getAddress(v.client), cumulativeAmount: v.cumulativeAmount, coveredThrough: v.coveredThrough, signature: v.signature });
    }
    if (waiting.length === 0 && candidates.length === 0) return;

    const leaves = waiting.map((j) => j.leaf as string);
    const root = leaves.length === 0 ? ZERO_ROOT : MerkleTree.fromLeafHashes(leaves).root.toLowerCase();
    // One voucher the chain would refuse would revert the whole claim: each is tried alone first when the whole fails.
    let vouchers = candidates;
    if (vouchers.length > 0) {
      try {
        await this.#o.reader.simulate(claimCalldata(root, leaves.length, vouchers));
      } catch {
        const kept: ClaimVoucher[] = [];
        for (const v of vouchers) {
          try {
            await this.#o.reader.simulate(claimCalldata(ZERO_ROOT, 0, [v]));
            kept.push(v);
          } catch (error) {
            this.#w.recordError(error, `channel voucher of ${v.client} would not redeem; left out of the claim`);
          }
        }
        vouchers = kept;
      }
    }
    if (leaves.length === 0 && vouchers.length === 0) return;
    const data = vouchers.length === 0 ? anchorRootCalldata(root, leaves.length) : claimCalldata(root, leaves.length, vouchers);
    const claimId = keccak256(new TextEncoder().encode(JSON.stringify({ root, vouchers: vouchers.map((v) => [v.client, v.cumulativeAmount.toString(), v.coveredThrough.toString()]) })));
    journal.transaction(() => {
      const { tx } = sender.submit({ purpose: "other", idempotencyKey: `channel-claim:${claimId}`, to: this.#channels, data });
      journal.channels.recordClaim({ claimId, root, txId: tx.id, leaves, vouchers }, waiting.map((j) => j.digest), nowSec);
    });
    this.#w.log.info({ root, receipts: leaves.length, vouchers: vouchers.length }, "channel claim sent");
  }

  // ── fallback claims ───────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Claims, through the fallback (`claimUnvouched`), each finished job whose claim landed and that no voucher covers
   * `unpaidGraceSeconds` after it finished: the signed request, the receipt's leaf fields, the anchored root and the
   * proof. The charge is held for the dispute window, then released to the provider (`releaseClaims`). A job a
   * voucher covers is never claimed this way (the contract refuses it too), and a voucher covering a fallback-claimed
   * job pays only what is above it, so either way the job is paid once.
   */
  async fallbackStep(): Promise<void> {
    const { journal, sender } = this.#w;
    const grace = this.#w.settings.unpaidGraceSeconds ?? 3_600;
    const nowSec = sec(this.#w.now());
    for (const job of journal.channels.withFallback("sent", 50)) {
      const tx = job.fallback?.txId == null ? null : journal.transactions.get(job.fallback.txId);
      if (tx?.status === "confirmed") {
        // Read once: when the held part may be released.
        const onChain = await this.#o.reader.claimOf(job.digest);
        journal.channels.setFallback(job.digest, "held", null, onChain.releasableAt);
      } else if (tx?.status === "reverted" || tx?.status === "abandoned") {
        journal.channels.setFallback(job.digest, "failed", null);
        this.#w.log.warn({ digest: job.digest, status: tx.status }, "fallback claim did not land");
      }
    }
    // The journal says what may need the chain: held claims and finished jobs past the grace period. Without either
    // (the normal case: clients pay with vouchers) this step reads nothing from the chain.
    const heldAll = journal.channels.withFallback("held", 50);
    const unpaid = journal.channels.unclaimedAnchored(50).filter((j) => j.updatedAt + grace <= nowSec);
    if (heldAll.length === 0 && unpaid.length === 0) return;
    const chainNow = await this.#w.chainNow();
    for (const job of heldAll.filter((j) => (j.fallback?.releasableAt ?? 0) <= chainNow)) {
      const onChain = await this.#o.reader.claimOf(job.digest);
      if (onChain.status === "Released" || onChain.status === "Resolved") journal.channels.setFallback(job.digest, "released", null);
      else if (onChain.status === "Disputed") journal.channels.setFallback(job.digest, "disputed", null);
      else if (onChain.status === "Held" && chainNow >= onChain.releasableAt) {
        sender.submit({ purpose: "other", idempotencyKey: `channel-release:${job.digest}`, to: this.#channels, data: releaseClaimsCalldata([job.digest]) });
      }
    }
    const channels = new Map<string, Awaited<ReturnType<ChannelReader["channel"]>>>();
    for (const job of unpaid) {
      const claim = job.root === null ? null : journal.channels.claimOfRoot(job.root);
      if (claim?.status !== "confirmed" || job.leaf === null) continue;
      const voucher = journal.channels.voucher(job.client);
      if (voucher !== null && voucher.coveredThrough >= job.requestId) {
        journal.channels.setFallback(job.digest, "covered", null);
        continue;
      }
      const channel = channels.get(job.client) ?? (await this.#o.reader.channel(job.client));
      channels.set(job.client, channel);
      if (job.requestId <= channel.coveredThrough) {
        journal.channels.setFallback(job.digest, "covered", null);
        continue;
      }
      if (channel.closesAt !== 0 && chainNow >= channel.closesAt) {
        journal.channels.setFallback(job.digest, "failed", null);
        continue;
      }
      const leaves = claim.leaves;
      const proof = MerkleTree.fromLeafHashes(leaves).getProof(leaves.indexOf(job.leaf));
      const data = claimUnvouchedCalldata({
        request: { client: getAddress(job.client), provider: getAddress(this.#w.provider), requestId: job.requestId, modelId: job.modelId, maxUnitsMilli: job.maxUnitsMilli, deadline: job.deadline, inputHash: job.inputHash },
        requestSignature: job.signature,
        unitsMilli: job.unitsMilli as bigint,
        price: job.price as bigint,
        receiptHash: job.receiptHash as string,
        root: job.root as string,
        proof,
      });
      try {
        await this.#o.reader.simulate(data);
      } catch (error) {
        journal.channels.setFallback(job.digest, "failed", null);
        this.#w.recordError(error, `channel job ${job.digest}: the fallback claim would not go through`);
        continue;
      }
      journal.transaction(() => {
        const { tx } = sender.submit({ purpose: "other", idempotencyKey: `channel-fallback:${job.digest}`, to: this.#channels, data });
        journal.channels.setFallback(job.digest, "sent", tx.id);
      });
      this.#w.log.warn({ digest: job.digest, client: job.client, requestId: job.requestId.toString() }, "channel job unpaid past the grace period: claimed through the fallback");
    }
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────────────────────────────

  /** The job as `GET /api/v1/channel/jobs/:digest` serves it: state, receipt, and once anchored its root and proof. */
  jobJson(job: ChannelJobRecord): string {
    const claim = job.root === null ? null : this.#w.journal.channels.claimOfRoot(job.root);
    let proof: string[] | null = null;
    if (claim !== null && job.leaf !== null) {
      const tree = MerkleTree.fromLeafHashes(claim.leaves);
      const index = claim.leaves.indexOf(job.leaf);
      if (index >= 0) proof = tree.getProof(index);
    }
    const meta = JSON.stringify({
      digest: job.digest,
      request_id: job.requestId.toString(),
      client: job.client,
      model: job.model,
      max_units_milli: job.maxUnitsMilli.toString(),
      rate: job.rate.toString(),
      deadline: job.deadline,
      state: job.state,
      units_milli: job.unitsMilli?.toString() ?? null,
      price: job.price?.toString() ?? null,
      result_hash: job.resultHash,
      receipt_hash: job.receiptHash,
      leaf: job.leaf,
      root: job.root,
      claim: claim === null ? null : { status: claim.status, tx_id: claim.txId, receipts: claim.leaves.length },
      fallback: job.fallback?.status ?? null,
      proof,
      failure: job.failure,
      received_at: job.receivedAt,
      updated_at: job.updatedAt,
    });
    return job.receiptJson === null ? meta.replace(/}$/, ',"receipt":null}') : `${meta.slice(0, -1)},"receipt":${job.receiptJson}}`;
  }

  job(digest: string): ChannelReply {
    if (!HEX32.test(digest)) bad("CHANNEL_BAD_REQUEST", `${JSON.stringify(digest)} is not a request digest`, "use the digest returned when the request was taken");
    const job = this.#w.journal.channels.get(digest.toLowerCase());
    if (job === null) bad("CHANNEL_JOB_NOT_FOUND", `no channel job ${digest} here`, "send the request first (POST /api/v1/channel/jobs)");
    return { status: 200, json: this.jobJson(job) };
  }

  result(digest: string): { body: Uint8Array; contentType: string; resultHash: string } {
    if (!HEX32.test(digest)) bad("CHANNEL_BAD_REQUEST", `${JSON.stringify(digest)} is not a request digest`, "use the digest returned when the request was taken");
    const job = this.#w.journal.channels.get(digest.toLowerCase());
    if (job === null) bad("CHANNEL_JOB_NOT_FOUND", `no channel job ${digest} here`, "send the request first (POST /api/v1/channel/jobs)");
    const result = this.#w.journal.channels.result(job.digest);
    if (result === null) throw new RelayerError("HTTP_RESULT_NOT_READY", `channel job ${digest} has no result (state ${job.state})`, { hint: `poll /api/v1/channel/jobs/${digest} until its state is done` });
    return result;
  }

  /** `GET /api/v1/channel/clients/:address`: what a client needs to number, fund and pay its next requests. */
  async client(text: string): Promise<ChannelReply> {
    if (!isAddress(text)) bad("CHANNEL_BAD_REQUEST", `${JSON.stringify(text)} is not an address`, "pass the client's 0x address");
    const client = text.toLowerCase();
    const jobs = this.#w.journal.channels.ofClient(client);
    const channel = await this.#o.reader.channel(client);
    const voucher = this.#w.journal.channels.voucher(client);
    const last = jobs.reduce((max, j) => (j.requestId > max ? j.requestId : max), 0n);
    const floor = [channel.coveredThrough, voucher?.coveredThrough ?? 0n].reduce((a, b) => (a > b ? a : b));
    const owed = jobs.reduce((sum, j) => sum + (j.state === "done" ? (j.price ?? 0n) : 0n), 0n);
    return {
      status: 200,
      json: JSON.stringify({
        client,
        provider: this.#w.provider,
        channels: this.#channels.toLowerCase(),
        next_request_id: ((last > floor ? last : floor) + 1n).toString(),
        balance: channel.balance.toString(),
        spent: channel.spent.toString(),
        covered_through: channel.coveredThrough.toString(),
        closes_at: channel.closesAt === 0 ? null : channel.closesAt,
        owed_total: owed.toString(),
        voucher: voucher === null ? null : { cumulative_amount: voucher.cumulativeAmount.toString(), covered_through: voucher.coveredThrough.toString() },
        requests: jobs.map((j) => ({ request_id: j.requestId.toString(), digest: j.digest, state: j.state, price: j.price?.toString() ?? null })),
      }),
    };
  }
}

function voucherJson(v: StoredVoucher): string {
  return JSON.stringify({ accepted: true, client: v.client, cumulative_amount: v.cumulativeAmount.toString(), covered_through: v.coveredThrough.toString() });
}
