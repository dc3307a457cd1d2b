/**
 * docs/sdk/API.md is generated from the SDK's types; the committed file must be what the generator writes today.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";

import { collectApi, OUTPUT, renderApiDocs } from "../../scripts/api-docs.js";
import { REPO_ROOT } from "../../tools/hardhat-node.js";

describe("docs/sdk/API.md", function () {
  this.timeout(120_000);

  it("is up to date with the SDK's exports (regenerate with `npm run docs:api`)", async function () {
    const committed = await readFile(path.join(REPO_ROOT, OUTPUT), "utf8");
    expect(committed === renderApiDocs(REPO_ROOT), "docs/sdk/API.md is stale: run `npm run docs:api`").to.equal(true);
  });

  it("documents every role's entry points with a signature and a summary", function () {
    const entries = new Map(collectApi(REPO_ROOT).map((e) => [e.name, e]));
    for (const name of ["submitJob", "waitForReceipt", "verifyReceiptOnChain", "disputeJob", "withdraw", "followAnchoredBatches", "verifyInclusion", "startMiner", "registerProvider", "verifyReceipt"]) {
      const entry = entries.get(name);
      expect(entry?.kind, name).to.equal("function");
      expect(entry?.signature, name).to.match(new RegExp(`^function ${name}\\(`));
      expect(entry?.summary, name).to.not.equal("");
    }
  });
});
