import { RelayerError } from "../../core/errors.js";
import { str, type Sql } from "./sql.js";

/** What a journal belongs to, recorded when it is created and checked at every start. */
export interface JournalIdentity {
  chainId: string;
  /** Hash of block 0. */
  genesisHash: string;
  /** The deployment block and its hash: a chain reset (same genesis, new history) changes it. */
  anchorBlock: number;
  anchorHash: string;
  provider: string;
  contracts: { escrow: string; providerRegistry: string; modelRegistry: string };
  /** keccak256 of each contract's runtime code at creation. */
  codeHashes: { escrow: string; providerRegistry: string; modelRegistry: string };
  createdAt: number;
}

/** `journal_meta`: key/value facts about the journal itself (identity, the watcher cursor, the running marker). */
export class MetaTable {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  get(key: string): string | null {
    const row = this.#sql.get("SELECT value FROM journal_meta WHERE key = $k", { k: key });
    return row === undefined ? null : str(row, "value");
  }

  set(key: string, value: string): void {
    this.#sql.transaction(() => {
      this.#sql.run("INSERT INTO journal_meta (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = $v", { k: key, v: value });
    });
  }

  /** What chain and deployment this journal belongs to, or `null` for a journal that never recorded it. */
  identity(): JournalIdentity | null {
    const text = this.get("identity");
    return text === null ? null : (JSON.parse(text) as JournalIdentity);
  }

  /** Records the journal's identity once; a journal keeps the identity it was created with. */
  recordIdentity(identity: JournalIdentity): void {
    this.#sql.transaction(() => {
      if (this.get("identity") !== null) {
        throw new RelayerError("JOURNAL_FOREIGN", "this journal already records the chain it belongs to", {
          hint: "use a new journal path for another chain or deployment",
        });
      }
      this.set("identity", JSON.stringify(identity));
    });
  }
}
