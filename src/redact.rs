//! Taking secrets out of what an answer made the client say.
//!
//! A server may echo what it was sent: the `Authorization` header in a fault's reason, the
//! password in a detail, a card number in a stack trace. Everything an answer puts into a
//! [`VoidReceipt`] or an [`Error`] (and so into their `Display`, `Debug` and
//! [`Error::report`]) passes through a [`Redactor`] first, which takes out the client's
//! secrets in every encoding and every card number in every grouping, as
//! [`crate::sensitive`] finds them.

use std::borrow::Cow;

use crate::credentials::{ApiKey, Credentials};
use crate::error::{AnswerProblem, Error, Refusal};
use crate::nvp::form_decoded;
use crate::refund::RefundReceipt;
use crate::sensitive::{Secrets, redact_cards};
use crate::soap::{SoapFault, resolve_references};
use crate::void::VoidReceipt;

/// The secrets of one client, and the card-number sweep.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    secrets: Secrets,
}

impl Redactor {
    /// Most characters of an HTTP error's body shown, once cleaned.
    pub(crate) const EXCERPT_CHARS: usize = 256;

    /// A redactor for `credentials`: their password and the Basic token of each user-name
    /// form.
    #[cfg(test)]
    pub(crate) fn new(credentials: &Credentials) -> Self {
        Self::for_secrets(Some(credentials), None)
    }

    /// A redactor for whichever of `credentials` and the REST `api_key` a client holds.
    pub(crate) fn for_secrets(credentials: Option<&Credentials>, api_key: Option<&ApiKey>) -> Self {
        Self {
            secrets: Secrets::of(credentials, api_key),
        }
    }

