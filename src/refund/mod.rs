//! Simple refunds: giving back part or all of a captured payment once it can no longer be
//! voided, and the policy that voids or, only when that is known to be too late, refunds.
//!
//! A refund is judged by the same statuses as a void (`docs/outcomes.md`, "Refunds"): success
//! is `TransactionStatus` `C` with the refund's own `TransactionID` (never the payment's) and
//! the payment not voided (`PrimaryTransactionStatus` `V` is a void's answer); `D` or `X` is a
//! refusal, sorted by its wording into [`Error::OverRefundable`], [`Error::RefundWindowPassed`],
//! [`Error::UnknownTransaction`] or [`Error::Declined`]. Unlike a void, a refund is not
//! idempotent: sending it twice may give the money back twice. So an unknown outcome is never
//! retried: it becomes [`Error::RefundOutcomeUnknown`], which carries what is needed to settle
//! it by hand.

mod request;

pub use request::{RefundReceipt, RefundRequest, VoidOrRefund};

use crate::Protocol;
use crate::bindings::operations::DoCreditCardSimpleRefund;
use crate::bindings::types::{CreditCardCreditResponseData, DoCreditCardSimpleRefundResponse};
use crate::error::{AnswerProblem, Error};
use crate::nvp::{NvpAnswer, NvpProblem};
use crate::soap::Operation;
use crate::verdict::{Evidence, Rule, fault_verdict, nvp_statuses, verdict};

impl From<CreditCardCreditResponseData> for Evidence {
    fn from(data: CreditCardCreditResponseData) -> Self {
        Evidence {
            transaction_status: data.transaction_status,
            response_code: data.response_code,
            response_message: data.response_message,
            primary_transaction_id: data.primary_transaction_id,
            transaction_id: data.transaction_id,
            authorization_number: data.authorization_number,
            ..Evidence::default()
        }
    }
}

/// What the decoded fields of a refund's answer prove: the one mapping shared with the void.
pub(crate) fn judge(
    request: &RefundRequest,
    answer: Evidence,
    protocol: Protocol,
) -> Result<RefundReceipt, Error> {
    let answer = verdict(request.payment(), answer, Rule::Refund)?;
    Ok(RefundReceipt {
        payment: request.payment().clone(),
        amount: request.amount(),
        refund_id: answer
            .transaction_id
            .map(|id| id.trim().to_owned())
            .unwrap_or_default(),
        transaction_status: answer
            .transaction_status
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        primary_transaction_status: answer.primary_transaction_status,
        response_code: answer.response_code,
        response_message: answer.response_message,
        authorization_number: answer.authorization_number,
        protocol,
    })
}

/// What a SOAP answer to a refund proves, given what reading it as the refund operation's
/// response gave.
pub(crate) fn judge_soap(
    request: &RefundRequest,
    read: Result<DoCreditCardSimpleRefundResponse, Error>,
    status: u16,
    protocol: Protocol,
) -> Result<RefundReceipt, Error> {
    let response = match read {
        Ok(response) => response,
        Err(Error::Fault(fault)) => {
            return Err(fault_verdict(
                request.payment(),
                fault,
                DoCreditCardSimpleRefund::NAMESPACE,
                Rule::Refund,
            ));
        }
        Err(error) => return Err(error),
    };
    let data = response
        .do_credit_card_simple_refund_result
        .ok_or_else(|| {
            Error::malformed(
                status,
                AnswerProblem::Inconsistent(
                    "the answer has no DoCreditCardSimpleRefundResult".to_owned(),
                ),
            )
        })?;
    judge(request, data.into(), protocol)
}

