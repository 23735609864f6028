//! One error type for every way a void can fail, sorted by what the caller should do next.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::domain::{Amount, TransactionId};
use crate::outcome::Outcome;
use crate::protocol::Protocol;
use crate::soap::{FaultCode, SoapFault, UnreadableEnvelope};

// A value refused as it is made is the domain's error; it is one of this module's kinds too.
pub use crate::domain::InvalidRequest;

/// A boxed error from a lower layer (hyper, rustls, a file read), kept whole so that
/// `source()` chains reach the original cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong building a client or voiding a payment.
///
/// The variants answer the caller's real question, *did the void happen?* A verdict is only as
/// strong as its evidence (the rules, one row each, are in `docs/outcomes.md`):
/// - refusals ([`Declined`](Error::Declined), [`NotVoidable`](Error::NotVoidable),
///   [`AlreadyVoided`](Error::AlreadyVoided), [`UnknownTransaction`](Error::UnknownTransaction))
///   come only from structured statuses (`TransactionStatus` `D`/`X`) or from a request the
///   service rejected (a `Client`/`Sender` fault, an NVP error in the 400s): this void did not
///   happen;
/// - [`InvalidRequest`](Error::InvalidRequest), [`InvalidConfig`](Error::InvalidConfig),
///   [`Connect`](Error::Connect), [`Tls`](Error::Tls) and
///   [`AuthenticationRefused`](Error::AuthenticationRefused) mean nothing was voided;
/// - when [`outcome_unknown`](Error::outcome_unknown) is true the void may have happened: no
///   answer was read, or the service failed while handling it (a `Server`/`Receiver` fault, an
///   NVP error in the 500s, an HTTP 5xx), whatever its words. Reconcile before trying anything
///   else with that payment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused locally, before anything was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(Box<InvalidRequest>),
    /// The client could not be built as configured.
    #[error("invalid client configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
        /// The underlying error, if any (an unreadable CA file, say).
        #[source]
        source: Option<BoxError>,
    },
    /// The service refused the credentials (HTTP 401 or 403).
    #[error("InstaMed refused the credentials (HTTP {status})")]
    AuthenticationRefused {
        /// The HTTP status.
        status: u16,
    },
    /// InstaMed declined the void (or the refund) for a reason not covered by a more specific
    /// variant.
    #[error("InstaMed declined the request: {0}")]
    Declined(Box<Refusal>),
    /// The payment can no longer be voided: its funds transfer has begun or it has settled.
    /// A simple refund is the usual way on, so this comes only from statuses about this
    /// payment: `TransactionStatus` `D`/`X` and a `PrimaryTransactionStatus` present and not
    /// `V` (`S`/`SE`, or another status whose wording says so); never from words alone.
    #[error("the payment can no longer be voided: {0}")]
    NotVoidable(Box<Refusal>),
    /// The payment had already been voided.
    #[error("the payment was already voided: {0}")]
    AlreadyVoided(Box<Refusal>),
    /// A refund asked for more than is left of the payment (its amount less earlier refunds).
    #[error("the refund exceeds what is left to refund of the payment: {0}")]
    OverRefundable(Box<Refusal>),
    /// The payment is older than the refund window (one year at InstaMed).
    #[error("the payment is too old to refund: {0}")]
    RefundWindowPassed(Box<Refusal>),
    /// A refund was (or may have been) sent and nothing read proves whether it was made. A
    /// refund is not idempotent, so it is never sent again automatically: what is needed to
    /// settle it by hand is in the [`UnsettledRefund`], its cause in [`source`](std::error::Error::source).
    #[error(transparent)]
    RefundOutcomeUnknown(Box<UnsettledRefund>),
    /// InstaMed does not know the payment.
    #[error("InstaMed does not know the payment: {0}")]
    UnknownTransaction(Box<Refusal>),
    /// The service answered with a SOAP fault that is not one of the known refusals. A
    /// `Client`/`Sender` fault (or `VersionMismatch`, `MustUnderstand`, `DataEncodingUnknown`)
    /// rejected the request; any other fault leaves the outcome unknown.
    #[error("the service answered with a fault: {0}")]
    Fault(Box<SoapFault>),
    /// The NVP interface answered `errorCode`/`errorMessage` that is not one of the known
    /// refusals. A code in the 400s rejected the request; any other code, or none, leaves the
    /// outcome unknown.
    #[error("the service answered with an error: {0}")]
    NvpError(Box<NvpErrorAnswer>),
    /// No complete answer arrived before the deadline.
    #[error("no answer within {after:?}{}", if *.sent { " (the request was sent)" } else { "" })]
    Timeout {
        /// The deadline.
        after: Duration,
        /// Whether the request may have been written to the connection.
        sent: bool,
    },
    /// The service could not be reached (DNS, TCP, HTTP handshake); nothing was sent.
    #[error("could not connect to the service")]
    Connect {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The TLS handshake failed; nothing was sent. The source says why (unknown issuer, wrong
    /// host name, expired certificate, weak key, no common protocol version).
    #[error("TLS handshake with the service failed")]
    Tls {
        /// The cause, from rustls.
        #[source]
        source: BoxError,
    },
    /// The connection failed while the request or its answer was in flight.
    #[error("the connection failed {}", if *.sent { "after the request was sent" } else { "before the request was sent" })]
    Transport {
        /// Whether the request may have been written to the connection.
        sent: bool,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// An HTTP error status with no SOAP answer in the body. What the body says is shown after
    /// the status, unless it is markup (an error page, whose text would be noise): a REST 400
    /// says in its JSON which field of the request was refused.
    #[error("HTTP {status} without a SOAP answer{}", said(body_excerpt))]
    HttpStatus {
        /// The HTTP status.
        status: u16,
        /// The start of the body, cleaned of the client's secrets and card numbers.
        body_excerpt: String,
    },
    /// An answer arrived but cannot be read as a result or a fault.
    #[error("unreadable answer (HTTP {status})")]
    MalformedAnswer {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        #[source]
        problem: Box<AnswerProblem>,
    },
}

impl From<InvalidRequest> for Error {
    fn from(invalid: InvalidRequest) -> Self {
        Self::InvalidRequest(Box::new(invalid))
    }
}

/// A client that cannot be built as configured, for `reason`.
pub(crate) fn config(reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        reason: reason.into(),
        source: None,
    }
}

/// A client that cannot be built as configured, for `reason`, because of `source` (kept whole,
/// so that `source()` reaches it).
pub(crate) fn config_with(
    reason: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::InvalidConfig {
        reason: reason.into(),
        source: Some(Box::new(source)),
    }
}

impl Error {
    /// An answer that cannot be believed, with the HTTP status it came with.
    pub(crate) fn malformed(status: u16, problem: AnswerProblem) -> Self {
        Self::MalformedAnswer {
            status,
            problem: Box::new(problem),
        }
    }

    /// True exactly when the void may have happened and nothing read proves either way: the
    /// request was (or may have been) sent and the connection failed or the deadline passed;
    /// what came back cannot be read; or the service failed while handling it (a
    /// `Server`/`Receiver` fault without structured statuses, an NVP error in the 500s or
    /// without a code, an HTTP 5xx), whatever its words say, because ASP.NET reports an
    /// exception thrown after the void was recorded exactly as one thrown before.
    ///
    /// Never retry such a void blindly, and never refund: reconcile
    /// ([`Client::void_reconciled`](crate::Client::void_reconciled)), which accepts only
    /// `PrimaryTransactionStatus` `V` as proof that the payment is voided.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout { sent, .. } | Self::Transport { sent, .. } => *sent,
            Self::MalformedAnswer { .. } => true,
            Self::HttpStatus { status, .. } => *status >= 500,
            Self::Fault(fault) => !matches!(
                fault.code,
                FaultCode::Sender
                    | FaultCode::VersionMismatch
                    | FaultCode::MustUnderstand
                    | FaultCode::DataEncodingUnknown
            ),
            Self::NvpError(answer) => {
                answer.status >= 500 || !is_request_error_code(answer.code.as_deref())
            }
            Self::RefundOutcomeUnknown(_) => true,
            _ => false,
        }
    }

    /// The HTTP status of the answer this error was read from, when there was one and it is
    /// known: for faults (and refusals that came as faults), NVP errors, HTTP errors,
    /// unreadable answers and refused credentials.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::AuthenticationRefused { status }
            | Self::HttpStatus { status, .. }
            | Self::MalformedAnswer { status, .. } => Some(*status),
            Self::NvpError(answer) => Some(answer.status),
            Self::Fault(fault) => fault.http_status,
            Self::RefundOutcomeUnknown(unsettled) => unsettled.cause.http_status(),
            _ => self
                .refusal()
                .and_then(|refusal| refusal.fault.as_ref())
                .and_then(|fault| fault.http_status),
        }
    }

    /// The SOAP fault this error came from: an [`Error::Fault`], or a refusal that came as one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match self {
            Self::Fault(fault) => Some(fault),
            Self::RefundOutcomeUnknown(unsettled) => unsettled.cause.fault(),
            _ => self.refusal().and_then(|refusal| refusal.fault.as_deref()),
        }
    }

    /// What was wrong with an answer that could not be read: the problem of an
    /// [`Error::MalformedAnswer`].
    pub fn problem(&self) -> Option<&AnswerProblem> {
        match self {
            Self::MalformedAnswer { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// How the call ended, in the one vocabulary every command, the ledger and the simulator
    /// speak ([`crate::outcome::TABLE`]): `outcome_unknown` (or `refund_unknown` for a refund)
    /// when the call may have happened ([`outcome_unknown`](Self::outcome_unknown)), whatever
    /// its kind; a refusal by its name (`already_voided`, `not_voidable`, `unknown_payment`,
    /// `declined`, `over_refundable`, `refund_window_passed`); `invalid` when nothing was sent
    /// because the request or the configuration is wrong; `failed` for the rest, which
    /// happened nowhere (connection, TLS, refused credentials, a rejected request).
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::RefundOutcomeUnknown(_) => Outcome::RefundUnknown,
            _ if self.outcome_unknown() => Outcome::OutcomeUnknown,
            Self::InvalidRequest(_) | Self::InvalidConfig { .. } => Outcome::Invalid,
            Self::AlreadyVoided(_) => Outcome::AlreadyVoided,
            Self::NotVoidable(_) => Outcome::NotVoidable,
            Self::UnknownTransaction(_) => Outcome::UnknownPayment,
            Self::Declined(_) => Outcome::Declined,
            Self::OverRefundable(_) => Outcome::OverRefundable,
            Self::RefundWindowPassed(_) => Outcome::RefundWindowPassed,
            _ => Outcome::Failed,
        }
    }

    /// The outcome in one stable word: `outcome_unknown` when the call may have happened
    /// ([`outcome_unknown`](Self::outcome_unknown)), whatever its kind; the error's
    /// [`code`](Self::code) otherwise.
    #[deprecated(
        note = "use `Error::outcome`, whose names are the one vocabulary of every command and \
                the ledger (`unknown_payment`, `failed`, `invalid`, `refund_unknown`); \
                `Error::code` keeps the finer kind"
    )]
    pub fn outcome_name(&self) -> &'static str {
        if self.outcome_unknown() {
            "outcome_unknown"
        } else {
            self.code()
        }
    }

    /// A short, stable name of the error's kind, for scripts, logs and cassettes:
    /// `invalid_request`, `invalid_config`, `authentication_refused`, `declined`,
    /// `not_voidable`, `already_voided`, `unknown_transaction`, `over_refundable`,
    /// `refund_window_passed`, `refund_outcome_unknown`, `fault`, `service_error`,
    /// `timeout`, `connect_error`, `tls_error`, `transport_error`, `http_status`,
    /// `malformed_response`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::AuthenticationRefused { .. } => "authentication_refused",
            Self::Declined(_) => "declined",
            Self::NotVoidable(_) => "not_voidable",
            Self::AlreadyVoided(_) => "already_voided",
            Self::UnknownTransaction(_) => "unknown_transaction",
            Self::OverRefundable(_) => "over_refundable",
            Self::RefundWindowPassed(_) => "refund_window_passed",
            Self::RefundOutcomeUnknown(_) => "refund_outcome_unknown",
            Self::Fault(_) => "fault",
            Self::NvpError(_) => "service_error",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect_error",
            Self::Tls { .. } => "tls_error",
            Self::Transport { .. } => "transport_error",
            Self::HttpStatus { .. } => "http_status",
            Self::MalformedAnswer { .. } => "malformed_response",
        }
    }

    /// True when the request certainly never left this machine and the failure may pass: the
    /// service could not be reached, the TLS handshake failed, the connection closed before
    /// the request was written, or the deadline passed before that. Such a request may be sent
    /// again without risk ([`RetryPolicy`](crate::RetryPolicy) does it when asked to).
    pub fn never_sent(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Tls { .. } => true,
            Self::Transport { sent, .. } | Self::Timeout { sent, .. } => !*sent,
            _ => false,
        }
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// Whether InstaMed answered and refused the void or the refund (any of the refusal
    /// variants).
    pub fn is_refusal(&self) -> bool {
        self.refusal().is_some()
    }

    /// Whether this error proves, on structured evidence, that the payment is voided: a refusal
    /// whose `PrimaryTransactionStatus` is `V` (in a result, a fault's detail or NVP pairs,
    /// about this payment). Message text never counts. This is the only proof of a void
    /// [`Client::void_reconciled`](crate::Client::void_reconciled) accepts.
    pub fn proves_voided(&self) -> bool {
        self.refusal().is_some_and(Refusal::payment_is_voided)
    }

    /// Whether this refusal of a void proves that the payment is not voided, so that no
    /// earlier void of it can have gone through:
    /// - its `PrimaryTransactionStatus` says the payment is there and not voided (any status
    ///   but `V`);
    /// - or it is an [`Error::UnknownTransaction`] with `TransactionStatus` `D` or `X`: the
    ///   service looked and declined because it knows no such payment (at that outlet), so
    ///   there was nothing an earlier void could have changed. An answer naming another
    ///   payment never gets here: it is an unknown outcome.
    ///
    /// This is what [`Client::void_reconciled`](crate::Client::void_reconciled) settles a
    /// refusal on. Wording alone never proves it: without `TransactionStatus` `D`/`X`, "not
    /// found" is no structured refusal.
    pub fn proves_not_voided(&self) -> bool {
        match self {
            Self::UnknownTransaction(refusal) => {
                refusal.payment_is_not_voided()
                    || refusal
                        .transaction_status
                        .as_deref()
                        .map(str::trim)
                        .is_some_and(|s| s.eq_ignore_ascii_case("D") || s.eq_ignore_ascii_case("X"))
            }
            _ => self
                .refusal()
                .is_some_and(|refusal| refusal.payment_is_not_voided()),
        }
    }

    /// The refusal's details, for the refusal variants.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Declined(refusal)
            | Self::NotVoidable(refusal)
            | Self::AlreadyVoided(refusal)
            | Self::UnknownTransaction(refusal)
            | Self::OverRefundable(refusal)
            | Self::RefundWindowPassed(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// The error with every cause in its chain, `: `-separated, for logs and command lines.
    pub fn report(&self) -> impl fmt::Display + '_ {
        Report(self)
    }
}

struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A refund whose outcome is unknown, with what a person needs to settle it by hand: ask
/// InstaMed (or its portal) whether payment `payment` has a refund of `amount` made around
/// `sent_at`, before refunding again.
#[derive(Debug)]
#[non_exhaustive]
pub struct UnsettledRefund {
    /// The payment the refund was asked on.
    pub payment: TransactionId,
    /// The amount asked for.
    pub amount: Amount,
    /// When the request was handed to the connection.
    pub sent_at: SystemTime,
    /// The protocol it went over.
    pub protocol: Protocol,
    /// Why the outcome is unknown.
    pub cause: Error,
}

impl fmt::Display for UnsettledRefund {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the refund of {} on payment {} over {} at {} may have been made; \
             check the payment's refunds before refunding again",
            self.amount,
            self.payment,
            self.protocol,
            httpdate::fmt_http_date(self.sent_at)
        )
    }
}

impl std::error::Error for UnsettledRefund {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// What InstaMed said when it refused a void, whichever way it said it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// `ResponseCode`, if given.
    pub response_code: Option<String>,
    /// `ResponseMessage` (or the fault's reason / the NVP `errorMessage`), if given.
    pub response_message: Option<String>,
    /// `TransactionStatus` of the void, if given.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` of the payment, if given.
    pub primary_transaction_status: Option<String>,
    /// The fault, when the refusal came as one.
    pub fault: Option<Box<SoapFault>>,
}

