//! The batch journal: one SQLite file (WAL) that records each row's intent before its request
//! leaves and its verdict after the answer, so that a killed batch resumes without sending
//! anything twice that it need not. `docs/ledger.md` walks through its states.
//!
//! One process at a time: the connection takes SQLite's exclusive lock and keeps it until it
//! closes. The lock is the operating system's (a POSIX record lock), so a killed process
//! releases it with no help.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};

use super::error::{Duplicate, InputError, JournalError};
use super::input::{BatchRow, InputRow, RawRow, hash_row, hex, input_hash};
use super::state::{Action, RowState, Step};
use crate::store::{key, now_ms};
use crate::stored::{Named, sql_in};
use crate::{self as ledger, Finding, Ledger, Standing, Verdict};

/// A row claimed for one step: its intent is durable before this is handed out.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub seq: i64,
    pub line: u64,
    pub row: BatchRow,
    pub action: Action,
    pub attempt: i64,
    /// The step's entry in the ledger, when the batch keeps one.
    pub intent: Option<i64>,
    prior_state: RowState,
}

/// What the ledger says of a row's step: `Ok` sends that step (a void becomes a
/// reconciliation when an earlier void's outcome is unknown); `Err` settles the row from the
/// ledger, with a verdict, a detail and the refund's ID, and sends nothing.
pub(crate) fn consult(
    standing: &Standing,
    action: Action,
    or_refund: bool,
    amount: Option<&str>,
    held_before: bool,
) -> Result<Action, (Verdict, String, Option<String>)> {
    let from = |verdict: Verdict, entry: &ledger::Entry| {
        (
            verdict,
            format!("from the ledger: {}", entry.describe()),
            entry.refund_id.clone(),
        )
    };
    // A refund that may have been made, or one made, settles the row before any void: the
    // payment's money already moved, and a refund is never sent twice.
    if or_refund || action == Action::Refund {
        if let Some(open) = standing.refund_on_hold() {
            return Err(from(Verdict::RefundUnknown, open));
        }
        if let Some(made) = standing.refunds_made().last() {
            if made.amount.as_deref() == amount {
                return Err(from(Verdict::Refunded, made));
            }
            // Another amount is another instruction: neither done nor to be sent on a guess.
            return Err((
                Verdict::RefundUnknown,
                format!(
                    "the ledger holds {}, and this row asks {}: a person decides whether to \
                     refund more (`instamed-soap refund --after-refund`)",
                    made.describe(),
                    amount.unwrap_or("no amount")
                ),
                None,
            ));
        }
        // A refund this journal left unknown goes again only once a person recorded that it
        // was not made.
        if held_before && standing.refund_settled_not_made().is_none() {
            return Err((
                Verdict::RefundUnknown,
                "the refund may have been made and the ledger holds nothing that settles it: \
                 check the payment's refunds with InstaMed"
                    .to_owned(),
                None,
            ));
        }
    }
    if action == Action::Refund {
        return Ok(Action::Refund);
    }
    if let Some(voided) = standing.voided() {
        return Err(from(Verdict::Voided, voided));
    }
    if action == Action::Void && standing.unsettled_void().is_some() {
        return Ok(Action::Reconcile);
    }
    Ok(action)
}

/// Whether a refund step goes ahead.
#[derive(Debug)]
pub(crate) enum RefundStep {
    /// Send it: its attempt, and its entry in the ledger.
    Send { attempt: i64, intent: Option<i64> },
    /// Send nothing: the ledger settled the row with this verdict.
    Settled(Verdict),
    /// Send nothing now: another process has a request about the payment out. The row stays
    /// not voidable and is come back to at the end of the phase.
    Elsewhere,
}

/// What the ledger decided about one step of a claimed row.
enum Decided {
    /// Send it (a void may have become a reconciliation), with its entry in the ledger.
    Send(Action, Option<i64>),
    /// Send nothing: the ledger settles the row (verdict, detail, refund ID).
    Settled((Verdict, String, Option<String>)),
    /// Send nothing now: another process has a request about the payment out (a batch worker
    /// on the same input, a gateway). Passed over, and come back to once this run has been
    /// through the rest: the other process's answer is then in the ledger, or its claim ran
    /// out and the payment is this run's to reconcile.
    Elsewhere,
}

/// Which rows a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Everything not final: new rows, failed ones, and unknown outcomes of earlier runs
    /// (reconciled), plus refunds when asked.
    Main,
    /// `--reconcile`: the unknown outcomes left at the end of this run.
    Reconcile,
}

/// A claimed group, and where the next claim starts.
#[derive(Debug, Default)]
pub(crate) struct Claimed {
    pub work: Vec<Work>,
    pub last_seq: i64,
    pub exhausted: bool,
    /// Rows passed over so far in this run because another process has their payment out.
    pub waiting: usize,
    /// Rows the ledger settled with no request (line, payment, verdict): done all the same.
    pub settled: Vec<(u64, String, Verdict)>,
}

