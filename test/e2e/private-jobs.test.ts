/**
 * Private jobs end to end, as users run them: a real `hardhat node`, the real CLI (`deploy`, `provider:register`,
 * `provider:endpoint`, `providers`, `job:submit`, `job:status`, `job:result`) in a workspace, and two providers each
 * running the real relayer as its own process (embedded llama.cpp runtime, tiny model).
 *
 * A client submits a private open job (sealed to both providers and itself) and a private directed job (sealed to the
 * second provider and itself). Both run and settle; `job:result` returns each output after checking it against the
 * signed receipt. Then the test looks everywhere a stranger could: the creating transactions' calldata, every event
 * the escrow emitted, both relayers' logs, their journals on disk and every answer of their API to an unauthenticated
 * reader. Neither prompt nor either result appears in any of them, as text or as hex.
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import { hexlify, JsonRpcProvider, keccak256, toUtf8Bytes } from "ethers";

import { JobEscrow__factory } from "../../typechain-types/index.js";
import { startHardhatNode, type HardhatNode } from "../../tools/hardhat-node.js";
import { createWorkspace, type Workspace } from "../fixtures/cli.js";
import { cliJson, startProviderRelayer, type ProviderRelayer } from "../fixtures/provider-relayer.js";

const SETTLED = 3n;
const SECRET_OPEN = "Confidential: the merger with Northwind closes on 14 March at 1.2 bn. Summarise the risks.";
const SECRET_DIRECTED = "Patient 4471, 63 years, HbA1c 9.1 %: draft a letter proposing a change of treatment.";
const CONTROL_PUBLIC = "A public question anyone may read: what is the boiling point of water at sea level?";

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

interface Provider extends ProviderRelayer {
  address: string;
}

describe("e2e: private jobs, two providers with their relayers, on hardhat node", function () {
  this.timeout(360_000);
  let node: HardhatNode;
  let ws: Workspace;
  let rpc: JsonRpcProvider;
  const providers: Provider[] = [];

  const ok = <T = Record<string, unknown>>(...args: string[]): Promise<T> => cliJson<T>(ws, ...args);

  before(async function () {
    node = await startHardhatNode();
    ws = await createWorkspace("private-jobs", node.url);
    rpc = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async function () {
    for (const p of providers) await p.relayer.stop();
    rpc?.destroy();
    await node?.stop();
    await ws?.remove();
  });

  it("runs a private open job and a private directed job; nobody but the client and the provider reads them", async function () {
    const deployed = await ok<{ deployment: { contracts: Record<string, string> } }>("deploy");
    const escrowAddress = deployed.deployment.contracts.JobEscrow;

    // Two providers: register, publish an endpoint (which creates the X25519 key file), start the relayer; both
    // answer with an offer that takes private jobs.
    for (const index of [1, 2]) {
      const started = await startProviderRelayer(ws, node, index, { logLevel: "debug" });
      providers.push({ ...started, address: (await rpc.getSigner(index)).address.toLowerCase() });
    }
    const listed = await ok<{ providers: { address: string; offer: unknown }[] }>("providers", "--model", "llama3.2");
    for (const p of providers) {
      const row = listed.providers.find((x) => x.address.toLowerCase() === p.address);
      expect(row?.offer, `providers lists ${p.address} with its offer`).to.not.equal(null);
    }

    // The client (account 3): one open job, one directed to the second provider. Private is the default.
    const open = await ok<{ jobId: string; private: boolean; recipients: string[] }>("job:submit", "--model", "llama3.2", "--prompt", SECRET_OPEN, "--max-units", "20", "--from", "3");
    const directed = await ok<{ jobId: string; private: boolean; recipients: string[] }>(
      "job:submit", "--model", "llama3.2", "--prompt", SECRET_DIRECTED, "--max-units", "20", "--provider", providers[1].address, "--from", "3",
    );
    expect(open.private).to.equal(true);
    expect(directed.private).to.equal(true);
    expect(open.recipients.map((r) => r.toLowerCase()).sort()).to.deep.equal(providers.map((p) => p.address).sort());
    expect(directed.recipients.map((r) => r.toLowerCase())).to.deep.equal([providers[1].address]);

    const escrow = JobEscrow__factory.connect(escrowAddress, rpc);
    const ids = [BigInt(open.jobId), BigInt(directed.jobId)];
    const until = Date.now() + 180_000;
    for (;;) {
      const statuses = await Promise.all(ids.map((id) => escrow.job(id).then((v) => v.status)));
      if (statuses.every((s) => s === SETTLED)) break;
      for (const p of providers) if (p.relayer.child.exitCode !== null) throw new Error(`relayer ${p.index} exited:\n${p.relayer.output().slice(-4_000)}`);
      if (Date.now() > until) throw new Error(`jobs not settled (${statuses.join(", ")}):\n${providers.map((p) => p.relayer.output().slice(-3_000)).join("\n---\n")}`);
      await sleep(500);
    }
    const directedJob = await escrow.job(ids[1]);
    expect(directedJob.provider.toLowerCase()).to.equal(providers[1].address);

    // The client gets each output, checked against the signed receipt, and its status says who ran it.
    const results: string[] = [];
    for (const id of ids) {
      const status = await ok<{ status: string }>("job:status", "--id", id.toString());
      expect(status.status).to.equal("Settled");
      const result = await ok<{ text: string; private: boolean; resultHash: string; receipt: { result_hash: string } }>("job:result", "--id", id.toString(), "--from", "3");
      expect(result.private).to.equal(true);
      expect(result.text.length).to.be.greaterThan(0);
      expect(result.resultHash).to.equal(result.receipt.result_hash);
      results.push(result.text);
    }
    for (const id of ids) {
      const job = await escrow.job(id);
      const p = providers.find((x) => x.address === job.provider.toLowerCase());
      expect(p, `job ${id} ran on one of the two providers`).to.not.equal(undefined);
      const served = await fetch(`${p!.api}/api/v1/jobs/${id}/result`);
      expect(served.headers.get("content-type")).to.equal("application/vnd.aitbc.envelope");
      const envelope = new Uint8Array(await served.arrayBuffer());
      expect(keccak256(envelope)).to.equal(served.headers.get("x-result-hash"));
    }

    // Everything a stranger can read: calldata, events, logs, journals, the API.
    const secrets = [SECRET_OPEN, SECRET_DIRECTED, ...results.filter((r) => r.trim().length >= 8)];
    const needles = secrets.flatMap((s) => [s, s.slice(0, 24), hexlify(toUtf8Bytes(s)).slice(2, 50)]);
    const haystacks: [string, string][] = [];
    const logs = await rpc.getLogs({ address: escrowAddress, fromBlock: 0, toBlock: "latest" });
    for (const log of logs) {
      haystacks.push([`event ${log.topics[0]} in tx ${log.transactionHash}`, log.data]);
      const tx = await rpc.getTransaction(log.transactionHash);
      if (tx !== null) haystacks.push([`calldata of ${tx.hash}`, tx.data]);
    }
    for (const p of providers) {
      haystacks.push([`relayer ${p.index} log`, p.relayer.output()]);
      for (const file of [p.journal, `${p.journal}-wal`]) {
        try {
          const bytes = readFileSync(file);
          haystacks.push([`${file}`, bytes.toString("latin1")], [`${file} (hex)`, bytes.toString("hex")]);
        } catch {
          // The WAL file exists only between checkpoints.
        }
      }
      const paths = ["/api/v1/offer", "/health", "/metrics", "/api/v1/receipts?limit=500", ...ids.flatMap((id) => [`/api/v1/jobs/${id}`, `/api/v1/jobs/${id}/result`])];
      for (const route of paths) {
        const res = await fetch(`${p.api}${route}`);
        const body = Buffer.from(await res.arrayBuffer());
        haystacks.push([`relayer ${p.index} GET ${route}`, body.toString("latin1")], [`relayer ${p.index} GET ${route} (hex)`, body.toString("hex")]);
      }
    }
    expect(haystacks.length).to.be.greaterThan(20);
    for (const [where, text] of haystacks) {
      const lower = text.toLowerCase();
      for (const needle of needles) expect(lower.includes(needle.toLowerCase()), `${where} contains ${JSON.stringify(needle)}`).to.equal(false);
    }
    // The search finds what is there: a public control job's prompt shows up in its calldata and its event.
    const control = await ok<{ jobId: string; private: boolean; txHash: string }>(
      "job:submit", "--model", "llama3.2", "--prompt", CONTROL_PUBLIC, "--max-units", "20", "--public", "--force", "--from", "3",
    );
    expect(control.private).to.equal(false);
    const controlCreated = await rpc.getTransactionReceipt(control.txHash);
    const controlTx = await rpc.getTransaction(control.txHash);
    const controlHex = hexlify(toUtf8Bytes(CONTROL_PUBLIC)).slice(2, 50);
    expect(controlTx?.data.toLowerCase().includes(controlHex)).to.equal(true);
    expect(controlCreated?.logs.some((l) => l.data.toLowerCase().includes(controlHex))).to.equal(true);
  });
});