impl Refusal {
    /// Whether its `PrimaryTransactionStatus` says the payment is voided (`V`).
    pub fn payment_is_voided(&self) -> bool {
        self.primary_transaction_status
            .as_deref()
            .is_some_and(|status| status.trim().eq_ignore_ascii_case("V"))
    }

    /// Whether its `PrimaryTransactionStatus` says the payment is there and not voided (any
    /// status but `V`): structured proof that no earlier void of it went through.
    pub fn payment_is_not_voided(&self) -> bool {
        self.primary_transaction_status
            .as_deref()
            .map(str::trim)
            .is_some_and(|status| !status.is_empty() && !status.eq_ignore_ascii_case("V"))
    }
}

/// Whether an NVP `errorCode` says the request itself was rejected: exactly three ASCII digits
/// in the 400s. Anything else (the 500s, no code, a code read loosely such as `+400`) is no
/// evidence that nothing happened.
pub(crate) fn is_request_error_code(code: Option<&str>) -> bool {
    code.map(str::trim)
        .map(str::as_bytes)
        .is_some_and(|code| matches!(code, [b'4', b'0'..=b'9', b'0'..=b'9']))
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.response_message.as_deref().unwrap_or("no message"))?;
        let facts = [
            ("code", &self.response_code),
            ("status", &self.transaction_status),
            ("payment status", &self.primary_transaction_status),
        ];
        let mut first = true;
        for (label, value) in facts {
            if let Some(value) = value {
                f.write_str(if first { " (" } else { ", " })?;
                write!(f, "{label} {value}")?;
                first = false;
            }
        }
        if !first {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// What the NVP interface sent back as `errorCode`/`errorMessage` when it is not one of the
/// known refusals (see [`Error::NvpError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvpErrorAnswer {
    /// `errorCode`, if given.
    pub code: Option<String>,
    /// `errorMessage`.
    pub message: String,
    /// The HTTP status it came with.
    pub status: u16,
}

