//! Judging an answer the way InstaMed says to: by transaction status, never by the response code
//! or message, which only give context and vary in production.
//!
//! How the service words a refusal is not documented. The rules that sort refusals into
//! "already voided", "not voidable any more" and "unknown transaction" are all in
//! [`classify`], drawn from the statuses first and from the message text second, so that a
//! decline result, a SOAP fault and an NVP error saying the same thing become the same error.

use crate::Protocol;
use crate::bindings::types::SecondaryCreditCardVoidResponseData;
use crate::error::{Error, Refusal, ResponseProblem};
use crate::soap::SoapFault;

use super::{VoidReceipt, VoidRequest};

/// The parts of a void's answer that decide its outcome, whatever protocol carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VoidAnswer {
    /// `TransactionStatus` of the void.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` of the payment.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode`.
    pub response_code: Option<String>,
    /// `ResponseMessage`.
    pub response_message: Option<String>,
    /// `PrimaryTransactionID`.
    pub primary_transaction_id: Option<String>,
    /// `TransactionID`.
    pub transaction_id: Option<String>,
    /// `AuthorizationNumber`.
    pub authorization_number: Option<String>,
}

impl From<SecondaryCreditCardVoidResponseData> for VoidAnswer {
    fn from(data: SecondaryCreditCardVoidResponseData) -> Self {
        Self {
            transaction_status: data.transaction_status,
            primary_transaction_status: data.primary_transaction_status,
            response_code: data.response_code,
            response_message: data.response_message,
            primary_transaction_id: data.primary_transaction_id,
            transaction_id: data.transaction_id,
            authorization_number: data.authorization_number,
        }
    }
}

/// Turns an answer into a receipt, a refusal, or (when it contradicts itself) an error whose
/// outcome is unknown. Only `C` + `V` is a success.
pub(crate) fn judge(
    request: &VoidRequest,
    answer: VoidAnswer,
    protocol: Protocol,
) -> Result<VoidReceipt, Error> {
    let inconsistent = |why: String| Error::MalformedResponse {
        status: 200,
        problem: ResponseProblem::Inconsistent(why),
    };
    if let Some(id) = &answer.primary_transaction_id
        && !request.payment().matches(id)
    {
        return Err(inconsistent(format!(
            "the answer is about payment {id}, not {}",
            request.payment()
        )));
    }
    let status = answer.transaction_status.as_deref().map(str::trim);
    let primary = answer.primary_transaction_status.as_deref().map(str::trim);
    match (status, primary) {
        (Some(s), Some(p)) if s.eq_ignore_ascii_case("C") && p.eq_ignore_ascii_case("V") => {
            Ok(VoidReceipt {
                payment: request.payment().clone(),
                transaction_status: trimmed(answer.transaction_status),
                primary_transaction_status: trimmed(answer.primary_transaction_status),
                response_code: answer.response_code,
                response_message: answer.response_message,
                transaction_id: answer.transaction_id,
                authorization_number: answer.authorization_number,
                protocol,
            })
        }
        (Some(s), p) if s.eq_ignore_ascii_case("C") => Err(inconsistent(format!(
            "the void completed but the payment's status is {}, not V",
            p.map_or_else(|| "missing".to_owned(), |p| format!("{p:?}"))
        ))),
        (None, _) => Err(inconsistent(
            "the answer has no TransactionStatus".to_owned(),
        )),
        // Declined or cancelled: InstaMed looked at the void and said no.
        (Some(s), _) if ["D", "X"].iter().any(|code| s.eq_ignore_ascii_case(code)) => {
            Err(classify(Refusal {
                response_code: answer.response_code,
                response_message: answer.response_message,
                transaction_status: answer.transaction_status,
                primary_transaction_status: answer.primary_transaction_status,
                fault: None,
            }))
        }
        // Empty, or a status a void does not get (A, O, S, a code added later): the answer
        // cannot be read as a refusal any more than as a success.
        (Some(s), _) => Err(inconsistent(format!(
            "TransactionStatus {s:?} is not an answer to a void"
        ))),
    }
}

