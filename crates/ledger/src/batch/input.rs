//! The rows of a batch: what a file said (kept as it was for the report, less any card number
//! in what is never sent) and what it means (a void request, checked before anything is sent).

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;

use instamed_soap::exact_json::Json;
use instamed_soap::sensitive::redact_cards;
use instamed_soap::{CardPresentStatus, InvalidRequest, Outlet, TransactionId, VoidRequest};

use super::error::InputError;
use instamed_soap::rest::Amount;

/// The columns every row must have, in the order the report writes them.
pub const REQUIRED_COLUMNS: [&str; 4] =
    ["transaction_id", "merchant_id", "store_id", "terminal_id"];
/// The columns a row may have; any other column is kept and echoed in the report.
pub const OPTIONAL_COLUMNS: [&str; 2] = ["amount", "card_present_status"];

/// A row's fields as the input gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow {
    /// `transaction_id`: the payment to void.
    pub transaction_id: String,
    /// `merchant_id` of the outlet that took it.
    pub merchant_id: String,
    /// `store_id` of the outlet.
    pub store_id: String,
    /// `terminal_id` of the outlet.
    pub terminal_id: String,
    /// `amount` to refund instead, when the void is too late (may be empty).
    pub amount: String,
    /// `card_present_status` (may be empty: `PresentManualKey`).
    pub card_present_status: String,
    /// Every other column, by name, in input order.
    pub extra: Vec<(String, String)>,
}

/// One of a raw row's fields, to write.
type Field = fn(&mut RawRow) -> &mut String;

impl RawRow {
    /// The row as the journal and the report keep it: a card number masked wherever it is
    /// never sent, in the columns echoed beside the row and, in a row that cannot be sent
    /// (`sendable` false: a card number typed as the payment's ID), in every column. A row
    /// that is sent keeps its fields as given, since a resumed run sends what the journal holds.
    pub fn kept(&self, sendable: bool) -> Cow<'_, Self> {
        let mut kept = Cow::Borrowed(self);
        if !sendable {
            let fields: [(&str, Field); 6] = [
                (&self.transaction_id, |row| &mut row.transaction_id),
                (&self.merchant_id, |row| &mut row.merchant_id),
                (&self.store_id, |row| &mut row.store_id),
                (&self.terminal_id, |row| &mut row.terminal_id),
                (&self.amount, |row| &mut row.amount),
                (&self.card_present_status, |row| {
                    &mut row.card_present_status
                }),
            ];
            for (text, field) in fields {
                if let Cow::Owned(masked) = redact_cards(text) {
                    *field(kept.to_mut()) = masked;
                }
            }
        }
        for (at, (_, value)) in self.extra.iter().enumerate() {
            if let Cow::Owned(masked) = redact_cards(value) {
                kept.to_mut().extra[at].1 = masked;
            }
        }
        kept
    }
}

/// A row checked and ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    /// The void to send.
    pub request: VoidRequest,
    /// The amount to refund when the payment can no longer be voided (with `--or-refund`).
    pub amount: Option<Amount>,
}

impl BatchRow {
    /// Checks a raw row: IDs, outlet, card-present status and amount.
    pub fn from_raw(raw: &RawRow) -> Result<Self, String> {
        let outlet =
            Outlet::new(&raw.merchant_id, &raw.store_id, &raw.terminal_id).map_err(by_column)?;
        let payment = TransactionId::new(&raw.transaction_id).map_err(by_column)?;
        let status = match raw.card_present_status.trim() {
            "" => CardPresentStatus::default(),
            code => code.parse::<CardPresentStatus>().map_err(by_column)?,
        };
        let amount = match raw.amount.trim() {
            "" => None,
            text => Some(refund_amount(text)?),
        };
        Ok(Self {
            request: VoidRequest::new(outlet, payment).with_card_present_status(status),
            amount,
        })
    }
}

/// A refused field, named by the column the user wrote it in (`store_id`), never by its wire
/// name (`StoreID`).
fn by_column(invalid: InvalidRequest) -> String {
    let column = match invalid.field {
        "MerchantID" => "merchant_id",
        "StoreID" => "store_id",
        "TerminalID" => "terminal_id",
        "PrimaryTransactionID" => "transaction_id",
        "PrimaryCardPresentStatus" => "card_present_status",
        "Amount" => "amount",
        other => other,
    };
    format!("{column}: {}", invalid.problem)
}

