/**
 * Pure helpers for the marketplace CLI, SDK and dashboard: job status names and the parsing of what people type
 * (job ids, job sizes, deadlines, model lists, addresses). Every refusal is an {@link AitbcError} with a stable code
 * and a hint naming the fix. No I/O; browser-safe.
 */
import { getAddress, isAddress } from "ethers";

import { AitbcError } from "../errors.js";
import { milliToUnits, unitsToMilli } from "../money/amounts.js";
import { JOB_STATUSES, MAX_UNITS_MILLI } from "../protocol.js";

export type JobStatusName = (typeof JOB_STATUSES)[number];

export function jobStatusName(value: bigint | number): JobStatusName {
  const name = JOB_STATUSES[Number(value)];
  if (name === undefined) throw new AitbcError("UNKNOWN_JOB_STATUS", `job status ${value} is not defined by IJobEscrow`, { hint: "Update the CLI to the deployed escrow's version." });
  return name;
}

/** Parses `--id`: a positive decimal integer. */
export function parseJobId(text: string, what = "--id"): bigint {
  const trimmed = text.trim();
  if (trimmed === "") throw new AitbcError("MISSING_OPTION", `${what} is required`, { hint: "Pass the job id printed by `job:submit` (e.g. --id 42)." });
  if (!/^[1-9][0-9]{0,77}$/.test(trimmed)) {
    throw new AitbcError("BAD_JOB_ID", `${what} \`${text}\` is not a job id`, { hint: "Job ids are positive whole numbers (1, 2, 3, …) as printed by `job:submit`." });
  }
  return BigInt(trimmed);
}

/**
 * Parses `--max-units` in gpu_seconds ("2.5") into milli-units through `lib/money/amounts.ts`; zero and sizes the escrow
 * cannot hold are refused with `BAD_UNITS`.
 */
export function parseMaxUnits(text: string): bigint {
  if (text.trim() === "") throw new AitbcError("MISSING_OPTION", "--max-units is required", { hint: "Give the largest job size in gpu_seconds, e.g. --max-units 2.5." });
  let milli: bigint;
  try {
    milli = unitsToMilli(text);
  } catch (cause) {
    throw new AitbcError("BAD_UNITS", `--max-units \`${text}\` is not an amount of gpu_seconds with at most 3 decimals`, { hint: "Write it like 2.5 or 30 (no signs, exponents or units).", cause });
  }
  if (milli === 0n || milli > MAX_UNITS_MILLI) {
    throw new AitbcError("BAD_UNITS", `--max-units ${text} is outside 0.001..${milliToUnits(MAX_UNITS_MILLI)} gpu_seconds`, { hint: "Pass a positive job size the escrow can hold." });
  }
  return milli;
}

/**
 * Parses `--deadline`: seconds from `now` (`600`) or an ISO-8601 time with a zone (`2026-12-01T12:00:00Z`), checked
 * against the escrow's window `(now, now + maxDelay]`. `now` is the chain's latest block time.
 */
export function parseDeadline(text: string, now: bigint, maxDelay: bigint): bigint {
  const trimmed = text.trim();
  let deadline: bigint;
  if (/^[0-9]+$/.test(trimmed)) {
    deadline = now + BigInt(trimmed);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) {
    deadline = BigInt(Math.floor(Date.parse(trimmed) / 1000));
  } else {
    throw new AitbcError("BAD_DEADLINE", `--deadline \`${text}\` is neither seconds from now nor an ISO time`, {
      hint: "Pass seconds from now (--deadline 3600) or a time with its zone (--deadline 2026-12-01T12:00:00Z).",
    });
  }
  if (deadline <= now || deadline > now + maxDelay) {
    throw new AitbcError("BAD_DEADLINE", `--deadline must fall within the next ${maxDelay} seconds of chain time`, {
      hint: `Pick a deadline between 1 and ${maxDelay} seconds from now (the escrow's maxDeadlineDelay).`,
      details: { deadline: deadline.toString(), now: now.toString(), maxDelay: maxDelay.toString() },
    });
  }
  return deadline;
}

/** Splits `--models llama3.2,codellama` into distinct names, refusing empty entries. */
export function parseModelList(text: string): string[] {
  const names = text.split(",").map((s) => s.trim());
  if (text.trim() === "" || names.some((n) => n === "")) {
    throw new AitbcError("BAD_MODEL_LIST", `--models \`${text}\` is not a comma-separated list of model names`, { hint: "List models from `npx hardhat rates`, e.g. --models llama3.2,codellama." });
  }
  return [...new Set(names)];
}

/** A 0x address as typed (any case; a mixed-case address must carry a valid EIP-55 checksum), checksummed. */
export function parseAddressOption(text: string, what: string): string {
  const trimmed = text.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(trimmed) || !isAddress(trimmed)) {
    throw new AitbcError("BAD_ADDRESS", `${what} \`${text}\` is not an address`, { hint: "Pass a 0x-prefixed 20-byte address (lower case, or with a correct EIP-55 checksum)." });
  }
  return getAddress(trimmed);
}
