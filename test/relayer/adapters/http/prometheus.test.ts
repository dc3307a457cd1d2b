import { expect } from "chai";

import { renderMetrics } from "../../../../relayer/adapters/http/prometheus.js";
import { isRelayerError } from "../../../../relayer/core/errors.js";

describe("relayer/adapters/http/prometheus", () => {
  it("escapes HELP text and label values as the format requires", () => {
    const text = renderMetrics([
      { name: "x_total", help: "a \\ b\nc", type: "counter", samples: [{ labels: { l: 'q"\\\n' }, value: 1.5 }] },
      { name: "y", help: "y", type: "gauge", samples: [{ value: NaN }, { labels: { s: "a" }, value: Infinity }, { labels: { s: "b" }, value: -Infinity }] },
    ]);
    expect(text).to.equal(
      '# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\nx_total{l="q\\"\\\\\\n"} 1.5\n# HELP y y\n# TYPE y gauge\ny NaN\ny{s="a"} +Inf\ny{s="b"} -Inf\n',
    );
  });

  it("refuses invalid names, duplicate families and counters without _total", () => {
    const bad = [
      [{ name: "1x", help: "h", type: "gauge" as const, samples: [] }],
      [{ name: "x", help: "h", type: "counter" as const, samples: [] }],
      [{ name: "x", help: "h", type: "gauge" as const, samples: [{ labels: { "bad-label": "v" }, value: 1 }] }],
      [{ name: "x", help: "h", type: "gauge" as const, samples: [{ labels: { __reserved: "v" }, value: 1 }] }],
      [
        { name: "x", help: "h", type: "gauge" as const, samples: [] },
        { name: "x", help: "h", type: "gauge" as const, samples: [] },
      ],
    ];
    for (const families of bad) {
      let caught: unknown;
      try {
        renderMetrics(families);
      } catch (error) {
        caught = error;
      }
      expect(isRelayerError(caught, "HTTP_INTERNAL"), JSON.stringify(families)).to.equal(true);
    }
  });
});
