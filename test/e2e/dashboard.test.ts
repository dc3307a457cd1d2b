/**
 * The dashboard end to end, in a real Chromium: a `hardhat node`, the real `deploy`, `dashboard` and `dao:propose`
 * tasks as child processes, and the browser driving a full proposal lifecycle (delegate → vote → queue → countdown →
 * execute a rate-card change) and verifying receipts against the chain (one genuine, one tampered).
 *
 * The CLI runs in a temporary working directory, so its `deployments/localhost.json` never touches the developer's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getAddress, JsonRpcProvider, keccak256, toUtf8Bytes, type JsonRpcSigner } from "ethers";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

import type { Deployment } from "../../lib/deployments.js";
import { ReceiptMerkleTree } from "../../lib/receipts/proof-bundle.js";
import { encodeSettlementRecords, settlementOrder } from "../../lib/receipts/settlement.js";
import { getPublicKey, randomSecretKey } from "../../lib/receipts/ed25519.js";
import { toHex } from "../../lib/receipts/encoding.js";
import { buildReceipt, receiptLeafValue, serializeReceipt, signReceipt, type ReceiptDocument } from "../../lib/receipts/receipt.js";
import { AITBCToken__factory } from "../../typechain-types/factories/token/AITBCToken__factory.js";
import { IJobEscrow__factory } from "../../typechain-types/factories/interfaces/IJobEscrow__factory.js";
import { IModelRegistry__factory } from "../../typechain-types/factories/interfaces/IModelRegistry__factory.js";
import { IProviderRegistry__factory } from "../../typechain-types/factories/interfaces/IProviderRegistry__factory.js";
import { REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];
const CONFIG = path.join(REPO_ROOT, "hardhat.config.ts");
const HARDHAT = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
const SHOTS = path.join(REPO_ROOT, "test-artifacts", "dashboard");
const E18 = 10n ** 18n;

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the project's Hardhat CLI with the repository's config from `cwd`. */
function hardhat(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Cli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARDHAT, "--config", CONFIG, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `hardhat dashboard --port 0` and resolves with its URL once it prints it. */
function startDashboard(cwd: string, env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [HARDHAT, "--config", CONFIG, "dashboard", "--network", "localhost", "--port", "0"], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the dashboard did not start within 60 s:\n${output}`));
    }, 60_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const match = /Dashboard listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: match[1], child, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the dashboard exited with ${code} before listening:\n${output}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Polls a locator's text until it matches (the page refreshes on each new block). */
async function waitForText(locator: Locator, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = ((await locator.count()) > 0 ? await locator.first().textContent() : null) ?? "";
    if (pattern.test(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${pattern} (last text: ${JSON.stringify(last)})`);
}

