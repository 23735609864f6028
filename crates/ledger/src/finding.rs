//! What one step proved, as the ledger and the batch journal record it: the one mapping from
//! the client's results to verdicts, shared by every command that moves money.

use instamed_soap::sso::{NothingDone, SsoOutcome};
use instamed_soap::{Error, RefundReceipt, Refusal, VoidConfirmation, VoidReceipt};

use super::verdict::Verdict;

/// What one step (a void, a reconciliation, a refund) proved about a payment, and what was
/// read.
///
/// Its fields are public so that a [`Settle`](crate::batch::Settle) implementation (a test
/// double, say) can build one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finding {
    /// The verdict this answer supports. `None` only for a step that cannot judge.
    pub verdict: Option<Verdict>,
    /// `TransactionStatus` read, if any.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` read, if any.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode` read, if any (context only).
    pub response_code: Option<String>,
    /// A short account of the answer (error code and cleaned message), for the report.
    pub detail: String,
    /// The refund's own transaction ID, when refunded.
    pub refund_id: Option<String>,
    /// Requests sent for this step (a reconciliation may ask more than once).
    pub requests: u32,
}

impl Finding {
    /// An answer that says only `verdict`, after one request.
    pub fn of(verdict: Verdict) -> Self {
        Self {
            verdict: Some(verdict),
            requests: 1,
            ..Self::default()
        }
    }

    /// What a void's result proves.
    pub fn of_void(result: &Result<VoidReceipt, Error>) -> Self {
        match result {
            Ok(receipt) => receipt_answer(receipt, 1),
            Err(error) => error_answer(error, void_verdict(error)),
        }
    }

    /// What a reconciliation's result proves: voided only on proof, a refusal only when the
    /// payment's own status (or InstaMed not knowing it) says nothing was voided, otherwise
    /// still unknown.
    pub fn of_reconciliation(result: &Result<VoidConfirmation, Error>) -> Self {
        match result {
            Ok(confirmation) => confirmation_answer(confirmation),
            // The payment's own status says voided: the earlier attempt (or this one) did it.
            Err(Error::AlreadyVoided(refusal)) if refusal.payment_is_voided() => {
                let mut answer = refusal_answer(refusal, Verdict::Voided);
                answer.detail = "confirmed voided (PrimaryTransactionStatus V)".to_owned();
                answer
            }
            // The payment's status says it is not voided, or there is no such payment (TS D/X,
            // unknown transaction): nothing was voided, and the reconciliation ends as that
            // refusal (`unknown_payment` for the second) instead of waiting for a proof no later
            // answer would ever give.
            Err(error) if error.proves_not_voided() => error_answer(error, void_verdict(error)),
            Err(error) => error_answer(error, Verdict::Unknown),
        }
    }

    /// What a Single Sign-On page came to. Once the page's URL was handed out a person may
    /// have voided there, so only a structured refusal about the payment (already voided,
    /// declined on its status) is a verdict other than voided or nothing done: every other
    /// error (a refused status poll included) leaves the outcome unknown.
    pub fn of_sso_void(result: &Result<SsoOutcome, Error>) -> Self {
        match result {
            Ok(SsoOutcome::Voided(receipt)) => receipt_answer(receipt, 1),
            Ok(SsoOutcome::NothingDone(why)) => {
                let mut answer = Finding::of(Verdict::NothingDone);
                answer.detail = match why {
                    NothingDone::Expired => "nothing done: the token expired",
                    NothingDone::NotVoided => {
                        "nothing done: the payment's record shows it captured, not voided"
                    }
                    _ => "nothing done: the person left the page without voiding",
                }
                .to_owned();
                answer
            }
            Ok(other) => {
                let mut answer = Finding::of(Verdict::Unknown);
                answer.detail = format!("an SSO outcome this build does not know: {other:?}");
                answer
            }
            Err(error) if error.refusal().is_some() => error_answer(error, void_verdict(error)),
            Err(error) => error_answer(error, Verdict::Unknown),
        }
    }

