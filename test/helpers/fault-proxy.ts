/**
 * A JSON-RPC fault proxy for end-to-end tests: an HTTP server that sits between a process (the relayer) and a chain
 * node and misbehaves on cue, the way real RPC endpoints and load balancers do:
 *
 * - `pass`: forwards every request unchanged;
 * - `drop`: resets the connection of every request (no answer at all);
 * - `stall`: accepts the request and answers nothing until the mode changes (then forwards it late);
 * - `errors`: answers HTTP 500 and 429 (with `Retry-After: 1`) in turn;
 * - `swallow-sends`: answers `eth_sendRawTransaction` with the transaction's hash without forwarding it (the
 *   transaction never reaches the node) and forwards everything else.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { keccak256 } from "ethers";

export type ProxyMode = "pass" | "drop" | "stall" | "errors" | "swallow-sends";

export interface ProxyStats {
  forwarded: number;
  dropped: number;
  stalled: number;
  errors: number;
  swallowed: number;
}

export class FaultProxy {
  #mode: ProxyMode = "pass";
  #server: Server | null = null;
  #held: (() => void)[] = [];
  #flip = false;
  readonly stats: ProxyStats = { forwarded: 0, dropped: 0, stalled: 0, errors: 0, swallowed: 0 };
  /** When the first request was swallowed in the current `swallow-sends` period (ms), else `null`. */
  firstSwallowAt: number | null = null;
  url = "";

  constructor(readonly upstream: string) {}

  get mode(): ProxyMode {
    return this.#mode;
  }

  set mode(mode: ProxyMode) {
    this.#mode = mode;
    if (mode !== "swallow-sends") this.firstSwallowAt = null;
    if (mode !== "stall") for (const release of this.#held.splice(0)) release();
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.mode = "pass";
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    switch (this.#mode) {
      case "drop":
        this.stats.dropped++;
        req.socket.destroy();
        return;
      case "errors": {
        this.stats.errors++;
        this.#flip = !this.#flip;
        if (this.#flip) res.writeHead(500, { "content-type": "text/plain" }).end("upstream exploded");
        else res.writeHead(429, { "content-type": "text/plain", "retry-after": "1" }).end("slow down");
        return;
      }
      case "stall": {
        this.stats.stalled++;
        const closed = new Promise<void>((resolve) => res.once("close", () => resolve()));
        await Promise.race([new Promise<void>((resolve) => this.#held.push(resolve)), closed]);
        if (res.destroyed || res.writableEnded) return;
        break;
      }
      case "swallow-sends": {
        let parsed: { id?: unknown; method?: unknown; params?: unknown[] } | null = null;
        try {
          const value: unknown = JSON.parse(body);
          if (typeof value === "object" && value !== null && !Array.isArray(value)) parsed = value as { id?: unknown; method?: unknown; params?: unknown[] };
        } catch {
          parsed = null;
        }
        if (parsed !== null && parsed.method === "eth_sendRawTransaction") {
          this.stats.swallowed++;
          this.firstSwallowAt ??= Date.now();
          const raw = String(parsed.params?.[0] ?? "0x");
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: parsed.id, result: keccak256(raw) }));
          return;
        }
        break;
      }
      default:
        break;
    }
    try {
      const upstream = await fetch(this.upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await upstream.text();
      this.stats.forwarded++;
      if (!res.destroyed) res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" }).end(text);
    } catch {
      if (!res.destroyed) res.writeHead(502, { "content-type": "text/plain" }).end("upstream unreachable");
    }
  }
}
