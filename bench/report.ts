/**
 * Builds `bench/report.md` (tables + SVG charts) from `bench/results/*.json` and compares every figure with the committed
 * `bench/baseline/*.json`.
 *
 * Gas is deterministic, so any gas figure above its baseline fails the run (exit code 1). Wall-clock figures are noisy:
 * a change beyond `--threshold` percent (default 25) in the bad direction is flagged in the report but does not fail.
 *
 * Usage: node --import tsx bench/report.ts [--threshold 25] [--update-baseline]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, "results");
const baselineDir = path.join(benchDir, "baseline");
const chartsDir = path.join(benchDir, "charts");

export type Direction = "higher" | "lower";

export interface Figure {
  suite: string;
  key: string;
  value: number;
  baseline?: number;
  direction: Direction;
  /** Relative change in the bad direction, percent (positive = worse). */
  worsePct?: number;
  status: "ok" | "better" | "flagged" | "regression" | "new";
}

/** Which way is better for a figure, from its name: throughput up, time/gas/overhead down. */
export function directionOf(suite: string, key: string): Direction {
  if (suite === "gas") return "lower";
  if (/per_s|tokens_per_s|_per_sec|throughput/.test(key)) return "higher";
  return "lower";
}

/** Numbers in results files that describe the setup rather than measure anything. */
const DESCRIPTIVE = /^(jobs|cpu_count|cores|memory_gi?b|runs|threads|.*_leaves|.*_count)$/;

/** Top-level numeric figures of a results document (nested objects and arrays are descriptive, not compared). */
export function numericFigures(doc: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (typeof value === "number" && Number.isFinite(value) && !DESCRIPTIVE.test(key)) out[key] = value;
  }
  // Per-case results (e.g. runtime threads) become `<model>_<threads>t_tokens_per_s`.
  const results = doc.results;
  if (Array.isArray(results)) {
    for (const r of results as Record<string, unknown>[]) {
      if (typeof r.tokens_per_s === "number" && typeof r.threads === "number") {
        out[`${String(r.model ?? "model")}_${r.threads}t_tokens_per_s`] = r.tokens_per_s;
      }
    }
  }
  return out;
}

export function compare(suite: string, current: Record<string, number>, baseline: Record<string, number> | undefined, thresholdPct: number): Figure[] {
  const figures: Figure[] = [];
  for (const [key, value] of Object.entries(current)) {
    const direction = directionOf(suite, key);
    const base = baseline?.[key];
    if (base === undefined || base === 0) {
      figures.push({ suite, key, value, direction, status: "new" });
      continue;
    }
    const changePct = ((value - base) / Math.abs(base)) * 100;
    const worsePct = direction === "lower" ? changePct : -changePct;
    let status: Figure["status"] = worsePct < 0 ? "better" : "ok";
    if (suite === "gas" && value > base) status = "regression";
    else if (worsePct > thresholdPct) status = "flagged";
    figures.push({ suite, key, value, baseline: base, direction, worsePct, status });
  }
  return figures;
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

function fmt(n: number): string {
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000);
}

