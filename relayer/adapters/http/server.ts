import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { Logger } from "pino";

import { offerJson, type Offer } from "../../../lib/market/offer.js";
import { isRelayerError, RelayerError, type RelayerErrorCode } from "../../core/errors.js";
import { assessHealth, type HealthIssue, type HealthThresholds } from "../../core/health.js";
import type { JobRecord } from "../../core/job-state.js";
import type { BatchInfo, RelayerReadModel, StoredReceipt } from "../../core/read-model.js";
import { isAddress } from "./address.js";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, type MetricFamily } from "./prometheus.js";

/** Live facts only the running process knows (the journal knows the rest). */
export interface ProcessProbe {
  /** RPC failures within the health window. */
  rpcErrorsRecent(): number;
  /** RPC failures since start. */
  rpcErrorsTotal(): number;
  runtimeUp(): boolean;
  /** Latest chain head seen, or `null` before the first. */
  chainHead(): number | null;
  /** Degradations the running relayer's monitor found (see `HealthReason`). */
  issues?(): readonly HealthIssue[];
}

export interface ApiServerOptions {
  source: RelayerReadModel;
  probe: ProcessProbe;
  health: HealthThresholds;
  logger: Logger;
  /** Value of `Access-Control-Allow-Origin`; the dashboard is served from another origin. */
  corsOrigin?: string;
  defaultLimit?: number;
  maxLimit?: number;
  /**
   * The relayer's terms for `GET /api/v1/offer`; the API adds the health (the same assessment `/health` gives) and
   * the active jobs (from the journal's counters: no scan). Absent: the route answers 404.
   */
  offer?: () => Omit<Offer, "health" | "capacity"> & { maxConcurrentJobs: number };
  /** The channel mode's API (`/api/v1/channel/...`); absent: those routes answer `CHANNEL_MODE_OFF`. */
  channels?: ChannelApi;
}

/** What the channel routes call (relayer/app/channel-jobs.ts implements it). */
export interface ChannelApi {
  submit(body: unknown): Promise<{ status: number; json: string }>;
  voucher(body: unknown): Promise<{ status: number; json: string }>;
  job(digest: string): { status: number; json: string };
  result(digest: string): { body: Uint8Array; contentType: string; resultHash: string };
  client(address: string): Promise<{ status: number; json: string }>;
}

/** Largest request body (a 64 KiB prompt in base64 with its signed request fits well). */
const MAX_BODY_BYTES = 256 * 1024;

export interface ApiServer {
  readonly server: Server;
  /** Starts listening; port 0 picks a free one. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Answers one GET without the network, exactly as the server would (route, handler, error mapping): what the health
   * benchmark times.
   */
  respond(pathAndQuery: string): Reply;
  close(): Promise<void>;
}

const STATUS: Readonly<Partial<Record<RelayerErrorCode, number>>> = {
  HTTP_ROUTE_NOT_FOUND: 404,
  HTTP_METHOD_NOT_ALLOWED: 405,
  HTTP_INVALID_ADDRESS: 400,
  HTTP_INVALID_LIMIT: 400,
  HTTP_INVALID_CURSOR: 400,
  HTTP_INVALID_RECEIPT_ID: 400,
  HTTP_INVALID_JOB_ID: 400,
  HTTP_UNKNOWN_PARAMETER: 400,
  HTTP_RECEIPT_NOT_FOUND: 404,
  HTTP_JOB_NOT_FOUND: 404,
  HTTP_RESULT_NOT_READY: 409,
  HTTP_INVALID_BODY: 400,
  HTTP_BODY_TOO_LARGE: 413,
  CHANNEL_MODE_OFF: 404,
  CHANNEL_BAD_REQUEST: 400,
  CHANNEL_WRONG_PROVIDER: 400,
  CHANNEL_BAD_SIGNATURE: 401,
  CHANNEL_INPUT_MISMATCH: 400,
  CHANNEL_REQUEST_ID_USED: 409,
  CHANNEL_REQUEST_ID_COVERED: 409,
  CHANNEL_REFUSED: 422,
  CHANNEL_UNDERFUNDED: 402,
  CHANNEL_UNPAID: 402,
  CHANNEL_CLOSING: 409,
  CHANNEL_VOUCHER_STALE: 409,
  CHANNEL_VOUCHER_EARLY: 409,
  CHANNEL_VOUCHER_TOO_LOW: 422,
  CHANNEL_VOUCHER_ABOVE_DEPOSIT: 402,
  CHANNEL_JOB_NOT_FOUND: 404,
};

