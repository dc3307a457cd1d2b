/**
 * The marketplace CLI end to end on a second chain client: Foundry's anvil mining a block every second (no
 * automining). Deploy, register a provider, refuse bad input without sending anything, submit a job with a permit,
 * let the real relayer process (embedded runtime) settle it, read the settlement and the refund back, withdraw it,
 * and change a rate through the DAO with the local-chain time travel of `dao:advance`.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { defaultKeyFile } from "../../lib/node/key-file.js";
import { startAnvil } from "../../tools/anvil.js";
import { freePort, parseJsonOutput, type HardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, errorCode, type Workspace } from "../fixtures/cli.js";
import { spawnRelayer, type RelayerProcess } from "../../tools/relayer-process.js";

const NET = ["--network", "localhost"];
const E18 = 10n ** 18n;

describe("e2e: marketplace tasks on anvil (1 s interval mining)", function () {
  this.timeout(240_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  let relayer: RelayerProcess | null = null;

  const cli = async (...args: string[]) => ws.run([...args, ...NET, "--json"]);
  const ok = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return parseJsonOutput<T>(result);
  };

  before(async function () {
    node = await startAnvil({ blockTime: 1 });
    ws = await createWorkspace("anvil-e2e", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async function () {
    await relayer?.stop();
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("deploys and registers a provider on a chain that mines on an interval", async function () {
    expect(errorCode(await cli("rates"))).to.equal("DEPLOYMENT_MISSING");
    await ok("deploy");
    const rates = await ok<{ models: { name: string; rate: string }[] }>("rates");
    expect(rates.models.map((m) => [m.name, m.rate])).to.deep.include(["llama3.2", (2n * E18).toString()]);
    const reg = await ok<{ actions: string[]; keyCreated: boolean }>("provider:register", "--models", "llama3.2", "--bond", "100", "--from", "1");
    expect(reg.actions).to.deep.equal(["register"]);
  });

  it("refuses bad input with a coded error and sends nothing (no account's nonce moves)", async function () {
    // Blocks keep coming on an interval chain, so "nothing sent" is judged by the senders' nonces, not the height.
    const accounts = (await rpc.send("eth_accounts", [])) as string[];
    const nonces = async () => Promise.all(accounts.slice(0, 4).map((a) => rpc.getTransactionCount(a, "pending")));
    const before = await nonces();
    expect(errorCode(await cli("job:submit", "--model", "llama3.3", "--prompt", "x", "--max-units", "1"))).to.equal("UNKNOWN_MODEL");
    expect(errorCode(await cli("job:submit", "--model", "llama3.2", "--prompt", "x", "--max-units", "1e3"))).to.equal("BAD_UNITS");
    expect(errorCode(await cli("provider:register", "--models", "llama3.2", "--bond", "-5", "--from", "3"))).to.equal("BAD_AMOUNT");
    expect(await nonces()).to.deep.equal(before);
  });

  it("a job submitted with the CLI is run and settled by the relayer process; the client's refund is withdrawn", async function () {
    const submitted = await ok<{ jobId: string; escrow: string; funding: string }>(
      // Public and forced: the relayer starts after the job exists, so no offer answers yet.
      "job:submit", "--model", "llama3.2", "--prompt", "Say hello", "--max-units", "2.5", "--deadline", "600", "--public", "--force", "--from", "2",
    );
    expect(submitted).to.deep.include({ jobId: "1", escrow: (5n * E18).toString(), funding: "permit" });

    const provider = ((await rpc.send("eth_accounts", [])) as string[])[1].toLowerCase();
    const port = await freePort();
    const configFile = path.join(ws.dir, "relayer.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        network: "localhost",
        rpcUrl: node.url,
        deploymentFile: path.join(ws.dir, "deployments", "localhost.json"),
        evm: { devAccountIndex: 1 },
        providerKeyFile: path.join(ws.dir, defaultKeyFile("localhost", provider)),
        journalPath: path.join(ws.dir, "journal.sqlite"),
        runtime: { kind: "embedded" },
        models: { "llama3.2": {} },
        run: { maxTokens: 4, timeoutMs: 30_000 },
        batching: { maxAgeSeconds: 1, deadlineMarginSeconds: 30 },
        chain: { confirmations: 1, pollIntervalMs: 200 },
        http: { port },
        logLevel: "warn",
      }),
    );
    relayer = spawnRelayer(configFile, ws.dir);

    const deadline = Date.now() + 90_000;
    let status: { status: string; unitsMilli: string; price: string; refund: string };
    for (;;) {
      status = await ok("job:status", "--id", "1");
      if (status.status === "Settled") break;
      if (Date.now() > deadline || relayer.child.exitCode !== null) throw new Error(`job not settled (${status.status}):\n${relayer.output().slice(-4_000)}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(BigInt(status.refund) + BigInt(status.price)).to.equal(5n * E18);
    expect(BigInt(status.unitsMilli)).to.be.greaterThan(0n);
    const withdrawn = await ok<{ amount: string }>("withdraw", "--from", "2");
    expect(withdrawn.amount).to.equal(status.refund);
    expect(errorCode(await cli("withdraw", "--from", "2"))).to.equal("NOTHING_TO_WITHDRAW");
  });

  it("changes a rate through the DAO with dao:advance's time travel", async function () {
    await ok("dao:delegate");
    const proposal = await ok<{ id: string }>(
      "dao:propose", "--kind", "set-rate", "--model", "llama3.2", "--rate", "2.5", "--description", "Reprice llama3.2 to 2.5 AITBC per GPU-second (anvil)",
    );
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:vote", "--id", proposal.id, "--support", "for");
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:queue", "--id", proposal.id);
    await ok("dao:advance", "--id", proposal.id);
    await ok("dao:execute", "--id", proposal.id);
    const rates = await ok<{ models: { name: string; rate: string }[] }>("rates");
    expect(rates.models.find((m) => m.name === "llama3.2")?.rate).to.equal(((5n * E18) / 2n).toString());
  });
});
