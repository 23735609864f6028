//! What a batch would do, said before it does it: every row read and checked, the journal and
//! the ledger consulted by the same rules a run follows, and nothing sent or written.
//!
//! A run decides a row's step in two places, the journal (where the row stands after earlier
//! runs) and the ledger (what any command has done to the payment); a dry run asks both through
//! the same functions ([`super::journal::next_step`], [`super::journal::consult`]), so that it
//! can only say what a run would do.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::error::{InputError, JournalError};
use super::input::{BatchRow, InputRow, input_hash};
use super::journal::{Phase, claimable, consult, lacks_amount, next_step};
use super::state::{Action, RowState, Step};
use crate::{Ledger, Verdict};

/// What a run would do with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Would {
    /// Send a void (and, with refunds instead, refund the row's amount if InstaMed refuses it
    /// as not voidable).
    Void,
    /// Send a void as a reconciliation: an earlier void's outcome is unknown.
    Reconcile,
    /// Send a refund: the void was refused as not voidable, or a refund never left.
    Refund,
    /// Send nothing: the journal or the ledger already holds the row's verdict.
    Nothing {
        /// The verdict the row has, or would be given.
        verdict: Verdict,
        /// Where it comes from, for a person.
        detail: String,
    },
    /// Send nothing: the row cannot be sent as it is.
    Invalid(String),
}

impl Would {
    /// The word a report gives it: `void`, `reconcile`, `refund`, `nothing`, `invalid`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Void => "void",
            Self::Reconcile => "reconcile",
            Self::Refund => "refund",
            Self::Nothing { .. } => "nothing",
            Self::Invalid(_) => "invalid",
        }
    }
}

/// One row of a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    /// Its line in the input.
    pub line: u64,
    /// Its `transaction_id`, as written.
    pub transaction_id: String,
    /// What a run would do.
    pub would: Would,
}

/// How many rows a dry run found for each thing a run would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Planned {
    /// Rows that would be voided.
    pub void: u64,
    /// Rows that would be reconciled.
    pub reconcile: u64,
    /// Rows that would be refunded.
    pub refund: u64,
    /// Rows answered from the journal or the ledger.
    pub nothing: u64,
    /// Rows that cannot be sent.
    pub invalid: u64,
}

impl Planned {
    fn add(&mut self, would: &Would) {
        let slot = match would {
            Would::Void => &mut self.void,
            Would::Reconcile => &mut self.reconcile,
            Would::Refund => &mut self.refund,
            Would::Nothing { .. } => &mut self.nothing,
            Would::Invalid(_) => &mut self.invalid,
        };
        *slot += 1;
    }

    /// Rows in all.
    pub fn total(&self) -> u64 {
        self.void + self.reconcile + self.refund + self.nothing + self.invalid
    }
}

/// Where an earlier run left a row: its state, its step, and whether a run would claim it.
#[derive(Debug, Clone, Copy)]
struct Left {
    state: RowState,
    step: Step,
    open: bool,
}

/// A dry run: the journal's rows read (when it exists), the ledger to consult.
#[derive(Debug)]
pub struct DryRun {
    or_refund: bool,
    ledger: Option<Arc<Ledger>>,
    /// The journal's input hash and rows by position, when a run started on it.
    journal: Option<(String, HashMap<i64, Left>)>,
}

impl DryRun {
    /// Reads the journal at `journal` without writing to it (a file that does not exist is a
    /// new journal, and is not made); `ledger` is consulted for every row. A journal a run holds
    /// is [`JournalError::Locked`], as it would be for a run.
    pub fn open(
        journal: &Path,
        ledger: Option<Arc<Ledger>>,
        or_refund: bool,
    ) -> Result<Self, JournalError> {
        let journal = if journal.exists() {
            read_journal(journal, or_refund, ledger.is_some())?
        } else {
            None
        };
        Ok(Self {
            or_refund,
            ledger,
            journal,
        })
    }

    /// Checks that `rows` are the input the journal was started with, as a run does first.
    pub fn check_input<I>(&self, rows: I, journal: &Path) -> Result<(), JournalError>
    where
        I: IntoIterator<Item = Result<InputRow, InputError>>,
    {
        let Some((hash, left)) = &self.journal else {
            return Ok(());
        };
        let (now_hash, count) = input_hash(rows)?;
        if now_hash == *hash {
            return Ok(());
        }
        Err(JournalError::InputChanged {
            path: journal.to_owned(),
            recorded: left.len() as u64,
            now: count,
        })
    }

