//! The report: a header, then one row per input row in input order, as CSV or JSON Lines.

use std::io::Write;

use super::error::JournalError;
use super::input::Format;
use super::journal::{Journal, RowRecord};

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

/// Writes the report of every row of `journal` to `out`.
pub fn write_report(journal: &Journal, format: Format, out: impl Write) -> Result<(), ReportError> {
    let extra = journal.extra_columns()?;
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            let header = REPORT_COLUMNS
                .iter()
                .copied()
                .chain(extra.iter().map(String::as_str));
            writer.write_record(header)?;
            let mut failure = None;
            journal
                .for_each_row(|row| {
                    let mut fields = own_fields(row);
                    fields.extend(extra.iter().map(|name| extra_value(row, name)));
                    if let Err(error) = writer.write_record(&fields) {
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
                    for (name, value) in REPORT_COLUMNS.iter().zip(own_fields(row)) {
                        object.insert((*name).to_owned(), serde_json::Value::String(value));
                    }
                    object.insert("line".into(), row.line.into());
                    object.insert("exit_class".into(), row.verdict.exit_class().into());
                    object.insert("attempts".into(), row.attempts.into());
                    object.insert("run".into(), row.run.into());
                    for (name, value) in &row.raw.extra {
                        object
                            .entry(name.clone())
                            .or_insert_with(|| value.clone().into());
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

fn own_fields(row: &RowRecord) -> Vec<String> {
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
        row.verdict.exit_class().to_string(),
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