const RECEIPT_ID = /^[A-Za-z0-9._:-]{1,200}$/;
const JOB_ID = /^(0|[1-9][0-9]{0,77})$/;
const UINT256_MAX = (1n << 256n) - 1n;

export interface Reply {
  status: number;
  body: string | Uint8Array;
  headers: Record<string, string>;
}

const Reply = {
  json(status: number, body: string): Reply {
    return { status, body, headers: { "content-type": "application/json; charset=utf-8" } };
  },
};

function fail(code: RelayerErrorCode, message: string, hint: string): never {
  throw new RelayerError(code, message, { hint });
}

function parseJobId(text: string): bigint {
  if (!JOB_ID.test(text) || BigInt(text) > UINT256_MAX) {
    fail("HTTP_INVALID_JOB_ID", `job id ${JSON.stringify(text)} is not a decimal uint256`, "use the job id from the JobCreated event, e.g. /api/v1/jobs/42");
  }
  return BigInt(text);
}

/** Reads the query string strictly: each allowed key at most once, nothing else. */
function readQuery(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) {
      fail("HTTP_UNKNOWN_PARAMETER", `unknown query parameter ${JSON.stringify(key)}`, `allowed parameters: ${allowed.join(", ")}`);
    }
    if (out.has(key)) fail("HTTP_UNKNOWN_PARAMETER", `query parameter ${key} given twice`, `pass ${key} once`);
    out.set(key, value);
  }
  return out;
}

/** JSON for a stored receipt, with the signed document spliced in verbatim so its number lexemes survive. */
function receiptJson(r: StoredReceipt): string {
  const meta = JSON.stringify({
    receipt_id: r.receiptId,
    receipt_hash: r.receiptHash,
    leaf_hash: r.leafHash,
    job_id: r.jobId.toString(),
    client: r.client,
    provider: r.provider,
    units_milli: r.unitsMilli.toString(),
    price_base: r.priceBase.toString(),
    signed_at: r.signedAt,
    batch_id: r.batchId,
  });
  return `${meta.slice(0, -1)},"receipt":${r.json}}`;
}

function batchJson(b: BatchInfo | null): unknown {
  if (b === null) return null;
  return { id: b.batchId, root: b.root, status: b.status, item_count: b.itemCount, tx_hash: b.txHash, block_number: b.blockNumber };
}

/** A refusal as journaled (`CODE: detail`, or `CODE detail` for the chain's own) split into its code and its text. */
export function splitRefusal(refusal: string | null): { code: string | null; detail: string | null } {
  if (refusal === null) return { code: null, detail: null };
  const m = /^([A-Z][A-Z0-9_]*)(?::\s*|\s+|$)([\s\S]*)$/.exec(refusal);
  if (m === null) return { code: refusal, detail: null };
  return { code: m[1], detail: m[2] === "" ? null : m[2] };
}

function jobJson(j: JobRecord): unknown {
  const refusal = splitRefusal(j.refusal);
  return {
    job_id: j.jobId.toString(),
    state: j.state,
    private: j.private,
    model: j.model,
    client: j.client,
    addressed_provider: j.addressedProvider,
    max_units_milli: j.maxUnitsMilli.toString(),
    rate: j.rate.toString(),
    deadline: j.deadline,
    input_hash: j.inputHash,
    created_block: j.createdBlock,
    created_tx_hash: j.createdTxHash,
    accept_tx_hash: j.acceptTxHash,
    run_attempts: j.runAttempts,
    started_at: j.startedAt,
    completed_at: j.completedAt,
    units_milli: j.unitsMilli?.toString() ?? null,
    result_hash: j.resultHash,
    receipt_id: j.receiptId,
    receipt_hash: j.receiptHash,
    batch_id: j.batchId,
    settle_tx_hash: j.settleTxHash,
    settle_block: j.settleBlock,
    failure: j.failure,
    refusal: refusal.code,
    refusal_detail: refusal.detail,
    seen_at: j.seenAt,
    updated_at: j.updatedAt,
  };
}

