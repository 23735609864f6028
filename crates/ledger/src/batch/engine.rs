//! The batch engine: claims rows from the journal in groups (their intents made durable in one
//! commit), sends each through [`Settle`] with bounded concurrency and an optional rate, and
//! records verdicts in groups.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

use super::error::JournalError;
use super::journal::{Claimed, Journal, JournalStats, Phase, RefundStep, Work};
use super::settle::Settle;
use super::state::Action;
use crate::Finding;
use crate::Verdict;

/// How long verdicts wait for company before they are committed together.
const LINGER: Duration = Duration::from_millis(25);
/// The most commands applied in one transaction.
const MAX_GROUP: usize = 1024;

/// A row that reached a verdict in this run, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDone {
    /// Line in the input.
    pub line: u64,
    /// The payment.
    pub transaction_id: String,
    /// Its verdict (for now: an unknown outcome may still be reconciled).
    pub verdict: Verdict,
}

/// What to call with each row done.
pub type Observer = Arc<dyn Fn(&RowDone) + Send + Sync>;

/// The most requests a batch keeps in flight. A semaphore holds at most `usize::MAX >> 3`
/// permits, and far fewer connections than that exhaust a process's file descriptors; 4096 is
/// more than any merchant's rate limit lets through.
pub const MAX_CONCURRENCY: usize = 4096;

/// How a batch runs.
#[derive(Clone)]
pub struct BatchOptions {
    /// Requests in flight at most, from 1 to [`MAX_CONCURRENCY`]: a value outside is taken as
    /// the nearest bound.
    pub concurrency: usize,
    /// Requests per second at most (a token bucket with a burst of one second's worth).
    pub rate: Option<NonZeroU32>,
    /// Refund the row's amount when a void is refused as not voidable (known refusals only).
    pub or_refund: bool,
    /// Reconcile this run's unknown outcomes once more at the end.
    pub reconcile: bool,
    /// How long rows passed over (another process has their payment out) are waited for
    /// once everything else is done: a process that keeps re-claiming a payment (a gateway
    /// reconciling a lost void while InstaMed gives no proof) would otherwise hold the run
    /// for as long as that lasts. The time spent waiting is counted over the whole run: past
    /// it the run ends as a stopped one does, those rows left as they stood for the next run
    /// ([`Summary::left_waiting`]).
    pub wait_for_others: Duration,
    /// Called with every row done.
    pub observer: Option<Observer>,
}

impl std::fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .field("or_refund", &self.or_refund)
            .field("reconcile", &self.reconcile)
            .field("wait_for_others", &self.wait_for_others)
            .finish_non_exhaustive()
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            rate: None,
            or_refund: false,
            reconcile: false,
            wait_for_others: WAIT_FOR_OTHERS,
            observer: None,
        }
    }
}

/// Where a batch ended: rows per verdict over the whole journal, and this run's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows per verdict, every verdict listed (zeros included), in [`Verdict::ALL`] order.
    pub counts: Vec<(Verdict, u64)>,
    /// Steps (void, reconcile, refund) this run took.
    pub steps: u64,
    /// Whether the run was stopped before it was done: told to, or out of time to wait for
    /// rows another process had out.
    pub interrupted: bool,
    /// Rows still out with another process when [`BatchOptions::wait_for_others`] ran out:
    /// left as they stood (pending, or failed or unknown from an earlier run) for the next
    /// run, which settles them from the ledger or reconciles them.
    pub left_waiting: u64,
    /// Rows this run passed over at least once because another process (a batch worker on
    /// the same input, a gateway) had a request about their payment out, and came back to.
    pub passed_over: u64,
    /// How long the run took.
    pub elapsed: Duration,
    /// The journal's commits in this run.
    pub journal: JournalStats,
}

impl Summary {
    /// Rows that stand at `verdict`.
    pub fn count(&self, verdict: Verdict) -> u64 {
        self.counts
            .iter()
            .find(|(v, _)| *v == verdict)
            .map_or(0, |(_, n)| *n)
    }

    /// Rows in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// The batch engine over a [`Settle`] implementation (a [`instamed_soap::Client`]).
#[derive(Debug)]
pub struct Batch<S> {
    settle: Arc<S>,
    options: BatchOptions,
}

impl<S: Settle> Batch<S> {
    /// An engine that settles rows through `settle`.
    pub fn new(settle: S, options: BatchOptions) -> Self {
        Self {
            settle: Arc::new(settle),
            options,
        }
    }

