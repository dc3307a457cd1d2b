/**
 * Getting a job's output back: the client's result key, the relayer's view of a job, and the result itself, checked
 * against the provider's signed receipt before anything of it is returned. Browser-safe (the dashboard's "My jobs"
 * uses it): `fetch`, the contracts and the portable back-ends unless the caller passes Node's.
 */
import { getBytes, keccak256, ZeroAddress, type Provider, type Signer } from "ethers";

import { contractAddress, type Deployment } from "../deployments.js";
import { AitbcError } from "../errors.js";
import type { JsonObject } from "../receipts/canonical.js";
import type { Ed25519Backend } from "../receipts/ed25519.js";
import { computeReceiptId, verifyReceipt, type ReceiptFields } from "../receipts/receipt.js";
import {
  deriveResultKeyPair,
  isEnvelope,
  openEnvelopeDetailed,
  portableHpke,
  resultKeyMessage,
  type EncryptionKeyPair,
  type HpkeBackend,
} from "../privacy/envelope.js";
import { receiptTrustedKeyForText } from "./key-history.js";
import { connectMarket, providerEntry, readJob, sameAddress, type JobInfo } from "./market.js";
import { discoverProviders, providerListing } from "./offers.js";
import { parseRelayerReceipt, parseRelayerUrl, relayerGet } from "./relayer-api.js";

/**
 * The client's result key pair: derived from its signature over {@link resultKeyMessage} (EIP-191), so the CLI's
 * signer and a browser wallet for the same account get the same key, and nothing has to be stored.
 */
export async function resultKeyFor(signer: Signer, chainId: bigint): Promise<EncryptionKeyPair> {
  const client = await signer.getAddress();
  return deriveResultKeyPair(getBytes(await signer.signMessage(resultKeyMessage(chainId, client))));
}

/** What one provider's relayer says about a job (`GET /api/v1/jobs/:id`). */
export interface RelayerJobView {
  provider: string;
  relayerUrl: string | null;
  /** `true` when the relayer holds the job; `false` when it answered that it does not know it or could not be asked. */
  known: boolean;
  /** The relayer's state (`seen`, `accepted`, `running`, `done`, `refused`, `given_back`, …), `null` when not known. */
  state: string | null;
  private: boolean | null;
  /** Why it refused the job: an admission reason (`UNITS_TOO_LARGE`, …), `NOT_A_RECIPIENT`, `BAD_ENVELOPE`. */
  refusal: string | null;
  refusalDetail: string | null;
  /** Why it failed or gave the job back. */
  failure: { code: string; message: string } | null;
  receiptId: string | null;
  /** Why the relayer could not be asked (`NO_ENDPOINT`, `RELAYER_UNREACHABLE`, …). */
  error: { code: string; message: string } | null;
}

function asFailure(value: unknown): { code: string; message: string } | null {
  if (value === null || typeof value !== "object") return null;
  const v = value as { code?: unknown; message?: unknown };
  return { code: typeof v.code === "string" ? v.code : "UNKNOWN", message: typeof v.message === "string" ? v.message : "" };
}

async function askRelayer(provider: string, relayerUrl: string | null, jobId: bigint, signal?: AbortSignal): Promise<RelayerJobView> {
  const empty = { provider, relayerUrl, known: false, state: null, private: null, refusal: null, refusalDetail: null, failure: null, receiptId: null };
  if (relayerUrl === null) return { ...empty, error: { code: "NO_ENDPOINT", message: `${provider} has registered no service URL` } };
  try {
    const body = await relayerGet(parseRelayerUrl(relayerUrl), `/api/v1/jobs/${jobId}`, signal);
    if (body === undefined) return { ...empty, error: null };
    const j = JSON.parse(body) as Record<string, unknown>;
    return {
      provider,
      relayerUrl,
      known: true,
      state: typeof j.state === "string" ? j.state : null,
      private: typeof j.private === "boolean" ? j.private : null,
      refusal: typeof j.refusal === "string" ? j.refusal : null,
      refusalDetail: typeof j.refusal_detail === "string" ? j.refusal_detail : null,
      failure: asFailure(j.failure),
      receiptId: typeof j.receipt_id === "string" ? j.receipt_id : null,
      error: null,
    };
  } catch (error) {
    if (error instanceof AitbcError && error.code === "ABORTED") throw error;
    const e = error instanceof AitbcError ? error : new AitbcError("RELAYER_ERROR", (error as Error).message);
    return { ...empty, error: { code: e.code, message: e.message } };
  }
}

