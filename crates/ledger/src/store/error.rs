//! How the ledger fails, and SQLite's errors said as the ledger's.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// The ledger refused to open, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The directory or the file cannot be made or opened.
    #[error("cannot open the ledger {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a ledger of this program (a batch journal, another program's database,
    /// or no database at all).
    #[error("{} is not a ledger of this program", path.display())]
    NotALedger {
        /// The file.
        path: PathBuf,
    },
    /// A later version wrote the file; this one leaves it alone.
    #[error("{} was written by a later version (schema {version}); use that version", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// The schema version found.
        version: i64,
    },
    /// An earlier version wrote the file, and this open may not bring it up (it reads only).
    #[error(
        "{} is of an earlier version (schema {version}): a command that writes brings it up to \
         date; one that only reads leaves it as it is",
        path.display()
    )]
    Older {
        /// The file.
        path: PathBuf,
        /// The schema version found.
        version: i64,
    },
    /// Another process held the ledger longer than this one waits.
    #[error("the ledger {} stayed busy with another process's write", path.display())]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// A person tried to settle an entry whose process still runs: it may be in flight.
    #[error(
        "ledger entry {entry} is still in flight in process {pid}: wait for that command to \
         end (its answer settles it) before settling it by hand"
    )]
    InFlight {
        /// The entry.
        entry: i64,
        /// The process that sent it.
        pid: u32,
    },
    /// SQLite failed.
    #[error("ledger database error")]
    Sqlite(#[source] rusqlite::Error),
    /// PostgreSQL failed, or held what this build cannot read. Its messages never hold the
    /// connection URL's password.
    #[error("ledger database error")]
    Postgres(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl LedgerError {
    pub(crate) fn postgres(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Postgres(Box::new(error))
    }
}

/// The same failure again, for each decision of a group that shares it.
pub(super) fn again(path: &Path, error: &LedgerError) -> LedgerError {
    match error {
        LedgerError::Open { path, source } => LedgerError::Open {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        LedgerError::NotALedger { path } => LedgerError::NotALedger { path: path.clone() },
        LedgerError::Newer { path, version } => LedgerError::Newer {
            path: path.clone(),
            version: *version,
        },
        LedgerError::Older { path, version } => LedgerError::Older {
            path: path.clone(),
            version: *version,
        },
        LedgerError::Busy { path } => LedgerError::Busy { path: path.clone() },
        LedgerError::InFlight { entry, pid } => LedgerError::InFlight {
            entry: *entry,
            pid: *pid,
        },
        LedgerError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            classify(path, rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        LedgerError::Postgres(error) => LedgerError::Postgres(Box::new(std::io::Error::other(
            crate::chain(error.as_ref()),
        ))),
        LedgerError::Sqlite(other) => classify(
            path,
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(other.to_string()),
            ),
        ),
    }
}

/// The error of a group whose transaction SQLite rolled back before its commit.
pub(super) fn abandoned(path: &Path) -> LedgerError {
    classify(
        path,
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some("the transaction was rolled back before its commit".to_owned()),
        ),
    )
}

pub(crate) fn classify(path: &Path, error: rusqlite::Error) -> LedgerError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => LedgerError::NotALedger {
            path: path.to_owned(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Busy {
            path: path.to_owned(),
        },
        _ => LedgerError::Sqlite(error),
    }
}
