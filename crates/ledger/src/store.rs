//! The ledger's file: opening it, reading what it holds about a payment, writing intents and
//! verdicts. Several processes may share one file (a batch and single commands, say): SQLite's
//! WAL lets them read at once, and writers take turns, waiting up to [`BUSY_WAIT`].

use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior, params};

use super::finding::Finding;
use super::schema::{self, Kind, SchemaProblem};
use super::stored;
use super::verdict::Verdict;
use instamed_soap::{Outlet, TransactionId};

mod entry;
mod error;
mod postgres;
mod wal;
mod writer;

pub(crate) use entry::IntentState;
pub use entry::{Action, Entry, Standing};
pub use error::LedgerError;
use error::classify;
use postgres::Postgres;
pub use wal::switch_to_wal;
use writer::{Immediate, Shared, Unawaited, in_group, writing};

/// The WAL's size, in pages, at which a commit checkpoints it: a few dozen commands' worth.
const WAL_PAGES: i64 = 64;

/// The WAL's size, in pages, at which a ledger with its own thread (a service, committing in
/// groups) checkpoints it: SQLite's default. A checkpoint costs two flushes and the copy of
/// every page the WAL changed, and a service's process reads the WAL once, at start.
const SERVICE_WAL_PAGES: i64 = 1000;

/// How long a claim on a payment holds on PostgreSQL unless [`Ledger::with_lease`] says
/// otherwise: a void's attempts with their back-off end well within it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// How long a writer waits for another process's transaction before giving up.
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// The query of the entries that meet `$condition`, a literal: written out at compile time,
/// so that the statement cache finds it without the query being formatted at every read.
macro_rules! entries_where {
    ($condition:literal) => {
        concat!(
            "SELECT id, payment, action, state, amount, refund_id, command, pid, started_ms,
                finished_ms, transaction_status, primary_transaction_status, response_code, detail,
                merchant_id, store_id, terminal_id,
                settled_by, settled_note
             FROM intents WHERE ",
            $condition
        )
    };
}

/// The ledger of money-moving intents, in one SQLite file or a PostgreSQL database (see the
/// [module](super) docs).
///
/// The guarded commands ([`void`](Self::void), [`refund`](Self::refund), …) hand their
/// decisions and verdicts to the ledger's own thread, which commits them in groups, so an async
/// caller never blocks its runtime on SQLite or the disk; the other methods use the connection
/// on the caller's thread.
pub struct Ledger {
    engine: Engine,
    command: String,
    /// Verdicts this process heard and could not write (the database was down, the disk
    /// full), oldest first: written before its next decision ([`Ledger::intend`]) or readiness
    /// check ([`Ledger::write_owed_verdicts`]), so that an answer it knew is not left for a
    /// reconciliation or a person to find again.
    owed: Arc<Mutex<Vec<Owed>>>,
    /// Held while the owed verdicts are written: they are taken out of `owed` first, so a
    /// decision that came meanwhile would find none left and decide before they were all
    /// written. It holds when the last drain stopped on a verdict it could not write.
    draining: tokio::sync::Mutex<Option<Instant>>,
    /// Drains begun (the tests' window on them).
    #[cfg(test)]
    drains: AtomicUsize,
}

/// A verdict owed to the ledger: [`Ledger::record`]'s arguments, kept until they are written.
#[derive(Debug, Clone)]
struct Owed {
    id: i64,
    answer: Finding,
    durable: bool,
    after_void: bool,
}

/// Where the rows are kept: the money rules above it are the same for both.
enum Engine {
    Sqlite {
        shared: Arc<Shared>,
        /// The ledger's own thread, which commits the decisions and verdicts of async callers
        /// in groups (see [`Ledger::intend`]); started by the first of them, joined when
        /// dropped.
        writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    },
    Postgres {
        pg: Arc<Postgres>,
        /// Told how long each commit of an intent or a verdict took.
        on_commit: Option<CommitObserver>,
    },
}

/// The ledger's rows inside one of its transactions, whichever engine keeps them: what the
/// batch journal reads and writes while deciding a group of rows.
pub(crate) trait Book {
    /// Everything the ledger holds about `payment` (on PostgreSQL, locked for the rest of the
    /// transaction against other deciders).
    fn standing(&mut self, payment: &TransactionId) -> Result<Standing, LedgerError>;
    /// Writes an intent, returning its entry's number.
    fn insert_intent(
        &mut self,
        outlet: Option<&Outlet>,
        payment: &TransactionId,
        action: Action,
        amount: Option<&str>,
        command: &str,
    ) -> Result<i64, LedgerError>;
    /// Writes a verdict on entry `id` ([`record_in`]).
    fn record(&mut self, id: i64, answer: &Finding) -> Result<(), LedgerError>;
    /// Deletes entry `id` if it is still only an intent ([`withdraw_intent`]).
    fn withdraw(&mut self, id: i64) -> Result<(), LedgerError>;
    /// Replaces entry `id`'s detail while it is still only `sent` (a Single Sign-On void's
    /// token, before its page is handed out).
    fn set_detail(&mut self, id: i64, detail: &str) -> Result<(), LedgerError>;
    /// Whether another process has a request about `payment` out now, answered at once: on
    /// PostgreSQL, a live claim of another replica; on SQLite, one machine's file, an entry
    /// still `sent` by another process that still runs, written less than [`DEFAULT_LEASE`]
    /// ago (a process ID the system gave again cannot hold a payment for ever). A decider that
    /// finds one waits (PostgreSQL's `intend`) or passes the payment over and comes back to it
    /// (a batch).
    fn claimed_elsewhere(&mut self, payment: &TransactionId) -> Result<bool, LedgerError>;
    /// Gives up the claims `claimant` left: a process that knows it (a batch re-run on its
    /// journal, whose lock proves the run before it dead) frees its payments at once rather
    /// than after their leases. Nothing on SQLite, which tells a dead process by its ID.
    fn release_claims(&mut self, _claimant: &str) -> Result<(), LedgerError> {
        Ok(())
    }
    /// Entry `id`, if the ledger holds one; on PostgreSQL, its payment locked for the rest of
    /// the transaction against other writers (a verdict arriving while a person settles).
    fn entry(&mut self, id: i64) -> Result<Option<Entry>, LedgerError>;
    /// Records a person's settlement of entry `id` ([`Ledger::settle`]): `verdict`, the
    /// refund's ID when one is given, who and why; only while the entry still stands at `was`
    /// and no person settled it. Whether it did.
    fn settle(
        &mut self,
        id: i64,
        was: IntentState,
        verdict: Verdict,
        refund_id: Option<&str>,
        by: &str,
        note: &str,
    ) -> Result<bool, LedgerError>;
}

