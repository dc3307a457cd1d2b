import { AitbcError } from "../../lib/errors.js";

/**
 * Metering: how a runtime's timings become the `units` of a receipt.
 *
 * Rule: GPU-seconds = computeMs / 1000 at millisecond resolution, so `unitsMilli` (the on-chain quantity) is
 * exactly the runtime-measured `computeMs`. Only compute counts — queueing, model loading and network time do
 * not — and the charge never exceeds what the client escrowed (`maxUnitsMilli`).
 */

export interface MeteredTimings {
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms. */
  readonly completedAt: number;
  /** Whole milliseconds of compute the runtime spent on the job. */
  readonly computeMs: number;
}

export type MeteringErrorCode = "METERING_INVALID_TIMINGS" | "METERING_INVALID_CAP";

export class MeteringError extends AitbcError {
  declare readonly code: MeteringErrorCode;

  constructor(code: MeteringErrorCode, message: string) {
    super(code, message, { hint: "the runtime reported timings that cannot be billed; check its clock and version" });
  }
}

/** Largest value a `uint64` on-chain field can hold. */
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Tolerance between `computeMs` and the wall-clock interval. Both are whole milliseconds derived from different
 * clocks (a monotonic or runtime-reported duration rounded up, and two `Date.now()` readings rounded down), so a
 * correct runtime can report compute one millisecond above the observed interval — never more.
 */
export const CLOCK_SLACK_MS = 1;

/**
 * Metered milli-units for a job: `computeMs`, capped at `maxUnitsMilli` when given.
 *
 * Throws `METERING_INVALID_TIMINGS` for timings that cannot be honest: non-integer or negative values, an interval
 * that ends before it starts, or compute longer than the interval it happened in (a runtime reporting microseconds
 * as milliseconds, for instance). Refusing is safer than signing a receipt over a wrong number.
 */
export function meterUnitsMilli(timings: MeteredTimings, maxUnitsMilli?: bigint): bigint {
  const { startedAt, completedAt, computeMs } = timings;
  for (const [name, value] of [
    ["startedAt", startedAt],
    ["completedAt", completedAt],
    ["computeMs", computeMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new MeteringError("METERING_INVALID_TIMINGS", `${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (completedAt < startedAt) {
    throw new MeteringError(
      "METERING_INVALID_TIMINGS",
      `completedAt (${completedAt}) is before startedAt (${startedAt})`,
    );
  }
  if (computeMs > completedAt - startedAt + CLOCK_SLACK_MS) {
    throw new MeteringError(
      "METERING_INVALID_TIMINGS",
      `computeMs (${computeMs}) exceeds the ${completedAt - startedAt} ms between startedAt and completedAt`,
    );
  }
  if (maxUnitsMilli !== undefined && (maxUnitsMilli < 0n || maxUnitsMilli > UINT64_MAX)) {
    throw new MeteringError("METERING_INVALID_CAP", `maxUnitsMilli ${maxUnitsMilli} is outside uint64`);
  }
  const units = BigInt(computeMs);
  return maxUnitsMilli !== undefined && units > maxUnitsMilli ? maxUnitsMilli : units;
}
