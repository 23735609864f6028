//! What the details of a Single Sign-On void prove, by the same statuses as every other void.
//!
//! After the person leaves InstaMed's void page, `GetTransactionDetails` describes the payment
//! the page was about: a void keeps the payment's transaction ID, so the record the page
//! changed is the payment's own, and its `TransactionStatus` is the payment's status (what a
//! void's answer calls `PrimaryTransactionStatus`). `BasePaymentDetailedResponse` has no field
//! for the page's void apart from that; its `ResponseCode` and `ResponseMessage` give context
//! only, as everywhere. [guess: InstaMed publishes no sample; `docs/sso.md` lists what is
//! known and what is not]
//!
//! - the record must be about this payment (`TransactionID`, `PrimaryTransactionID`), as every
//!   answer must;
//! - `V`: the payment is voided. Words may only pick *which* of the two ways it got so: already
//!   voided before the page when they say so, voided by the page otherwise. Either way no
//!   money moves and nothing is left to do;
//! - `C`: the payment is captured and not voided: nothing done (the person cancelled or
//!   closed the page);
//! - `S`, `SE`: the payment's funds are moving: a known refusal with the payment's status, which
//!   the void's rules sort (declined, the payment not voided; never "not voidable" without a
//!   declined void's `D`);
//! - anything else, or no status at all: the outcome is unknown.

use crate::domain::TransactionId;
use crate::error::{AnswerProblem, Error, Refusal};

use super::kind::{Kind, Refused, is};
use super::refusal::{error_of, kind_of};
use super::statuses::about_another_payment;
use super::{Evidence, Rule};

/// What the details of a token's payment prove, when they prove something and it is no
/// refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PageVerdict {
    /// The payment is voided, and not before the page: the evidence, for the receipt.
    Voided(Evidence),
    /// The payment is captured and not voided: the person did nothing to it.
    NothingDone,
}

/// Judges the record of `payment` that `GetTransactionDetails` gave, read into `record`
/// (`transaction_status` being the payment's status).
pub(crate) fn sso_details(payment: &TransactionId, record: Evidence) -> Result<PageVerdict, Error> {
    let inconsistent = |why: String| Error::malformed(200, AnswerProblem::Inconsistent(why));
    if let Some(why) = about_another_payment(
        payment,
        record.primary_transaction_id.as_deref(),
        record.transaction_id.as_deref(),
        Rule::Void,
    ) {
        return Err(inconsistent(why));
    }
    let status = record
        .transaction_status
        .as_deref()
        .map(str::trim)
        .filter(|status| !status.is_empty());
    let wording = record.response_message.clone().unwrap_or_default();
    let refusal = |status: &str| Refusal {
        response_code: record.response_code.clone(),
        response_message: record.response_message.clone(),
        transaction_status: None,
        primary_transaction_status: Some(status.to_owned()),
        fault: None,
    };
    match status {
        None => Err(inconsistent(
            "the transaction details have no TransactionStatus".to_owned(),
        )),
        Some(s) if is(s, "V") => {
            // With no status of its own for the page's void, the payment's `V` is sorted by
            // the words that can only pick among known outcomes: the payment is voided either
            // way.
            if kind_of(Refused::ByStatus, None, &wording, Rule::Void) == Some(Kind::AlreadyVoided) {
                Err(error_of(Kind::AlreadyVoided, refusal(s)))
            } else {
                Ok(PageVerdict::Voided(Evidence {
                    transaction_status: Some(s.to_owned()),
                    primary_transaction_status: Some(s.to_owned()),
                    ..record
                }))
            }
        }
        Some(s) if is(s, "C") => Ok(PageVerdict::NothingDone),
        Some(s) if is(s, "S") || is(s, "SE") => {
            let kind = kind_of(Refused::AsRequest, Some(s), &wording, Rule::Void);
            Err(error_of(kind.unwrap_or(Kind::Declined), refusal(s)))
        }
        Some(s) => Err(inconsistent(format!(
            "TransactionStatus {s:?} is not the status of a payment a void page left"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::testing::*;

    fn record(status: &str, message: &str) -> Evidence {
        Evidence {
            transaction_status: Some(status.to_owned()),
            response_message: (!message.is_empty()).then(|| message.to_owned()),
            transaction_id: Some(ID.to_owned()),
            ..Evidence::default()
        }
    }

    fn judge_page(record: Evidence) -> Result<PageVerdict, Error> {
        sso_details(&TransactionId::new(ID).unwrap(), record)
    }

    #[test]
    fn the_payments_status_decides_and_words_only_pick_among_voided_outcomes() {
        assert!(matches!(
            judge_page(record("V", "APPROVED")),
            Ok(PageVerdict::Voided(_))
        ));
        assert_eq!(
            kind(&judge_page(record("V", "Transaction already voided")).unwrap_err()),
            "already"
        );
        assert!(matches!(
            judge_page(record("C", "")),
            Ok(PageVerdict::NothingDone)
        ));
        // Words cannot turn a captured payment into a voided one, nor a settled one into a
        // refund trigger.
        assert!(matches!(
            judge_page(record("C", "Transaction already voided")),
            Ok(PageVerdict::NothingDone)
        ));
        let settled = judge_page(record("S", "Void not allowed: funds transfer initiated"));
        match settled.unwrap_err() {
            Error::Declined(refusal) => assert!(refusal.payment_is_not_voided()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn details_without_a_status_or_about_another_payment_leave_the_outcome_unknown() {
        for bad in [record("", "APPROVED"), record("A", ""), record("D", "")] {
            assert!(judge_page(bad).unwrap_err().outcome_unknown());
        }
        let mut other = record("V", "APPROVED");
        other.transaction_id = Some("0000".to_owned());
        assert!(judge_page(other).unwrap_err().outcome_unknown());
    }
}
