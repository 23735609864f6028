//! The one mapping from a result's statuses to a verdict, and the checks every answer passes
//! first: that it is about this payment.

use crate::domain::{TransactionId, trimmed};
use crate::error::{AnswerProblem, Error, Refusal};

use super::kind::{is, is_refusal_status};
use super::refusal::refusal_error;
use super::{Evidence, Rule};

/// The one mapping from an answer's statuses to a verdict, for a void or a refund of `payment`:
/// the answer itself when it proves success, otherwise the error that says why not. Only `C` +
/// `V` is a void's success; only `D` or `X` is a refusal.
pub(crate) fn verdict(
    payment: &TransactionId,
    answer: Evidence,
    rule: Rule,
) -> Result<Evidence, Error> {
    let inconsistent = |why: String| Error::malformed(200, AnswerProblem::Inconsistent(why));
    if let Some(why) = about_another_payment(
        payment,
        answer.primary_transaction_id.as_deref(),
        answer.transaction_id.as_deref(),
        rule,
    ) {
        return Err(inconsistent(why));
    }
    let status = answer.transaction_status.as_deref().map(trimmed);
    let primary = answer.primary_transaction_status.as_deref().map(trimmed);
    match (status, primary) {
        (Some(s), Some(p)) if rule == Rule::Void && is(s, "C") && is(p, "V") => Ok(answer),
        // A refund is a new transaction: without its ID nobody can find it again, so an answer
        // that omits it cannot be settled from what it says. A payment voided is what a void's
        // answer says, never a refund's: such a "receipt" may describe a void, not money given
        // back.
        (Some(s), p) if rule == Rule::Refund && is(s, "C") => {
            if p.is_some_and(|p| is(p, "V")) {
                Err(inconsistent(
                    "the refund completed but the payment's status is V, as after a void"
                        .to_owned(),
                ))
            } else if answer
                .transaction_id
                .as_deref()
                .is_some_and(|id| !id.trim().is_empty())
            {
                Ok(answer)
            } else {
                Err(inconsistent(
                    "the refund completed but the answer has no TransactionID".to_owned(),
                ))
            }
        }
        (Some(s), p) if is(s, "C") => Err(inconsistent(format!(
            "the void completed but the payment's status is {}, not V",
            p.map_or_else(|| "missing".to_owned(), |p| format!("{p:?}"))
        ))),
        (None, _) => Err(inconsistent(
            "the answer has no TransactionStatus".to_owned(),
        )),
        // Declined or cancelled: InstaMed looked at the request and said no.
        (Some(s), _) if is_refusal_status(s) => {
            let wording = answer.response_message.clone().unwrap_or_default();
            Err(refusal_error(
                Refusal {
                    response_code: answer.response_code,
                    response_message: answer.response_message,
                    transaction_status: answer.transaction_status,
                    primary_transaction_status: answer.primary_transaction_status,
                    fault: None,
                },
                &wording,
                rule,
            ))
        }
        // Empty, or a status this exchange does not get (A, O, S, a code added later): the
        // answer cannot be read as a refusal any more than as a success.
        (Some(s), _) => Err(inconsistent(format!(
            "TransactionStatus {s:?} is not an answer to a {}",
            match rule {
                Rule::Void => "void",
                Rule::Refund => "refund",
            }
        ))),
    }
}

/// Why an answer is not about the exchange `rule` made on `payment`, if it is not, given the
/// `PrimaryTransactionID` (`primary`) and `TransactionID` (`own`) it names. The same rule for
/// every protocol and for results and refusals alike:
/// - `PrimaryTransactionID`, when given, is the payment;
/// - a void keeps the payment's transaction ID (InstaMed's documentation; the SOAP, NVP and
///   REST answers all carry it as `TransactionID`), so a void's `TransactionID`, when given, is
///   the payment too: any other names another transaction;
/// - a refund is a new transaction with an ID of its own, so a refund's `TransactionID` is
///   never the payment's: an answer giving the payment's there describes the payment or a
///   void of it, not a refund.
///
/// A field that is absent says nothing; one that is present and empty names no payment, so it
/// is not this one.
pub(super) fn about_another_payment(
    payment: &TransactionId,
    primary: Option<&str>,
    own: Option<&str>,
    rule: Rule,
) -> Option<String> {
    if let Some(id) = primary.filter(|id| !payment.matches(id)) {
        return Some(format!("the answer is about payment {id:?}, not {payment}"));
    }
    match (rule, own) {
        (Rule::Void, Some(id)) if !payment.matches(id) => Some(format!(
            "the void's TransactionID is {id:?}, not the payment's {payment}"
        )),
        (Rule::Refund, Some(id)) if payment.matches(id) => Some(format!(
            "the refund's TransactionID is the payment's own, {payment}: a refund gets an ID of \
             its own"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::soap::{DetailEntry, FaultCode};
    use crate::verdict::testing::*;

    #[test]
    fn an_answer_about_another_payment_is_never_a_success() {
        let mut other = answer("C", "V", "APPROVED");
        other.primary_transaction_id = Some("0000".to_owned());
        assert!(judge(other).unwrap_err().outcome_unknown());
    }

    #[test]
    fn a_void_answer_names_the_payment_in_transaction_id_too() {
        let mut other = answer("C", "V", "APPROVED");
        other.transaction_id = Some("0000".to_owned());
        let error = judge(other).unwrap_err();
        assert!(error.outcome_unknown(), "{error:?}");
        let mut own = answer("C", "V", "APPROVED");
        own.transaction_id = Some(ID.to_lowercase());
        judge(own).expect("voided");
        // A refusal about another transaction proves nothing either: not a refund trigger.
        let mut late = answer("D", "S", "DECLINED");
        late.transaction_id = Some("0000".to_owned());
        assert_eq!(kind(&judge(late).unwrap_err()), "malformed");
        let mut detail = fault(
            FaultCode::Sender,
            "x",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "S"),
            ],
        );
        detail
            .detail
            .push(DetailEntry::new(NS, "TransactionID", "0000"));
        assert_eq!(kind(&judge_fault(detail, NS)), "malformed");
        let mut pairs = answer("D", "V", "");
        pairs.transaction_id = Some("0000".to_owned());
        let nvp = judge_nvp_error(Some("012".to_owned()), "x".into(), pairs, 200);
        assert_eq!(kind(&nvp), "malformed");
    }
}
