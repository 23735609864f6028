//! The ledger's own thread: it commits the decisions and verdicts of async callers in groups,
//! one transaction and at most one flush a group, each job that could fail halfway in a
//! savepoint of its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use super::error::{abandoned, again, classify};
use super::{BUSY_WAIT, CommitObserver, LedgerError, Owed, SERVICE_WAL_PAGES, observe, record_in};

/// What the ledger's thread shares with the callers: the connection and the queue.
pub(super) struct Shared {
    pub(super) conn: Mutex<Connection>,
    /// Shared with every job, which names it in its errors.
    pub(super) path: Arc<Path>,
    pub(super) durable: Mutex<bool>,
    /// Told how long each commit of an intent or a verdict took (a service's metrics).
    pub(super) on_commit: std::sync::OnceLock<CommitObserver>,
    /// Work waiting for the next group commit, and whether the ledger is closing.
    pub(super) queue: Mutex<Queue>,
    /// Wakes the ledger's thread when work is queued or the ledger closes.
    pub(super) wake: Condvar,
    /// Whether void verdicts are committed without their callers awaiting them
    /// ([`Ledger::with_verdicts_unawaited`](super::Ledger::with_verdicts_unawaited)).
    pub(super) verdicts_unawaited: AtomicBool,
    /// Verdicts queued without a caller awaiting them and not yet committed: while any is,
    /// a read waits for the queue to reach it, so that a caller reads what it wrote.
    pub(super) unawaited: Arc<AtomicUsize>,
}

#[derive(Default)]
pub(super) struct Queue {
    pub(super) jobs: Vec<Box<dyn Job>>,
    pub(super) closed: bool,
}

/// Work to do inside the next group's transaction, in a savepoint of its own.
pub(super) trait Job: Send {
    /// Whether its answer must be on disk before it is delivered (an intent, a refund's
    /// verdict), which makes its group's commit flush.
    fn durable(&self) -> bool;
    /// Whether a failure of its work leaves nothing of it written without a savepoint: its
    /// only write is one statement, its last (SQLite undoes a failed statement on its own).
    fn atomic(&self) -> bool;
    /// Its reads and writes on the connection; whether they succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Hands its answer over once the group's commit is known; given an error without having
    /// run when the group's transaction could not begin or was abandoned.
    fn deliver(self: Box<Self>, committed: Result<(), &LedgerError>);
}

/// A [`Job`] of a closure, whose result (or error) is sent to the caller awaiting it.
pub(super) struct Work<T, F> {
    pub(super) durable: bool,
    pub(super) atomic: bool,
    pub(super) work: Option<F>,
    pub(super) done: Option<Result<T, rusqlite::Error>>,
    pub(super) answer: tokio::sync::oneshot::Sender<Result<T, LedgerError>>,
    pub(super) path: Arc<Path>,
}

impl<T, F> Job for Work<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send,
{
    fn durable(&self) -> bool {
        self.durable
    }

    fn atomic(&self) -> bool {
        self.atomic
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let done = work(conn);
        let worked = done.is_ok();
        self.done = Some(done);
        worked
    }

    fn deliver(self: Box<Self>, committed: Result<(), &LedgerError>) {
        let result = match (self.done, committed) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(error)), _) => Err(classify(&self.path, error)),
            (_, Err(error)) => Err(again(&self.path, error)),
            // Delivered as committed without having run: only a group that never ran it
            // delivers unrun, and it does so with its error.
            (None, Ok(())) => Err(abandoned(&self.path)),
        };
        // The caller may have stopped waiting (its task was dropped): nobody to tell.
        let _ = self.answer.send(result);
    }
}

/// A void's verdict whose caller does not wait for its commit: a failure is said in the log,
/// as the caller would have said it, and the verdict is owed, as an awaited one that failed
/// is (the entry stays in flight until it is written).
pub(super) struct Unawaited {
    /// The verdict, written from here and kept owed to the ledger ([`Ledger::record`](super::Ledger::record)) if
    /// its commit fails: one copy for both.
    verdict: Owed,
    owed: Arc<Mutex<Vec<Owed>>>,
    failed: Option<rusqlite::Error>,
    /// Whether its group's outcome reached it; one dropped before (its group panicked) is
    /// owed too.
    delivered: bool,
    /// The ledger's count of verdicts not yet committed, told when this one is (or is dropped
    /// unrun, its group panicked).
    unawaited: Arc<AtomicUsize>,
}

