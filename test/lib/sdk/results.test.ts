import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toUtf8Bytes, ZeroAddress } from "ethers";

import { deploySystem } from "../../../lib/deploy/system.js";
import type { Deployment } from "../../../lib/deployments.js";
import { isAitbcError } from "../../../lib/errors.js";
import { priceFor } from "../../../lib/money/prices.js";
import { nodeBackend } from "../../../lib/node/ed25519-node.js";
import { revealEnvelope, sealEnvelope } from "../../../lib/privacy/envelope.js";
import { getPublicKey, randomSecretKey } from "../../../lib/receipts/ed25519.js";
import { toHex } from "../../../lib/receipts/encoding.js";
import { buildReceipt, computeReceiptId, serializeReceipt, signReceipt } from "../../../lib/receipts/receipt.js";
import { fetchResult, jobRelayerState, resultKeyFor } from "../../../lib/sdk/results.js";
import { AITBCToken__factory, JobEscrow__factory, ProviderRegistry__factory } from "../../../typechain-types/index.js";
import { startFixedServer, type FixedServer } from "../../fixtures/fixed-server.js";

const { ethers, networkHelpers } = await network.create();

async function refusal(promise: Promise<unknown>): Promise<{ code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isAitbcError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error("expected a refusal");
}

const PROMPT = "Say hello";
const RESULT = "Hello, world! — ünïcode";

interface Fixture {
  deployment: Deployment;
  escrow: string;
  provider: string;
  client: string;
  secretKey: Uint8Array;
  rate: bigint;
  /** Jobs 1 and 2 accepted by the provider; job 3 open. */
  inputHash: string;
}

