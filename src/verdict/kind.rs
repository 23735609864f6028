//! The vocabulary of a refusal, below the rules that use it: which refusal it is, how it was
//! said, and how a status code is compared.

use crate::domain::trimmed;

/// Which refusal a known refusal is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kind {
    AlreadyVoided,
    NotVoidable,
    UnknownTransaction,
    Declined,
    OverRefundable,
    RefundWindowPassed,
}

/// How a known refusal was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// By `TransactionStatus` `D` or `X`: the service declined this very exchange.
    ByStatus,
    /// As a rejected request, without `TransactionStatus` (a `Client`/`Sender` fault, an NVP
    /// error in the 400s): nothing was done, but no exchange was declined either.
    AsRequest,
}

/// Whether a status is `code`, as InstaMed writes it (any case, padded or not).
pub(super) fn is(value: &str, code: &str) -> bool {
    trimmed(value).eq_ignore_ascii_case(code)
}

/// `D` (declined) or `X` (cancelled): InstaMed looked at the void and said no.
pub(super) fn is_refusal_status(status: &str) -> bool {
    is(status, "D") || is(status, "X")
}
