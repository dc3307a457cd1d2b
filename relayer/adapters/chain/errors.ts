import { AitbcError } from "../../../lib/errors.js";

/**
 * Stable codes for everything the chain adapters report. The RPC codes double as the error "kinds" counted by the
 * health sink, so a dashboard and a test can both match on them.
 */
export const ChainErrorCodes = [
  // transport and retry layer (retryable kinds first)
  "RPC_NETWORK",
  "RPC_TIMEOUT",
  "RPC_RATE_LIMITED",
  "RPC_SERVER_ERROR",
  "RPC_LIMIT_EXCEEDED",
  "RPC_BAD_RESPONSE",
  "RPC_GAVE_UP",
  "RPC_ABORTED",
  "RPC_HTTP_ERROR",
  // JSON-RPC answers that retrying cannot fix
  "RPC_EXECUTION_REVERTED",
  "RPC_INVALID_PARAMS",
  "RPC_METHOD_NOT_FOUND",
  "RPC_NONCE_TOO_LOW",
  "RPC_ALREADY_KNOWN",
  "RPC_UNDERPRICED",
  "RPC_INSUFFICIENT_FUNDS",
  "RPC_ERROR",
  // transaction sender
  "TX_INVALID_REQUEST",
  "TX_KEY_CONFLICT",
  "TX_WOULD_REVERT",
  "TX_REVERTED",
  "TX_FEE_CAP_TOO_LOW",
  "TX_STORE_STATE",
  "TX_SENDER_STOPPED",
  // event watcher
  "WATCHER_REORG_TOO_DEEP",
  "WATCHER_INCONSISTENT_CHAIN",
  // configuration
  "CHAIN_INVALID_CONFIG",
] as const;

export type ChainErrorCode = (typeof ChainErrorCodes)[number];

/** Codes the RPC client retries (with backoff) before giving up with `RPC_GAVE_UP`. */
export const RETRYABLE_RPC_CODES: ReadonlySet<ChainErrorCode> = new Set<ChainErrorCode>([
  "RPC_NETWORK",
  "RPC_TIMEOUT",
  "RPC_RATE_LIMITED",
  "RPC_SERVER_ERROR",
  "RPC_LIMIT_EXCEEDED",
  "RPC_BAD_RESPONSE",
]);

export interface ChainErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Milliseconds the server asked us to wait (HTTP `Retry-After`). */
  retryAfterMs?: number;
}

export class ChainError extends AitbcError {
  declare readonly code: ChainErrorCode;
  readonly retryAfterMs?: number;

  constructor(code: ChainErrorCode, message: string, options: ChainErrorOptions = {}) {
    super(code, message, { hint: options.hint, details: options.details, cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }

  get retryable(): boolean {
    return RETRYABLE_RPC_CODES.has(this.code);
  }
}

export function isChainError(error: unknown, code?: ChainErrorCode): error is ChainError {
  return error instanceof ChainError && (code === undefined || error.code === code);
}

/** The code of the last attempt's error when the client gave up, else the error's own code. */
export function rootChainCode(error: unknown): ChainErrorCode | undefined {
  if (!(error instanceof ChainError)) return undefined;
  if (error.code === "RPC_GAVE_UP" && error.cause instanceof ChainError) return error.cause.code;
  return error.code;
}

interface RawRpcError {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

function messageOf(raw: RawRpcError): string {
  const own = typeof raw.message === "string" ? raw.message : "";
  // Some nodes put the useful text in `data.message` and a generic one at the top.
  const inner = (raw.data as { message?: unknown } | null | undefined)?.message;
  return typeof inner === "string" && inner !== own ? `${own} ${inner}` : own;
}

/**
 * Maps a JSON-RPC error object (from any node or an EIP-1193 provider) onto a code. Node software words these
 * errors differently, so matching falls back to message patterns that geth, Nethermind, Erigon, Besu, Hardhat and
 * Anvil use; the numeric code alone is too coarse (most clients answer -32000 for all of them).
 */
export function classifyRpcError(raw: RawRpcError, method: string): ChainError {
  const code = typeof raw.code === "number" ? raw.code : undefined;
  const text = messageOf(raw);
  const lower = text.toLowerCase();
  const details = { method, rpcCode: code, rpcMessage: text, rpcData: raw.data };
  const make = (c: ChainErrorCode, hint?: string) => new ChainError(c, `${method}: ${text || "JSON-RPC error"}`, { details, hint });

  if (/nonce too low|nonce has already been used|nonce_expired|oldnonce|nonce is too low/.test(lower)) return make("RPC_NONCE_TOO_LOW");
  if (/already known|known transaction|already imported|alreadyknown|transaction already exists/.test(lower)) return make("RPC_ALREADY_KNOWN");
  if (/underpriced|too low for the next block|fee cap less than block base fee|max fee per gas less than block base fee|feetoolow|fee too low/.test(lower)) {
    return make("RPC_UNDERPRICED");
  }
  if (/insufficient funds/.test(lower)) return make("RPC_INSUFFICIENT_FUNDS", "fund the relayer's account with the chain's native coin");
  if (code === 3 || /execution reverted|revert|vm exception/.test(lower)) return make("RPC_EXECUTION_REVERTED");
  if (code === -32005 || /rate limit|too many requests|limit exceeded|request limit/.test(lower)) return make("RPC_LIMIT_EXCEEDED");
  if (code === -32602) return make("RPC_INVALID_PARAMS");
  if (code === -32601) return make("RPC_METHOD_NOT_FOUND", "the node does not serve this method; use another RPC endpoint");
  return make("RPC_ERROR");
}
