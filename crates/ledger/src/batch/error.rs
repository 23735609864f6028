//! What can stop a batch before or while it runs (a row's own trouble is a verdict, not an
//! error).

use std::path::PathBuf;

/// The input cannot be read as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file cannot be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading failed part way.
    #[error("cannot read the input")]
    Read {
        /// Why.
        source: std::io::Error,
    },
    /// The CSV cannot be read at some line.
    #[error("cannot read the CSV at line {line}")]
    Csv {
        /// Where.
        line: u64,
        /// Why.
        source: csv::Error,
    },
    /// The CSV header lacks required columns.
    #[error("the CSV header lacks the column(s) {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// The CSV header names a column twice.
    #[error("the CSV header names the column {0:?} twice")]
    DuplicateColumn(String),
}

/// The journal refused to run, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another process has the journal open.
    #[error(
        "the journal {} is in use by another process (another batch is running on it); wait for it to end",
        path.display()
    )]
    Locked {
        /// The journal.
        path: PathBuf,
    },
    /// The input is not the one this journal was started with.
    #[error(
        "the input differs from the one the journal {} was started with ({recorded} rows then, {now} now, or changed contents); resume with the original file or start a new journal",
        path.display()
    )]
    InputChanged {
        /// The journal.
        path: PathBuf,
        /// Rows recorded.
        recorded: u64,
        /// Rows read now.
        now: u64,
    },
    /// The input names one payment more than once: nothing was sent.
    #[error("duplicate transaction IDs, nothing was sent: {}", describe_duplicates(.0))]
    Duplicates(Vec<Duplicate>),
    /// Refunds instead were asked for, and these rows (their input lines) give no amount to
    /// refund: nothing was sent, and nothing recorded, so the corrected file loads into the
    /// same journal.
    #[error(
        "refunding instead needs an amount on every row, and {} (column amount); nothing was sent",
        describe_lines(.0)
    )]
    MissingAmounts(Vec<u64>),
    /// The input could not be read: nothing was sent.
    #[error("cannot load the input, nothing was sent")]
    Input(#[from] InputError),
    /// The file is not a journal of this program (or of a later version).
    #[error("{} is not a batch journal of this version", path.display())]
    NotAJournal {
        /// The file.
        path: PathBuf,
    },
    /// SQLite failed.
    #[error("journal database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The ledger the batch consults refused or failed.
    #[error("the ledger failed")]
    Ledger(#[from] crate::LedgerError),
    /// The journal's writer stopped.
    #[error("the journal writer stopped unexpectedly")]
    WriterGone,
}

/// A transaction ID found twice in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The ID (as on its second line).
    pub transaction_id: String,
    /// Line of its first occurrence.
    pub first_line: u64,
    /// Line of the repeat.
    pub line: u64,
}

fn describe_duplicates(duplicates: &[Duplicate]) -> String {
    let mut text: Vec<String> = duplicates
        .iter()
        .take(20)
        .map(|d| {
            format!(
                "{} on lines {} and {}",
                d.transaction_id, d.first_line, d.line
            )
        })
        .collect();
    if duplicates.len() > 20 {
        text.push(format!("and {} more", duplicates.len() - 20));
    }
    text.join("; ")
}

/// "line 3 has none", "lines 3, 5 and 9 have none", at most 20 lines named.
pub(crate) fn describe_lines(lines: &[u64]) -> String {
    let named: Vec<String> = lines.iter().take(20).map(u64::to_string).collect();
    let more = lines.len().saturating_sub(named.len());
    match (named.as_slice(), more) {
        ([one], _) => format!("line {one} has none"),
        (all, 0) => match all.split_last() {
            Some((last, rest)) => format!("lines {} and {last} have none", rest.join(", ")),
            None => "no line has one".to_owned(),
        },
        (some, more) => format!("lines {} and {more} more have none", some.join(", ")),
    }
}