/// The ledger's rows inside a SQLite transaction.
struct SqliteBook<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Book for SqliteBook<'_> {
    fn standing(&mut self, payment: &TransactionId) -> Result<Standing, LedgerError> {
        standing_in(self.conn, payment).map_err(|e| classify(self.path, e))
    }

    fn insert_intent(
        &mut self,
        outlet: Option<&Outlet>,
        payment: &TransactionId,
        action: Action,
        amount: Option<&str>,
        command: &str,
    ) -> Result<i64, LedgerError> {
        insert_intent(self.conn, outlet, payment, action, amount, command)
            .map_err(|e| classify(self.path, e))
    }

    fn record(&mut self, id: i64, answer: &Finding) -> Result<(), LedgerError> {
        record_in(self.conn, id, answer, true).map_err(|e| classify(self.path, e))
    }

    fn withdraw(&mut self, id: i64) -> Result<(), LedgerError> {
        withdraw_intent(self.conn, id).map_err(|e| classify(self.path, e))
    }

    fn set_detail(&mut self, id: i64, detail: &str) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "UPDATE intents SET detail = ?2 WHERE id = ?1 AND state = ?3",
                params![id, detail, IntentState::Sent],
            )
            .map(drop)
            .map_err(|e| classify(self.path, e))
    }

    fn claimed_elsewhere(&mut self, payment: &TransactionId) -> Result<bool, LedgerError> {
        let sent = select(
            self.conn,
            entries_where!("payment = ?1 AND state = ?2"),
            params![key(payment), IntentState::Sent],
        )
        .map_err(|e| classify(self.path, e))?;
        let fresh = SystemTime::now()
            .checked_sub(DEFAULT_LEASE)
            .unwrap_or(UNIX_EPOCH);
        Ok(sent.iter().any(|entry| {
            entry.pid != this_process() && !entry.process_ended() && entry.started > fresh
        }))
    }

    fn entry(&mut self, id: i64) -> Result<Option<Entry>, LedgerError> {
        // The transaction is `IMMEDIATE`: no other writer runs until it ends.
        select(self.conn, entries_where!("id = ?1"), [id])
            .map(|mut found| found.pop())
            .map_err(|e| classify(self.path, e))
    }

    fn settle(
        &mut self,
        id: i64,
        was: IntentState,
        verdict: Verdict,
        refund_id: Option<&str>,
        by: &str,
        note: &str,
    ) -> Result<bool, LedgerError> {
        self.conn
            .execute(
                "UPDATE intents SET state = ?2, refund_id = COALESCE(?3, refund_id),
                     settled_by = ?4, settled_note = ?5, finished_ms = ?6
                 WHERE id = ?1 AND state = ?7 AND settled_by IS NULL",
                params![
                    id,
                    IntentState::Answered(verdict),
                    refund_id,
                    by,
                    note,
                    now_ms(),
                    was
                ],
            )
            .map(|changed| changed == 1)
            .map_err(|e| classify(self.path, e))
    }
}

/// Runs `work`, which may block (on the connection, a flush, PostgreSQL), so that the other
/// tasks of a multi-threaded runtime it is called on go on meanwhile: its worker's other work
/// moves to another thread. Plainly elsewhere (no runtime, or one of a single thread, which
/// has nowhere to move it).
pub(crate) fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `work`, which blocks on PostgreSQL, off an async caller's worker thread when there is
/// a runtime to hand it to.
async fn blocking<T, F>(work: F) -> Result<T, LedgerError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LedgerError> + Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|panicked| {
            Err(LedgerError::postgres(std::io::Error::other(format!(
                "the ledger's call panicked: {panicked}"
            ))))
        })
}

/// Told the duration of each commit of an intent or a verdict, and whether it was flushed to
/// disk (an intent) or left to the operating system (a verdict).
pub type CommitObserver = std::sync::Arc<dyn Fn(Duration, bool) + Send + Sync>;

