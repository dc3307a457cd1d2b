/**
 * A provider's endpoint: the service URL clients reach its relayer at, next to the X25519 key private prompts are
 * sealed to. The URL rule is `ProviderRegistry`'s (`_isServiceUrl`), so a URL refused here would revert there, and
 * one accepted here is accepted there. Pure and browser-safe.
 */
import { AitbcError } from "../errors.js";
import { MAX_SERVICE_URL_BYTES } from "../protocol.js";

/**
 * The URL as the registry stores it: `http://` or `https://` and at least one more byte, at most
 * {@link MAX_SERVICE_URL_BYTES} bytes, no space, control character or DEL. A trailing `/` is dropped, so paths such as
 * `/api/v1/offer` can be appended.
 *
 * @throws {AitbcError} `BAD_SERVICE_URL`.
 */
export function parseServiceUrl(text: string, what = "--url"): string {
  const url = text.trim().replace(/\/+$/, "");
  const bytes = new TextEncoder().encode(url);
  const hint = "Pass the relayer's base URL as clients reach it, e.g. --url https://miner.example.org:8788";
  if (!/^https?:\/\/./.test(url)) throw new AitbcError("BAD_SERVICE_URL", `${what} must start with http:// or https://, got ${JSON.stringify(text)}`, { hint });
  if (bytes.length > MAX_SERVICE_URL_BYTES) {
    throw new AitbcError("BAD_SERVICE_URL", `${what} has ${bytes.length} bytes; the registry keeps at most ${MAX_SERVICE_URL_BYTES}`, { hint });
  }
  if (bytes.some((b) => b <= 0x20 || b === 0x7f)) throw new AitbcError("BAD_SERVICE_URL", `${what} contains a space or a control character`, { hint });
  return url;
}
