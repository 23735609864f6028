//! What NVP pairs prove: the fields of an answer among them, and an `errorCode` answer judged by
//! its code, its HTTP status and the statuses given beside it.

use crate::domain::TransactionId;
use crate::error::{AnswerProblem, Error, NvpErrorAnswer, Refusal};
use crate::nvp::{NvpAnswer, NvpProblem};

use super::kind::{Refused, is_refusal_status};
use super::refusal::{error_of, kind_of, refusal_error};
use super::statuses::about_another_payment;
use super::{Evidence, Rule};

impl Evidence {
    /// The fields of a void's answer among NVP pairs (keys matched case-blind).
    pub fn from_nvp(answer: &NvpAnswer<'_>) -> Self {
        let get = |key: &str| answer.get(key).map(str::to_owned);
        Self {
            transaction_status: get("transactionStatus"),
            primary_transaction_status: get("primaryTransactionStatus"),
            response_code: get("responseCode"),
            response_message: get("responseMessage"),
            primary_transaction_id: get("primaryTransactionID"),
            transaction_id: get("transactionID"),
            authorization_number: get("authorizationNumber"),
        }
    }
}

/// The statuses of an NVP answer to an exchange about `payment`, or the error its pairs prove
/// (an `errorCode`, judged by `rule`; a result that came with a non-2xx status). Shared by the
/// void and the refund, which differ only in what a success shows.
pub(crate) fn nvp_statuses(
    payment: &TransactionId,
    answer: &NvpAnswer<'_>,
    status: u16,
    rule: Rule,
) -> Result<Result<Evidence, Error>, NvpProblem> {
    let fields = Evidence::from_nvp(answer);
    if let Some(error) = answer.error() {
        let code = error.code.map(str::to_owned);
        let message = error
            .message
            .map_or_else(|| "no errorMessage".to_owned(), str::to_owned);
        return Ok(Err(nvp_error_verdict(
            payment, code, message, fields, status, rule,
        )));
    }
    if fields == Evidence::default() {
        return Err(NvpProblem::NoPairs);
    }
    if !(200..300).contains(&status) {
        return Ok(Err(Error::malformed(
            status,
            AnswerProblem::Inconsistent(format!("an answer came with HTTP {status}")),
        )));
    }
    Ok(Ok(fields))
}

/// What an NVP `errorCode`/`errorMessage` answer to a void or a refund of `payment` proves,
/// judged by `rule`; `answer` holds the transaction fields given beside the error, if any.
pub(super) fn nvp_error_verdict(
    payment: &TransactionId,
    code: Option<String>,
    message: String,
    answer: Evidence,
    status: u16,
    rule: Rule,
) -> Error {
    let inconsistent = |why: String| Error::malformed(status, AnswerProblem::Inconsistent(why));
    if let Some(why) = about_another_payment(
        payment,
        answer.primary_transaction_id.as_deref(),
        answer.transaction_id.as_deref(),
        rule,
    ) {
        return inconsistent(why);
    }
    let refusal = Refusal {
        response_code: answer.response_code.or_else(|| code.clone()),
        response_message: Some(message.clone()),
        transaction_status: answer.transaction_status,
        primary_transaction_status: answer.primary_transaction_status,
        fault: None,
    };
    match refusal.transaction_status.as_deref().map(str::trim) {
        Some(s) if is_refusal_status(s) => refusal_error(refusal, &message, rule),
        Some(s) => inconsistent(format!("an NVP error beside transactionStatus {s:?}")),
        // A request error (the 400s) voided nothing: its payment status, or failing that its
        // wording, may pick which refusal it is (never "not voidable", as for a `Sender`
        // fault). Not when it came with an HTTP 5xx: what failed there may have done the work.
        None if status < 500 && crate::error::is_request_error_code(code.as_deref()) => {
            match kind_of(
                Refused::AsRequest,
                refusal.primary_transaction_status.as_deref(),
                &message,
                rule,
            ) {
                Some(kind) => error_of(kind, refusal),
                None => Error::NvpError(Box::new(NvpErrorAnswer {
                    code,
                    message,
                    status,
                })),
            }
        }
        // A server error or an error without a code: unknown, whatever its words.
        None => Error::NvpError(Box::new(NvpErrorAnswer {
            code,
            message,
            status,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::testing::*;

    #[test]
    fn a_request_error_code_that_came_with_a_server_error_is_unknown() {
        for status in [500, 502, 503] {
            let error = judge_nvp_error(
                Some("400".to_owned()),
                "Transaction cannot be voided: funds transfer initiated.".to_owned(),
                Evidence::default(),
                status,
            );
            assert_eq!(kind(&error), "nvp", "{status}");
            assert!(error.outcome_unknown(), "{status}: {error:?}");
        }
        // With a 200 the same answer is a rejected request, known to have voided nothing; its
        // words alone are no reason to refund.
        let known = judge_nvp_error(
            Some("400".to_owned()),
            "Transaction cannot be voided: funds transfer initiated.".to_owned(),
            Evidence::default(),
            200,
        );
        assert_eq!(kind(&known), "nvp");
        assert!(!known.outcome_unknown(), "{known:?}");
    }

    #[test]
    fn nvp_errors_are_unknown_unless_rejected_or_structured() {
        let nvp = |code: Option<&str>, message: &str, answer: Evidence| {
            judge_nvp_error(code.map(str::to_owned), message.to_owned(), answer, 200)
        };
        let words = "Database timeout while checking whether the transaction was already \
                     voided; no change made";
        let error = nvp(Some("500"), words, Evidence::default());
        assert_eq!(kind(&error), "nvp");
        assert!(error.outcome_unknown());
        for code in [
            None,
            Some("503"),
            Some("012"),
            Some("+400"),
            Some("4000"),
            Some(""),
        ] {
            let error = nvp(
                code,
                "Transaction has already been voided.",
                Evidence::default(),
            );
            assert!(error.outcome_unknown(), "{code:?}: {error:?}");
        }
        let rejected = nvp(Some("400"), "Transaction not found.", Evidence::default());
        assert_eq!(kind(&rejected), "unknown");
        let plain = nvp(
            Some("400"),
            "An unexpected error occurred",
            Evidence::default(),
        );
        assert_eq!(kind(&plain), "nvp");
        assert!(!plain.outcome_unknown());
        let structured = nvp(Some("500"), "x", answer("D", "V", ""));
        assert_eq!(kind(&structured), "already");
    }
}
