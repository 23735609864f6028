//! The cassette: one recorded exchange in a text file made to be read and diffed.
//!
//! ```text
//! # instamed-soap cassette
//! protocol: soap11
//! operation: DoCreditCardSecondaryVoid
//! merchant-id: 123123123
//! store-id: 123
//! terminal-id: 123
//! transaction-id: EE52401813A74328AAA7D93319FF4383
//! card-present-status: PresentManualKey
//! expect: voided
//!
//! >>> request
//! POST /payment/service.asmx
//! content-type: text/xml; charset=utf-8
//! soapaction: "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid"
//! authorization: [redacted]
//!
//! <?xml version="1.0" encoding="utf-8"?><soap:Envelope …>…</soap:Envelope>
//! <<< response
//! 200
//! content-type: text/xml; charset=utf-8
//!
//! <?xml version="1.0" encoding="utf-8"?><soap:Envelope …>…</soap:Envelope>
//! ```
//!
//! The head holds the protocol, the operation, the domain inputs of a void (with an `amount:`
//! line, of a simple refund) and the outcome expected from the response (an
//! [`Error::code`](instamed_soap::Error::code), `voided` or `refunded`).
//!
//! A REST exchange is written the same way, `protocol: rest` and the operation named by its
//! path (`void`, `refund-simple`); its JSON bodies are stored compact, keys in sorted order, and
//! compared by meaning:
//!
//! ```text
//! # instamed-soap cassette
//! protocol: rest
//! operation: void
//! merchant-id: 123123123
//! …
//! expect: voided
//!
//! >>> request
//! POST /rest/payment/void
//! content-type: application/json; charset=utf-8
//! api-key: [redacted]
//! api-secret: [redacted]
//!
//! {"Outlet":{"MerchantID":"123123123","StoreID":"123","TerminalID":"123"},"TransactionID":"…"}
//! <<< response
//! 200
//! content-type: application/json; charset=utf-8
//!
//! {"PrimaryTransactionStatus":"V","TransactionID":"…","TransactionStatus":"C"}
//! ``` Lines
//! starting with `#` in the head are comments. Each message is a start line (`METHOD target`
//! or the status), header lines, a blank line and the body as it went over the wire.
//!
//! One line is one field: in head values, comments, start lines and header values, a
//! backslash and control characters are written escaped (`\\`, `\n`, `\r`, `\t`,
//! `\u{1b}`), so a recorded value holding a newline cannot write a line of its own.
//!
//! A body that is not UTF-8 text is kept readable when its charset (byte-order mark,
//! `Content-Type` charset, XML declaration) reads it: the text is written in UTF-8 after an
//! `x-cassette-body: text; charset=UTF-16LE+bom` line, and turned back into the same bytes
//! when read. Any other body that cannot be written as it is (not text in any charset, a line
//! that reads like a mark, carriage returns) is written in base64 after
//! `x-cassette-body: base64`.
//!
//! A response may hold placeholders that echo the request it answers,
//! `{{request.PrimaryTransactionID}}` say: see [`echo`](super::echo).

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::charset::Charset;
use instamed_soap::rest::Amount;
use instamed_soap::{
    CardPresentStatus, InvalidRequest, Outlet, Protocol, RefundRequest, TransactionId, VoidRequest,
};

const MAGIC: &str = "# instamed-soap cassette";
const REQUEST_MARK: &str = ">>> request";
const RESPONSE_MARK: &str = "<<< response";
const BASE64_HEADER: &str = "x-cassette-body";

/// One recorded HTTP message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// `POST /payment/service.asmx` for a request, `200` for a response.
    pub start: String,
    /// Header lines in recorded order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as it went over the wire.
    pub body: Vec<u8>,
}

impl Message {
    /// A message from its parts.
    pub fn new(start: impl Into<String>, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Self {
            start: start.into(),
            headers,
            body,
        }
    }