/// The status, trimmed, without copying it when there is nothing to trim.
fn trimmed(status: Option<String>) -> String {
    let status = status.unwrap_or_default();
    match status.trim() {
        same if same.len() == status.len() => status,
        shorter => shorter.to_owned(),
    }
}

/// Sorts a fault into a known refusal when it says one; otherwise keeps it a fault.
///
/// Statuses found in the fault's detail (`TransactionStatus=D; PrimaryTransactionStatus=V`) are
/// read as if they had come in a result.
pub(crate) fn refusal_from_fault(fault: Box<SoapFault>) -> Error {
    let detail_value = |name: &str| {
        fault.detail.as_deref().and_then(|detail| {
            detail.split("; ").find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.eq_ignore_ascii_case(name).then(|| value.to_owned())
            })
        })
    };
    let refusal = Refusal {
        response_code: detail_value("ResponseCode"),
        response_message: fault.reason.clone(),
        transaction_status: detail_value("TransactionStatus"),
        primary_transaction_status: detail_value("PrimaryTransactionStatus"),
        fault: None,
    };
    let text = fault.text();
    match kind_of(&refusal, &text) {
        Kind::Declined => Error::Fault(fault),
        // The words may be in the detail only: the kind found here is the one that counts.
        kind => error_of(
            kind,
            Refusal {
                fault: Some(fault),
                ..refusal
            },
        ),
    }
}

/// Sorts an NVP `errorCode`/`errorMessage` answer into a known refusal when its message says
/// one; otherwise it stays an [`Error::NvpError`].
pub(crate) fn refusal_from_nvp_error(code: Option<String>, message: String) -> Error {
    let refusal = Refusal {
        response_code: code.clone(),
        response_message: Some(message.clone()),
        ..Refusal::default()
    };
    match kind_of(&refusal, &message) {
        Kind::Declined => Error::NvpError { code, message },
        kind => error_of(kind, refusal),
    }
}

/// Which refusal an answer is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    AlreadyVoided,
    NotVoidable,
    UnknownTransaction,
    Declined,
}

/// The one place where refusals are told apart.
pub(crate) fn classify(refusal: Refusal) -> Error {
    let text = refusal.response_message.clone().unwrap_or_default();
    error_of(kind_of(&refusal, &text), refusal)
}

fn error_of(kind: Kind, refusal: Refusal) -> Error {
    match kind {
        Kind::AlreadyVoided => Error::AlreadyVoided(refusal),
        Kind::NotVoidable => Error::NotVoidable(refusal),
        Kind::UnknownTransaction => Error::UnknownTransaction(refusal),
        Kind::Declined => Error::Declined(refusal),
    }
}

