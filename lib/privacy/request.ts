/**
 * A private job's request: what the client seals into the prompt envelope that goes on-chain in place of the prompt.
 *
 * ```
 * u8  version (1)
 * 32 bytes the client's result public key (X25519): the provider seals the result to it
 * …   the prompt bytes
 * ```
 *
 * The envelope's recipients are the providers that may run the job (one for a directed job, every eligible one for an
 * open job) and the client's own result key, so the client can always reopen what it asked (the dashboard shows it)
 * and reveal the content key in a dispute. The envelope's context binds it to the chain, the market and the client: a
 * copy of the calldata in someone else's job does not open.
 */
import { AitbcError } from "../errors.js";
import {
  MAX_RECIPIENTS,
  openEnvelopeDetailed,
  portableHpke,
  sealEnvelope,
  type EncryptionKeyPair,
  type EnvelopeContext,
  type HpkeBackend,
} from "./envelope.js";

export const REQUEST_VERSION = 1;
const RESULT_KEY_BYTES = 32;
/** The most providers one open job's prompt is sealed to: the envelope's limit, less the client's own slot. */
export const MAX_PROVIDER_RECIPIENTS = MAX_RECIPIENTS - 1;

export interface JobRequest {
  /** The prompt as the runtime gets it. */
  prompt: Uint8Array;
  /** The client's X25519 result public key. */
  resultKey: Uint8Array;
}

function fail(code: string, message: string, hint?: string): never {
  throw new AitbcError(code, message, hint === undefined ? {} : { hint });
}

export function encodeJobRequest(request: JobRequest): Uint8Array {
  if (request.resultKey.length !== RESULT_KEY_BYTES) fail("REQUEST_MALFORMED", `a result key is ${RESULT_KEY_BYTES} bytes, got ${request.resultKey.length}`);
  const out = new Uint8Array(1 + RESULT_KEY_BYTES + request.prompt.length);
  out[0] = REQUEST_VERSION;
  out.set(request.resultKey, 1);
  out.set(request.prompt, 1 + RESULT_KEY_BYTES);
  return out;
}

export function decodeJobRequest(bytes: Uint8Array): JobRequest {
  if (bytes.length < 1 + RESULT_KEY_BYTES) fail("REQUEST_MALFORMED", `a job request has at least ${1 + RESULT_KEY_BYTES} bytes, got ${bytes.length}`);
  if (bytes[0] !== REQUEST_VERSION) fail("REQUEST_MALFORMED", `unknown job request version ${bytes[0]} (this build reads version ${REQUEST_VERSION})`);
  return { resultKey: bytes.slice(1, 1 + RESULT_KEY_BYTES), prompt: bytes.slice(1 + RESULT_KEY_BYTES) };
}

/**
 * Seals a job request for `providerKeys` (1 … {@link MAX_PROVIDER_RECIPIENTS} X25519 public keys) and the client's
 * own result key. The context has no job id: the job does not exist yet.
 */
export async function sealJobRequest(
  request: JobRequest,
  providerKeys: readonly Uint8Array[],
  context: EnvelopeContext,
  backend: HpkeBackend = portableHpke,
): Promise<Uint8Array> {
  if (providerKeys.length === 0 || providerKeys.length > MAX_PROVIDER_RECIPIENTS) {
    fail("ENVELOPE_RECIPIENTS", `a private job is sealed to 1 to ${MAX_PROVIDER_RECIPIENTS} providers, got ${providerKeys.length}`, "direct the job to one provider with --provider");
  }
  return sealEnvelope("prompt", encodeJobRequest(request), [...providerKeys, request.resultKey], context, backend);
}

/** Opens a private job's envelope with a provider's (or the client's) key pair. */
export async function openJobRequest(
  envelope: Uint8Array,
  keyPair: EncryptionKeyPair,
  context: EnvelopeContext,
  backend: HpkeBackend = portableHpke,
): Promise<JobRequest & { contentKey: Uint8Array }> {
  const opened = await openEnvelopeDetailed("prompt", envelope, keyPair, context, backend);
  return { ...decodeJobRequest(opened.plaintext), contentKey: opened.contentKey };
}