    /// The first value of header `name` (case-blind).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy for a body that is not UTF-8).
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// The domain inputs of a recorded void.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VoidInputs {
    /// MerchantID.
    pub merchant_id: String,
    /// StoreID.
    pub store_id: String,
    /// TerminalID.
    pub terminal_id: String,
    /// PrimaryTransactionID.
    pub transaction_id: String,
    /// PrimaryCardPresentStatus.
    pub card_present_status: String,
    /// The amount of a simple refund; `None` for a void.
    pub amount: Option<String>,
}

impl VoidInputs {
    /// The inputs of `request`.
    pub fn of(request: &VoidRequest) -> Self {
        let outlet = request.outlet();
        Self {
            merchant_id: outlet.merchant_id().to_owned(),
            store_id: outlet.store_id().to_owned(),
            terminal_id: outlet.terminal_id().to_owned(),
            transaction_id: request.payment().as_str().to_owned(),
            card_present_status: request.card_present_status().as_str().to_owned(),
            amount: None,
        }
    }

    /// The simple refund these inputs describe, when they carry an amount.
    pub fn to_refund(&self) -> Option<Result<RefundRequest, InvalidRequest>> {
        let amount = self.amount.as_deref()?;
        Some((|| {
            let amount: Amount = amount.parse()?;
            RefundRequest::new(
                Outlet::new(&self.merchant_id, &self.store_id, &self.terminal_id)?,
                TransactionId::new(&self.transaction_id)?,
                amount,
            )
        })())
    }

    /// The void request these inputs describe.
    pub fn to_request(&self) -> Result<VoidRequest, InvalidRequest> {
        let status: CardPresentStatus = self.card_present_status.parse()?;
        Ok(VoidRequest::new(
            Outlet::new(&self.merchant_id, &self.store_id, &self.terminal_id)?,
            TransactionId::new(&self.transaction_id)?,
        )
        .with_card_present_status(status))
    }
}

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cassette {
    /// Comment lines of the head, without their `# `.
    pub comments: Vec<String>,
    /// The protocol of the exchange.
    pub protocol: Protocol,
    /// The operation (`DoCreditCardSecondaryVoid`, or `Void` for NVP).
    pub operation: String,
    /// The void's domain inputs, when the exchange is a void.
    pub inputs: Option<VoidInputs>,
    /// The outcome the response must decode to: `voided`, `refunded` or an error code.
    pub expect: Option<String>,
    /// The request.
    pub request: Message,
    /// The response.
    pub response: Message,
}

/// A cassette file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CassetteError {
    /// The file.
    pub file: String,
    /// The line (1-based; 0 when the whole file is at fault).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The largest cassette file read: a request and a response of at most 1 MiB each (what the
/// simulator and the client take) and their headers, with room to spare.
pub const MAX_CASSETTE_BYTES: u64 = 8 << 20;

impl Cassette {
    /// Reads a cassette file: a regular file of at most [`MAX_CASSETTE_BYTES`].
    pub fn load(path: &Path) -> Result<Self, CassetteError> {
        let file = path.display().to_string();
        let text = instamed_soap::files::read_to_string(path, MAX_CASSETTE_BYTES).map_err(|e| {
            CassetteError {
                file: file.clone(),
                line: 0,
                message: e.to_string(),
            }
        })?;
        Self::parse(&text).map_err(|(line, message)| CassetteError {
            file,
            line,
            message,
        })
    }

