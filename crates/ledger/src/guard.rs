//! The commands that move money, each consulting the ledger before it sends and recording its
//! verdict after: run twice, the same instruction moves money once.

use instamed_soap::rest::Amount;
use instamed_soap::{
    Client, Error, RefundReceipt, RefundRequest, VoidConfirmation, VoidOrRefund, VoidRequest,
};

use super::finding::Finding;
use super::store::{Action, Entry, Intent, Ledger, LedgerError, Sends, Standing};

/// What a command guarded by the ledger did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Guarded<T> {
    /// The ledger let it send, and recorded its verdict: what the client returned.
    Sent(Result<T, Error>),
    /// Nothing sent: the ledger already holds this instruction's answer (the payment known
    /// voided, the same refund made).
    Known(Box<Entry>),
    /// Nothing sent: a refund of the payment may have been made and nobody knows (its answer
    /// was lost, or it is in flight in another process). Software never sends it again; a
    /// person checks the payment's refunds and records what they found.
    OnHold(Box<Entry>),
    /// Nothing sent: the ledger holds a refund made of the payment, and this instruction is
    /// not that refund. A deliberate further refund names the latest refund it knows of
    /// ([`Ledger::refund`] with `after`).
    AlreadyRefunded(Box<Entry>),
    /// Nothing sent: a void of the payment may have gone through and nobody knows; a refund on
    /// top of it could give the money back twice. Reconcile first ([`Ledger::reconcile`]).
    VoidUnsettled(Box<Entry>),
}

/// Why a command sends nothing: the ledger's answer.
enum Held {
    Known(Box<Entry>),
    OnHold(Box<Entry>),
    AlreadyRefunded(Box<Entry>),
    VoidUnsettled(Box<Entry>),
}

impl Held {
    fn into_guarded<T>(self) -> Guarded<T> {
        match self {
            Self::Known(entry) => Guarded::Known(entry),
            Self::OnHold(entry) => Guarded::OnHold(entry),
            Self::AlreadyRefunded(entry) => Guarded::AlreadyRefunded(entry),
            Self::VoidUnsettled(entry) => Guarded::VoidUnsettled(entry),
        }
    }
}

/// What to do about a void, decided inside the ledger's write transaction.
enum VoidPlan {
    Void,
    /// Reconcile: asked to, or a void of ours left the outcome unknown.
    Reconcile,
    Held(Held),
}

impl Sends for VoidPlan {
    fn sends(&self) -> Option<Action> {
        match self {
            Self::Void | Self::Reconcile => Some(Action::Void),
            Self::Held(_) => None,
        }
    }
}

/// What to do about a refund, decided inside the ledger's write transaction.
enum RefundPlan {
    Refund,
    Held(Held),
}

impl Sends for RefundPlan {
    fn sends(&self) -> Option<Action> {
        match self {
            Self::Refund => Some(Action::Refund),
            Self::Held(_) => None,
        }
    }
}

/// A void: answered from the ledger when the payment is known voided; reconciled first when an
/// earlier void's outcome is unknown (or when asked to).
fn void_plan(standing: &Standing, reconcile: bool) -> VoidPlan {
    if let Some(voided) = standing.voided() {
        VoidPlan::Held(Held::Known(Box::new(voided.clone())))
    } else if reconcile || standing.unsettled_void().is_some() {
        VoidPlan::Reconcile
    } else {
        VoidPlan::Void
    }
}

/// A reconciliation's result as every command reports it. A reconciliation is run because a
/// void may have gone through, so the payment's own status `V` heard on its first attempt is
/// the proof it looks for, exactly as on a later one: the payment is voided, which is what the
/// ledger records ([`Finding::of_reconciliation`]). Leaving it an `AlreadyVoided` refusal would
/// make `reconcile` say "already voided" (exit 4) where `void --reconcile`, whose first answer
/// was lost, says voided (exit 0) about the same payment on the same evidence.
fn reconciled(result: Result<VoidConfirmation, Error>) -> Result<VoidConfirmation, Error> {
    match result {
        Err(Error::AlreadyVoided(refusal)) if refusal.payment_is_voided() => {
            Ok(VoidConfirmation::ConfirmedAlreadyVoided {
                refusal: *refusal,
                attempts: 1,
            })
        }
        other => other,
    }
}