/// One row of the journal as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRecord {
    /// Position in the input, from 0.
    pub seq: i64,
    /// Line in the input.
    pub line: u64,
    /// Fields as given.
    pub raw: RawRow,
    /// Where the row ends (or stands).
    pub verdict: Verdict,
    /// `TransactionStatus` last read.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` last read.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode` last read.
    pub response_code: Option<String>,
    /// What the last answer said, or why the row is invalid.
    pub detail: String,
    /// The refund's own transaction ID, when refunded.
    pub refund_id: Option<String>,
    /// Steps taken on the row, over every run.
    pub attempts: u32,
    /// The run (1, 2, …) that reached the verdict; 0 for invalid and pending rows.
    pub run: i64,
    /// The step that reached it: `void`, `reconcile`, `refund`, `ledger` (settled from the
    /// ledger, nothing sent), or empty if none.
    pub step: String,
}

impl RowRecord {
    /// The record in a row of `rows`, read by column name.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let extra: String = row.get("extra")?;
        Ok(Self {
            seq: row.get("seq")?,
            line: row.get::<_, i64>("line")? as u64,
            // Written by `load` from a list of pairs; text that is not one is no column.
            raw: raw_of(row, serde_json::from_str(&extra).unwrap_or_default())?,
            verdict: row.get::<_, RowState>("state")?.verdict(),
            transaction_status: row.get("transaction_status")?,
            primary_transaction_status: row.get("primary_transaction_status")?,
            response_code: row.get("response_code")?,
            detail: row.get("detail")?,
            refund_id: row.get("refund_id")?,
            attempts: row.get("attempts")?,
            run: row.get("run")?,
            step: row.get::<_, Step>("step")?.name().to_owned(),
        })
    }
}

/// A row a claim may take, before its step is decided.
struct Candidate {
    seq: i64,
    line: u64,
    raw: RawRow,
    state: RowState,
    step: Step,
}

impl Candidate {
    /// The candidate in a row of `rows`, read by column name. Its extra columns are left out:
    /// a step needs none, and parsing them for every claimed row would cost for nothing.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get("seq")?,
            line: row.get::<_, i64>("line")? as u64,
            raw: raw_of(row, Vec::new())?,
            state: row.get("state")?,
            step: row.get("step")?,
        })
    }
}

/// The input's fields in a row of `rows`, with `extra` for its extra columns.
fn raw_of(row: &Row<'_>, extra: Vec<(String, String)>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        transaction_id: row.get("transaction_id")?,
        merchant_id: row.get("merchant_id")?,
        store_id: row.get("store_id")?,
        terminal_id: row.get("terminal_id")?,
        amount: row.get("amount")?,
        card_present_status: row.get("card_present_status")?,
        extra,
    })
}

/// What loading the input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Rows in the input (valid and invalid).
    pub rows: u64,
    /// Rows that cannot be sent.
    pub invalid: u64,
    /// Whether the journal already held this input (a resume).
    pub resumed: bool,
}

/// Counters of the journal's work, for benchmarks and the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Transactions committed.
    pub commits: u64,
    /// Of which committed with a flush to disk (`synchronous=FULL`): intents.
    pub durable_commits: u64,
}