    /// Writes the cassette to `path`.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_text())
    }

    /// Reads a cassette from its text; errors carry a 1-based line number.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        if lines.first().map(|l| l.trim()) != Some(MAGIC) {
            return Err((1, format!("a cassette starts with {MAGIC:?}")));
        }
        let request_at =
            position(&lines, REQUEST_MARK).ok_or((0, format!("no {REQUEST_MARK:?} line")))?;
        let response_at =
            position(&lines, RESPONSE_MARK).ok_or((0, format!("no {RESPONSE_MARK:?} line")))?;
        if response_at < request_at {
            return Err((
                response_at + 1,
                "the response comes before the request".into(),
            ));
        }

        let mut comments = Vec::new();
        let mut fields: Vec<(usize, String, String)> = Vec::new();
        for (index, line) in lines[1..request_at].iter().enumerate() {
            let number = index + 2;
            if let Some(comment) = line.strip_prefix('#') {
                comments.push(unescape(comment.trim()));
            } else if !line.trim().is_empty() {
                let (key, value) = line
                    .split_once(':')
                    .ok_or((number, format!("expected `key: value`, got {line:?}")))?;
                fields.push((
                    number,
                    key.trim().to_ascii_lowercase(),
                    unescape(value.trim()),
                ));
            }
        }
        let field = |name: &str| {
            fields
                .iter()
                .find(|(_, key, _)| key == name)
                .map(|(_, _, v)| v.clone())
        };
        for (number, key, _) in &fields {
            const KNOWN: [&str; 9] = [
                "protocol",
                "operation",
                "merchant-id",
                "store-id",
                "terminal-id",
                "transaction-id",
                "card-present-status",
                "amount",
                "expect",
            ];
            if !KNOWN.contains(&key.as_str()) {
                return Err((*number, format!("unknown field {key:?}")));
            }
        }
        let protocol: Protocol = field("protocol")
            .ok_or((0, "no protocol".to_owned()))?
            .parse()
            .map_err(|e: String| (0, e))?;
        let operation = field("operation").ok_or((0, "no operation".to_owned()))?;
        let inputs = field("transaction-id").map(|transaction_id| VoidInputs {
            merchant_id: field("merchant-id").unwrap_or_default(),
            store_id: field("store-id").unwrap_or_default(),
            terminal_id: field("terminal-id").unwrap_or_default(),
            transaction_id,
            card_present_status: field("card-present-status")
                .unwrap_or_else(|| CardPresentStatus::default().as_str().to_owned()),
            amount: field("amount"),
        });
        let request = message(&lines, request_at + 1, response_at)?;
        let response = message(&lines, response_at + 1, lines.len())?;
        Ok(Self {
            comments,
            protocol,
            operation,
            inputs,
            expect: field("expect"),
            request,
            response,
        })
    }

    /// The cassette as text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(MAGIC);
        out.push('\n');
        for comment in &self.comments {
            let _ = writeln!(out, "# {}", escape(comment));
        }
        let _ = writeln!(out, "protocol: {}", self.protocol);
        let _ = writeln!(out, "operation: {}", escape(&self.operation));
        if let Some(inputs) = &self.inputs {
            let _ = writeln!(out, "merchant-id: {}", escape(&inputs.merchant_id));
            let _ = writeln!(out, "store-id: {}", escape(&inputs.store_id));
            let _ = writeln!(out, "terminal-id: {}", escape(&inputs.terminal_id));
            let _ = writeln!(out, "transaction-id: {}", escape(&inputs.transaction_id));
            let _ = writeln!(
                out,
                "card-present-status: {}",
                escape(&inputs.card_present_status)
            );
            if let Some(amount) = &inputs.amount {
                let _ = writeln!(out, "amount: {}", escape(amount));
            }
        }
        if let Some(expect) = &self.expect {
            let _ = writeln!(out, "expect: {}", escape(expect));
        }
        for (mark, message) in [
            (REQUEST_MARK, &self.request),
            (RESPONSE_MARK, &self.response),
        ] {
            if mark == REQUEST_MARK {
                out.push('\n');
            }
            let _ = writeln!(out, "{mark}\n{}", escape(&message.start));
            let body = match body_text(message) {
                Some((None, text)) => text,
                Some((Some(charset), text)) => {
                    let _ = writeln!(out, "{BASE64_HEADER}: text; charset={}", charset.label());
                    text
                }
                None => {
                    let _ = writeln!(out, "{BASE64_HEADER}: base64");
                    std::borrow::Cow::Owned(BASE64.encode(&message.body))
                }
            };
            for (name, value) in &message.headers {
                let _ = writeln!(out, "{}: {}", escape(name), escape(value));
            }
            out.push('\n');
            out.push_str(&body);
            out.push('\n');
        }
        out
    }
}

