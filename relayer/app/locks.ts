import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { RelayerError } from "../core/errors.js";

/**
 * Exclusive, process-wide locks that keep one relayer per journal and one relayer per provider identity on a machine.
 *
 * A lock is a file created with `O_EXCL` holding the owner's pid and what it protects. A lock whose owner process is
 * gone (a `kill -9`, a power cut) is stale and taken over; a lock held by a live process, this one included (a second
 * relayer in the same process), is refused. Locks are taken before anything else opens, so a refused start has
 * touched nothing.
 */

/** Where the provider-identity locks live unless the caller says otherwise (one directory per machine). */
export function defaultLockDir(): string {
  return process.env.AITBC_RELAYER_LOCK_DIR ?? path.join(tmpdir(), "aitbc-relayer-locks");
}

interface LockBody {
  pid: number;
  what: string;
  since: number;
}

/** Files this process holds, so a second instance in the same process is refused even though the pid is alive. */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readBody(file: string): LockBody | null {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockBody>;
    if (typeof parsed.pid !== "number" || typeof parsed.what !== "string") return null;
    return { pid: parsed.pid, what: parsed.what, since: Number(parsed.since ?? 0) };
  } catch {
    return null;
  }
}

export interface HeldLock {
  readonly file: string;
  release(): void;
}

export type LockKind = "journal" | "provider address" | "receipt key";

/**
 * Takes the lock at `file`, or throws `RELAYER_ALREADY_RUNNING` naming the holder.
 *
 * @param what what the lock protects, for the message (e.g. the journal path).
 */
export function acquireLock(file: string, kind: LockKind, what: string): HeldLock {
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!heldHere.has(file)) {
      try {
        const fd = openSync(file, "wx", 0o600);
        try {
          writeSync(fd, JSON.stringify({ pid: process.pid, what, since: Date.now() } satisfies LockBody));
        } finally {
          closeSync(fd);
        }
        heldHere.add(file);
        let released = false;
        return {
          file,
          release() {
            if (released) return;
            released = true;
            heldHere.delete(file);
            const body = readBody(file);
            if (body === null || body.pid === process.pid) rmSync(file, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new RelayerError("RELAYER_INVALID_CONFIG", `cannot create the lock file ${file}`, {
            cause: error,
            hint: "make the lock directory writable (AITBC_RELAYER_LOCK_DIR for the provider locks, the journal's directory for the journal lock)",
          });
        }
      }
    }
    const body = readBody(file);
    const holderAlive = heldHere.has(file) || (body !== null && alive(body.pid));
    if (!holderAlive) {
      // Stale: its owner died without releasing it. A lock file we cannot parse is a write that was cut short.
      rmSync(file, { force: true });
      continue;
    }
    const holder = body?.pid === process.pid ? "another relayer in this process" : `process ${body?.pid ?? "unknown"}`;
    throw new RelayerError("RELAYER_ALREADY_RUNNING", `the ${kind} ${what} is already in use by ${holder} (lock ${file})`, {
      details: { kind, what, lockFile: file, holderPid: body?.pid ?? null },
      hint: "one provider runs one relayer: stop the other relayer first (its pid is in the lock file); a lock left by a process that no longer exists is taken over automatically",
    });
  }
  throw new RelayerError("RELAYER_ALREADY_RUNNING", `the ${kind} ${what} lock ${file} keeps changing hands`, {
    details: { kind, what, lockFile: file },
    hint: "another relayer is starting at the same moment; stop it and start one",
  });
}

/** Lock file name for a provider identity part (address or key), safe on every file system. */
export function identityLockFile(dir: string, kind: "address" | "key", scope: string, value: string): string {
  const safe = `${kind}-${scope}-${value}`.toLowerCase().replace(/[^a-z0-9_.-]/g, "_");
  return path.join(dir, `${safe}.lock`);
}
