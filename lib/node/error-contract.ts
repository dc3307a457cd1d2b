/**
 * The one error contract of the project's commands (Hardhat tasks and `aitbc-miner`): whatever fails, the user gets a
 * stable code, a message, what to do next and a non-zero exit; with `--json`, exactly one JSON object on stdout.
 *
 * {@link toContractError} turns anything thrown into an {@link AitbcError}: the project's own errors pass through,
 * Hardhat's and the RPC layer's errors get a project code with the fix, and anything else is `INTERNAL` (a bug), whose
 * stack trace is printed only with `--verbose`. The fixes that depend on how the command was run (a task of this
 * repository, or the installed `aitbc-miner`) come from the caller's {@link CommandHints}.
 */
import { writeSync } from "node:fs";

import { AitbcError, isAitbcError } from "../errors.js";

/** The parts of the fixes that depend on the command: its help, and how to bring the chain's node up. */
export interface CommandHints {
  /** How to see the command's arguments and options. */
  usage: string;
  /** What to do when nothing (or no JSON-RPC node) answers at the network's URL. */
  startNode: string;
}

interface HardhatErrorLike {
  name: string;
  number: number;
  errorCode: string;
  formattedMessage?: string;
  message: string;
  messageArguments?: Record<string, unknown>;
}

function isHardhatError(error: unknown): error is HardhatErrorLike {
  const e = error as Partial<HardhatErrorLike> | undefined;
  return typeof e === "object" && e !== null && e.name === "HardhatError" && typeof e.number === "number" && typeof e.errorCode === "string";
}

/** The error and its causes, outermost first (bounded: cause chains can be cyclic). */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && out.length < 8 && !out.includes(current)) {
    out.push(current);
    current = (current as { cause?: unknown; error?: unknown }).cause ?? (current as { error?: unknown }).error;
  }
  return out;
}

function messageOf(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown } | undefined;
  if (typeof e?.shortMessage === "string") return e.shortMessage;
  if (typeof e?.message === "string") return e.message;
  return String(error);
}

/** The first line of Hardhat's message (the rest repeats generic advice). */
function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}

/** Hardhat's own errors (HHEnnn) that a user can meet with a project command, as project codes. */
function fromHardhatError(error: HardhatErrorLike, task: string | undefined, hints: CommandHints): AitbcError {
  const args = error.messageArguments ?? {};
  const text = firstLine(error.formattedMessage ?? error.message);
  const help = hints.usage;
  const startNode = hints.startNode;
  const details = { hardhatError: error.errorCode };
  switch (error.number) {
    case 500:
    case 515:
      return new AitbcError("BAD_ARGUMENT", text, { hint: help, details: { ...details, argument: args.name, value: args.value } });
    case 509:
      // "-abc" after an option: Hardhat reads any word that starts with "-" as (grouped) short options, which is
      // also what a base64url key id starting with "-" looks like.
      return new AitbcError("UNKNOWN_OPTION", `${String(args.option)} is read as options, not as a value`, {
        hint: `A value that starts with "-" cannot be passed on the command line; give a key id that starts with "-" as 0x + 64 hex (the same 32 bytes). ${help}`,
        details: { ...details, option: args.option },
      });
    case 504:
    case 512:
      return new AitbcError("UNKNOWN_OPTION", `${String(args.option)} is not an option of ${task ?? "this command"}`, { hint: help, details: { ...details, option: args.option } });
    case 505:
      return new AitbcError("MISSING_ARGUMENT", `${task ?? "the task"} needs a value for ${String(args.argument)}`, { hint: help, details: { ...details, argument: args.argument } });
    case 506:
      return new AitbcError("UNEXPECTED_ARGUMENT", `${task ?? "the task"} takes no argument ${JSON.stringify(args.value)}`, { hint: help, details: { ...details, value: args.value } });
    case 510:
    case 514:
      return new AitbcError("BAD_ARGUMENT", text, { hint: help, details });
    case 700:
      return new AitbcError("RPC_URL_INVALID", text, { hint: "Fix the network's URL (AITBC_RPC_URL for --network localhost), e.g. http://127.0.0.1:8545.", details });
    case 702:
      return new AitbcError("RPC_BAD_RESPONSE", "The network's URL answers, but not with JSON-RPC (is it the dashboard or a relayer?)", { hint: startNode, details });
    case 703:
      return new AitbcError("RPC_UNREACHABLE", `Cannot connect to the network ${JSON.stringify(args.network ?? "")}: nothing answers at its URL`, { hint: startNode, details });
    case 704:
      return new AitbcError("RPC_TIMEOUT", "The network's RPC endpoint did not answer in time", { hint: "Check that the node is running and not overloaded, then run the command again.", details });
    case 705:
      return new AitbcError("UNKNOWN_NETWORK", text, { hint: "Pass --network localhost (a `hardhat node` or the devnet) or a network defined in hardhat.config.ts.", details });
    default:
      if (error.number >= 400 && error.number < 500) {
        return new AitbcError("TASK_UNAVAILABLE", text, { hint: "Build the project first: `npx hardhat build`.", details });
      }
      if (error.number >= 7_000 && error.number < 8_000) {
        return new AitbcError("CONFIG_VARIABLE_MISSING", text, { hint: "Set it in Hardhat's keystore: `npx hardhat keystore set <NAME>`.", details });
      }
      return new AitbcError("HARDHAT_ERROR", text, { hint: `See https://hardhat.org/${error.errorCode}.`, details });
  }
}