    /// Runs every row of `journal` that needs work until done or until `stop` resolves;
    /// then waits for the requests in flight, records them, and returns the journal with the
    /// summary. A stopped run leaves a journal that the next run resumes.
    pub async fn run(
        &self,
        mut journal: Journal,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<(Journal, Summary), JournalError> {
        let started = Instant::now();
        let before = journal.stats();
        journal.begin_run(&format!("{:?}", self.options))?;
        let lease = journal.claim_lease();
        let writer = Writer::start(journal);
        let outcome = self.dispatch(&writer, lease, stop).await;
        let mut journal = writer.finish()?;
        let Dispatched {
            steps,
            stopped: interrupted,
            left_waiting,
        } = outcome?;
        journal.end_run()?;
        let after = journal.stats();
        let summary = Summary {
            counts: journal.counts()?,
            steps,
            interrupted,
            left_waiting,
            passed_over: journal.passed_over(),
            elapsed: started.elapsed(),
            journal: JournalStats {
                commits: after.commits - before.commits,
                durable_commits: after.durable_commits - before.durable_commits,
            },
        };
        Ok((journal, summary))
    }

    /// `lease`: how long the ledger's claim on a payment holds for other processes, when it
    /// keeps claims.
    async fn dispatch(
        &self,
        writer: &Writer,
        lease: Option<Duration>,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<Dispatched, JournalError> {
        let options = &self.options;
        let concurrency = options.concurrency.clamp(1, MAX_CONCURRENCY);
        let group = group_size(concurrency, options.rate, lease);
        let mut flight = Flight {
            template: RowTask {
                settle: self.settle.clone(),
                writer: writer.sender(),
                limiter: options
                    .rate
                    .map(|rate| Arc::new(RateLimiter::direct(Quota::per_second(rate)))),
                or_refund: options.or_refund,
                // Read by the rows in flight: once the batch is told to stop, none starts a
                // refund.
                stopping: Arc::new(AtomicBool::new(false)),
                observer: options.observer.clone(),
            },
            permits: Arc::new(Semaphore::new(concurrency)),
            tasks: JoinSet::new(),
            steps: 0,
            stopped: false,
        };
        let mut left_waiting = 0;
        // How long rows passed over have been waited for: one bound for the whole run, the
        // reconcile phase's waits included (not its own work).
        let mut waited = Duration::ZERO;
        tokio::pin!(stop);
        let mut phases = vec![Phase::Main];
        if options.reconcile {
            phases.push(Phase::Reconcile);
        }
        'phases: for phase in phases {
            let mut next = writer.claim(phase, options.or_refund, -1, group)?;
            loop {
                let claimed = tokio::select! {
                    biased;
                    () = &mut stop => {
                        flight.stop();
                        writer.release_later(next)?;
                        break 'phases;
                    }
                    claimed = &mut next => claimed.map_err(|_| JournalError::WriterGone)??,
                };
                next = writer.claim(phase, options.or_refund, claimed.last_seq, group)?;
                flight.settled(&claimed.settled);
                if let Some(unsent) = flight.send(claimed.work, &mut stop).await? {
                    writer.release(unsent)?;
                    writer.release_later(next)?;
                    break 'phases;
                }
                if claimed.exhausted {
                    // The claim already asked for finds nothing more; let it come back empty.
                    let _ = next.await;
                    break;
                }
            }
            // The reconcile phase must see every verdict of the main one, and a row passed
            // over is come back to once this run's own requests have their answers.
            flight.land(&mut stop).await?;
            // Rows passed over because another process had their payment out: by now its
            // answer is usually in the ledger; otherwise look again shortly, until it is or
            // that process's claim has run out (then the row is this run's to reconcile), or
            // until the wait for others runs out.
            while !flight.stopped {
                let (reply, revisited) = oneshot::channel();
                writer.send(Command::Revisit {
                    phase,
                    or_refund: options.or_refund,
                    reply,
                })?;
                let revisited = revisited.await.map_err(|_| JournalError::WriterGone)??;
                flight.settled(&revisited.settled);
                if revisited.work.is_empty() {
                    if revisited.waiting == 0 {
                        break;
                    }
                    if waited >= options.wait_for_others {
                        // Nothing of this run is in flight: the rows stay as a stopped run
                        // leaves them, for the next one.
                        left_waiting = revisited.waiting as u64;
                        flight.stop();
                        break;
                    }
                    let pause = Instant::now();
                    tokio::select! {
                        biased;
                        () = &mut stop => flight.stop(),
                        () = tokio::time::sleep(REVISIT) => {}
                    }
                    waited += pause.elapsed();
                    continue;
                }
                if let Some(unsent) = flight.send(revisited.work, &mut stop).await? {
                    writer.release(unsent)?;
                    break;
                }
                flight.land(&mut stop).await?;
            }
            if flight.stopped {
                break;
            }
        }
        while let Some(done) = flight.tasks.join_next().await {
            done.map_err(|_| JournalError::WriterGone)??;
        }
        Ok(Dispatched {
            steps: flight.steps,
            stopped: flight.stopped,
            left_waiting,
        })
    }
}

/// What a run's dispatch did.
struct Dispatched {
    /// Steps started.
    steps: u64,
    /// Whether it stopped before every row was done.
    stopped: bool,
    /// Rows another process still had out when the wait for them ran out.
    left_waiting: u64,
}

/// How many rows are claimed at once. A group is claimed while the one before is being sent,
/// so the intent commit is paid once per group and never waits in front of the requests. Its
/// claims are taken with it and must still hold when its last row is sent: at a bounded rate,
/// a group is no more than half a `lease`'s worth of requests (past the lease another worker
/// would take a row not yet sent for one whose answer was lost).
fn group_size(concurrency: usize, rate: Option<NonZeroU32>, lease: Option<Duration>) -> usize {
    let group = (concurrency * 2).clamp(16, 512);
    match (rate, lease) {
        (Some(rate), Some(lease)) => {
            let half_lease = u64::from(rate.get()).saturating_mul(lease.as_secs() / 2);
            group.min(usize::try_from(half_lease.max(1)).unwrap_or(usize::MAX))
        }
        _ => group,
    }
}

/// How long a batch waits before it looks again at rows another process has out.
const REVISIT: Duration = Duration::from_millis(50);

/// [`BatchOptions::wait_for_others`] unless chosen: longer than a gateway's claim holds by
/// default (two minutes) and its reconciliation of a lost void takes, short enough that a
/// night's run ends.
pub const WAIT_FOR_OTHERS: Duration = Duration::from_secs(15 * 60);

/// The requests of a run in flight, and what starting another takes.
struct Flight<S> {
    /// What every row's task is given.
    template: RowTask<S>,
    permits: Arc<Semaphore>,
    tasks: JoinSet<Result<(), JournalError>>,
    /// Steps started in this run.
    steps: u64,
    /// Whether the run was told to stop.
    stopped: bool,
}

impl<S: Settle> Flight<S> {
    /// Tells the observer of rows the ledger settled without a request.
    fn settled(&self, settled: &[(u64, String, Verdict)]) {
        if let Some(observer) = &self.template.observer {
            for (line, transaction_id, verdict) in settled {
                observer(&RowDone {
                    line: *line,
                    transaction_id: transaction_id.clone(),
                    verdict: *verdict,
                });
            }
        }
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.template.stopping.store(true, Ordering::SeqCst);
    }