/// Tells `observer` of a commit that is done. A panic in it (a bug in a service's metrics)
/// is said and goes no further: unwinding from here, the commit's callers would be told
/// their work failed although it is written, and an intent's caller would not send what the
/// ledger says is out.
pub(crate) fn observe(observer: &CommitObserver, took: Duration, durable: bool) {
    let told = std::panic::AssertUnwindSafe(|| observer(took, durable));
    if std::panic::catch_unwind(told).is_err() {
        tracing::error!("the ledger's commit observer panicked; the commit stands");
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field(
                "engine",
                &match self.engine {
                    Engine::Sqlite { .. } => "sqlite",
                    Engine::Postgres { .. } => "postgres",
                },
            )
            .field("path", &self.path())
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Where single commands keep the ledger when none is chosen:
    /// `$XDG_STATE_HOME/instamed-soap/ledger.db`, or `~/.local/state/instamed-soap/ledger.db`.
    /// `None` when neither variable gives an absolute directory.
    pub fn default_path() -> Option<PathBuf> {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let state = absolute("XDG_STATE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".local").join("state")))?;
        Some(state.join("instamed-soap").join("ledger.db"))
    }

    /// Opens (or creates) the ledger at `path`, making its directory (private to the user)
    /// when missing. The file may be shared with other processes.
    ///
    /// A `postgres://` (or `postgresql://`) URL opens the ledger in that PostgreSQL database
    /// instead, making or migrating its table: the same rules, for processes on several
    /// machines (see `docs/ledger.md`). The URL's password is never shown: [`path`](Self::path)
    /// and every error name the database without it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        if let Some(url) = database_url(path.as_ref()) {
            return Self::on_postgres(url, false, "library");
        }
        let path = path.as_ref().to_owned();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            if !dir.exists() {
                make_private_dir(dir).map_err(|source| LedgerError::Open {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        let fail = |error: rusqlite::Error| classify(&path, error);
        let mut conn = Connection::open(&path).map_err(fail)?;
        conn.busy_timeout(BUSY_WAIT).map_err(fail)?;
        let mode = switch_to_wal(&conn, BUSY_WAIT).map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::NotALedger { path });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        // A single command opens the ledger once: a checkpoint when it closes would cost two
        // flushes and the WAL's deletion, and the next command would flush a new WAL's header
        // and its directory again. So the WAL outlives the process, checkpointed by SQLite
        // once it holds WAL_PAGES pages: small, because the first connection of each process
        // reads the whole WAL to rebuild its index.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(fail)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)
            .map_err(fail)?;
        schema::migrate(&mut conn, Kind::Ledger).map_err(|problem| match problem {
            SchemaProblem::Newer(version) => LedgerError::Newer {
                path: path.clone(),
                version,
            },
            SchemaProblem::OtherKind => LedgerError::NotALedger { path: path.clone() },
            SchemaProblem::Sqlite(error) => classify(&path, error),
        })?;
        Ok(Self::of(conn, path, "library"))
    }

    /// Opens an existing ledger to read it only (`batch --dry-run`): it is never created,
    /// migrated or switched to WAL mode, and the connection refuses every write.
    pub fn open_to_read(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        if let Some(url) = database_url(path.as_ref()) {
            return Self::on_postgres(url, true, "dry run");
        }
        let path = path.as_ref().to_owned();
        let fail = |error: rusqlite::Error| classify(&path, error);
        // Read-write but never create: a read-only connection cannot take part in WAL's
        // shared memory on a file no writer has opened yet; `query_only` forbids the writes.
        let conn = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        conn.busy_timeout(BUSY_WAIT).map_err(fail)?;
        conn.pragma_update(None, "query_only", true).map_err(fail)?;
        // The last connection to close would otherwise copy the WAL into the file: no change
        // of content, but a write all the same.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(fail)?;
        match schema::version(&conn, Kind::Ledger) {
            Ok(version) if version == schema::VERSION => {}
            Ok(version) => {
                return Err(LedgerError::Older {
                    path: path.clone(),
                    version,
                });
            }
            Err(SchemaProblem::Newer(version)) => {
                return Err(LedgerError::Newer {
                    path: path.clone(),
                    version,
                });
            }
            Err(SchemaProblem::OtherKind) => {
                return Err(LedgerError::NotALedger { path: path.clone() });
            }
            Err(SchemaProblem::Sqlite(error)) => return Err(classify(&path, error)),
        }
        Ok(Self::of(conn, path, "dry run"))
    }

    fn of(conn: Connection, path: PathBuf, command: &str) -> Self {
        Self {
            engine: Engine::Sqlite {
                shared: Arc::new(Shared::new(conn, path)),
                writer: Mutex::new(None),
            },
            command: command.to_owned(),
            owed: Arc::default(),
            draining: tokio::sync::Mutex::default(),
            #[cfg(test)]
            drains: AtomicUsize::new(0),
        }
    }

    fn on_postgres(url: &str, read_only: bool, command: &str) -> Result<Self, LedgerError> {
        Ok(Self {
            engine: Engine::Postgres {
                pg: Arc::new(Postgres::open(url, read_only)?),
                on_commit: None,
            },
            command: command.to_owned(),
            owed: Arc::default(),
            draining: tokio::sync::Mutex::default(),
            #[cfg(test)]
            drains: AtomicUsize::new(0),
        })
    }

    /// Whether `location` names a PostgreSQL database (a `postgres://` URL) rather than a
    /// SQLite file.
    pub fn is_database_url(location: &Path) -> bool {
        database_url(location).is_some()
    }

    /// How long, on PostgreSQL, a process's claim on a payment holds while its request is out
    /// (default [`DEFAULT_LEASE`]): another process asking about the payment meanwhile waits
    /// for its answer; past it, the claimant is taken to have died mid-call, and the void is
    /// reconciled (a refund held for a person) as a resumed batch does. Longer than a call
    /// with its retries takes; a SQLite ledger, one machine's, tells by the process instead.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        if let Engine::Postgres { pg, .. } = &mut self.engine {
            // Set before the ledger is shared: a ledger already shared keeps its lease.
            if let Some(pg) = Arc::get_mut(pg) {
                pg.lease = lease;
            }
        }
        self
    }

    /// How long a process's claim on a payment holds for the others: on PostgreSQL its lease
    /// ([`with_lease`](Self::with_lease)); on SQLite, how long an entry of a live process is
    /// taken as out ([`DEFAULT_LEASE`]).
    pub(crate) fn claim_lease(&self) -> Duration {
        match &self.engine {
            Engine::Sqlite { .. } => DEFAULT_LEASE,
            Engine::Postgres { pg, .. } => pg.lease,
        }
    }

    /// The SQLite engine's connection and queue, or the PostgreSQL engine.
    fn sqlite(&self) -> Result<&Arc<Shared>, &Arc<Postgres>> {
        match &self.engine {
            Engine::Sqlite { shared, .. } => Ok(shared),
            Engine::Postgres { pg, .. } => Err(pg),
        }
    }

    /// Names the command that writes this ledger's intents (shown to whoever reads them later).
    pub fn with_command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }

    /// Tells `observer` how long each commit of an intent or a verdict takes: what a service
    /// reports as its ledger's commit latency.
    pub fn with_commit_observer(mut self, observer: CommitObserver) -> Self {
        match &mut self.engine {
            // Set once, before the ledger is shared: a second observer would be a caller's
            // mistake, and the first one stays.
            Engine::Sqlite { shared, .. } => {
                let _ = shared.on_commit.set(observer);
            }
            Engine::Postgres { on_commit, .. } => {
                on_commit.get_or_insert(observer);
            }
        }
        self
    }

    /// Lets a void's verdict be committed by the ledger's thread while its caller goes on (a
    /// service's answer need not wait for it), as long as the ledger lives: a ledger dropped
    /// commits what is queued first. Without a flush, a void's verdict lost in a crash leaves
    /// its entry in flight, which the next command reconciles: a request, never money; a
    /// refund's verdict is always awaited and flushed. Reads through this ledger wait for the
    /// verdicts queued before them, so a caller reads what it wrote. No effect on PostgreSQL.
    pub fn with_verdicts_unawaited(self) -> Self {
        if let Engine::Sqlite { shared, .. } = &self.engine {
            shared.verdicts_unawaited.store(true, Ordering::Relaxed);
        }
        self
    }

    /// Whether the ledger can be written now: a write transaction is begun and rolled back,
    /// writing nothing (a service's readiness).
    pub fn check_writable(&self) -> Result<(), LedgerError> {
        let shared = match self.sqlite() {
            Ok(shared) => shared,
            Err(pg) => return pg.check_writable(),
        };
        let mut conn = shared.settled();
        let fail = |e| classify(&shared.path, e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.rollback().map_err(fail)
    }

    /// This opening's name on its claims (PostgreSQL's `HOST:PID:RANDOM`); `None` on SQLite,
    /// whose entries name their process.
    pub(crate) fn claimant(&self) -> Option<&str> {
        match &self.engine {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { pg, .. } => Some(pg.replica()),
        }
    }

    /// The command named by [`with_command`](Self::with_command).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The ledger's file, or its database's URL without the password.
    pub fn path(&self) -> &Path {
        match &self.engine {
            Engine::Sqlite { shared, .. } => &shared.path,
            Engine::Postgres { pg, .. } => pg.location(),
        }
    }

    /// Everything the ledger holds about `payment`.
    pub fn standing(&self, payment: &TransactionId) -> Result<Standing, LedgerError> {
        let shared = match self.sqlite() {
            Ok(shared) => shared,
            Err(pg) => return pg.standing(payment),
        };
        let conn = shared.settled();
        standing_in(&conn, payment).map_err(|e| classify(&shared.path, e))
    }

    /// Entries whose outcome is open (in flight, lost, unknown), newest first: the work of a
    /// person, or of the next reconciliation.
    pub fn open_entries(&self) -> Result<Vec<Entry>, LedgerError> {
        let condition = stored::sql_in("state", &IntentState::OPEN);
        let shared = match self.sqlite() {
            Ok(shared) => shared,
            Err(pg) => return pg.select(&format!("{condition} ORDER BY id DESC"), &[]),
        };
        let conn = shared.settled();
        let query = format!("{}{condition} ORDER BY id DESC", entries_where!(""));
        select(&conn, &query, []).map_err(|e| classify(&shared.path, e))
    }

    /// Voids left open by a process that is gone, for a background reconciliation: answered
    /// with an unknown outcome, or still `sent` by a process that has ended (on PostgreSQL,
    /// whose lease ran out). On PostgreSQL each is claimed for this process as it is taken
    /// (`FOR UPDATE SKIP LOCKED`), so replicas sweeping at once share the work and never take
    /// one void twice; at most `limit`, oldest first.
    pub fn claim_lost_voids(&self, limit: u32) -> Result<Vec<Entry>, LedgerError> {
        if let Err(pg) = self.sqlite() {
            return pg.claim_lost_voids(limit);
        }
        let mut lost: Vec<Entry> = self
            .open_entries()?
            .into_iter()
            .filter(|entry| {
                entry.action == Action::Void
                    && match entry.verdict {
                        None => entry.process_ended(),
                        Some(verdict) => verdict == Verdict::Unknown,
                    }
            })
            .collect();
        lost.reverse();
        lost.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(lost)
    }

    /// Entries matching `condition` (with its ordering), SQL that both engines read, whose one
    /// parameter `$1` is `param` (SQLite reads `$1` as a parameter too).
    pub(crate) fn entries_matching(
        &self,
        condition: &str,
        param: i64,
    ) -> Result<Vec<Entry>, LedgerError> {
        let shared = match self.sqlite() {
            Ok(shared) => shared,
            Err(pg) => return pg.select(condition, &[&param]),
        };
        let conn = shared.settled();
        let query = format!("{}{condition}", entries_where!(""));
        select(&conn, &query, [param]).map_err(|e| classify(&shared.path, e))
    }

    /// The last `limit` entries, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<Entry>, LedgerError> {
        let shared = match self.sqlite() {
            Ok(shared) => shared,
            Err(pg) => return pg.select("TRUE ORDER BY id DESC LIMIT $1", &[&i64::from(limit)]),
        };
        let conn = shared.settled();
        select(
            &conn,
            entries_where!("1 ORDER BY id DESC LIMIT ?1"),
            [limit],
        )
        .map_err(|e| classify(&shared.path, e))
    }

    /// Decides, inside one write transaction, whether to send: `decide` sees what the ledger
    /// holds about the request's payment and returns its plan; when the plan sends, the intent
    /// is written and flushed to disk before this returns, with the entry's number.
    pub(crate) async fn intend<'o, P, F>(
        &self,
        command: &str,
        outlet: impl Into<Option<&'o Outlet>>,
        payment: &TransactionId,
        amount: Option<&str>,
        decide: F,
    ) -> Result<(P, Option<Intent>), LedgerError>
    where
        P: Sends + Send + 'static,
        F: FnOnce(&Standing) -> P + Send + 'static,
    {
        // First what this process already knows: decided without it, the payment of a verdict
        // it could not write would look in flight, and be reconciled or held for a person
        // (unless the database refused them again while this decision waited).
        self.write_owed_verdicts().await;
        let (outlet, payment) = (outlet.into().cloned(), payment.clone());
        let (amount, command) = (amount.map(str::to_owned), command.to_owned());
        let (shared, writer) = match &self.engine {
            Engine::Sqlite { shared, writer } => (shared, writer),
            Engine::Postgres { pg, on_commit } => {
                let (pg, observer) = (pg.clone(), on_commit.clone());
                // PostgreSQL's verdicts always look for earlier voids to settle.
                return blocking(move || {
                    pg.intend(
                        outlet.as_ref(),
                        &payment,
                        amount.as_deref(),
                        &command,
                        observer.as_ref(),
                        decide,
                    )
                })
                .await
                .map(|(plan, id)| {
                    let intent = id.map(|id| Intent {
                        id,
                        after_void: true,
                    });
                    (plan, intent)
                });
            }
        };
        // Its one write, the intent, is its last statement: atomic.
        in_group(shared, writer, true, true, move |conn| {
            let standing = standing_in(conn, &payment)?;
            let plan = decide(&standing);
            let intent = match plan.sends() {
                Some(action) => Some(Intent {
                    id: insert_intent(
                        conn,
                        outlet.as_ref(),
                        &payment,
                        action,
                        amount.as_deref(),
                        &command,
                    )?,
                    after_void: standing.of(Action::Void).next().is_some(),
                }),
                None => None,
            };
            Ok((plan, intent))
        })
        .await
    }

    /// Records the verdict of entry `id`. `durable` flushes it to disk: a refund's verdict must
    /// be (lost, its entry would look in flight and hold the payment for a person), a void's
    /// need not (lost, its entry looks in flight and the next command reconciles it: a request,
    /// never money).
    ///
    /// `after_void` says whether the payment may hold earlier voids ([`Intent::after_void`]):
    /// only then can a definite verdict have earlier voids to settle, and only then is the
    /// verdict more than one statement.
    ///
    /// A verdict that cannot be written is owed: kept in this process and written before its
    /// next decision, or by [`write_owed_verdicts`](Self::write_owed_verdicts). Until then its
    /// entry looks in flight, as it would after a crash.
    pub(crate) async fn record(
        &self,
        id: i64,
        answer: &Finding,
        durable: bool,
        after_void: bool,
    ) -> Result<(), LedgerError> {
        let written = self.write_verdict(id, answer, durable, after_void).await;
        if written.is_err() {
            self.owed_verdicts().push(Owed {
                id,
                answer: answer.clone(),
                durable,
                after_void,
            });
        }
        written
    }

    /// Writes the verdicts this process heard and could not write (the database down, the
    /// disk full), oldest first, until one fails again: that one and the later
    /// ones stay owed. A service calls it when asked whether it is ready, so that an idle
    /// process settles its entries once its database is back; every decision calls it first.
    ///
    /// One caller writes them at a time, and the others wait for it. A caller whose wait
    /// ended on a drain that failed after it came does not try again (during an outage each
    /// would otherwise wait for the database once per caller before it) and goes on with the
    /// verdicts still owed; the next caller tries again.
    pub async fn write_owed_verdicts(&self) {
        let came = Instant::now();
        let mut failed_at = self.draining.lock().await;
        if failed_at.is_some_and(|failed| failed >= came) {
            return;
        }
        #[cfg(test)]
        self.drains.fetch_add(1, Ordering::Relaxed);
        *failed_at = (!self.drain().await).then(Instant::now);
    }

    /// Writes the owed verdicts oldest first; whether all were written.
    async fn drain(&self) -> bool {
        let owed = std::mem::take(&mut *self.owed_verdicts());
        let mut left = owed.into_iter();
        while let Some(verdict) = left.next() {
            let written = self
                .write_verdict(
                    verdict.id,
                    &verdict.answer,
                    verdict.durable,
                    verdict.after_void,
                )
                .await;
            if written.is_ok() {
                tracing::info!(
                    entry = verdict.id,
                    "a verdict owed to the ledger is written"
                );
                continue;
            }
            let mut owed = self.owed_verdicts();
            // Before those owed meanwhile: the oldest are written first.
            let later = std::mem::take(&mut *owed);
            owed.push(verdict);
            owed.extend(left);
            owed.extend(later);
            return false;
        }
        true
    }

    fn owed_verdicts(&self) -> MutexGuard<'_, Vec<Owed>> {
        self.owed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the verdict of entry `id` ([`record`](Self::record) without keeping it owed).
    async fn write_verdict(
        &self,
        id: i64,
        answer: &Finding,
        durable: bool,
        after_void: bool,
    ) -> Result<(), LedgerError> {
        let answer = answer.clone();
        let (shared, writer) = match &self.engine {
            Engine::Sqlite { shared, writer } => (shared, writer),
            Engine::Postgres { pg, on_commit } => {
                let (pg, observer) = (pg.clone(), on_commit.clone());
                return blocking(move || {
                    pg.book(durable, observer.as_ref(), |book| book.record(id, &answer))
                })
                .await;
            }
        };
        if !durable && shared.verdicts_unawaited.load(Ordering::Relaxed) {
            // Started before the job exists: one dropped unqueued would be owed twice, by its
            // own drop and by `record`.
            writing(shared, writer)?;
            shared.unawaited.fetch_add(1, Ordering::AcqRel);
            let verdict = Owed {
                id,
                answer,
                durable,
                after_void,
            };
            shared.push(Box::new(Unawaited::new(
                verdict,
                self.owed.clone(),
                shared.unawaited.clone(),
            )));
            return Ok(());
        }
        in_group(shared, writer, durable, !after_void, move |conn| {
            record_in(conn, id, &answer, after_void)
        })
        .await
    }

    /// Runs `work` in one write transaction, on the caller's thread; `durable` flushes it to
    /// disk (an intent), or leaves it to the operating system (verdicts: a lost one makes its
    /// entry look in flight, which is reconciled or held, never sent again blindly).
    pub(crate) fn book<T>(
        &self,
        durable: bool,
        work: impl FnOnce(&mut dyn Book) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let shared = match &self.engine {
            Engine::Sqlite { shared, .. } => shared,
            Engine::Postgres { pg, on_commit } => {
                return pg.book(durable, on_commit.as_ref(), work);
            }
        };
        let conn = shared.settled();
        shared.set_durable(&conn, durable)?;
        let tx = Immediate::begin(&conn).map_err(|e| classify(&shared.path, e))?;
        let result = work(&mut SqliteBook {
            conn: &tx,
            path: &shared.path,
        })?;
        shared.commit(tx, durable)?;
        Ok(result)
    }
}