/** A horizontal bar chart as standalone SVG. */
export function barChart(title: string, bars: { label: string; value: number; highlight?: boolean }[], unit: string): string {
  const width = 640;
  const barHeight = 22;
  const gap = 8;
  const labelWidth = 230;
  const top = 34;
  const height = top + bars.length * (barHeight + gap) + 10;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const rows = bars
    .map((b, i) => {
      const y = top + i * (barHeight + gap);
      const w = Math.max(1, ((width - labelWidth - 110) * b.value) / max);
      const fill = b.highlight === true ? "#d9534f" : "#3b7dd8";
      return (
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(b.label)}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${fill}" rx="3"/>` +
        `<text x="${labelWidth + w + 6}" y="${y + 15}" font-size="12">${escapeXml(`${fmt(b.value)} ${unit}`)}</text>`
      );
    })
    .join("\n  ");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n` +
    `  <rect width="100%" height="100%" fill="#fff"/>\n` +
    `  <text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>\n  ${rows}\n</svg>\n`
  );
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

interface E2eStep {
  offeredJobsPerS: number;
  submitted: number;
  settled: number;
  jobsPerS: number;
  p50Ms: number | null;
  p95Ms: number | null;
  drained: boolean;
}

/** bench:e2e: settled jobs/s and latency per offered load, per configuration (and a kept earlier run, if any). */
export function e2eSection(doc: Record<string, unknown> | undefined): { chart: string | null; lines: string[] } {
  if (doc === undefined || typeof doc.variants !== "object" || doc.variants === null) return { chart: null, lines: [] };
  const runs: [string, { steps: E2eStep[] }][] = Object.entries(doc.variants as Record<string, { steps: E2eStep[] }>);
  const baseline = doc.baseline as { label: string; variants: Record<string, { steps: E2eStep[] }> } | undefined;
  if (baseline !== undefined) for (const [name, v] of Object.entries(baseline.variants)) runs.unshift([`${name} (${baseline.label})`, v]);
  const bars = runs.flatMap(([name, v]) => v.steps.map((st) => ({ label: `${name} @ ${st.offeredJobsPerS}/s`, value: st.jobsPerS, highlight: !st.drained })));
  const setup = (doc.setup ?? {}) as Record<string, unknown>;
  const machine = (doc.machine ?? {}) as Record<string, unknown>;
  const lines = [
    "## e2e: submission to settled on anvil, 1 s blocks",
    "",
    `${String(setup.chain ?? "")}; ${String(setup.runtime ?? "")}; ${String(setup.clients ?? "?")} clients, ${String(setup.windowSeconds ?? "?")} s per offered load. ` +
      `Latency: ${String(setup.latency ?? "")}. Jobs/s: ${String(setup.jobsPerS ?? "")}. ` +
      `Measured on ${String(machine.cpus ?? "?")} cores (${String(machine.cpu ?? "?")}), ${String(machine.note ?? "")}.`,
    "",
    "| configuration | offered jobs/s | settled | jobs/s | p50 ms | p95 ms |",
    "|---|---:|---:|---:|---:|---:|",
    ...runs.flatMap(([name, v]) =>
      v.steps.map((st) => `| ${name} | ${st.offeredJobsPerS} | ${st.settled}/${st.submitted}${st.drained ? "" : " ⚠"} | ${fmt(st.jobsPerS)} | ${st.p50Ms ?? "—"} | ${st.p95Ms ?? "—"} |`),
    ),
    "",
    "⚠: not every job of the step settled within the drain time.",
    "",
  ];
  return { chart: bars.length === 0 ? null : barChart("e2e: settled jobs/s by offered load (red: not drained)", bars, "jobs/s"), lines };
}

/** The traffic of each figure, where a results document gives it (bench:gas: `traffic`, see bench/gas-scenarios.ts). */
export interface FigureTraffic {
  clients: number;
  jobsPerCreate: number;
  promptBytes: number;
  jobs: number;
  counts: string;
}

export function trafficOf(doc: Record<string, unknown>): Record<string, FigureTraffic> {
  const t = doc.traffic;
  return typeof t === "object" && t !== null && !Array.isArray(t) ? (t as Record<string, FigureTraffic>) : {};
}

const GAS_TRAFFIC_NOTE =
  "Each gas figure is per job unless its name says otherwise, with its traffic: distinct clients, jobs per create " +
  "call, prompt bytes on-chain (an envelope for private rows), and the number of jobs it is divided by. The yardstick " +
  "is `one_job_per_tx_lifecycle`, the project's own path with one job per transaction (release and withdraws " +
  "included); the best traffic (`settle_per_job_batch256`, 16 clients; `lifecycle_full_per_job_25_per_create`) stands " +
  "next to the worst (`settle_per_job_batch256_256_clients`; `lifecycle_full_per_job_1_per_create`). " +
  "`prompt_gas_per_kib_*` are gas per KiB of prompt.";

const STATUS_MARK: Record<Figure["status"], string> = {
  ok: "✓",
  better: "▲ better",
  flagged: "⚠ slower",
  regression: "✖ REGRESSION",
  new: "new",
};

function main(): void {
  const args = process.argv.slice(2);
  const thresholdIndex = args.indexOf("--threshold");
  const threshold = thresholdIndex >= 0 ? Number(args[thresholdIndex + 1]) : 25;
  const updateBaseline = args.includes("--update-baseline");
  if (!existsSync(resultsDir)) {
    console.error(`No ${resultsDir}: run \`npm run bench\` (or one of bench:gas, bench:receipts, bench:relayer, bench:runtime) first.`);
    process.exitCode = 1;
    return;
  }
  const suites = readdirSync(resultsDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.replace(/\.json$/, ""))
    .sort();
  const figures: Figure[] = [];
  const docs: Record<string, Record<string, unknown>> = {};
  for (const suite of suites) {
    const doc = readJson(path.join(resultsDir, `${suite}.json`));
    docs[suite] = doc;
    const baselineFile = path.join(baselineDir, `${suite}.json`);
    const baseline = existsSync(baselineFile) ? numericFigures(readJson(baselineFile)) : undefined;
    figures.push(...compare(suite, numericFigures(doc), baseline, threshold));
  }

  mkdirSync(chartsDir, { recursive: true });
  const charts: string[] = [];
  const gas = docs.gas === undefined ? {} : numericFigures(docs.gas);
  const gasBars = [
    "settle_per_job_batch256",
    "settle_per_job_batch256_256_clients",
    "lifecycle_full_per_job_25_per_create",
    "lifecycle_full_per_job_1_per_create",
    "one_job_per_tx_lifecycle",
    "create_single",
    "create_private_open_4_recipients",
    "accept_single",
    "settle_single",
    "give_back_single",
    "anchor_root",
  ]
    .filter((k) => gas[k] !== undefined)
    .map((k) => ({ label: k, value: gas[k], highlight: k === "one_job_per_tx_lifecycle" }));
  if (gasBars.length > 0) {
    writeFileSync(path.join(chartsDir, "gas.svg"), barChart("Gas (per job unless noted) — red: the one-job-per-transaction path", gasBars, "gas"));
    charts.push("![gas](charts/gas.svg)");
  }
  const throughput: { label: string; value: number }[] = [];
  for (const f of figures) {
    if (f.direction === "higher" && f.suite !== "runtime") throughput.push({ label: `${f.suite}: ${f.key}`, value: f.value });
  }
  if (throughput.length > 0) {
    writeFileSync(path.join(chartsDir, "throughput.svg"), barChart("Throughput (higher is better)", throughput, "/s"));
    charts.push("![throughput](charts/throughput.svg)");
  }
  const tokens = figures.filter((f) => f.suite.startsWith("runtime") && f.key.endsWith("tokens_per_s"));
  if (tokens.length > 0) {
    writeFileSync(
      path.join(chartsDir, "runtime.svg"),
      barChart("Embedded llama.cpp runtime (tokens/s)", tokens.map((f) => ({ label: `${f.suite}: ${f.key}`, value: f.value })), "tok/s"),
    );
    charts.push("![runtime](charts/runtime.svg)");
  }

  const e2e = e2eSection(docs.e2e);
  if (e2e.chart !== null) {
    writeFileSync(path.join(chartsDir, "e2e.svg"), e2e.chart);
    charts.push("![e2e](charts/e2e.svg)");
  }

  const lines: string[] = [
    "# Benchmark report",
    "",
    `Generated ${new Date().toISOString()} from \`bench/results/*.json\`, compared with \`bench/baseline/*.json\`.`,
    `Gas above baseline fails; wall-clock figures more than ${threshold} % worse than baseline are flagged (they are noisy).`,
    "",
    ...charts.flatMap((c) => [c, ""]),
  ];
  lines.push(...e2e.lines);
  for (const suite of suites) {
    const doc = docs[suite];
    const machine = (doc.machine ?? {}) as Record<string, unknown>;
    const where = [doc.cpu_model ?? machine.cpu, doc.node_version ?? machine.node, doc.runtime_device].filter((x) => x !== undefined).join(", ");
    const traffic = trafficOf(doc);
    const withTraffic = Object.keys(traffic).length > 0;
    lines.push(
      `## ${suite}${where === "" ? "" : ` (${where})`}`,
      "",
      ...(withTraffic ? [GAS_TRAFFIC_NOTE, ""] : []),
      `| figure | value | baseline | change | status |${withTraffic ? " clients | jobs/create | prompt B | ÷ jobs | counts |" : ""}`,
      `|---|---:|---:|---:|---|${withTraffic ? "---:|---:|---:|---:|---|" : ""}`,
    );
    for (const f of figures.filter((x) => x.suite === suite)) {
      const change = f.worsePct === undefined ? "" : `${f.worsePct > 0 ? "+" : ""}${(f.direction === "lower" ? f.worsePct : -f.worsePct).toFixed(1)} %`;
      const t = traffic[f.key];
      const extra = !withTraffic ? "" : t === undefined ? " | | | | |" : ` ${t.clients} | ${t.jobsPerCreate} | ${t.promptBytes} | ${t.jobs} | ${t.counts} |`;
      lines.push(`| ${f.key} | ${fmt(f.value)} | ${f.baseline === undefined ? "—" : fmt(f.baseline)} | ${change} | ${STATUS_MARK[f.status]} |${extra}`);
    }
    lines.push("");
  }
  writeFileSync(path.join(benchDir, "report.md"), `${lines.join("\n")}\n`);
  console.log(lines.filter((l) => !l.startsWith("![")).join("\n"));

  if (updateBaseline) {
    mkdirSync(baselineDir, { recursive: true });
    for (const suite of suites) writeFileSync(path.join(baselineDir, `${suite}.json`), `${JSON.stringify(docs[suite], null, 2)}\n`);
    console.log(`Baseline updated from the current results (${suites.join(", ")}).`);
  }
  const regressions = figures.filter((f) => f.status === "regression");
  if (regressions.length > 0) {
    console.error(`\n✖ gas regression: ${regressions.map((f) => `${f.key} ${f.baseline} → ${f.value}`).join(", ")}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
