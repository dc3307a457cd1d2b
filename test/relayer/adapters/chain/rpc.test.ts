import { expect } from "chai";
import { Interface, Wallet } from "ethers";
import { network } from "hardhat";

import { ChainError, isChainError } from "../../../../relayer/adapters/chain/errors.js";
import { Eip1193Transport, HttpTransport, parseRetryAfter, type RetryEvent, RpcClient, RpcHealth } from "../../../../relayer/adapters/chain/rpc.js";
import { DEV_KEYS, deployToken, type FaultProxy, type HardhatNode, rawRpc, startFaultProxy, startHardhatNode } from "../../../fixtures/relayer/chain-node.js";

async function expectChainError(promise: Promise<unknown>, code: ChainError["code"]): Promise<ChainError> {
  try {
    await promise;
  } catch (error) {
    expect(isChainError(error), String(error)).to.equal(true);
    expect((error as ChainError).code).to.equal(code);
    return error as ChainError;
  }
  expect.fail(`expected ChainError ${code}`);
}

describe("relayer/adapters/chain/rpc", function () {
  let node: HardhatNode;
  let proxy: FaultProxy;

  before(async function () {
    node = await startHardhatNode();
    proxy = await startFaultProxy(node.url);
  });

  after(async function () {
    await proxy?.stop();
    await node?.stop();
  });

  beforeEach(function () {
    proxy.plan = () => "forward";
    proxy.calls.length = 0;
  });

  function client(options: { health?: RpcHealth; retries?: RetryEvent[]; random?: () => number; retry?: Partial<ConstructorParameters<typeof RpcClient>[0]["retry"]> } = {}) {
    return new RpcClient({
      transport: new HttpTransport({ url: proxy.url }),
      retry: { maxAttempts: 6, baseDelayMs: 20, maxDelayMs: 100, totalTimeoutMs: 10_000, perCallTimeoutMs: 2_000, ...options.retry },
      health: options.health,
      random: options.random,
      onRetry: (e) => options.retries?.push(e),
    });
  }

  it("retries 503, 429 and connection resets with exponentially growing, capped full-jitter delays", async function () {
    const faults = [{ status: 503 }, { status: 429 }, "reset", { status: 503 }, { status: 502 }] as const;
    proxy.plan = (call) => faults[call.seq - 1] ?? "forward";
    const retries: RetryEvent[] = [];
    // Pin the jitter at the top of its window so the growth of the window itself is visible.
    const head = await client({ retries, random: () => 0.999 }).call<string>("eth_blockNumber");

    expect(BigInt(head)).to.equal(BigInt(await node.rpc<string>("eth_blockNumber")));
    expect(proxy.calls).to.have.length(6);
    expect(retries.map((r) => r.code)).to.deep.equal(["RPC_SERVER_ERROR", "RPC_RATE_LIMITED", "RPC_NETWORK", "RPC_SERVER_ERROR", "RPC_SERVER_ERROR"]);
    expect(retries.map((r) => r.attempt)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(retries.map((r) => r.capMs)).to.deep.equal([20, 40, 80, 100, 100]);
    for (const r of retries) expect(r.delayMs).to.be.within(Math.floor(r.capMs * 0.99) - 1, r.capMs);
    for (let i = 1; i < retries.length; i++) expect(retries[i].delayMs).to.be.at.least(retries[i - 1].delayMs);
  });

  it("keeps every random delay inside its jitter window", async function () {
    proxy.plan = (call) => (call.seq <= 4 ? { status: 503 } : "forward");
    const retries: RetryEvent[] = [];
    await client({ retries }).call("eth_chainId");
    expect(retries).to.have.length(4);
    for (const r of retries) {
      expect(r.capMs).to.equal(Math.min(100, 20 * 2 ** (r.attempt - 1)));
      expect(r.delayMs).to.be.within(0, r.capMs);
    }
  });

  it("gives up after maxAttempts with RPC_GAVE_UP carrying the last error", async function () {
    proxy.plan = () => ({ status: 503 });
    const error = await expectChainError(client({ retry: { maxAttempts: 3 } }).call("eth_blockNumber"), "RPC_GAVE_UP");
    expect(proxy.calls).to.have.length(3);
    expect(error.details?.attempts).to.equal(3);
    expect((error.cause as ChainError).code).to.equal("RPC_SERVER_ERROR");
  });

  it("aborts hanging requests per attempt and stops at the total time budget", async function () {
    proxy.plan = () => "hang";
    const error = await expectChainError(
      client({ retry: { maxAttempts: 1000, perCallTimeoutMs: 100, totalTimeoutMs: 600, baseDelayMs: 10, maxDelayMs: 20 } }).call("eth_blockNumber"),
      "RPC_GAVE_UP",
    );
    expect((error.cause as ChainError).code).to.equal("RPC_TIMEOUT");
    // The time budget, not the attempt bound, ended the call.
    expect(error.details?.attempts as number).to.be.within(2, 10);
  });

  it("waits at least Retry-After before retrying a 429", async function () {
    proxy.plan = (call) => (call.seq === 1 ? { status: 429, retryAfter: "1" } : "forward");
    const retries: RetryEvent[] = [];
    await client({ retries }).call("eth_chainId");
    expect(retries).to.have.length(1);
    expect(retries[0].retryAfterMs).to.equal(1000);
    expect(retries[0].delayMs).to.be.at.least(1000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT"))).to.equal(2000);
    expect(parseRetryAfter("soon")).to.equal(undefined);
  });

  it("gives up at once when Retry-After exceeds the remaining budget", async function () {
    proxy.plan = () => ({ status: 429, retryAfter: "120" });
    await expectChainError(client().call("eth_chainId"), "RPC_GAVE_UP");
    expect(proxy.calls).to.have.length(1);
  });

  it("surfaces reverts, invalid params and nonce errors at once with their own codes", async function () {
    const { address, owner } = await deployToken(node.url);
    proxy.calls.length = 0;
    const rpc = client();
    const stranger = new Wallet(DEV_KEYS[5]);
    const transfer = new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [owner.address, 1n]);
    await expectChainError(rpc.call("eth_estimateGas", [{ from: stranger.address, to: address, data: transfer }]), "RPC_EXECUTION_REVERTED");
    await expectChainError(rpc.call("eth_getBalance", ["0x1234", "latest"]), "RPC_INVALID_PARAMS");
    const raw = await owner.signTransaction({ type: 2, chainId: 31337n, nonce: 0, to: owner.address, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
    await expectChainError(rpc.call("eth_sendRawTransaction", [raw]), "RPC_NONCE_TOO_LOW");
    expect(proxy.calls).to.have.length(3);
  });

  it("reports degraded to the health sink during a burst of errors and recovers after successes", async function () {
    const health = new RpcHealth({ windowSize: 10, minSamples: 4, degradedErrorRate: 0.5, recoverAfterSuccesses: 3 });
    proxy.plan = (call) => (call.seq <= 6 ? { status: 503 } : "forward");
    const rpc = client({ health, retry: { maxAttempts: 3 } });
    await expectChainError(rpc.call("eth_blockNumber"), "RPC_GAVE_UP");
    await expectChainError(rpc.call("eth_blockNumber"), "RPC_GAVE_UP");
    let snap = health.snapshot();
    expect(snap.degraded).to.equal(true);
    expect(snap.errorsByCode.RPC_SERVER_ERROR).to.equal(6);
    expect(snap.giveUps).to.equal(2);
    expect(snap.retries).to.equal(4);
    expect(snap.recentErrors).to.equal(6);

    await rpc.call("eth_blockNumber");
    await rpc.call("eth_blockNumber");
    expect(health.degraded).to.equal(true);
    await rpc.call("eth_blockNumber");
    snap = health.snapshot();
    expect(snap.degraded).to.equal(false);
    expect(snap.calls).to.equal(9);
  });

  it("rejects a bad configuration with CHAIN_INVALID_CONFIG", function () {
    expect(() => new HttpTransport({ url: "ws://127.0.0.1:1" })).to.throw(ChainError).with.property("code", "CHAIN_INVALID_CONFIG");
    expect(() => new RpcClient({ transport: new HttpTransport({ url: proxy.url }), retry: { maxAttempts: 0 } }))
      .to.throw(ChainError)
      .with.property("code", "CHAIN_INVALID_CONFIG");
    expect(() => new RpcHealth({ degradedErrorRate: 2 })).to.throw(ChainError).with.property("code", "CHAIN_INVALID_CONFIG");
  });

  it("wraps the in-process EIP-1193 provider with the same classification", async function () {
    const { provider } = await network.create();
    const rpc = new RpcClient({ transport: new Eip1193Transport(provider, "in-process") });
    expect(BigInt(await rpc.call<string>("eth_chainId"))).to.equal(31337n);
    const wallet = new Wallet(DEV_KEYS[0]);
    const raw = await wallet.signTransaction({ type: 2, chainId: 31337n, nonce: 5, to: wallet.address, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
    // Nonce 5 on a fresh automining chain: "nonce too high" is refused as an ordinary JSON-RPC error.
    const error = await expectChainError(rpc.call("eth_sendRawTransaction", [raw]), "RPC_ERROR");
    expect(error.details?.rpcCode).to.be.a("number");
    const low = await wallet.signTransaction({ type: 2, chainId: 31337n, nonce: 0, to: wallet.address, gasLimit: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    await expectChainError(rpc.call("eth_sendRawTransaction", [low]), "RPC_UNDERPRICED");
    expect(await rawRpc(node.url, "eth_chainId")).to.equal("0x7a69");
  });
});