    /// Says, row by row through `each`, what a run would do; counts it.
    pub fn plan<I>(
        &self,
        rows: I,
        mut each: impl FnMut(&PlannedRow),
    ) -> Result<Planned, JournalError>
    where
        I: IntoIterator<Item = Result<InputRow, InputError>>,
    {
        let mut planned = Planned::default();
        // A run refuses the whole input over one repeated ID; a dry run names every repeat.
        let mut first_lines: HashMap<String, u64> = HashMap::new();
        for (seq, row) in rows.into_iter().enumerate() {
            let row = row?;
            let would = self.row(seq as i64, &row, &mut first_lines)?;
            planned.add(&would);
            each(&PlannedRow {
                line: row.line,
                transaction_id: row.raw.kept(row.problem.is_none()).transaction_id.clone(),
                would,
            });
        }
        Ok(planned)
    }

    fn row(
        &self,
        seq: i64,
        row: &InputRow,
        first_lines: &mut HashMap<String, u64>,
    ) -> Result<Would, JournalError> {
        if let Some(problem) = &row.problem {
            return Ok(Would::Invalid(problem.clone()));
        }
        let key = row.raw.transaction_id.trim().to_ascii_uppercase();
        if let Some(first) = first_lines.get(&key) {
            return Ok(Would::Invalid(format!(
                "the transaction ID is on line {first} too: a run refuses the whole input"
            )));
        }
        first_lines.insert(key, row.line);
        if self.or_refund && lacks_amount(row) {
            return Ok(Would::Invalid(
                "no amount to refund instead (column amount): a run with --or-refund refuses \
                 the whole input"
                    .to_owned(),
            ));
        }
        let checked = match BatchRow::from_raw(&row.raw) {
            Ok(checked) => checked,
            Err(problem) => return Ok(Would::Invalid(problem)),
        };
        let left = self
            .journal
            .as_ref()
            .and_then(|(_, left)| left.get(&seq).copied());
        let (action, prior) = match left {
            None => (Action::Void, RowState::PENDING),
            Some(left) if !left.open => {
                return Ok(Would::Nothing {
                    verdict: left.state.verdict(),
                    detail: "done in the journal".to_owned(),
                });
            }
            Some(left) => match next_step(left.state, left.step, self.or_refund) {
                Some(action) => (action, left.state),
                None => {
                    return Ok(Would::Nothing {
                        verdict: Verdict::RefundUnknown,
                        detail: "the refund was in flight when a run stopped: it may have been \
                                 made, and is never sent twice"
                            .to_owned(),
                    });
                }
            },
        };
        let Some(ledger) = &self.ledger else {
            return Ok(would(action));
        };
        let standing = ledger.standing(checked.request.payment())?;
        let amount = checked.amount.map(|amount| amount.to_string());
        let held_before = prior == RowState::At(Verdict::RefundUnknown);
        Ok(
            match consult(
                &standing,
                action,
                self.or_refund,
                amount.as_deref(),
                held_before,
            ) {
                Ok(action) => would(action),
                Err((verdict, detail, _)) => Would::Nothing { verdict, detail },
            },
        )
    }
}

fn would(action: Action) -> Would {
    match action {
        Action::Void => Would::Void,
        Action::Reconcile => Would::Reconcile,
        Action::Refund => Would::Refund,
    }
}

/// The journal's input hash and where each row stands, read on a connection that writes
/// nothing; `None` when no input was ever recorded in it.
#[allow(clippy::type_complexity)]
fn read_journal(
    path: &Path,
    or_refund: bool,
    ledger: bool,
) -> Result<Option<(String, HashMap<i64, Left>)>, JournalError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    conn.pragma_update(None, "query_only", true)?;
    let refused = |error: rusqlite::Error| match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => JournalError::Locked {
            path: path.to_owned(),
        },
        _ => JournalError::NotAJournal {
            path: path.to_owned(),
        },
    };
    let hash: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'input_hash'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(refused)?;
    let Some(hash) = hash else {
        return Ok(None);
    };
    let mut select = conn
        .prepare(&format!(
            "SELECT seq, state, step, ({}) AS open FROM rows",
            claimable(Phase::Main, or_refund, ledger)
        ))
        .map_err(refused)?;
    let rows = select
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>("seq")?,
                Left {
                    state: r.get("state")?,
                    step: r.get("step")?,
                    open: r.get("open")?,
                },
            ))
        })
        .map_err(refused)?;
    let left = rows
        .collect::<Result<HashMap<_, _>, _>>()
        .map_err(refused)?;
    Ok(Some((hash, left)))
}
