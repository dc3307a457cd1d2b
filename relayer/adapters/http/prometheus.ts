import { RelayerError } from "../../core/errors.js";

/**
 * Prometheus text exposition format 0.0.4, written by hand: one HELP and one TYPE line per family, then its samples.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export type MetricType = "counter" | "gauge";

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Renders metric families; throws on names Prometheus would reject, so a typo fails in tests, not in a scrape. */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new RelayerError("HTTP_INTERNAL", `invalid metric name ${family.name}`);
    if (seen.has(family.name)) throw new RelayerError("HTTP_INTERNAL", `metric ${family.name} rendered twice`);
    if (family.type === "counter" && !family.name.endsWith("_total")) throw new RelayerError("HTTP_INTERNAL", `counter ${family.name} must end in _total`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      for (const [k] of labels) if (!LABEL_NAME.test(k) || k.startsWith("__")) throw new RelayerError("HTTP_INTERNAL", `invalid label name ${k}`);
      const labelText = labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
      lines.push(`${family.name}${labelText} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
