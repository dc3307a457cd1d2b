/**
 * Child processes for `scripts/devnet.ts`: each runs in its own process group (so a Ctrl-C on the terminal reaches
 * only the supervisor, which then stops the children in order), its output goes to a log file, and a stop is SIGTERM
 * to the whole group followed by SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";

export interface ChildOptions {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Everything the child prints is appended here, each line prefixed with the child's name. */
  log: WriteStream;
  /** Rewrites or drops (undefined) each line before it reaches the log; the line listeners still see every line. */
  logFilter?: (line: string) => string | undefined;
}

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  #output = "";
  #lineListeners: ((line: string) => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(options: ChildOptions) {
    this.name = options.name;
    this.process = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.exited = new Promise((resolve) => this.process.once("exit", (code, signal) => resolve({ code, signal })));
    let partial = "";
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      // Bounded: a long-running child must not grow the supervisor's memory without limit.
      this.#output = (this.#output + text).slice(-64 * 1024);
      if (options.logFilter === undefined) options.log.write(text.replace(/^(?=.)/gm, `[${this.name}] `));
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (options.logFilter !== undefined) {
          const kept = options.logFilter(line);
          if (kept !== undefined) options.log.write(kept === "" ? "\n" : `[${this.name}] ${kept}\n`);
        }
        for (const listener of this.#lineListeners) listener(line);
      }
    };
    this.process.stdout?.on("data", onData);
    this.process.stderr?.on("data", onData);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The last 64 KiB the child printed. */
  output(): string {
    return this.#output;
  }

  /** Resolves with the first match of `pattern` in a line the child prints; rejects if it exits first or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.name} printed nothing matching ${pattern} within ${timeoutMs / 1000} s`)), timeoutMs);
      const listener = (line: string): void => {
        const match = pattern.exec(line);
        if (match !== null) finish(match);
      };
      const onExit = (code: number | null): void => finish(new Error(`${this.name} exited (code ${code}) before it was ready`));
      const finish = (result: RegExpExecArray | Error): void => {
        clearTimeout(timer);
        this.#lineListeners = this.#lineListeners.filter((l) => l !== listener);
        this.process.off("exit", onExit);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      this.#lineListeners.push(listener);
      this.process.once("exit", onExit);
      if (!this.running) onExit(this.process.exitCode);
    });
  }

  /** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once the child has exited. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything the child started and left behind in its group goes too.
    this.signal("SIGKILL");
  }

  /** Signals the whole process group; a group that is already gone is not an error. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

export function openLog(file: string): WriteStream {
  return createWriteStream(file, { flags: "a" });
}
