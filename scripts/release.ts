/**
 * Builds the package and packs it:
 *
 *   npm run release                    # → release/aitbc-evm-<version>.tgz
 *   npm run release -- --out <dir>     # pack somewhere else
 *
 * Steps: compile the contracts (typechain bindings included), emit JavaScript and declarations for lib/, relayer/
 * and typechain-types/ into dist/ (tsconfig.build.json), copy every contract ABI into dist/abi/<Contract>.json, then
 * `npm pack`. The package stays private: it is packed, never published.
 */
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // npm_config_call leaks from an outer `npx -c` and breaks nested npm commands (docs/ARCHITECTURE.md, toolchain).
    const env = { ...process.env };
    delete env.npm_config_call;
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(command)} ${args.join(" ")} exited with ${code}:\n${out}`))));
  });
}

/** npm as [command, args…]: the npm running this script when there is one (`npm run release`), else `npm` on PATH. */
function npm(args: string[]): [string, string[]] {
  const cli = process.env.npm_execpath;
  if (cli !== undefined && cli.endsWith(".js") && existsSync(cli)) return [process.execPath, [cli, ...args]];
  return ["npm", args];
}

async function copyAbis(root: string, outDir: string): Promise<number> {
  const artifacts = path.join(root, "artifacts", "contracts");
  await mkdir(outDir, { recursive: true });
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json")) {
        const artifact = JSON.parse(await readFile(full, "utf8")) as { contractName?: string; abi?: unknown[] };
        if (artifact.contractName === undefined || !Array.isArray(artifact.abi)) continue;
        await writeFile(path.join(outDir, `${artifact.contractName}.json`), `${JSON.stringify(artifact.abi, null, 2)}\n`);
        count++;
      }
    }
  };
  await walk(artifacts);
  return count;
}

export interface ReleaseResult {
  tarball: string;
  abis: number;
}

/** Builds dist/ and packs the package into `outDir`; returns the tarball's path. */
export async function buildRelease(options: { root?: string; outDir?: string; log?: (line: string) => void } = {}): Promise<ReleaseResult> {
  const root = options.root ?? ROOT;
  const outDir = path.resolve(root, options.outDir ?? "release");
  const log = options.log ?? console.log;
  const bin = (name: string) => realpathSync(path.join(root, "node_modules", ".bin", name));

  log("compiling contracts…");
  await run(process.execPath, [bin("hardhat"), "build", "--quiet"], root);
  log("emitting dist/ (JavaScript and declarations)…");
  await rm(path.join(root, "dist"), { recursive: true, force: true });
  await run(process.execPath, [bin("tsc"), "-p", "tsconfig.build.json"], root);
  const abis = await copyAbis(root, path.join(root, "dist", "abi"));
  log(`copied ${abis} ABIs to dist/abi/`);
  await mkdir(outDir, { recursive: true });
  const packed = await run(...npm(["pack", "--json", "--pack-destination", outDir]), root);
  const [info] = JSON.parse(packed.slice(packed.indexOf("["))) as { filename: string }[];
  const tarball = path.join(outDir, info.filename);
  log(`packed ${tarball}`);
  return { tarball, abis };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  buildRelease({ outDir: values.out }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
