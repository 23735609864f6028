//! The service as the batch engine sees it: void a row, refund it, reconcile it. The engine
//! only ever acts on what these calls prove; [`Client`] implements them by the rules of
//! `docs/outcomes.md`.

use std::future::Future;

use crate::Finding;
#[cfg(doc)]
use crate::Verdict;
use instamed_soap::rest::Amount;
use instamed_soap::{Client, Error, RefundRequest, VoidRequest};

/// The three calls the batch engine makes. Each must judge only on structured evidence: a
/// verdict other than [`Verdict::Unknown`] / [`Verdict::RefundUnknown`] / [`Verdict::Failed`]
/// is a claim about the payment that the engine records as final.
pub trait Settle: Send + Sync + 'static {
    /// Voids the row's payment once: [`Verdict::Voided`], a refusal, [`Verdict::Failed`]
    /// (nothing happened) or [`Verdict::Unknown`].
    fn void(&self, request: &VoidRequest) -> impl Future<Output = Finding> + Send;

    /// Settles a void whose outcome is unknown (an earlier attempt may have gone through):
    /// [`Verdict::Voided`] only on proof that the payment is voided; a refusal only on proof
    /// that it is not ([`Error::proves_not_voided`]: the payment's own status, or a declined
    /// void of a payment the service does not know, [`Verdict::UnknownPayment`]); otherwise
    /// [`Verdict::Unknown`].
    fn reconcile(&self, request: &VoidRequest) -> impl Future<Output = Finding> + Send;

    /// Refunds `amount` of the payment, once: [`Verdict::Refunded`] with the refund's ID,
    /// [`Verdict::RefundRefused`] on evidence that nothing was refunded, [`Verdict::Failed`]
    /// when it never left this machine (safe to send again), otherwise
    /// [`Verdict::RefundUnknown`]. Only called after a known not-voidable refusal.
    fn refund(&self, request: &VoidRequest, amount: Amount)
    -> impl Future<Output = Finding> + Send;
}

impl Settle for Client {
    async fn void(&self, request: &VoidRequest) -> Finding {
        Finding::of_void(&Client::void(self, request).await)
    }

    async fn reconcile(&self, request: &VoidRequest) -> Finding {
        Finding::of_reconciliation(&self.void_reconciled(request).await)
    }

    async fn refund(&self, request: &VoidRequest, amount: Amount) -> Finding {
        refund_with(self, request, amount).await
    }
}

/// The refund arm: a simple refund of `amount` over the client's protocol. The client never
/// resends a refund whose outcome is unknown; neither does the batch.
async fn refund_with(client: &Client, request: &VoidRequest, amount: Amount) -> Finding {
    let refund = RefundRequest::new(request.outlet().clone(), request.payment().clone(), amount)
        .map_err(Error::from);
    let result = match refund {
        Ok(refund) => client.refund(&refund).await,
        Err(error) => Err(error),
    };
    Finding::of_refund(&result)
}
