import { AitbcError } from "../../lib/errors.js";

/**
 * Every failure the relayer reports, by stable code. Tests, the HTTP layer and the app match on `code`, never on
 * message text; the HTTP layer maps codes to status codes in one table.
 */
export const RelayerErrorCodes = [
  // configuration
  "RELAYER_INVALID_CONFIG",
  // operator safety at start and while running
  "RELAYER_ALREADY_RUNNING",
  "RELAYER_PORT_IN_USE",
  "RELAYER_RPC_UNAVAILABLE",
  "RELAYER_CHAIN_RESET",
  "RELAYER_DEPLOYMENT_CHANGED",
  "RELAYER_WRONG_CHAIN",
  // job state machine
  "RELAYER_ILLEGAL_TRANSITION",
  "RELAYER_INVALID_JOB_DATA",
  // batch planner
  "RELAYER_DUPLICATE_RECEIPT",
  "RELAYER_DUPLICATE_LEAF",
  "RELAYER_UNKNOWN_RECEIPT",
  "RELAYER_UNKNOWN_BATCH",
  "RELAYER_RECEIPT_NOT_PENDING",
  // journal
  "JOURNAL_SCHEMA_TOO_NEW",
  "JOURNAL_MIGRATION_FAILED",
  "JOURNAL_JOB_NOT_FOUND",
  "JOURNAL_BATCH_NOT_FOUND",
  "JOURNAL_BATCH_STATE",
  "JOURNAL_RECEIPT_CONFLICT",
  "JOURNAL_BLOCK_CONFLICT",
  "JOURNAL_BAD_CURSOR",
  "JOURNAL_EMPTY",
  "JOURNAL_CORRUPT",
  "JOURNAL_FOREIGN",
  "JOURNAL_ROLLED_BACK",
  // HTTP input
  "HTTP_ROUTE_NOT_FOUND",
  "HTTP_METHOD_NOT_ALLOWED",
  "HTTP_INVALID_ADDRESS",
  "HTTP_INVALID_LIMIT",
  "HTTP_INVALID_CURSOR",
  "HTTP_INVALID_RECEIPT_ID",
  "HTTP_INVALID_JOB_ID",
  "HTTP_UNKNOWN_PARAMETER",
  "HTTP_RECEIPT_NOT_FOUND",
  "HTTP_JOB_NOT_FOUND",
  "HTTP_RESULT_NOT_READY",
  "HTTP_INTERNAL",
  "HTTP_INVALID_BODY",
  "HTTP_BODY_TOO_LARGE",
  // channel mode (requests and vouchers sent straight to the relayer)
  "CHANNEL_MODE_OFF",
  "CHANNEL_BAD_REQUEST",
  "CHANNEL_WRONG_PROVIDER",
  "CHANNEL_BAD_SIGNATURE",
  "CHANNEL_INPUT_MISMATCH",
  "CHANNEL_REQUEST_ID_USED",
  "CHANNEL_REQUEST_ID_COVERED",
  "CHANNEL_REFUSED",
  "CHANNEL_UNDERFUNDED",
  "CHANNEL_UNPAID",
  "CHANNEL_CLOSING",
  "CHANNEL_VOUCHER_STALE",
  "CHANNEL_VOUCHER_EARLY",
  "CHANNEL_VOUCHER_TOO_LOW",
  "CHANNEL_VOUCHER_ABOVE_DEPOSIT",
  "CHANNEL_JOB_NOT_FOUND",
] as const;

export type RelayerErrorCode = (typeof RelayerErrorCodes)[number];

/** The relayer's error: an {@link AitbcError} whose code is one of {@link RelayerErrorCodes}. */
export class RelayerError extends AitbcError {
  declare readonly code: RelayerErrorCode;

  constructor(
    code: RelayerErrorCode,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export function isRelayerError(error: unknown, code?: RelayerErrorCode): error is RelayerError {
  return error instanceof RelayerError && (code === undefined || error.code === code);
}