/// The journal of one batch, opened and locked.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    run: i64,
    stats: JournalStats,
    full_sync: bool,
    ledger: Option<Arc<Ledger>>,
    amounts_required: bool,
    /// The rows this run passed over because another process had their payment out
    /// ([`Decided::Elsewhere`]), by `seq`: in memory only, since a run that dies leaves them
    /// where they stood, and the next run walks them again.
    deferred: BTreeSet<i64>,
    /// Every row this run passed over at least once, by `seq`.
    passed_over: BTreeSet<i64>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and takes its lock; a second process is
    /// refused at once with [`JournalError::Locked`], never made to wait.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path)?;
        // rusqlite waits 5 s on a busy database by default; the lock is held for a whole run,
        // so waiting could only delay the refusal, and a second batch is told at once.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        let locked = |error: rusqlite::Error| match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                JournalError::Locked { path: path.clone() }
            }
            Some(ErrorCode::NotADatabase) => JournalError::NotAJournal { path: path.clone() },
            _ => JournalError::Sqlite(error),
        };
        // Exclusive mode before WAL: the WAL index then lives in this process's memory and the
        // file lock is never given back while the connection is open.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(locked)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(locked)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Locked { path });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(locked)?;
        // Take the write lock now, so that a second batch is refused before it reads a row.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(locked)?;
        let mut journal = Self {
            conn,
            path,
            run: 0,
            stats: JournalStats::default(),
            full_sync: true,
            ledger: None,
            amounts_required: false,
            deferred: BTreeSet::new(),
            passed_over: BTreeSet::new(),
        };
        journal.create_schema()?;
        Ok(journal)
    }

    /// How long the ledger's claim on a payment holds for other processes, when this journal
    /// has a ledger ([`Ledger::claim_lease`]).
    pub(crate) fn claim_lease(&self) -> Option<std::time::Duration> {
        self.ledger.as_ref().map(|ledger| ledger.claim_lease())
    }

    /// Consults `ledger` before every step and records each step's intent and verdict there
    /// too, so that no other journal's run (nor a single command) moves the same money again.
    pub fn use_ledger(&mut self, ledger: Arc<Ledger>) {
        self.ledger = Some(ledger);
    }

    /// Makes [`Journal::load`] refuse an input with a sendable row that gives no amount
    /// ([`JournalError::MissingAmounts`]): with refunds instead asked for, such a row could
    /// only be left unrefunded after its void was refused, and said nothing about it.
    pub fn require_amounts(&mut self) {
        self.amounts_required = true;
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many rows this run has passed over at least once because another process had
    /// their payment out.
    pub(crate) fn passed_over(&self) -> u64 {
        self.passed_over.len() as u64
    }

    /// Counters of commits since the journal was opened.
    pub fn stats(&self) -> JournalStats {
        self.stats
    }

    fn create_schema(&mut self) -> Result<(), JournalError> {
        // The file's `user_version` says which schema it holds; a journal of an earlier
        // release is brought up to this one in place.
        ledger::migrate(&mut self.conn, ledger::SchemaKind::Journal).map_err(
            |problem| match problem {
                ledger::SchemaProblem::Sqlite(error) => JournalError::Sqlite(error),
                ledger::SchemaProblem::Newer(_) | ledger::SchemaProblem::OtherKind => {
                    JournalError::NotAJournal {
                        path: self.path.clone(),
                    }
                }
            },
        )
    }

    /// Records the input on a new journal, or checks that it is the same input on a resume.
    /// Refuses duplicate transaction IDs (case-blind) before anything is sent: nothing is
    /// recorded then, so the corrected file can be loaded into the same journal.
    pub fn load<I>(&mut self, rows: I) -> Result<Loaded, JournalError>
    where
        I: IntoIterator<Item = Result<InputRow, InputError>>,
    {
        let recorded: Option<(String, u64)> = self.conn.query_row(
            "SELECT (SELECT value FROM meta WHERE key = 'input_hash'),
                        (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'input_rows')",
            [],
            |r| {
                Ok(r.get::<_, Option<String>>(0)?
                    .zip(r.get::<_, Option<i64>>(1)?.map(|n| n as u64)))
            },
        )?;
        if let Some((hash, recorded_rows)) = recorded {
            let (now_hash, count) = input_hash(rows)?;
            if now_hash != hash {
                return Err(JournalError::InputChanged {
                    path: self.path.clone(),
                    recorded: recorded_rows,
                    now: count,
                });
            }
            let invalid: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM rows WHERE state = ?1",
                [RowState::At(Verdict::Invalid)],
                |r| r.get(0),
            )?;
            let invalid = invalid as u64;
            if self.amounts_required {
                self.refuse_rows_without_amounts()?;
            }
            return Ok(Loaded {
                rows: count,
                invalid,
                resumed: true,
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        let mut duplicates = Vec::new();
        let mut count = 0_u64;
        let mut invalid = 0_u64;
        let mut extra_names: Vec<String> = Vec::new();
        let mut without_amount = Vec::new();
        {
            let mut insert = tx.prepare(
                "INSERT INTO rows(seq, line, transaction_id, id_key, merchant_id, store_id,
                     terminal_id, amount, card_present_status, extra, state, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut first_line = tx.prepare("SELECT line FROM rows WHERE id_key = ?1")?;
            for row in rows {
                let row = row?;
                hash_row(&mut context, &row);
                if self.amounts_required && lacks_amount(&row) {
                    without_amount.push(row.line);
                }
                for (name, _) in &row.raw.extra {
                    if !extra_names.contains(name) && extra_names.len() < 256 {
                        extra_names.push(name.clone());
                    }
                }
                let raw = row.raw.kept(row.problem.is_none());
                let key = row
                    .problem
                    .is_none()
                    .then(|| raw.transaction_id.trim().to_ascii_uppercase());
                let (state, detail) = match &row.problem {
                    Some(problem) => {
                        invalid += 1;
                        (RowState::At(Verdict::Invalid), problem.as_str())
                    }
                    None => (RowState::PENDING, ""),
                };
                let extra = serde_json::to_string(&raw.extra).unwrap_or_else(|_| "[]".into());
                let inserted = insert.execute(params![
                    count as i64,
                    row.line as i64,
                    raw.transaction_id,
                    key,
                    raw.merchant_id,
                    raw.store_id,
                    raw.terminal_id,
                    raw.amount,
                    raw.card_present_status,
                    extra,
                    state,
                    detail,
                ]);
                match inserted {
                    Ok(_) => {}
                    Err(error)
                        if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) =>
                    {
                        let first: i64 = first_line.query_row([&key], |r| r.get(0))?;
                        duplicates.push(Duplicate {
                            transaction_id: raw.transaction_id.clone(),
                            first_line: first as u64,
                            line: row.line,
                        });
                    }
                    Err(error) => return Err(error.into()),
                }
                count += 1;
            }
        }
        if !duplicates.is_empty() {
            tx.rollback()?;
            return Err(JournalError::Duplicates(duplicates));
        }
        if !without_amount.is_empty() {
            tx.rollback()?;
            return Err(JournalError::MissingAmounts(without_amount));
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('input_hash', ?1), ('input_rows', ?2),
                 ('extra_columns', ?3)",
            params![
                hex(context.finish().as_ref()),
                count.to_string(),
                serde_json::to_string(&extra_names).unwrap_or_else(|_| "[]".into())
            ],
        )?;
        tx.commit()?;
        self.stats.commits += 1;
        self.stats.durable_commits += 1;
        Ok(Loaded {
            rows: count,
            invalid,
            resumed: false,
        })
    }

    /// On a resume: the rows recorded that would be sent and give no amount.
    fn refuse_rows_without_amounts(&self) -> Result<(), JournalError> {
        let mut select = self.conn.prepare(
            "SELECT line FROM rows WHERE state != ?1 AND trim(amount) = '' ORDER BY seq",
        )?;
        let lines = select
            .query_map([RowState::At(Verdict::Invalid)], |r| r.get::<_, i64>(0))?
            .map(|line| line.map(|line| line as u64))
            .collect::<Result<Vec<u64>, _>>()?;
        if lines.is_empty() {
            Ok(())
        } else {
            Err(JournalError::MissingAmounts(lines))
        }
    }

    /// The names of the extra columns, in the order first seen.
    pub fn extra_columns(&self) -> Result<Vec<String>, JournalError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'extra_columns'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Starts a run: numbers it and records its options. With a ledger on PostgreSQL, first
    /// gives up the claims the run before left (this journal's lock proves that run ended:
    /// whatever it had out is unknown now, and waiting for its leases would only delay the
    /// reconciliation), and records this run's name on its claims for the next run to do so.
    pub(crate) fn begin_run(&mut self, options: &str) -> Result<i64, JournalError> {
        // A journal run again after a run that left rows passed over walks them anew.
        self.deferred.clear();
        self.passed_over.clear();
        if let Some(ledger) = &self.ledger {
            if let Some(claimant) = ledger.claimant() {
                let before: Option<String> = self
                    .conn
                    .query_row("SELECT value FROM meta WHERE key = 'claimant'", [], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if let Some(before) = before.filter(|before| before != claimant) {
                    ledger.book(true, |book| book.release_claims(&before))?;
                }
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('claimant', ?1)",
                    [claimant],
                )?;
            }
        }
        self.conn.execute(
            "INSERT INTO runs(started_ms, pid, options) VALUES (?1, ?2, ?3)",
            params![now_ms(), std::process::id(), options],
        )?;
        self.run = self.conn.last_insert_rowid();
        self.stats.commits += 1;
        self.stats.durable_commits += 1;
        Ok(self.run)
    }

    pub(crate) fn end_run(&mut self) -> Result<(), JournalError> {
        self.conn.execute(
            "UPDATE runs SET finished_ms = ?1 WHERE id = ?2",
            params![now_ms(), self.run],
        )?;
        self.stats.commits += 1;
        Ok(())
    }

    /// How many rows a run with these options has to work on.
    pub fn to_do(&self, or_refund: bool) -> Result<u64, JournalError> {
        let count: i64 = self.conn.query_row(
            &format!(
                "SELECT COUNT(*) FROM rows WHERE {}",
                claimable(Phase::Main, or_refund, self.ledger.is_some())
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    /// Whether the next commit must reach the disk (an intent) or may stay in the operating
    /// system's cache (a verdict: losing it only makes the row look in flight, and reconciled).
    pub(crate) fn set_durable(&mut self, durable: bool) -> Result<(), JournalError> {
        if durable != self.full_sync {
            self.conn.pragma_update(
                None,
                "synchronous",
                if durable { "FULL" } else { "NORMAL" },
            )?;
            self.full_sync = durable;
        }
        Ok(())
    }

    pub(crate) fn begin(&mut self) -> Result<(), JournalError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    pub(crate) fn commit(&mut self) -> Result<(), JournalError> {
        self.conn.execute_batch("COMMIT")?;
        self.stats.commits += 1;
        if self.full_sync {
            self.stats.durable_commits += 1;
        }
        Ok(())
    }

    pub(crate) fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Claims up to `limit` rows after `after` for their next step, inside the caller's
    /// transaction. A refund found in flight from an earlier run becomes an unknown refund
    /// here, with no request: a refund is never sent twice.
    pub(crate) fn claim(
        &mut self,
        phase: Phase,
        or_refund: bool,
        after: i64,
        limit: usize,
    ) -> Result<Claimed, JournalError> {
        let mut claimed = Claimed {
            last_seq: after,
            ..Claimed::default()
        };
        let mut found = Vec::with_capacity(limit);
        {
            let mut select = self.conn.prepare_cached(&format!(
                "SELECT seq, line, transaction_id, merchant_id, store_id, terminal_id, amount,
                        card_present_status, state, step
                 FROM rows WHERE seq > ?1 AND {} ORDER BY seq LIMIT ?2",
                claimable(phase, or_refund, self.ledger.is_some())
            ))?;
            let rows = select.query_map(params![after, limit as i64], Candidate::from_row)?;
            for candidate in rows {
                found.push(candidate?);
            }
        }
        claimed.exhausted = found.len() < limit;
        self.take(found, or_refund, false, &mut claimed)?;
        Ok(claimed)
    }

    /// Claims again, for their next step, the rows this run passed over because another
    /// process had their payment out, those still claimable in `phase`; the ones still out
    /// elsewhere are passed over again ([`Claimed::waiting`]).
    pub(crate) fn revisit(
        &mut self,
        phase: Phase,
        or_refund: bool,
    ) -> Result<Claimed, JournalError> {
        let deferred = std::mem::take(&mut self.deferred);
        let mut found = Vec::with_capacity(deferred.len());
        {
            let mut select = self.conn.prepare_cached(&format!(
                "SELECT seq, line, transaction_id, merchant_id, store_id, terminal_id, amount,
                        card_present_status, state, step
                 FROM rows WHERE seq = ?1 AND {}",
                claimable(phase, or_refund, self.ledger.is_some())
            ))?;
            for seq in deferred {
                if let Some(candidate) = select.query_row([seq], Candidate::from_row).optional()? {
                    found.push(candidate);
                }
            }
        }
        let mut claimed = Claimed {
            exhausted: true,
            ..Claimed::default()
        };
        self.take(found, or_refund, true, &mut claimed)?;
        Ok(claimed)
    }

    /// Decides the next step of each row `found`, asks the ledger about them in one
    /// transaction, and starts the attempts of those that go ahead (into `claimed`).
    /// `revisiting`: the rows were passed over earlier in this run, so a row the ledger now
    /// settles was settled by the process that had it out, and its detail says so.
    fn take(
        &mut self,
        found: Vec<Candidate>,
        or_refund: bool,
        revisiting: bool,
        claimed: &mut Claimed,
    ) -> Result<(), JournalError> {
        let started = now_ms();
        let mut steps = Vec::with_capacity(found.len());
        for Candidate {
            seq,
            line,
            raw,
            state,
            step,
        } in found
        {
            claimed.last_seq = seq;
            let row = match BatchRow::from_raw(&raw) {
                Ok(row) => row,
                Err(problem) => {
                    self.conn.execute(
                        "UPDATE rows SET state = ?2, detail = ?3 WHERE seq = ?1",
                        params![seq, RowState::At(Verdict::Invalid), problem],
                    )?;
                    continue;
                }
            };
            let action = match next_step(state, step, or_refund) {
                Some(action) => action,
                None => {
                    self.settle_lost_refund(seq)?;
                    continue;
                }
            };
            if action == Action::Refund && row.amount.is_none() {
                continue;
            }
            steps.push((seq, line, row, action, state));
        }
        let decided = self.consult_ledger(&steps, or_refund, None)?;
        for ((seq, line, row, _, prior_state), decision) in steps.into_iter().zip(decided) {
            match decision {
                Decided::Send(action, intent) => {
                    let attempt = self.start_attempt(seq, action, started)?;
                    claimed.work.push(Work {
                        seq,
                        line,
                        row,
                        action,
                        attempt,
                        intent,
                        prior_state,
                    });
                }
                Decided::Settled((verdict, detail, refund_id)) => {
                    let detail = if revisiting {
                        format!("settled by another process while this run waited: {detail}")
                    } else {
                        detail
                    };
                    self.settle_from_ledger(seq, (verdict, detail, refund_id))?;
                    claimed.settled.push((
                        line,
                        row.request.payment().as_str().to_owned(),
                        verdict,
                    ));
                }
                Decided::Elsewhere => {
                    self.deferred.insert(seq);
                    self.passed_over.insert(seq);
                }
            }
        }
        claimed.waiting = self.deferred.len();
        Ok(())
    }

    /// Gives row `seq` the verdict the ledger settled it with; nothing was sent.
    fn settle_from_ledger(
        &self,
        seq: i64,
        (verdict, detail, refund_id): (Verdict, String, Option<String>),
    ) -> Result<(), JournalError> {
        self.conn.execute(
            "UPDATE rows SET state = ?2, detail = ?3,
                 refund_id = COALESCE(?4, refund_id), run = ?5, step = ?6
             WHERE seq = ?1",
            params![
                seq,
                RowState::At(verdict),
                detail,
                refund_id,
                self.run,
                Step::Ledger
            ],
        )?;
        Ok(())
    }

    /// Asks the ledger about each step in one transaction, writing the intents of those that
    /// go ahead; flushed to disk before any of them is sent. A payment another process has
    /// out is passed over ([`Decided::Elsewhere`]), never waited for here: this run goes on
    /// with the rest and comes back to it.
    ///
    /// The payments are taken in the order of their keys (PostgreSQL locks each until the
    /// transaction ends), as every transaction of a batch that locks several does: two
    /// workers, or a worker's claim and another's verdicts, then never wait on each other in a
    /// circle.
    ///
    /// `refused` is the verdict of the void that led to these steps, recorded first in the
    /// same transaction: no other process may read the refusal without the refund's intent
    /// (and claim), or it would void the payment again.
    fn consult_ledger(
        &self,
        steps: &[(i64, u64, BatchRow, Action, RowState)],
        or_refund: bool,
        refused: Option<&(String, i64, Finding)>,
    ) -> Result<Vec<Decided>, JournalError> {
        let Some(ledger) = &self.ledger else {
            return Ok(steps
                .iter()
                .map(|(_, _, _, action, _)| Decided::Send(*action, None))
                .collect());
        };
        let command = ledger.command().to_owned();
        let mut order: Vec<usize> = (0..steps.len()).collect();
        order.sort_by_cached_key(|&i| key(steps[i].2.request.payment()));
        let mut decided = ledger.book(true, |book| {
            if let Some((_, intent, answer)) = refused {
                book.record(*intent, answer)?;
            }
            order
                .iter()
                .map(|&i| {
                    let (_, _, row, action, prior) = &steps[i];
                    let payment = row.request.payment();
                    let standing = book.standing(payment)?;
                    if book.claimed_elsewhere(payment)? {
                        return Ok((i, Decided::Elsewhere));
                    }
                    let amount = row.amount.map(|amount| amount.to_string());
                    let held_before = *prior == RowState::At(Verdict::RefundUnknown);
                    let decision = match consult(
                        &standing,
                        *action,
                        or_refund,
                        amount.as_deref(),
                        held_before,
                    ) {
                        Ok(action) => {
                            let (kind, amount) = match action {
                                Action::Refund => (ledger::Action::Refund, amount),
                                Action::Void | Action::Reconcile => (ledger::Action::Void, None),
                            };
                            let intent = book.insert_intent(
                                Some(row.request.outlet()),
                                payment,
                                kind,
                                amount.as_deref(),
                                &command,
                            )?;
                            Decided::Send(action, Some(intent))
                        }
                        Err(settled) => Decided::Settled(settled),
                    };
                    Ok((i, decision))
                })
                .collect::<Result<Vec<_>, ledger::LedgerError>>()
        })?;
        decided.sort_by_key(|(i, _)| *i);
        Ok(decided.into_iter().map(|(_, decision)| decision).collect())
    }

    fn start_attempt(
        &mut self,
        seq: i64,
        action: Action,
        started: i64,
    ) -> Result<i64, JournalError> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO attempts(seq, run, action, started_ms) VALUES (?1, ?2, ?3, ?4)",
        )?;
        insert.execute(params![seq, self.run, action, started])?;
        let attempt = self.conn.last_insert_rowid();
        let mut update = self
            .conn
            .prepare_cached("UPDATE rows SET state = ?2, attempts = attempts + 1 WHERE seq = ?1")?;
        update.execute(params![seq, RowState::Sent(action)])?;
        Ok(attempt)
    }

    fn settle_lost_refund(&mut self, seq: i64) -> Result<(), JournalError> {
        let detail = "the batch stopped while this refund was in flight: it may have been made; \
                      check the payment's refunds before acting (a refund is never sent twice)";
        self.conn.execute(
            "UPDATE attempts SET finished_ms = ?2, verdict = ?3, detail = ?4
             WHERE seq = ?1 AND action = ?5 AND finished_ms IS NULL",
            params![
                seq,
                now_ms(),
                Verdict::RefundUnknown,
                detail,
                Action::Refund
            ],
        )?;
        self.conn.execute(
            "UPDATE rows SET state = ?2, detail = ?3, run = ?4, step = ?5 WHERE seq = ?1",
            params![
                seq,
                RowState::At(Verdict::RefundUnknown),
                detail,
                self.run,
                Step::Took(Action::Refund)
            ],
        )?;
        Ok(())
    }

    /// Gives back rows claimed and never sent (the batch was stopped first), with their
    /// intents: nothing left for them, so nothing may look in flight.
    pub(crate) fn release(&mut self, work: &[Work]) -> Result<(), JournalError> {
        for item in work {
            self.conn
                .execute("DELETE FROM attempts WHERE id = ?1", [item.attempt])?;
            self.conn.execute(
                "UPDATE rows SET state = ?2, attempts = attempts - 1 WHERE seq = ?1",
                params![item.seq, item.prior_state],
            )?;
        }
        if let Some(ledger) = &self.ledger {
            // In the payments' order, as `consult_ledger` explains.
            let mut intents: Vec<(String, i64)> = work
                .iter()
                .filter_map(|item| Some((key(item.row.request.payment()), item.intent?)))
                .collect();
            intents.sort();
            ledger.book(true, |book| {
                for (_, intent) in &intents {
                    book.withdraw(*intent)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Records a step's answer on its attempt and its row.
    pub(crate) fn record(
        &mut self,
        seq: i64,
        attempt: i64,
        action: Action,
        answer: &Finding,
        verdict: Verdict,
    ) -> Result<(), JournalError> {
        let mut finish = self.conn.prepare_cached(
            "UPDATE attempts SET finished_ms = ?2, verdict = ?3, transaction_status = ?4,
                 primary_transaction_status = ?5, response_code = ?6, detail = ?7,
                 refund_id = ?8, requests = ?9
             WHERE id = ?1",
        )?;
        finish.execute(params![
            attempt,
            now_ms(),
            verdict,
            answer.transaction_status,
            answer.primary_transaction_status,
            answer.response_code,
            answer.detail,
            answer.refund_id,
            answer.requests,
        ])?;
        let mut update = self.conn.prepare_cached(
            "UPDATE rows SET state = ?2, transaction_status = ?3, primary_transaction_status = ?4,
                 response_code = ?5, detail = ?6, refund_id = COALESCE(?7, refund_id),
                 run = ?8, step = ?9
             WHERE seq = ?1",
        )?;
        update.execute(params![
            seq,
            RowState::At(verdict),
            answer.transaction_status,
            answer.primary_transaction_status,
            answer.response_code,
            answer.detail,
            answer.refund_id,
            self.run,
            Step::Took(action),
        ])?;
        Ok(())
    }

    /// Starts the refund step of a row whose void was just refused as not voidable, unless
    /// the ledger already settles it (a refund of the payment made, or one that may have
    /// been): then the row takes the ledger's verdict and nothing is sent. `refused` is the
    /// void's verdict for the ledger, recorded in the same transaction as the refund's intent.
    pub(crate) fn start_refund(
        &mut self,
        work: &Work,
        refused: Option<(String, i64, Finding)>,
    ) -> Result<RefundStep, JournalError> {
        // The void's refusal is in the journal by now: that is where the row stands.
        let decided = self.consult_ledger(
            &[(
                work.seq,
                work.line,
                work.row.clone(),
                Action::Refund,
                RowState::At(Verdict::NotVoidable),
            )],
            true,
            refused.as_ref(),
        )?;
        match decided.into_iter().next() {
            Some(Decided::Settled(settled)) => {
                let verdict = settled.0;
                self.settle_from_ledger(work.seq, settled)?;
                Ok(RefundStep::Settled(verdict))
            }
            Some(Decided::Send(_, intent)) => Ok(RefundStep::Send {
                attempt: self.start_attempt(work.seq, Action::Refund, now_ms())?,
                intent,
            }),
            Some(Decided::Elsewhere) => {
                self.deferred.insert(work.seq);
                self.passed_over.insert(work.seq);
                Ok(RefundStep::Elsewhere)
            }
            None => Err(JournalError::WriterGone),
        }
    }

    /// Records verdicts on their ledger entries (each with its payment's key), in one
    /// transaction left to the operating system to flush (a lost verdict makes its entry look
    /// in flight: reconciled or held, never sent again blindly). In the payments' order, as
    /// `consult_ledger` explains.
    pub(crate) fn record_in_ledger(
        &self,
        verdicts: &mut [(String, i64, Finding)],
    ) -> Result<(), JournalError> {
        let Some(ledger) = &self.ledger else {
            return Ok(());
        };
        if verdicts.is_empty() {
            return Ok(());
        }
        verdicts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        ledger.book(false, |book| {
            for (_, intent, answer) in verdicts.iter() {
                book.record(*intent, answer)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// How many rows stand at each verdict.
    pub fn counts(&self) -> Result<Vec<(Verdict, u64)>, JournalError> {
        let mut select = self
            .conn
            .prepare("SELECT state, COUNT(*) AS n FROM rows GROUP BY state")?;
        let mut counts: Vec<(Verdict, u64)> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
        let mut rows = select.query([])?;
        while let Some(r) = rows.next()? {
            let verdict = r.get::<_, RowState>("state")?.verdict();
            let n = r.get::<_, i64>("n")? as u64;
            if let Some(slot) = counts.iter_mut().find(|(v, _)| *v == verdict) {
                slot.1 += n;
            }
        }
        Ok(counts)
    }

    /// Calls `each` with every row, in input order, without holding them all in memory.
    pub fn for_each_row(
        &self,
        mut each: impl FnMut(&RowRecord) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut select = self.conn.prepare(
            "SELECT seq, line, transaction_id, merchant_id, store_id, terminal_id, amount,
                    card_present_status, extra, state, transaction_status,
                    primary_transaction_status, response_code, detail, refund_id, attempts,
                    run, step
             FROM rows ORDER BY seq",
        )?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            each(&RowRecord::from_row(row)?)?;
        }
        Ok(())
    }

    /// Every attempt made on row `seq` (its position in the input, from 0), oldest first:
    /// `(run, action, verdict)`; the verdict is `None` for an attempt whose answer was never
    /// recorded (the process died while it was in flight).
    pub fn attempts_of(
        &self,
        seq: i64,
    ) -> Result<Vec<(i64, String, Option<String>)>, JournalError> {
        let mut select = self.conn.prepare_cached(
            "SELECT run, action, verdict FROM attempts WHERE seq = ?1 ORDER BY id",
        )?;
        let rows = select.query_map([seq], |r| {
            Ok((r.get("run")?, r.get("action")?, r.get("verdict")?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether a row that can be sent gives no amount to refund.
pub(crate) fn lacks_amount(row: &InputRow) -> bool {
    row.problem.is_none() && row.raw.amount.trim().is_empty()
}

/// The step a claimed row takes, from where it stands; `None` for a refund caught in flight,
/// which is never sent again (it becomes an unknown refund). Shared by the run and the dry run,
/// so that what a dry run says is what a run does.
pub(crate) fn next_step(state: RowState, step: Step, or_refund: bool) -> Option<Action> {
    Some(match (state, step) {
        // A refund that never left is sent again; without --or-refund the row is voided
        // again, which moves nothing twice.
        (RowState::At(Verdict::Failed), Step::Took(Action::Refund)) if or_refund => Action::Refund,
        (RowState::PENDING | RowState::At(Verdict::Failed), _) => Action::Void,
        (RowState::At(Verdict::NotVoidable), _) => Action::Refund,
        // Claimed only with a ledger: it decides whether a person settled the refund.
        (RowState::At(Verdict::RefundUnknown), _) => Action::Refund,
        (RowState::Sent(Action::Refund), _) => return None,
        _ => Action::Reconcile,
    })
}

/// The SQL condition for rows a phase works on.
pub(crate) fn claimable(phase: Phase, or_refund: bool, ledger: bool) -> String {
    match phase {
        Phase::Main => {
            let open = sql_in(
                "state",
                &[
                    RowState::PENDING,
                    RowState::At(Verdict::Failed),
                    RowState::Sent(Action::Void),
                    RowState::Sent(Action::Reconcile),
                    RowState::Sent(Action::Refund),
                    RowState::At(Verdict::Unknown),
                ],
            );
            let with_amount = |verdict| {
                let state = sql_in("state", &[RowState::At(verdict)]);
                format!(" OR ({state} AND amount != '')")
            };
            let refusable = if or_refund {
                with_amount(Verdict::NotVoidable)
            } else {
                String::new()
            };
            // A refund left unknown is looked at again only where a person can have settled it.
            let held = if or_refund && ledger {
                with_amount(Verdict::RefundUnknown)
            } else {
                String::new()
            };
            format!("({open}{refusable}{held})")
        }
        Phase::Reconcile => sql_in("state", &[RowState::At(Verdict::Unknown)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use instamed_soap::{Outlet, TransactionId, VoidRequest};

    fn loaded(path: &Path) -> Journal {
        let mut journal = Journal::open(path).unwrap();
        let outlet = Outlet::new("123123123", "123", "456").unwrap();
        let payment = TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap();
        let request = VoidRequest::new(outlet, payment);
        journal
            .load([Ok(InputRow::from_request(2, &request, None))])
            .unwrap();
        journal
    }

    fn verdicts(journal: &Journal) -> Result<Vec<Verdict>, JournalError> {
        let mut verdicts = Vec::new();
        journal.for_each_row(|row| {
            verdicts.push(row.verdict);
            Ok(())
        })?;
        Ok(verdicts)
    }

    /// A journal of the first release: the same tables, its version in `meta`, and nothing in
    /// the file's header.
    #[test]
    fn a_journal_of_version_1_is_brought_up_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        drop(loaded(&path));
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 0; PRAGMA application_id = 0;
                 INSERT INTO meta(key, value) VALUES ('schema', '1');",
            )
            .unwrap();
        }
        let journal = Journal::open(&path).unwrap();
        assert_eq!(verdicts(&journal).unwrap(), [Verdict::Pending]);
        let (version, old_key): (i64, i64) = journal
            .conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version),
                        (SELECT COUNT(*) FROM meta WHERE key = 'schema')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((version, old_key), (crate::schema::VERSION, 0));
    }

    #[test]
    fn an_unknown_stored_row_state_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = loaded(&dir.path().join("journal.db"));
        journal
            .conn
            .execute("UPDATE rows SET state = 'half_voided'", [])
            .unwrap();
        let error = crate::chain(&verdicts(&journal).unwrap_err());
        assert!(
            error.contains("journal row state \"half_voided\""),
            "{error}"
        );
        let error = crate::chain(&journal.counts().unwrap_err());
        assert!(
            error.contains("journal row state \"half_voided\""),
            "{error}"
        );
    }

    #[test]
    fn a_journal_in_use_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let held = Journal::open(&path).unwrap();
        let started = std::time::Instant::now();
        let second = Journal::open(&path);
        // Generous: the refusal takes microseconds, and SQLite's default wait was 5 s.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "waited {:?}",
            started.elapsed()
        );
        assert!(
            matches!(second, Err(JournalError::Locked { .. })),
            "{second:?}"
        );
        drop(held);
        Journal::open(&path).unwrap();
    }
}
