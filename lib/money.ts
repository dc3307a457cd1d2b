/**
 * Escrow, price and fee arithmetic of the marketplace — the only TypeScript implementation, mirrored by `JobEscrow`
 * and tested against it. All values are bigints in token base units (18 decimals) and milli-units.
 *
 *   escrow   = ceil(maxUnitsMilli × rate / 1000)
 *   price    = floor(unitsMilli × rate / 1000)          (unitsMilli ≤ maxUnitsMilli)
 *   fee      = floor(price × feeBps / 10000)
 *   provider = price − fee, treasury = fee, client = escrow − price   →   provider + treasury + client = escrow
 */
import { AitbcError } from "./errors.js";

/** Milli-units per unit: units travel on-chain as milli-units (2.5 gpu_seconds = 2500). */
export const MILLI = 1000n;
/** Basis points in 100 %. */
export const BPS = 10_000n;
/** Largest `maxUnitsMilli` the escrow accepts (it keeps a job in one storage slot). */
export const MAX_UNITS_MILLI = (1n << 36n) - 1n;
/** Largest rate the rate card accepts (rates are snapshotted into 80 bits). */
export const MAX_RATE = (1n << 80n) - 1n;
/** Largest fee the DAO may set (20 %). */
export const MAX_FEE_BPS = 2_000n;
/** Token base units per token. */
export const TOKEN_UNIT = 10n ** 18n;

export interface Settlement {
  escrow: bigint;
  price: bigint;
  fee: bigint;
  provider: bigint;
  client: bigint;
}

function check(condition: boolean, code: string, message: string, hint: string, details: Record<string, unknown>): void {
  if (!condition) throw new AitbcError(code, message, { hint, details });
}

function checkRate(rate: bigint): void {
  check(rate > 0n && rate <= MAX_RATE, "MONEY_INVALID_RATE", `rate ${rate} is outside 1..${MAX_RATE}`, "rates are base units per ONE unit; read them from the rate card", { rate: rate.toString() });
}

function checkMaxUnits(maxUnitsMilli: bigint): void {
  check(
    maxUnitsMilli > 0n && maxUnitsMilli <= MAX_UNITS_MILLI,
    "MONEY_INVALID_MAX_UNITS",
    `maxUnitsMilli ${maxUnitsMilli} is outside 1..${MAX_UNITS_MILLI}`,
    "give the job size in milli-units (2.5 gpu_seconds = 2500)",
    { maxUnitsMilli: maxUnitsMilli.toString() },
  );
}

/** Escrow pulled when a job of `maxUnitsMilli` is created at `rate`. */
export function escrowFor(maxUnitsMilli: bigint, rate: bigint): bigint {
  checkMaxUnits(maxUnitsMilli);
  checkRate(rate);
  return (maxUnitsMilli * rate + MILLI - 1n) / MILLI;
}

/** Price of `unitsMilli` at `rate`. */
export function priceFor(unitsMilli: bigint, rate: bigint): bigint {
  check(unitsMilli > 0n && unitsMilli <= MAX_UNITS_MILLI, "MONEY_INVALID_UNITS", `unitsMilli ${unitsMilli} is outside 1..${MAX_UNITS_MILLI}`, "a settled job reports at least one milli-unit", { unitsMilli: unitsMilli.toString() });
  checkRate(rate);
  return (unitsMilli * rate) / MILLI;
}

/** Protocol fee on `price` at `feeBps`. */
export function feeFor(price: bigint, feeBps: bigint): bigint {
  check(feeBps >= 0n && feeBps <= MAX_FEE_BPS, "MONEY_INVALID_FEE", `fee ${feeBps} bps is outside 0..${MAX_FEE_BPS}`, "read the fee from JobEscrow.parameters()", { feeBps: feeBps.toString() });
  check(price >= 0n, "MONEY_INVALID_PRICE", `price ${price} is negative`, "prices are base units", { price: price.toString() });
  return (price * feeBps) / BPS;
}

/** The full split of one settled job. Throws `MONEY_UNITS_ABOVE_MAX` when more units are reported than escrowed. */
export function settle(args: { maxUnitsMilli: bigint; unitsMilli: bigint; rate: bigint; feeBps: bigint }): Settlement {
  const escrow = escrowFor(args.maxUnitsMilli, args.rate);
  const price = priceFor(args.unitsMilli, args.rate);
  check(args.unitsMilli <= args.maxUnitsMilli, "MONEY_UNITS_ABOVE_MAX", `unitsMilli ${args.unitsMilli} exceeds the job's maximum ${args.maxUnitsMilli}`, "settle at most the job's maxUnitsMilli", {
    unitsMilli: args.unitsMilli.toString(),
    maxUnitsMilli: args.maxUnitsMilli.toString(),
  });
  const fee = feeFor(price, args.feeBps);
  return { escrow, price, fee, provider: price - fee, client: escrow - price };
}

/**
 * Parses a decimal amount of units ("2.5", "0.001", "3") into milli-units. More than three decimals cannot be
 * represented and is refused rather than rounded.
 */
export function unitsToMilli(units: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(units.trim());
  check(match !== null, "MONEY_INVALID_UNITS", `"${units}" is not a decimal amount with at most 3 decimals`, "write units like 2.5 (gpu_seconds)", { units });
  const [, whole, fraction = ""] = match as RegExpExecArray;
  return BigInt(whole) * MILLI + BigInt(fraction.padEnd(3, "0"));
}

/** Formats milli-units as a decimal string without trailing zeros ("2500" → "2.5"). */
export function milliToUnits(milli: bigint): string {
  check(milli >= 0n, "MONEY_INVALID_UNITS", `milli-units ${milli} is negative`, "units are never negative", { milli: milli.toString() });
  const whole = milli / MILLI;
  const fraction = (milli % MILLI).toString().padStart(3, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

/** Parses a token amount ("2.0", "0.5") into base units. */
export function tokensToBase(amount: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(amount.trim());
  check(match !== null, "MONEY_INVALID_AMOUNT", `"${amount}" is not a token amount with at most 18 decimals`, "write amounts like 2.5 (AITBC)", { amount });
  const [, whole, fraction = ""] = match as RegExpExecArray;
  return BigInt(whole) * TOKEN_UNIT + BigInt(fraction.padEnd(18, "0"));
}