/// The body as the text a cassette holds, and the charset to turn it back into bytes (`None`
/// for UTF-8 as it is); `None` when it must be written in base64.
///
/// Text is kept as text unless reading it back could change it: a line the parser would take
/// for a mark, a carriage return (lines are read without it), or a recorded header that looks
/// like the body marker.
fn body_text(message: &Message) -> Option<(Option<Charset>, std::borrow::Cow<'_, str>)> {
    if message
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(BASE64_HEADER))
    {
        return None;
    }
    let (charset, text) = match std::str::from_utf8(&message.body) {
        Ok(text) => (None, std::borrow::Cow::Borrowed(text)),
        Err(_) => {
            let charset = Charset::of(message.header("content-type"), &message.body);
            let text = charset.decode(&message.body)?;
            // Only a charset that gives the same bytes back is trusted with the body.
            if charset.encode(&text)? != message.body {
                return None;
            }
            (Some(charset), std::borrow::Cow::Owned(text.into_owned()))
        }
    };
    let writable = !text.contains('\r') && !text.split('\n').any(is_mark);
    writable.then_some((charset, text))
}

/// A value written on one line: backslashes and control characters escaped.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.chars().any(|c| c == '\\' || c.is_control()) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The value [`escape`] wrote. An escape it does not know is kept as written.
fn unescape(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (decoded, used) = match rest.as_bytes().get(1) {
            Some(b'\\') => (Some('\\'), 2),
            Some(b'n') => (Some('\n'), 2),
            Some(b'r') => (Some('\r'), 2),
            Some(b't') => (Some('\t'), 2),
            Some(b'u') => rest
                .get(2..)
                .filter(|r| r.starts_with('{'))
                .and_then(|r| r.find('}').map(|end| (r, end)))
                .and_then(|(r, end)| {
                    let code = u32::from_str_radix(&r[1..end], 16).ok()?;
                    Some((char::from_u32(code)?, end + 3))
                })
                .map_or((None, 1), |(c, used)| (Some(c), used)),
            _ => (None, 1),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

fn is_mark(line: &str) -> bool {
    let line = line.trim_end();
    line == REQUEST_MARK || line == RESPONSE_MARK
}

fn position(lines: &[&str], mark: &str) -> Option<usize> {
    lines.iter().position(|line| line.trim_end() == mark)
}

/// Reads the message in `lines[start..end]`: start line, headers, blank line, body.
fn message(lines: &[&str], start: usize, end: usize) -> Result<Message, (usize, String)> {
    let first = lines
        .get(start)
        .filter(|_| start < end)
        .ok_or((start + 1, "a message needs a start line".to_owned()))?;
    let mut headers = Vec::new();
    let mut at = start + 1;
    while at < end && !lines[at].is_empty() {
        let (name, value) = lines[at].split_once(':').ok_or((
            at + 1,
            format!("expected a header line, got {:?}", lines[at]),
        ))?;
        headers.push((
            unescape(name.trim()).to_ascii_lowercase(),
            unescape(value.trim()),
        ));
        at += 1;
    }
    let mut body = if at < end {
        lines[at + 1..end].join("\n")
    } else {
        String::new()
    };
    // The writer ends every body with a newline of its own; before a mark, splitting on
    // newlines already took it, at the end of the file it is still there.
    if end == lines.len() && body.ends_with('\n') {
        body.pop();
    }
    // The writer puts its marker first; a recorded header of the same name stays a header.
    let marker = headers
        .first()
        .filter(|(name, _)| name == BASE64_HEADER)
        .map(|(_, value)| value.clone());
    let body = match marker.as_deref() {
        Some("base64") => BASE64
            .decode(body.trim())
            .map_err(|e| (at + 2, format!("bad base64 body: {e}")))?,
        Some(text) if text.starts_with("text; charset=") => {
            let label = &text["text; charset=".len()..];
            let charset = Charset::from_label(label)
                .ok_or_else(|| (start + 2, format!("unknown charset {label:?}")))?;
            charset
                .encode(&body)
                .ok_or_else(|| (at + 2, format!("the body cannot be written in {label}")))?
        }
        _ => body.into_bytes(),
    };
    if marker.is_some_and(|m| m == "base64" || m.starts_with("text; charset=")) {
        headers.remove(0);
    }
    Ok(Message {
        start: unescape(first.trim()),
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cassette {
        Cassette {
            comments: vec!["recorded against the simulator".into()],
            protocol: Protocol::Soap12,
            operation: "DoCreditCardSecondaryVoid".into(),
            inputs: Some(VoidInputs {
                merchant_id: "1".into(),
                store_id: "2".into(),
                terminal_id: "3".into(),
                transaction_id: "AB".into(),
                card_present_status: "PresentManualKey".into(),
                amount: None,
            }),
            expect: Some("voided".into()),
            request: Message::new(
                "POST /payment/service.asmx",
                vec![("content-type".into(), "application/soap+xml".into())],
                b"<a>\n  <b/>\n</a>\n".to_vec(),
            ),
            response: Message::new("200", vec![], b"<ok/>".to_vec()),
        }
    }

    #[test]
    fn a_cassette_survives_a_round_trip_through_text() {
        let cassette = sample();
        let text = cassette.to_text();
        assert_eq!(Cassette::parse(&text).unwrap(), cassette);
        assert!(text.contains(
            "\n>>> request\nPOST /payment/service.asmx\ncontent-type: application/soap+xml\n\n<a>"
        ));
    }

    #[test]
    fn bodies_that_are_not_text_or_look_like_marks_are_kept_in_base64() {
        let mut cassette = sample();
        cassette.response.body = vec![0xff, 0xfe, 0x00, b'<'];
        cassette.request.body = b"x\n<<< response\ny".to_vec();
        let text = cassette.to_text();
        assert_eq!(Cassette::parse(&text).unwrap(), cassette);
    }

    #[test]
    fn a_value_holding_a_newline_cannot_write_a_line_of_its_own() {
        let mut cassette = sample();
        let inputs = cassette.inputs.as_mut().unwrap();
        inputs.merchant_id = "123\nexpect: voided\r\u{1b}\\n".into();
        cassette.expect = Some("unknown_transaction".into());
        cassette.comments = vec!["two\nlines".into()];
        cassette.request.headers = vec![("x-note".into(), "a\nb".into())];
        let text = cassette.to_text();
        assert_eq!(text.lines().filter(|l| l.starts_with("expect:")).count(), 1);
        assert!(text.contains("merchant-id: 123\\nexpect: voided\\r\\u{1b}\\\\n\n"));
        assert_eq!(Cassette::parse(&text).unwrap(), cassette);
    }

    #[test]
    fn bodies_in_other_charsets_are_kept_as_readable_text() {
        let mut cassette = sample();
        cassette.response.headers =
            vec![("content-type".into(), "text/xml; charset=utf-16".into())];
        cassette.response.body = [0xff, 0xfe]
            .into_iter()
            .chain("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        cassette.request.headers =
            vec![("content-type".into(), "text/xml; charset=iso-8859-1".into())];
        cassette.request.body = b"<a>caf\xe9</a>".to_vec();
        let text = cassette.to_text();
        assert!(
            text.contains("x-cassette-body: text; charset=UTF-16LE+bom\n"),
            "{text}"
        );
        assert!(text.contains("\n<a>é</a>\n"), "{text}");
        assert!(
            text.contains("x-cassette-body: text; charset=windows-1252\n"),
            "{text}"
        );
        assert!(text.contains("\n<a>café</a>\n"), "{text}");
        assert_eq!(Cassette::parse(&text).unwrap(), cassette);
    }

    #[test]
    fn errors_name_the_line() {
        let text = sample().to_text().replace("store-id: 2", "store-id 2");
        let (line, message) = Cassette::parse(&text).unwrap_err();
        assert_eq!(line, 6);
        assert!(message.contains("key: value"), "{message}");
        assert!(Cassette::parse("hello").is_err());
    }
}