/// A refund of `amount`: never while another may have been made; the same refund once made is
/// its own answer; a further one only when the caller names the latest refund it knows of
/// (`after`), so that running that instruction again finds its own refund and sends nothing.
fn refund_plan(standing: &Standing, amount: &str, after: Option<&str>) -> RefundPlan {
    if let Some(open) = standing.refund_on_hold() {
        return RefundPlan::Held(Held::OnHold(Box::new(open.clone())));
    }
    let made = standing.refunds_made();
    let known = |entry: &Entry| Box::new(entry.clone());
    let names = |entry: &Entry, id: &str| {
        entry
            .refund_id
            .as_deref()
            .is_some_and(|refund| refund.trim().eq_ignore_ascii_case(id.trim()))
    };
    match (made.as_slice(), after) {
        ([], _) => RefundPlan::Refund,
        ([.., last], Some(id)) if names(last, id) => RefundPlan::Refund,
        // The refund named is not the latest: a later one was made after it, by an earlier
        // run of this very instruction when its amount is this one.
        ([.., last], Some(id)) if made.iter().any(|entry| names(entry, id)) => {
            if last.amount.as_deref() == Some(amount) {
                RefundPlan::Held(Held::Known(known(last)))
            } else {
                RefundPlan::Held(Held::AlreadyRefunded(known(last)))
            }
        }
        ([only], None) if only.amount.as_deref() == Some(amount) => {
            RefundPlan::Held(Held::Known(known(only)))
        }
        ([.., last], _) => RefundPlan::Held(Held::AlreadyRefunded(known(last))),
    }
}

