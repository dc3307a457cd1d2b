/**
 * The one grammar for amounts people type and read: token amounts (AITBC, 18 decimals) and job sizes (units, 3
 * decimals). Every CLI option, proposal kind, deployment file and dashboard field parses and prints through here.
 * Pure and browser-safe.
 */
import { AitbcError } from "../errors.js";
import { MILLI, TOKEN_DECIMALS, TOKEN_UNIT } from "../protocol.js";

export { TOKEN_DECIMALS } from "../protocol.js";

/** Whole part with optional `_` separators between digits, then an optional fraction. */
const TOKEN_AMOUNT = /^(\d+(?:_\d+)*)(?:\.(\d+))?$/;

/**
 * Parses a token amount typed by a person into base units.
 *
 * Accepted: plain decimal notation in whole tokens — `1000`, `1.5`, `0.000000000000000001`, with `_` allowed between
 * digits as a thousands separator (`1_000_000`). At most 18 fractional digits, so nothing is ever rounded.
 *
 * Refused with `BAD_AMOUNT`: exponents (`2.5e3` — they read like floating point and hide magnitude mistakes), signs,
 * hex, commas, empty strings, and more than 18 decimals. Zero is refused unless `allowZero` is set, because a zero
 * transfer, bond or mint is always a mistake.
 */
export function parseTokenAmount(text: string, options: { what?: string; allowZero?: boolean } = {}): bigint {
  const what = options.what ?? "amount";
  const match = TOKEN_AMOUNT.exec(text.trim());
  if (match === null) {
    throw new AitbcError("BAD_AMOUNT", `${what} \`${text}\` is not a token amount`, {
      hint: "Write whole AITBC in decimal notation, e.g. `1000`, `1.5` or `1_000_000` (no exponents, signs or commas).",
      details: { text },
    });
  }
  const whole = match[1].replaceAll("_", "");
  const fraction = match[2] ?? "";
  if (fraction.length > TOKEN_DECIMALS) {
    throw new AitbcError("BAD_AMOUNT", `${what} \`${text}\` has more than ${TOKEN_DECIMALS} decimals`, {
      hint: `AITBC has ${TOKEN_DECIMALS} decimals; round the amount to at most ${TOKEN_DECIMALS} digits after the point.`,
      details: { text },
    });
  }
  const base = BigInt(whole) * TOKEN_UNIT + BigInt(fraction.padEnd(TOKEN_DECIMALS, "0") || "0");
  if (base === 0n && options.allowZero !== true) {
    throw new AitbcError("BAD_AMOUNT", `${what} must be greater than zero`, { hint: "Pass a positive amount of AITBC.", details: { text } });
  }
  return base;
}

/** Formats base units as whole tokens with thousands separators and no trailing zeros: `1,000`, `2.5`. */
export function formatTokenAmount(base: bigint): string {
  const negative = base < 0n;
  const abs = negative ? -base : base;
  const whole = (abs / TOKEN_UNIT).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (abs % TOKEN_UNIT).toString().padStart(TOKEN_DECIMALS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}

function refuseUnits(message: string, hint: string, details: Record<string, unknown>): never {
  throw new AitbcError("MONEY_INVALID_UNITS", message, { hint, details });
}

/**
 * Parses a decimal amount of units ("2.5", "0.001", "3") into milli-units. More than three decimals cannot be
 * represented and is refused rather than rounded.
 */
/** `12.5 AITBC`: an amount of base units as people read it. */
export function formatAitbc(base: bigint): string {
  return `${formatTokenAmount(base)} AITBC`;
}

export function unitsToMilli(units: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(units.trim());
  if (match === null) refuseUnits(`"${units}" is not a decimal amount with at most 3 decimals`, "write units like 2.5 (gpu_seconds)", { units });
  const [, whole, fraction = ""] = match;
  return BigInt(whole) * MILLI + BigInt(fraction.padEnd(3, "0"));
}

/** Formats milli-units as a decimal string without trailing zeros ("2500" → "2.5"). */
export function milliToUnits(milli: bigint): string {
  if (milli < 0n) refuseUnits(`milli-units ${milli} is negative`, "units are never negative", { milli: milli.toString() });
  const whole = milli / MILLI;
  const fraction = (milli % MILLI).toString().padStart(3, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}
