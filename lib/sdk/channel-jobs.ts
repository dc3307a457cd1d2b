/**
 * The client of the channel job mode: jobs go straight to a provider's relayer as EIP-712 requests signed by the
 * client (no transaction, no per-job storage), results come back with their Ed25519 receipts, and the client pays
 * with cumulative vouchers once it has checked them. Fund the channel first (`depositToChannel`).
 *
 * The client keeps its own ledger: {@link ChannelClient.pay} totals the prices of the receipts it verified itself,
 * never a figure the relayer reports, and refuses to vouch for a request it has not seen finished.
 */
import { getAddress, getBytes, keccak256, type Signer, type TypedDataDomain } from "ethers";

import { ModelRegistry__factory, ProviderRegistry__factory } from "../../typechain-types/index.js";
import { contractAddress, type Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import { priceFor } from "../money/prices.js";
import { openEnvelope, type EncryptionKeyPair } from "../privacy/envelope.js";
import { sealJobRequest } from "../privacy/request.js";
import { verifyReceipt, type ReceiptFields } from "../receipts/receipt.js";
import { channelsDomain, jobRequestDigest, signJobRequest, signVoucher, type ChannelJobRequest } from "./channels.js";
import { chainTime, providerEntry } from "./market.js";
import { resultKeyFor } from "./results.js";

type FetchFn = typeof fetch;

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Standard base64 of `bytes`, without Node's Buffer (the SDK runs in browsers too). */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** A finished channel job as the client checked it. */
export interface ChannelResult {
  digest: string;
  requestId: bigint;
  state: "done" | "failed";
  /** The result bytes as served (an envelope for a private job), checked against the receipt's `result_hash`. */
  result: Uint8Array | null;
  /** The result in the clear: the served bytes of a public job, the opened envelope of a private one. */
  output: Uint8Array | null;
  /** The signed receipt document as served (canonical JSON), verified under the provider's registered key. */
  receiptJson: string | null;
  fields: ReceiptFields | null;
  price: bigint;
  unitsMilli: bigint;
  failure: string | null;
}

export interface ChannelClientOptions {
  /** The provider's relayer base URL (default: its registered service URL). */
  relayerUrl?: string;
  fetch?: FetchFn;
}

interface RelayerErrorBody {
  error?: { code?: string; message?: string; hint?: string | null; details?: Record<string, unknown> };
}

/** One client's jobs with one provider over their channel. */
export class ChannelClient {
  readonly client: string;
  readonly provider: string;
  readonly relayerUrl: string;
  readonly domain: TypedDataDomain;
  readonly #signer: Signer;
  readonly #deployment: Deployment;
  readonly #fetch: FetchFn;
  readonly #receiptKey: string;
  /** requestId → the request as signed, for every request this client sent. */
  readonly #requests = new Map<bigint, ChannelJobRequest & { digest: string; cap: bigint; private: boolean }>();
  readonly #encryptionKey: string;
  #resultKey: EncryptionKeyPair | null = null;
  /** requestId → the price of the checked receipt (0 for a job that failed). */
  readonly #finished = new Map<bigint, bigint>();
  #paidThrough = 0n;
  #paidTotal = 0n;

  private constructor(
    signer: Signer,
    deployment: Deployment,
    fields: { client: string; provider: string; relayerUrl: string; domain: TypedDataDomain; receiptKey: string; encryptionKey: string; fetch: FetchFn },
  ) {
    this.#encryptionKey = fields.encryptionKey;
    this.#signer = signer;
    this.#deployment = deployment;
    this.client = fields.client;
    this.provider = fields.provider;
    this.relayerUrl = fields.relayerUrl;
    this.domain = fields.domain;
    this.#receiptKey = fields.receiptKey;
    this.#fetch = fields.fetch;
  }

  /**
   * Connects `signer` (the client) to `provider`'s relayer.
   * @throws {AitbcError} `CONTRACT_NOT_DEPLOYED` (no JobChannels), `NOT_A_PROVIDER`, `NO_ENDPOINT`.
   */
  static async open(signer: Signer, deployment: Deployment, provider: string, options: ChannelClientOptions = {}): Promise<ChannelClient> {
    const chain = signer.provider;
    if (chain === null) throw new AitbcError("NO_PROVIDER", "The signer is not connected to a chain");
    const channels = contractAddress(deployment, "JobChannels");
    const registry = ProviderRegistry__factory.connect(contractAddress(deployment, "ProviderRegistry"), chain);
    const entry = await providerEntry(registry, provider);
    if (!entry.registered) {
      throw new AitbcError("NOT_A_PROVIDER", `${provider} is not a registered provider`, { hint: "Pick a provider from `npx hardhat providers`." });
    }
    const endpoint = await registry.endpointOf(provider);
    let relayerUrl = options.relayerUrl;
    if (relayerUrl === undefined) {
      if (endpoint.serviceUrl === "") {
        throw new AitbcError("NO_ENDPOINT", `${provider} has published no relayer URL`, { hint: "Pass the relayer's URL, or ask the provider to publish it (`provider:endpoint`)." });
      }
      relayerUrl = endpoint.serviceUrl;
    }
    const chainId = (await chain.getNetwork()).chainId;
    return new ChannelClient(signer, deployment, {
      client: getAddress(await signer.getAddress()),
      provider: getAddress(provider),
      relayerUrl: relayerUrl.replace(/\/+$/, ""),
      domain: channelsDomain(chainId, channels),
      receiptKey: entry.receiptKey,
      encryptionKey: endpoint.encryptionKey,
      fetch: options.fetch ?? fetch,
    });
  }

  async #call(path: string, init?: { body: unknown }): Promise<{ status: number; body: unknown; bytes: Uint8Array; headers: Headers }> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.relayerUrl}${path}`, init === undefined ? undefined : {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(init.body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
      });
    } catch (error) {
      throw new AitbcError("RELAYER_UNREACHABLE", `the relayer at ${this.relayerUrl} does not answer: ${error instanceof Error ? error.message : String(error)}`, {
        hint: "Retry: the request is idempotent (the same signed request is taken once).",
      });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const type = response.headers.get("content-type") ?? "";
    const body: unknown = type.startsWith("application/json") ? JSON.parse(new TextDecoder().decode(bytes)) : null;
    if (response.status >= 400) {
      const e = (body as RelayerErrorBody | null)?.error;
      throw new AitbcError(e?.code ?? "RELAYER_ERROR", e?.message ?? `the relayer answered ${response.status}`, { hint: e?.hint ?? undefined, details: e?.details });
    }
    return { status: response.status, body, bytes, headers: response.headers };
  }

  /** The relayer's view of this client's channel: next request id, balance, coverage, requests. */
  async status(): Promise<{ next_request_id: string; balance: string; spent: string; covered_through: string; requests: { request_id: string; state: string }[] }> {
    return (await this.#call(`/api/v1/channel/clients/${this.client}`)).body as never;
  }

  /**
   * Signs and sends one job request. The request id is the relayer's next one unless given; the deadline defaults to
   * an hour from the chain's time. Sending the same signed request again is harmless (the relayer takes it once).
   */
  async submit(job: {
    model: string | number;
    prompt: string | Uint8Array;
    maxUnitsMilli: bigint;
    deadlineSeconds?: number;
    requestId?: bigint;
    /** Seal the prompt to the provider's published key and the result to this client's result key. */
    private?: boolean;
  }): Promise<{ digest: string; requestId: bigint; state: string }> {
    const chain = this.#signer.provider;
    if (chain === null) throw new AitbcError("NO_PROVIDER", "The signer is not connected to a chain");
    const sealed = job.private === true;
    const models = ModelRegistry__factory.connect(contractAddress(this.#deployment, "ModelRegistry"), chain);
    const modelId = typeof job.model === "number" ? job.model : Number(await models.modelIdOf(job.model));
    const [rate] = await models.rateOf(modelId);
    const plain = typeof job.prompt === "string" ? new TextEncoder().encode(job.prompt) : job.prompt;
    let prompt = plain;
    if (sealed) {
      if (/^0x0{64}$/.test(this.#encryptionKey)) {
        throw new AitbcError("PRIVATE_NOT_OFFERED", `${this.provider} has published no encryption key`, { hint: "Send the job in the clear (private: false), or pick a provider that publishes one." });
      }
      const resultKey = await this.#ownResultKey();
      prompt = await sealJobRequest({ prompt: plain, resultKey: resultKey.publicKey }, [getBytes(this.#encryptionKey)], this.#context());
    }
    const requestId = job.requestId ?? BigInt((await this.status()).next_request_id);
    const request: ChannelJobRequest = {
      client: this.client,
      provider: this.provider,
      requestId,
      modelId,
      maxUnitsMilli: job.maxUnitsMilli,
      // From the later of the chain's latest block and the wall clock: an idle chain's latest block can be far behind,
      // and the relayer (like the next block) judges deadlines by the later of the two.
      deadline: maxBig(await chainTime(chain), BigInt(Math.floor(Date.now() / 1000))) + BigInt(job.deadlineSeconds ?? 3_600),
      inputHash: keccak256(prompt),
    };
    const signature = await signJobRequest(this.#signer, this.domain, request);
    const digest = jobRequestDigest(this.domain, request).toLowerCase();
    this.#requests.set(requestId, { ...request, digest, cap: priceFor(request.maxUnitsMilli, rate), private: sealed });
    // On the wire every number is a decimal string, as the relayer reads it.
    const wire = { ...request, requestId: request.requestId.toString(), modelId: String(request.modelId), maxUnitsMilli: request.maxUnitsMilli.toString(), deadline: request.deadline.toString() };
    const reply = await this.#call("/api/v1/channel/jobs", { body: { request: wire, signature, prompt: base64(prompt) } });
    return { digest, requestId, state: String((reply.body as { state: string }).state) };
  }

  /**
   * Waits for a request's result and checks everything before returning it: the receipt's signature under the
   * provider's registered key, that it is for this request (job id = digest, chain, JobChannels, provider, client,
   * input), that its price is at most what the request allowed, and that the result bytes are the receipt's.
   * @throws {AitbcError} `RECEIPT_INVALID`, `RECEIPT_MISMATCH`, `RESULT_HASH_MISMATCH`, `CHANNEL_RESULT_TIMEOUT`.
   */
  async waitForResult(requestId: bigint, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<ChannelResult> {
    const request = this.#requests.get(requestId);
    if (request === undefined) throw new AitbcError("CHANNEL_UNKNOWN_REQUEST", `request ${requestId} was not sent by this client object`, { hint: "Submit it with submit() first." });
    const until = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      let job: { state: string; failure: string | null } | null = null;
      try {
        job = (await this.#call(`/api/v1/channel/jobs/${request.digest}`)).body as { state: string; failure: string | null };
      } catch (error) {
        // A relayer restarting (or briefly unreachable) is waited for like a job still running.
        if (!(error instanceof AitbcError) || error.code !== "RELAYER_UNREACHABLE") throw error;
      }
      if (job?.state === "failed") {
        this.#finished.set(requestId, 0n);
        return { digest: request.digest, requestId, state: "failed", result: null, output: null, receiptJson: null, fields: null, price: 0n, unitsMilli: 0n, failure: job.failure };
      }
      if (job?.state === "done") return this.#checked(request);
      if (Date.now() > until) {
        throw new AitbcError("CHANNEL_RESULT_TIMEOUT", `request ${requestId} is still ${job?.state ?? "unanswered"}`, { hint: "Wait longer, or check the relayer's /health." });
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
  }

  /** The envelope context of this client's channel jobs (the result's adds the job id). */
  #context(jobId?: bigint) {
    return { chainId: BigInt(this.domain.chainId as bigint), market: String(this.domain.verifyingContract).toLowerCase(), client: this.client.toLowerCase(), ...(jobId === undefined ? {} : { jobId }) };
  }

  async #ownResultKey(): Promise<EncryptionKeyPair> {
    this.#resultKey ??= await resultKeyFor(this.#signer, BigInt(this.domain.chainId as bigint));
    return this.#resultKey;
  }

  async #checked(request: ChannelJobRequest & { digest: string; cap: bigint; private: boolean }): Promise<ChannelResult> {
    const job = (await this.#call(`/api/v1/channel/jobs/${request.digest}`)).body as { receipt: unknown };
    const receiptJson = JSON.stringify(job.receipt);
    const verdict = verifyReceipt(receiptJson, { trustedKey: this.#receiptKey, expectedChainId: BigInt(this.domain.chainId as bigint), expectedEscrow: String(this.domain.verifyingContract) });
    if (!verdict.valid) {
      throw new AitbcError("RECEIPT_INVALID", `the receipt of request ${request.requestId} does not verify: ${verdict.reason}`, { hint: "Do not pay for it; keep the receipt as evidence." });
    }
    const f = verdict.fields;
    const mismatch =
      f.jobId !== BigInt(request.digest)
        ? "job_id is not the request's digest"
        : f.provider.toLowerCase() !== this.provider.toLowerCase()
          ? "another provider"
          : f.client.toLowerCase() !== this.client.toLowerCase()
            ? "another client"
            : f.inputHash.toLowerCase() !== request.inputHash.toLowerCase()
              ? "another input"
              : f.priceBase > request.cap
                ? `price ${f.priceBase} above what the request allows (${request.cap})`
                : f.unitsMilli > request.maxUnitsMilli
                  ? "more units than the request allows"
                  : null;
    if (mismatch !== null) throw new AitbcError("RECEIPT_MISMATCH", `the receipt of request ${request.requestId} is not for this request: ${mismatch}`, { hint: "Do not pay for it; keep it as evidence." });
    const result = (await this.#call(`/api/v1/channel/jobs/${request.digest}/result`)).bytes;
    if (keccak256(result).toLowerCase() !== f.resultHash.toLowerCase()) {
      throw new AitbcError("RESULT_HASH_MISMATCH", `the result of request ${request.requestId} is not the bytes its receipt signs`, { hint: "Fetch it again; do not pay for a result that does not match." });
    }
    const output = request.private ? await openEnvelope("result", result, await this.#ownResultKey(), this.#context(BigInt(request.digest))) : result;
    const price = f.priceBase;
    this.#finished.set(request.requestId, price);
    return { digest: request.digest, requestId: request.requestId, state: "done", result, output, receiptJson, fields: f, price, unitsMilli: f.unitsMilli, failure: null };
  }

  /**
   * Pays every request up to `through` (default: the highest one that is finished with nothing open below it) with one
   * cumulative voucher: the total of the prices this client checked itself.
   * @throws {AitbcError} `CHANNEL_NOTHING_TO_PAY`, `CHANNEL_REQUEST_UNFINISHED` (a request below `through` has no
   *   checked result yet).
   */
  async pay(through?: bigint): Promise<{ cumulativeAmount: bigint; coveredThrough: bigint }> {
    let upTo = through;
    if (upTo === undefined) {
      upTo = this.#paidThrough;
      const sent = [...this.#requests.keys()].filter((id) => id > this.#paidThrough).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const id of sent) {
        if (!this.#finished.has(id)) break;
        upTo = id;
      }
    }
    if (upTo <= this.#paidThrough) throw new AitbcError("CHANNEL_NOTHING_TO_PAY", `everything through request ${this.#paidThrough} is paid`, { hint: "Wait for the next results first." });
    let total = this.#paidTotal;
    for (let id = this.#paidThrough + 1n; id <= upTo; id++) {
      if (!this.#requests.has(id)) continue;
      const price = this.#finished.get(id);
      if (price === undefined) throw new AitbcError("CHANNEL_REQUEST_UNFINISHED", `request ${id} has no checked result yet`, { hint: "Wait for it (waitForResult) before vouching through it." });
      total += price;
    }
    const signed = await signVoucher(this.#signer, this.domain, { client: this.client, provider: this.provider, cumulativeAmount: total, coveredThrough: upTo });
    await this.#call("/api/v1/channel/vouchers", {
      body: { voucher: { client: this.client, provider: this.provider, cumulativeAmount: total, coveredThrough: upTo }, signature: signed.signature },
    });
    this.#paidThrough = upTo;
    this.#paidTotal = total;
    return { cumulativeAmount: total, coveredThrough: upTo };
  }
}
