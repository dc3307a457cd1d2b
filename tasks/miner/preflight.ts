/**
 * What `miner:start` checks before it registers or changes anything on-chain: the API port is free, the journal's
 * folder is writable, and the runtime is there. A relayer that would fail to start must not first replace a
 * registration that another, running relayer depends on.
 */
import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";

import { AitbcError } from "../../lib/errors.js";
import type { RelayerConfig } from "../../relayer/app/config.js";

/** A port that is free on `host` now (the operating system's pick). */
export async function pickFreePort(host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new AitbcError("PORT_UNAVAILABLE", `cannot listen on ${host} (${error.code ?? error.message})`, { hint: "Pass a --port, or check the configured http.host.", details: { host } })),
    );
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `PORT_IN_USE` when something listens on `host:port` already (port 0 and -1 need no check). */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port <= 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new AitbcError("PORT_IN_USE", `port ${port} on ${host} is taken (by another relayer, the devnet or the dashboard?); nothing was registered or changed`, {
            hint: `Pass another port (--port 8789, or --port 0 for a free one). If a relayer already runs there, \`npx hardhat miner:status --url http://${host}:${port}\` shows it.`,
            details: { host, port },
          }),
        );
      } else {
        reject(new AitbcError("PORT_UNAVAILABLE", `cannot listen on ${host}:${port} (${error.code ?? error.message})`, { hint: "Pass another --port, or --port 0 for a free one.", details: { host, port } }));
      }
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** `JOURNAL_NOT_WRITABLE` unless the journal file (or, before its first start, its folder) can be written. */
export async function checkJournalWritable(file: string): Promise<void> {
  const dir = path.dirname(file);
  try {
    await mkdir(dir, { recursive: true });
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error)));
    if (info !== undefined && !info.isFile()) throw Object.assign(new Error("not a file"), { code: "ENOTFILE" });
    await access(info === undefined ? dir : file, constants.W_OK);
  } catch (cause) {
    throw new AitbcError("JOURNAL_NOT_WRITABLE", `the journal ${file} cannot be written (${(cause as NodeJS.ErrnoException).code ?? String(cause)}); nothing was registered or changed`, {
      hint: "Point the journal at a writable file (`journalPath` in --miner-config, or AITBC_RELAYER_JOURNAL).",
      details: { file },
      cause,
    });
  }
}

/** `RUNTIME_UNAVAILABLE` when the model file is missing or the runtime server does not answer. */
export async function checkRuntime(runtime: RelayerConfig["runtime"]): Promise<void> {
  if (runtime.kind === "embedded") {
    if (runtime.modelPath === undefined) return;
    try {
      await access(runtime.modelPath, constants.R_OK);
    } catch (cause) {
      throw new AitbcError("RUNTIME_UNAVAILABLE", `the model file ${runtime.modelPath} cannot be read; nothing was registered or changed`, {
        hint: "Pass the path of a GGUF model file with --gguf (or leave it out to serve the tiny test model).",
        details: { modelPath: runtime.modelPath },
        cause,
      });
    }
    return;
  }
  const baseUrl = runtime.baseUrl ?? (runtime.kind === "ollama" ? "http://127.0.0.1:11434" : undefined);
  if (baseUrl === undefined) {
    throw new AitbcError("RUNTIME_UNAVAILABLE", "the openai runtime needs the server's base URL; nothing was registered or changed", { hint: "Pass --runtime-url http://host:port/v1." });
  }
  try {
    // Any HTTP answer shows a server is there; the relayer checks the model itself when it starts.
    await fetch(baseUrl, { signal: AbortSignal.timeout(3_000) });
  } catch (cause) {
    throw new AitbcError("RUNTIME_UNAVAILABLE", `the ${runtime.kind} runtime at ${baseUrl} does not answer; nothing was registered or changed`, {
      hint: `Start the runtime server first, or pass its address with --runtime-url.`,
      details: { baseUrl },
      cause,
    });
  }
}
