//! `docs/outcomes.md`, read at test time and held to the client row by row.
//!
//! The doc is the rule set users and reviewers read; `cli/tests/cli/outcomes.rs` has a test named
//! after each row, but nothing there notices when the doc's table says something else than the
//! tests check, or gains a row no test builds. Here the tables themselves are parsed: for every
//! row, the answers below are served by a real loopback TLS server, and the client's verdict
//! (`Error::code()` or a receipt, `outcome_unknown()`, the proof for reconciliation, whether the
//! request left) must be what the row's cells say. The expectations come from the cells, so a
//! cell changed without the client (or the client without the cell) fails here; a row with no
//! case, a case for a row that is gone, a cell this test cannot read, or a table shorter than
//! [`ROWS_AT_LEAST`] fails too. A case the client is known to answer otherwise than the doc
//! is marked with the reason (`Case::differs`) and must keep differing, so the note cannot
//! outlive the difference.
//!
//! The CLI exit column is not checked here: the client library has no exit codes
//! (`cli/tests/cli/outcomes.rs` runs the binary for that).

use instamed_soap_test_support as support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use instamed_soap::rest::Amount;
use instamed_soap::{
    AnswerProblem, ApiKey, Client, Error, Protocol, RefundRequest, TransactionId, VoidRequest,
};
use support::{PAYMENT, Received, Reply, Server, Version, aspnet_fault, envelope, error_info};

/// The rows the doc has now (20 for voids, R1–R7 for REST, F1–F7 for refunds). A table that
/// loses rows, or a parser that stops finding them, must not pass by checking less.
const ROWS_AT_LEAST: usize = 34;

/// Rows whose evidence is no answer a server can give, with the reason; each must still be a
/// row of the doc.
const NOT_SERVED: &[(&str, &str)] = &[(
    "20",
    "an invalid request never reaches a client call: `Outlet::new`, `TransactionId::new` and \
     `RefundRequest::new` refuse it, so nothing can be served or sent (the CLI's exit 2 for it \
     is `row_20_an_invalid_request_is_never_sent` in cli/tests/cli/outcomes.rs)",
)];

const RESULT: &str = "result / `Error` variant";
const UNKNOWN: &str = "`outcome_unknown()`";
const PROOF: &str = "proof for reconciliation";
const EVIDENCE: &str = "evidence";

// ---------------------------------------------------------------------------------------------
// The tables

/// One row of a table, its cells by the header's names.
#[derive(Debug)]
struct Row {
    id: String,
    cells: BTreeMap<String, String>,
}

impl Row {
    fn cell(&self, column: &str) -> Option<&str> {
        self.cells.get(column).map(String::as_str)
    }
}

struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn read() -> Table {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/outcomes.md");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        Table::parse(&text)
    }

    /// Every markdown table in `text`. Each must be an outcomes table (first column `#`, a
    /// result and an `outcome_unknown()` column) and every line of it a row with an ID: a table
    /// or a line this test would not understand fails rather than being passed over.
    fn parse(text: &str) -> Table {
        let mut rows: Vec<Row> = Vec::new();
        let mut header: Option<Vec<String>> = None;
        for line in text.lines().map(str::trim) {
            if !line.starts_with('|') {
                header = None;
                continue;
            }
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect();
            let Some(names) = &header else {
                assert!(
                    cells.first().is_some_and(|c| c == "#")
                        && cells.iter().any(|c| c == RESULT)
                        && cells.iter().any(|c| c == UNKNOWN),
                    "docs/outcomes.md: a table this test cannot read (it needs the columns \
                     `#`, {RESULT:?} and {UNKNOWN:?}): {line}"
                );
                header = Some(cells);
                continue;
            };
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            assert_eq!(
                cells.len(),
                names.len(),
                "docs/outcomes.md: a row with {} cells under {} columns: {line}",
                cells.len(),
                names.len()
            );
            let id = cells[0].clone();
            assert!(
                is_row_id(&id),
                "docs/outcomes.md: a row without an ID (1, R1, F1…): {line}"
            );
            assert!(
                rows.iter().all(|row| row.id != id),
                "docs/outcomes.md: row {id} twice"
            );
            let cells = names.iter().cloned().zip(cells).collect();
            rows.push(Row { id, cells });
        }
        Table { rows }
    }

    fn row(&self, id: &str) -> &Row {
        self.rows
            .iter()
            .find(|row| row.id == id)
            .unwrap_or_else(|| panic!("docs/outcomes.md has no row {id}"))
    }
}

fn is_row_id(id: &str) -> bool {
    let digits = id.strip_prefix(['R', 'F', 'S']).unwrap_or(id);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// The rows a reference names: `4–7`, `9–10, 13, R3, R5–R6`. Ranges keep their prefix.
fn expand(list: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for item in list.split(',').map(str::trim) {
        match item.split_once('–') {
            Some((from, to)) => {
                let prefix: String = from.chars().take_while(|c| !c.is_ascii_digit()).collect();
                let number = |id: &str| -> u32 {
                    id.strip_prefix(prefix.as_str())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("a range this test cannot read: {item}"))
                };
                rows.extend((number(from)..=number(to)).map(|n| format!("{prefix}{n}")));
            }
            None => {
                assert!(is_row_id(item), "a row this test cannot read: {item:?}");
                rows.push(item.to_owned());
            }
        }
    }
    rows
}

/// The rows a cell refers to with "as rows A–B" (the answer is judged as one of them).
fn as_rows(cell: &str) -> Option<Vec<String>> {
    let rest = cell.split_once("as rows ")?.1;
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    Some(expand(rest[..end].trim_end_matches([',', '.', ')'])))
}

/// The rows an evidence cell lists as "(rows …)": any answer of those rows, asked another way.
fn listed_rows(cell: &str) -> Option<Vec<String>> {
    let rest = cell.split_once("(rows ")?.1;
    Some(expand(&rest[..rest.find(')')?]))
}

/// The rows a row's cases must each take as their model: those its result cell defers to, or
/// those its evidence lists.
fn referenced_rows(row: &Row) -> BTreeSet<String> {
    let result = row.cell(RESULT).and_then(as_rows);
    let evidence = row.cell(EVIDENCE).and_then(listed_rows);
    result.into_iter().chain(evidence).flatten().collect()
}

// ---------------------------------------------------------------------------------------------
// What a row says

/// The doc's names for results and `Error` variants, and `Error::code()` for each.
const VARIANTS: &[(&str, &str)] = &[
    ("Ok(VoidReceipt)", "voided"),
    ("Ok(RefundReceipt)", "refunded"),
    ("InvalidRequest", "invalid_request"),
    ("AuthenticationRefused", "authentication_refused"),
    ("Declined", "declined"),
    ("NotVoidable", "not_voidable"),
    ("AlreadyVoided", "already_voided"),
    ("UnknownTransaction", "unknown_transaction"),
    ("OverRefundable", "over_refundable"),
    ("RefundWindowPassed", "refund_window_passed"),
    ("RefundOutcomeUnknown", "refund_outcome_unknown"),
    ("Fault", "fault"),
    ("NvpError", "service_error"),
    ("Timeout", "timeout"),
    ("Connect", "connect_error"),
    ("Tls", "tls_error"),
    ("Transport", "transport_error"),
    ("HttpStatus", "http_status"),
    ("MalformedAnswer", "malformed_response"),
];