    /// Starts each item as a permit (and the rate) allows; when `stop` resolves first, stops
    /// and returns the items never started, for the caller to give back.
    async fn send<F: Future<Output = ()>>(
        &mut self,
        work: Vec<Work>,
        stop: &mut std::pin::Pin<&mut F>,
    ) -> Result<Option<Vec<Work>>, JournalError> {
        let mut work = work.into_iter();
        while let Some(item) = work.next() {
            let permit = tokio::select! {
                biased;
                () = stop.as_mut() => None,
                permit = self.permits.clone().acquire_owned() => permit.ok(),
            };
            let ready = match (&permit, &self.template.limiter) {
                (Some(_), Some(limiter)) => tokio::select! {
                    biased;
                    () = stop.as_mut() => false,
                    () = limiter.until_ready() => true,
                },
                (Some(_), None) => true,
                (None, _) => false,
            };
            let Some(permit) = permit.filter(|_| ready) else {
                self.stop();
                let mut unsent = vec![item];
                unsent.extend(work);
                return Ok(Some(unsent));
            };
            self.steps += 1;
            let task = self.template.clone();
            self.tasks.spawn(async move {
                let result = task.run(item).await;
                drop(permit);
                result
            });
            while let Some(done) = self.tasks.try_join_next() {
                done.map_err(|_| JournalError::WriterGone)??;
            }
        }
        Ok(None)
    }

