/**
 * The dashboard's "My jobs" page in a real Chromium, with an injected EIP-1193 wallet (a test wallet holding the
 * client's key: it answers accounts and chain id itself, signs `personal_sign` with the key and forwards everything
 * else to the node).
 *
 * A real `hardhat node`, the real CLI in a workspace (deploy, provider:register, provider:endpoint, job:submit,
 * job:result), the real relayer process (embedded llama.cpp runtime) and the real `hardhat dashboard`. The client
 * submits a private job from the CLI; the page lists it, and "Show result" derives the result key from one wallet
 * signature, checks the served result against the signed receipt and opens it: the text equals what `job:result`
 * printed. "Show my prompt" opens the prompt envelope (the client is one of its recipients). Then the provider's
 * published URL is pointed at a proxy in front of the relayer that changes one byte of every result: the page refuses
 * with RESULT_HASH_MISMATCH and shows no text.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { expect } from "chai";
import { getBytes, JsonRpcProvider } from "ethers";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

import { devAccount } from "../../relayer/app/keys.js";
import { REPO_ROOT, startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import type { RelayerProcess } from "../../tools/relayer-process.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";
import { cliJson, startProviderRelayer } from "../fixtures/provider-relayer.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const HARDHAT = path.join(REPO_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
const SHOTS = path.join(REPO_ROOT, "test-artifacts", "dashboard");
const NET = ["--network", "localhost"];
const SECRET = "Private: compare the two supplier bids (A: 41,200 EUR, B: 39,900 EUR) and recommend one.";
const CLIENT_INDEX = 3;

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function waitForText(locator: Locator, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = ((await locator.count()) > 0 ? await locator.first().textContent() : null) ?? "";
    if (pattern.test(last)) return last;
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${pattern} (last text: ${JSON.stringify(last)})`);
}

/** `hardhat dashboard --port 0` in the workspace; resolves with its URL. */
function startDashboard(ws: Workspace, rpcUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [HARDHAT, "--config", "hardhat.config.ts", "dashboard", ...NET, "--port", "0"], {
    cwd: ws.dir,
    env: { ...process.env, AITBC_RPC_URL: rpcUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the dashboard did not start within 120 s:\n${output}`));
    }, 120_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const match = /Dashboard listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: match[1], child });
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

/** An HTTP proxy in front of the relayer that flips one byte of every job result it passes on. */
async function startTamperingProxy(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url ?? "/"}`);
      const body = new Uint8Array(await upstream.arrayBuffer());
      if (/\/api\/v1\/jobs\/\d+\/result$/.test(req.url ?? "") && upstream.ok && body.length > 0) body[body.length - 1] ^= 0x01;
      const headers: Record<string, string> = { "access-control-allow-origin": "*" };
      for (const name of ["content-type", "x-result-hash"]) {
        const value = upstream.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      res.writeHead(upstream.status, headers);
      res.end(body);
    })().catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("dashboard: My jobs decrypts a private result with a browser wallet (e2e, Chromium)", function () {
  this.timeout(300_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let relayer: RelayerProcess | undefined;
  let dashboard: { url: string; child: ChildProcess } | undefined;
  let proxy: { url: string; server: Server } | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  const ok = <T = Record<string, unknown>>(...args: string[]): Promise<T> => cliJson<T>(ws, ...args);

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required and was not found at ${CHROMIUM}. Install it with \`apt-get install -y chromium\`.`);
    mkdirSync(SHOTS, { recursive: true });
    node = await startHardhatNode();
    ws = await createWorkspace("dashboard-jobs", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async function () {
    await browser?.close();
    if (dashboard !== undefined && dashboard.child.exitCode === null) {
      const exited = new Promise<void>((resolve) => dashboard!.child.once("exit", () => resolve()));
      dashboard.child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
      dashboard.child.kill("SIGKILL");
    }
    proxy?.server.closeAllConnections();
    await new Promise<void>((resolve) => (proxy === undefined ? resolve() : proxy.server.close(() => resolve())));
    await relayer?.stop();
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("lists the wallet's private job, shows its prompt and its result after one signature, and refuses a tampered result", async function () {
    await ok("deploy");
    const started = await startProviderRelayer(ws, node, 1);
    relayer = started.relayer;
    const relayerUrl = started.api;

    // The client submits a private job from the CLI and fetches its result there, for comparison.
    const submitted = await ok<{ jobId: string; private: boolean }>("job:submit", "--model", "llama3.2", "--prompt", SECRET, "--max-units", "20", "--from", String(CLIENT_INDEX));
    expect(submitted.private).to.equal(true);
    for (const until = Date.now() + 120_000; ; ) {
      const status = await ok<{ status: string }>("job:status", "--id", submitted.jobId);
      if (status.status === "Settled") break;
      if (Date.now() > until) throw new Error(`job ${submitted.jobId} not settled (${status.status}):\n${relayer.output().slice(-4_000)}`);
      await sleep(500);
    }
    const fromCli = await ok<{ text: string }>("job:result", "--id", submitted.jobId, "--from", String(CLIENT_INDEX));
    expect(fromCli.text.length).to.be.greaterThan(0);

    // The browser wallet: the client's key, as a wallet extension would hold it.
    const wallet = devAccount(CLIENT_INDEX);
    const signed: string[] = [];
    dashboard = await startDashboard(ws, node.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    await page.exposeFunction("__testWallet", async (method: string, paramsJson: string): Promise<string> => {
      const params = JSON.parse(paramsJson) as unknown[];
      if (method === "eth_requestAccounts" || method === "eth_accounts") return JSON.stringify({ result: [wallet.address] });
      if (method === "eth_chainId") return JSON.stringify({ result: "0x7a69" });
      if (method === "personal_sign") {
        signed.push(String(params[0]));
        return JSON.stringify({ result: await wallet.signMessage(getBytes(String(params[0]))) });
      }
      try {
        return JSON.stringify({ result: await rpc.send(method, params) });
      } catch (error) {
        return JSON.stringify({ error: { code: -32603, message: (error as Error).message } });
      }
    });
    await page.addInitScript(() => {
      const call = (window as unknown as { __testWallet: (m: string, p: string) => Promise<string> }).__testWallet;
      (window as unknown as { ethereum: unknown }).ethereum = {
        async request(args: { method: string; params?: unknown[] }) {
          const answer = JSON.parse(await call(args.method, JSON.stringify(args.params ?? []))) as { result?: unknown; error?: { code: number; message: string } };
          if (answer.error !== undefined) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
          return answer.result;
        },
        on() {},
        removeListener() {},
      };
    });

    await page.goto(`${dashboard.url}#/jobs`);
    await waitForText(page.getByTestId("no-account"), /Pick an account/);
    await page.getByTestId("account-select").selectOption("injected");
    const row = page.getByTestId(`job-${submitted.jobId}`);
    await waitForText(row.getByTestId("job-status"), /Settled/);
    await waitForText(row.getByTestId("relayer-word"), /settled|finalized/).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}; the row says: ${await row.textContent()}`);
    });
    expect(await row.textContent()).to.include("private");

    await row.getByTestId("show-result").click();
    const text = await waitForText(page.getByTestId("result-text"), /\S/);
    expect(text).to.equal(fromCli.text);
    await waitForText(page.getByTestId("result-checks"), /registered key.*result_hash.*opened with your key/);
    await row.getByTestId("show-prompt").click();
    expect(await waitForText(page.getByTestId("prompt-text"), /\S/)).to.equal(SECRET);
    // One signature for both: the key stays in the page's memory.
    expect(signed.length).to.equal(1);
    expect(Buffer.from(getBytes(signed[0])).toString("utf8")).to.match(/derive my result decryption key/);
    await page.screenshot({ path: path.join(SHOTS, "my-jobs.png"), fullPage: true });

    // A relayer (or anything on the way) that changes the result: the page refuses it and shows nothing of it.
    proxy = await startTamperingProxy(relayerUrl);
    await ok("provider:endpoint", "--url", proxy.url, "--from", "1");
    await page.reload();
    await page.getByTestId("account-select").selectOption("injected");
    const again = page.getByTestId(`job-${submitted.jobId}`);
    await waitForText(again.getByTestId("job-status"), /Settled/);
    await again.getByTestId("show-result").click();
    await waitForText(page.getByTestId("job-error"), /RESULT_HASH_MISMATCH/);
    expect(await page.getByTestId("result-text").count()).to.equal(0);
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });
});