/**
 * The relayer's read API over `node:http`. Only GET/HEAD (and CORS preflight) are served; every error is
 * `{"error":{"code","message","hint"}}` with a 4xx status for bad input.
 */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const log = options.logger.child({ module: "http" });
  const cors = options.corsOrigin ?? "*";
  const defaultLimit = options.defaultLimit ?? 50;
  const maxLimit = options.maxLimit ?? 500;
  const { source, probe } = options;

  function listReceipts(url: URL): Reply {
    const q = readQuery(url, ["client", "provider", "limit", "cursor"]);
    for (const key of ["client", "provider"] as const) {
      const v = q.get(key);
      if (v !== undefined && !isAddress(v)) {
        fail("HTTP_INVALID_ADDRESS", `${key} ${JSON.stringify(v)} is not an address`, `pass a 0x-prefixed 20-byte hex address (EIP-55 checksum if mixed case)`);
      }
    }
    let limit = defaultLimit;
    const rawLimit = q.get("limit");
    if (rawLimit !== undefined) {
      if (!/^[0-9]{1,6}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > maxLimit) {
        fail("HTTP_INVALID_LIMIT", `limit ${JSON.stringify(rawLimit)} is out of range`, `pass an integer from 1 to ${maxLimit}`);
      }
      limit = Number(rawLimit);
    }
    const cursor = q.get("cursor");
    let page;
    try {
      page = source.listReceipts({ client: q.get("client"), provider: q.get("provider"), limit, cursor });
    } catch (error) {
      if (isRelayerError(error, "JOURNAL_BAD_CURSOR")) {
        fail("HTTP_INVALID_CURSOR", error.message, error.hint ?? "omit cursor to start from the newest receipt");
      }
      throw error;
    }
    const body = `{"items":[${page.items.map(receiptJson).join(",")}],"next_cursor":${JSON.stringify(page.nextCursor)}}`;
    return Reply.json(200, body);
  }

  function getReceipt(url: URL, id: string): Reply {
    readQuery(url, []);
    if (!RECEIPT_ID.test(id)) {
      fail("HTTP_INVALID_RECEIPT_ID", `receipt id ${JSON.stringify(id)} is malformed`, "use a receipt_id as listed by /api/v1/receipts");
    }
    const found = source.getReceipt(id);
    if (found === null) fail("HTTP_RECEIPT_NOT_FOUND", `no receipt ${id} here`, "list receipts with /api/v1/receipts?client=<address>");
    const extra = JSON.stringify({ batch: batchJson(found.batch), proof: found.proof });
    return Reply.json(200, `${receiptJson(found.receipt).slice(0, -1)},${extra.slice(1)}`);
  }

  function getJob(url: URL, idText: string): Reply {
    readQuery(url, []);
    const job = source.getJob(parseJobId(idText));
    if (job === null) fail("HTTP_JOB_NOT_FOUND", `job ${idText} is unknown to this relayer`, "the job may be for another provider or not yet seen; retry later");
    return Reply.json(200, JSON.stringify(jobJson(job)));
  }

  function getResult(url: URL, idText: string): Reply {
    readQuery(url, []);
    const jobId = parseJobId(idText);
    const result = source.getResult(jobId);
    if (result === null) {
      const job = source.getJob(jobId);
      if (job === null) fail("HTTP_JOB_NOT_FOUND", `job ${idText} is unknown to this relayer`, "the job may be for another provider or not yet seen; retry later");
      throw new RelayerError("HTTP_RESULT_NOT_READY", `job ${idText} has no result (state ${job.state})`, {
        hint: `poll /api/v1/jobs/${idText} until its state is done or later`,
        details: { state: job.state },
      });
    }
    return { status: 200, body: result.body, headers: { "content-type": result.contentType, "x-result-hash": result.resultHash } };
  }

  function getOffer(url: URL): Reply {
    readQuery(url, []);
    if (options.offer === undefined) fail("HTTP_ROUTE_NOT_FOUND", "this relayer publishes no offer", "run the relayer from relayer/app/start.ts");
    const terms = options.offer();
    const m = source.metrics();
    const h = healthReport(m);
    const reasons = h.report.reasons.slice(0, 32).map((r) => `${r.code}: ${r.detail}`.slice(0, 200));
    const { maxConcurrentJobs, ...rest } = terms;
    return Reply.json(
      200,
      offerJson({
        ...rest,
        capacity: { maxConcurrentJobs, activeJobs: m.jobsByState.accepted + m.jobsByState.running },
        health: { status: h.status, reasons },
      }),
    );
  }

  function healthReport(m = source.metrics()): { status: "ok" | "degraded"; body: unknown; report: ReturnType<typeof assessHealth> } {
    const report = assessHealth(
      { rpcErrorsRecent: probe.rpcErrorsRecent(), runtimeUp: probe.runtimeUp(), chainHead: probe.chainHead(), journalBlock: m.cursorBlock, issues: probe.issues?.() ?? [] },
      options.health,
    );
    return {
      status: report.status,
      body: { status: report.status, reasons: report.reasons, journal_block: m.cursorBlock, journal_lag_blocks: report.journalLagBlocks },
      report,
    };
  }

  function health(url: URL): Reply {
    readQuery(url, []);
    // Degraded still answers 200: the read API keeps working while RPC or the runtime recovers; the body says why.
    return Reply.json(200, JSON.stringify(healthReport().body));
  }

  function metrics(url: URL): Reply {
    readQuery(url, []);
    const m = source.metrics();
    const h = healthReport(m);
    const families: MetricFamily[] = [
      {
        name: "aitbc_relayer_jobs",
        help: "Jobs in the journal by state.",
        type: "gauge",
        samples: Object.entries(m.jobsByState).map(([state, value]) => ({ labels: { state }, value })),
      },
      { name: "aitbc_relayer_gpu_seconds_total", help: "Metered GPU-seconds of every completed run.", type: "counter", samples: [{ value: m.gpuMilliSecondsTotal / 1000 }] },
      { name: "aitbc_relayer_receipts_signed_total", help: "Receipts signed and journaled.", type: "counter", samples: [{ value: m.receiptsSigned }] },
      {
        name: "aitbc_relayer_batches",
        help: "Settlement batches by status.",
        type: "gauge",
        samples: Object.entries(m.batchesByStatus).map(([status, value]) => ({ labels: { status }, value })),
      },
      {
        name: "aitbc_relayer_transactions",
        help: "Outgoing transactions by status.",
        type: "gauge",
        samples: Object.entries(m.txsByStatus).map(([status, value]) => ({ labels: { status }, value })),
      },
      { name: "aitbc_relayer_tx_retries_total", help: "Transaction attempts beyond the first (fee bumps, rebroadcasts).", type: "counter", samples: [{ value: m.txRetries }] },
      { name: "aitbc_relayer_rpc_errors_total", help: "RPC calls that failed since start.", type: "counter", samples: [{ value: probe.rpcErrorsTotal() }] },
      { name: "aitbc_relayer_journal_block", help: "Last block fully processed into the journal (-1 before the first).", type: "gauge", samples: [{ value: m.cursorBlock ?? -1 }] },
      { name: "aitbc_relayer_degraded", help: "1 when /health reports degraded.", type: "gauge", samples: [{ value: h.status === "ok" ? 0 : 1 }] },
    ];
    return { status: 200, body: renderMetrics(families), headers: { "content-type": PROMETHEUS_CONTENT_TYPE } };
  }

  function route(method: string, url: URL): Reply {
    const path = url.pathname;
    const segments = path.split("/").slice(1).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    let handler: (() => Reply) | null = null;
    if (path === "/health") handler = () => health(url);
    else if (path === "/metrics") handler = () => metrics(url);
    else if (segments[0] === "api" && segments[1] === "v1") {
      const [, , resource, id, sub, ...rest] = segments;
      if (rest.length === 0) {
        if (resource === "offer" && id === undefined) handler = () => getOffer(url);
        else if (resource === "receipts" && id === undefined) handler = () => listReceipts(url);
        else if (resource === "receipts" && id !== undefined && sub === undefined) handler = () => getReceipt(url, id);
        else if (resource === "jobs" && id !== undefined && sub === undefined) handler = () => getJob(url, id);
        else if (resource === "jobs" && id !== undefined && sub === "result") handler = () => getResult(url, id);
      }
    }
    if (handler === null) {
      fail("HTTP_ROUTE_NOT_FOUND", `no route ${path}`, "routes: /api/v1/offer, /api/v1/receipts, /api/v1/receipts/:id, /api/v1/jobs/:id, /api/v1/jobs/:id/result, /health, /metrics");
    }
    if (method !== "GET" && method !== "HEAD") {
      fail("HTTP_METHOD_NOT_ALLOWED", `${method} is not supported on ${path}`, "this API is read-only: use GET");
    }
    return handler();
  }

  /** The channel mode's routes, or `null` when the path is not one of them. */
  async function channelRoute(method: string, url: URL, body: () => Promise<unknown>): Promise<Reply | null> {
    const segments = url.pathname.split("/").slice(1);
    if (segments[0] !== "api" || segments[1] !== "v1" || segments[2] !== "channel") return null;
    const [, , , resource, id, sub, ...rest] = segments;
    const channels = options.channels;
    if (channels === undefined) {
      fail("CHANNEL_MODE_OFF", "this relayer does not serve the channel mode", "its deployment has no JobChannels contract: send an escrow job (`job:submit`) instead");
    }
    const post = method === "POST";
    if (rest.length === 0 && resource === "jobs" && id === undefined && post) {
      const reply = await channels.submit(await body());
      return Reply.json(reply.status, reply.json);
    }
    if (rest.length === 0 && resource === "vouchers" && id === undefined && post) {
      const reply = await channels.voucher(await body());
      return Reply.json(reply.status, reply.json);
    }
    if (!post && method !== "GET" && method !== "HEAD") fail("HTTP_METHOD_NOT_ALLOWED", `${method} is not supported on ${url.pathname}`, "use GET, or POST for new jobs and vouchers");
    readQuery(url, []);
    if (!post && rest.length === 0 && resource === "jobs" && id !== undefined && sub === undefined) {
      const reply = channels.job(id);
      return Reply.json(reply.status, reply.json);
    }
    if (!post && rest.length === 0 && resource === "jobs" && id !== undefined && sub === "result") {
      const result = channels.result(id);
      return { status: 200, body: result.body, headers: { "content-type": result.contentType, "x-result-hash": result.resultHash } };
    }
    if (!post && rest.length === 0 && resource === "clients" && id !== undefined && sub === undefined) {
      const reply = await channels.client(id);
      return Reply.json(reply.status, reply.json);
    }
    fail("HTTP_ROUTE_NOT_FOUND", `no route ${method} ${url.pathname}`, "channel routes: POST /api/v1/channel/jobs, POST /api/v1/channel/vouchers, GET /api/v1/channel/jobs/:digest[/result], GET /api/v1/channel/clients/:address");
  }

  function errorReply(error: unknown, reqLog: Logger): Reply {
    if (error instanceof RelayerError && STATUS[error.code] !== undefined) {
      const details = error.details as Record<string, unknown> | undefined;
      const extra = error.code.startsWith("CHANNEL_") && details !== undefined ? { details } : {};
      const reply = Reply.json(STATUS[error.code] as number, JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint ?? null, ...extra } }));
      if (error.code === "HTTP_METHOD_NOT_ALLOWED") reply.headers.allow = "GET, HEAD, OPTIONS";
      return reply;
    }
    reqLog.error({ err: error }, "request failed");
    return Reply.json(500, JSON.stringify({ error: { code: "HTTP_INTERNAL", message: "internal error", hint: "see the relayer log" } }));
  }

  function readBody(req: IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES && !failed) {
          failed = true;
          reject(new RelayerError("HTTP_BODY_TOO_LARGE", `the request body is larger than ${MAX_BODY_BYTES} bytes`, { hint: "prompts are at most 64 KiB" }));
        }
        if (!failed) chunks.push(chunk);
      });
      req.on("end", () => {
        if (failed) return;
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        } catch {
          reject(new RelayerError("HTTP_INVALID_BODY", "the request body is not JSON", { hint: "send a JSON object with content-type application/json" }));
        }
      });
      req.on("error", reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://relayer.invalid");
    const reqLog = log.child({ method, path: url.pathname });
    let reply: Reply;
    if (method === "OPTIONS") {
      reply = {
        status: 204,
        body: "",
        headers: {
          "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
          "access-control-allow-headers": "content-type",
          "access-control-max-age": "600",
        },
      };
    } else {
      try {
        reply = (await channelRoute(method, url, () => readBody(req))) ?? route(method, url);
      } catch (error) {
        reply = errorReply(error, reqLog);
      }
    }
    // Whatever the route did with it, the rest of the request body is drained: an unread body keeps the socket busy.
    req.resume();
    const body = typeof reply.body === "string" ? Buffer.from(reply.body, "utf8") : reply.body;
    res.writeHead(reply.status, {
      ...reply.headers,
      "access-control-allow-origin": cors,
      "access-control-expose-headers": "x-result-hash",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-length": String(body.length),
    });
    res.end(method === "HEAD" ? undefined : body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    reqLog.debug({ status: reply.status, ms }, "request");
  }

  const server = createServer((req, res) => {
    // Only the channel routes read a body; every other request's body is drained at once.
    if (req.method !== "POST") req.resume();
    void handle(req, res);
  });

  return {
    server,
    respond(pathAndQuery: string): Reply {
      try {
        return route("GET", new URL(pathAndQuery, "http://relayer.invalid"));
      } catch (error) {
        return errorReply(error, log);
      }
    },
    listen(port: number, host: string): Promise<AddressInfo> {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          log.info({ host: address.address, port: address.port }, "listening");
          resolve(address);
        });
      });
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
    },
  };
}
