//! An opt-in view of each exchange as it went on the wire, for debugging, as `curl -v` and
//! zeep's history give one: the request and the answer (start line, headers, body), after the
//! client's sensitive-data sweep (the one that cleans receipts and errors) has run over them.
//!
//! What is taken out before an observer sees anything: the value of every header whose name
//! says it is secret (`Authorization`, `Api-Secret`, `Api-Key`, `Cookie`…) or that the client
//! marked sensitive, whole; then, in every start line, header value and body, this client's
//! password, its Basic tokens and its API secret in every encoding, and every card number in
//! every grouping, as [`crate::sensitive`] finds them. Control characters other than line
//! breaks and tabs are left out, so that an answer cannot move a terminal's cursor or forge
//! lines.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::nvp::form_decoded;
use crate::redact::Redactor;
use crate::sensitive::{REDACTED, names::is_secret};
use crate::soap::resolve_references;

/// One message of an exchange, cleaned: its start line, its headers in order, its body as text
/// (bytes that are not UTF-8 shown as U+FFFD).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireMessage {
    /// `POST /payment/service.asmx HTTP/1.1`, or `HTTP/1.1 200 OK`.
    pub start: String,
    /// Each header as a name and a value.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// One attempt at an exchange: the request as sent and the answer as read, or why there is no
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireExchange {
    /// The operation, as logs name it (`DoCreditCardSecondaryVoid`, `Void`, `rest/payment/void`).
    pub operation: &'static str,
    /// The request.
    pub request: WireMessage,
    /// The answer read whole; `None` when none was.
    pub response: Option<WireMessage>,
    /// Why no answer was read (the transport's error, cleaned), when none was.
    pub failure: Option<String>,
}

impl fmt::Display for WireExchange {
    /// As `curl -v` shows an exchange: `> ` before each line sent, `< ` before each line read,
    /// a blank marked line between headers and body; `* ` before why no answer came.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_message(f, '>', &self.request)?;
        if let Some(response) = &self.response {
            write_message(f, '<', response)?;
        }
        if let Some(failure) = &self.failure {
            writeln!(f, "* no answer: {failure}")?;
        }
        Ok(())
    }
}

fn write_message(f: &mut fmt::Formatter<'_>, mark: char, message: &WireMessage) -> fmt::Result {
    writeln!(f, "{mark} {}", message.start)?;
    for (name, value) in &message.headers {
        writeln!(f, "{mark} {name}: {value}")?;
    }
    writeln!(f, "{mark}")?;
    for line in message.body.lines() {
        writeln!(f, "{mark} {line}")?;
    }
    Ok(())
}

/// Receives every exchange a [`Client`](crate::Client) makes, each attempt apart, once it is
/// answered or has failed; set with
/// [`ClientBuilder::wire_observer`](crate::ClientBuilder::wire_observer). It is called on the
/// task that made the call, so it should be quick (print, or hand over to a channel).
pub trait WireObserver: Send + Sync + 'static {
    /// One exchange, cleaned.
    fn exchange(&self, exchange: &WireExchange);
}

impl<F> WireObserver for F
where
    F: Fn(&WireExchange) + Send + Sync + 'static,
{
    fn exchange(&self, exchange: &WireExchange) {
        self(exchange);
    }
}

/// A client's observer: each exchange is swept (by the client's redactor, handed in) before
/// the observer sees it.
#[derive(Clone)]
pub(crate) struct Observer {
    observer: Arc<dyn WireObserver>,
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

impl Observer {
    pub(crate) fn new(observer: Arc<dyn WireObserver>) -> Self {
        Self { observer }
    }

    /// Shows the observer one attempt: `request` as sent, and `answer` or why there is none.
    pub(crate) fn show(
        &self,
        redactor: &Redactor,
        operation: &'static str,
        request: &Request<Bytes>,
        answer: Result<&Response<Bytes>, &crate::Error>,
    ) {
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path(), |target| target.as_str());
        let request_message = WireMessage {
            start: line(
                redactor,
                &format!("{} {target} {:?}", request.method(), request.version()),
            ),
            headers: headers(redactor, request.headers()),
            body: body(redactor, request.body()),
        };
        let (response, failure) = match answer {
            Ok(answer) => {
                let status = answer.status();
                let start = format!(
                    "{:?} {} {}",
                    answer.version(),
                    status.as_str(),
                    status.canonical_reason().unwrap_or("")
                );
                let message = WireMessage {
                    start: line(redactor, start.trim_end()),
                    headers: headers(redactor, answer.headers()),
                    body: body(redactor, answer.body()),
                };
                (Some(message), None)
            }
            Err(error) => (None, Some(line(redactor, &error.report().to_string()))),
        };
        self.observer.exchange(&WireExchange {
            operation,
            request: request_message,
            response,
            failure,
        });
    }
}

