import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { loadRelayerConfig, parseRelayerConfig } from "../../../relayer/app/config.js";
import { resolveEvmWallet } from "../../../relayer/app/keys.js";
import { isRelayerError, RelayerError } from "../../../relayer/core/errors.js";
import { parseMetrics } from "../../../tasks/miner/status.js";

function configError(fn: () => unknown): RelayerError {
  try {
    fn();
  } catch (error) {
    if (isRelayerError(error, "RELAYER_INVALID_CONFIG")) return error;
    throw error;
  }
  throw new Error("expected RELAYER_INVALID_CONFIG");
}

describe("relayer app configuration and EVM keys", function () {
  const dir = mkdtempSync(path.join(tmpdir(), "aitbc-relayer-config-"));

  it("lists every bad field in one RELAYER_INVALID_CONFIG error", function () {
    const error = configError(() =>
      parseRelayerConfig({ network: "bad name!", rpcUrl: "not a url", runtime: { kind: "gpu-farm" }, policy: { maxConcurrentJobs: 0 }, extra: 1 }),
    );
    const problems = error.details?.problems as string[];
    for (const field of ["network", "rpcUrl", "runtime", "policy.maxConcurrentJobs"]) {
      expect(problems.some((p) => p.startsWith(field)), `${field} in ${problems.join(" | ")}`).to.equal(true);
    }
    expect(problems.some((p) => p.includes("extra"))).to.equal(true);
  });

  it("merges defaults, file, environment and flags in that order", function () {
    const file = path.join(dir, "relayer.json");
    writeFileSync(file, JSON.stringify({ rpcUrl: "http://file.invalid:1", http: { port: 1111 }, run: { maxTokens: 8 } }));
    const cfg = loadRelayerConfig({
      file,
      defaults: { network: "localhost", rpcUrl: "http://default.invalid:1" },
      env: { AITBC_RELAYER_PORT: "2222" },
      overrides: { run: { maxTokens: 16 } },
    });
    expect(cfg.rpcUrl).to.equal("http://file.invalid:1");
    expect(cfg.http.port).to.equal(2222);
    expect(cfg.run.maxTokens).to.equal(16);
    expect(cfg.run.timeoutMs).to.equal(120_000);
  });

  it("refuses a missing or malformed config file with RELAYER_INVALID_CONFIG", function () {
    configError(() => loadRelayerConfig({ file: path.join(dir, "missing.json"), env: {} }));
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    configError(() => loadRelayerConfig({ file: bad, env: {} }));
  });

  it("refuses development accounts outside local chains and malformed private keys", function () {
    expect(resolveEvmWallet({ devAccountIndex: 1, chainId: 31337n }).address).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    configError(() => resolveEvmWallet({ devAccountIndex: 1, chainId: 1n }));
    configError(() => resolveEvmWallet({ privateKey: "0x1234", chainId: 1n }));
    configError(() => resolveEvmWallet({ chainId: 1n }));
  });

  it("parses the Prometheus text miner:status reads", function () {
    const m = parseMetrics('# HELP x y\naitbc_relayer_jobs{state="settled"} 7\naitbc_relayer_gpu_seconds_total 1.5\n');
    expect(m.get('aitbc_relayer_jobs{state="settled"}')).to.equal(7);
    expect(m.get("aitbc_relayer_gpu_seconds_total")).to.equal(1.5);
  });
});
