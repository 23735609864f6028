//! What the verdict tests share: a payment, answers and faults about it, and the verdicts of a
//! void of it, each reduced to a word.

use crate::TransactionId;
use crate::error::Error;
use crate::soap::{DetailEntry, FaultCode, SoapFault, SoapVersion};

use super::nvp::nvp_error_verdict;
use super::{Evidence, Rule, fault_verdict, verdict};

pub(crate) const ID: &str = "EE52401813A74328AAA7D93319FF4383";
pub(crate) const NS: &str = "urn:service";

pub(crate) fn payment() -> TransactionId {
    TransactionId::new(ID).unwrap()
}

pub(crate) fn answer(status: &str, primary: &str, message: &str) -> Evidence {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    Evidence {
        transaction_status: some(status),
        primary_transaction_status: some(primary),
        response_code: Some("000".to_owned()),
        response_message: some(message),
        primary_transaction_id: Some(ID.to_lowercase()),
        ..Evidence::default()
    }
}

pub(crate) fn kind(error: &Error) -> &'static str {
    match error {
        Error::AlreadyVoided(_) => "already",
        Error::NotVoidable(_) => "late",
        Error::UnknownTransaction(_) => "unknown",
        Error::Declined(_) => "declined",
        Error::Fault(_) => "fault",
        Error::NvpError(_) => "nvp",
        Error::MalformedAnswer { .. } => "malformed",
        other => panic!("{other:?}"),
    }
}

pub(crate) fn fault(code: FaultCode, reason: &str, detail: &[(&str, &str)]) -> Box<SoapFault> {
    let mut fault = SoapFault::new(SoapVersion::Soap12, code, reason);
    fault.detail = detail
        .iter()
        .map(|(name, text)| DetailEntry::new(NS, *name, *text))
        .collect();
    Box::new(fault)
}

/// The verdict on a result of a void of the test's payment.
pub(crate) fn judge(answer: Evidence) -> Result<Evidence, Error> {
    verdict(&payment(), answer, Rule::Void)
}

/// The verdict on a SOAP fault to a void of the test's payment.
pub(crate) fn judge_fault(fault: Box<SoapFault>, namespace: &str) -> Error {
    fault_verdict(&payment(), fault, namespace, Rule::Void)
}

/// An NVP error answer to a void of the test's payment.
pub(crate) fn judge_nvp_error(
    code: Option<String>,
    message: String,
    answer: Evidence,
    status: u16,
) -> Error {
    nvp_error_verdict(&payment(), code, message, answer, status, Rule::Void)
}