    /// What a refused or failed Single Sign-On launch (the token request) proves: the page's
    /// URL never reached anyone, so nothing can have been voided, whatever the error.
    pub fn of_sso_launch(error: &Error) -> Self {
        error_answer(error, Verdict::Failed)
    }

    /// What a refund's result proves. A refund that never left this machine is `failed`
    /// (sending it again is safe); only an answer from InstaMed makes `refund_refused`;
    /// whatever may hide a refund is `refund_unknown`, never sent again.
    pub fn of_refund(result: &Result<RefundReceipt, Error>) -> Self {
        match result {
            Ok(receipt) => Finding {
                verdict: Some(Verdict::Refunded),
                transaction_status: Some(receipt.transaction_status.clone()),
                primary_transaction_status: None,
                response_code: receipt.response_code.clone(),
                detail: receipt.response_message.clone().unwrap_or_default(),
                refund_id: Some(receipt.refund_id.clone()),
                requests: 1,
            },
            Err(error) => {
                let verdict = if error.outcome_unknown() {
                    Verdict::RefundUnknown
                } else if error.never_sent() || is_local(error) {
                    Verdict::Failed
                } else {
                    Verdict::RefundRefused
                };
                error_answer(error, verdict)
            }
        }
    }
}

/// An error raised before anything was sent: the request or the configuration was refused.
fn is_local(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidRequest(_) | Error::InvalidConfig { .. }
    )
}

fn void_verdict(error: &Error) -> Verdict {
    match error {
        _ if error.outcome_unknown() => Verdict::Unknown,
        Error::AlreadyVoided(_) => Verdict::AlreadyVoided,
        Error::NotVoidable(_) => Verdict::NotVoidable,
        Error::UnknownTransaction(_) => Verdict::UnknownPayment,
        Error::Declined(_) => Verdict::Declined,
        _ => Verdict::Failed,
    }
}

fn receipt_answer(receipt: &VoidReceipt, requests: u32) -> Finding {
    Finding {
        verdict: Some(Verdict::Voided),
        transaction_status: Some(receipt.transaction_status.clone()),
        primary_transaction_status: Some(receipt.primary_transaction_status.clone()),
        response_code: receipt.response_code.clone(),
        detail: receipt.response_message.clone().unwrap_or_default(),
        refund_id: None,
        requests,
    }
}

fn confirmation_answer(confirmation: &VoidConfirmation) -> Finding {
    match confirmation {
        VoidConfirmation::Voided(receipt) => receipt_answer(receipt, 1),
        VoidConfirmation::VoidedOnRetry { receipt, attempts } => receipt_answer(receipt, *attempts),
        VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts } => {
            let mut answer = refusal_answer(refusal, Verdict::Voided);
            answer.detail = "confirmed voided (PrimaryTransactionStatus V)".to_owned();
            answer.requests = *attempts;
            answer
        }
        // Every confirmation proves the payment voided, whatever kind a later client adds.
        other => {
            let mut answer = Finding::of(Verdict::Voided);
            answer.detail = "confirmed voided".to_owned();
            answer.requests = other.attempts();
            answer
        }
    }
}

fn refusal_answer(refusal: &Refusal, verdict: Verdict) -> Finding {
    Finding {
        verdict: Some(verdict),
        transaction_status: refusal.transaction_status.clone(),
        primary_transaction_status: refusal.primary_transaction_status.clone(),
        response_code: refusal.response_code.clone(),
        detail: refusal.response_message.clone().unwrap_or_default(),
        refund_id: None,
        requests: 1,
    }
}

fn error_answer(error: &Error, verdict: Verdict) -> Finding {
    let mut answer = match error.refusal() {
        Some(refusal) => refusal_answer(refusal, verdict),
        None => Finding::of(verdict),
    };
    // The client cleaned its secrets and card numbers out of everything an error says. The
    // verdict already names the outcome: the detail says why, in the error's own words.
    answer.detail = error.report().to_string();
    if error.never_sent() || is_local(error) {
        answer.requests = 0;
    }
    answer
}
