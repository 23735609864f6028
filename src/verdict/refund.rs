//! How a refund's refusals are told apart.

use super::kind::Kind;
use super::wording::{UNKNOWN, says};

/// Sorts a known refusal of a refund by its wording: no status tells these refusals apart
/// (the payment stays `C` whether the amount is too high or the payment too old).
pub(super) fn refund_kind_of(wording: &str) -> Option<Kind> {
    const OVER: &[&str] = &[
        "exceeds the refundable",
        "exceeds refundable",
        "more than the refundable",
        "amount exceeds",
        "over the refundable",
    ];
    const TOO_OLD: &[&str] = &["refund window", "too old", "older than", "refund period"];
    let text = wording.to_ascii_lowercase();
    if says(&text, OVER) {
        Some(Kind::OverRefundable)
    } else if says(&text, TOO_OLD) {
        Some(Kind::RefundWindowPassed)
    } else if says(&text, UNKNOWN) {
        Some(Kind::UnknownTransaction)
    } else {
        None
    }
}