export interface JobRelayerStateRequest {
  /** A read connection to the deployment's chain. */
  provider: Provider;
  deployment: Deployment;
  jobId: bigint;
  /** Ask this relayer instead of the one the job's provider registered. */
  relayerUrl?: string;
  /** Reach a provider's registered service URL through this mapping (a dashboard's same-origin proxy). */
  via?: (provider: string, serviceUrl: string) => string;
  signal?: AbortSignal;
}

function reach(request: { via?: (provider: string, serviceUrl: string) => string }, provider: string, serviceUrl: string | null): string | null {
  return serviceUrl === null || request.via === undefined ? serviceUrl : request.via(provider, serviceUrl);
}

/**
 * The relayers' view of a job: for a job with a provider (directed, or accepted) that provider's relayer (at
 * `relayerUrl` or its registered service URL); for an open job every provider serving the model whose relayer knows
 * the job, and those that could not be asked (with `error`). Never throws for a relayer's failure.
 *
 * @throws {AitbcError} `UNKNOWN_JOB`, `RPC_*` for chain failures.
 */
export async function jobRelayerState(request: JobRelayerStateRequest): Promise<RelayerJobView[]> {
  const m = connectMarket(request.deployment, request.provider);
  const job = await readJob(m.escrow, request.jobId, request.deployment.network);
  if (job.provider !== ZeroAddress) {
    const url = request.relayerUrl ?? reach(request, job.provider, (await providerListing(request.deployment, request.provider, job.provider)).serviceUrl ?? null);
    return [await askRelayer(job.provider, url ?? null, request.jobId, request.signal)];
  }
  const card = await m.models.model(job.modelId);
  const providers = await discoverProviders(request.deployment, request.provider, { model: card.name });
  const views = await Promise.all(providers.map((p) => askRelayer(p.address, reach(request, p.address, p.serviceUrl), request.jobId, request.signal)));
  return views.filter((v) => v.known || v.error !== null);
}

export interface FetchResultRequest {
  /** A read connection to the deployment's chain (the job, the provider's registered keys). */
  provider: Provider;
  deployment: Deployment;
  jobId: bigint;
  /** The relayer to fetch from; by default the one the job's provider registered (`provider:endpoint`). */
  relayerUrl?: string;
  /** Reach a provider's registered service URL through this mapping (a dashboard's same-origin proxy). */
  via?: (provider: string, serviceUrl: string) => string;
  /** The client's result key ({@link resultKeyFor}); needed for a private result. */
  keyPair?: EncryptionKeyPair;
  signal?: AbortSignal;
  /** Ed25519 back-end for the receipt (Node callers pass `nodeBackend`). */
  ed25519?: Ed25519Backend;
  /** HPKE back-end for the envelope (Node callers may pass `nodeHpke`). */
  hpke?: HpkeBackend;
}

export interface FetchedResult {
  jobId: bigint;
  /** The plaintext result. */
  bytes: Uint8Array;
  /** The result as text when it is UTF-8, else `null`. */
  text: string | null;
  private: boolean;
  /** The bytes the relayer served (the envelope for a private job); their keccak-256 is the receipt's `result_hash`. */
  served: Uint8Array;
  resultHash: string;
  relayerUrl: string;
  receipt: { id: string; text: string; document: JsonObject; fields: ReceiptFields; receiptHash: string };
  /** A private result's content key: revealing it with the envelope proves the result to anyone (a dispute). */
  contentKey: Uint8Array | null;
}

const FINISHED: ReadonlySet<string> = new Set(["Cancelled", "Expired", "GivenBack"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

function textOf(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

async function relayerSays(request: FetchResultRequest, url: string): Promise<string> {
  const [view] = await jobRelayerState({ ...request, relayerUrl: url }).catch(() => [undefined]);
  if (view === undefined || !view.known) return "unknown to the relayer";
  if (view.refusal !== null) return `${view.state}: ${view.refusal}${view.refusalDetail === null ? "" : ` (${view.refusalDetail})`}`;
  if (view.failure !== null) return `${view.state}: ${view.failure.code} ${view.failure.message}`.trim();
  return view.state ?? "unknown";
}

async function getBytesFrom(url: string, path: string, signal?: AbortSignal): Promise<{ status: number; bytes: Uint8Array; body: string }> {
  const timeout = AbortSignal.timeout(30_000);
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) });
  } catch (cause) {
    if (signal?.aborted === true) throw new AitbcError("ABORTED", "the request was cancelled", { cause: signal.reason });
    throw new AitbcError("RELAYER_UNREACHABLE", `cannot reach the relayer at ${url} (${(cause as Error).message})`, {
      hint: "Check that the provider's relayer is running, or pass its URL with --relayer.",
      cause,
    });
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, bytes, body: response.ok ? "" : new TextDecoder().decode(bytes) };
}

function relayerErrorCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

async function jobInputHash(m: ReturnType<typeof connectMarket>, deployment: Deployment, jobId: bigint): Promise<string | undefined> {
  const [event] = await m.escrow.queryFilter(m.escrow.filters.JobCreated(jobId), deployment.block);
  return event?.args.inputHash;
}

/**
 * Fetches a job's result from its provider's relayer with the signed receipt, and returns it only once it is proven:
 * the receipt's signature holds under the provider's registered key, the receipt is for this job, chain, escrow,
 * provider, client and on-chain input, and keccak-256 of the bytes served equals the receipt's `result_hash`. A
 * private result is then opened with the client's key (context: chain, escrow, client, job id).
 *
 * @throws {AitbcError} `UNKNOWN_JOB`; `RESULT_NOT_READY` (no provider yet, not run yet, no receipt yet: `details.state`
 *   says what the relayer says); `RESULT_NOT_FOUND` (the job was cancelled, expired or given back, or the relayer does
 *   not hold it); `NO_ENDPOINT`; `RECEIPT_INVALID`; `RECEIPT_MISMATCH`; `RESULT_HASH_MISMATCH`; `RESULT_KEY_REQUIRED`;
 *   `RESULT_NOT_FOR_YOU`; `RELAYER_UNREACHABLE`, `RELAYER_ERROR`.
 */