async function waitEnabled(locator: Locator, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await locator.isEnabled()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${locator} to be enabled`);
}

describe("dashboard (e2e, Chromium)", function () {
  this.timeout(180_000);

  let work: string;
  let node: HardhatNode;
  let env: NodeJS.ProcessEnv;
  let deployment: Deployment;
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  let browser: Browser;
  let page: Page;
  let rpc: JsonRpcProvider;
  const pageErrors: string[] = [];

  const advance = async (seconds: number) => {
    await rpc.send("evm_increaseTime", [seconds]);
    await rpc.send("evm_mine", []);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is required for the dashboard test and was not found at ${CHROMIUM}. Install it with \`apt-get install -y chromium\`.`);
    }
    await mkdir(SHOTS, { recursive: true });
    work = await mkdtemp(path.join(tmpdir(), "aitbc-dashboard-"));
    node = await startHardhatNode();
    env = { AITBC_RPC_URL: node.url };
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const deployed = await hardhat(["deploy", "--network", "localhost"], work, env);
    expect(deployed.code, deployed.stderr + deployed.stdout).to.equal(0);
    deployment = JSON.parse(await readFile(path.join(work, "deployments", "localhost.json"), "utf8")) as Deployment;
    dashboard = await startDashboard(work, env);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
  });

  after(async function () {
    await browser?.close();
    if (dashboard !== undefined) await stopChild(dashboard.child);
    await node?.stop();
    rpc?.destroy();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  afterEach(function () {
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  it("refuses to serve a network without a deployment (DEPLOYMENT_MISSING)", async function () {
    const empty = await mkdtemp(path.join(tmpdir(), "aitbc-dashboard-empty-"));
    try {
      const result = await hardhat(["dashboard", "--network", "localhost", "--port", "0"], empty, env);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/\[DEPLOYMENT_MISSING\]/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("serves config.json with the deployment, the RPC URL and the node's dev accounts", async function () {
    const config = (await (await fetch(new URL("config.json", dashboard.url))).json()) as Record<string, unknown>;
    expect((config.deployment as Deployment).contracts).to.deep.equal(deployment.contracts);
    expect(config.chainId).to.equal(31337);
    expect(config.rpcUrl).to.equal(node.url);
    expect(config.devAccounts).to.have.length.greaterThan(1);
    // The RPC proxy refuses requests that a foreign page could send without a CORS preflight.
    const plain = await fetch(new URL("rpc", dashboard.url), { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(plain.status).to.equal(415);
  });

  it("runs a rate-card proposal through delegate, vote, queue, countdown and execute in the UI", async function () {
    const config = (await (await fetch(new URL("config.json", dashboard.url))).json()) as { devAccounts: string[] };
    const voter = config.devAccounts[0];
    const registry = IModelRegistry__factory.connect(deployment.contracts.ModelRegistry!, rpc);
    const llamaId = await registry.modelIdOf("llama3.2");
    expect((await registry.model(llamaId)).rate).to.equal(2n * E18);

    await page.goto(`${dashboard.url}#/proposals`);
    await page.getByTestId("no-proposals").waitFor();
    await page.getByTestId("account-select").selectOption(getAddress(voter));
    await waitForText(page.getByTestId("delegatee"), /nobody/);
    await page.getByTestId("delegate-self").click();
    await page.getByTestId("delegate-self-done").waitFor();
    await waitForText(page.getByTestId("voting-power"), /^31,000,000 AITBC$/);

    const proposed = await hardhat(
      [
        "dao:propose",
        "--network",
        "localhost",
        "--kind",
        "custom",
        "--target",
        "ModelRegistry",
        "--signature",
        "setRate(uint16,uint256)",
        "--args",
        JSON.stringify([Number(llamaId), (25n * E18 / 10n).toString()]),
        "--description",
        "Raise the llama3.2 rate to 2.5 AITBC per GPU-second",
        "--json",
      ],
      work,
      env,
    );
    expect(proposed.code, proposed.stderr + proposed.stdout).to.equal(0);

    const card = page.getByTestId("proposal-1");
    await waitForText(card.getByTestId("state"), /^Pending$/);
    await waitForText(card.getByTestId("time-left"), /voting opens in \d+ s/);
    await waitForText(card.getByTestId("kind"), /ModelRegistry.*setRate|rate of llama3\.2/);
    await shot("proposals-pending");

    await page.goto(`${dashboard.url}#/proposals/1`);
    await waitForText(page.getByTestId("vote-for-why"), /^voting opens in \d+ s$/);
    expect(await page.getByTestId("vote-for").isDisabled()).to.equal(true);

    await advance(61);
    await waitForText(page.getByTestId("state"), /^Active$/);
    await waitForText(page.getByTestId("power-at-snapshot"), /^31,000,000 AITBC$/);
    await waitForText(page.getByTestId("queue-why"), /voting is open: closes in/);
    await page.getByTestId("vote-reason").fill("fair price for the hardware");
    await waitEnabled(page.getByTestId("vote-for"));
    await page.getByTestId("vote-for").click();
    await page.getByTestId("vote-for-done").waitFor();
    await waitForText(page.getByTestId("votes-for"), /^31M$/);
    await waitForText(page.getByTestId("quorum"), /Quorum reached/);
    await waitForText(page.getByTestId("votes-table"), /fair price for the hardware/);
    await waitForText(page.getByTestId("vote-for-why"), /already voted/);

    await advance(601);
    await waitForText(page.getByTestId("state"), /^Succeeded$/);
    await waitForText(page.getByTestId("execute-why"), /queue it in the timelock first/);
    await waitEnabled(page.getByTestId("queue"));
    await page.getByTestId("queue").click();
    await page.getByTestId("queue-done").waitFor();
    await waitForText(page.getByTestId("state"), /^Queued$/);
    await waitForText(page.getByTestId("countdown"), /executable in 0[12]:\d\d/);
    await waitForText(page.getByTestId("execute-why"), /^queued: executable in 0[12]:\d\d$/);
    await shot("proposal-queued");

    await page.goto(`${dashboard.url}#/rates`);
    await waitForText(page.getByTestId("pending-changes"), /Raise the llama3\.2 rate[\s\S]*earliest/);

    await page.goto(`${dashboard.url}#/proposals/1`);
    await advance(121);
    await waitForText(page.getByTestId("countdown"), /executable now/);
    await waitEnabled(page.getByTestId("execute"));
    await page.getByTestId("execute").click();
    await page.getByTestId("execute-done").waitFor();
    await waitForText(page.getByTestId("state"), /^Executed$/);
    expect((await registry.model(llamaId)).rate).to.equal(25n * E18 / 10n);

    await page.goto(`${dashboard.url}#/rates`);
    await waitForText(page.getByTestId("model-llama3.2").getByTestId("rate"), /^2\.5 AITBC/);
    await page.getByTestId("no-pending").waitFor();
    await shot("rate-card");
  });

  it("explains unknown proposals instead of showing a blank page", async function () {
    await page.goto(`${dashboard.url}#/proposals/99`);
    await waitForText(page.getByTestId("unknown-proposal"), /no proposal 99.*UNKNOWN_PROPOSAL/s);
  });

  it("verifies a receipt's signature and Merkle inclusion against the chain, and flags a tampered copy", async function () {
    // A provider registers its Ed25519 key and bond, settles three jobs on-chain and signs their receipts.
    const provider: JsonRpcSigner = await rpc.getSigner(5);
    const client = await rpc.getSigner(6);
    const c = deployment.contracts;
    const registry = IProviderRegistry__factory.connect(c.ProviderRegistry!, provider);
    const minBond = await registry.minBond();
    await (await AITBCToken__factory.connect(c.AITBCToken, provider).approve(c.ProviderRegistry!, minBond)).wait();
    const secret = randomSecretKey();
    await (await registry.register(toHex(getPublicKey(secret)), [1], minBond)).wait();

    // Three real jobs for this provider, accepted and settled on-chain: only a settled receipt verifies.
    const escrow = IJobEscrow__factory.connect(c.JobEscrow!, provider);
    await (await AITBCToken__factory.connect(c.AITBCToken, client).approve(c.JobEscrow!, 1_000n * E18)).wait();
    const now = (await rpc.getBlock("latest"))!.timestamp;
    const jobIds: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      await (await escrow.connect(client).createJob(1, 10_000n, provider.address, now + 3_600, "0x")).wait();
      jobIds.push((await escrow.counters())[0]);
    }
    await (await escrow.acceptJobs(jobIds)).wait();
    const rate = (await escrow.job(jobIds[0])).rate;
    const sign = (jobId: bigint, unitsMilli: bigint, key: Uint8Array) =>
      signReceipt(
        buildReceipt({
          chainId: 31337,
          escrow: c.JobEscrow!,
          jobId,
          provider: provider.address,
          client: client.address,
          model: "llama3.2",
          unitsMilli,
          priceBase: (unitsMilli * rate) / 1000n,
          startedAt: now - 30,
          completedAt: now - 20,
          inputHash: keccak256(toUtf8Bytes(`prompt ${jobId}`)),
          resultHash: keccak256(toUtf8Bytes(`result ${jobId}`)),
        }),
        key,
      );
    const receipts: ReceiptDocument[] = jobIds.map((jobId, i) => sign(jobId, 2_500n + BigInt(i), secret));
    const tree = ReceiptMerkleTree.of(receipts.map(receiptLeafValue));
    const records = settlementOrder(receipts, (r) => receiptLeafValue(r)).map((r) => {
      const v = receiptLeafValue(r);
      return { jobId: v.jobId, unitsMilli: v.unitsMilli, receiptHash: v.receiptHash };
    });
    await (await escrow.settleBatch(encodeSettlementRecords(records))).wait();

    const bundle = (receipt: string) => `{"receipt":${receipt},"proof":${JSON.stringify(tree.getProof(1))},"root":"${tree.root}"}`;
    const genuine = serializeReceipt(receipts[1]);

    await page.goto(`${dashboard.url}#/verify`);
    await page.getByTestId("receipt-input").fill(bundle(genuine));
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("verdict"), /Receipt verified against the chain/);
    for (const check of ["document", "key", "signature", "anchor", "inclusion"]) {
      expect(await page.getByTestId(`check-${check}`).getAttribute("data-status"), check).to.equal("pass");
    }
    await shot("receipt-verified");

    // One changed field: still a well-formed receipt from a registered key, but neither signed nor anchored.
    const tampered = genuine.replace('"model":"llama3.2"', '"model":"codellama"');
    expect(tampered).to.not.equal(genuine);
    await page.getByTestId("receipt-input").fill(bundle(tampered));
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("verdict"), /NOT verified/);
    const status = async (check: string) => page.getByTestId(`check-${check}`).getAttribute("data-status");
    expect(await status("document")).to.equal("pass");
    expect(await status("key")).to.equal("pass");
    expect(await status("signature")).to.equal("fail");
    expect(await page.getByTestId("check-signature").textContent()).to.contain("ED25519_SIGNATURE_INVALID");
    expect(await status("anchor")).to.equal("pass");
    expect(await status("inclusion")).to.equal("fail");
    expect(await page.getByTestId("check-inclusion").textContent()).to.contain("MERKLE_PROOF_INVALID");
    await shot("receipt-tampered");

    // Signed by a key the provider never registered: the embedded key is not trusted.
    const impostor = serializeReceipt(signReceipt(receipts[1], randomSecretKey()));
    await page.getByTestId("receipt-input").fill(bundle(impostor));
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("check-key"), /KEY_NOT_TRUSTED/);
    expect(await status("key")).to.equal("fail");
    expect(await status("signature")).to.equal("skip");

    // A cheaper receipt for the same job, signed with the registered key and plain-anchored by the provider: the
    // signature holds, but a plain anchor settles nothing, and the dashboard says so.
    const cheap = sign(jobIds[1], 1_000n, secret);
    const cheapTree = ReceiptMerkleTree.of([receiptLeafValue(cheap)]);
    await (await escrow.anchorRoot(cheapTree.root, 1)).wait();
    await page.getByTestId("receipt-input").fill(`{"receipt":${serializeReceipt(cheap)},"proof":[],"root":"${cheapTree.root}"}`);
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("verdict"), /NOT verified/);
    expect(await status("signature")).to.equal("pass");
    expect(await status("anchor")).to.equal("fail");
    expect(await page.getByTestId("check-anchor").textContent()).to.contain("PLAIN_ANCHOR_ONLY");

    // The registered provider and its anchored batch show on the marketplace page.
    await page.goto(`${dashboard.url}#/market`);
    await waitForText(page.getByTestId("providers"), new RegExp(`${provider.address.slice(0, 6)}.*llama3\\.2`, "s"));
    await waitForText(page.getByTestId("escrow-totals"), /Batches anchored\s*1/);
  });

  it("verifies a receipt of the AITBC network itself (reference coordinator shape): signature and attestation, no settlement profile", async function () {
    const reference = JSON.parse(await readFile(path.join(REPO_ROOT, "test", "vectors", "reference.json"), "utf8")) as {
      keys: { miner: string; coordinator: string };
      valid: { name: string; document: string; receipt_hash: string }[];
    };
    const coordinator = reference.valid.find((v) => v.name === "coordinator receipt with attestation")!;
    const status = async (layer: string) => page.getByTestId(`layer-${layer}`).getAttribute("data-status");

    await page.goto(`${dashboard.url}#/verify`);
    await page.getByTestId("receipt-input").fill(coordinator.document);
    await page.getByTestId("signer-key").fill(reference.keys.miner);
    await page.getByTestId("attestation-key").fill(reference.keys.coordinator);
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("layers-verdict"), /AITBC signature valid \(no on-chain settlement checked\)/);
    expect(await status("signature")).to.equal("pass");
    expect(await page.getByTestId("layer-signature").textContent()).to.contain(coordinator.receipt_hash);
    expect(await status("settlement")).to.equal("skip");
    expect(await page.getByTestId("layer-settlement").textContent()).to.contain("not a settlement receipt");
    expect(await status("attestations")).to.equal("pass");
    expect(await status("onchain")).to.equal("skip");
    expect(await page.getByTestId("checks").count()).to.equal(0);
    await shot("reference-receipt-verified");

    // The same receipt with one nested metric changed: the signature fails, whatever key is entered.
    const tampered = coordinator.document.replace('"energy_kwh": 1.5e-07', '"energy_kwh": 1.6e-07');
    expect(tampered).to.not.equal(coordinator.document);
    await page.getByTestId("receipt-input").fill(tampered);
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("layers-verdict"), /NOT verified/);
    expect(await status("signature")).to.equal("fail");
    expect(await page.getByTestId("layer-signature").textContent()).to.contain("ED25519_SIGNATURE_INVALID");
    expect(await status("attestations")).to.equal("fail");

    // A JSON array of receipts: one result per receipt.
    const guide = reference.valid.find((v) => v.name === "payments guide example")!;
    await page.getByTestId("receipt-input").fill(`[${guide.document},${coordinator.document}]`);
    await page.getByTestId("attestation-key").fill("");
    await page.getByTestId("verify").click();
    await waitForText(page.getByTestId("result").nth(1).getByTestId("layers-verdict"), /AITBC signature valid/);
    expect(await page.getByTestId("result").count()).to.equal(2);
    expect(await page.getByTestId("result").nth(0).getByTestId("layer-signature").getAttribute("data-status")).to.equal("pass");
  });

  it("stays readable at phone width", async function () {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      await phone.goto(`${dashboard.url}#/proposals/1`);
      await waitForText(phone.getByTestId("state"), /^Executed$/);
      await phone.screenshot({ path: path.join(SHOTS, "phone-proposal.png"), fullPage: true });
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, "horizontal overflow in px").to.be.at.most(0);
    } finally {
      await phone.close();
    }
  });
});