    /// Waits for every request in flight to be answered and recorded. A stop meanwhile still
    /// counts: they record what they heard and start no refund, and nothing new begins.
    async fn land<F: Future<Output = ()>>(
        &mut self,
        stop: &mut std::pin::Pin<&mut F>,
    ) -> Result<(), JournalError> {
        loop {
            let stopped = self.stopped;
            let done = tokio::select! {
                biased;
                () = stop.as_mut(), if !stopped => {
                    self.stop();
                    continue;
                }
                done = self.tasks.join_next() => done,
            };
            match done {
                Some(done) => done.map_err(|_| JournalError::WriterGone)??,
                None => return Ok(()),
            }
        }
    }
}

/// One row's steps: its void (or reconciliation), then its refund when one is due.
struct RowTask<S> {
    settle: Arc<S>,
    writer: std_mpsc::Sender<Command>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    or_refund: bool,
    stopping: Arc<AtomicBool>,
    observer: Option<Observer>,
}

impl<S> Clone for RowTask<S> {
    fn clone(&self) -> Self {
        Self {
            settle: self.settle.clone(),
            writer: self.writer.clone(),
            limiter: self.limiter.clone(),
            or_refund: self.or_refund,
            stopping: self.stopping.clone(),
            observer: self.observer.clone(),
        }
    }
}

impl<S: Settle> RowTask<S> {
    async fn run(self, work: Work) -> Result<(), JournalError> {
        let request = &work.row.request;
        let answer = match work.action {
            Action::Void => self.settle.void(request).await,
            Action::Reconcile => self.settle.reconcile(request).await,
            Action::Refund => self.refund(&work).await,
        };
        let mut outcome = Outcome::judged(&work, work.attempt, work.intent, work.action, answer);
        // A batch told to stop starts no refund: the row stays not voidable, and the next run
        // with --or-refund refunds it.
        let refund = !self.stopping.load(Ordering::SeqCst);
        if outcome.verdict == Verdict::NotVoidable
            && self.or_refund
            && work.row.amount.is_some()
            && refund
        {
            // The refusal and the refund's intent reach the disk together before it is sent.
            let (reply, durable) = oneshot::channel();
            self.send(Command::RecordThenRefund {
                outcome,
                work: work.clone(),
                reply,
            })?;
            let (attempt, intent) = match durable.await.map_err(|_| JournalError::WriterGone)?? {
                RefundStep::Send { attempt, intent } => (attempt, intent),
                // The ledger already settles the refund: nothing is sent.
                RefundStep::Settled(settled) => {
                    self.done(&work, settled);
                    return Ok(());
                }
                // Another process is refunding the payment: the row is come back to.
                RefundStep::Elsewhere => return Ok(()),
            };
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            let answer = self.refund(&work).await;
            outcome = Outcome::judged(&work, attempt, intent, Action::Refund, answer);
        }
        let verdict = outcome.verdict;
        self.send(Command::Record(outcome))?;
        self.done(&work, verdict);
        Ok(())
    }

    fn done(&self, work: &Work, verdict: Verdict) {
        if let Some(observer) = &self.observer {
            observer(&RowDone {
                line: work.line,
                transaction_id: work.row.request.payment().as_str().to_owned(),
                verdict,
            });
        }
    }

    async fn refund(&self, work: &Work) -> Finding {
        match work.row.amount {
            Some(amount) => {
                let mut answer = self.settle.refund(&work.row.request, amount).await;
                // Once a refund may have been sent, only the refund's own verdicts count: an
                // answer claiming anything else (not voidable, say) would let a later run
                // refund the row again.
                if !matches!(
                    answer.verdict,
                    Some(
                        Verdict::Refunded
                            | Verdict::RefundRefused
                            | Verdict::RefundUnknown
                            | Verdict::Failed
                    )
                ) {
                    answer.verdict = Some(Verdict::RefundUnknown);
                }
                answer
            }
            None => Finding {
                verdict: Some(Verdict::NotVoidable),
                detail: "no amount to refund".to_owned(),
                ..Finding::default()
            },
        }
    }

