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

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::redact::Redactor;
use crate::sensitive::{REDACTED, names::is_secret, utf8_text};

/// One message of an exchange, cleaned: its start line, its headers in order, its body as text
/// (a body or header value that is not UTF-8 is not shown: only its length is).
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
                utf8_text(value.as_bytes(), false)
                    .map_or_else(|| NOT_UTF8.to_owned(), |text| line(redactor, text))
            };
            // A name is the answer's text too: it may hold a card number.
            (line(redactor, name.as_str()), shown)
        })
        .collect()
}

/// What stands for a header value that is not UTF-8.
const NOT_UTF8: &str = "[not UTF-8, not shown]";

/// A line of text swept, its control characters left out.
fn line(redactor: &Redactor, text: &str) -> String {
    let printable: String = text.chars().filter(|c| !c.is_control()).collect();
    redactor.clean(&printable).into_owned()
}

/// A body as text, swept (see [`Redactor::body`]), with its line breaks and tabs and no other
/// control character.
fn body(redactor: &Redactor, bytes: &[u8]) -> String {
    let Some(text) = utf8_text(bytes, false) else {
        return format!("[{} bytes that are not UTF-8, not shown]", bytes.len());
    };
    let printable: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    redactor.body(&printable)
}
