//! One schema for every SQLite file this crate writes: the ledger of intents and the batch
//! journal are the same design, with one version number (SQLite's `user_version`) and one
//! migration path. A file is of one kind, said in its header's `application_id`: a ledger
//! holds the intents, a journal a batch's rows. Each kind gets only its own tables, because a
//! single command opens the ledger once and pays for parsing every table it holds.

use rusqlite::Connection;

/// The schema version this build writes and reads.
pub(crate) const VERSION: i64 = 2;

/// What a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The ledger of money-moving intents.
    Ledger,
    /// A batch's journal (built only with the batch engine; the variant stays so that one
    /// match names both kinds).
    Journal,
}

impl Kind {
    /// The header's `application_id` of each kind: "IMLG" and "IMJN" in ASCII.
    fn application_id(self) -> i64 {
        match self {
            Self::Ledger => 0x494D_4C47,
            Self::Journal => 0x494D_4A4E,
        }
    }

    fn tables(self) -> &'static str {
        match self {
            Self::Ledger => LEDGER_TABLES,
            Self::Journal => JOURNAL_TABLES,
        }
    }
}

/// Why a file cannot be used.
#[derive(Debug)]
pub(crate) enum SchemaProblem {
    /// Written by a later version of this crate: refusing it keeps that version's rows intact.
    Newer(i64),
    /// A file of the other kind (a journal given as the ledger, say), or a database of another
    /// program: using it would mix two memories, or damage one.
    OtherKind,
    /// SQLite failed (the file is not a database, say).
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaProblem {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

/// The schema version of a file of `kind`, read from its header without changing it: a newer
/// one, or a file of another kind, is refused as [`migrate`] refuses it.
pub(crate) fn version(conn: &Connection, kind: Kind) -> Result<i64, SchemaProblem> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if found > VERSION {
        return Err(SchemaProblem::Newer(found));
    }
    if id != kind.application_id() {
        return Err(SchemaProblem::OtherKind);
    }
    Ok(found)
}

/// Brings a file of `kind` to [`VERSION`], inside one transaction so that a crash leaves it
/// as it was.
///
/// Version 1 (the batch journal of earlier releases) had neither `user_version` nor
/// `application_id`; version 2 marks each file with its kind and adds the ledger. Creating a
/// table that exists is a no-op, so a journal of version 1 is brought up in place.
pub(crate) fn migrate(conn: &mut Connection, kind: Kind) -> Result<(), SchemaProblem> {
    // Both live in the file's header: reading them parses no table.
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if found > VERSION {
        return Err(SchemaProblem::Newer(found));
    }
    if id != 0 && id != kind.application_id() {
        return Err(SchemaProblem::OtherKind);
    }
    if found == VERSION && id == kind.application_id() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // A file without a mark holds nothing, or is a journal of version 1: anything else in it is
    // another program's (or a ledger opened as a journal), and is left alone.
    let foreign: i64 = tx.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN (?1, ?2, ?3, ?4)",
        match kind {
            Kind::Journal => ["meta", "rows", "attempts", "runs"],
            Kind::Ledger => ["intents", "intents", "intents", "intents"],
        },
        |row| row.get(0),
    )?;
    if foreign > 0 {
        return Err(SchemaProblem::OtherKind);
    }
    tx.execute_batch(kind.tables())?;
    if kind == Kind::Journal && found < 2 {
        // Version 1 kept its version in `meta` too: `user_version` says it now, and two
        // places that say it could come to disagree.
        tx.execute("DELETE FROM meta WHERE key = 'schema'", [])?;
    }
    tx.pragma_update(None, "application_id", kind.application_id())?;
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

/// The same schema on PostgreSQL: each migration with the version it brings a database to,
/// the versions SQLite's files have (version 1 was the journal alone, so a PostgreSQL ledger
/// begins at 2). `instamed_schema` is the mark SQLite keeps in its header: which kind of
/// memory a database holds, and at which version. `claims` is PostgreSQL's alone: which
/// process (replica) holds an entry still `sent`, and until when (its lease); a SQLite
/// ledger, one machine's, tells by the entry's process ID. Run in order, in one transaction.
pub(crate) const POSTGRES: &[(i64, &str)] = &[(
    2,
    "CREATE TABLE instamed_schema (kind TEXT PRIMARY KEY, version BIGINT NOT NULL);
    CREATE TABLE intents (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        payment TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        amount TEXT,
        refund_id TEXT,
        merchant_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        command TEXT NOT NULL,
        pid BIGINT NOT NULL,
        started_ms BIGINT NOT NULL,
        finished_ms BIGINT,
        transaction_status TEXT,
        primary_transaction_status TEXT,
        response_code TEXT,
        detail TEXT NOT NULL DEFAULT '',
        settled_by TEXT,
        settled_note TEXT
    );
    CREATE INDEX intents_payment ON intents(payment, action);
    CREATE TABLE claims (
        entry BIGINT PRIMARY KEY REFERENCES intents(id) ON DELETE CASCADE,
        replica TEXT NOT NULL,
        until_ms BIGINT NOT NULL
    );",
)];

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_migrations_end_at_the_version_sqlite_files_have() {
        let versions: Vec<i64> = super::POSTGRES.iter().map(|(v, _)| *v).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(versions.last(), Some(&super::VERSION));
    }
}