    /// `text` without the secrets and card numbers it holds (borrowed when it holds none).
    pub(crate) fn clean<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.secrets.remove(text) {
            Cow::Borrowed(text) => redact_cards(text),
            Cow::Owned(removed) => Cow::Owned(redact_cards(&removed).into_owned()),
        }
    }

    /// A body (or the start of one) swept: each value is first read as the body's format
    /// writes it (an XML text or attribute value, a JSON string, a form value), swept, and
    /// written back in the format when it held anything; then the whole text is swept as
    /// written. A body is written in its own format on top of any encoding of a value's own (a
    /// password JSON-escaped and then XML-escaped into a fault, percent-encoded and then
    /// form-encoded into NVP pairs), and a sweep reads one encoding at a time. The one sweep of
    /// a body, for the wire view and for an HTTP error's excerpt.
    pub(crate) fn body(&self, text: &str) -> String {
        // A byte-order mark (which .NET writes before an answer by default) is not the
        // format's first character: the one after it says which format this is.
        let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        let values_swept = match start.as_bytes().first() {
            Some(b'<') => markup(self, text),
            Some(b'{' | b'[') => json(self, text),
            _ => form(self, text),
        };
        self.clean(&values_swept).into_owned()
    }

    /// Whether `text` holds one of the secrets, in any encoding (card numbers aside).
    pub(crate) fn holds_secret(&self, text: &str) -> bool {
        matches!(self.secrets.remove(text), Cow::Owned(_))
    }

    fn string(&self, text: &mut String) {
        if let Cow::Owned(clean) = self.clean(text) {
            *text = clean;
        }
    }

    fn option(&self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.string(text);
        }
    }

    /// The receipt with its answer-given texts cleaned.
    pub(crate) fn receipt(&self, mut receipt: VoidReceipt) -> VoidReceipt {
        self.string(&mut receipt.transaction_status);
        self.string(&mut receipt.primary_transaction_status);
        self.option(&mut receipt.response_code);
        self.option(&mut receipt.response_message);
        self.option(&mut receipt.transaction_id);
        self.option(&mut receipt.authorization_number);
        receipt
    }

    /// The refund receipt with its answer-given texts cleaned.
    pub(crate) fn refund_receipt(&self, mut receipt: RefundReceipt) -> RefundReceipt {
        self.string(&mut receipt.refund_id);
        self.string(&mut receipt.transaction_status);
        self.option(&mut receipt.primary_transaction_status);
        self.option(&mut receipt.response_code);
        self.option(&mut receipt.response_message);
        self.option(&mut receipt.authorization_number);
        receipt
    }

    /// The error with every text an answer put in it cleaned.
    pub(crate) fn error(&self, error: Error) -> Error {
        match error {
            Error::Declined(refusal) => Error::Declined(self.refusal(refusal)),
            Error::NotVoidable(refusal) => Error::NotVoidable(self.refusal(refusal)),
            Error::AlreadyVoided(refusal) => Error::AlreadyVoided(self.refusal(refusal)),
            Error::UnknownTransaction(refusal) => Error::UnknownTransaction(self.refusal(refusal)),
            Error::OverRefundable(refusal) => Error::OverRefundable(self.refusal(refusal)),
            Error::RefundWindowPassed(refusal) => Error::RefundWindowPassed(self.refusal(refusal)),
            Error::RefundOutcomeUnknown(mut unsettled) => {
                let cause = std::mem::replace(
                    &mut unsettled.cause,
                    Error::HttpStatus {
                        status: 0,
                        body_excerpt: String::new(),
                    },
                );
                unsettled.cause = self.error(cause);
                Error::RefundOutcomeUnknown(unsettled)
            }
            Error::Fault(mut fault) => {
                self.fault(&mut fault);
                Error::Fault(fault)
            }
            Error::NvpError(mut answer) => {
                self.option(&mut answer.code);
                self.string(&mut answer.message);
                Error::NvpError(answer)
            }
            Error::HttpStatus {
                status,
                mut body_excerpt,
            } => {
                body_excerpt = self.body(&body_excerpt);
                if let Some((cut, _)) = body_excerpt.char_indices().nth(Self::EXCERPT_CHARS) {
                    body_excerpt.truncate(cut);
                }
                Error::HttpStatus {
                    status,
                    body_excerpt,
                }
            }
            Error::MalformedAnswer { status, problem } => Error::MalformedAnswer {
                status,
                problem: Box::new(self.problem(*problem)),
            },
            other => other,
        }
    }

    fn refusal(&self, mut refusal: Box<Refusal>) -> Box<Refusal> {
        self.option(&mut refusal.response_code);
        self.option(&mut refusal.response_message);
        self.option(&mut refusal.transaction_status);
        self.option(&mut refusal.primary_transaction_status);
        if let Some(fault) = &mut refusal.fault {
            self.fault(fault);
        }
        refusal
    }

    fn fault(&self, fault: &mut SoapFault) {
        self.string(&mut fault.raw_code);
        for subcode in &mut fault.subcodes {
            self.string(subcode);
        }
        self.option(&mut fault.reason);
        self.option(&mut fault.actor);
        self.option(&mut fault.node);
        for entry in &mut fault.detail {
            self.string(&mut entry.namespace);
            self.string(&mut entry.name);
            self.string(&mut entry.text);
        }
    }

    fn problem(&self, problem: AnswerProblem) -> AnswerProblem {
        match problem {
            AnswerProblem::ContentType(mut text) => {
                self.string(&mut text);
                AnswerProblem::ContentType(text)
            }
            AnswerProblem::ContentEncoding(mut text) => {
                self.string(&mut text);
                AnswerProblem::ContentEncoding(text)
            }
            AnswerProblem::Inconsistent(mut text) => {
                self.string(&mut text);
                AnswerProblem::Inconsistent(text)
            }
            // The reader's own messages quote names and text from the answer; one that quotes a
            // secret is replaced by its cleaned wording.
            AnswerProblem::Envelope(envelope) => {
                let said = envelope.to_string();
                let chain = std::error::Error::source(&envelope)
                    .map(|cause| format!("{said}: {cause}"))
                    .unwrap_or(said);
                match self.clean(&chain) {
                    Cow::Borrowed(_) => AnswerProblem::Envelope(envelope),
                    Cow::Owned(clean) => AnswerProblem::Scrubbed(clean),
                }
            }
            other => other,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::UserName;

    #[test]
    fn the_password_the_basic_token_and_cards_are_taken_out() {
        let credentials = Credentials::new("acct@clinic", "p&ss word<1>");
        let redactor = Redactor::new(&credentials);
        let token = credentials.basic_token(UserName::AccountId);
        let local = credentials.basic_token(UserName::LocalPart);
        let text = format!(
            "Authorization: Basic {token}; other form {local}; password p&ss word<1>; \
             form p%26ss+word%3C1%3E; xml p&amp;ss word&lt;1&gt;; card 4111 1111 1111 1111"
        );
        let clean = redactor.clean(&text);
        for secret in [
            token.as_str(),
            local.as_str(),
            "p&ss word<1>",
            "p%26ss+word%3C1%3E",
            "p&amp;ss word&lt;1&gt;",
            "4111 1111 1111 1111",
        ] {
            assert!(!clean.contains(secret), "{secret} in {clean}");
        }
        assert!(matches!(redactor.clean("nothing here"), Cow::Borrowed(_)));
        assert!(!format!("{redactor:?}").contains("p&ss"));
    }

    #[test]
    fn a_transaction_id_in_a_receipt_comes_back_as_it_was_sent() {
        // A random hex ID whose digit run of 18 passes the Luhn check: once redacted inside a
        // receipt, which then named another payment.
        let redactor = Redactor::default();
        for id in [
            "887BFFC901103101744246852F5EC81D",
            "EE52401813A74328AAA7D93319FF4383",
        ] {
            assert_eq!(redactor.clean(id), id);
        }
    }
}
