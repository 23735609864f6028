//! A known refusal, sorted: which refusal it is, by the rules of the exchange refused.

use crate::error::{Error, Refusal};

use super::Rule;
use super::kind::{Kind, Refused};
use super::refund::refund_kind_of;
use super::void::void_kind_of;

/// The error for a refusal known to be one by its `TransactionStatus` `D`/`X`: declined, unless
/// its statuses or wording say which refusal it is.
pub(super) fn refusal_error(refusal: Refusal, wording: &str, rule: Rule) -> Error {
    let kind = kind_of(
        Refused::ByStatus,
        refusal.primary_transaction_status.as_deref(),
        wording,
        rule,
    );
    error_of(kind.unwrap_or(Kind::Declined), refusal)
}

/// The error that carries `refusal` as the refusal `kind` names.
pub(super) fn error_of(kind: Kind, refusal: Refusal) -> Error {
    match kind {
        Kind::AlreadyVoided => Error::AlreadyVoided(Box::new(refusal)),
        Kind::NotVoidable => Error::NotVoidable(Box::new(refusal)),
        Kind::UnknownTransaction => Error::UnknownTransaction(Box::new(refusal)),
        Kind::Declined => Error::Declined(Box::new(refusal)),
        Kind::OverRefundable => Error::OverRefundable(Box::new(refusal)),
        Kind::RefundWindowPassed => Error::RefundWindowPassed(Box::new(refusal)),
    }
}

/// Sorts a known refusal: by the payment's status first, by the wording only when the status
/// leaves a choice. `None` when nothing names it: a plain refusal. The wording is never asked
/// whether something *is* a refusal.
pub(super) fn kind_of(
    refused: Refused,
    primary: Option<&str>,
    wording: &str,
    rule: Rule,
) -> Option<Kind> {
    match rule {
        Rule::Void => void_kind_of(refused, primary, wording),
        Rule::Refund => refund_kind_of(wording),
    }
}
