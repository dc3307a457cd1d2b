import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

import { JsonRpcProvider, Wallet } from "ethers";

import { type AITBCToken, AITBCToken__factory } from "../../../typechain-types/index.js";

/** Private keys of the standard Hardhat development mnemonic ("test test … junk"), accounts #0…#7. */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const;

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let rpcId = 0;

/** A plain JSON-RPC call for test set-up (mining, snapshots); the code under test uses its own client. */
export async function rawRpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export interface HardhatNode {
  url: string;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  mine(blocks?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `hardhat node` on a free loopback port and resolves once it answers. */
export async function startHardhatNode(): Promise<HardhatNode> {
  const port = await freePort();
  const child: ChildProcess = spawn(`${ROOT}node_modules/.bin/hardhat`, ["node", "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: process.env,
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}: ${output}`);
    try {
      await rawRpc(url, "eth_chainId");
      break;
    } catch {
      if (Date.now() - started > 60_000) {
        child.kill("SIGKILL");
        throw new Error(`hardhat node did not start within 60 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    rpc: (method, params = []) => rawRpc(url, method, params),
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await rawRpc(url, "evm_mine");
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export interface ProxiedCall {
  method: string;
  params: unknown[];
  /** 1-based count of requests the proxy has seen. */
  seq: number;
}

/** What the proxy does with one request: pass it on, answer an HTTP error, never answer, or cut the connection. */
export type FaultAction = "forward" | "hang" | "reset" | { status: number; retryAfter?: string } | { rpcError: { code: number; message: string } };

export type FaultPlan = (call: ProxiedCall) => FaultAction | Promise<FaultAction>;

export interface FaultProxy {
  url: string;
  /** Replace to change behaviour; the default forwards everything. */
  plan: FaultPlan;
  readonly calls: ProxiedCall[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of the real node that can inject faults for chosen requests and forwards everything else
 * unchanged. It is the only stand-in the chain tests use; every answer that is not a fault comes from the node.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const calls: ProxiedCall[] = [];
  const proxy: FaultProxy = {
    url: "",
    plan: () => "forward",
    calls,
    stop: async () => {
      for (const res of hanging) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const parsed = JSON.parse(body) as { method: string; params?: unknown[] };
    const call: ProxiedCall = { method: parsed.method, params: parsed.params ?? [], seq: calls.length + 1 };
    calls.push(call);
    const action = await proxy.plan(call);
    if (action === "hang") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      return;
    }
    if (action === "reset") {
      req.socket.destroy();
      return;
    }
    if (typeof action === "object" && "rpcError" in action) {
      const id = (JSON.parse(body) as { id?: unknown }).id ?? null;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, error: action.rpcError }));
      return;
    }
    if (action !== "forward") {
      const headers: Record<string, string> = { "content-type": "text/plain" };
      if (action.retryAfter !== undefined) headers["retry-after"] = action.retryAfter;
      res.writeHead(action.status, headers).end("injected fault");
      return;
    }
    const upstreamResponse = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
    res.writeHead(upstreamResponse.status, { "content-type": "application/json" }).end(await upstreamResponse.text());
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  proxy.url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  return proxy;
}

/** Deploys `AITBCToken` with account #0 as owner and sole holder; its transfers are the tests' chain traffic. */
export async function deployToken(url: string): Promise<{ address: string; token: AITBCToken; owner: Wallet }> {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const owner = new Wallet(DEV_KEYS[0], provider);
  const supply = 1_000_000n * 10n ** 18n;
  const token = await new AITBCToken__factory(owner).deploy(supply * 2n, owner.address, [owner.address], [supply]);
  await token.waitForDeployment();
  return { address: await token.getAddress(), token, owner };
}
