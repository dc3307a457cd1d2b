/**
 * Durations and chain timestamps as people type and read them (`10m`, `2 h 5 min`, `2026-11-29 12:00:31 UTC`). Pure
 * and browser-safe.
 */
import { AitbcError } from "./errors.js";

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/**
 * Parses a duration in seconds: a whole number, optionally suffixed `s`, `m`, `h`, `d` or `w` (`600`, `10m`, `2d`).
 * Refused with `BAD_DURATION`: fractions, signs, unknown suffixes.
 */
export function parseDuration(text: string, what = "duration"): bigint {
  const match = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (match === null) {
    throw new AitbcError("BAD_DURATION", `${what} \`${text}\` is not a duration`, {
      hint: "Write whole seconds (`600`) or a whole number with a unit: `10m`, `2h`, `1d`, `1w`.",
    });
  }
  return BigInt(match[1]) * BigInt(DURATION_UNITS[match[2] === "" ? "s" : match[2]]);
}

/** `45 s`, `10 min`, `2 h 5 min`, `3 d 4 h`: compact, for humans. */
export function formatDuration(seconds: bigint | number): string {
  let s = BigInt(seconds);
  if (s < 0n) s = -s;
  if (s < 60n) return `${s} s`;
  const parts: string[] = [];
  const d = s / 86_400n;
  const h = (s % 86_400n) / 3_600n;
  const m = (s % 3_600n) / 60n;
  const rest = s % 60n;
  if (d > 0n) parts.push(`${d} d`);
  if (h > 0n) parts.push(`${h} h`);
  if (m > 0n && d === 0n) parts.push(`${m} min`);
  if (rest > 0n && d === 0n && h === 0n) parts.push(`${rest} s`);
  return parts.join(" ");
}

/** A chain timestamp as `2026-11-29 12:00:31 UTC`. */
export function formatTimestamp(seconds: bigint | number): string {
  return `${new Date(Number(seconds) * 1000).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "")} UTC`;
}