impl Unawaited {
    /// `verdict` to be committed in the next group, counted in `unawaited` until it is, and
    /// owed to `owed` if it cannot be.
    pub(super) fn new(
        verdict: Owed,
        owed: Arc<Mutex<Vec<Owed>>>,
        unawaited: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            verdict,
            owed,
            failed: None,
            delivered: false,
            unawaited,
        }
    }

    fn owe(&self, error: &str) {
        tracing::warn!(
            entry = self.verdict.id,
            error = %error,
            "the verdict could not be written to the ledger; it is written before this \
             process's next decision, and the entry stays open until then"
        );
        // Cloned on this rare path: the job's `Drop` keeps it from being moved out.
        let owed = self.verdict.clone();
        self.owed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(owed);
    }
}

impl Drop for Unawaited {
    fn drop(&mut self) {
        if !self.delivered {
            self.owe("its group panicked before it was committed");
        }
        self.unawaited.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Job for Unawaited {
    fn durable(&self) -> bool {
        false
    }

    fn atomic(&self) -> bool {
        // Settling the earlier voids is a second statement.
        !self.verdict.after_void
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Owed {
            id,
            answer,
            after_void,
            ..
        } = &self.verdict;
        self.failed = record_in(conn, *id, answer, *after_void).err();
        self.failed.is_none()
    }

    fn deliver(mut self: Box<Self>, committed: Result<(), &LedgerError>) {
        self.delivered = true;
        let failed = match (&self.failed, committed) {
            (Some(error), _) => Some(error.to_string()),
            (None, Err(error)) => Some(crate::chain(error)),
            (None, Ok(())) => None,
        };
        if let Some(error) = failed {
            self.owe(&error);
        }
    }
}

/// Delivered once everything queued before it is committed (or has failed): what a read
/// waits for while verdicts are on their way.
struct Barrier(std::sync::mpsc::SyncSender<()>);

impl Job for Barrier {
    fn durable(&self) -> bool {
        false
    }

    fn atomic(&self) -> bool {
        true
    }

    fn run(&mut self, _conn: &Connection) -> bool {
        true
    }

    fn deliver(self: Box<Self>, _committed: Result<(), &LedgerError>) {
        let _ = self.0.send(());
    }
}

/// Runs `work` on a SQLite ledger's thread (`shared`'s, started by `writer`) in the next
/// group's transaction and awaits its answer; `durable` means it is on disk when this returns.
///
/// Work is committed in groups: the ledger's thread takes everything queued since its last
/// commit and runs it in one transaction, each piece in a savepoint of its own and in the
/// order queued (so the later of two decisions about one payment sees the earlier's
/// intent), then commits once, flushing when any piece needs it, and hands each caller its
/// answer. Alone, a caller's work is committed on its own; under load, one flush carries
/// every intent and verdict that queued meanwhile. Work that fails is rolled back alone; a
/// commit that fails fails the whole group, and none of its intents is written: nothing is
/// sent. The caller's task never blocks on SQLite or the disk.
pub(super) async fn in_group<T, F>(
    shared: &Arc<Shared>,
    writer: &Mutex<Option<std::thread::JoinHandle<()>>>,
    durable: bool,
    atomic: bool,
    work: F,
) -> Result<T, LedgerError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
{
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job = Box::new(Work {
        durable,
        atomic,
        work: Some(work),
        done: None,
        answer,
        path: shared.path.clone(),
    });
    enqueue(shared, writer, job)?;
    // The thread panicked in the middle of the group: its transaction rolled back.
    answered
        .await
        .unwrap_or_else(|_| Err(abandoned(&shared.path)))
}

/// Queues `job` for the ledger's thread, starting it unless it runs.
fn enqueue(
    shared: &Arc<Shared>,
    writer: &Mutex<Option<std::thread::JoinHandle<()>>>,
    job: Box<dyn Job>,
) -> Result<(), LedgerError> {
    writing(shared, writer)?;
    shared.push(job);
    Ok(())
}

/// Starts the ledger's thread unless it runs: without it nothing queued would ever be done.
pub(super) fn writing(
    shared: &Arc<Shared>,
    writer: &Mutex<Option<std::thread::JoinHandle<()>>>,
) -> Result<(), LedgerError> {
    start_writer(shared, writer).map_err(|source| LedgerError::Open {
        path: shared.path.to_path_buf(),
        source,
    })
}

/// Starts the ledger's thread unless it runs.
fn start_writer(
    shared: &Arc<Shared>,
    writer: &Mutex<Option<std::thread::JoinHandle<()>>>,
) -> std::io::Result<()> {
    let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
    if writer.is_some() {
        return Ok(());
    }
    // A failure leaves the checkpoints as frequent as a single command's: slower, not wrong.
    if let Err(error) = shared
        .lock()
        .pragma_update(None, "wal_autocheckpoint", SERVICE_WAL_PAGES)
    {
        tracing::debug!(%error, "the ledger's checkpoint interval stays as it was");
    }
    let serving = shared.clone();
    *writer = Some(
        std::thread::Builder::new()
            .name("ledger".to_owned())
            .spawn(move || serving.serve())?,
    );
    Ok(())
}

impl Shared {
    /// The connection of a ledger on `path`, its thread not started, its commits flushed.
    pub(super) fn new(conn: Connection, path: PathBuf) -> Self {
        Self {
            conn: Mutex::new(conn),
            path: path.into(),
            durable: Mutex::new(true),
            on_commit: std::sync::OnceLock::new(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            verdicts_unawaited: AtomicBool::new(false),
            unawaited: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The ledger's thread: commits what is queued, group after group, until the ledger is
    /// dropped and nothing is left.
    fn serve(&self) {
        loop {
            let jobs = {
                let mut queue = self.queue();
                while queue.jobs.is_empty() && !queue.closed {
                    queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
                if queue.jobs.is_empty() {
                    return;
                }
                std::mem::take(&mut queue.jobs)
            };
            let conn = self.lock();
            // A group whose work panics (a bug) is rolled back as the panic unwinds, and its
            // jobs dropped: awaited callers are told it failed, unawaited verdicts are owed.
            // The thread goes on, so that nothing queued after it waits for nobody.
            let group = std::panic::AssertUnwindSafe(|| self.commit_group(&conn, jobs));
            if std::panic::catch_unwind(group).is_err() {
                tracing::error!("a ledger group panicked; it was rolled back and its callers told");
            }
        }
    }

    /// Runs `jobs` in one transaction, each in a savepoint, flushed when any of them needs it,
    /// and delivers each one's answer: a job that failed is rolled back alone; a commit that
    /// fails fails them all.
    pub(super) fn commit_group(&self, conn: &Connection, jobs: Vec<Box<dyn Job>>) {
        let durable = jobs.iter().any(|job| job.durable());
        let begun = self
            .set_durable(conn, durable)
            .and_then(|()| Immediate::begin(conn).map_err(|e| classify(&self.path, e)));
        let tx = match begun {
            Ok(tx) => tx,
            Err(error) => {
                // Nothing ran, nothing is written: every job fails with the same cause.
                for job in jobs {
                    job.deliver(Err(&error));
                }
                return;
            }
        };
        let mut ran = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            if tx.is_autocommit() {
                // SQLite abandoned the whole transaction (a full disk, an I/O error): a
                // savepoint now would begin a transaction of its own and commit it on release,
                // outside this group, writing an intent whose caller is told it failed. The
                // rest of the group fails unrun, as a failed commit fails them all.
                job.deliver(Err(&abandoned(&self.path)));
                continue;
            }
            // A savepoint costs two statements; work whose failure leaves nothing written
            // needs none.
            if job.atomic() {
                job.run(&tx);
                ran.push(job);
                continue;
            }
            if let Err(error) = savepoint(&tx, "SAVEPOINT decision") {
                // Run without its savepoint, a failure halfway would be committed with the
                // group: it fails unrun instead.
                job.deliver(Err(&classify(&self.path, error)));
                continue;
            }
            let closed = if job.run(&tx) {
                savepoint(&tx, "RELEASE decision")
            } else {
                savepoint(&tx, "ROLLBACK TO decision")
                    .and_then(|()| savepoint(&tx, "RELEASE decision"))
            };
            if let Err(error) = closed {
                tracing::warn!(error = %error, "a ledger savepoint failed");
            }
            ran.push(job);
        }
        let committed = if tx.is_autocommit() {
            Err(abandoned(&self.path))
        } else {
            self.commit(tx, durable)
        };
        for job in ran {
            job.deliver(committed.as_ref().map(|_| ()));
        }
    }

    /// Commits `tx`, timing it for the observer.
    pub(super) fn commit(&self, tx: Immediate<'_>, durable: bool) -> Result<(), LedgerError> {
        let started = std::time::Instant::now();
        tx.commit().map_err(|e| classify(&self.path, e))?;
        if let Some(observer) = self.on_commit.get() {
            observe(observer, started.elapsed(), durable);
        }
        Ok(())
    }

    pub(super) fn set_durable(&self, conn: &Connection, durable: bool) -> Result<(), LedgerError> {
        let mut now = self.durable.lock().unwrap_or_else(|e| e.into_inner());
        if *now != durable {
            let pragma = if durable {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            };
            // Cached: under load the mode changes between most groups.
            conn.prepare_cached(pragma)
                .and_then(|mut statement| statement.execute([]))
                .map_err(|e| classify(&self.path, e))?;
            *now = durable;
        }
        Ok(())
    }

    /// Queues `job`, waking the thread if it sleeps: it sleeps only on an empty queue, and
    /// whoever filled it woke it, so waking it again would cost a system call a job for
    /// nothing.
    pub(super) fn push(&self, job: Box<dyn Job>) {
        let first = {
            let mut queue = self.queue();
            queue.jobs.push(job);
            queue.jobs.len() == 1
        };
        if first {
            self.wake.notify_one();
        }
    }

    /// The connection, once the verdicts queued without a caller awaiting them are committed:
    /// a read that came after them sees them.
    pub(super) fn settled(&self) -> MutexGuard<'_, Connection> {
        if self.unawaited.load(Ordering::Acquire) > 0 {
            let (done, delivered) = std::sync::mpsc::sync_channel(1);
            self.push(Box::new(Barrier(done)));
            // A thread that died mid-group drops its jobs (and this one's sender) as it
            // unwinds; one that died before would leave it queued: waited for no longer than
            // a busy ledger is.
            let _ = delivered.recv_timeout(BUSY_WAIT);
        }
        self.lock()
    }

    pub(super) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back
        // when dropped), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A write transaction begun with `BEGIN IMMEDIATE` and ended by [`commit`](Self::commit),
/// both statements from the connection's cache: rusqlite's `Transaction` parses them anew
/// each time, and the ledger's thread begins and commits two groups a void (the intent's, the
/// verdict's) when callers come one at a time. Rolled back if dropped open (a job that
/// panicked, a failed commit).
pub(super) struct Immediate<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Immediate<'c> {
    pub(super) fn begin(conn: &'c Connection) -> Result<Self, rusqlite::Error> {
        if !conn.is_autocommit() {
            // Only a rollback that failed leaves one open; left so, every later group would
            // fail to begin.
            tracing::warn!("a ledger transaction was left open; it is rolled back");
            conn.execute_batch("ROLLBACK")?;
        }
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Self { conn, open: true })
    }

    fn commit(mut self) -> Result<(), rusqlite::Error> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Immediate<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Immediate<'_> {
    fn drop(&mut self) {
        // SQLite may have rolled back already (a full disk, an I/O error).
        if self.open && !self.conn.is_autocommit() {
            if let Err(error) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(%error, "a ledger transaction could not be rolled back");
            }
        }
    }
}

/// Runs a savepoint statement from the connection's cache: one a job, so parsed once.
fn savepoint(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}
