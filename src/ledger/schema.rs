//! One schema for every SQLite file this crate writes: the ledger of intents and the batch
//! journal are the same design, so a file of either kind holds the tables of both and one
//! migration path keeps them in step. The version lives in SQLite's `user_version`.

use rusqlite::Connection;

/// The schema version this build writes and reads.
pub(crate) const VERSION: i64 = 2;

/// Why a file cannot be used.
#[derive(Debug)]
pub(crate) enum SchemaProblem {
    /// Written by a later version of this crate: refusing it keeps that version's rows intact.
    Newer(i64),
    /// SQLite failed (the file is not a database, say).
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaProblem {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

/// Brings the file to [`VERSION`], inside one transaction so that a crash leaves it as it was.
///
/// Version 1 (the batch journal of earlier releases) had no `user_version` and no `intents`;
/// version 2 adds the ledger's table. Creating a table that exists is a no-op, so the steps
/// are safe to replay on a file caught half-way by an older build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SchemaProblem> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > VERSION {
        return Err(SchemaProblem::Newer(found));
    }
    if found == VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(JOURNAL_TABLES)?;
    tx.execute_batch(LEDGER_TABLES)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The batch journal: one row per input row, one line per attempt, one per run.
const JOURNAL_TABLES: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS rows (
        seq INTEGER PRIMARY KEY,
        line INTEGER NOT NULL,
        transaction_id TEXT NOT NULL,
        id_key TEXT UNIQUE,
        merchant_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        card_present_status TEXT NOT NULL,
        extra TEXT NOT NULL,
        state TEXT NOT NULL,
        transaction_status TEXT,
        primary_transaction_status TEXT,
        response_code TEXT,
        detail TEXT NOT NULL DEFAULT '',
        refund_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        run INTEGER NOT NULL DEFAULT 0,
        step TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE IF NOT EXISTS attempts (
        id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL REFERENCES rows(seq),
        run INTEGER NOT NULL,
        action TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        verdict TEXT,
        transaction_status TEXT,
        primary_transaction_status TEXT,
        response_code TEXT,
        detail TEXT,
        refund_id TEXT,
        requests INTEGER
    );
    CREATE INDEX IF NOT EXISTS attempts_seq ON attempts(seq);
    CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        pid INTEGER NOT NULL,
        options TEXT NOT NULL
    );";

/// The ledger: one line per money-moving intent, keyed by payment and action. `state` is
/// `sent` from the intent until the answer is recorded, then a verdict's name.
const LEDGER_TABLES: &str = "
    CREATE TABLE IF NOT EXISTS intents (
        id INTEGER PRIMARY KEY,
        payment TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        amount TEXT,
        refund_id TEXT,
        merchant_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        command TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        transaction_status TEXT,
        primary_transaction_status TEXT,
        response_code TEXT,
        detail TEXT NOT NULL DEFAULT '',
        settled_by TEXT,
        settled_note TEXT
    );
    CREATE INDEX IF NOT EXISTS intents_payment ON intents(payment, action);";
