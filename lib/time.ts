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

/** `01:58` under an hour, `1:02:03` under a day, `2 d 03:04:05` beyond: for countdowns that tick every second. */
export function formatCountdown(seconds: bigint | number): string {
  const s = Math.max(0, Math.floor(Number(seconds)));
  const pad = (n: number) => n.toString().padStart(2, "0");
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const rest = s % 60;
  if (d > 0) return `${d} d ${pad(h)}:${pad(m)}:${pad(rest)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(rest)}`;
  return `${pad(m)}:${pad(rest)}`;
}

/** `42 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`: for "opens in …". */
export function formatIn(seconds: bigint | number): string {
  const s = Math.max(0, Math.ceil(Number(seconds)));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? "" : ` ${s % 60} s`}`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h${Math.floor((s % 3_600) / 60) === 0 ? "" : ` ${Math.floor((s % 3_600) / 60)} min`}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3_600) === 0 ? "" : ` ${Math.floor((s % 86_400) / 3_600)} h`}`;
}