impl Drop for Ledger {
    /// Lets the ledger's thread finish the work queued and end, so that the file is closed
    /// when the ledger is dropped.
    fn drop(&mut self) {
        let Engine::Sqlite { shared, writer } = &mut self.engine else {
            return;
        };
        shared.queue().closed = true;
        shared.wake.notify_one();
        let writer = writer.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(writer) = writer.take() {
            // A thread that panicked has nothing more to write; its callers were told.
            let _ = writer.join();
        }
    }
}

/// An intent written by [`Ledger::intend`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Intent {
    /// Its entry's number.
    pub(crate) id: i64,
    /// Whether the payment held a void before it. Without one, no void of the payment can
    /// ever be older than this entry (entry numbers only grow), so its verdict has no earlier
    /// void to settle and skips the statement that looks for them.
    pub(crate) after_void: bool,
}

/// A plan that may send: which action, if any, needs an intent.
pub(crate) trait Sends {
    fn sends(&self) -> Option<Action>;
}

/// The key a payment is filed under: InstaMed's IDs compare without regard to case.
pub(crate) fn key(payment: &TransactionId) -> String {
    payment.as_str().trim().to_ascii_uppercase()
}

pub(crate) fn standing_in(
    conn: &Connection,
    payment: &TransactionId,
) -> Result<Standing, rusqlite::Error> {
    let mut entries = select(conn, STANDING, [key(payment)])?;
    entries.sort_unstable_by_key(|entry| entry.id);
    Ok(Standing { entries })
}

