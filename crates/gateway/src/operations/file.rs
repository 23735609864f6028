//! Operations in a SQLite file of their own beside a ledger file (the ledger's file holds the
//! ledger's tables only): one gateway's.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use super::{Begun, KEY_RETENTION, OperationsError, Stored, new_id, now_ms};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS operations (
        id TEXT PRIMARY KEY,
        client TEXT NOT NULL,
        idempotency_key TEXT,
        -- The SHA-256 of the request's path and body (its fingerprint), never the body.
        body_sha256 BLOB NOT NULL,
        kind TEXT NOT NULL,
        payment TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        answer TEXT,
        created_ms INTEGER NOT NULL,
        finished_ms INTEGER
    );
    CREATE UNIQUE INDEX IF NOT EXISTS operations_by_key
        ON operations(client, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS operations_by_age ON operations(created_ms);
";

/// One gateway's operations file.
pub(crate) struct FileOperations {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl FileOperations {
    /// Opens (or makes) the file. Operations a killed gateway left in flight are closed and
    /// their keys let go: their requests, repeated, go through the ledger again.
    pub(crate) fn open(path: &Path) -> Result<Self, OperationsError> {
        let fail = |source| OperationsError::new(path.display().to_string(), source);
        // Beside a ledger file its directory exists; the state directory a gateway on a
        // shared database defaults to may not yet. Made private to the user, as the ledger's
        // is; a directory that cannot be made shows as SQLite's failure to open the file.
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            if !dir.exists() {
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                if let Err(error) = builder.create(dir) {
                    tracing::warn!(dir = %dir.display(), %error, "cannot make the operations file's directory");
                }
            }
        }
        let conn = Connection::open(path).map_err(fail)?;
        let wait = Duration::from_secs(15);
        conn.busy_timeout(wait).map_err(fail)?;
        instamed_soap_ledger::switch_to_wal(&conn, wait).map_err(fail)?;
        // An answer lost in a crash only means the repeat goes through the ledger again.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        conn.execute(
            "UPDATE operations SET state = 'interrupted', idempotency_key = NULL,
                 finished_ms = ?1 WHERE state = 'in_flight'",
            [now_ms()],
        )
        .map_err(fail)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn fail(&self, source: rusqlite::Error) -> OperationsError {
        OperationsError::new(self.path.display().to_string(), source)
    }

    /// As [`Operations::begin`](super::Operations::begin), given the request's fingerprint.
    pub(crate) fn begin(
        &self,
        client: &str,
        key: Option<&str>,
        hash: &[u8],
        kind: &str,
        payment: &str,
    ) -> Result<Begun, OperationsError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.fail(e))?;
        let expired = now_ms() - i64::try_from(KEY_RETENTION.as_millis()).unwrap_or(i64::MAX);
        tx.execute(
            "DELETE FROM operations WHERE created_ms < ?1 AND state != 'in_flight'",
            [expired],
        )
        .map_err(|e| self.fail(e))?;
        if let Some(key) = key {
            let found = tx
                .query_row(
                    "SELECT body_sha256, state, status, answer FROM operations
                     WHERE client = ?1 AND idempotency_key = ?2",
                    params![client, key],
                    |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<u16>>(2)?,
                            row.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(|e| self.fail(e))?;
            if let Some((stored_hash, state, status, answer)) = found {
                let begun = if stored_hash != hash {
                    Begun::OtherBody
                } else if state == "in_flight" {
                    Begun::InFlight
                } else {
                    Begun::Stored {
                        status: status.unwrap_or(500),
                        answer: answer.unwrap_or_default(),
                    }
                };
                return Ok(begun);
            }
        }
        let id = new_id();
        tx.execute(
            "INSERT INTO operations(id, client, idempotency_key, body_sha256, kind, payment,
                 state, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'in_flight', ?7)",
            params![id, client, key, hash, kind, payment, now_ms()],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(Begun::New(id))
    }

    /// As [`Operations::finish`](super::Operations::finish).
    pub(crate) fn finish(
        &self,
        id: &str,
        status: u16,
        answer: &str,
        keep_key: bool,
    ) -> Result<(), OperationsError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute(
            "UPDATE operations SET state = 'done', status = ?2, answer = ?3, finished_ms = ?4,
                 idempotency_key = CASE WHEN ?5 THEN idempotency_key ELSE NULL END
             WHERE id = ?1",
            params![id, status, answer, now_ms(), keep_key],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// As [`Operations::get`](super::Operations::get).
    pub(crate) fn get(&self, client: &str, id: &str) -> Result<Option<Stored>, OperationsError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(
            "SELECT kind, payment, state, status, answer FROM operations
             WHERE id = ?1 AND client = ?2",
            params![id, client],
            |row| {
                Ok(Stored {
                    kind: row.get(0)?,
                    payment: row.get(1)?,
                    state: row.get(2)?,
                    status: row.get(3)?,
                    answer: row.get(4)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.fail(e))
    }
}