/// The headers, each secret one's value replaced whole, the others swept.
fn headers(redactor: &Redactor, headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() || is_secret(name.as_str()) {
                REDACTED.to_owned()
            } else {
                line(redactor, &String::from_utf8_lossy(value.as_bytes()))
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// A line of text swept, its control characters left out.
fn line(redactor: &Redactor, text: &str) -> String {
    let printable: String = text.chars().filter(|c| !c.is_control()).collect();
    redactor.clean(&printable).into_owned()
}

/// A body as text, swept, with its line breaks and tabs and no other control character.
///
/// A body is shown as written, so a value in it is written in the body's own format on top of
/// any encoding of its own: a password JSON-escaped and then XML-escaped into a fault, or
/// percent-encoded and then form-encoded into NVP pairs. The sweep reads only one encoding at
/// a time; so each value is first read as the format writes it (an XML text or attribute
/// value, a JSON string, a form value), swept, and written back in the format when it held
/// anything; then the whole text is swept as written.
fn body(redactor: &Redactor, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let printable: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let values_swept = match printable.trim_start().as_bytes().first() {
        Some(b'<') => markup(redactor, &printable),
        Some(b'{' | b'[') => json(redactor, &printable),
        _ => form(redactor, &printable),
    };
    redactor.clean(&values_swept).into_owned()
}

/// Markup with each text run and quoted attribute value swept as a reader resolves it.
fn markup(redactor: &Redactor, text: &str) -> String {
    let sweep = |raw: &str| -> String {
        let resolved = resolve_references(raw);
        match redactor.clean(&resolved) {
            Cow::Owned(clean) if matches!(resolved, Cow::Owned(_)) => {
                crate::soap::escaped(&clean).into_owned()
            }
            _ => raw.to_owned(),
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut value = String::new();
    let (mut in_tag, mut quote) = (false, None);
    for c in text.chars() {
        match (in_tag, quote) {
            (false, _) if c == '<' => {
                out.push_str(&sweep(&value));
                value.clear();
                out.push(c);
                in_tag = true;
            }
            (false, _) => value.push(c),
            (true, None) if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            (true, None) => {
                in_tag = c != '>';
                out.push(c);
            }
            (true, Some(open)) if c == open => {
                out.push_str(&sweep(&value));
                value.clear();
                out.push(c);
                quote = None;
            }
            (true, Some(_)) => value.push(c),
        }
    }
    out.push_str(&sweep(&value));
    out
}

/// JSON with each string swept as a parser decodes it.
fn json(redactor: &Redactor, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let literal = &rest[open..];
        // The closing quote: the first one no backslash escapes.
        let mut escaped = false;
        let close = literal.char_indices().skip(1).find_map(|(at, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes.then_some(at)
        });
        let Some(close) = close else {
            out.push_str(literal);
            return out;
        };
        let raw = &literal[..=close];
        let swept = serde_json::from_str::<String>(raw)
            .ok()
            .filter(|decoded| decoded != &raw[1..raw.len() - 1])
            .and_then(|decoded| match redactor.clean(&decoded) {
                Cow::Owned(clean) => serde_json::to_string(&clean).ok(),
                Cow::Borrowed(_) => None,
            });
        out.push_str(swept.as_deref().unwrap_or(raw));
        rest = &literal[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Form pairs with each key and value swept as a form decodes it.
fn form(redactor: &Redactor, text: &str) -> String {
    let sweep = |raw: &str| -> String {
        match form_decoded(raw.as_bytes()) {
            Some(Cow::Owned(decoded)) => match redactor.clean(&decoded) {
                Cow::Owned(clean) => form_urlencoded::byte_serialize(clean.as_bytes()).collect(),
                Cow::Borrowed(_) => raw.to_owned(),
            },
            _ => raw.to_owned(),
        }
    };
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => format!("{}={}", sweep(key), sweep(value)),
            None => sweep(pair),
        })
        .collect::<Vec<_>>()
        .join("&")
}
