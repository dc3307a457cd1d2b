import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

import { AitbcError } from "../../lib/errors.js";

/** Everything the bundle is made from: when any of it is newer than the build, the build is stale. */
const SOURCES = ["dashboard/index.html", "dashboard/vite.config.ts", "dashboard/src", "lib", "typechain-types"];

export function dashboardDist(root: string): string {
  return path.join(root, "dashboard", "dist");
}

async function newestMtime(entry: string): Promise<number> {
  let info;
  try {
    info = await stat(entry);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const child of await readdir(entry)) newest = Math.max(newest, await newestMtime(path.join(entry, child)));
  return newest;
}

/** Whether `dashboard/dist` is missing or older than any of its sources. */
export async function isBuildStale(root: string): Promise<boolean> {
  const index = path.join(dashboardDist(root), "index.html");
  if (!existsSync(index)) return true;
  const built = (await stat(index)).mtimeMs;
  for (const source of SOURCES) {
    if ((await newestMtime(path.join(root, source))) > built) return true;
  }
  return false;
}

/**
 * Builds the web app with Vite's programmatic API, using `dashboard/vite.config.ts`, unless the existing build is up
 * to date. Returns whether a build ran.
 */
export async function ensureDashboardBuilt(root: string, options: { force?: boolean; say?: (line: string) => void } = {}): Promise<boolean> {
  if (options.force !== true && !(await isBuildStale(root))) return false;
  options.say?.("Building the dashboard (vite)…");
  // Vite is a heavy import; only pay for it when a build is needed.
  const { build } = await import("vite");
  try {
    await build({ configFile: path.join(root, "dashboard", "vite.config.ts"), logLevel: "warn" });
  } catch (cause) {
    throw new AitbcError("DASHBOARD_BUILD_FAILED", `The dashboard did not build: ${(cause as Error).message}`, {
      hint: "Run `./node_modules/.bin/hardhat build` first (the app uses the typechain factories), then retry with --rebuild.",
      cause,
    });
  }
  return true;
}
