/**
 * Console output for the scripts: numbered step lines with a live progress suffix, and plain-text tables.
 *
 * On a terminal a step's progress is redrawn in place; elsewhere (CI logs, a test reading stdout) each change of the
 * progress text is printed once as its own line, so logs stay readable and nothing is lost.
 */

export interface StepOutput {
  write(text: string): void;
  readonly isTTY: boolean;
}

const stdoutOutput: StepOutput = {
  write: (text) => process.stdout.write(text),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
};

/** `[3/9] running 12 jobs … 7/12 settled`: one numbered line per step, progress updated while it runs. */
export class Steps {
  #index = 0;
  #title = "";
  #progress = "";
  #started = 0;
  readonly #total: number;
  readonly #out: StepOutput;

  constructor(total: number, out: StepOutput = stdoutOutput) {
    this.#total = total;
    this.#out = out;
  }

  /** Starts the next step (finishing the current one if it is still open). */
  begin(title: string): void {
    if (this.#title !== "") this.done();
    this.#index += 1;
    this.#title = title;
    this.#progress = "";
    this.#started = performance.now();
    this.#out.write(this.#out.isTTY ? this.#line() : `${this.#line()}\n`);
  }

  /** Sets the step's progress suffix; printed only when it changes. */
  progress(text: string): void {
    if (text === this.#progress) return;
    this.#progress = text;
    if (this.#out.isTTY) this.#out.write(`\r\x1b[2K${this.#line()}`);
    else this.#out.write(`${this.#line()}\n`);
  }

  /** Closes the step with its final note and duration. */
  done(note?: string): void {
    if (this.#title === "") return;
    if (note !== undefined) this.#progress = note;
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const line = `${this.#line()} (${seconds} s)`;
    this.#out.write(this.#out.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
    this.#title = "";
  }

  /** A detail line under the current step. */
  detail(text: string): void {
    if (this.#out.isTTY && this.#title !== "") this.#out.write(`\r\x1b[2K      ${text}\n${this.#line()}`);
    else this.#out.write(`      ${text}\n`);
  }

  #line(): string {
    const head = `[${this.#index}/${this.#total}] ${this.#title}`;
    return this.#progress === "" ? head : `${head} … ${this.#progress}`;
  }
}

export type Align = "left" | "right";

/** A plain-text table: a header row, a rule, the rows; numeric columns right-aligned as `align` says. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const cell = (text: string, i: number): string => ((align[i] ?? "left") === "right" ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => cell(c, i)).join("  ")}`.trimEnd();
  return [line(headers), `  ${widths.map((w) => "─".repeat(w)).join("  ")}`, ...rows.map(line)].join("\n");
}
