//! `batch --dry-run`: what a run would do with each row, said without sending or writing
//! anything, by the rules a run follows (`instamed_soap_ledger::batch::DryRun`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use instamed_soap_ledger::Ledger;
use instamed_soap_ledger::batch::{DryRun, JournalError, Planned, PlannedRow, Would, read_file};

use super::{Args, journal_refused};
use crate::exit;

/// Runs the dry run: one line per row, a summary, and 0 (every row can be sent or is answered)
/// or 2 (some rows are invalid).
pub(super) fn run(args: &Args) -> ExitCode {
    let ledger = match ledger(args) {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let mut rows = Vec::new();
    let planned = match plan(args, ledger, |row| {
        if args.json {
            rows.push(row_json(row));
        } else {
            println!("{}", row_line(row));
        }
    }) {
        Ok(planned) => planned,
        Err(error) => return journal_refused(&error),
    };
    let code = if planned.invalid > 0 {
        exit::INVALID
    } else {
        exit::VOIDED
    };
    if args.json {
        println!("{}", summary_json(&planned, code, rows));
    } else {
        println!("{}", summary_line(&planned, code));
    }
    ExitCode::from(code)
}

/// The ledger, read only when it exists and holds something: a dry run makes none, and an
/// empty file (a ledger never written) holds nothing to consult.
fn ledger(args: &Args) -> Result<Option<Arc<Ledger>>, ExitCode> {
    let path = match args.ledger.path() {
        Ok(path) => path,
        Err(why) => {
            eprintln!("error: {why}");
            return Err(ExitCode::from(exit::LEDGER));
        }
    };
    let holds_something =
        Ledger::is_database_url(&path) || std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 0);
    if !holds_something {
        return Ok(None);
    }
    match Ledger::open_to_read(&path) {
        Ok(ledger) => Ok(Some(Arc::new(ledger))),
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            Err(ExitCode::from(exit::LEDGER))
        }
    }
}

/// Reads the journal, checks the input against it as a run does, then plans every row.
fn plan(
    args: &Args,
    ledger: Option<Arc<Ledger>>,
    each: impl FnMut(&PlannedRow),
) -> Result<Planned, JournalError> {
    let journal: &Path = &args.journal;
    let dry = DryRun::open(journal, ledger, args.or_refund)?;
    dry.check_input(read_file(&args.input)?, journal)?;
    dry.plan(read_file(&args.input)?, each)
}

/// `line 2: AAAA1111: void`, `line 5: BBBB2222: nothing (voided, from the ledger: …)`.
fn row_line(row: &PlannedRow) -> String {
    let what = match &row.would {
        Would::Nothing { verdict, detail } => format!("nothing ({verdict}, {detail})"),
        Would::Invalid(problem) => format!("invalid, not sent: {problem}"),
        other => other.as_str().to_owned(),
    };
    format!("line {}: {}: {what}", row.line, row.transaction_id)
}

fn row_json(row: &PlannedRow) -> serde_json::Value {
    let (verdict, detail) = match &row.would {
        Would::Nothing { verdict, detail } => (Some(verdict.as_str()), Some(detail.as_str())),
        Would::Invalid(problem) => (None, Some(problem.as_str())),
        _ => (None, None),
    };
    serde_json::json!({
        "line": row.line,
        "transaction_id": row.transaction_id,
        "would": row.would.as_str(),
        "verdict": verdict,
        "detail": detail,
    })
}

fn summary_line(planned: &Planned, code: u8) -> String {
    format!(
        "dry run, nothing was sent: {}: {} to void, {} to reconcile, {} to refund, {} answered \
         from the journal or the ledger, {} invalid; exit code {code}",
        crate::plural::counted(planned.total(), "row"),
        planned.void,
        planned.reconcile,
        planned.refund,
        planned.nothing,
        planned.invalid
    )
}

fn summary_json(planned: &Planned, code: u8, rows: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "dry_run": true,
        "exit_code": code,
        "rows": planned.total(),
        "would": {
            "void": planned.void,
            "reconcile": planned.reconcile,
            "refund": planned.refund,
            "nothing": planned.nothing,
            "invalid": planned.invalid,
        },
        "lines": rows,
    })
}