/// What the pairs of an NVP answer to a refund prove. Pairs holding neither an error nor any
/// field of an answer are [`NvpProblem::NoPairs`].
pub(crate) fn judge_nvp(
    request: &RefundRequest,
    answer: &NvpAnswer<'_>,
    status: u16,
) -> Result<Result<RefundReceipt, Error>, NvpProblem> {
    Ok(
        nvp_statuses(request.payment(), answer, status, Rule::Refund)?
            .and_then(|fields| judge(request, fields, Protocol::Nvp)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::Amount;
    use crate::{Outlet, TransactionId};

    const ID: &str = "EE52401813A74328AAA7D93319FF4383";

    fn request() -> RefundRequest {
        RefundRequest::new(
            Outlet::new("1", "2", "3").unwrap(),
            TransactionId::new(ID).unwrap(),
            Amount::from_cents(400),
        )
        .unwrap()
    }

    fn answer(status: &str, message: &str, refund_id: Option<&str>) -> Evidence {
        Evidence {
            transaction_status: Some(status.to_owned()),
            primary_transaction_status: Some("C".to_owned()),
            response_message: Some(message.to_owned()),
            primary_transaction_id: Some(ID.to_owned()),
            transaction_id: refund_id.map(str::to_owned),
            ..Evidence::default()
        }
    }

    #[test]
    fn a_completed_refund_needs_its_own_transaction_id() {
        let receipt = judge(
            &request(),
            answer("C", "APPROVED", Some("R1")),
            Protocol::Rest,
        );
        let receipt = receipt.unwrap();
        assert_eq!(receipt.refund_id, "R1");
        assert_eq!(receipt.amount, Amount::from_cents(400));
        let without = judge(&request(), answer("C", "APPROVED", None), Protocol::Rest);
        assert!(without.unwrap_err().outcome_unknown());
    }

    #[test]
    fn a_receipt_naming_the_payment_or_a_voided_payment_is_no_refund() {
        // The payment's own ID, in any case: that is the payment's (or a void's) answer.
        for own in [ID.to_owned(), ID.to_lowercase(), format!(" {ID} ")] {
            let error = judge(
                &request(),
                answer("C", "APPROVED", Some(&own)),
                Protocol::Rest,
            )
            .unwrap_err();
            assert!(error.outcome_unknown(), "{own:?}: {error:?}");
        }
        let mut voided = answer("C", "APPROVED", Some("R1"));
        voided.primary_transaction_status = Some("V".to_owned());
        let error = judge(&request(), voided, Protocol::Nvp).unwrap_err();
        assert!(error.outcome_unknown(), "{error:?}");
        let mut other = answer("C", "APPROVED", Some("R1"));
        other.primary_transaction_id = Some("0000".to_owned());
        let error = judge(&request(), other, Protocol::Soap11).unwrap_err();
        assert!(error.outcome_unknown(), "{error:?}");
        // A refusal naming the payment as its own transaction is not about a refund either.
        let refusal = judge(
            &request(),
            answer("D", "Refund not allowed", Some(ID)),
            Protocol::Nvp,
        );
        assert!(refusal.unwrap_err().outcome_unknown());
        // A refusal of a refund of a voided payment says so in its payment status: known.
        let mut voided = answer("D", "Refund not allowed: transaction voided", None);
        voided.primary_transaction_status = Some("V".to_owned());
        let declined = judge(&request(), voided, Protocol::Rest).unwrap_err();
        assert_eq!(declined.code(), "declined");
    }

    #[test]
    fn refusals_are_sorted_by_their_wording_only_once_statuses_made_them_refusals() {
        let of = |status: &str, message: &str| {
            judge(&request(), answer(status, message, None), Protocol::Nvp)
                .unwrap_err()
                .code()
        };
        let over = "Invalid request: Amount exceeds the refundable amount";
        assert_eq!(of("D", over), "over_refundable");
        let old = "Refund not allowed: transaction older than the refund window";
        assert_eq!(of("D", old), "refund_window_passed");
        assert_eq!(of("D", "Transaction not found"), "unknown_transaction");
        assert_eq!(of("X", "Refund not allowed"), "declined");
        // The same words without a refusal status prove nothing.
        assert_eq!(of("A", over), "malformed_response");
    }
}
