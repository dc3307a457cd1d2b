import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError, isAitbcError } from "../../lib/errors.js";
import { toJson } from "../shared/cli.js";

interface StatusArgs {
  url: string;
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

export async function readMinerStatus(base: string): Promise<MinerStatus> {
  let root: URL;
  try {
    root = new URL(base);
  } catch (cause) {
    throw new AitbcError("BAD_URL", `--url ${base} is not a URL`, { cause, hint: "pass e.g. http://127.0.0.1:8787" });
  }
  const health = JSON.parse(await get(new URL("/health", root).toString())) as MinerStatus["health"];
  const metrics = parseMetrics(await get(new URL("/metrics", root).toString()));
  return {
    url: root.toString(),
    health,
    jobs: byLabel(metrics, "aitbc_relayer_jobs", "state"),
    batches: byLabel(metrics, "aitbc_relayer_batches", "status"),
    gpuSeconds: metrics.get("aitbc_relayer_gpu_seconds_total") ?? 0,
    receiptsSigned: metrics.get("aitbc_relayer_receipts_signed_total") ?? 0,
    rpcErrorsTotal: metrics.get("aitbc_relayer_rpc_errors_total") ?? 0,
  };
}

export default async function minerStatusAction(args: StatusArgs, _hre: HardhatRuntimeEnvironment): Promise<MinerStatus | undefined> {
  try {
    const status = await readMinerStatus(args.url);
    if (args.json) {
      console.log(toJson(status));
      return status;
    }
    const nonZero = (r: Record<string, number>) => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    console.log(`relayer ${status.url}: ${status.health.status}${status.health.reasons.map((r) => `\n  ! ${r.code}: ${r.detail}`).join("")}`);
    console.log(`  jobs      ${nonZero(status.jobs)}`);
    console.log(`  batches   ${nonZero(status.batches)}`);
    console.log(`  GPU-s     ${status.gpuSeconds.toFixed(3)}   receipts ${status.receiptsSigned}   RPC errors ${status.rpcErrorsTotal}`);
    console.log(`  journal   block ${status.health.journal_block ?? "-"} (lag ${status.health.journal_lag_blocks ?? "-"})`);
    return status;
  } catch (error) {
    if (!isAitbcError(error)) throw error;
    if (args.json) console.log(toJson({ error: error.toJSON() }));
    else console.error(`✖ ${error.toUserString()}`);
    process.exitCode = 1;
    return undefined;
  }
}