/** Transport failures below Hardhat's provider (fetch, sockets, a server that is not an RPC node). */
function fromTransport(error: unknown, startNode: string): AitbcError | undefined {
  const e = error as { code?: unknown } | undefined;
  const message = messageOf(error);
  if (e?.code === "ECONNREFUSED" || /ECONNREFUSED|fetch failed/i.test(message)) {
    return new AitbcError("RPC_UNREACHABLE", `Cannot reach the network's RPC endpoint (${firstLine(message)})`, { hint: startNode });
  }
  if (/unexpected status code|Invalid JSON-RPC response|not valid JSON|Unexpected token .* JSON/i.test(message)) {
    return new AitbcError("RPC_BAD_RESPONSE", `The network's URL answers, but not with JSON-RPC (${firstLine(message)})`, { hint: startNode });
  }
  if (e?.code === "TIMEOUT" || e?.code === "ETIMEDOUT") {
    return new AitbcError("RPC_TIMEOUT", "The network's RPC endpoint did not answer in time", { hint: "Check that the node is running and not overloaded, then run the command again." });
  }
  return undefined;
}

/**
 * Any thrown value as a project error, with the fixes of `hints`; `task` names the running Hardhat task in messages.
 * The original error is kept as `cause` (its stack is what `--verbose` prints for `INTERNAL`).
 */
export function toContractError(error: unknown, hints: CommandHints, task?: string): AitbcError {
  const chain = causes(error);
  const own = chain.find((c) => isAitbcError(c));
  if (own !== undefined) return own as AitbcError;
  for (const c of chain) {
    if (isHardhatError(c)) return withCause(fromHardhatError(c, task, hints), error);
    const transport = fromTransport(c, hints.startNode);
    if (transport !== undefined) return withCause(transport, error);
  }
  if (error instanceof RangeError) {
    return new AitbcError("BAD_ARGUMENT", `A value is out of range (${firstLine(messageOf(error))})`, {
      hint: `Check the numbers you passed. ${hints.usage}`,
      cause: error,
    });
  }
  return new AitbcError("INTERNAL", `Unexpected error: ${firstLine(messageOf(error))}`, {
    hint: "This is a bug. Run the command again with --verbose for the stack trace and report it with the command you ran.",
    cause: error,
  });
}

function withCause(known: AitbcError, cause: unknown): AitbcError {
  return new AitbcError(known.code, known.message, { hint: known.hint, details: known.details, cause });
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export interface ReportOptions {
  json: boolean;
  verbose: boolean;
  /** Write with blocking writes, for callers that exit the process right after. */
  sync?: boolean;
}

/** Prints `error` as the contract says: one JSON object on stdout with `--json`, else one message on stderr. */
export function reportError(error: AitbcError, options: ReportOptions): void {
  const out = (fd: 1 | 2, text: string) => {
    if (options.sync === true) writeSync(fd, `${text}\n`);
    else if (fd === 1) console.log(text);
    else console.error(text);
  };
  if (options.json) out(1, toJson({ error: error.toJSON() }));
  else out(2, `✖ ${error.toUserString()}`);
  if (options.verbose) {
    const stack = (error.code === "INTERNAL" || error.cause !== undefined) ? stackOf(error.cause ?? error) : undefined;
    if (stack !== undefined) out(2, stack);
  }
}

function stackOf(error: unknown): string | undefined {
  return typeof (error as { stack?: unknown })?.stack === "string" ? (error as { stack: string }).stack : undefined;
}
