import { AitbcError } from "../errors.js";

/** Decimals of the AITBC token (fixed by the contract). */
export const TOKEN_DECIMALS = 18;
const UNIT = 10n ** BigInt(TOKEN_DECIMALS);

/**
 * Parses a token amount typed by a person into base units.
 *
 * Accepted: plain decimal notation in whole tokens — `1000`, `1.5`, `0.000000000000000001`, with `_` allowed between
 * digits as a thousands separator (`1_000_000`). At most 18 fractional digits, so nothing is ever rounded.
 *
 * Refused with `BAD_AMOUNT`: exponents (`2.5e3` — they read like floating point and hide magnitude mistakes), signs,
 * hex, commas, empty strings, and more than 18 decimals. Zero is refused unless `allowZero` is set, because a zero
 * transfer or mint is always a mistake in a proposal.
 */
export function parseTokenAmount(text: string, options: { what?: string; allowZero?: boolean } = {}): bigint {
  const what = options.what ?? "amount";
  const trimmed = text.trim();
  const match = /^(\d+(?:_\d+)*)(?:\.(\d+))?$/.exec(trimmed);
  if (match === null) {
    throw new AitbcError("BAD_AMOUNT", `${what} \`${text}\` is not a token amount`, {
      hint: "Write whole AITBC in decimal notation, e.g. `1000`, `1.5` or `1_000_000` (no exponents, signs or commas).",
    });
  }
  const whole = match[1].replaceAll("_", "");
  const fraction = match[2] ?? "";
  if (fraction.length > TOKEN_DECIMALS) {
    throw new AitbcError("BAD_AMOUNT", `${what} \`${text}\` has more than ${TOKEN_DECIMALS} decimals`, {
      hint: `AITBC has ${TOKEN_DECIMALS} decimals; round the amount to at most ${TOKEN_DECIMALS} digits after the point.`,
    });
  }
  const base = BigInt(whole) * UNIT + BigInt(fraction.padEnd(TOKEN_DECIMALS, "0") || "0");
  if (base === 0n && options.allowZero !== true) {
    throw new AitbcError("BAD_AMOUNT", `${what} must be greater than zero`, { hint: "Pass a positive amount of AITBC." });
  }
  return base;
}

/** Formats base units as whole tokens with thousands separators and no trailing zeros: `1,000`, `2.5`. */
export function formatTokenAmount(base: bigint): string {
  const negative = base < 0n;
  const abs = negative ? -base : base;
  const whole = (abs / UNIT).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (abs % UNIT).toString().padStart(TOKEN_DECIMALS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}

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
