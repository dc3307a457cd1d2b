/**
 * The transaction sender's fee rules, pure: what to offer for a new EIP-1559 transaction, what a replacement at the
 * same nonce must offer, and the margin on estimated gas. The sender (adapters/chain/sender.ts) reads the chain and
 * applies them.
 */

export interface FeeQuote {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface FeePolicy {
  /** Hard ceiling for `maxFeePerGas`, wei. */
  cap: bigint;
  /** Floor for the priority fee, wei. */
  minTip: bigint;
  /** `maxFeePerGas` = next base fee × this + tip. */
  baseFeeMultiplier: bigint;
  /** Fee increase per replacement, per mille (125 = 12.5 %, every client's replacement rule). */
  bumpPermille: bigint;
}

/** The `eth_feeHistory` facts a quote needs: the next block's base fee and recent blocks' tips (any order). */
export interface FeeMarket {
  nextBaseFee: bigint;
  tips: readonly bigint[];
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** The median of `values` (the upper one of an even count), 0 for none. */
export function medianTip(values: readonly bigint[]): bigint {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)];
}

/** Fees for a new transaction: the median recent tip (at least the floor), next base fee × multiplier + tip, capped. */
export function quoteFees(market: FeeMarket, policy: FeePolicy): FeeQuote {
  let tip = max(medianTip(market.tips), policy.minTip);
  let maxFee = market.nextBaseFee * policy.baseFeeMultiplier + tip;
  if (maxFee > policy.cap) maxFee = policy.cap;
  if (tip > maxFee) tip = maxFee;
  return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
}

/** `value` raised by `permille` (rounded up), and by at least 1 wei. */
export function bumpFee(value: bigint, permille: bigint): bigint {
  const raised = value + ceilDiv(value * permille, 1000n);
  return raised > value ? raised : value + 1n;
}

export type ReplacementFees = { ok: true; fees: FeeQuote } | { ok: false; needed: bigint };

/**
 * Fees for replacing `last` at the same nonce: the higher of today's quote and `last` bumped by the policy, capped.
 * At the cap a replacement below the bump rule would only be refused: `ok: false` with the `maxFeePerGas` it needs.
 */
export function replacementFees(last: FeeQuote, suggested: FeeQuote, policy: FeePolicy): ReplacementFees {
  const minMax = bumpFee(last.maxFeePerGas, policy.bumpPermille);
  const minTip = bumpFee(last.maxPriorityFeePerGas, policy.bumpPermille);
  let maxFee = max(suggested.maxFeePerGas, minMax);
  let tip = max(suggested.maxPriorityFeePerGas, minTip);
  if (maxFee > policy.cap) maxFee = policy.cap;
  if (tip > maxFee) tip = maxFee;
  if (maxFee < minMax || tip < minTip) return { ok: false, needed: minMax };
  return { ok: true, fees: { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip } };
}

/** Estimated gas plus a safety margin of `permille`. */
export function withGasMargin(estimate: bigint, permille: bigint): bigint {
  return estimate + (estimate * permille) / 1000n;
}