    fn send(&self, command: Command) -> Result<(), JournalError> {
        self.writer
            .send(command)
            .map_err(|_| JournalError::WriterGone)
    }
}

/// The verdict a step's answer may give: each step can only reach its own verdicts, and an
/// answer that claims another is taken as the step's unknown outcome.
fn judged(action: Action, answer: &Finding) -> Verdict {
    use Verdict::*;
    match (action, answer.verdict) {
        (
            Action::Void,
            Some(
                v @ (Voided | AlreadyVoided | NotVoidable | UnknownPayment | Declined | Failed
                | Unknown),
            ),
        ) => v,
        (
            Action::Reconcile,
            Some(v @ (Voided | NotVoidable | UnknownPayment | Declined | Unknown)),
        ) => v,
        // A refund that never left is `failed`: the next run may send it, nothing moved.
        (
            Action::Refund,
            Some(v @ (Refunded | RefundRefused | RefundUnknown | NotVoidable | Failed)),
        ) => v,
        (Action::Refund, _) => RefundUnknown,
        (_, _) => Unknown,
    }
}

/// What the journal's thread is asked to do. Commands are applied in the order sent, many to a
/// transaction.
enum Command {
    Claim {
        phase: Phase,
        or_refund: bool,
        after: i64,
        limit: usize,
        reply: oneshot::Sender<Result<Claimed, JournalError>>,
    },
    /// Claims again the rows passed over because another process had them out.
    Revisit {
        phase: Phase,
        or_refund: bool,
        reply: oneshot::Sender<Result<Claimed, JournalError>>,
    },
    Release {
        work: Vec<Work>,
    },
    ReleaseLater {
        claim: oneshot::Receiver<Result<Claimed, JournalError>>,
    },
    Record(Outcome),
    /// A void refused as not voidable, and the refund that follows it.
    RecordThenRefund {
        outcome: Outcome,
        work: Work,
        reply: oneshot::Sender<Result<RefundStep, JournalError>>,
    },
}

/// What one step of a row ended with.
struct Outcome {
    seq: i64,
    /// The payment's key in the ledger, by which verdicts are recorded in order.
    key: String,
    attempt: i64,
    action: Action,
    answer: Finding,
    verdict: Verdict,
    /// The step's entry in the ledger, when the batch keeps one.
    intent: Option<i64>,
}

impl Outcome {
    /// What step `action` of `work`'s row ended with: the verdict its answer may give.
    fn judged(
        work: &Work,
        attempt: i64,
        intent: Option<i64>,
        action: Action,
        answer: Finding,
    ) -> Self {
        Self {
            seq: work.seq,
            key: crate::store::key(work.row.request.payment()),
            attempt,
            action,
            verdict: judged(action, &answer),
            answer,
            intent,
        }
    }

    /// Records the outcome in the journal; returns what its ledger entry is to be given, when
    /// it has one.
    fn record(self, journal: &mut Journal) -> Result<Option<(String, i64, Finding)>, JournalError> {
        let Self {
            seq,
            key,
            attempt,
            action,
            answer,
            verdict,
            intent,
        } = self;
        journal.record(seq, attempt, action, &answer, verdict)?;
        Ok(intent.map(|intent| {
            let answer = Finding {
                verdict: Some(verdict),
                ..answer
            };
            (key, intent, answer)
        }))
    }
}

impl Command {
    /// Whether someone waits for this command to be on disk before sending a request.
    fn waits(&self) -> bool {
        matches!(
            self,
            Self::Claim { .. } | Self::Revisit { .. } | Self::RecordThenRefund { .. }
        )
    }
}

/// The thread that owns the journal's connection.
struct Writer {
    sender: std_mpsc::Sender<Command>,
    thread: std::thread::JoinHandle<Result<Journal, JournalError>>,
}

impl Writer {
    fn start(journal: Journal) -> Self {
        let (sender, receiver) = std_mpsc::channel();
        let thread = std::thread::spawn(move || write_loop(journal, &receiver));
        Self { sender, thread }
    }

    fn sender(&self) -> std_mpsc::Sender<Command> {
        self.sender.clone()
    }

    fn send(&self, command: Command) -> Result<(), JournalError> {
        self.sender
            .send(command)
            .map_err(|_| JournalError::WriterGone)
    }

    fn claim(
        &self,
        phase: Phase,
        or_refund: bool,
        after: i64,
        limit: usize,
    ) -> Result<oneshot::Receiver<Result<Claimed, JournalError>>, JournalError> {
        let (reply, receiver) = oneshot::channel();
        self.sender
            .send(Command::Claim {
                phase,
                or_refund,
                after,
                limit,
                reply,
            })
            .map_err(|_| JournalError::WriterGone)?;
        Ok(receiver)
    }

