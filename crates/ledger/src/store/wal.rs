//! Switching a SQLite file to write-ahead logging when other processes may be doing the same.

use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

/// How long to wait between two tries of the switch.
const PAUSE: Duration = Duration::from_millis(2);

/// Puts the file `conn` has open in WAL mode (a no-op when it is already) and returns the
/// journal mode SQLite reports after it, waiting up to `wait` for other connections.
///
/// `PRAGMA journal_mode = WAL` needs the file to itself for a moment, and SQLite answers
/// `SQLITE_BUSY` at once, without calling the busy handler, when another connection holds
/// it: two processes opening a new ledger at the same moment (two batch workers started
/// together) would see one of them refused. So the switch is tried again until `wait` has
/// passed, as the busy handler would wait for any other statement.
///
/// # Errors
///
/// SQLite's error: `SQLITE_BUSY` still after `wait`, or any other at once.
pub fn switch_to_wal(conn: &Connection, wait: Duration) -> rusqlite::Result<String> {
    let deadline = Instant::now() + wait;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(error)
                if error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(PAUSE);
            }
            answer => return answer,
        }
    }
}
