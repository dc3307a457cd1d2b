import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { AitbcError, isAitbcError } from "../../lib/errors.js";

export interface DashboardServerOptions {
  /** Folder of the built app (`dashboard/dist`). */
  dist: string;
  port: number;
  /** The chain's JSON-RPC endpoint; the browser reaches it through `/rpc` on this server. */
  rpcUrl: string;
  /** A relayer's HTTP API base URL; the browser reaches it through `/relayer/…` on this server. */
  relayerUrl?: string;
  /**
   * A provider's registered service URL (`ProviderRegistry.endpointOf`), or `null`: the browser reaches providers'
   * relayers through `/providers/<address>/api/v1/…` on this server.
   */
  serviceUrlOf?: (provider: string) => Promise<string | null>;
  /** The body of `/config.json`, computed per request so a redeploy only needs a page reload. */
  config: () => Promise<unknown>;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const MAX_RPC_BODY = 1 << 20;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

// The app talks only to this origin (RPC and relayer are proxied), so the policy can be strict; injected wallets
// run in the extension's own context and are unaffected.
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/**
 * Serves the built app, `/config.json`, a JSON-RPC proxy at `/rpc`, a read-only relayer proxy at `/relayer/…` and one
 * to each provider's registered relayer at `/providers/<address>/…`, on 127.0.0.1 only. Proxying keeps the browser on one origin, so neither the node nor the relayer needs CORS.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const dist = path.resolve(options.dist);
  let port = options.port;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: String((error as Error)?.message ?? error) } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page on another site can make the browser send requests here; a DNS-rebinding page would even read the
    // answers. Accepting only our own Host name closes the rebinding route.
    const host = req.headers.host ?? "";
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      sendJson(res, 421, { error: { code: "BAD_HOST", message: `unexpected Host header ${JSON.stringify(host)}` } });
      return;
    }
    const url = new URL(req.url ?? "/", `http://${host}`);
    if (url.pathname === "/config.json" && req.method === "GET") {
      try {
        sendJson(res, 200, await options.config());
      } catch (error) {
        if (!isAitbcError(error)) throw error;
        sendJson(res, 503, { error: error.toJSON() });
      }
      return;
    }
    if (url.pathname === "/rpc") {
      await proxyRpc(req, res);
      return;
    }
    if (url.pathname === "/relayer" || url.pathname.startsWith("/relayer/")) {
      await proxyRelayer(req, res, url);
      return;
    }
    if (url.pathname.startsWith("/providers/")) {
      await proxyProvider(req, res, url);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not served here` } });
      return;
    }
    await serveStatic(req, res, url.pathname);
  }

  async function proxyRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // `application/json` makes any cross-site POST a preflighted request, which this server never approves.
    if (req.method !== "POST" || !(req.headers["content-type"] ?? "").startsWith("application/json")) {
      sendJson(res, 415, { error: { code: "RPC_BAD_REQUEST", message: "POST a JSON-RPC request with Content-Type: application/json" } });
      return;
    }
    const body = await readBody(req, MAX_RPC_BODY);
    if (body === undefined) {
      sendJson(res, 413, { error: { code: "RPC_BODY_TOO_LARGE", message: `JSON-RPC requests are limited to ${MAX_RPC_BODY} bytes` } });
      return;
    }
    let upstream: Response;
    try {
      upstream = await fetch(options.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array(body) });
    } catch (cause) {
      sendJson(res, 502, { error: { code: "RPC_UNREACHABLE", message: `the node at ${redact(options.rpcUrl)} does not answer (${(cause as Error).message})` } });
      return;
    }
    res.writeHead(upstream.status, { "Content-Type": upstream.headers.get("content-type") ?? "application/json", "Cache-Control": "no-store" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  async function proxyRelayer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (options.relayerUrl === undefined) {
      sendJson(res, 404, { error: { code: "RELAYER_NOT_CONFIGURED", message: "no relayer configured; start the dashboard with --relayer <url>" } });
      return;
    }
    if (req.method !== "GET") {
      sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "the relayer proxy is read-only" } });
      return;
    }
    const target = new URL(options.relayerUrl);
    target.pathname = path.posix.join(target.pathname, url.pathname.slice("/relayer".length) || "/");
    target.search = url.search;
    let upstream: Response;
    try {
      upstream = await fetch(target, { headers: { accept: "application/json" } });
    } catch (cause) {
      sendJson(res, 502, { error: { code: "RELAYER_UNREACHABLE", message: `the relayer at ${redact(options.relayerUrl)} does not answer (${(cause as Error).message})` } });
      return;
    }
    res.writeHead(upstream.status, { "Content-Type": upstream.headers.get("content-type") ?? "application/json", "Cache-Control": "no-store" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  /**
   * `/providers/<address>/<route>`: a read-only proxy to the relayer a provider registered on-chain. Only the routes a
   * client needs are passed (the offer, a job, its result, a receipt), so a provider cannot make this server fetch
   * anything else at its URL; the URL itself is re-read from the chain on every request.
   */
  async function proxyProvider(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = /^\/providers\/(0x[0-9a-fA-F]{40})(\/api\/v1\/(?:offer|jobs\/[0-9]{1,78}(?:\/result)?|receipts\/0x[0-9a-fA-F]{64}))$/.exec(url.pathname);
    if (req.method !== "GET") {
      sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "the provider proxy is read-only" } });
      return;
    }
    if (match === null || url.search !== "") {
      sendJson(res, 404, { error: { code: "HTTP_ROUTE_NOT_FOUND", message: `no provider route ${url.pathname}`, hint: "/providers/<address>/api/v1/offer, …/jobs/<id>, …/jobs/<id>/result, …/receipts/<id>" } });
      return;
    }
    const serviceUrl = options.serviceUrlOf === undefined ? null : await options.serviceUrlOf(match[1]);
    if (serviceUrl === null) {
      sendJson(res, 404, { error: { code: "NO_ENDPOINT", message: `${match[1]} has registered no service URL`, hint: "The provider publishes one with `npx hardhat provider:endpoint`." } });
      return;
    }
    const target = new URL(serviceUrl);
    target.pathname = path.posix.join(target.pathname, match[2]);
    let upstream: Response;
    try {
      upstream = await fetch(target, { redirect: "error" });
    } catch (cause) {
      sendJson(res, 502, { error: { code: "RELAYER_UNREACHABLE", message: `the relayer of ${match[1]} at ${redact(serviceUrl)} does not answer (${(cause as Error).message})` } });
      return;
    }
    const headers: Record<string, string> = { "Content-Type": upstream.headers.get("content-type") ?? "application/json", "Cache-Control": "no-store" };
    const resultHash = upstream.headers.get("x-result-hash");
    if (resultHash !== null) headers["X-Result-Hash"] = resultHash;
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      sendJson(res, 400, { error: { code: "BAD_PATH", message: "malformed path" } });
      return;
    }
    let file = path.resolve(dist, `.${relative}`);
    if (file !== dist && !file.startsWith(dist + path.sep)) {
      sendJson(res, 404, { error: { code: "NOT_FOUND", message: "not found" } });
      return;
    }
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = path.join(file, "index.html");
      info = await stat(file).catch(() => undefined);
    }
    if (info === undefined || !info.isFile()) {
      // The app routes with the URL hash, so anything else that is missing is a real 404.
      sendJson(res, 404, { error: { code: "NOT_FOUND", message: `${pathname} not found` } });
      return;
    }
    const hashed = relative.startsWith("/assets/");
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "Content-Length": info.size,
      // Asset names carry a content hash; index.html must always be revalidated to pick up a rebuild.
      "Cache-Control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new AitbcError("PORT_IN_USE", `Port ${options.port} on 127.0.0.1 is already in use`, { hint: "Pass another --port (or --port 0 for a free one)." })
          : error,
      );
    });
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** RPC URLs of hosted nodes carry API keys in the path or query; never echo those. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "<invalid url>";
  }
}
