import { expect } from "chai";

import { isAitbcError } from "../../../lib/errors.js";
import { parseServiceUrl } from "../../../lib/market/endpoint.js";
import { MAX_SERVICE_URL_BYTES } from "../../../lib/protocol.js";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isAitbcError(error) ? error.code : "NOT_AN_AITBC_ERROR";
  }
  return undefined;
}

describe("lib/market/endpoint: the service URL rule of ProviderRegistry", function () {
  it("keeps http(s) URLs and drops a trailing slash", function () {
    expect(parseServiceUrl("https://miner.example.org:8788/")).to.equal("https://miner.example.org:8788");
    expect(parseServiceUrl("  http://10.0.0.2:8788/aitbc  ")).to.equal("http://10.0.0.2:8788/aitbc");
    const longest = `https://${"a".repeat(MAX_SERVICE_URL_BYTES - 8)}`;
    expect(parseServiceUrl(longest)).to.equal(longest);
  });

  it("refuses what the registry refuses, by code", function () {
    for (const bad of ["", "https://", "http:/x", "ftp://miner.example.org", "miner.example.org:8788", "https://a b", "https://a\tb", "https://a\u007f", `https://${"a".repeat(MAX_SERVICE_URL_BYTES - 7)}`]) {
      expect(code(() => parseServiceUrl(bad)), JSON.stringify(bad)).to.equal("BAD_SERVICE_URL");
    }
    // Multi-byte characters count as bytes, as on-chain.
    expect(code(() => parseServiceUrl(`https://${"é".repeat(125)}`))).to.equal("BAD_SERVICE_URL");
    expect(parseServiceUrl(`https://${"é".repeat(124)}`)).to.have.length(8 + 124);
  });
});