/// The amount of a row's `amount` column (already trimmed): the crate's one money type, and
/// more than zero, because a row's amount is what `--or-refund` would give back.
fn refund_amount(text: &str) -> Result<Amount, String> {
    match text.parse::<Amount>() {
        Ok(amount) if amount.cents() > 0 => Ok(amount),
        Ok(_) => Err("amount must be more than zero".to_owned()),
        Err(invalid) => Err(invalid.to_string()),
    }
}

/// One row of input: where it was, what it said, and whether it can be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// Its line number in the input (1 is the first line; a CSV header is line 1).
    pub line: u64,
    /// Its fields as given.
    pub raw: RawRow,
    /// The reason it cannot be sent, if it cannot.
    pub problem: Option<String>,
}

impl InputRow {
    /// A row read at `line`, checked.
    pub fn new(line: u64, raw: RawRow) -> Self {
        let problem = BatchRow::from_raw(&raw).err();
        Self { line, raw, problem }
    }

    /// A row built from a request in code (`line` is its position, from 1).
    pub fn from_request(line: u64, request: &VoidRequest, amount: Option<Amount>) -> Self {
        let outlet = request.outlet();
        Self::new(
            line,
            RawRow {
                transaction_id: request.payment().as_str().to_owned(),
                merchant_id: outlet.merchant_id().to_owned(),
                store_id: outlet.store_id().to_owned(),
                terminal_id: outlet.terminal_id().to_owned(),
                amount: amount.map(|a| a.to_string()).unwrap_or_default(),
                card_present_status: request.card_present_status().to_string(),
                extra: Vec::new(),
            },
        )
    }

    /// A row whose reading failed before its fields could be told apart.
    fn unreadable(line: u64, problem: String) -> Self {
        Self {
            line,
            raw: RawRow::default(),
            problem: Some(problem),
        }
    }
}

/// The two file formats, picked by extension: `.jsonl`/`.ndjson`/`.json` is JSON Lines, any
/// other is CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object a line.
    JsonLines,
}

impl Format {
    /// The format a file's name says.
    pub fn of(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Self::JsonLines,
            _ => Self::Csv,
        }
    }
}

/// The largest batch file read: some twenty million rows. The journal holds every row, and a
/// name given by mistake (a device) must not fill the disk or memory.
pub const MAX_INPUT_BYTES: u64 = 2 << 30;

/// Reads a batch file: a regular file (never a FIFO or a device, which would block or never
/// end) of at most [`MAX_INPUT_BYTES`]. The rows come one at a time (a file of a million rows
/// is never held in memory); a row that cannot be read comes back as a row with a problem, an
/// I/O error as an error that stops the load.
pub fn read_file(
    path: &Path,
) -> Result<Box<dyn Iterator<Item = Result<InputRow, InputError>>>, InputError> {
    let file =
        instamed_soap::files::open(path, MAX_INPUT_BYTES).map_err(|source| InputError::Open {
            path: path.to_owned(),
            source,
        })?;
    match Format::of(path) {
        Format::Csv => Ok(Box::new(csv_rows(BufReader::new(file))?)),
        Format::JsonLines => Ok(Box::new(json_rows(BufReader::new(file)))),
    }
}

/// Reads CSV with a header row naming at least the required columns.
pub fn csv_rows<R: std::io::Read + 'static>(
    reader: R,
) -> Result<impl Iterator<Item = Result<InputRow, InputError>>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| InputError::Csv { line: 1, source })?
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|name| !header.iter().any(|h| h == name))
        .collect();
    if !missing.is_empty() {
        return Err(InputError::MissingColumns(
            missing.iter().map(|s| (*s).to_owned()).collect(),
        ));
    }
    if let Some(name) = first_duplicate(&header) {
        return Err(InputError::DuplicateColumn(name));
    }
    let mut records = reader.into_records();
    Ok(std::iter::from_fn(move || {
        let record = records.next()?;
        Some(match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    return Some(Ok(InputRow::unreadable(
                        line,
                        format!(
                            "has {} fields where the header has {}",
                            record.len(),
                            header.len()
                        ),
                    )));
                }
                let fields = header
                    .iter()
                    .zip(record.iter())
                    .map(|(name, value)| (name.as_str(), value.to_owned()));
                Ok(InputRow::new(line, raw_from(fields)))
            }
            Err(error) => match error.kind() {
                csv::ErrorKind::Utf8 { pos, .. } => Ok(InputRow::unreadable(
                    pos.as_ref().map_or(0, |p| p.line()),
                    "is not valid UTF-8".to_owned(),
                )),
                _ => {
                    let line = error.position().map_or(0, |p| p.line());
                    Err(InputError::Csv {
                        line,
                        source: error,
                    })
                }
            },
        })
    }))
}

