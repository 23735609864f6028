//! The service as the batch engine sees it: void a row, refund it, reconcile it. The engine
//! only ever acts on what these calls prove; [`Client`] implements them by the rules of
//! `docs/outcomes.md`.

use std::future::Future;

use crate::rest::Amount;
use crate::{
    Client, Error, InvalidRequest, RefundRequest, Refusal, VoidConfirmation, VoidReceipt,
    VoidRequest,
};

use super::money::Money;
use super::verdict::Verdict;

/// What one step (a void, a reconciliation, a refund) proved about a row, and what was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The verdict this answer supports. `None` only for a step that cannot judge (never
    /// returned by [`Client`]'s implementation).
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

impl Answer {
    fn of(verdict: Verdict) -> Self {
        Self {
            verdict: Some(verdict),
            requests: 1,
            ..Self::default()
        }
    }
}

/// The three calls the batch engine makes. Each must judge only on structured evidence: a
/// verdict other than [`Verdict::Unknown`] / [`Verdict::RefundUnknown`] / [`Verdict::Failed`]
/// is a claim about the payment that the engine records as final.
pub trait Settle: Send + Sync + 'static {
    /// Voids the row's payment once: [`Verdict::Voided`], a refusal, [`Verdict::Failed`]
    /// (nothing happened) or [`Verdict::Unknown`].
    fn void(&self, request: &VoidRequest) -> impl Future<Output = Answer> + Send;

    /// Settles a void whose outcome is unknown (an earlier attempt may have gone through):
    /// [`Verdict::Voided`] only on proof that the payment is voided; a refusal only on proof
    /// that it is not ([`Error::proves_not_voided`]: the payment's own status, or a declined
    /// void of a payment the service does not know, [`Verdict::UnknownPayment`]); otherwise
    /// [`Verdict::Unknown`].
    fn reconcile(&self, request: &VoidRequest) -> impl Future<Output = Answer> + Send;

    /// Refunds `amount` of the payment, once: [`Verdict::Refunded`] with the refund's ID,
    /// [`Verdict::RefundRefused`] on evidence that nothing was refunded, otherwise
    /// [`Verdict::RefundUnknown`]. Only called after a known not-voidable refusal.
    fn refund(&self, request: &VoidRequest, amount: Money) -> impl Future<Output = Answer> + Send;
}

impl Settle for Client {
    async fn void(&self, request: &VoidRequest) -> Answer {
        match Client::void(self, request).await {
            Ok(receipt) => receipt_answer(&receipt, 1),
            Err(error) => error_answer(&error, void_verdict(&error)),
        }
    }

    async fn reconcile(&self, request: &VoidRequest) -> Answer {
        match self.void_reconciled(request).await {
            Ok(confirmation) => confirmation_answer(&confirmation),
            // The payment's own status says voided: the earlier attempt (or this one) did it.
            Err(Error::AlreadyVoided(refusal)) if refusal.payment_is_voided() => {
                let mut answer = refusal_answer(&refusal, Verdict::Voided);
                answer.detail = "confirmed voided (PrimaryTransactionStatus V)".to_owned();
                answer
            }
            // The payment's status says it is not voided, or there is no such payment (TS D/X,
            // unknown transaction): nothing was voided, and the row ends as that refusal
            // (`unknown_payment` for the second) instead of waiting for a proof no later
            // answer would ever give.
            Err(error) if error.proves_not_voided() => error_answer(&error, void_verdict(&error)),
            Err(error) => error_answer(&error, Verdict::Unknown),
        }
    }

    async fn refund(&self, request: &VoidRequest, amount: Money) -> Answer {
        refund_with(self, request, amount).await
    }
}

/// The refund arm: a simple refund of `amount` over the client's protocol. The client never
/// resends a refund whose outcome is unknown; neither does the batch.
async fn refund_with(client: &Client, request: &VoidRequest, amount: Money) -> Answer {
    let refund = amount
        .to_string()
        .parse::<Amount>()
        .map_err(|error| Error::from(InvalidRequest::new("Amount", error.to_string())))
        .and_then(|amount| {
            RefundRequest::new(request.outlet().clone(), request.payment().clone(), amount)
                .map_err(Error::from)
        });
    let result = match refund {
        Ok(refund) => client.refund(&refund).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(receipt) => Answer {
            verdict: Some(Verdict::Refunded),
            transaction_status: Some(receipt.transaction_status.clone()),
            primary_transaction_status: None,
            response_code: receipt.response_code.clone(),
            detail: receipt.response_message.clone().unwrap_or_default(),
            refund_id: Some(receipt.refund_id.clone()),
            requests: 1,
        },
        Err(error) => {
            // A refund is not idempotent: whatever may hide one is unknown, never retried.
            let verdict = if error.outcome_unknown() {
                Verdict::RefundUnknown
            } else {
                Verdict::RefundRefused
            };
            error_answer(&error, verdict)
        }
    }
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

fn receipt_answer(receipt: &VoidReceipt, requests: u32) -> Answer {
    Answer {
        verdict: Some(Verdict::Voided),
        transaction_status: Some(receipt.transaction_status.clone()),
        primary_transaction_status: Some(receipt.primary_transaction_status.clone()),
        response_code: receipt.response_code.clone(),
        detail: receipt.response_message.clone().unwrap_or_default(),
        refund_id: None,
        requests,
    }
}

fn confirmation_answer(confirmation: &VoidConfirmation) -> Answer {
    match confirmation {
        VoidConfirmation::Voided(receipt) => receipt_answer(receipt, 1),
        VoidConfirmation::VoidedOnRetry { receipt, attempts } => receipt_answer(receipt, *attempts),
        VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts } => {
            let mut answer = refusal_answer(refusal, Verdict::Voided);
            answer.detail = "confirmed voided (PrimaryTransactionStatus V)".to_owned();
            answer.requests = *attempts;
            answer
        }
    }
}

fn refusal_answer(refusal: &Refusal, verdict: Verdict) -> Answer {
    Answer {
        verdict: Some(verdict),
        transaction_status: refusal.transaction_status.clone(),
        primary_transaction_status: refusal.primary_transaction_status.clone(),
        response_code: refusal.response_code.clone(),
        detail: refusal.response_message.clone().unwrap_or_default(),
        refund_id: None,
        requests: 1,
    }
}

fn error_answer(error: &Error, verdict: Verdict) -> Answer {
    let mut answer = match error.refusal() {
        Some(refusal) => refusal_answer(refusal, verdict),
        None => Answer::of(verdict),
    };
    // The client cleaned its secrets and card numbers out of everything an error says.
    answer.detail = format!("{}: {}", error.code(), error.report());
    if error.never_sent() {
        answer.requests = 0;
    }
    answer
}