impl fmt::Display for NvpErrorAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        Ok(())
    }
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// An HTML page (a proxy's or the server's error page) instead of SOAP.
    #[error("an HTML page instead of a SOAP envelope")]
    Html,
    /// No body at all.
    #[error("an empty body")]
    Empty,
    /// A media type that is not the SOAP version's.
    #[error("unexpected content type {0:?}")]
    ContentType(String),
    /// A content coding that was not asked for.
    #[error("unexpected content encoding {0:?}")]
    ContentEncoding(String),
    /// More bytes than the client's cap.
    #[error("more than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// Not a readable envelope of the expected shape. Its own words say why, once: a line
    /// of its own here would only repeat them.
    #[error(transparent)]
    Envelope(UnreadableEnvelope),
    /// A well-formed answer whose content contradicts itself or the request.
    #[error("{0}")]
    Inconsistent(String),
    /// An answer that could not be read, described in words that quoted a secret or a card
    /// number from it; those are taken out.
    #[error("{0}")]
    Scrubbed(String),
}

/// What an HTTP error's body says, for its message: `: ` and the text, or nothing for an empty
/// body or markup.
fn said(excerpt: &str) -> String {
    let text = excerpt.trim();
    if text.is_empty() || text.starts_with('<') {
        String::new()
    } else {
        format!(": the answer says {text}")
    }
}

/// An error and its causes on one line, `error: cause: cause…`, each cause said once: a cause
/// whose words its error already quotes is not said again. For whoever prints or logs an
/// error of this house (the command-line tool, the ledger, the gateway).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Every `Result` of the client carries an `Error`: large payloads are boxed so that the
    /// happy path does not move a big value around (it was 112 bytes).
    /// The largest unboxed payloads left are a configuration error's reason beside its cause
    /// and an HTTP error's excerpt: both are built once, off the happy path.
    const SMALL: usize = 40;

    #[test]
    fn errors_are_small() {
        assert!(
            std::mem::size_of::<Error>() <= SMALL,
            "Error is {} bytes",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn display_says_a_thing_once_and_report_adds_only_causes() {
        let error = Error::from(InvalidRequest::new("PrimaryTransactionID", "is required"));
        assert_eq!(
            error.to_string(),
            "invalid request: PrimaryTransactionID: is required"
        );
        assert_eq!(error.report().to_string(), error.to_string());
        let error = Error::malformed(503, AnswerProblem::Html);
        assert_eq!(
            error.report().to_string(),
            "unreadable answer (HTTP 503): an HTML page instead of a SOAP envelope"
        );
    }
}
