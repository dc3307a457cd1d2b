import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";

import { ChainError } from "../adapters/chain/errors.js";
import type { MinedRef, StoredTx, TxAttempt, TxIntent, TxStore } from "../adapters/chain/tx-store.js";
import type { CursorStore, WatcherCursor } from "../adapters/chain/watcher.js";
import type { Journal, TxIntentInput, TxRecord } from "../adapters/journal/journal.js";
import { isRelayerError } from "../core/errors.js";

const PURPOSES: ReadonlySet<string> = new Set(["accept", "settle", "other"]);

function toStored(tx: TxRecord): StoredTx {
  return {
    id: tx.txId,
    purpose: tx.purpose,
    key: tx.ref,
    to: tx.to,
    data: tx.data,
    value: tx.value,
    // The journal does not keep a requested limit: every first attempt is estimated, which also refuses a
    // transaction that would revert before it costs a nonce.
    gasLimit: null,
    nonce: tx.nonce,
    status: tx.status,
    minedHash: tx.minedHash,
    minedBlock: tx.minedBlock,
    error: tx.error,
    attempts: tx.attempts.map((a) => ({
      hash: a.hash,
      nonce: a.nonce,
      maxFeePerGas: a.maxFeePerGas,
      maxPriorityFeePerGas: a.maxPriorityFeePerGas,
      gasLimit: a.gasLimit,
      raw: a.raw,
      sentAt: a.sentAt,
    })),
    createdAt: tx.createdAt,
    updatedAt: tx.updatedAt,
  };
}

/** Journal errors become the store's own code, so the sender treats them like any other store refusal. */
function translated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isRelayerError(error, "JOURNAL_TX_STATE") || isRelayerError(error, "JOURNAL_TX_NOT_FOUND")) {
      throw new ChainError("TX_STORE_STATE", error.message, { cause: error, details: error.details });
    }
    throw error;
  }
}

/**
 * The transaction sender's store on the relayer journal, so outgoing transactions live in the same SQLite file (and
 * the same crash-safety) as the jobs they serve.
 *
 * One difference from the in-memory store: a key whose transaction reverted is free again (the journal's
 * `findLiveTx` skips reverted records). The app relies on it: a job whose accept reverted because a group member was
 * taken may be accepted again alone under the same key.
 */
export class JournalTxStore implements TxStore {
  readonly #journal: Journal;

  constructor(journal: Journal) {
    this.#journal = journal;
  }

  createIntent(intent: TxIntent, now: number): StoredTx {
    if (!PURPOSES.has(intent.purpose)) {
      throw new ChainError("TX_INVALID_REQUEST", `purpose ${intent.purpose} is not one the journal records`, {
        hint: "use accept, settle or other",
      });
    }
    return this.#journal.transaction(() => {
      const existing = this.#journal.findLiveTx(intent.purpose as TxIntentInput["purpose"], intent.key);
      if (existing !== null) {
        throw new ChainError("TX_KEY_CONFLICT", `a transaction for ${intent.purpose}/${intent.key} already exists`, {
          details: { id: existing.txId, status: existing.status },
          hint: "look the existing transaction up instead of creating another",
        });
      }
      const id = this.#journal.recordTxIntent(
        { purpose: intent.purpose as TxIntentInput["purpose"], ref: intent.key, to: intent.to, data: intent.data, value: intent.value },
        now,
      );
      return toStored(this.#journal.getTx(id) as TxRecord);
    });
  }

  findByKey(purpose: string, key: string): StoredTx | null {
    if (!PURPOSES.has(purpose)) return null;
    const tx = this.#journal.findLiveTx(purpose as TxIntentInput["purpose"], key);
    return tx === null ? null : toStored(tx);
  }

  get(id: number): StoredTx | null {
    const tx = this.#journal.getTx(id);
    return tx === null ? null : toStored(tx);
  }

  recordAttempt(id: number, attempt: TxAttempt, now: number): void {
    translated(() =>
      this.#journal.recordTxAttempt(
        id,
        {
          hash: attempt.hash,
          nonce: attempt.nonce,
          maxFeePerGas: attempt.maxFeePerGas,
          maxPriorityFeePerGas: attempt.maxPriorityFeePerGas,
          gasLimit: attempt.gasLimit,
          raw: attempt.raw,
        },
        now,
      ),
    );
  }

  markMined(id: number, mined: MinedRef, now: number): void {
    translated(() => this.#journal.markTxMined(id, mined, now));
  }

  markUnmined(id: number, now: number): void {
    translated(() => this.#journal.markTxUnmined(id, now));
  }

  markConfirmed(id: number, now: number): void {
    translated(() => this.#journal.markTxConfirmed(id, now));
  }

  markReverted(id: number, mined: MinedRef, error: string, now: number): void {
    translated(() => this.#journal.markTxReverted(id, mined, error, now));
  }

  markAbandoned(id: number, error: string, now: number): void {
    translated(() => this.#journal.markTxAbandoned(id, error, now));
  }

  listOpen(): StoredTx[] {
    return this.#journal.listOpenTxs().map(toStored);
  }

  nextNonceHint(): number | null {
    return this.#journal.nextNonceHint();
  }
}

/**
 * The event watcher's cursor (with the recent block marks it needs to undo a reorg) in a JSON file beside the journal,
 * replaced atomically (temp file, fsync, rename).
 *
 * The watcher saves the cursor after the consumer has applied a delivery, so a crash in between re-delivers that
 * range: the consumer's handlers are idempotent (a job already journaled is not inserted again, an event for a job
 * already past it is ignored), which makes at-least-once delivery exactly-once in effect.
 */
export class FileCursorStore implements CursorStore {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  load(): WatcherCursor | null {
    let text: string;
    try {
      text = readFileSync(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const parsed = JSON.parse(text) as { format?: unknown; cursor?: WatcherCursor };
    if (parsed.format !== 1 || parsed.cursor === undefined || !Number.isSafeInteger(parsed.cursor.blockNumber)) {
      throw new ChainError("CHAIN_INVALID_CONFIG", `watcher cursor file ${this.#file} is not valid`, {
        hint: "delete the file: the watcher then re-reads events from the deployment block, and the journal skips what it already knows",
      });
    }
    return parsed.cursor;
  }

  save(cursor: WatcherCursor): void {
    mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify({ format: 1, cursor }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#file);
  }
}
