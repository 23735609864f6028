//! One error type for every way a void can fail, sorted by what the caller should do next.

use std::fmt;
use std::time::Duration;

use crate::soap::{SoapFault, UnreadableEnvelope};
use crate::transport::BoxError;

/// Everything that can go wrong building a client or voiding a payment.
///
/// The variants answer the caller's real question, *did the void happen?*:
/// - refusals ([`Declined`](Error::Declined), [`NotVoidable`](Error::NotVoidable),
///   [`AlreadyVoided`](Error::AlreadyVoided), [`UnknownTransaction`](Error::UnknownTransaction)),
///   [`Fault`](Error::Fault)s and [`NvpError`](Error::NvpError)s are answers: the void did not
///   happen;
/// - [`InvalidRequest`](Error::InvalidRequest), [`InvalidConfig`](Error::InvalidConfig),
///   [`Connect`](Error::Connect), [`Tls`](Error::Tls) and
///   [`AuthenticationRefused`](Error::AuthenticationRefused) mean nothing was voided;
/// - when [`outcome_unknown`](Error::outcome_unknown) is true the void may have reached InstaMed
///   and no answer was read: reconcile before trying anything else with that payment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused locally, before anything was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] InvalidRequest),
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
    /// InstaMed declined the void for a reason not covered by a more specific variant.
    #[error("InstaMed declined the void: {0}")]
    Declined(Refusal),
    /// The payment can no longer be voided: its funds transfer has begun or it has settled.
    /// A simple refund is the usual way on.
    #[error("the payment can no longer be voided: {0}")]
    NotVoidable(Refusal),
    /// The payment had already been voided.
    #[error("the payment was already voided: {0}")]
    AlreadyVoided(Refusal),
    /// InstaMed does not know the payment.
    #[error("InstaMed does not know the payment: {0}")]
    UnknownTransaction(Refusal),
    /// The service answered with a SOAP fault that is not one of the known refusals.
    #[error("the service answered with a fault: {0}")]
    Fault(Box<SoapFault>),
    /// The NVP interface answered `errorCode`/`errorMessage` that is not one of the known refusals.
    #[error("the service answered with an error: {message}{}", .code.as_ref().map(|c| format!(" (code {c})")).unwrap_or_default())]
    NvpError {
        /// `errorCode`, if given.
        code: Option<String>,
        /// `errorMessage`.
        message: String,
    },
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
    /// An HTTP error status with no SOAP answer in the body.
    #[error("HTTP {status} without a SOAP answer")]
    HttpStatus {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the log.
        body_excerpt: String,
    },
    /// An answer arrived but cannot be read as a result or a fault.
    #[error("unreadable answer (HTTP {status})")]
    MalformedResponse {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        #[source]
        problem: ResponseProblem,
    },
}

impl Error {
    /// True exactly when the void may have reached InstaMed but no answer was read: the request
    /// was (or may have been) sent and the connection failed, the deadline passed, or what came
    /// back cannot be read. Never retry such a void blindly; look the payment up or void again
    /// and treat [`AlreadyVoided`](Error::AlreadyVoided) as proof the first one went through.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout { sent, .. } | Self::Transport { sent, .. } => *sent,
            Self::MalformedResponse { .. } => true,
            // 501 and 503 mean the request was not processed; a gateway's 502/504 or a bare 500
            // may come after the service acted.
            Self::HttpStatus { status, .. } => *status >= 500 && !matches!(status, 501 | 503),
            _ => false,
        }
    }

    /// A short, stable name of the error's kind, for scripts, logs and cassettes:
    /// `invalid_request`, `invalid_config`, `authentication_refused`, `declined`,
    /// `not_voidable`, `already_voided`, `unknown_transaction`, `fault`, `service_error`,
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
            Self::Fault(_) => "fault",
            Self::NvpError { .. } => "service_error",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect_error",
            Self::Tls { .. } => "tls_error",
            Self::Transport { .. } => "transport_error",
            Self::HttpStatus { .. } => "http_status",
            Self::MalformedResponse { .. } => "malformed_response",
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

    /// Whether InstaMed answered and refused the void (any of the four refusal variants).
    pub fn is_refusal(&self) -> bool {
        self.refusal().is_some()
    }

    /// The refusal's details, for the four refusal variants.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Declined(refusal)
            | Self::NotVoidable(refusal)
            | Self::AlreadyVoided(refusal)
            | Self::UnknownTransaction(refusal) => Some(refusal),
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

/// A request field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
#[non_exhaustive]
pub struct InvalidRequest {
    /// The field, by its wire name (`MerchantID`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl InvalidRequest {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
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

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseProblem {
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
    /// Not a readable envelope of the expected shape.
    #[error("not a SOAP answer of the expected shape")]
    Envelope(#[source] UnreadableEnvelope),
    /// A well-formed answer whose content contradicts itself or the request.
    #[error("{0}")]
    Inconsistent(String),
}