/// Reads JSON Lines: one object a line, with the same field names as the CSV columns; values
/// are strings. An amount may also be a JSON number, read as the exact text written (never
/// through a float): `4.5` is 4.50, while `10.005` and `1e2` are refused as any other amount
/// with a third decimal or an exponent is. A field given twice makes its row invalid. Blank
/// lines are skipped.
pub fn json_rows<R: BufRead + 'static>(
    reader: R,
) -> impl Iterator<Item = Result<InputRow, InputError>> {
    let mut lines = reader.lines().enumerate();
    std::iter::from_fn(move || {
        loop {
            let (index, line) = lines.next()?;
            let number = index as u64 + 1;
            let text = match line {
                Ok(text) => text,
                Err(source) if source.kind() == std::io::ErrorKind::InvalidData => {
                    return Some(Ok(InputRow::unreadable(
                        number,
                        "is not valid UTF-8".to_owned(),
                    )));
                }
                Err(source) => return Some(Err(InputError::Read { source })),
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(Ok(json_row(number, &text)));
        }
    })
}

fn json_row(line: u64, text: &str) -> InputRow {
    let members = match Json::parse(text) {
        Ok(Json::Object(members)) => members,
        Ok(_) => return InputRow::unreadable(line, "is not a JSON object".to_owned()),
        Err(error) => return InputRow::unreadable(line, format!("is not JSON: {error}")),
    };
    let mut fields: Vec<(String, String)> = Vec::with_capacity(members.len());
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    for (name, value) in members {
        // Two values for one field: whichever were taken, the other was written for a reason.
        if !seen.insert(name.clone()) {
            return InputRow::unreadable(line, format!("gives field {name:?} twice"));
        }
        let value = match value {
            Json::String(s) => s,
            // The number's own digits: an amount is never rounded on its way in.
            Json::Number(digits) if name == "amount" => digits,
            Json::Null => String::new(),
            other if !is_known(&name) => other.to_string(),
            _ => {
                return InputRow::unreadable(line, format!("field {name:?} is not a string"));
            }
        };
        fields.push((name, value));
    }
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|name| !fields.iter().any(|(n, _)| n == name))
        .collect();
    let raw = raw_from(fields.iter().map(|(n, v)| (n.as_str(), v.clone())));
    if !missing.is_empty() {
        return InputRow {
            line,
            raw,
            problem: Some(format!("lacks {}", missing.join(", "))),
        };
    }
    InputRow::new(line, raw)
}

fn is_known(name: &str) -> bool {
    REQUIRED_COLUMNS.contains(&name) || OPTIONAL_COLUMNS.contains(&name)
}

fn raw_from<'a>(fields: impl Iterator<Item = (&'a str, String)>) -> RawRow {
    let mut raw = RawRow::default();
    for (name, value) in fields {
        match name {
            "transaction_id" => raw.transaction_id = value,
            "merchant_id" => raw.merchant_id = value,
            "store_id" => raw.store_id = value,
            "terminal_id" => raw.terminal_id = value,
            "amount" => raw.amount = value,
            "card_present_status" => raw.card_present_status = value,
            other => raw.extra.push((other.to_owned(), value)),
        }
    }
    raw
}

fn first_duplicate(names: &[String]) -> Option<String> {
    names
        .iter()
        .enumerate()
        .find(|(i, name)| names[..*i].contains(name))
        .map(|(_, name)| name.clone())
}

/// The hash of a whole input (see [`hash_row`]) and how many rows it has: what a resumed run
/// and a dry run compare with the hash their journal recorded.
pub(crate) fn input_hash<I>(rows: I) -> Result<(String, u64), InputError>
where
    I: IntoIterator<Item = Result<InputRow, InputError>>,
{
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut count = 0_u64;
    for row in rows {
        hash_row(&mut context, &row?);
        count += 1;
    }
    Ok((hex(context.finish().as_ref()), count))
}

/// Feeds the hash that tells a resumed input from a changed one: every row's line, fields and
/// problem, with separators no field can hold ambiguously (lengths first).
pub(crate) fn hash_row(context: &mut ring::digest::Context, row: &InputRow) {
    let mut put = |text: &str| {
        context.update(&(text.len() as u64).to_le_bytes());
        context.update(text.as_bytes());
    };
    put(&row.line.to_string());
    let raw = &row.raw;
    for field in [
        &raw.transaction_id,
        &raw.merchant_id,
        &raw.store_id,
        &raw.terminal_id,
        &raw.amount,
        &raw.card_present_status,
    ] {
        put(field);
    }
    put(&raw.extra.len().to_string());
    for (name, value) in &raw.extra {
        put(name);
        put(value);
    }
    put(row.problem.as_deref().unwrap_or(""));
}