export async function fetchResult(request: FetchResultRequest): Promise<FetchedResult> {
  const { deployment, jobId } = request;
  const m = connectMarket(deployment, request.provider);
  const escrow = contractAddress(deployment, "JobEscrow");
  const [job, network] = await Promise.all([readJob(m.escrow, jobId, deployment.network), request.provider.getNetwork()]);
  const chainId = network.chainId;
  if (FINISHED.has(job.status)) {
    throw new AitbcError("RESULT_NOT_FOUND", `job ${jobId} is ${job.status}: it has no result`, {
      hint: "The escrow went back to the client; submit the job again (`job:submit`).",
      details: { status: job.status },
    });
  }
  if (job.provider === ZeroAddress || job.status === "Open") {
    const views = await jobRelayerState({ ...request }).catch(() => []);
    const said = views.filter((v) => v.known).map((v) => `${v.provider}: ${v.refusal ?? v.state}`);
    throw new AitbcError("RESULT_NOT_READY", `job ${jobId} is Open: no provider has accepted it yet${said.length === 0 ? "" : ` (${said.join("; ")})`}`, {
      hint: `Follow it with \`job:status --id ${jobId}\`; a job nobody takes can be cancelled with \`job:cancel --id ${jobId}\`.`,
      details: { status: job.status, relayers: views },
    });
  }
  const url = parseRelayerUrl(request.relayerUrl ?? (reach(request, job.provider, await endpointUrl(request, job)) as string));

  const served = await getBytesFrom(url, `/api/v1/jobs/${jobId}/result`, request.signal);
  if (served.status === 409 || (served.status === 404 && relayerErrorCode(served.body) === "HTTP_JOB_NOT_FOUND")) {
    const state = await relayerSays(request, url);
    const notReady = served.status === 409;
    throw new AitbcError(notReady ? "RESULT_NOT_READY" : "RESULT_NOT_FOUND", `the relayer at ${url} has no result for job ${jobId} (${state})`, {
      hint: notReady ? `Wait and run it again; follow the job with \`job:status --id ${jobId}\`.` : "The job may not have been seen by that relayer yet; check --relayer and try again later.",
      details: { state, status: job.status },
    });
  }
  if (served.status !== 200) {
    throw new AitbcError("RELAYER_ERROR", `the relayer at ${url} answered ${served.status} for job ${jobId}'s result: ${served.body.slice(0, 200)}`, {
      hint: "Check --relayer (it must be the provider's relayer API) and the relayer's log.",
    });
  }

  const receiptId = computeReceiptId(chainId, escrow, jobId);
  const receiptBody = await relayerGet(url, `/api/v1/receipts/${receiptId}`, request.signal);
  if (receiptBody === undefined) {
    throw new AitbcError("RESULT_NOT_READY", `the relayer at ${url} serves a result for job ${jobId} but no signed receipt yet`, {
      hint: "Run it again in a moment: a result is returned only with the receipt that binds it.",
      details: { state: "no receipt" },
    });
  }
  const relayed = parseRelayerReceipt(receiptBody);
  const entry = await providerEntry(m.providers, job.provider);
  const trustedKey = await receiptTrustedKeyForText(m.providers, relayed.receiptText, entry.receiptKey, request.ed25519);
  const verdict = verifyReceipt(relayed.receiptText, { trustedKey, expectedChainId: chainId, expectedEscrow: escrow, backend: request.ed25519 });
  if (!verdict.valid) {
    throw new AitbcError("RECEIPT_INVALID", `the receipt the relayer at ${url} serves for job ${jobId} does not verify: ${verdict.reason}`, {
      hint: "Do not trust this result; keep the receipt and report the provider (it may be disputed).",
      details: { code: verdict.code },
    });
  }
  const fields = verdict.fields;
  const inputHash = await jobInputHash(m, deployment, jobId);
  const mismatch =
    fields.jobId !== jobId
      ? `job ${fields.jobId}`
      : !sameAddress(fields.provider, job.provider)
        ? `provider ${fields.provider}`
        : !sameAddress(fields.client, job.client)
          ? `client ${fields.client}`
          : inputHash !== undefined && fields.inputHash.toLowerCase() !== inputHash.toLowerCase()
            ? `input ${fields.inputHash}`
            : undefined;
  if (mismatch !== undefined) {
    throw new AitbcError("RECEIPT_MISMATCH", `the receipt served for job ${jobId} is for ${mismatch}, not this job`, {
      hint: "Do not trust this result; the relayer serves another job's receipt.",
    });
  }
  const resultHash = keccak256(served.bytes);
  if (resultHash.toLowerCase() !== fields.resultHash.toLowerCase()) {
    throw new AitbcError("RESULT_HASH_MISMATCH", `the result served for job ${jobId} hashes to ${resultHash}; the signed receipt binds ${fields.resultHash}`, {
      hint: "Do not use this output: it is not what the provider signed. Try again later; keep the receipt for a dispute (`job:dispute`).",
      details: { served: resultHash, signed: fields.resultHash },
    });
  }

  const receipt = { id: receiptId, text: relayed.receiptText, document: relayed.document, fields, receiptHash: verdict.receiptHash };
  if (!isEnvelope(served.bytes)) {
    return { jobId, bytes: served.bytes, text: textOf(served.bytes), private: false, served: served.bytes, resultHash, relayerUrl: url, receipt, contentKey: null };
  }
  if (request.keyPair === undefined) {
    throw new AitbcError("RESULT_KEY_REQUIRED", `job ${jobId}'s result is private: it opens with the client's result key`, {
      hint: "Pass the client's key pair (resultKeyFor(signer, chainId)); in the CLI run it --from the job's client.",
    });
  }
  let opened;
  try {
    opened = await openEnvelopeDetailed("result", served.bytes, request.keyPair, { chainId, market: escrow, client: job.client, jobId }, request.hpke ?? portableHpke);
  } catch (error) {
    if (error instanceof AitbcError && (error.code === "ENVELOPE_NOT_A_RECIPIENT" || error.code === "ENVELOPE_OPEN_FAILED")) {
      throw new AitbcError("RESULT_NOT_FOR_YOU", `job ${jobId}'s result does not open with this key: ${error.message}`, {
        hint: `Use the key of the job's client ${job.client} (in the CLI, --from that account).`,
        cause: error,
      });
    }
    throw error;
  }
  return { jobId, bytes: opened.plaintext, text: textOf(opened.plaintext), private: true, served: served.bytes, resultHash, relayerUrl: url, receipt, contentKey: opened.contentKey };
}

async function endpointUrl(request: FetchResultRequest, job: JobInfo): Promise<string> {
  const listing = await providerListing(request.deployment, request.provider, job.provider);
  if (listing.serviceUrl === null) {
    throw new AitbcError("NO_ENDPOINT", `provider ${job.provider} of job ${job.id} has registered no service URL`, {
      hint: "Pass the provider's relayer URL with --relayer (relayerUrl in the SDK).",
    });
  }
  return listing.serviceUrl;
}
