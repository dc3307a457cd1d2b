/**
 * README command 1 end to end: `hardhat run scripts/demo.ts` as a child process, as `npm run demo` runs it. Checks the
 * exit code, the step lines and the summary, then verifies every receipt the demo wrote — independently of the demo's
 * own checks — against the provider key it registered on-chain and the Merkle proof written beside it.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { importProofBundle } from "../../lib/receipts/proof-bundle.js";
import { verifyReceipt } from "../../lib/receipts/receipt.js";
import { REPO_ROOT, runHardhat, type CliResult } from "../../tools/hardhat-node.js";

interface DemoSummary {
  format: string;
  chainId: string;
  escrow: string;
  providers: { label: string; address: string; models: string[]; receiptKey: string; keyId: string }[];
  jobs: number;
  disputedJob: string;
  repricedJob: { jobId: string; model: string; oldRate: string; newRate: string };
  unitsMilli: string;
  escrowedByClients: string;
  settlementBatches: number;
  clients: { address: string; jobs: number; escrowed: string; paid: string; refunded: string; fees: string }[];
  paidToProviders: string;
  refundedToClients: string;
  fees: string;
  slashed: string;
  receipts: { jobId: string; file: string; receiptHash: string; root: string; provider: string }[];
  gas: { step: string; txs: number; gas: string }[];
  seconds: number;
}

describe("e2e: npm run demo", function () {
  this.timeout(240_000);

  let out: string;
  let run: CliResult;
  let summary: DemoSummary;

  before(async function () {
    out = await mkdtemp(path.join(tmpdir(), "aitbc-demo-e2e-"));
    run = await runHardhat(["run", "scripts/demo.ts"], { env: { AITBC_DEMO_OUT: out }, timeoutMs: 200_000 });
    if (run.code === 0) summary = JSON.parse(await readFile(path.join(out, "summary.json"), "utf8")) as DemoSummary;
  });

  after(async function () {
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it("exits 0 after all nine steps and prints the summary and gas tables", function () {
    expect(run.code, `${run.stdout}\n--- stderr ---\n${run.stderr}`).to.equal(0);
    for (let step = 1; step <= 9; step++) expect(run.stdout).to.include(`[${step}/9] `);
    expect(run.stdout).to.match(/running 12 jobs … 12\/12 accepted, 12\/12 settled/);
    expect(run.stdout).to.match(/jobs\s+13 \(12 \+ 1 after the rate change\)/);
    expect(run.stdout).to.match(/receipts verified\s+13 \/ 13/);
    for (const row of ["paid to providers", "refunded to clients", "fees to the treasury", "relayer: acceptJobs", "relayer: settleBatch", "client: dispute", "dao: execute (set-rate)"]) {
      expect(run.stdout).to.include(row);
    }
    expect(run.stdout).to.include(path.join(out, "receipts"));
    expect(run.stdout).to.match(/Demo complete in \d+\.\d s/);
  });

  it("its progress counts the settlement batches the summary shows, and escrowed = paid + refunded + fees per client", function () {
    const progress = [...run.stdout.matchAll(/12\/12 settled in (\d+) batch/g)].map((m) => Number(m[1]));
    expect(progress.length, run.stdout).to.be.greaterThan(0);
    const first = /settlement batches\s+(\d+) \((\d+) for the first 12 jobs/.exec(run.stdout);
    expect(first, run.stdout).to.not.equal(null);
    expect(progress[progress.length - 1]).to.equal(Number(first?.[2]));
    expect(Number(first?.[1])).to.equal(summary.settlementBatches);

    expect(summary.clients).to.have.length(3);
    expect(summary.clients.reduce((n, c) => n + c.jobs, 0)).to.equal(summary.jobs);
    let escrowed = 0n;
    let refunded = 0n;
    for (const c of summary.clients) {
      expect(BigInt(c.escrowed), c.address).to.equal(BigInt(c.paid) + BigInt(c.refunded) + BigInt(c.fees));
      escrowed += BigInt(c.escrowed);
      refunded += BigInt(c.refunded);
    }
    expect(escrowed).to.equal(BigInt(summary.escrowedByClients));
    expect(refunded).to.equal(BigInt(summary.refundedToClients));
    expect(escrowed).to.equal(BigInt(summary.paidToProviders) + BigInt(summary.refundedToClients) + BigInt(summary.fees));
    expect(run.stdout).to.match(/escrowed by clients\s+\S+ AITBC/);
  });

  it("ends with a verify hint that works for the Node 20 user of README command 1", async function () {
    const hint = /verify one: npx -y -p node@22 -c '(\.\/node_modules\/\.bin\/hardhat receipt:verify (\S+) --embedded-key)'/.exec(run.stdout);
    expect(hint, run.stdout).to.not.equal(null);
    // Inside `npx -p node@22 -c`, Node 22 is first on PATH: run the quoted command the same way.
    const { spawnSync } = await import("node:child_process");
    const inner = spawnSync("sh", ["-c", hint?.[1] ?? ""], {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` },
      encoding: "utf8",
    });
    expect(inner.status, `${inner.stdout}\n${inner.stderr}`).to.equal(0);
    expect(inner.stdout).to.match(/valid|VALID|✔/);
  });

  it("records the money flows, the dispute and the repriced job", function () {
    expect(summary.format).to.equal("aitbc-demo-summary-v1");
    expect(summary.jobs).to.equal(13);
    expect(summary.providers).to.have.length(2);
    expect(BigInt(summary.paidToProviders)).to.be.greaterThan(0n);
    expect(BigInt(summary.refundedToClients)).to.be.greaterThan(0n);
    expect(BigInt(summary.fees)).to.be.greaterThan(0n);
    expect(summary.slashed).to.equal((10n * 10n ** 18n).toString());
    expect(summary.repricedJob).to.deep.include({ model: "llama3.2", oldRate: (2n * 10n ** 18n).toString(), newRate: (25n * 10n ** 17n).toString() });
    // Every job in the run was served by one of the two registered providers.
    const served = new Set(summary.receipts.map((r) => r.provider));
    for (const p of served) expect(summary.providers.map((x) => x.address)).to.include(p);
  });

  it("wrote one receipt and one proof per job, and every receipt verifies against the registered key and its root", async function () {
    const files = (await readdir(path.join(out, "receipts"))).sort();
    const receipts = files.filter((f) => !f.endsWith(".proof.json"));
    expect(receipts).to.have.length(13);
    expect(files.filter((f) => f.endsWith(".proof.json"))).to.have.length(13);
    const keyOf = new Map(summary.providers.map((p) => [p.address, p.receiptKey]));
    for (const entry of summary.receipts) {
      const file = path.join(out, entry.file);
      const text = await readFile(file, "utf8");
      const bundle = importProofBundle(JSON.parse(await readFile(`${file}.proof.json`, "utf8")));
      expect(bundle.root).to.equal(entry.root);
      const [item] = bundle.items;
      const verdict = verifyReceipt(text, {
        trustedKey: keyOf.get(entry.provider),
        expectedChainId: BigInt(summary.chainId),
        expectedEscrow: summary.escrow,
        proof: { root: bundle.root, proof: item.proof },
      });
      expect(verdict.valid, verdict.valid ? "" : `${entry.file}: ${verdict.code} ${verdict.reason}`).to.equal(true);
      if (!verdict.valid) continue;
      expect(verdict.receiptHash).to.equal(entry.receiptHash);
      expect(verdict.leaf).to.equal(item.leaf);
      expect(verdict.fields.jobId.toString()).to.equal(entry.jobId);
      // The other provider's key must not vouch for this receipt.
      const other = summary.providers.find((p) => p.address !== entry.provider);
      const wrongKey = verifyReceipt(text, { trustedKey: other?.receiptKey });
      expect(wrongKey.valid ? "valid" : wrongKey.code).to.equal("KEY_NOT_TRUSTED");
    }
  });

  it("a receipt whose price was raised by one base unit, or whose result hash changed, no longer verifies", async function () {
    const [first] = summary.receipts;
    const text = await readFile(path.join(out, first.file), "utf8");
    const doc = JSON.parse(text) as { price_base: string };
    const tampered = text.replace(`"price_base":"${doc.price_base}"`, `"price_base":"${BigInt(doc.price_base) + 1n}"`);
    expect(tampered).to.not.equal(text);
    const key = summary.providers.find((p) => p.address === first.provider)?.receiptKey;
    const verdict = verifyReceipt(tampered, { trustedKey: key });
    // Whether the human-facing float `price` still matches depends on where the price sits between two doubles: when
    // the nearest double moves, the consistency check refuses it first; when it does not, only the signature can.
    // Either way the receipt is refused, and by one of exactly these two checks.
    expect(verdict.valid ? "valid" : verdict.code).to.be.oneOf(["PRICE_MISMATCH", "ED25519_SIGNATURE_INVALID"]);
    // A change no consistency check covers is always caught by the signature.
    const doc2 = JSON.parse(text) as { result_hash: string };
    const flipped = `${doc2.result_hash.slice(0, -1)}${doc2.result_hash.endsWith("0") ? "1" : "0"}`;
    const resultTampered = text.replace(`"result_hash":"${doc2.result_hash}"`, `"result_hash":"${flipped}"`);
    expect(resultTampered).to.not.equal(text);
    const byResult = verifyReceipt(resultTampered, { trustedKey: key });
    expect(byResult.valid ? "valid" : byResult.code).to.equal("ED25519_SIGNATURE_INVALID");
  });
});
