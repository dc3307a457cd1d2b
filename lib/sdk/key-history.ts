/**
 * "Was key K the provider's receipt key at time T?" — answered by `ProviderRegistry`, which keeps every receipt key a
 * provider has had with the time range it was registered. A rotation therefore never invalidates the receipts the
 * old key signed before it.
 */
import type { Ed25519Backend } from "../receipts/ed25519.js";
import { verifyReceipt, type ReceiptFields } from "../receipts/receipt.js";
import { base64UrlDecode, toHex } from "../receipts/encoding.js";
import type { MarketContracts } from "./market.js";

type Registry = Pick<MarketContracts["providers"], "wasReceiptKeyAt">;

/** Whether `keyHex` (0x + 64 hex) was `provider`'s registered receipt key at `time` (unix seconds). */
export function wasReceiptKeyAt(registry: Registry, provider: string, keyHex: string, time: bigint | number): Promise<boolean> {
  return registry.wasReceiptKeyAt(provider, keyHex, BigInt(time));
}

/**
 * The key to verify a receipt with: the key it names, when the registry says the provider held that key when the
 * receipt was completed (`completed_at`, the time it was signed); otherwise the provider's current key, so a receipt
 * from a key the provider never held, or one dated outside that key's range, is refused as `KEY_NOT_TRUSTED`.
 */
export async function receiptTrustedKey(registry: Registry, fields: Pick<ReceiptFields, "provider" | "completedAt" | "signature">, currentKey: string): Promise<string> {
  const named = base64UrlDecode(fields.signature.keyId);
  if (named === undefined || named.length !== 32) return currentKey;
  const namedHex = toHex(named);
  if (namedHex.toLowerCase() === currentKey.toLowerCase()) return currentKey;
  return (await wasReceiptKeyAt(registry, fields.provider, namedHex, fields.completedAt)) ? namedHex : currentKey;
}

/**
 * {@link receiptTrustedKey} for receipt text that has not been verified yet (its fields are read without trusting
 * them); text that cannot be read gets the current key, and the verification that follows reports why. Node callers
 * pass `nodeBackend` (the portable back-end is the default, so browsers can use this too).
 */
export async function receiptTrustedKeyForText(registry: Registry, text: string | Uint8Array, currentKey: string, backend?: Ed25519Backend): Promise<string> {
  const peek = verifyReceipt(text, { allowUntrustedKey: true, backend });
  return peek.valid ? receiptTrustedKey(registry, peek.fields, currentKey) : currentKey;
}