/// What the doc calls a "refusal" of a void.
const REFUSALS: &[&str] = &[
    "already_voided",
    "not_voidable",
    "unknown_transaction",
    "declined",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// `proves_voided()`, and not `proves_not_voided()`.
    Voided,
    /// `proves_not_voided()`, and not `proves_voided()`.
    NotVoided,
    /// Neither.
    Nothing,
}

/// What a row's cells require of one case.
#[derive(Debug)]
struct Expected {
    /// The codes the result cell allows (a receipt is `voided` or `refunded`).
    codes: BTreeSet<&'static str>,
    /// `outcome_unknown()`; `None` where the cell says `—` (a receipt).
    unknown: Option<bool>,
    /// Where the table has a proof column and the row's answer is an error.
    proof: Option<Proof>,
    /// The cell names `Inconsistent`: the answer's problem must be that.
    inconsistent: bool,
    /// The cell says "with `sent`" (true) or "without `sent`" (false).
    sent: Option<bool>,
}

/// Where a cell says "as rows A–B": the case's model row, which must be one of them.
fn model<'t>(table: &'t Table, row: &Row, case: &Case, cell: &str) -> &'t Row {
    let allowed = as_rows(cell).expect("a reference");
    let like = case.like.unwrap_or_else(|| {
        panic!(
            "row {}: the cell says {cell:?}, so each case must name its model row",
            row.id
        )
    });
    assert!(
        allowed.iter().any(|id| id == like),
        "row {}: a case modelled on row {like}, not one of {allowed:?}",
        row.id
    );
    table.row(like)
}

fn expected(table: &Table, row: &Row, case: &Case) -> Expected {
    let result = row.cell(RESULT).expect("a result column").replace("**", "");
    let (codes, inconsistent, sent) = if result.contains("as rows ") {
        let like = expected(table, model(table, row, case, &result), case);
        let mut codes = like.codes;
        if result.contains("refusal") {
            codes.retain(|code| REFUSALS.contains(code));
        }
        (codes, like.inconsistent, like.sent)
    } else {
        read_result(&row.id, &result)
    };
    let unknown_cell = row
        .cell(UNKNOWN)
        .expect("an unknown column")
        .replace("**", "");
    let unknown = match unknown_cell.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        "—" => None,
        cell if cell.starts_with("as rows ") => {
            expected(table, model(table, row, case, cell), case).unknown
        }
        cell => panic!(
            "row {}: an outcome_unknown() cell this test cannot read: {cell:?}",
            row.id
        ),
    };
    let proof = row
        .cell(PROOF)
        .and_then(|cell| read_proof(table, row, case, &cell.replace("**", "")));
    Expected {
        codes,
        unknown,
        proof,
        inconsistent,
        sent,
    }
}

/// The codes a result cell allows, whether it names `Inconsistent`, and what it says of `sent`.
fn read_result(row: &str, cell: &str) -> (BTreeSet<&'static str>, bool, Option<bool>) {
    let mut codes = BTreeSet::new();
    let (mut inconsistent, mut sent) = (false, None);
    let pieces: Vec<&str> = cell.split('`').collect();
    for (index, piece) in pieces.iter().enumerate() {
        if index % 2 == 0 {
            // Outside backticks only "refusal" and joining words may appear.
            if piece.contains("refusal") {
                codes.extend(REFUSALS);
            }
            continue;
        }
        if let Some((_, code)) = VARIANTS.iter().find(|(name, _)| name == piece) {
            codes.insert(*code);
        } else if *piece == "Inconsistent" {
            inconsistent = true;
        } else if *piece == "sent" {
            let before = pieces[index - 1].trim_end();
            sent = Some(!before.ends_with("without"));
            assert!(
                before.ends_with("with") || before.ends_with("without"),
                "row {row}: `sent` without \"with\" or \"without\": {cell:?}"
            );
        } else {
            panic!("row {row}: a result this test does not know: `{piece}` in {cell:?}");
        }
    }
    assert!(
        !codes.is_empty(),
        "row {row}: a result cell naming no result: {cell:?}"
    );
    (codes, inconsistent, sent)
}

