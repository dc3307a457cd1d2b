/**
 * One error type for everything the library, tasks and relayer report to a user.
 *
 * `code` is stable and is what tests and scripts match on; `message` says what happened; `hint` says what to do next.
 */
export class AitbcError extends Error {
  override readonly name = "AitbcError";
  readonly code: string;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** One line for a terminal: what happened, then what to do. */
  toUserString(): string {
    return this.hint === undefined ? `${this.message} [${this.code}]` : `${this.message} [${this.code}]\n  → ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isAitbcError(error: unknown, code?: string): error is AitbcError {
  return error instanceof AitbcError && (code === undefined || error.code === code);
}
