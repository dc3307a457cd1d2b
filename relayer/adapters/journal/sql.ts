import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

export type Row = Record<string, SQLInputValue>;
export type Params = Record<string, SQLInputValue>;

/**
 * The journal's one connection, shared by its table modules: cached prepared statements and nested transactions.
 * Every table module writes through it, so a step that spans tables (a receipt and its job, a batch and its jobs)
 * commits as one SQLite transaction.
 */
export class Sql {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /**
   * Runs `fn` atomically. Nested calls join the outer transaction through a savepoint, so a failing inner step undoes
   * only itself when the caller catches it.
   */
  transaction<T>(fn: () => T): T {
    const outer = this.#depth === 0;
    const savepoint = `sp${this.#depth}`;
    this.db.exec(outer ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
    this.#depth++;
    try {
      const result = fn();
      this.#depth--;
      this.db.exec(outer ? "COMMIT" : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#depth--;
      this.db.exec(outer ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  get(sql: string, params: Params = {}): Row | undefined {
    return this.#stmt(sql).get(params) as Row | undefined;
  }

  all(sql: string, params: Params = {}): Row[] {
    return this.#stmt(sql).all(params) as Row[];
  }

  run(sql: string, params: Params = {}): { changes: number; lastInsertRowid: number } {
    const r = this.#stmt(sql).run(params);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  clear(): void {
    this.#statements.clear();
  }
}

export function str(row: Row, key: string): string {
  return row[key] as string;
}
export function optStr(row: Row, key: string): string | null {
  const v = row[key];
  return v === null || v === undefined ? null : (v as string);
}
export function num(row: Row, key: string): number {
  return Number(row[key]);
}
export function optNum(row: Row, key: string): number | null {
  const v = row[key];
  return v === null || v === undefined ? null : Number(v);
}
export function optBig(row: Row, key: string): bigint | null {
  const v = row[key];
  return v === null || v === undefined ? null : BigInt(v as string);
}

const SQLITE_CONSTRAINT = 19;

export function isConstraintError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  // Extended result codes keep the primary code in the low byte.
  return typeof errcode === "number" && (errcode & 0xff) === SQLITE_CONSTRAINT;
}

/** `SELECT <column>, COUNT(*) AS n … GROUP BY <column>` as a record with every key of `keys` (0 when absent). */
export function countsOf<K extends string>(keys: readonly K[], rows: Row[], column: string): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const r of rows) out[str(r, column) as K] = num(r, "n");
  return out;
}

/** `IN (…)` placeholders and their parameters for a list of values. */
export function inList(values: readonly string[]): { placeholders: string; params: Params } {
  return { placeholders: values.map((_, i) => `$s${i}`).join(", "), params: Object.fromEntries(values.map((s, i) => [`s${i}`, s])) };
}