/// A payment's entries, in no order: the index on (payment, action) gives them by action,
/// and an `ORDER BY id` would build a temporary B-tree for a handful of rows on every
/// decision, so they are sorted after reading.
const STANDING: &str = entries_where!("payment = ?1");

/// A verdict on an entry still waiting for one. The states are compared one by one: SQLite
/// builds a temporary index for an `IN` list of three bound values on every execution, more
/// work than the rest of the statement.
const VERDICT: &str =
    "UPDATE intents SET state = ?2, transaction_status = ?3, primary_transaction_status = ?4,
         response_code = ?5, detail = ?6, refund_id = COALESCE(?7, refund_id),
         finished_ms = ?8
     WHERE id = ?1 AND settled_by IS NULL AND (state = ?9 OR state = ?10 OR state = ?11)";

/// A new intent, in flight.
const INTENT: &str = "INSERT INTO intents(payment, action, state, amount, merchant_id, store_id,
         terminal_id, command, pid, started_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// The URL in `location` when it names a PostgreSQL database.
fn database_url(location: &Path) -> Option<&str> {
    location.to_str().filter(|text| postgres::is_url(text))
}

/// A void without an outlet (a Single Sign-On page: the person's InstaMed account names it)
/// is written with empty outlet IDs, which read back as no outlet.
pub(crate) fn insert_intent<'o>(
    conn: &Connection,
    outlet: impl Into<Option<&'o Outlet>>,
    payment: &TransactionId,
    action: Action,
    amount: Option<&str>,
    command: &str,
) -> Result<i64, rusqlite::Error> {
    let outlet = outlet.into();
    let mut insert = conn.prepare_cached(INTENT)?;
    insert.execute(params![
        key(payment),
        action,
        IntentState::Sent,
        amount,
        outlet.map_or("", Outlet::merchant_id),
        outlet.map_or("", Outlet::store_id),
        outlet.map_or("", Outlet::terminal_id),
        command,
        this_process(),
        dated(now_ms()),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Writes a verdict on entry `id`. A void's definite verdict also settles the earlier voids
/// of the payment left open (unless `after_void` says the payment held none when the intent
/// was written): what one answer proves about the payment holds for them too.
pub(crate) fn record_in(
    conn: &Connection,
    id: i64,
    answer: &Finding,
    after_void: bool,
) -> Result<(), rusqlite::Error> {
    let verdict = answer.verdict.unwrap_or(Verdict::Unknown);
    let mut update = conn.prepare_cached(VERDICT)?;
    // A person settled the entry while its answer was on the way, or a later answer about its
    // payment settled it (another process's reconciliation, its lease run out): what they
    // recorded stands, and the late answer is said, never written over it.
    let changed = update.execute(params![
        id,
        IntentState::Answered(verdict),
        answer.transaction_status,
        answer.primary_transaction_status,
        answer.response_code,
        answer.detail,
        answer.refund_id,
        now_ms(),
        IntentState::Sent,
        IntentState::Answered(Verdict::Unknown),
        IntentState::Answered(Verdict::RefundUnknown),
    ])?;
    if changed == 0 {
        settled_before_its_answer(id, verdict);
        return Ok(());
    }
    if let Some(settled) = settles_earlier_voids(verdict).filter(|_| after_void) {
        let mut settle = conn.prepare_cached(
            "UPDATE intents SET state = ?2, finished_ms = ?3,
                 detail = 'settled by ledger entry ' || ?1 || ': ' || detail
             WHERE action = ?4 AND id < ?1 AND state IN (?5, ?6)
               AND payment = (SELECT payment FROM intents WHERE id = ?1)",
        )?;
        settle.execute(params![
            id,
            IntentState::Answered(settled),
            now_ms(),
            Action::Void,
            IntentState::Sent,
            IntentState::Answered(Verdict::Unknown),
        ])?;
    }
    Ok(())
}

/// Says that entry `id` was settled before its answer (`verdict`) came: the record stands.
pub(crate) fn settled_before_its_answer(id: i64, verdict: Verdict) {
    tracing::warn!(
        entry = id,
        verdict = verdict.as_str(),
        "this ledger entry was settled (by a person, or by a later answer about its payment) \
         before its answer arrived; that record stands: check it against this answer"
    );
}

/// What a void's verdict proves about the earlier voids of its payment left open: an earlier
/// void whose outcome was unknown went through when the payment is voided now, and did not
/// when InstaMed says the payment is there and not voided. `None` for a verdict that proves
/// nothing about them.
pub(crate) fn settles_earlier_voids(verdict: Verdict) -> Option<Verdict> {
    match verdict {
        Verdict::Voided | Verdict::AlreadyVoided => Some(Verdict::Voided),
        Verdict::NotVoidable | Verdict::UnknownPayment | Verdict::Declined => Some(verdict),
        _ => None,
    }
}

/// Deletes entry `id` if it is still only an intent: its request was never sent (the batch
/// that wrote it stopped first), so nothing may look in flight.
pub(crate) fn withdraw_intent(conn: &Connection, id: i64) -> Result<(), rusqlite::Error> {
    let mut delete = conn.prepare_cached("DELETE FROM intents WHERE id = ?1 AND state = ?2")?;
    delete.execute(params![id, IntentState::Sent])?;
    Ok(())
}

/// The entries `query` ([`entries_where!`]) finds.
pub(crate) fn select(
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Entry>, rusqlite::Error> {
    let mut select = conn.prepare_cached(query)?;
    let rows = select.query_map(params, Entry::from_row)?;
    rows.collect()
}

/// Whether process `pid` of this machine still runs. Where that cannot be told, it is taken
/// to run: the safe side for a refund that may be in flight.
pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == 0 || pid == this_process() {
        return pid != 0;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// This process's ID, asked of the system once: every intent writes it.
fn this_process() -> u32 {
    this_process_and_since().0
}

/// When this process first asked for its ID (ms since the epoch): before any entry it wrote,
/// since writing one asks first, and after any entry a predecessor with its ID wrote.
fn this_process_since() -> i64 {
    this_process_and_since().1
}

fn this_process_and_since() -> (u32, i64) {
    static PID: std::sync::OnceLock<(u32, i64)> = std::sync::OnceLock::new();
    *PID.get_or_init(|| (std::process::id(), now_ms()))
}

/// When an entry this process writes at `now` is dated: never before this process began. A
/// clock stepped back after it began would date its own entries before it, and they would
/// look a predecessor's ([`Entry::process_ended`]): in flight here, yet taken for lost.
fn dated(now: i64) -> i64 {
    now.max(this_process_since())
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn at(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Whether `path` holds a SQLite database (a ledger or a journal): the first bytes say so.
pub fn is_sqlite_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0_u8; 16];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

#[cfg(test)]
mod tests {
    use super::writer::{Job, Work};
    use super::*;
    use crate::stored::Named as _;

    fn shared(ledger: &Ledger) -> &Arc<Shared> {
        match ledger.sqlite() {
            Ok(shared) => shared,
            Err(_) => panic!("a SQLite ledger was asked for"),
        }
    }

    impl Ledger {
        /// Runs `work` on the SQLite connection in one write transaction: rows no command
        /// writes, for the tests.
        fn transaction<T>(
            &self,
            durable: bool,
            work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        ) -> Result<T, LedgerError> {
            let shared = shared(self);
            let conn = shared.lock();
            shared.set_durable(&conn, durable)?;
            let fail = |e| classify(&shared.path, e);
            let tx = Immediate::begin(&conn).map_err(fail)?;
            let result = work(&tx).map_err(fail)?;
            shared.commit(tx, durable)?;
            Ok(result)
        }
    }

    /// The finding: when SQLite rolls a group's transaction back in the middle (a full disk,
    /// an I/O error), a later decision's savepoint began a transaction of its own and its
    /// release committed it, so an intent was written whose caller was told it failed. Every
    /// decision of such a group fails now, and nothing of it is written.
    #[test]
    fn a_group_whose_transaction_sqlite_abandoned_writes_nothing_and_fails_every_decision() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("ledger.db")).unwrap();
        type Answer = tokio::sync::oneshot::Receiver<Result<i64, LedgerError>>;
        let job = |abandon: bool| -> (Box<dyn Job>, Answer) {
            let (answer, answered) = tokio::sync::oneshot::channel();
            let work = move |conn: &Connection| {
                let outlet = Outlet::new("123123123", "123", "123").unwrap();
                let id = insert_intent(conn, &outlet, &payment(), Action::Void, None, "test");
                if abandon {
                    // What SQLite does to the transaction on SQLITE_FULL or SQLITE_IOERR.
                    conn.execute_batch("ROLLBACK").unwrap();
                }
                id
            };
            let job = Work {
                durable: true,
                atomic: false,
                work: Some(work),
                done: None,
                answer,
                path: shared(&ledger).path.clone(),
            };
            (Box::new(job), answered)
        };
        let (jobs, mut answers): (Vec<_>, Vec<_>) =
            [job(true), job(false), job(false)].into_iter().unzip();
        shared(&ledger).commit_group(&shared(&ledger).lock(), jobs);
        for answer in &mut answers {
            assert!(matches!(answer.try_recv(), Ok(Err(_))));
        }
        assert!(
            ledger.standing(&payment()).unwrap().entries.is_empty(),
            "an intent of the abandoned group was written"
        );
        // The connection is left usable: the next group commits.
        let (next, mut answer) = job(false);
        shared(&ledger).commit_group(&shared(&ledger).lock(), vec![next]);
        assert!(matches!(answer.try_recv(), Ok(Ok(_))));
        assert_eq!(ledger.standing(&payment()).unwrap().entries.len(), 1);
    }

    /// A plan that is its action.
    impl Sends for Option<Action> {
        fn sends(&self) -> Option<Action> {
            *self
        }
    }

    /// A new ledger in a folder of its own (kept while the test holds it) and an outlet.
    fn opened() -> (tempfile::TempDir, Ledger, Outlet) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("l.db")).unwrap();
        (dir, ledger, Outlet::new("1", "2", "3").unwrap())
    }

    fn payment() -> TransactionId {
        TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap()
    }

    /// The finding: a settlement by hand committed in whatever mode the last group left the
    /// connection in, so after a void's verdict (left to the operating system) a person's
    /// record of a refund could be lost with the machine. It is flushed as an intent is.
    #[test]
    fn a_settlement_by_hand_is_flushed_to_disk_whatever_the_last_group_left() {
        let (_dir, ledger, outlet) = opened();
        let id = ledger
            .transaction(true, |c| {
                insert_intent(
                    c,
                    &outlet,
                    &payment(),
                    Action::Refund,
                    Some("1.00"),
                    "refund",
                )
            })
            .unwrap();
        // A verdict, committed as verdicts are: not flushed.
        ledger
            .transaction(false, |c| {
                record_in(c, id, &Finding::of(Verdict::RefundUnknown), true)
            })
            .unwrap();
        let synchronous = |ledger: &Ledger| -> i64 {
            ledger
                .sqlite()
                .ok()
                .expect("SQLite")
                .lock()
                .pragma_query_value(None, "synchronous", |row| row.get(0))
                .unwrap()
        };
        assert_eq!(synchronous(&ledger), 1, "the verdict's commit was NORMAL");
        let settled = ledger
            .settle(
                id,
                &crate::Settlement::NothingHappened,
                "ops",
                "none in the portal",
            )
            .unwrap();
        assert!(settled.is_some());
        assert_eq!(
            synchronous(&ledger),
            2,
            "the settlement was not committed FULL"
        );
    }

    #[test]
    fn a_ledger_opened_to_read_is_never_made_migrated_or_written() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.db");
        assert!(Ledger::open_to_read(&missing).is_err());
        assert!(!missing.exists(), "opening to read made a ledger");

        let path = dir.path().join("ledger.db");
        drop(Ledger::open(&path).unwrap());
        let before = std::fs::read(&path).unwrap();
        let ledger = Ledger::open_to_read(&path).unwrap();
        assert!(ledger.standing(&payment()).unwrap().entries.is_empty());
        drop(ledger);
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // An earlier version is refused rather than brought up to date.
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 1)
            .unwrap();
        assert!(matches!(
            Ledger::open_to_read(&path),
            Err(LedgerError::Older { version: 1, .. })
        ));
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, 1, "opening to read migrated the ledger");
    }

    #[test]
    fn a_ledger_of_a_later_version_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        drop(Ledger::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
        assert!(matches!(
            Ledger::open(&path),
            Err(LedgerError::Newer { version, .. }) if version == schema::VERSION + 1
        ));
    }

    /// Every void runs these, in its decision and its verdict; a temporary B-tree (an
    /// ephemeral table or index, a sorter) is built and torn down on each execution and once
    /// cost more than the rest of a void's ledger work.
    #[test]
    fn a_void_s_statements_build_no_temporary_b_tree() {
        let (_dir, ledger, _) = opened();
        let conn = shared(&ledger).lock();
        for sql in [STANDING, INTENT, VERDICT] {
            let mut explain = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            // Unbound: EXPLAIN only compiles the statement.
            let mut rows = explain.raw_query();
            let mut opcodes = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                opcodes.push(row.get::<_, String>(1).unwrap());
            }
            assert!(opcodes.iter().any(|op| op == "Halt"), "{opcodes:?}");
            for op in &opcodes {
                assert!(
                    !matches!(
                        op.as_str(),
                        "OpenEphemeral" | "OpenAutoindex" | "SorterOpen"
                    ),
                    "{op} in {sql}"
                );
            }
        }
    }

    #[test]
    fn the_flush_setting_switches_back_to_full_after_normal() {
        let (_dir, ledger, _) = opened();
        let shared = shared(&ledger);
        let conn = shared.lock();
        let synchronous = || -> i64 {
            conn.query_row("PRAGMA synchronous", [], |row| row.get(0))
                .unwrap()
        };
        for durable in [true, false, true, false, true] {
            shared.set_durable(&conn, durable).unwrap();
            // FULL is 2, NORMAL 1.
            assert_eq!(
                synchronous(),
                if durable { 2 } else { 1 },
                "durable: {durable}"
            );
        }
    }

    #[test]
    fn a_transaction_dropped_open_writes_nothing_and_leaves_the_connection_to_the_next() {
        let (_dir, ledger, outlet) = opened();
        {
            let conn = shared(&ledger).lock();
            let tx = Immediate::begin(&conn).unwrap();
            insert_intent(&tx, &outlet, &payment(), Action::Void, None, "void").unwrap();
            // As a job that panicked would leave it.
            drop(tx);
            assert!(conn.is_autocommit());
        }
        assert!(ledger.standing(&payment()).unwrap().entries.is_empty());
        let kept = ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "void")
            })
            .unwrap();
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(
            standing.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            [kept]
        );
    }

    #[test]
    fn a_standing_lists_the_payment_s_entries_in_the_order_they_were_written() {
        let (_dir, ledger, outlet) = opened();
        let written: Vec<i64> = [Action::Refund, Action::Void, Action::Refund, Action::Void]
            .into_iter()
            .map(|action| {
                ledger
                    .transaction(true, |c| {
                        insert_intent(c, &outlet, &payment(), action, None, "void")
                    })
                    .unwrap()
            })
            .collect();
        let standing = ledger.standing(&payment()).unwrap();
        let read: Vec<i64> = standing.entries.iter().map(|entry| entry.id).collect();
        assert_eq!(read, written);
    }

    #[test]
    fn a_definite_void_settles_the_earlier_voids_left_open() {
        let (_dir, ledger, outlet) = opened();
        let lost = ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "void")
            })
            .unwrap();
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.unsettled_void().map(|e| e.id), Some(lost));
        let never_left = ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "void")
            })
            .unwrap();
        ledger
            .transaction(false, |c| {
                record_in(c, never_left, &Finding::of(Verdict::Failed), true)
            })
            .unwrap();
        // A void that never left settles nothing about the one that may have.
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.unsettled_void().map(|e| e.id), Some(lost));
        let proof = ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "reconcile")
            })
            .unwrap();
        ledger
            .transaction(false, |c| {
                record_in(c, proof, &Finding::of(Verdict::AlreadyVoided), true)
            })
            .unwrap();
        let standing = ledger.standing(&payment()).unwrap();
        assert!(standing.unsettled_void().is_none());
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
        assert!(
            standing.entries[0]
                .detail
                .starts_with("settled by ledger entry")
        );
        assert!(ledger.open_entries().unwrap().is_empty());
    }

    /// The intents and verdicts of async callers go through the ledger's thread, where a
    /// verdict skips the search for earlier voids when its intent found none: one that found
    /// one still settles it.
    #[test]
    fn a_definite_void_through_the_ledgers_thread_settles_an_earlier_void_left_open() {
        let (_dir, ledger, outlet) = opened();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let intend = || {
            runtime
                .block_on(ledger.intend("void", &outlet, &payment(), None, |_| Some(Action::Void)))
                .unwrap()
                .1
                .unwrap()
        };
        // Its answer was lost: it stays in flight.
        let lost = intend();
        assert!(!lost.after_void, "the first void of a payment follows none");
        let proof = intend();
        assert!(proof.after_void);
        runtime
            .block_on(ledger.record(
                proof.id,
                &Finding::of(Verdict::Voided),
                false,
                proof.after_void,
            ))
            .unwrap();
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.entries[0].id, lost.id);
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
        assert!(ledger.open_entries().unwrap().is_empty());
    }

    /// `work`'s answer, which must come within ten seconds: a ledger's thread that died
    /// would leave it waiting for good.
    fn within<F: std::future::Future>(runtime: &tokio::runtime::Runtime, work: F) -> F::Output {
        runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), work).await })
            .expect("answered within ten seconds")
    }

    /// A job that panics, as a bug in the ledger's thread would.
    struct Panics;

    impl Job for Panics {
        fn durable(&self) -> bool {
            false
        }

        fn atomic(&self) -> bool {
            true
        }

        fn run(&mut self, _: &Connection) -> bool {
            panic!("a job panicked in the ledger's thread, as the test meant");
        }

        fn deliver(self: Box<Self>, _: Result<(), &LedgerError>) {}
    }

    #[test]
    fn a_group_that_panics_owes_its_verdicts_fails_its_callers_and_the_thread_goes_on() {
        let (_dir, ledger, outlet) = opened();
        let ledger = ledger.with_verdicts_unawaited();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (_, intent) = runtime
            .block_on(ledger.intend("void", &outlet, &payment(), None, |_| Some(Action::Void)))
            .unwrap();
        let id = intent.unwrap().id;
        let Engine::Sqlite { shared, .. } = &ledger.engine else {
            panic!("a SQLite ledger was asked for");
        };
        shared.unawaited.fetch_add(1, Ordering::AcqRel);
        let verdict = Box::new(Unawaited::new(
            Owed {
                id,
                answer: Finding::of(Verdict::Voided),
                durable: false,
                after_void: false,
            },
            ledger.owed.clone(),
            shared.unawaited.clone(),
        ));
        // Queued together, so that the thread takes both into one group.
        {
            let mut queue = shared.queue();
            queue.jobs.push(Box::new(Panics));
            queue.jobs.push(verdict);
        }
        shared.wake.notify_one();
        until("the group ended", || {
            shared.unawaited.load(Ordering::Acquire) == 0
        });
        assert_eq!(ledger.owed_verdicts().len(), 1);
        // A decision that panics fails its caller, and the next is answered by the same thread.
        let other = TransactionId::new("AFTERTHEPANIC").unwrap();
        let panicked = within(
            &runtime,
            ledger.intend("void", &outlet, &other, None, |_| -> Option<Action> {
                panic!("a decision panicked, as the test meant")
            }),
        );
        assert!(panicked.is_err());
        assert!(ledger.standing(&other).unwrap().entries.is_empty());
        // The next decision writes the verdict owed first.
        let (_, next) = within(
            &runtime,
            ledger.intend("void", &outlet, &other, None, |_| Some(Action::Void)),
        )
        .unwrap();
        assert!(next.is_some());
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
        assert!(ledger.owed_verdicts().is_empty());
    }

    /// A commit observer that panics (a bug in a service's metrics) does not turn a written
    /// intent into a failure its caller would act on: the intent is answered as written, and
    /// the ledger's thread goes on.
    #[test]
    fn a_commit_observer_that_panics_leaves_the_commit_answered_as_written() {
        let (_dir, ledger, outlet) = opened();
        let ledger = ledger.with_commit_observer(Arc::new(|_, _| {
            panic!("a commit observer panicked, as the test meant")
        }));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for payment in [payment(), TransactionId::new("SECONDPAYMENT").unwrap()] {
            let (_, intent) = within(
                &runtime,
                ledger.intend("void", &outlet, &payment, None, |_| Some(Action::Void)),
            )
            .expect("the intent is answered as written");
            let id = intent.expect("an intent").id;
            let standing = ledger.standing(&payment).unwrap();
            assert_eq!(standing.entries[0].id, id);
        }
    }

    /// A drain that cannot write (the database refuses writes) keeps the verdicts owed. A
    /// caller that waited for it does not try again; the next caller does, and writes them
    /// once the database takes writes.
    #[test]
    fn a_drain_that_fails_is_not_tried_again_by_its_waiters_but_by_the_next_caller() {
        let (_dir, ledger, outlet) = opened();
        let ledger = Arc::new(ledger);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        owe_voided(&ledger, &runtime, &outlet, &[&payment()]);
        let shared = shared(&ledger).clone();
        let refusing = |on: bool| {
            shared.lock().pragma_update(None, "query_only", on).unwrap();
        };
        refusing(true);
        let drains = || ledger.drains.load(Ordering::Relaxed);
        let begun = drains();
        // The ledger's thread is held at the drain's write, while a second caller comes.
        let held = shared.lock();
        let spawn = || {
            let ledger = ledger.clone();
            runtime.spawn(async move { ledger.write_owed_verdicts().await })
        };
        let draining = spawn();
        until("the drain's write was taken", || {
            ledger.owed_verdicts().is_empty() && shared.queue().jobs.is_empty()
        });
        let waiting = spawn();
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        within(&runtime, draining).unwrap();
        within(&runtime, waiting).unwrap();
        assert_eq!(drains() - begun, 1, "the waiter tried again");
        assert_eq!(ledger.owed_verdicts().len(), 1);
        // The next caller tries again: refused, and then written.
        within(&runtime, ledger.write_owed_verdicts());
        assert_eq!(drains() - begun, 2);
        assert_eq!(ledger.owed_verdicts().len(), 1);
        refusing(false);
        within(&runtime, ledger.write_owed_verdicts());
        assert!(ledger.owed_verdicts().is_empty());
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
    }

    /// An entry this process writes after its clock was stepped back is still its own, in
    /// flight; one its predecessor with the same ID wrote before it began is a predecessor's.
    #[test]
    fn an_entry_written_after_the_clock_stepped_back_is_still_this_process_s() {
        let since = this_process_since();
        let entry = |started: i64| Entry {
            id: 1,
            payment: payment().as_str().to_owned(),
            action: Action::Void,
            verdict: None,
            amount: None,
            refund_id: None,
            command: "void".to_owned(),
            pid: this_process(),
            started: at(started),
            finished: None,
            transaction_status: None,
            primary_transaction_status: None,
            response_code: None,
            detail: String::new(),
            outlet: None,
            settled_by: None,
            settled_note: None,
            lease_until: None,
        };
        assert!(!entry(dated(since - 60_000)).process_ended());
        assert!(entry(since - 60_000).process_ended());
    }

    /// Writes a void's intent for each of `payments`, then owes each its `voided` verdict, as
    /// a ledger that could not write them would (after all the intents: a decision writes
    /// what is owed first).
    fn owe_voided(
        ledger: &Ledger,
        runtime: &tokio::runtime::Runtime,
        outlet: &Outlet,
        payments: &[&TransactionId],
    ) {
        let ids: Vec<i64> = payments
            .iter()
            .map(|payment| {
                let (_, intent) = within(
                    runtime,
                    ledger.intend("void", outlet, payment, None, |_| Some(Action::Void)),
                )
                .unwrap();
                intent.unwrap().id
            })
            .collect();
        ledger
            .owed_verdicts()
            .extend(ids.into_iter().map(|id| Owed {
                id,
                answer: Finding::of(Verdict::Voided),
                durable: false,
                after_void: false,
            }));
    }

    /// Waits until `done` holds, for ten seconds at most.
    fn until(what: &str, done: impl Fn() -> bool) {
        let started = std::time::Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Owed verdicts are written one at a time, each awaited: a decision that came while
    /// another caller was writing them found none left to write and decided before the rest
    /// were written, on a payment that looked in flight though this process knew its verdict.
    #[test]
    fn a_decision_waits_for_the_owed_verdicts_another_caller_is_writing() {
        let (_dir, ledger, outlet) = opened();
        let ledger = Arc::new(ledger);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (first, second) = (payment(), TransactionId::new("SECONDPAYMENT").unwrap());
        owe_voided(&ledger, &runtime, &outlet, &[&first, &second]);
        let shared = shared(&ledger).clone();
        // The ledger's thread is held at its next group: the first owed verdict's.
        let held = shared.lock();
        let draining = runtime.spawn({
            let ledger = ledger.clone();
            async move { ledger.write_owed_verdicts().await }
        });
        until("the owed verdicts were taken", || {
            ledger.owed_verdicts().is_empty() && shared.queue().jobs.is_empty()
        });
        let seen = Arc::new(Mutex::new(None));
        let deciding = runtime.spawn({
            let (ledger, outlet, second) = (ledger.clone(), outlet.clone(), second.clone());
            let seen = seen.clone();
            async move {
                ledger
                    .intend("void", &outlet, &second, None, move |standing| {
                        *seen.lock().unwrap() = standing.entries[0].verdict;
                        None::<Action>
                    })
                    .await
            }
        });
        // Queued now, the decision would come before the second owed verdict.
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        within(&runtime, draining).unwrap();
        within(&runtime, deciding).unwrap().unwrap();
        let seen = *seen.lock().unwrap();
        assert_eq!(
            seen,
            Some(Verdict::Voided),
            "the decision saw its payment in flight"
        );
    }

    #[test]
    fn a_void_verdict_nobody_awaits_is_seen_by_the_next_read_and_kept_when_the_ledger_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let outlet = Outlet::new("1", "2", "3").unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ledger = Ledger::open(&path).unwrap().with_verdicts_unawaited();
        // Each read races the ledger's thread for the connection: many rounds make a read
        // that skipped the queue lose at least once.
        for n in 0..200 {
            let payment = TransactionId::new(format!("UNAWAITED{n:04}")).unwrap();
            let (_, intent) = runtime
                .block_on(ledger.intend("void", &outlet, &payment, None, |_| Some(Action::Void)))
                .unwrap();
            let intent = intent.unwrap();
            runtime
                .block_on(ledger.record(intent.id, &Finding::of(Verdict::Voided), false, false))
                .unwrap();
            let standing = ledger.standing(&payment).unwrap();
            assert_eq!(
                standing.entries[0].verdict,
                Some(Verdict::Voided),
                "round {n}"
            );
        }
        let last = TransactionId::new("UNAWAITEDLAST").unwrap();
        let (_, intent) = runtime
            .block_on(ledger.intend("void", &outlet, &last, None, |_| Some(Action::Void)))
            .unwrap();
        runtime
            .block_on(ledger.record(
                intent.unwrap().id,
                &Finding::of(Verdict::Voided),
                false,
                false,
            ))
            .unwrap();
        drop(ledger);
        let reopened = Ledger::open(&path).unwrap();
        assert_eq!(
            reopened.standing(&last).unwrap().entries[0].verdict,
            Some(Verdict::Voided),
            "a verdict queued when the ledger closed is committed first"
        );
        assert!(reopened.open_entries().unwrap().is_empty());
    }

    #[test]
    fn a_late_unknown_answer_never_overwrites_a_definite_verdict() {
        let (_dir, ledger, outlet) = opened();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (_, intent) = runtime
            .block_on(ledger.intend("void", &outlet, &payment(), None, |_| Some(Action::Void)))
            .unwrap();
        let id = intent.unwrap().id;
        // Another process's reconciliation proved it voided; then this one's own answer, a
        // timeout, arrives (or is written late, owed while the ledger could not be written).
        for (verdict, durable) in [(Verdict::Voided, false), (Verdict::Unknown, false)] {
            runtime
                .block_on(ledger.record(id, &Finding::of(verdict), durable, false))
                .unwrap();
        }
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
    }

    #[test]
    fn every_entry_state_and_action_round_trips_through_sqlite() {
        use crate::stored::tests::round_trip;
        let states = Verdict::ALL.into_iter().map(IntentState::Answered);
        for state in states.chain([IntentState::Sent]) {
            assert_eq!(round_trip(state), state, "{}", state.name());
        }
        for action in [Action::Void, Action::Refund] {
            assert_eq!(round_trip(action), action);
        }
    }

    #[test]
    fn an_unknown_stored_entry_state_is_an_error_naming_it() {
        let (_dir, ledger, outlet) = opened();
        ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "void")?;
                c.execute("UPDATE intents SET state = 'half_voided'", [])
            })
            .unwrap();
        let error = ledger.standing(&payment()).unwrap_err();
        let text = crate::chain(&error);
        assert!(
            text.contains("ledger entry state \"half_voided\""),
            "{text}"
        );
    }

    /// The one stored name read without being known: a refund is held for a person, where
    /// refusing to read it would stop every command on the payment.
    #[test]
    fn an_unknown_stored_action_reads_as_a_refund() {
        let (_dir, ledger, outlet) = opened();
        ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &payment(), Action::Void, None, "void")?;
                c.execute("UPDATE intents SET action = 'chargeback'", [])
            })
            .unwrap();
        let standing = ledger.standing(&payment()).unwrap();
        assert_eq!(standing.entries[0].action, Action::Refund);
        assert!(standing.refund_on_hold().is_some());
    }

    #[test]
    fn ids_are_filed_without_regard_to_case() {
        let (_dir, ledger, outlet) = opened();
        let lower = TransactionId::new("ee52401813a74328aaa7d93319ff4383").unwrap();
        ledger
            .transaction(true, |c| {
                insert_intent(c, &outlet, &lower, Action::Refund, Some("1.00"), "refund")
            })
            .unwrap();
        assert!(
            ledger
                .standing(&payment())
                .unwrap()
                .refund_on_hold()
                .is_some()
        );
    }
}
