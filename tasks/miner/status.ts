import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseOffer } from "../../lib/market/offer.js";
import { DEFAULT_RELAYER_PORT } from "../../relayer/app/config.js";
import { runOfflineTask } from "../shared/cli.js";

interface StatusArgs {
  url: string | undefined;
  json: boolean;
}

export interface MinerStatus {
  url: string;
  health: { status: string; reasons: { code: string; detail: string }[]; journal_block: number | null; journal_lag_blocks: number | null };
  jobs: Record<string, number>;
  batches: Record<string, number>;
  gpuSeconds: number;
  receiptsSigned: number;
  rpcErrorsTotal: number;
  /** What the relayer's offer says of private jobs; `null` when it serves no offer (an older relayer). */
  offer: { private: boolean; encryptionKey: string | null; models: string[] } | null;
}

/** Parses the Prometheus text the relayer serves into `name{labels} → value`. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function byLabel(metrics: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const prefix = `${name}{${label}="`;
  for (const [key, value] of metrics) if (key.startsWith(prefix)) out[key.slice(prefix.length, key.indexOf('"', prefix.length))] = value;
  return out;
}

async function get(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (cause) {
    throw new AitbcError("RELAYER_UNREACHABLE", `no relayer answers at ${url}`, {
      cause,
      hint: "start it with `npx hardhat miner:start --network <network>`, or pass its address with --url",
    });
  }
  if (!res.ok) throw new AitbcError("RELAYER_BAD_RESPONSE", `${url} answered HTTP ${res.status}`, { hint: "check that --url points at a relayer API" });
  return res.text();
}

/**
 * The relayer API's default address: the port the devnet's relayer and `miner:start` use unless told otherwise
 * (`AITBC_RELAYER_PORT`, which `miner:start` reads too, moves both).
 */
export function defaultMinerUrl(env: NodeJS.ProcessEnv = process.env): string {
  const port = env.AITBC_RELAYER_PORT !== undefined && /^[0-9]{1,5}$/.test(env.AITBC_RELAYER_PORT) ? env.AITBC_RELAYER_PORT : String(DEFAULT_RELAYER_PORT);
  return `http://127.0.0.1:${port}`;
}

function parseHealth(url: string, text: string): MinerStatus["health"] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const h = body as Partial<MinerStatus["health"]> | undefined;
  if (typeof h !== "object" || h === null || typeof h.status !== "string" || !Array.isArray(h.reasons)) {
    throw new AitbcError("RELAYER_BAD_RESPONSE", `${url} is not a relayer's health report`, { hint: `check that --url points at a relayer API (the default is ${defaultMinerUrl()})` });
  }
  return h as MinerStatus["health"];
}

export async function readMinerStatus(base: string): Promise<MinerStatus> {
  let root: URL;
  try {
    root = new URL(base);
  } catch (cause) {
    throw new AitbcError("BAD_URL", `--url ${base} is not a URL`, { cause, hint: "pass e.g. http://127.0.0.1:8787" });
  }
  const healthUrl = new URL("/health", root).toString();
  const health = parseHealth(healthUrl, await get(healthUrl));
  const metrics = parseMetrics(await get(new URL("/metrics", root).toString()));
  let offer: MinerStatus["offer"] = null;
  const offerRes = await fetch(new URL("/api/v1/offer", root), { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  if (offerRes?.ok === true) {
    const o = parseOffer(await offerRes.text());
    const hex = o.encryptionKey === null ? null : `0x${Buffer.from(o.encryptionKey).toString("hex")}`;
    offer = { private: o.accepts.private, encryptionKey: hex, models: o.models.map((m) => m.name) };
  }
  return {
    url: root.toString(),
    health,
    jobs: byLabel(metrics, "aitbc_relayer_jobs", "state"),
    batches: byLabel(metrics, "aitbc_relayer_batches", "status"),
    gpuSeconds: metrics.get("aitbc_relayer_gpu_seconds_total") ?? 0,
    receiptsSigned: metrics.get("aitbc_relayer_receipts_signed_total") ?? 0,
    rpcErrorsTotal: metrics.get("aitbc_relayer_rpc_errors_total") ?? 0,
    offer,
  };
}

export default async function minerStatusAction(args: StatusArgs, hre: HardhatRuntimeEnvironment): Promise<MinerStatus | undefined> {
  return runOfflineTask(hre, { json: args.json }, async () => {
    const status = await readMinerStatus(args.url === undefined || args.url === "" ? defaultMinerUrl() : args.url);
    if (args.json) return status;
    const nonZero = (r: Record<string, number>) => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    console.log(`relayer ${status.url}: ${status.health.status}${status.health.reasons.map((r) => `\n  ! ${r.code}: ${r.detail}`).join("")}`);
    console.log(`  jobs      ${nonZero(status.jobs)}`);
    console.log(`  batches   ${nonZero(status.batches)}`);
    console.log(`  gpu_seconds ${status.gpuSeconds.toFixed(3)}   receipts ${status.receiptsSigned}   RPC errors ${status.rpcErrorsTotal}`);
    const o = status.offer;
    console.log(`  offer     ${o === null ? "none served" : `${o.models.join(", ")}; ${o.private ? `private and public jobs (key ${o.encryptionKey ?? "?"})` : "public jobs only (no published encryption key matches the relayer's key file)"}`}`);
    console.log(`  journal   block ${status.health.journal_block ?? "-"} (lag ${status.health.journal_lag_blocks ?? "-"})`);
    return undefined;
  });
}