describe("lib/sdk/results: a job's result, proven by its signed receipt before it is returned", function () {
  let f: Fixture;
  let server: FixedServer;

  beforeEach(async function () {
    server = await startFixedServer();
    f = await networkHelpers.loadFixture(async function acceptedJobs(): Promise<Fixture> {
      const [deployer, provider, client] = await ethers.getSigners();
      const deployment = await deploySystem(deployer, { network: "hardhat", devAccounts: [provider.address, client.address] });
      const c = deployment.contracts;
      const registry = ProviderRegistry__factory.connect(c.ProviderRegistry as string, provider);
      const escrow = JobEscrow__factory.connect(c.JobEscrow as string, client);
      const secretKey = randomSecretKey();
      const bond = await registry.minBond();
      await (await AITBCToken__factory.connect(c.AITBCToken, provider).approve(c.ProviderRegistry as string, bond)).wait();
      await (await registry.register(toHex(getPublicKey(secretKey)), [1], bond)).wait();
      await (await AITBCToken__factory.connect(c.AITBCToken, client).approve(c.JobEscrow as string, 2n ** 255n)).wait();
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      for (let i = 0; i < 3; i++) await (await escrow.createJob(1, 10_000n, ZeroAddress, now + 3_600, toUtf8Bytes(PROMPT))).wait();
      await (await escrow.connect(provider).acceptJobs([1n, 2n])).wait();
      const rate = (await escrow.job(1n)).rate;
      return { deployment, escrow: c.JobEscrow as string, provider: provider.address, client: client.address, secretKey, rate, inputHash: keccak256(toUtf8Bytes(PROMPT)) };
    });
  });
  afterEach(async function () {
    await server.close();
  });

  /** Serves `served` as job `jobId`'s result and a receipt signed over `signedBytes` (default: the same bytes). */
  function serve(jobId: bigint, served: Uint8Array, options: { signedBytes?: Uint8Array; secretKey?: Uint8Array; receiptJobId?: bigint } = {}) {
    const signedFor = options.receiptJobId ?? jobId;
    const completedAt = Math.floor(Date.now() / 1000);
    const receipt = signReceipt(
      buildReceipt({
        chainId: 31337n, escrow: f.escrow, jobId: signedFor, provider: f.provider, client: f.client, model: "llama3.2",
        unitsMilli: 1_000n, priceBase: priceFor(1_000n, f.rate), startedAt: completedAt - 1, completedAt,
        inputHash: f.inputHash, resultHash: keccak256(options.signedBytes ?? served),
      }),
      options.secretKey ?? f.secretKey,
    );
    server.routes.set(`/api/v1/jobs/${jobId}/result`, { body: served, headers: { "x-result-hash": keccak256(served) } });
    const id = computeReceiptId(31337n, f.escrow, jobId);
    server.json(`/api/v1/receipts/${id}`, `{"receipt_id":"${id}","receipt":${serializeReceipt(receipt)},"batch":null,"proof":null}`);
    server.json(`/api/v1/jobs/${jobId}`, { job_id: jobId.toString(), state: "done", receipt_id: id, refusal: null, failure: null, private: false });
  }

  const fetchIt = (jobId: bigint, extra: Partial<Parameters<typeof fetchResult>[0]> = {}) =>
    fetchResult({ provider: ethers.provider, deployment: f.deployment, jobId, relayerUrl: server.url, ed25519: nodeBackend, ...extra });

  it("returns a public result once the receipt verifies and the bytes hash to its result_hash", async function () {
    const bytes = toUtf8Bytes(RESULT);
    serve(1n, bytes);
    const got = await fetchIt(1n);
    expect(got).to.deep.include({ jobId: 1n, text: RESULT, private: false, resultHash: keccak256(bytes), contentKey: null });
    expect(got.receipt.fields.resultHash).to.equal(keccak256(bytes));
    expect(got.receipt.id).to.equal(computeReceiptId(31337n, f.escrow, 1n));
  });

  it("opens a private result with the client's signer-derived key and gives the content key that proves it", async function () {
    const [, , client, stranger] = await ethers.getSigners();
    const keyPair = await resultKeyFor(client, 31337n);
    const again = await resultKeyFor(client, 31337n);
    expect(toHex(again.publicKey), "the same signer always derives the same key").to.equal(toHex(keyPair.publicKey));
    const envelope = await sealEnvelope("result", toUtf8Bytes(RESULT), [keyPair.publicKey], { chainId: 31337n, market: f.escrow, client: f.client, jobId: 2n });
    serve(2n, envelope);
    const got = await fetchIt(2n, { keyPair });
    expect(got).to.deep.include({ text: RESULT, private: true, resultHash: keccak256(envelope) });
    expect(new TextDecoder().decode(await revealEnvelope("result", envelope, got.contentKey as Uint8Array))).to.equal(RESULT);

    expect((await refusal(fetchIt(2n))).code, "no key").to.equal("RESULT_KEY_REQUIRED");
    expect((await refusal(fetchIt(2n, { keyPair: await resultKeyFor(stranger, 31337n) }))).code, "someone else's key").to.equal("RESULT_NOT_FOR_YOU");
  });

  it("refuses bytes that are not what the receipt signed (RESULT_HASH_MISMATCH), before returning any of them", async function () {
    serve(1n, toUtf8Bytes("Hello, w0rld!"), { signedBytes: toUtf8Bytes(RESULT) });
    const r = await refusal(fetchIt(1n));
    expect(r.code).to.equal("RESULT_HASH_MISMATCH");
    expect(r.details?.signed).to.equal(keccak256(toUtf8Bytes(RESULT)));
  });

  it("refuses a receipt signed by another key, and a receipt of another job", async function () {
    serve(1n, toUtf8Bytes(RESULT), { secretKey: randomSecretKey() });
    expect((await refusal(fetchIt(1n))).code).to.equal("RECEIPT_INVALID");
    serve(1n, toUtf8Bytes(RESULT), { receiptJobId: 2n });
    expect((await refusal(fetchIt(1n))).code).to.equal("RECEIPT_MISMATCH");
  });

  it("says RESULT_NOT_READY with the relayer's state, RESULT_NOT_READY for an open job, RESULT_NOT_FOUND for a job the relayer does not hold", async function () {
    server.json("/api/v1/jobs/1/result", { error: { code: "HTTP_RESULT_NOT_READY", message: "no result (state running)", hint: null } }, 409);
    server.json("/api/v1/jobs/1", { job_id: "1", state: "running", receipt_id: null, refusal: null, failure: null, private: true });
    const notReady = await refusal(fetchIt(1n));
    expect(notReady.code).to.equal("RESULT_NOT_READY");
    expect(notReady.details?.state).to.equal("running");
    expect((await refusal(fetchIt(3n))).code, "open job").to.equal("RESULT_NOT_READY");
    server.json("/api/v1/jobs/2/result", { error: { code: "HTTP_JOB_NOT_FOUND", message: "unknown", hint: null } }, 404);
    expect((await refusal(fetchIt(2n))).code).to.equal("RESULT_NOT_FOUND");
    expect((await refusal(fetchIt(9n))).code).to.equal("UNKNOWN_JOB");
    expect((await refusal(fetchIt(1n, { relayerUrl: undefined }))).code, "no registered endpoint").to.equal("NO_ENDPOINT");
  });

  it("reports the relayer's view of a job: state, refusal with its detail, or why it could not be asked", async function () {
    server.json("/api/v1/jobs/1", { job_id: "1", state: "refused", receipt_id: null, refusal: "UNITS_TOO_LARGE", refusal_detail: "maxUnitsMilli 10000 exceeds 5000", failure: null, private: true });
    const [view] = await jobRelayerState({ provider: ethers.provider, deployment: f.deployment, jobId: 1n, relayerUrl: server.url });
    expect(view).to.deep.include({ known: true, state: "refused", refusal: "UNITS_TOO_LARGE", refusalDetail: "maxUnitsMilli 10000 exceeds 5000", private: true, error: null });
    const [unregistered] = await jobRelayerState({ provider: ethers.provider, deployment: f.deployment, jobId: 1n });
    expect(unregistered.error?.code).to.equal("NO_ENDPOINT");
    // An open job: the providers serving the model are asked; none has an endpoint, so each says why.
    const open = await jobRelayerState({ provider: ethers.provider, deployment: f.deployment, jobId: 3n });
    expect(open.map((v) => v.error?.code)).to.deep.equal(["NO_ENDPOINT"]);
  });
});