/// The proof a case of `row` must give by the proof cell: `None` for a receipt.
fn read_proof(table: &Table, row: &Row, case: &Case, cell: &str) -> Option<Proof> {
    match cell {
        "voided (this attempt)" => None,
        "yes" => Some(Proof::Voided),
        "no" => Some(Proof::Nothing),
        "no (proves not voided)" => Some(Proof::NotVoided),
        "proves not voided when it is `UnknownTransaction` (no payment to void), otherwise no" => {
            Some(if case.code == "unknown_transaction" {
                Proof::NotVoided
            } else {
                Proof::Nothing
            })
        }
        "only with PTS `V` (another PTS proves not voided)" => Some(match case.pts() {
            Some("V") => Proof::Voided,
            Some(_) => Proof::NotVoided,
            None => Proof::Nothing,
        }),
        cell if cell.starts_with("as rows ") => {
            expected(table, model(table, row, case, cell), case).proof
        }
        cell if cell.starts_with("as row ") => {
            let other = table.row(cell.trim_start_matches("as row ").trim());
            expected(table, other, case).proof
        }
        cell => panic!(
            "row {}: a proof cell this test cannot read: {cell:?}",
            row.id
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The answers

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

/// What the server does.
#[derive(Clone)]
enum Serve {
    /// Answers every request.
    Answer(Arc<Handler>),
    /// Answers after the client's deadline.
    Late(Arc<Handler>),
    /// A server whose certificate the client does not trust.
    Untrusted,
    /// Nobody listens on the port.
    Nobody,
}

/// How a case is served, described for the failure message, with the payment status in it.
#[derive(Clone)]
struct Answer {
    serve: Serve,
    what: String,
    pts: Option<String>,
}

fn owned(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn pts_of(fields: &[(&str, &str)]) -> Option<String> {
    fields
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("PrimaryTransactionStatus"))
        .map(|(_, value)| (*value).to_owned())
}

fn describe(fields: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    pairs.join(" ")
}

/// `fields` (named as the SOAP result names them) with HTTP `status`, in the shape the request
/// came in: a result of the operation asked for, NVP pairs, or REST JSON.
fn shaped(status: u16, fields: &[(&str, &str)]) -> Answer {
    let owned = owned(fields);
    let handler = move |exchange: &Received| {
        if exchange.path.contains("/rest/") {
            let object: serde_json::Map<String, serde_json::Value> = owned
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().into()))
                .collect();
            let body = serde_json::Value::Object(object).to_string();
            return Reply::new(status, "application/json; charset=utf-8", body);
        }
        if exchange.path.contains("NVP.aspx") {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &owned {
                // NVP names its pairs as SOAP names its elements, with a lower-case first letter.
                let mut name = name.clone();
                name[..1].make_ascii_lowercase();
                form.append_pair(&name, value);
            }
            return Reply::new(
                status,
                "application/x-www-form-urlencoded; charset=utf-8",
                form.finish(),
            );
        }
        let version = support::version_of(exchange);
        let operation = if exchange.body_text().contains("SimpleRefund") {
            "DoCreditCardSimpleRefund"
        } else {
            "DoCreditCardSecondaryVoid"
        };
        let children: String = owned
            .iter()
            .map(|(name, value)| format!("<{name}>{value}</{name}>"))
            .collect();
        let body = envelope(
            version,
            &format!(
                "<{operation}Response xmlns=\"{}\"><{operation}Result>{children}</{operation}Result></{operation}Response>",
                support::TNS
            ),
        );
        Reply::xml(status, version, body)
    };
    Answer {
        serve: Serve::Answer(Arc::new(handler)),
        what: format!("HTTP {status} {}", describe(fields)),
        pts: pts_of(fields),
    }
}

fn result(fields: &[(&str, &str)]) -> Answer {
    shaped(200, fields)
}

/// A SOAP fault as ASP.NET writes it, HTTP 500, its detail `detail` as written. `Client` and
/// `Server` are spelled `Sender` and `Receiver` over SOAP 1.2.
fn fault_xml(code: &'static str, reason: &str, detail: &str, pts: Option<String>) -> Answer {
    let (reason, detail) = (reason.to_owned(), detail.to_owned());
    let what = format!("{code} fault {reason:?} detail {detail:?}");
    let handler = move |exchange: &Received| {
        let version = support::version_of(exchange);
        let code = match (version, code) {
            (Version::Soap12, "Client") => "Sender",
            (Version::Soap12, "Server") => "Receiver",
            (_, code) => code,
        };
        Reply::xml(500, version, aspnet_fault(version, code, &reason, &detail))
    };
    Answer {
        serve: Serve::Answer(Arc::new(handler)),
        what,
        pts,
    }
}

/// A SOAP fault whose detail carries `fields` in the service namespace.
fn fault(code: &'static str, reason: &str, fields: &[(&str, &str)]) -> Answer {
    let detail = if fields.is_empty() {
        String::new()
    } else {
        error_info(fields)
    };
    fault_xml(code, reason, &detail, pts_of(fields))
}

/// Exactly these bytes with this status and content type, whatever the protocol.
fn raw(status: u16, content_type: &'static str, body: &str) -> Answer {
    let body = body.to_owned();
    Answer {
        what: format!("HTTP {status} {content_type} {body:?}"),
        serve: Serve::Answer(Arc::new(move |_: &Received| {
            Reply::new(status, content_type, body.clone())
        })),
        pts: None,
    }
}

fn json(status: u16, body: &str) -> Answer {
    raw(status, "application/json; charset=utf-8", body)
}

fn nvp(status: u16, body: &str) -> Answer {
    raw(
        status,
        "application/x-www-form-urlencoded; charset=utf-8",
        body,
    )
}

/// `answer` as a redirect: `status` (a 3xx) and a `Location` header, the body as it was.
fn redirect(status: u16, answer: Answer) -> Answer {
    let Serve::Answer(inner) = answer.serve else {
        unreachable!("only answers redirect")
    };
    Answer {
        serve: Serve::Answer(Arc::new(move |exchange: &Received| {
            let mut reply = inner(exchange)
                .header("location", "https://elsewhere.example/payment/service.asmx");
            reply.status = status;
            reply
        })),
        what: format!("{} as a {status} redirect", answer.what),
        pts: answer.pts,
    }
}

/// `answer`, but only after the client's deadline.
fn late(answer: Answer) -> Answer {
    let Serve::Answer(inner) = answer.serve else {
        unreachable!("only answers are late")
    };
    Answer {
        serve: Serve::Late(inner),
        what: format!("{}, too late", answer.what),
        pts: answer.pts,
    }
}

/// A void's result proving the payment voided, whatever was asked.
fn void_answer() -> Answer {
    Answer {
        serve: Serve::Answer(Arc::new(|exchange: &Received| {
            let version = support::version_of(exchange);
            Reply::xml(200, version, support::voided(version))
        })),
        what: format!("a void's result: {}", describe(support::VOIDED)),
        pts: Some("V".to_owned()),
    }
}

fn untrusted() -> Answer {
    Answer {
        serve: Serve::Untrusted,
        what: "a server whose certificate the client does not trust".to_owned(),
        pts: None,
    }
}

fn nobody() -> Answer {
    Answer {
        serve: Serve::Nobody,
        what: "a port nobody listens on".to_owned(),
        pts: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The cases

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Void,
    Refund,
}

#[derive(Clone)]
struct Case {
    row: &'static str,
    /// The row this case is an instance of, where the row says "as rows …" or lists rows.
    like: Option<&'static str>,
    call: Call,
    protocol: Protocol,
    answer: Answer,
    /// The result this case expects among those the row allows: the code of `Error::code()`,
    /// or `voided` / `refunded` for a receipt.
    code: &'static str,
    /// Why the client is known to answer this case otherwise than the doc: the case must keep
    /// differing, so that a fix (of the client or of the doc) removes the note.
    differs: Option<&'static str>,
}

impl Case {
    fn pts(&self) -> Option<&str> {
        self.answer.pts.as_deref()
    }

    fn name(&self) -> String {
        let like = self
            .like
            .map(|l| format!(" (as row {l})"))
            .unwrap_or_default();
        format!(
            "row {}{like}, {:?} over {}: {}",
            self.row, self.call, self.protocol, self.answer.what
        )
    }
}

const SOAP: &[Protocol] = &[Protocol::Soap11, Protocol::Soap12];
const SOAP_NVP: &[Protocol] = &[Protocol::Soap11, Protocol::Soap12, Protocol::Nvp];
const NVP: &[Protocol] = &[Protocol::Nvp];
const REST: &[Protocol] = &[Protocol::Rest];
const EVERY: &[Protocol] = &[
    Protocol::Soap11,
    Protocol::Soap12,
    Protocol::Nvp,
    Protocol::Rest,
];

/// Another payment's ID.
const OTHER: &str = "0000000000000000000000000000ABCD";
/// A refund's own new ID.
const REFUND_ID: &str = "R0000000000000000000000000000001";
/// How ASP.NET wraps an exception's message in a `Server` fault's reason.
const WRAPPED: &str = "Server was unable to process request. ---> ";

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn add(
        &mut self,
        row: &'static str,
        like: Option<&'static str>,
        call: Call,
        protocols: &[Protocol],
        code: &'static str,
        answer: Answer,
    ) {
        for &protocol in protocols {
            self.0.push(Case {
                row,
                like,
                call,
                protocol,
                answer: answer.clone(),
                code,
                differs: None,
            });
        }
    }

    /// Like [`Cases::void`], for a case the client is known to answer otherwise, and why.
    fn void_differs(
        &mut self,
        row: &'static str,
        protocols: &[Protocol],
        code: &'static str,
        a: Answer,
        why: &'static str,
    ) {
        let from = self.0.len();
        self.void(row, protocols, code, a);
        for case in &mut self.0[from..] {
            case.differs = Some(why);
        }
    }

    fn void(&mut self, row: &'static str, protocols: &[Protocol], code: &'static str, a: Answer) {
        self.add(row, None, Call::Void, protocols, code, a);
    }

    fn rest(&mut self, row: &'static str, like: &'static str, code: &'static str, a: Answer) {
        self.add(row, Some(like), Call::Void, REST, code, a);
    }

    fn refund(&mut self, row: &'static str, protocols: &[Protocol], code: &'static str, a: Answer) {
        self.add(row, None, Call::Refund, protocols, code, a);
    }
}

fn cases() -> Vec<Case> {
    let mut c = Cases::default();
    let this = ("PrimaryTransactionID", PAYMENT);

    c.void(
        "1",
        SOAP_NVP,
        "voided",
        result(&[
            ("TransactionStatus", "C"),
            ("ResponseCode", "000"),
            this,
            ("PrimaryTransactionStatus", "V"),
        ]),
    );
    let own = PAYMENT.to_lowercase();
    c.void(
        "1",
        SOAP_NVP,
        "voided",
        result(&[
            ("TransactionID", &own),
            ("TransactionStatus", "C"),
            ("PrimaryTransactionStatus", "V"),
        ]),
    );

    let malformed = "malformed_response";
    for fields in [
        &[("TransactionStatus", "C"), this][..],
        &[
            ("TransactionStatus", "C"),
            this,
            ("PrimaryTransactionStatus", "S"),
        ],
        &[this, ("PrimaryTransactionStatus", "V")],
        &[
            ("TransactionStatus", "A"),
            this,
            ("PrimaryTransactionStatus", "V"),
        ],
        &[
            ("TransactionStatus", "S"),
            this,
            ("PrimaryTransactionStatus", "V"),
        ],
        &[
            ("TransactionStatus", ""),
            this,
            ("PrimaryTransactionStatus", "V"),
        ],
    ] {
        c.void("2", SOAP_NVP, malformed, result(fields));
    }

    for fields in [
        &[
            ("TransactionStatus", "D"),
            ("PrimaryTransactionID", OTHER),
            ("PrimaryTransactionStatus", "V"),
        ][..],
        &[
            ("TransactionID", OTHER),
            ("TransactionStatus", "C"),
            this,
            ("PrimaryTransactionStatus", "V"),
        ],
        &[
            ("TransactionID", OTHER),
            ("TransactionStatus", "D"),
            this,
            ("PrimaryTransactionStatus", "S"),
        ],
    ] {
        c.void("3", SOAP_NVP, malformed, result(fields));
    }
    let empty_id = [
        ("TransactionStatus", "C"),
        ("PrimaryTransactionID", ""),
        ("PrimaryTransactionStatus", "V"),
    ];
    c.void("3", SOAP, malformed, result(&empty_id));
    c.rest("R1", "3", malformed, result(&empty_id));
    c.void_differs(
        "3",
        NVP,
        malformed,
        result(&empty_id),
        "the NVP reader takes a blank pair for an absent one (`NvpAnswer::get`), so an empty \
         primaryTransactionID says nothing and the void is a receipt; the doc's terms say a \
         present, empty field names no payment, for every protocol",
    );
    c.void(
        "3",
        SOAP,
        malformed,
        fault(
            "Server",
            "Already voided",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionID", OTHER),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    );
    c.void(
        "3",
        SOAP,
        malformed,
        fault(
            "Client",
            "Already voided",
            &[
                ("TransactionID", OTHER),
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    );
    c.void("3", NVP, malformed, nvp(200, &format!("errorCode=012&errorMessage=Voided&transactionStatus=D&primaryTransactionStatus=V&primaryTransactionID={OTHER}")));

    for ts in ["D", "X"] {
        c.void(
            "4",
            SOAP_NVP,
            "already_voided",
            result(&[
                ("TransactionStatus", ts),
                ("ResponseMessage", "DECLINED"),
                this,
                ("PrimaryTransactionStatus", "V"),
            ]),
        );
    }
    c.void(
        "4",
        SOAP,
        "already_voided",
        fault(
            "Server",
            &format!("{WRAPPED}Void declined."),
            &[
                ("ResponseCode", "051"),
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    );
    c.void(
        "4",
        SOAP,
        "already_voided",
        fault(
            "Client",
            "Void declined",
            &[
                ("TransactionStatus", "X"),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    );
    c.void(
        "4",
        NVP,
        "already_voided",
        result(&[
            ("ErrorCode", "500"),
            ("ErrorMessage", "Declined"),
            ("TransactionStatus", "D"),
            ("PrimaryTransactionStatus", "V"),
        ]),
    );

    for (ts, pts, words, code) in [
        ("D", "S", "DECLINED", "not_voidable"),
        ("D", "SE", "Transaction not found", "not_voidable"),
        ("X", "S", "Transaction already voided", "not_voidable"),
        (
            "D",
            "C",
            "Void not allowed: funds transfer initiated",
            "not_voidable",
        ),
        (
            "D",
            "C",
            "Transaction has settled; use a refund",
            "not_voidable",
        ),
        ("X", "A", "Too late to void", "not_voidable"),
        ("D", "C", "Transaction not found", "unknown_transaction"),
        ("D", "C", "DO NOT HONOR", "declined"),
        ("D", "C", "Declined, it is not too late", "declined"),
        ("D", "C", "Transaction already voided", "declined"),
        ("D", "A", "Payment is unsettled", "declined"),
    ] {
        c.void(
            "5",
            SOAP_NVP,
            code,
            result(&[
                ("TransactionStatus", ts),
                ("ResponseMessage", words),
                this,
                ("PrimaryTransactionStatus", pts),
            ]),
        );
    }
    c.void(
        "5",
        SOAP,
        "not_voidable",
        fault(
            "Server",
            &format!("{WRAPPED}Void declined."),
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "S"),
            ],
        ),
    );

    for ts in ["D", "X"] {
        c.void(
            "6",
            SOAP_NVP,
            "already_voided",
            result(&[
                ("TransactionStatus", ts),
                ("ResponseMessage", "Transaction already voided"),
                this,
            ]),
        );
    }

    for (ts, words, code) in [
        (
            "D",
            "Void not allowed: funds transfer initiated",
            "declined",
        ),
        ("D", "Transaction has settled; use a refund", "declined"),
        ("X", "Void not allowed: too late", "declined"),
        (
            "D",
            "Void declined: the payment isn't settled yet",
            "declined",
        ),
        ("D", "DO NOT HONOR", "declined"),
        ("D", "Transaction not found", "unknown_transaction"),
        ("X", "Transaction not found", "unknown_transaction"),
    ] {
        c.void(
            "7",
            SOAP_NVP,
            code,
            result(&[("TransactionStatus", ts), ("ResponseMessage", words), this]),
        );
    }

    for (reason, fields, code) in [
        (
            "Void rejected",
            &[("PrimaryTransactionStatus", "V")][..],
            "already_voided",
        ),
        (
            "Void not allowed: too late",
            &[("PrimaryTransactionStatus", "S")],
            "declined",
        ),
        (
            "Void not allowed: funds transfer initiated",
            &[("PrimaryTransactionStatus", "C")],
            "declined",
        ),
        (
            "Transaction not found",
            &[("PrimaryTransactionStatus", "C")],
            "unknown_transaction",
        ),
        (
            "Transaction has already been voided.",
            &[],
            "already_voided",
        ),
        ("Transaction not found.", &[], "unknown_transaction"),
        ("Void not allowed: funds transfer initiated", &[], "fault"),
        (
            "Server did not recognize the value of HTTP Header SOAPAction: x.",
            &[],
            "fault",
        ),
    ] {
        c.void("8", SOAP, code, fault("Client", reason, fields));
    }

    for words in [
        "Transaction has already been voided.",
        "Void not allowed: funds transfer initiated. Use a refund.",
        "Transaction not found.",
        "Object reference not set to an instance of an object.",
    ] {
        c.void(
            "9",
            SOAP,
            "fault",
            fault("Server", &format!("{WRAPPED}{words}"), &[]),
        );
    }
    c.void(
        "9",
        SOAP,
        "fault",
        fault("Server", "Declined", &[("ResponseCode", "012")]),
    );
    c.void(
        "9",
        SOAP,
        "fault",
        fault(
            "Server",
            "Already voided",
            &[("PrimaryTransactionStatus", "V")],
        ),
    );
    // Statuses outside the service namespace are nobody's statuses.
    c.void("9", SOAP, "fault", fault_xml("Server", "Declined", "<TransactionStatus>D</TransactionStatus><PrimaryTransactionStatus>V</PrimaryTransactionStatus>", None));
    c.void(
        "9",
        SOAP,
        "fault",
        fault("Busy", "Transaction has already been voided.", &[]),
    );

    c.void(
        "10",
        SOAP,
        malformed,
        fault("Client", "x", &[("TransactionStatus", "C")]),
    );
    c.void(
        "10",
        SOAP,
        malformed,
        fault(
            "Server",
            "x",
            &[
                ("TransactionStatus", "A"),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    );
    c.void(
        "10",
        SOAP,
        malformed,
        fault(
            "Server",
            "x",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
                ("PrimaryTransactionStatus", "C"),
            ],
        ),
    );
    c.void(
        "10",
        SOAP,
        malformed,
        fault(
            "Client",
            "x",
            &[
                ("TransactionStatus", "D"),
                ("TransactionStatus", "X"),
                ("PrimaryTransactionStatus", "S"),
            ],
        ),
    );

    for code in ["VersionMismatch", "MustUnderstand"] {
        c.void(
            "11",
            SOAP,
            "fault",
            fault(code, "The envelope was not processed", &[]),
        );
    }
    c.void(
        "11",
        &[Protocol::Soap12],
        "fault",
        fault("DataEncodingUnknown", "Unknown encoding", &[]),
    );

    for (status, body, code) in [
        (
            200,
            "errorCode=400&errorMessage=Transaction+not+found.",
            "unknown_transaction",
        ),
        (
            400,
            "errorCode=404&errorMessage=Transaction+not+found.",
            "unknown_transaction",
        ),
        (
            200,
            "errorCode=400&errorMessage=Transaction+has+already+been+voided.",
            "already_voided",
        ),
        (
            400,
            "errorCode=400&errorMessage=Invalid+Merchant+ID",
            "service_error",
        ),
        (
            200,
            "errorCode=400&errorMessage=Void+not+allowed%3A+too+late",
            "service_error",
        ),
    ] {
        c.void("12", NVP, code, nvp(status, body));
    }
    // A payment status makes a rejected request a refusal; which one is the status's to say.
    c.void(
        "12",
        NVP,
        "declined",
        result(&[
            ("ErrorCode", "400"),
            ("ErrorMessage", "Void not allowed"),
            ("PrimaryTransactionStatus", "S"),
        ]),
    );
    c.void(
        "12",
        NVP,
        "already_voided",
        result(&[
            ("ErrorCode", "400"),
            ("ErrorMessage", "Void not allowed"),
            ("PrimaryTransactionStatus", "V"),
        ]),
    );

    for (status, body) in [
        (
            200,
            "errorCode=500&errorMessage=Transaction+has+already+been+voided.",
        ),
        (
            200,
            "errorMessage=Void+not+allowed%3A+funds+transfer+initiated",
        ),
        (200, "errorCode=503&errorMessage=Transaction+not+found."),
        (200, "errorCode=%2B400&errorMessage=Transaction+not+found."),
        (200, "errorCode=4000&errorMessage=Transaction+not+found."),
        (200, "errorCode=012&errorMessage=Declined"),
        (500, "errorCode=400&errorMessage=Transaction+not+found."),
    ] {
        c.void("13", NVP, "service_error", nvp(status, body));
    }

    for status in [401, 403] {
        c.void(
            "14",
            EVERY,
            "authentication_refused",
            raw(
                status,
                "text/html",
                "<html>Transaction already voided</html>",
            ),
        );
    }

    for status in [500, 502, 503, 504] {
        c.void(
            "15",
            SOAP_NVP,
            "http_status",
            raw(
                status,
                "text/html",
                "<html>Transaction already voided</html>",
            ),
        );
    }
    c.void("15", SOAP_NVP, "http_status", raw(500, "text/plain", ""));

    for status in [404, 415] {
        c.void("16", SOAP_NVP, "http_status", raw(status, "text/html", ""));
    }
    for status in [301, 302, 307] {
        c.void(
            "16",
            SOAP_NVP,
            "http_status",
            redirect(status, shaped(200, support::VOIDED)),
        );
    }
    c.void(
        "16",
        SOAP,
        "http_status",
        redirect(
            302,
            fault(
                "Client",
                "Declined",
                &[
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionStatus", "S"),
                ],
            ),
        ),
    );

    c.void(
        "17",
        SOAP_NVP,
        malformed,
        raw(200, "text/html", "<html>Transaction already voided</html>"),
    );
    c.void(
        "17",
        SOAP_NVP,
        malformed,
        raw(200, "text/xml; charset=utf-8", ""),
    );
    c.void(
        "17",
        SOAP,
        malformed,
        raw(200, "application/json", &support::voided(Version::Soap11)),
    );
    let cut = support::voided(Version::Soap11);
    c.void(
        "17",
        &[Protocol::Soap11],
        malformed,
        raw(200, "text/xml; charset=utf-8", &cut[..cut.len() / 2]),
    );
    c.void(
        "17",
        SOAP,
        malformed,
        fault_xml("Server", "Transaction already voided", "", None).without_code(),
    );
    c.void("17", SOAP, malformed, shaped(500, support::VOIDED));
    c.void(
        "17",
        SOAP,
        malformed,
        shaped(
            503,
            &[
                ("TransactionStatus", "D"),
                ("ResponseMessage", "Declined"),
                this,
                ("PrimaryTransactionStatus", "S"),
            ],
        ),
    );

    c.void("18", EVERY, "timeout", late(result(support::VOIDED)));

    c.void("19", EVERY, "tls_error", untrusted());
    c.void("19", EVERY, "connect_error", nobody());

    let id = format!("\"TransactionID\":\"{PAYMENT}\"");
    c.rest(
        "R1",
        "1",
        "voided",
        json(
            200,
            &format!(r#"{{{id},"TransactionStatus":"C","PrimaryTransactionStatus":"V"}}"#),
        ),
    );
    c.rest(
        "R1",
        "2",
        malformed,
        json(
            200,
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"C"}"#,
        ),
    );
    c.rest("R1", "3", malformed, json(200, &format!(r#"{{"TransactionID":"{OTHER}","TransactionStatus":"C","PrimaryTransactionStatus":"V"}}"#)));
    c.rest(
        "R1",
        "4",
        "already_voided",
        json(
            200,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
        )
        .with_pts("V"),
    );
    c.rest(
        "R1",
        "5",
        "not_voidable",
        json(
            200,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
        )
        .with_pts("S"),
    );
    c.rest(
        "R1",
        "6",
        "already_voided",
        json(
            200,
            r#"{"TransactionStatus":"X","ResponseMessage":"Transaction already voided"}"#,
        ),
    );
    c.rest(
        "R1",
        "7",
        "unknown_transaction",
        json(
            200,
            r#"{"TransactionStatus":"D","ResponseMessage":"Transaction not found"}"#,
        ),
    );
    c.rest(
        "R1",
        "7",
        "declined",
        json(
            200,
            r#"{"TransactionStatus":"D","ResponseMessage":"Void not allowed: too late"}"#,
        ),
    );

    c.rest(
        "R2",
        "4",
        "already_voided",
        json(
            400,
            r#"{"TransactionStatus":"X","PrimaryTransactionStatus":"V"}"#,
        )
        .with_pts("V"),
    );
    c.rest("R2", "5", "not_voidable", json(422, r#"{"Message":"Void not allowed: funds transfer initiated","TransactionStatus":"D","PrimaryTransactionStatus":"C","ResponseCode":"012"}"#).with_pts("C"));
    c.rest(
        "R2",
        "6",
        "already_voided",
        json(
            409,
            r#"{"TransactionStatus":"D","ResponseMessage":"Transaction already voided"}"#,
        ),
    );
    c.rest(
        "R2",
        "7",
        "unknown_transaction",
        json(
            422,
            r#"{"Message":"Transaction not found","TransactionStatus":"D"}"#,
        ),
    );
    c.rest(
        "R2",
        "7",
        "declined",
        json(404, r#"{"Message":"Declined","TransactionStatus":"X"}"#),
    );

    for (status, body) in [
        (
            422,
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V"}"#,
        ),
        (
            400,
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V","ResponseCode":0}"#,
        ),
        (
            404,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S","TransactionStatus":"C"}"#,
        ),
        (
            409,
            r#"{"TransactionStatus":"D","transactionStatus":"C","PrimaryTransactionStatus":"S"}"#,
        ),
        (
            422,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"ZZ"}"#,
        ),
        (
            422,
            r#"{"Error":{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}}"#,
        ),
        (422, r#"{"TransactionStatus":"D","PrimaryTransactionSta"#),
    ] {
        c.add("R3", None, Call::Void, REST, malformed, json(status, body));
    }
    c.add(
        "R3",
        None,
        Call::Void,
        REST,
        malformed,
        raw(
            422,
            "text/plain",
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
        ),
    );

    c.add(
        "R4",
        None,
        Call::Void,
        REST,
        "http_status",
        json(404, r#"{"Message":"No HTTP resource was found"}"#),
    );
    c.add(
        "R4",
        None,
        Call::Void,
        REST,
        "http_status",
        raw(400, "text/html", "<html>Bad Request</html>"),
    );

    c.add(
        "R5",
        None,
        Call::Void,
        REST,
        "http_status",
        json(
            500,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
        ),
    );
    c.add(
        "R5",
        None,
        Call::Void,
        REST,
        "http_status",
        raw(503, "text/plain", ""),
    );

    for (content_type, body) in [
        ("text/html", "<html>Voided</html>"),
        (
            "text/plain",
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V"}"#,
        ),
        (
            "application/json",
            r#"{"ResponseCode":"000","PrimaryTransactionStatus":"V"}"#,
        ),
        (
            "application/json",
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V","TransactionStatus":"C"}"#,
        ),
        (
            "application/json",
            r#"{"transactionStatus":"C","primaryTransactionStatus":"V"}"#,
        ),
        (
            "application/json",
            r#"{"TransactionStatus":3,"PrimaryTransactionStatus":"V"}"#,
        ),
    ] {
        c.add(
            "R6",
            None,
            Call::Void,
            REST,
            malformed,
            raw(200, content_type, body),
        );
    }

    c.add(
        "R7",
        None,
        Call::Void,
        REST,
        "http_status",
        redirect(
            302,
            json(
                200,
                r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
            ),
        ),
    );
    c.add(
        "R7",
        None,
        Call::Void,
        REST,
        "http_status",
        redirect(
            307,
            json(
                200,
                &format!(r#"{{{id},"TransactionStatus":"C","PrimaryTransactionStatus":"V"}}"#),
            ),
        ),
    );

    c.refund(
        "F1",
        EVERY,
        "refunded",
        result(&[
            ("TransactionID", REFUND_ID),
            ("TransactionStatus", "C"),
            ("ResponseCode", "000"),
            this,
        ]),
    );
    c.refund(
        "F1",
        EVERY,
        "refunded",
        result(&[
            ("TransactionID", REFUND_ID),
            ("TransactionStatus", "C"),
            this,
            ("PrimaryTransactionStatus", "C"),
        ]),
    );

    let unsettled = "refund_outcome_unknown";
    for fields in [
        &[("TransactionStatus", "C"), this][..],
        &[("TransactionID", &own), ("TransactionStatus", "C"), this],
        &[
            ("TransactionID", REFUND_ID),
            ("TransactionStatus", "C"),
            ("PrimaryTransactionID", OTHER),
        ],
        &[
            ("TransactionID", PAYMENT),
            ("TransactionStatus", "D"),
            ("ResponseMessage", "Declined"),
            this,
        ],
        &[
            ("TransactionStatus", "D"),
            ("ResponseMessage", "Declined"),
            ("PrimaryTransactionID", OTHER),
        ],
    ] {
        c.refund("F2", EVERY, unsettled, result(fields));
    }
    // A void's answer, PTS `V`. NVP and REST carry it in the same shape as a refund's; over SOAP
    // a refund's result type has no `PrimaryTransactionStatus` (CreditCardCreditResponseData in
    // the WSDL), so there a void's answer is the void operation's own result.
    c.refund(
        "F2",
        &[Protocol::Nvp, Protocol::Rest],
        unsettled,
        result(&[
            ("TransactionID", REFUND_ID),
            ("TransactionStatus", "C"),
            this,
            ("PrimaryTransactionStatus", "V"),
        ]),
    );
    c.refund("F2", SOAP, unsettled, void_answer());

    for (row, words, code) in [
        (
            "F3",
            "Amount exceeds the refundable amount",
            "over_refundable",
        ),
        ("F4", "The refund window has passed", "refund_window_passed"),
        (
            "F4",
            "Payment is older than 180 days",
            "refund_window_passed",
        ),
        ("F5", "Transaction not found", "unknown_transaction"),
        ("F6", "Payment has been voided", "declined"),
        ("F6", "Cannot refund a refund", "declined"),
    ] {
        for ts in ["D", "X"] {
            c.refund(
                row,
                EVERY,
                code,
                result(&[("TransactionStatus", ts), ("ResponseMessage", words), this]),
            );
        }
    }

    // Each answer F7 lists, asked of a refund.
    let f7: [(&'static str, &[Protocol], Answer); 9] = [
        (
            "9",
            SOAP,
            fault("Server", &format!("{WRAPPED}Refund not allowed"), &[]),
        ),
        (
            "10",
            SOAP,
            fault("Client", "x", &[("TransactionStatus", "C")]),
        ),
        (
            "13",
            NVP,
            nvp(200, "errorCode=500&errorMessage=Refund+failed"),
        ),
        (
            "15",
            SOAP_NVP,
            raw(502, "text/html", "<html>Bad Gateway</html>"),
        ),
        (
            "17",
            SOAP_NVP,
            raw(200, "text/html", "<html>Refunded</html>"),
        ),
        (
            "18",
            EVERY,
            late(result(&[
                ("TransactionID", REFUND_ID),
                ("TransactionStatus", "C"),
                this,
            ])),
        ),
        (
            "R3",
            REST,
            json(422, r#"{"TransactionStatus":"C","TransactionID":"R1"}"#),
        ),
        ("R5", REST, json(500, r#"{"TransactionStatus":"D"}"#)),
        (
            "R6",
            REST,
            raw(
                200,
                "text/plain",
                r#"{"TransactionStatus":"C","TransactionID":"R1"}"#,
            ),
        ),
    ];
    for (like, protocols, answer) in f7 {
        c.add("F7", Some(like), Call::Refund, protocols, unsettled, answer);
    }

    c.0
}

impl Answer {
    /// For raw JSON, where the status is not given as fields: the payment status it carries.
    fn with_pts(mut self, pts: &str) -> Answer {
        self.pts = Some(pts.to_owned());
        self
    }

    /// This fault with its code element taken out.
    fn without_code(self) -> Answer {
        let Serve::Answer(inner) = self.serve else {
            unreachable!("only answers")
        };
        Answer {
            serve: Serve::Answer(Arc::new(move |exchange: &Received| {
                let mut reply = inner(exchange);
                let text = String::from_utf8(reply.body).expect("UTF-8");
                reply.body = strip_code(&text).into_bytes();
                reply
            })),
            what: format!("{} without its code", self.what),
            pts: None,
        }
    }
}

/// A fault envelope without `faultcode` (SOAP 1.1) or `Code` (SOAP 1.2).
fn strip_code(text: &str) -> String {
    for (open, close) in [
        ("<faultcode>", "</faultcode>"),
        ("<soap12:Code>", "</soap12:Code>"),
    ] {
        if let (Some(from), Some(to)) = (text.find(open), text.find(close)) {
            return format!("{}{}", &text[..from], &text[to + close.len()..]);
        }
    }
    panic!("no fault code to take out: {text}")
}

// ---------------------------------------------------------------------------------------------
// Running a case

/// What the client made of a case.
#[derive(Debug)]
struct Outcome {
    code: &'static str,
    unknown: Option<bool>,
    proves_voided: bool,
    proves_not_voided: bool,
    inconsistent: bool,
    never_sent: bool,
    requests: usize,
    said: String,
}

const DEADLINE: Duration = Duration::from_secs(5);
/// The deadline for cases answered late: short, so the test does not wait long for them, yet
/// long enough for the request to leave first (the row is about a request that was sent).
const SHORT_DEADLINE: Duration = Duration::from_secs(2);
/// Cases run at once: enough to keep the test short, few enough that a handshake never waits
/// so long on the others that a late case's deadline passes before its request is written.
const AT_ONCE: usize = 16;

fn client(endpoint: &str, ca: &Path, protocol: Protocol, deadline: Duration) -> Client {
    Client::builder(endpoint)
        .credentials(support::credentials())
        .api_key(ApiKey::new("key-1", "secret-1"))
        .protocol(protocol)
        .ca_certificate_file(ca)
        .timeout(deadline)
        .build()
        .expect("client")
}

/// The endpoint a client of `protocol` is given for a server at `url`: REST takes the origin.
fn endpoint(url: &str, protocol: Protocol) -> String {
    match protocol {
        Protocol::Rest => url.trim_end_matches("/payment/service.asmx").to_owned(),
        _ => url.to_owned(),
    }
}

async fn run(case: &Case) -> Outcome {
    let (server, url, ca, deadline): (Option<Server>, String, PathBuf, Duration) =
        match &case.answer.serve {
            Serve::Answer(handler) => {
                let handler = handler.clone();
                let server = Server::start(move |exchange| handler(exchange)).await;
                let (url, ca) = (server.url.clone(), server.ca_path.clone());
                (Some(server), url, ca, DEADLINE)
            }
            Serve::Late(handler) => {
                let handler = handler.clone();
                let server =
                    Server::start(move |exchange| handler(exchange).delayed(DEADLINE)).await;
                let (url, ca) = (server.url.clone(), server.ca_path.clone());
                (Some(server), url, ca, SHORT_DEADLINE)
            }
            Serve::Untrusted => {
                let server = Server::start(|exchange| {
                    let version = support::version_of(exchange);
                    Reply::xml(200, version, support::voided(version))
                })
                .await;
                let url = server.url.clone();
                (Some(server), url, support::pki().ca_path, DEADLINE)
            }
            Serve::Nobody => {
                let port = {
                    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                    listener.local_addr().expect("address").port()
                };
                let url = format!("https://127.0.0.1:{port}/payment/service.asmx");
                (None, url, support::pki().ca_path, DEADLINE)
            }
        };
    let client = client(&endpoint(&url, case.protocol), &ca, case.protocol, deadline);
    let payment = TransactionId::new(PAYMENT).expect("an ID");
    let result: Result<&'static str, Error> =
        tokio::time::timeout(Duration::from_secs(30), async {
            match case.call {
                Call::Void => client
                    .void(&VoidRequest::new(support::outlet(), payment))
                    .await
                    .map(|_| "voided"),
                Call::Refund => {
                    let amount: Amount = "1.00".parse().expect("an amount");
                    let refund =
                        RefundRequest::new(support::outlet(), payment, amount).expect("a refund");
                    client.refund(&refund).await.map(|_| "refunded")
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{}: the client hung", case.name()));
    let requests = server.as_ref().map_or(0, |server| server.requests().len());
    match result {
        Ok(code) => Outcome {
            code,
            unknown: None,
            proves_voided: false,
            proves_not_voided: false,
            inconsistent: false,
            never_sent: false,
            requests,
            said: code.to_owned(),
        },
        Err(error) => Outcome {
            code: error.code(),
            unknown: Some(error.outcome_unknown()),
            proves_voided: error.proves_voided(),
            proves_not_voided: error.proves_not_voided(),
            inconsistent: matches!(error.problem(), Some(AnswerProblem::Inconsistent(_))),
            never_sent: error.never_sent(),
            requests,
            said: format!("{error:?}"),
        },
    }
}

/// How `outcome` differs from what the row says, if it does.
fn differences(expected: &Expected, case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut wrong = Vec::new();
    if !expected.codes.contains(case.code) {
        wrong.push(format!(
            "the case expects {}, which the row does not allow ({:?}): the doc and this test \
             disagree",
            case.code, expected.codes
        ));
    }
    if outcome.code != case.code {
        wrong.push(format!("{} instead of {}", outcome.code, case.code));
    }
    if outcome.unknown != expected.unknown {
        wrong.push(format!(
            "outcome_unknown() {:?} where the row says {:?} (None: a receipt)",
            outcome.unknown, expected.unknown
        ));
    }
    if let (Some(proof), Some(_)) = (expected.proof, outcome.unknown) {
        let got = match (outcome.proves_voided, outcome.proves_not_voided) {
            (true, false) => Some(Proof::Voided),
            (false, true) => Some(Proof::NotVoided),
            (false, false) => Some(Proof::Nothing),
            (true, true) => None,
        };
        if got != Some(proof) {
            wrong.push(format!(
                "proves_voided() {}, proves_not_voided() {}, where the row says {proof:?}",
                outcome.proves_voided, outcome.proves_not_voided
            ));
        }
    }
    if expected.inconsistent && !outcome.inconsistent {
        wrong.push("the row says the problem is `Inconsistent`".to_owned());
    }
    if expected.sent.is_some_and(|sent| outcome.never_sent == sent) {
        wrong.push(format!(
            "never_sent() {} where the row says sent: {:?}",
            outcome.never_sent, expected.sent
        ));
    }
    if matches!(case.answer.serve, Serve::Untrusted | Serve::Nobody) && outcome.requests != 0 {
        wrong.push(format!("{} requests reached the server", outcome.requests));
    }
    if matches!(case.answer.serve, Serve::Late(_)) && outcome.requests == 0 {
        wrong.push("the request never reached the server".to_owned());
    }
    wrong
}

// ---------------------------------------------------------------------------------------------
// The tests

/// Whether every row has a case or a reason, and every case and reason a row; the complaints.
fn coverage(table: &Table, cases: &[Case]) -> Vec<String> {
    let mut wrong = Vec::new();
    let served = table
        .rows
        .iter()
        .filter(|row| !row.id.starts_with('S'))
        .count();
    if served < ROWS_AT_LEAST {
        wrong.push(format!(
            "docs/outcomes.md has {served} rows, fewer than the {ROWS_AT_LEAST} it had: a table \
             that lost rows (or a parser that no longer finds them) would check less"
        ));
    }
    let ids: BTreeSet<&str> = table.rows.iter().map(|row| row.id.as_str()).collect();
    for (id, _) in NOT_SERVED {
        if !ids.contains(id) {
            wrong.push(format!(
                "NOT_SERVED names row {id}, which the doc no longer has"
            ));
        }
        if cases.iter().any(|case| case.row == *id) {
            wrong.push(format!("row {id} has cases and is also in NOT_SERVED"));
        }
    }
    for case in cases {
        if !ids.contains(case.row) {
            wrong.push(format!(
                "a case for row {}, which the doc no longer has",
                case.row
            ));
        }
    }
    // The Single Sign-On rows are no answer to a void request: `tests/client/sso.rs` holds a
    // test to each (`every_sso_row_of_the_outcomes_doc_has_a_test_named_after_it`).
    for row in table.rows.iter().filter(|row| !row.id.starts_with('S')) {
        let built: Vec<&Case> = cases.iter().filter(|case| case.row == row.id).collect();
        if built.is_empty() && !NOT_SERVED.iter().any(|(id, _)| *id == row.id) {
            wrong.push(format!(
                "row {} of docs/outcomes.md has no case here: add answers that show it (or, if no \
                 served answer can, name it in NOT_SERVED with the reason)",
                row.id
            ));
        }
        // A row defined by other rows is shown by cases modelled on each of them.
        let referenced = referenced_rows(row);
        let modelled: BTreeSet<String> = built
            .iter()
            .filter_map(|case| case.like)
            .map(str::to_owned)
            .collect();
        if modelled != referenced && !built.is_empty() {
            wrong.push(format!(
                "row {} refers to rows {referenced:?}; its cases are modelled on {modelled:?}",
                row.id
            ));
        }
        for case in &built {
            if case.like.is_some_and(|like| !ids.contains(like)) {
                wrong.push(format!("{}: no such model row", case.name()));
            }
        }
    }
    wrong
}

#[test]
fn every_row_of_the_doc_has_cases_and_every_case_a_row() {
    let table = Table::read();
    let wrong = coverage(&table, &cases());
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// The checks on the table's shape must themselves be able to fail: a row added to the doc, a
/// table emptied, a reason for a row that is gone.
#[test]
fn the_coverage_check_notices_drift() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/outcomes.md"))
            .expect("the doc");
    let last = text
        .lines()
        .rfind(|line| line.starts_with("| F"))
        .expect("a refund row");
    let added = text.replacen(
        last,
        &format!("{last}\n| F99 | a new kind of answer | `Declined` | false | 3 |"),
        1,
    );
    let wrong = coverage(&Table::parse(&added), &cases());
    assert!(
        wrong.iter().any(|w| w.contains("row F99")),
        "an added row went unnoticed: {wrong:?}"
    );

    let emptied: String = text
        .lines()
        .filter(|line| !line.starts_with("| R"))
        .map(|line| format!("{line}\n"))
        .collect();
    let wrong = coverage(&Table::parse(&emptied), &cases());
    assert!(
        wrong.iter().any(|w| w.contains("fewer than")),
        "a shorter table went unnoticed: {wrong:?}"
    );
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("row R1, which the doc no longer has")),
        "cases for removed rows went unnoticed: {wrong:?}"
    );

    let without_20 = text.replacen("| 20 |", "| 21 |", 1);
    let wrong = coverage(&Table::parse(&without_20), &cases());
    assert!(
        wrong.iter().any(|w| w.contains("NOT_SERVED names row 20")),
        "a reason for a row that is gone went unnoticed: {wrong:?}"
    );
}

#[test]
#[should_panic(expected = "a result this test does not know")]
fn a_result_cell_this_test_cannot_read_fails() {
    read_result("9", "`Fault` or `SomethingNew`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_row_of_the_doc_is_what_the_client_does() {
    let table = Arc::new(Table::read());
    let cases = cases();
    let wrong = coverage(&table, &cases);
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));

    // Expectations first, so a cell this test cannot read fails before any server starts.
    let expectations: Vec<Expected> = cases
        .iter()
        .map(|case| expected(&table, table.row(case.row), case))
        .collect();
    let slots = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let mut running = tokio::task::JoinSet::new();
    for (index, case) in cases.iter().cloned().enumerate() {
        let slots = slots.clone();
        running.spawn(async move {
            let _slot = slots.acquire().await.expect("the semaphore stays open");
            (index, run(&case).await)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = running.join_next().await {
        let (index, outcome) = joined.expect("a case ran to its end");
        let case = &cases[index];
        let wrong = differences(&expectations[index], case, &outcome);
        if let Some(why) = case.differs {
            if wrong.is_empty() {
                failures.push(format!(
                    "{}\n    now agrees with the doc: remove its note ({why})",
                    case.name()
                ));
            } else {
                eprintln!(
                    "known difference, {}: {}\n    because {why}",
                    case.name(),
                    wrong.join("; ")
                );
            }
            continue;
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}\n    {}\n    the client said: {}",
                case.name(),
                wrong.join("\n    "),
                outcome.said
            ));
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from docs/outcomes.md:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let rows: BTreeSet<&str> = cases.iter().map(|case| case.row).collect();
    eprintln!(
        "docs/outcomes.md: {} rows, {} shown by {} cases ({} known to differ), {} not served \
         ({:?})",
        table.rows.len(),
        rows.len(),
        cases.len(),
        cases.iter().filter(|case| case.differs.is_some()).count(),
        NOT_SERVED.len(),
        NOT_SERVED.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
}
