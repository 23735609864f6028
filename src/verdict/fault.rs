//! What a SOAP fault proves: the statuses its detail carries in the service namespace, and the
//! fault code when it carries none.

use crate::domain::TransactionId;
use crate::error::{AnswerProblem, Error, Refusal};
use crate::soap::{FaultCode, SoapFault};

use super::Rule;
use super::kind::{Refused, is_refusal_status};
use super::refusal::{error_of, kind_of, refusal_error};
use super::statuses::about_another_payment;

/// The statuses a fault's detail carries in the service namespace, each given at most once.
#[derive(Debug, Default)]
struct DetailStatuses {
    transaction_status: Option<String>,
    primary_transaction_status: Option<String>,
    response_code: Option<String>,
    primary_transaction_id: Option<String>,
    transaction_id: Option<String>,
}

impl DetailStatuses {
    /// Reads the structured fields of `fault`'s detail in `namespace`. A field given twice
    /// with different values says two things, and neither may be believed.
    fn read(fault: &SoapFault, namespace: &str) -> Result<Self, String> {
        let one = |name: &str| -> Result<Option<String>, String> {
            let mut values = fault
                .detail_values(namespace, name)
                .map(str::trim)
                .filter(|value| !value.is_empty());
            let first = values.next();
            if let Some(other) = values.find(|value| Some(*value) != first) {
                return Err(format!(
                    "the fault's detail gives {name} twice: {:?} and {other:?}",
                    first.unwrap_or_default()
                ));
            }
            Ok(first.map(str::to_owned))
        };
        Ok(Self {
            transaction_status: one("TransactionStatus")?,
            primary_transaction_status: one("PrimaryTransactionStatus")?,
            response_code: one("ResponseCode")?,
            primary_transaction_id: one("PrimaryTransactionID")?,
            transaction_id: one("TransactionID")?,
        })
    }
}

/// What a SOAP fault to a void or a refund of `payment` proves.
///
/// `namespace` is the service's (the operation's): structured statuses count only there, so
/// that an unrelated element of the same local name in a stack trace is not evidence.
pub(crate) fn fault_verdict(
    payment: &TransactionId,
    fault: Box<SoapFault>,
    namespace: &str,
    rule: Rule,
) -> Error {
    let status = fault.http_status.unwrap_or(500);
    let inconsistent = |why: String| Error::malformed(status, AnswerProblem::Inconsistent(why));
    let statuses = match DetailStatuses::read(&fault, namespace) {
        Ok(statuses) => statuses,
        Err(why) => return inconsistent(why),
    };
    if let Some(why) = about_another_payment(
        payment,
        statuses.primary_transaction_id.as_deref(),
        statuses.transaction_id.as_deref(),
        rule,
    ) {
        return inconsistent(why);
    }
    let wording = fault.text();
    let refusal = |fault: Box<SoapFault>, statuses: DetailStatuses| Refusal {
        response_code: statuses.response_code,
        response_message: fault.reason.clone(),
        transaction_status: statuses.transaction_status,
        primary_transaction_status: statuses.primary_transaction_status,
        fault: Some(fault),
    };
    match statuses.transaction_status.as_deref() {
        // The service says in its own fields that it declined the void, whoever it blames.
        Some(s) if is_refusal_status(s) => refusal_error(refusal(fault, statuses), &wording, rule),
        // A fault that reports a completed void, or a status a void does not get, is no refusal.
        Some(s) => inconsistent(format!(
            "a {} fault whose detail gives TransactionStatus {s:?}",
            fault.code
        )),
        // The request was rejected as such: it voided nothing. Its payment status, or failing
        // that its wording, may say which refusal it is (never "not voidable": without
        // `TransactionStatus` there is no declined void to refund instead of); otherwise it
        // stays a fault.
        None if fault.code == FaultCode::Sender => match kind_of(
            Refused::AsRequest,
            statuses.primary_transaction_status.as_deref(),
            &wording,
            rule,
        ) {
            Some(kind) => error_of(kind, refusal(fault, statuses)),
            None => Error::Fault(fault),
        },
        // A Server/Receiver fault (or a code outside SOAP's) without structured statuses:
        // ASP.NET wraps an exception thrown after the void was recorded the same way as one
        // thrown before, so it proves nothing either way (`Error::outcome_unknown`).
        None => Error::Fault(fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::DetailEntry;
    use crate::verdict::testing::*;

    #[test]
    fn a_receiver_fault_is_known_only_with_statuses_in_the_service_namespace() {
        let server = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(fault(FaultCode::Receiver, reason, detail), NS)
        };
        for words in [
            "Server was unable to process request. ---> Transaction has already been voided.",
            "Server was unable to process request. ---> Merchant configuration file not found.",
            "Server was unable to process request. ---> Timeout expired while contacting the settlement database.",
        ] {
            let error = server(words, &[]);
            assert_eq!(kind(&error), "fault", "{words}");
            assert!(error.outcome_unknown(), "{words}");
        }
        // A ResponseCode alone is context, not a status.
        assert!(server("x", &[("ResponseCode", "012")]).outcome_unknown());
        let known = server(
            "Server was unable to process request.",
            &[
                ("ResponseCode", "051"),
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
            ],
        );
        assert_eq!(kind(&known), "already");
        assert!(!known.outcome_unknown());
        // The same fields in another namespace are not the service's.
        let mut foreign = fault(FaultCode::Receiver, "x", &[]);
        foreign.detail = vec![DetailEntry::new("urn:other", "TransactionStatus", "D")];
        assert_eq!(kind(&judge_fault(foreign, NS)), "fault");
        // Two different statuses, or another payment's: unreadable, unknown.
        let twice = server(
            "x",
            &[("TransactionStatus", "D"), ("TransactionStatus", "C")],
        );
        assert_eq!(kind(&twice), "malformed");
        let other = server(
            "x",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
                ("PrimaryTransactionID", "0000"),
            ],
        );
        assert_eq!(kind(&other), "malformed");
        let completed = server("x", &[("TransactionStatus", "C")]);
        assert_eq!(kind(&completed), "malformed");
    }

    #[test]
    fn a_sender_fault_voided_nothing_and_its_words_may_pick_the_refusal() {
        let client = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(fault(FaultCode::Sender, reason, detail), NS)
        };
        assert_eq!(
            kind(&client("Transaction has already been voided.", &[])),
            "already"
        );
        assert_eq!(kind(&client("Transaction not found.", &[])), "unknown");
        let plain = client(
            "Server did not recognize the value of HTTP Header SOAPAction",
            &[],
        );
        assert_eq!(kind(&plain), "fault");
        assert!(!plain.outcome_unknown());
    }
}
