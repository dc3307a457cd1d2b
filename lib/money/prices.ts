/**
 * Escrow, price and fee arithmetic of the marketplace — the only TypeScript implementation, mirrored by `JobEscrow`
 * and tested against it. All values are bigints in token base units (18 decimals) and milli-units; the bounds come
 * from `lib/protocol.ts`, parsing and printing amounts from `./amounts.ts`.
 *
 *   escrow   = ceil(maxUnitsMilli × rate / 1000)
 *   price    = floor(unitsMilli × rate / 1000)          (unitsMilli ≤ maxUnitsMilli)
 *   fee      = floor(price × feeBps / 10000)
 *   provider = price − fee, treasury = fee, client = escrow − price   →   provider + treasury + client = escrow
 */
import { AitbcError } from "../errors.js";
import { BPS, MAX_FEE_BPS, MAX_RATE, MAX_UNITS_MILLI, MILLI } from "../protocol.js";

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