    fn release(&self, work: Vec<Work>) -> Result<(), JournalError> {
        self.sender
            .send(Command::Release { work })
            .map_err(|_| JournalError::WriterGone)
    }

    fn release_later(
        &self,
        claim: oneshot::Receiver<Result<Claimed, JournalError>>,
    ) -> Result<(), JournalError> {
        self.sender
            .send(Command::ReleaseLater { claim })
            .map_err(|_| JournalError::WriterGone)
    }

    fn finish(self) -> Result<Journal, JournalError> {
        drop(self.sender);
        self.thread.join().map_err(|_| JournalError::WriterGone)?
    }
}

fn write_loop(
    mut journal: Journal,
    receiver: &std_mpsc::Receiver<Command>,
) -> Result<Journal, JournalError> {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        let deadline = Instant::now() + LINGER;
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(command) => group.push(command),
                Err(std_mpsc::TryRecvError::Disconnected) => break,
                Err(std_mpsc::TryRecvError::Empty) => {
                    if group.iter().any(Command::waits) {
                        break;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    match receiver.recv_timeout(left) {
                        Ok(command) => group.push(command),
                        Err(_) => break,
                    }
                }
            }
        }
        apply(&mut journal, group)?;
    }
    journal.set_durable(true)?;
    Ok(journal)
}

enum Reply {
    Claimed(oneshot::Sender<Result<Claimed, JournalError>>, Claimed),
    Refund(
        oneshot::Sender<Result<RefundStep, JournalError>>,
        RefundStep,
    ),
}

/// Applies a group of commands in one transaction; answers those who wait once it is on disk.
fn apply(journal: &mut Journal, group: Vec<Command>) -> Result<(), JournalError> {
    let durable = group.iter().any(Command::waits);
    journal.set_durable(durable)?;
    journal.begin()?;
    let mut replies = Vec::new();
    let mut verdicts = Vec::new();
    let result = (|| {
        for command in group {
            match command {
                Command::Claim {
                    phase,
                    or_refund,
                    after,
                    limit,
                    reply,
                } => {
                    let claimed = journal.claim(phase, or_refund, after, limit)?;
                    replies.push(Reply::Claimed(reply, claimed));
                }
                Command::Revisit {
                    phase,
                    or_refund,
                    reply,
                } => {
                    let claimed = journal.revisit(phase, or_refund)?;
                    replies.push(Reply::Claimed(reply, claimed));
                }
                Command::Release { work } => journal.release(&work)?,
                Command::ReleaseLater { mut claim } => {
                    // A claim applied in an earlier group has its answer waiting: give its
                    // rows back. One of this group is answered after the commit, to nobody
                    // once `claim` is dropped here, and is given back then.
                    if let Ok(Ok(claimed)) = claim.try_recv() {
                        journal.release(&claimed.work)?;
                    }
                }
                Command::Record(outcome) => {
                    verdicts.extend(outcome.record(journal)?);
                }
                Command::RecordThenRefund {
                    outcome,
                    work,
                    reply,
                } => {
                    // The void's verdict before the refund's intent, in one transaction of the
                    // ledger: it must show why a refund was decided, and nobody may read the
                    // refusal without the refund that follows it.
                    let refused = outcome.record(journal)?;
                    let refund = journal.start_refund(&work, refused)?;
                    replies.push(Reply::Refund(reply, refund));
                }
            }
        }
        journal.record_in_ledger(&mut verdicts)?;
        journal.commit()
    })();
    if let Err(error) = result {
        journal.rollback();
        return Err(error);
    }
    for reply in replies {
        match reply {
            Reply::Claimed(reply, claimed) => {
                if let Err(Ok(claimed)) = reply.send(Ok(claimed)) {
                    // Nobody waits for this group any more: give its rows back.
                    journal.begin()?;
                    journal.release(&claimed.work)?;
                    journal.commit()?;
                }
            }
            Reply::Refund(reply, attempt) => {
                let _ = reply.send(Ok(attempt));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_claimed_at_a_bounded_rate_is_sent_within_half_a_lease() {
        let rate = NonZeroU32::new(2);
        let lease = Some(Duration::from_secs(120));
        assert_eq!(group_size(8, None, lease), 16);
        assert_eq!(group_size(400, None, lease), 512);
        assert_eq!(group_size(400, rate, lease), 120, "2/s for 60 s");
        assert_eq!(group_size(8, rate, Some(Duration::from_secs(1))), 1);
        assert_eq!(group_size(8, rate, None), 16, "no claims to outlast");
    }
}
