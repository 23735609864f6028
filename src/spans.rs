//! The spans a caller's own subscriber sees around each public call of the [`Client`], and
//! the one word each records as its verdict when the call ends.
//!
//! A span names the call (`instamed_soap.void`, `instamed_soap.refund`, …) and carries what
//! identifies it: the payment's transaction ID, the protocol, the operation. Never the card,
//! the credentials, the account ID or a body: a span's fields reach whatever the caller's
//! subscriber writes to.
//!
//! [`Client`]: crate::Client

use tracing::Span;

use crate::error::Error;
use crate::refund::VoidOrRefund;
use crate::void::VoidConfirmation;

/// Records `verdict` on `span`: `success` for an `Ok`, the error's outcome otherwise (the
/// names of `crate::outcome::TABLE`, as every command and the ledger say them).
pub(crate) fn record<T>(
    span: &Span,
    result: &Result<T, Error>,
    success: impl FnOnce(&T) -> &'static str,
) {
    let verdict = match result {
        Ok(value) => success(value),
        Err(error) => error.outcome().name(),
    };
    span.record("verdict", verdict);
}

/// The word for a reconciled void, and how many attempts it took.
pub(crate) fn confirmation(confirmation: &VoidConfirmation) -> &'static str {
    match confirmation {
        VoidConfirmation::Voided(_) => "voided",
        VoidConfirmation::VoidedOnRetry { .. } => "voided_on_retry",
        VoidConfirmation::ConfirmedAlreadyVoided { .. } => "confirmed_already_voided",
    }
}

/// The word for a void that may have become a refund.
pub(crate) fn void_or_refund(outcome: &VoidOrRefund) -> &'static str {
    match outcome {
        VoidOrRefund::Voided(_) => "voided",
        VoidOrRefund::Refunded(_) => "refunded",
        VoidOrRefund::Confirmed(found) => confirmation(found),
    }
}
