import { isAitbcError } from "../../lib/errors.js";
import { nodeHpke } from "../../lib/node/hpke-node.js";
import { isEnvelope, sealEnvelope, type EncryptionKeyPair } from "../../lib/privacy/envelope.js";
import { openJobRequest } from "../../lib/privacy/request.js";
import type { JobRecord } from "../core/job-state.js";

/** Content type of a private job's result: the sealed result envelope, as stored and served. */
export const ENVELOPE_CONTENT_TYPE = "application/vnd.aitbc.envelope";

/** The relayer's X25519 key for private jobs, or why it runs public jobs only. */
export type PrivateKeyState =
  | { enabled: true; keyPair: EncryptionKeyPair }
  | { enabled: false; warning: string };

export type OpenedPrompt =
  | { ok: true; prompt: Uint8Array; resultKey: Uint8Array; private: boolean }
  | { ok: false; reason: "NOT_A_RECIPIENT" | "BAD_ENVELOPE"; detail: string };

/**
 * Private jobs: opens a job's prompt envelope with the provider's key (context: chain, escrow, client) and seals a
 * result to the client's result key (the same context and the job id). The plaintext only lives in memory, for the
 * policy and the runtime; the journal keeps the envelopes. Details never quote the plaintext.
 */
export class PrivateJobs {
  readonly #key: PrivateKeyState;
  readonly #chainId: bigint;
  readonly #escrow: string;

  constructor(key: PrivateKeyState, chainId: bigint, escrow: string) {
    this.#key = key;
    this.#chainId = chainId;
    this.#escrow = escrow;
  }

  get enabled(): boolean {
    return this.#key.enabled;
  }

  /** The key published in the offer, `null` when private jobs are off. */
  get publicKey(): Uint8Array | null {
    return this.#key.enabled ? this.#key.keyPair.publicKey : null;
  }

  /** Why private jobs are off, `null` when they are on. */
  get warning(): string | null {
    return this.#key.enabled ? null : this.#key.warning;
  }

  /** The prompt the policy and the runtime see: a public prompt as it is, a private one opened. */
  async open(job: Pick<JobRecord, "client">, prompt: Uint8Array): Promise<OpenedPrompt> {
    if (!isEnvelope(prompt)) return { ok: true, prompt, resultKey: new Uint8Array(), private: false };
    if (!this.#key.enabled) return { ok: false, reason: "NOT_A_RECIPIENT", detail: `this relayer runs public jobs only (${this.#key.warning})` };
    try {
      const opened = await openJobRequest(prompt, this.#key.keyPair, { chainId: this.#chainId, market: this.#escrow, client: job.client }, nodeHpke);
      opened.contentKey.fill(0);
      return { ok: true, prompt: opened.prompt, resultKey: opened.resultKey, private: true };
    } catch (error) {
      const code = isAitbcError(error) ? error.code : "INTERNAL";
      if (code === "ENVELOPE_NOT_A_RECIPIENT") return { ok: false, reason: "NOT_A_RECIPIENT", detail: "the prompt envelope is not sealed to this provider's encryption key" };
      return { ok: false, reason: "BAD_ENVELOPE", detail: `the prompt envelope does not open (${code})` };
    }
  }

  /** Seals a private job's result to the client's result key, once: the envelope is what is stored, hashed and signed. */
  sealResult(job: Pick<JobRecord, "client" | "jobId">, resultKey: Uint8Array, result: Uint8Array): Promise<Uint8Array> {
    return sealEnvelope("result", result, [resultKey], { chainId: this.#chainId, market: this.#escrow, client: job.client, jobId: job.jobId }, nodeHpke);
  }
}
