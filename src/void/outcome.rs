//! A void's answer, judged: its SOAP, NVP and REST results turned into a [`VoidReceipt`] or the
//! error that says why not. The rules themselves, shared with the refund, are in
//! [`crate::verdict`] (`docs/outcomes.md` gives them one row each).

use crate::Protocol;
use crate::bindings::operations::DoCreditCardSecondaryVoid;
use crate::bindings::types::SecondaryCreditCardVoidResponseData;
use crate::domain::trimmed;
use crate::error::{AnswerProblem, Error};
use crate::nvp::{NvpAnswer, NvpProblem};
use crate::soap::{Operation, SoapFault, SoapVersion};
use crate::verdict::{Evidence, Rule, fault_verdict, nvp_statuses, verdict};

use super::{SoapVoidResponse, VoidReceipt, VoidRequest};

impl From<SecondaryCreditCardVoidResponseData> for Evidence {
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

/// What a SOAP answer to a void proves, given what reading it as the void operation's
/// response gave, its result's evidence (`status` is the answer's HTTP status).
pub(crate) fn judge_soap(
    request: &VoidRequest,
    read: Result<SoapVoidResponse, Error>,
    status: u16,
    version: SoapVersion,
) -> Result<VoidReceipt, Error> {
    let response = match read {
        Ok(response) => response,
        Err(Error::Fault(fault)) => {
            return Err(judge_fault(
                request,
                fault,
                DoCreditCardSecondaryVoid::NAMESPACE,
            ));
        }
        Err(error) => return Err(error),
    };
    let evidence = response.0.ok_or_else(|| {
        Error::malformed(
            status,
            AnswerProblem::Inconsistent(
                "the answer has no DoCreditCardSecondaryVoidResult".to_owned(),
            ),
        )
    })?;
    let protocol = match version {
        SoapVersion::Soap11 => Protocol::Soap11,
        SoapVersion::Soap12 => Protocol::Soap12,
    };
    judge(request, evidence, protocol)
}

/// What the pairs of an NVP answer to a void prove (`status` is the answer's HTTP status).
/// Pairs holding neither an error nor any field of a void's answer are
/// [`NvpProblem::NoPairs`]: the caller tells an error page from garbage.
pub(crate) fn judge_nvp(
    request: &VoidRequest,
    answer: &NvpAnswer<'_>,
    status: u16,
) -> Result<Result<VoidReceipt, Error>, NvpProblem> {
    Ok(nvp_statuses(request.payment(), answer, status, Rule::Void)?
        .and_then(|fields| judge(request, fields, Protocol::Nvp)))
}

/// Turns a result into a receipt, a refusal, or (when it contradicts itself) an error whose
/// outcome is unknown. Only `C` + `V` is a success; only `D` or `X` is a refusal.
pub(crate) fn judge(
    request: &VoidRequest,
    answer: Evidence,
    protocol: Protocol,
) -> Result<VoidReceipt, Error> {
    let answer = verdict(request.payment(), answer, Rule::Void)?;
    Ok(VoidReceipt {
        payment: request.payment().clone(),
        transaction_status: trimmed_status(answer.transaction_status),
        primary_transaction_status: trimmed_status(answer.primary_transaction_status),
        response_code: answer.response_code,
        response_message: answer.response_message,
        transaction_id: answer.transaction_id,
        authorization_number: answer.authorization_number,
        protocol,
    })
}

/// What a SOAP fault to a void proves: see [`fault_verdict`]. `namespace` is the void
/// operation's.
fn judge_fault(request: &VoidRequest, fault: Box<SoapFault>, namespace: &str) -> Error {
    fault_verdict(request.payment(), fault, namespace, Rule::Void)
}

/// The status, trimmed, without copying it when there is nothing to trim.
fn trimmed_status(status: Option<String>) -> String {
    let status = status.unwrap_or_default();
    match trimmed(&status) {
        same if same.len() == status.len() => status,
        shorter => shorter.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outlet;
    use crate::verdict::testing::{answer, payment};

    fn request() -> VoidRequest {
        VoidRequest::new(Outlet::new("1", "2", "3").unwrap(), payment())
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
}