impl Ledger {
    /// The commands below, their intents written as asked for by `command` (a service's
    /// client: [`asked_by`](crate::asked_by)) rather than by the ledger's own
    /// [`command`](Ledger::command), so that whoever reads the entry later knows who asked.
    pub fn asked_by(&self, command: impl Into<String>) -> AskedBy<'_> {
        AskedBy {
            ledger: self,
            command: command.into(),
        }
    }

    fn as_itself(&self) -> AskedBy<'_> {
        self.asked_by(self.command())
    }

    /// Voids the payment once, whatever number of times it is asked: a payment the ledger
    /// knows voided is answered from the ledger ([`Guarded::Known`]); when an earlier void's
    /// outcome is unknown, this reconciles ([`Client::void_reconciled`]) before anything else.
    /// The intent is on disk before the request leaves.
    pub async fn void(
        &self,
        client: &Client,
        request: &VoidRequest,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError> {
        self.as_itself().void(client, request).await
    }

    /// Settles a void whose outcome is unknown, as [`Client::void_reconciled`] does, recording
    /// what it proves; a payment the ledger knows voided is answered from the ledger. The
    /// payment's status `V` is the proof sought on whichever attempt it is heard: a first
    /// answer "already voided" with it comes back as
    /// [`VoidConfirmation::ConfirmedAlreadyVoided`], as it does after a lost answer.
    pub async fn reconcile(
        &self,
        client: &Client,
        request: &VoidRequest,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError> {
        self.as_itself().reconcile(client, request).await
    }

    /// As [`void`](Self::void), and answered from the ledger too when `known` finds this
    /// void's answer in what the ledger holds about the payment ([`Guarded::Known`] with the
    /// entry it returns): a service that tells every repeat of a refused void its recorded
    /// refusal reads it in the same transaction as the intent, not in one of its own.
    pub async fn void_unless<K>(
        &self,
        client: &Client,
        request: &VoidRequest,
        known: K,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError>
    where
        K: FnOnce(&Standing) -> Option<Entry> + Send + 'static,
    {
        self.as_itself().void_unless(client, request, known).await
    }

    /// Refunds `request.amount()` once. Sends nothing while a void of the payment may have gone
    /// through ([`Guarded::VoidUnsettled`]) or the ledger holds a refund of the payment that
    /// may have been made ([`Guarded::OnHold`]); answers the same refund, once
    /// made, from the ledger ([`Guarded::Known`]); refuses a different one
    /// ([`Guarded::AlreadyRefunded`]) unless `after` names the latest refund of the payment
    /// (its transaction ID): a further refund is then meant, and once made it is the latest,
    /// so the same call again is answered from the ledger.
    pub async fn refund(
        &self,
        client: &Client,
        request: &RefundRequest,
        after: Option<&str>,
    ) -> Result<Guarded<RefundReceipt>, LedgerError> {
        self.as_itself().refund(client, request, after).await
    }

    /// Voids the payment or, only when InstaMed refuses the void as too late on its statuses
    /// ([`Error::NotVoidable`]), refunds `amount` of it — once, however many times it is run.
    ///
    /// Before sending, the ledger is read: a refund of the payment that may have been made
    /// holds everything ([`Guarded::OnHold`]); the same refund, made, is the answer
    /// ([`Guarded::Known`]); a payment known voided is the answer; an earlier void of unknown
    /// outcome is reconciled before anything else, and a refund follows only if that
    /// reconciliation proves the payment is not voidable.
    pub async fn void_or_refund(
        &self,
        client: &Client,
        request: &VoidRequest,
        amount: Amount,
    ) -> Result<Guarded<VoidOrRefund>, LedgerError> {
        self.as_itself()
            .void_or_refund(client, request, amount)
            .await
    }

    /// Records a verdict. If that fails the request has gone all the same: the failure is
    /// said and the answer still returned; this process writes the verdict before its next
    /// decision ([`Ledger::record`]), and should it end first, the entry stays in flight, which
    /// the next command reconciles (a void) or holds for a person (a refund).
    async fn finish(&self, intent: Option<Intent>, answer: &Finding, action: Action) {
        let Some(Intent { id, after_void }) = intent else {
            return;
        };
        let durable = action == Action::Refund;
        if let Err(error) = self.record(id, answer, durable, after_void).await {
            tracing::warn!(
                entry = id,
                error = %super::chain(&error),
                "the verdict could not be written to the ledger; it is written before this \
                 process's next decision, and the entry stays open until then"
            );
        }
    }
}

/// The money-moving commands of a [`Ledger`], their intents written as asked for by one
/// command ([`Ledger::asked_by`]); each does exactly what the [`Ledger`] method of its name
/// does.
#[derive(Debug)]
pub struct AskedBy<'l> {
    pub(crate) ledger: &'l Ledger,
    pub(crate) command: String,
}

impl AskedBy<'_> {
    /// As [`Ledger::void`].
    pub async fn void(
        &self,
        client: &Client,
        request: &VoidRequest,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError> {
        self.void_as(client, request, false, |_| None).await
    }

    /// As [`Ledger::reconcile`].
    pub async fn reconcile(
        &self,
        client: &Client,
        request: &VoidRequest,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError> {
        self.void_as(client, request, true, |_| None).await
    }

    /// As [`Ledger::void_unless`].
    pub async fn void_unless<K>(
        &self,
        client: &Client,
        request: &VoidRequest,
        known: K,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError>
    where
        K: FnOnce(&Standing) -> Option<Entry> + Send + 'static,
    {
        self.void_as(client, request, false, known).await
    }

    async fn void_as<K>(
        &self,
        client: &Client,
        request: &VoidRequest,
        reconcile: bool,
        known: K,
    ) -> Result<Guarded<VoidConfirmation>, LedgerError>
    where
        K: FnOnce(&Standing) -> Option<Entry> + Send + 'static,
    {
        let (plan, id) = self
            .ledger
            .intend(
                &self.command,
                request.outlet(),
                request.payment(),
                None,
                move |standing| match known(standing) {
                    Some(entry) => VoidPlan::Held(Held::Known(Box::new(entry))),
                    None => void_plan(standing, reconcile),
                },
            )
            .await?;
        let result = match self.send_void(client, request, plan, id).await {
            Ok(result) => result,
            Err(held) => return Ok(held),
        };
        Ok(Guarded::Sent(result))
    }

    /// Sends what `plan` says and records its verdict on entry `id`; a plan that sends
    /// nothing comes back as the ledger's answer.
    async fn send_void<T>(
        &self,
        client: &Client,
        request: &VoidRequest,
        plan: VoidPlan,
        intent: Option<Intent>,
    ) -> Result<Result<VoidConfirmation, Error>, Guarded<T>> {
        let (result, answer) = match plan {
            VoidPlan::Void => {
                let result = client.void(request).await;
                let answer = Finding::of_void(&result);
                (result.map(VoidConfirmation::Voided), answer)
            }
            VoidPlan::Reconcile => {
                let result = reconciled(client.void_reconciled(request).await);
                let answer = Finding::of_reconciliation(&result);
                (result, answer)
            }
            VoidPlan::Held(held) => return Err(held.into_guarded()),
        };
        self.ledger.finish(intent, &answer, Action::Void).await;
        Ok(result)
    }

    /// As [`Ledger::refund`].
    pub async fn refund(
        &self,
        client: &Client,
        request: &RefundRequest,
        after: Option<&str>,
    ) -> Result<Guarded<RefundReceipt>, LedgerError> {
        let amount = request.amount().to_string();
        // Owned: the decision may be taken on another caller's thread (a group commit).
        let (decided, after) = (amount.clone(), after.map(str::to_owned));
        let (plan, id) = self
            .ledger
            .intend(
                &self.command,
                request.outlet(),
                request.payment(),
                Some(&amount),
                move |standing| match standing.unsettled_void() {
                    Some(void) => RefundPlan::Held(Held::VoidUnsettled(Box::new(void.clone()))),
                    None => refund_plan(standing, &decided, after.as_deref()),
                },
            )
            .await?;
        if let RefundPlan::Held(held) = plan {
            return Ok(held.into_guarded());
        }
        let result = client.refund(request).await;
        self.ledger
            .finish(id, &Finding::of_refund(&result), Action::Refund)
            .await;
        Ok(Guarded::Sent(result))
    }

    /// As [`Ledger::void_or_refund`].
    pub async fn void_or_refund(
        &self,
        client: &Client,
        request: &VoidRequest,
        amount: Amount,
    ) -> Result<Guarded<VoidOrRefund>, LedgerError> {
        // Checked first: an amount that could not be refunded must not wait until the void is
        // refused.
        let refund = match RefundRequest::for_void(request, amount) {
            Ok(refund) => refund,
            Err(invalid) => return Ok(Guarded::Sent(Err(invalid.into()))),
        };
        let text = amount.to_string();
        let decided = text.clone();
        let (plan, id) = self
            .ledger
            .intend(
                &self.command,
                request.outlet(),
                request.payment(),
                None,
                move |standing| match refund_plan(standing, &decided, None) {
                    RefundPlan::Refund => void_plan(standing, false),
                    RefundPlan::Held(held) => VoidPlan::Held(held),
                },
            )
            .await?;
        let voided = match self.send_void(client, request, plan, id).await {
            Ok(result) => result,
            Err(held) => return Ok(held),
        };
        let refusal = match voided {
            Ok(VoidConfirmation::Voided(receipt)) => {
                return Ok(Guarded::Sent(Ok(VoidOrRefund::Voided(receipt))));
            }
            Ok(confirmation) => {
                return Ok(Guarded::Sent(Ok(VoidOrRefund::Confirmed(confirmation))));
            }
            Err(Error::NotVoidable(refusal)) => refusal,
            Err(error) => return Ok(Guarded::Sent(Err(error))),
        };
        // Debug: a server's request line says `refunded` already, in its one line a request.
        tracing::debug!(payment = %request.payment(), %amount, refusal = %refusal,
            "the void is too late; refunding instead");
        let decided = text.clone();
        let (plan, id) = self
            .ledger
            .intend(
                &self.command,
                request.outlet(),
                request.payment(),
                Some(&text),
                move |s| refund_plan(s, &decided, None),
            )
            .await?;
        if let RefundPlan::Held(held) = plan {
            return Ok(held.into_guarded());
        }
        let result = client.refund(&refund).await;
        self.ledger
            .finish(id, &Finding::of_refund(&result), Action::Refund)
            .await;
        Ok(Guarded::Sent(result.map(VoidOrRefund::Refunded)))
    }
}