fn kind_of(refusal: &Refusal, text: &str) -> Kind {
    const ALREADY_VOIDED: &[&str] = &["already void", "already been void", "previously void"];
    const NOT_VOIDABLE: &[&str] = &[
        "funds transfer",
        "transfer of funds",
        "settled",
        "settlement",
        "cannot be voided",
        "can not be voided",
        "not voidable",
        "too late",
        "use refund",
    ];
    const UNKNOWN: &[&str] = &[
        "not found",
        "unknown transaction",
        "invalid transaction",
        "does not exist",
        "no transaction",
        "no such transaction",
    ];
    let text = text.to_ascii_lowercase();
    let says = |phrases: &[&str]| phrases.iter().any(|phrase| text.contains(phrase));
    let primary = refusal.primary_transaction_status.as_deref().map(str::trim);
    let primary_is =
        |codes: &[&str]| primary.is_some_and(|p| codes.iter().any(|c| p.eq_ignore_ascii_case(c)));

    if primary_is(&["V"]) || says(ALREADY_VOIDED) {
        Kind::AlreadyVoided
    } else if primary_is(&["S", "SE"]) || says(NOT_VOIDABLE) {
        Kind::NotVoidable
    } else if says(UNKNOWN) {
        Kind::UnknownTransaction
    } else {
        Kind::Declined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::{FaultCode, SoapVersion};
    use crate::{Outlet, TransactionId};

    const ID: &str = "EE52401813A74328AAA7D93319FF4383";

    fn request() -> VoidRequest {
        VoidRequest::new(
            Outlet::new("1", "2", "3").unwrap(),
            TransactionId::new(ID).unwrap(),
        )
    }

    fn answer(status: &str, primary: &str, message: &str) -> VoidAnswer {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        VoidAnswer {
            transaction_status: some(status),
            primary_transaction_status: some(primary),
            response_code: Some("000".to_owned()),
            response_message: some(message),
            primary_transaction_id: Some(ID.to_lowercase()),
            ..VoidAnswer::default()
        }
    }

    #[test]
    fn only_c_and_v_is_a_success_whatever_the_message() {
        for message in ["APPROVED", "VOIDED", "anything"] {
            let receipt = judge(&request(), answer("C", "V", message), Protocol::Soap11).unwrap();
            assert_eq!(receipt.response_message.as_deref(), Some(message));
        }
        let unconfirmed = judge(&request(), answer("C", "", "APPROVED"), Protocol::Soap11);
        assert!(unconfirmed.unwrap_err().outcome_unknown());
        let no_status = judge(&request(), answer("", "V", "APPROVED"), Protocol::Soap11);
        assert!(no_status.unwrap_err().outcome_unknown());
        for odd in [" ", "P", "A", "Completed"] {
            let error = judge(&request(), answer(odd, "C", "?"), Protocol::Soap11).unwrap_err();
            assert!(error.outcome_unknown(), "{odd:?}: {error:?}");
        }
    }

    #[test]
    fn an_answer_about_another_payment_is_never_a_success() {
        let mut other = answer("C", "V", "APPROVED");
        other.primary_transaction_id = Some("0000".to_owned());
        assert!(
            judge(&request(), other, Protocol::Soap11)
                .unwrap_err()
                .outcome_unknown()
        );
    }

    #[test]
    fn refusals_are_sorted_by_status_then_by_words() {
        let kind = |a: VoidAnswer| match judge(&request(), a, Protocol::Soap11).unwrap_err() {
            Error::AlreadyVoided(_) => "already",
            Error::NotVoidable(_) => "late",
            Error::UnknownTransaction(_) => "unknown",
            Error::Declined(_) => "declined",
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(answer("D", "V", "DECLINED")), "already");
        assert_eq!(
            kind(answer("D", "C", "Transaction already voided")),
            "already"
        );
        assert_eq!(kind(answer("D", "S", "DECLINED")), "late");
        assert_eq!(kind(answer("D", "C", "Funds transfer initiated")), "late");
        assert_eq!(kind(answer("D", "", "Transaction not found")), "unknown");
        assert_eq!(kind(answer("D", "C", "DO NOT HONOR")), "declined");
    }

    #[test]
    fn a_fault_saying_a_known_refusal_becomes_that_refusal() {
        let mut fault = SoapFault::new(SoapVersion::Soap12, FaultCode::Sender, "Void not allowed");
        fault.detail =
            Some("ResponseCode=012; TransactionStatus=D; PrimaryTransactionStatus=S".into());
        match refusal_from_fault(Box::new(fault)) {
            Error::NotVoidable(refusal) => {
                assert_eq!(refusal.response_code.as_deref(), Some("012"));
                assert!(refusal.fault.is_some());
            }
            other => panic!("{other:?}"),
        }
        let plain = SoapFault::new(SoapVersion::Soap11, FaultCode::Receiver, "Object reference");
        assert!(matches!(
            refusal_from_fault(Box::new(plain)),
            Error::Fault(_)
        ));
    }
}