/// A hash as the journal keeps it: lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &'static str) -> Vec<InputRow> {
        csv_rows(text.as_bytes())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    /// Asserts that `row` was refused, for a reason that says `words`.
    #[track_caller]
    fn assert_refused(row: &InputRow, words: &str) {
        assert!(
            row.problem.as_deref().is_some_and(|p| p.contains(words)),
            "expected a problem saying {words:?}: {row:?}"
        );
    }

    #[test]
    fn csv_rows_keep_line_numbers_extra_columns_and_problems() {
        let rows = csv(
            "transaction_id,merchant_id,store_id,terminal_id,amount,invoice\n\
             AAAA1111,123,1,2,4.00,INV-1\n\
             ,123,1,2,,INV-2\n\
             BBBB2222,123,1,2,1.234,INV-3\n\
             CCCC3333,123,1\n",
        );
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].problem, None);
        assert_eq!(
            rows[0].raw.extra,
            vec![("invoice".to_owned(), "INV-1".to_owned())]
        );
        assert_eq!(rows[1].line, 3);
        // Named by the column the user wrote, not the wire field (PrimaryTransactionID).
        assert_refused(&rows[1], "transaction_id: ");
        assert_refused(&rows[2], "two decimals");
        assert_refused(&rows[3], "3 fields");
    }

    #[test]
    fn csv_without_the_required_columns_is_refused() {
        let error = csv_rows("transaction_id,merchant_id\nA,B\n".as_bytes())
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("store_id, terminal_id"),
            "{error}"
        );
    }

    #[test]
    fn json_lines_take_numbers_as_amounts_and_skip_blank_lines() {
        let text = "{\"transaction_id\":\"AAAA1111\",\"merchant_id\":\"123\",\"store_id\":\"1\",\"terminal_id\":\"2\",\"amount\":4.5,\"ref\":7}\n\n[1]\n{\"transaction_id\":\"B\"}\n";
        let rows: Vec<InputRow> = json_rows(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].problem, None);
        assert_eq!(rows[0].raw.amount, "4.5");
        assert_eq!(rows[0].raw.extra, vec![("ref".to_owned(), "7".to_owned())]);
        assert_eq!(rows[1].line, 3);
        assert_refused(&rows[1], "not a JSON object");
        assert_eq!(rows[2].line, 4);
        assert_refused(&rows[2], "lacks merchant_id");
    }

    /// An amount in JSON is read as the digits written: a float would turn
    /// `4.10000000000000000001` into 4.10 and `4.999999999999999999` into 5.00, and refund
    /// what nobody wrote.
    #[test]
    fn json_amounts_are_read_as_written_never_through_a_float() {
        let row = |amount: &str| {
            let text = format!(
                "{{\"transaction_id\":\"AAAA1111\",\"merchant_id\":\"123\",\"store_id\":\"1\",\"terminal_id\":\"2\",\"amount\":{amount},\"ref\":12345678901234567890123}}"
            );
            json_rows(std::io::Cursor::new(text))
                .next()
                .unwrap()
                .unwrap()
        };
        let exact = row("4.50");
        assert_eq!(exact.problem, None);
        assert_eq!(exact.raw.amount, "4.50");
        assert_eq!(
            BatchRow::from_raw(&exact.raw)
                .unwrap()
                .amount
                .map(Amount::cents),
            Some(450)
        );
        // What is not a column of ours is echoed as written too.
        assert_eq!(
            exact.raw.extra,
            vec![("ref".to_owned(), "12345678901234567890123".to_owned())]
        );
        for refused in [
            "10.005",
            "1e2",
            "4.10000000000000000001",
            "4.999999999999999999",
            "0.30000000000000004",
            "-1",
            "0",
        ] {
            let row = row(refused);
            assert_eq!(row.raw.amount, refused);
            assert!(row.problem.is_some(), "{refused} was read as an amount");
        }
        let twice = json_rows(std::io::Cursor::new(
            "{\"transaction_id\":\"A\",\"merchant_id\":\"1\",\"store_id\":\"1\",\"terminal_id\":\"2\",\"amount\":\"1.00\",\"amount\":\"100.00\"}",
        ))
        .next()
        .unwrap()
        .unwrap();
        assert_refused(&twice, "twice");
    }
}
