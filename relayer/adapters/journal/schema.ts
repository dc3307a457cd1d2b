import type { DatabaseSync } from "node:sqlite";

import { RelayerError } from "../../core/errors.js";

/** One schema step. `version` is the `user_version` the database has after it; versions start at 1 and are dense. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * The step rebuilds tables that others reference: it runs with foreign keys off (they cannot be switched inside a
   * transaction) and `foreign_key_check` must come back empty before it commits.
   */
  rebuildsTables?: boolean;
}

/**
 * The journal's schema, newest last. Never edit a released step: append a new one.
 *
 * Amounts that can exceed 2^53 (units, rates, prices, job ids) are stored as decimal TEXT and parsed as bigint, so
 * nothing is rounded on the way through.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "blocks, jobs, results, receipts, batches, transactions",
    sql: `
CREATE TABLE processed_blocks (
  number        INTEGER PRIMARY KEY CHECK (number >= 0),
  hash          TEXT    NOT NULL,
  parent_hash   TEXT    NOT NULL,
  processed_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
  job_id            TEXT    PRIMARY KEY,
  state             TEXT    NOT NULL CHECK (state IN ('seen','accepted','running','done','signed','batched','settled','finalized','failed','expired','refused')),
  model             TEXT    NOT NULL,
  client            TEXT    NOT NULL,
  addressed_provider TEXT,
  max_units_milli   TEXT    NOT NULL,
  rate              TEXT    NOT NULL,
  deadline          INTEGER NOT NULL,
  input_hash        TEXT    NOT NULL,
  prompt            BLOB,
  created_block     INTEGER NOT NULL,
  created_tx_hash   TEXT    NOT NULL,
  accept_tx_hash    TEXT,
  run_attempts      INTEGER NOT NULL DEFAULT 0,
  started_at        INTEGER,
  completed_at      INTEGER,
  units_milli       TEXT,
  result_hash       TEXT,
  receipt_id        TEXT,
  receipt_hash      TEXT,
  batch_id          INTEGER,
  settle_tx_hash    TEXT,
  settle_block      INTEGER,
  failure_code      TEXT,
  failure_message   TEXT,
  refusal           TEXT,
  seen_at           INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_by_state ON jobs (state);

CREATE TABLE results (
  job_id        TEXT    PRIMARY KEY REFERENCES jobs (job_id),
  body          BLOB    NOT NULL,
  content_type  TEXT    NOT NULL,
  result_hash   TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE transactions (
  tx_id         INTEGER PRIMARY KEY AUTOINCREMENT,
  purpose       TEXT    NOT NULL CHECK (purpose IN ('accept','settle','other')),
  ref           TEXT    NOT NULL,
  to_address    TEXT    NOT NULL,
  data          TEXT    NOT NULL,
  value         TEXT    NOT NULL,
  nonce         INTEGER,
  status        TEXT    NOT NULL CHECK (status IN ('intent','pending','mined','confirmed','reverted','abandoned')),
  mined_hash    TEXT,
  mined_block   INTEGER,
  error         TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
-- One live transaction per nonce: two different payloads can never be in flight at the same nonce.
CREATE UNIQUE INDEX transactions_live_nonce ON transactions (nonce) WHERE nonce IS NOT NULL AND status <> 'abandoned';
CREATE INDEX transactions_by_status ON transactions (status);
CREATE INDEX transactions_by_ref ON transactions (purpose, ref);

CREATE TABLE tx_attempts (
  hash                     TEXT    PRIMARY KEY,
  tx_id                    INTEGER NOT NULL REFERENCES transactions (tx_id),
  max_fee_per_gas          TEXT    NOT NULL,
  max_priority_fee_per_gas TEXT    NOT NULL,
  gas_limit                TEXT    NOT NULL,
  raw                      TEXT    NOT NULL,
  sent_at                  INTEGER NOT NULL
) STRICT;
CREATE INDEX tx_attempts_by_tx ON tx_attempts (tx_id);

CREATE TABLE batches (
  batch_id      INTEGER PRIMARY KEY AUTOINCREMENT,
  root          TEXT    NOT NULL,
  items         BLOB    NOT NULL,
  item_count    INTEGER NOT NULL CHECK (item_count > 0),
  status        TEXT    NOT NULL CHECK (status IN ('intent','sent','confirmed','failed','finalized')),
  tx_id         INTEGER REFERENCES transactions (tx_id),
  tx_hash       TEXT,
  block_number  INTEGER,
  error         TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX batches_by_status ON batches (status);

CREATE TABLE receipts (
  receipt_id    TEXT    PRIMARY KEY,
  receipt_hash  TEXT    NOT NULL UNIQUE,
  leaf_hash     TEXT    NOT NULL UNIQUE,
  job_id        TEXT    NOT NULL UNIQUE REFERENCES jobs (job_id),
  client        TEXT    NOT NULL,
  provider      TEXT    NOT NULL,
  units_milli   TEXT    NOT NULL,
  price_base    TEXT    NOT NULL,
  json          TEXT    NOT NULL,
  signed_at     INTEGER NOT NULL,
  batch_id      INTEGER REFERENCES batches (batch_id)
) STRICT;
CREATE INDEX receipts_by_client ON receipts (client, signed_at DESC, receipt_id DESC);
CREATE INDEX receipts_by_provider ON receipts (provider, signed_at DESC, receipt_id DESC);
CREATE INDEX receipts_by_time ON receipts (signed_at DESC, receipt_id DESC);

-- A receipt belongs to every batch that ever carried it (a failed batch is retried under a new id).
CREATE TABLE batch_items (
  batch_id      INTEGER NOT NULL REFERENCES batches (batch_id),
  position      INTEGER NOT NULL,
  receipt_id    TEXT    NOT NULL REFERENCES receipts (receipt_id),
  proof         TEXT    NOT NULL,
  PRIMARY KEY (batch_id, position),
  UNIQUE (batch_id, receipt_id)
) STRICT;
`,
  },
  {
    version: 2,
    description: "journal identity (chain, genesis, deployment, code hashes), watcher cursor, running marker",
    sql: `
-- Key/value facts about the journal itself. Identity rows are written once, when the journal is created, and checked
-- at every start; the watcher cursor is rewritten in the same transaction as the effects of each delivery.
CREATE TABLE journal_meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 3,
    description: "watched logs for reorg undo; counters kept by triggers for /health and /metrics",
    sql: `
-- The logs the watcher delivered from the blocks still in processed_blocks: what a reorg undoes. Inserted once per
-- delivery, pruned with processed_blocks, so the stored history is bounded and never rewritten.
CREATE TABLE watched_logs (
  block_number  INTEGER NOT NULL,
  log_index     INTEGER NOT NULL,
  block_hash    TEXT    NOT NULL,
  log           TEXT    NOT NULL,
  PRIMARY KEY (block_number, log_index)
) STRICT, WITHOUT ROWID;

-- Row counts per state and status and the metered total, maintained by the triggers below in the very transaction
-- that changes a row, so /health and /metrics read a few rows instead of scanning the journal.
CREATE TABLE journal_counters (
  name  TEXT    PRIMARY KEY,
  n     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO journal_counters (name, n) VALUES
  ('jobs:seen', 0),
  ('jobs:accepted', 0),
  ('jobs:running', 0),
  ('jobs:done', 0),
  ('jobs:signed', 0),
  ('jobs:batched', 0),
  ('jobs:settled', 0),
  ('jobs:finalized', 0),
  ('jobs:failed', 0),
  ('jobs:expired', 0),
  ('jobs:refused', 0),
  ('batches:intent', 0),
  ('batches:sent', 0),
  ('batches:confirmed', 0),
  ('batches:failed', 0),
  ('batches:finalized', 0),
  ('txs:intent', 0),
  ('txs:pending', 0),
  ('txs:mined', 0),
  ('txs:confirmed', 0),
  ('txs:reverted', 0),
  ('txs:abandoned', 0),
  ('units_milli', 0),
  ('receipts', 0),
  ('tx_retries', 0);
UPDATE journal_counters SET n = (SELECT COUNT(*) FROM jobs WHERE 'jobs:' || state = journal_counters.name) WHERE name LIKE 'jobs:%';
UPDATE journal_counters SET n = (SELECT COUNT(*) FROM batches WHERE 'batches:' || status = journal_counters.name) WHERE name LIKE 'batches:%';
UPDATE journal_counters SET n = (SELECT COUNT(*) FROM transactions WHERE 'txs:' || status = journal_counters.name) WHERE name LIKE 'txs:%';
UPDATE journal_counters SET n = (SELECT COALESCE(SUM(CAST(units_milli AS INTEGER)), 0) FROM jobs WHERE units_milli IS NOT NULL) WHERE name = 'units_milli';
UPDATE journal_counters SET n = (SELECT COUNT(*) FROM receipts) WHERE name = 'receipts';
UPDATE journal_counters SET n = (SELECT COUNT(*) - COUNT(DISTINCT tx_id) FROM tx_attempts) WHERE name = 'tx_retries';

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'jobs:' || NEW.state;
  UPDATE journal_counters SET n = n + COALESCE(CAST(NEW.units_milli AS INTEGER), 0) WHERE name = 'units_milli' AND NEW.units_milli IS NOT NULL;
END;
CREATE TRIGGER jobs_count_state AFTER UPDATE OF state ON jobs WHEN OLD.state IS NOT NEW.state BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'jobs:' || OLD.state;
  UPDATE journal_counters SET n = n + 1 WHERE name = 'jobs:' || NEW.state;
END;
CREATE TRIGGER jobs_count_units AFTER UPDATE OF units_milli ON jobs WHEN OLD.units_milli IS NOT NEW.units_milli BEGIN
  UPDATE journal_counters SET n = n + COALESCE(CAST(NEW.units_milli AS INTEGER), 0) - COALESCE(CAST(OLD.units_milli AS INTEGER), 0) WHERE name = 'units_milli';
END;
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'jobs:' || OLD.state;
  UPDATE journal_counters SET n = n - COALESCE(CAST(OLD.units_milli AS INTEGER), 0) WHERE name = 'units_milli';
END;
CREATE TRIGGER receipts_count_insert AFTER INSERT ON receipts BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'receipts';
END;
CREATE TRIGGER receipts_count_delete AFTER DELETE ON receipts BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'receipts';
END;
CREATE TRIGGER batches_count_insert AFTER INSERT ON batches BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'batches:' || NEW.status;
END;
CREATE TRIGGER batches_count_status AFTER UPDATE OF status ON batches WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'batches:' || OLD.status;
  UPDATE journal_counters SET n = n + 1 WHERE name = 'batches:' || NEW.status;
END;
CREATE TRIGGER batches_count_delete AFTER DELETE ON batches BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'batches:' || OLD.status;
END;
CREATE TRIGGER txs_count_insert AFTER INSERT ON transactions BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'txs:' || NEW.status;
END;
CREATE TRIGGER txs_count_status AFTER UPDATE OF status ON transactions WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'txs:' || OLD.status;
  UPDATE journal_counters SET n = n + 1 WHERE name = 'txs:' || NEW.status;
END;
CREATE TRIGGER txs_count_delete AFTER DELETE ON transactions BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'txs:' || OLD.status;
END;
-- A retry is an attempt of a transaction that already had one.
CREATE TRIGGER attempts_count_insert AFTER INSERT ON tx_attempts BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'tx_retries' AND EXISTS (SELECT 1 FROM tx_attempts WHERE tx_id = NEW.tx_id AND hash <> NEW.hash);
END;
CREATE TRIGGER attempts_count_delete AFTER DELETE ON tx_attempts BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'tx_retries' AND EXISTS (SELECT 1 FROM tx_attempts WHERE tx_id = OLD.tx_id);
END;
`,
  },
  {
    version: 4,
    description: "job state given_back (an accepted job given back on-chain)",
    // SQLite cannot change a CHECK constraint in place: the jobs table is rebuilt (its rows, index and counting
    // triggers with it) while foreign keys are off, then checked before the step commits.
    rebuildsTables: true,
    sql: `
CREATE TABLE jobs_v4 (
  job_id            TEXT    PRIMARY KEY,
  state             TEXT    NOT NULL CHECK (state IN ('seen','accepted','running','done','signed','batched','settled','finalized','failed','expired','refused','given_back')),
  model             TEXT    NOT NULL,
  client            TEXT    NOT NULL,
  addressed_provider TEXT,
  max_units_milli   TEXT    NOT NULL,
  rate              TEXT    NOT NULL,
  deadline          INTEGER NOT NULL,
  input_hash        TEXT    NOT NULL,
  prompt            BLOB,
  created_block     INTEGER NOT NULL,
  created_tx_hash   TEXT    NOT NULL,
  accept_tx_hash    TEXT,
  run_attempts      INTEGER NOT NULL DEFAULT 0,
  started_at        INTEGER,
  completed_at      INTEGER,
  units_milli       TEXT,
  result_hash       TEXT,
  receipt_id        TEXT,
  receipt_hash      TEXT,
  batch_id          INTEGER,
  settle_tx_hash    TEXT,
  settle_block      INTEGER,
  failure_code      TEXT,
  failure_message   TEXT,
  refusal           TEXT,
  seen_at           INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;
INSERT INTO jobs_v4 SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v4 RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state);
CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
  UPDATE journal_counters SET n = n + 1 WHERE name = 'jobs:' || NEW.state;
  UPDATE journal_counters SET n = n + COALESCE(CAST(NEW.units_milli AS INTEGER), 0) WHERE name = 'units_milli' AND NEW.units_milli IS NOT NULL;
END;
CREATE TRIGGER jobs_count_state AFTER UPDATE OF state ON jobs WHEN OLD.state IS NOT NEW.state BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'jobs:' || OLD.state;
  UPDATE journal_counters SET n = n + 1 WHERE name = 'jobs:' || NEW.state;
END;
CREATE TRIGGER jobs_count_units AFTER UPDATE OF units_milli ON jobs WHEN OLD.units_milli IS NOT NEW.units_milli BEGIN
  UPDATE journal_counters SET n = n + COALESCE(CAST(NEW.units_milli AS INTEGER), 0) - COALESCE(CAST(OLD.units_milli AS INTEGER), 0) WHERE name = 'units_milli';
END;
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
  UPDATE journal_counters SET n = n - 1 WHERE name = 'jobs:' || OLD.state;
  UPDATE journal_counters SET n = n - COALESCE(CAST(OLD.units_milli AS INTEGER), 0) WHERE name = 'units_milli';
END;
INSERT INTO journal_counters (name, n) VALUES ('jobs:given_back', 0);
`,
  },
  {
    version: 5,
    description: "channel mode: signed job requests, their results and receipts, vouchers, claims",
    sql: `
-- A job of the channel mode (JobChannels): the client's signed EIP-712 request, journaled before it is acknowledged;
-- its result and the one receipt ever signed for it commit together. \`digest\` is the request's EIP-712 digest: the
-- job id of its receipt and its key everywhere. \`root\` is the claim it was anchored under.
CREATE TABLE channel_jobs (
  digest           TEXT    PRIMARY KEY,
  client           TEXT    NOT NULL,
  request_id       TEXT    NOT NULL,
  model_id         INTEGER NOT NULL,
  model            TEXT    NOT NULL,
  max_units_milli  TEXT    NOT NULL,
  rate             TEXT    NOT NULL,
  deadline         INTEGER NOT NULL,
  input_hash       TEXT    NOT NULL,
  signature        TEXT    NOT NULL,
  prompt           BLOB    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('queued','running','done','failed')),
  units_milli      TEXT,
  price            TEXT,
  result           BLOB,
  content_type     TEXT,
  result_hash      TEXT,
  receipt_json     TEXT,
  receipt_hash     TEXT,
  leaf             TEXT,
  root             TEXT,
  -- 'covered': a voucher pays the job, so it never needs a fallback claim (and leaves the candidates for one).
  fallback_status  TEXT    CHECK (fallback_status IN ('covered','sent','held','released','disputed','failed')),
  fallback_tx_id   INTEGER,
  fallback_releasable_at INTEGER,
  failure          TEXT,
  received_at      INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (client, request_id)
) STRICT;
CREATE INDEX channel_jobs_by_state ON channel_jobs (state);
CREATE INDEX channel_jobs_by_root ON channel_jobs (root);

-- The newest voucher of each client (cumulative: only the newest one is worth anything). \`pending\` is 1 until a
-- claim redeeming it landed (or the chain showed there was nothing left to redeem): the claim step reads only those.
CREATE TABLE channel_vouchers (
  client           TEXT    PRIMARY KEY,
  cumulative       TEXT    NOT NULL,
  covered_through  TEXT    NOT NULL,
  signature        TEXT    NOT NULL,
  received_at      INTEGER NOT NULL,
  pending          INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX channel_vouchers_pending ON channel_vouchers (pending);

-- One claim transaction: the receipt root it anchors (zero: none), its leaves in order (for proofs), the vouchers it
-- redeems. \`claim_id\` is the hash of root and vouchers: the idempotency key of its transaction.
CREATE TABLE channel_claims (
  claim_id    TEXT    PRIMARY KEY,
  root        TEXT    NOT NULL,
  tx_id       INTEGER NOT NULL REFERENCES transactions (tx_id),
  leaves      TEXT    NOT NULL,
  vouchers    TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('sent','confirmed','failed')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX channel_claims_by_root ON channel_claims (root);
CREATE INDEX channel_claims_by_status ON channel_claims (status);
`,
  },
];

function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/**
 * Brings the database to the newest version in `migrations`. Each step runs in its own transaction together with its
 * `user_version` bump, so a crash leaves the database at a complete version, never half-way through one.
 *
 * @returns the versions applied.
 * @throws RelayerError `JOURNAL_SCHEMA_TOO_NEW` when the file was written by a newer relayer,
 *         `JOURNAL_MIGRATION_FAILED` when a step fails (the database stays at the previous version).
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new RelayerError("JOURNAL_MIGRATION_FAILED", `migration ${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
  const latest = migrations.length;
  const current = userVersion(db);
  if (current > latest) {
    throw new RelayerError("JOURNAL_SCHEMA_TOO_NEW", `journal schema is version ${current}, this relayer knows up to ${latest}`, {
      details: { current, latest },
      hint: "run the relayer version that wrote this journal, or point it at another journal file",
    });
  }
  const applied: number[] = [];
  for (const m of migrations.slice(current)) {
    const foreignKeys = Number((db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys);
    if (m.rebuildsTables === true) db.exec("PRAGMA foreign_keys = OFF");
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(m.sql);
      if (m.rebuildsTables === true) {
        const broken = db.prepare("PRAGMA foreign_key_check").all();
        if (broken.length > 0) throw new Error(`${broken.length} row(s) break a foreign key after the rebuild`);
      }
      // PRAGMA takes no bound parameters; the version is an integer we produced.
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec("COMMIT");
    } catch (cause) {
      db.exec("ROLLBACK");
      throw new RelayerError("JOURNAL_MIGRATION_FAILED", `journal migration ${m.version} (${m.description}) failed`, {
        cause,
        details: { version: m.version },
        hint: "the journal was left at the previous version; fix the cause and restart",
      });
    } finally {
      if (m.rebuildsTables === true && foreignKeys === 1) db.exec("PRAGMA foreign_keys = ON");
    }
    applied.push(m.version);
  }
  return applied;
}
