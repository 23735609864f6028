//! Voids and refunds through the ledger, once per payment however many ERP requests ask.
//!
//! Requests about one payment take turns (a lock per payment, held while the ledger decides
//! and the request is out), so an ERP's parallel retries find the first one's answer in the
//! ledger and send nothing. The ledger's decisions and verdicts are committed by its own
//! thread (awaited, never blocking a runtime worker); its rare reads (a payment's standing,
//! readiness, the open entries at start) run on blocking threads.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instamed_soap::rest::Amount;
use instamed_soap::sso::{NothingDone, SsoClient, SsoOutcome, SsoVoid};
use instamed_soap::{
    Client, Error, Outlet, RefundReceipt, RefundRequest, Refusal, TransactionId, VoidConfirmation,
    VoidOrRefund, VoidRequest,
};
use instamed_soap_ledger::{Action, Entry, Guarded, Ledger, SsoLaunched, Standing, Verdict};

use instamed_soap::outcome::Outcome;

use crate::metrics::Metrics;

/// How many lost voids a start takes from a ledger that replicas share: the rest are the
/// other replicas', or the next request's about each payment.
const SWEPT: u32 = 1024;

/// How many rounds of reconciliation a background task runs (each one the client's own
/// attempts with back-off) before leaving the void open for the ERP's next request.
const RECONCILE_ROUNDS: u32 = 5;

/// What InstaMed's answer said about a payment, as the ERP is told it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Statuses {
    pub transaction_status: Option<String>,
    pub primary_transaction_status: Option<String>,
    pub response_code: Option<String>,
    pub response_message: Option<String>,
    /// The payment's ID for a void; the refund's own for a refund.
    pub transaction_id: Option<String>,
    pub authorization_number: Option<String>,
}

/// What became of a void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VoidAnswer {
    /// The payment is voided (by this request, an earlier one, or proved by reconciliation).
    Voided(Statuses),
    /// InstaMed refused it, on statuses about this payment (already voided before, not
    /// voidable, unknown payment, declined): recorded, and the answer to every repeat.
    Refused(Verdict, Statuses),
    /// Nobody knows yet: a void may have gone through. Reconciling in the background.
    Unknown,
    /// Nothing reached InstaMed: safe to ask again.
    NotSent(String),
    /// InstaMed rejected the request as such: it will fail again as it is.
    Rejected(String),
    /// InstaMed refused the gateway's own credentials: an operator's matter, not the ERP's.
    CredentialsRefused,
    /// The ledger cannot be read or written: nothing was sent.
    Ledger(String),
}

/// What a Single Sign-On page came to: a void's answer, or nothing done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SsoAnswer {
    /// As a void's.
    Void(VoidAnswer),
    /// The person did not void (the token expired, or they cancelled): why, in words.
    NothingDone(&'static str),
}

/// What became of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefundAnswer {
    /// Refunded, by this request or (the same amount) an earlier one.
    Refunded(Statuses),
    /// InstaMed refused it on statuses (`over_refundable`, `refund_window_passed`,
    /// `declined`): nothing was refunded.
    Refused(Outcome, Statuses),
    /// A refund of the payment may have been made and nobody knows: never sent again by
    /// software; a person settles it (`instamed-soap ledger settle`).
    OnHold { entry: Option<i64> },
    /// A refund of another amount was made: nothing sent.
    AlreadyRefunded {
        entry: i64,
        refund_id: Option<String>,
    },
    /// A void of the payment may have gone through: reconciling it first.
    VoidUnsettled,
    /// Nothing reached InstaMed: safe to ask again.
    NotSent(String),
    /// InstaMed rejected the request as such.
    Rejected(String),
    /// InstaMed refused the gateway's own credentials.
    CredentialsRefused,
    /// The ledger cannot be read or written: nothing was sent.
    Ledger(String),
}

impl VoidAnswer {
    /// Its name in the house's one vocabulary ([`instamed_soap::outcome`]), and for `failed`
    /// the gateway's finer reason (`not_sent`, `rejected`, `authentication_refused`,
    /// `ledger_unavailable`).
    pub(crate) fn named(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Voided(_) => (Outcome::Voided.name(), None),
            Self::Refused(verdict, _) => (
                Outcome::from_name(verdict.as_str())
                    .map_or(Outcome::Declined.name(), Outcome::name),
                None,
            ),
            Self::Unknown => (Outcome::OutcomeUnknown.name(), None),
            Self::NotSent(_) => (Outcome::Failed.name(), Some("not_sent")),
            Self::Rejected(_) => (Outcome::Failed.name(), Some("rejected")),
            Self::CredentialsRefused => (Outcome::Failed.name(), Some("authentication_refused")),
            Self::Ledger(_) => (Outcome::Failed.name(), Some("ledger_unavailable")),
        }
    }
}

impl RefundAnswer {
    /// As [`VoidAnswer::named`]; a refund held for a void being reconciled is
    /// `outcome_unknown` for the reason `void_unsettled`.
    pub(crate) fn named(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Refunded(_) => (Outcome::Refunded.name(), None),
            Self::Refused(outcome, _) => (outcome.name(), None),
            Self::OnHold { .. } => (Outcome::RefundUnknown.name(), None),
            Self::AlreadyRefunded { .. } => (Outcome::AlreadyRefunded.name(), None),
            Self::VoidUnsettled => (Outcome::OutcomeUnknown.name(), Some("void_unsettled")),
            Self::NotSent(_) => (Outcome::Failed.name(), Some("not_sent")),
            Self::Rejected(_) => (Outcome::Failed.name(), Some("rejected")),
            Self::CredentialsRefused => (Outcome::Failed.name(), Some("authentication_refused")),
            Self::Ledger(_) => (Outcome::Failed.name(), Some("ledger_unavailable")),
        }
    }
}

/// What became of a void-or-refund: the void's answer, or the refund's after a known
/// not-voidable refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrRefundAnswer {
    Void(VoidAnswer),
    Refund(RefundAnswer),
}

/// The money-moving half of the gateway.
pub(crate) struct Money {
    metrics: Arc<Metrics>,
    ledger: Arc<Ledger>,
    client: Client,
    retry_after: Duration,
    /// One lock per payment with a request in the gateway; removed when the last one leaves.
    payments: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Payments whose void a background task is reconciling.
    reconciling: Mutex<HashSet<String>>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    /// When this gateway started, to the millisecond the ledger keeps.
    started: std::time::SystemTime,
}

impl std::fmt::Debug for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Money").finish_non_exhaustive()
    }
}

impl Money {
    pub(crate) fn new(
        ledger: Ledger,
        client: Client,
        retry_after: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            metrics,
            ledger: Arc::new(ledger),
            client,
            retry_after,
            payments: Mutex::new(HashMap::new()),
            reconciling: Mutex::new(HashSet::new()),
            tasks: Mutex::new(tokio::task::JoinSet::new()),
            started: whole_milliseconds(std::time::SystemTime::now()),
        }
    }

    /// The command the ledger writes an ERP client's intents under: the gateway's own, the
    /// face it came in by (`soap`, `nvp`, `api`) and the client's name, so that a person reading
    /// an entry knows who asked ([`instamed_soap_ledger::asked_by`]).
    pub(crate) fn asker(&self, via: &str, client: &str) -> String {
        instamed_soap_ledger::asked_by(self.ledger.command(), via, client)
    }

    /// The ledger, for the operator pages.
    pub(crate) fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub(crate) fn retry_after(&self) -> Duration {
        self.retry_after
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the ledger can be written now (`/ready`), asked on a blocking thread. First the
    /// verdicts it could not write while it could not ([`Ledger::write_owed_verdicts`]): a
    /// load balancer's probes settle them on a replica that gets no requests.
    pub(crate) async fn ledger_writable(&self) -> bool {
        self.ledger.write_owed_verdicts().await;
        let ledger = self.ledger.clone();
        matches!(
            off_runtime(move || ledger.check_writable()).await,
            Some(Ok(()))
        )
    }

    /// Voids `request`'s payment once, to the end even if the ERP hangs up meanwhile
    /// ([`to_the_end`]).
    pub(crate) async fn void(self: &Arc<Self>, request: VoidRequest, asker: String) -> VoidAnswer {
        let (money, asked) = (self.clone(), request.clone());
        match to_the_end(async move { money.void_here(asked, asker).await }).await {
            Some(answer) => answer,
            // It died with the intent perhaps written and the void perhaps out.
            None => {
                self.reconcile_later(request);
                VoidAnswer::Unknown
            }
        }
    }

    async fn void_here(self: &Arc<Self>, request: VoidRequest, asker: String) -> VoidAnswer {
        let key = key(request.payment());
        if self.is_reconciling(&key) {
            return VoidAnswer::Unknown;
        }
        let turn = self.turn(&key);
        let answer = {
            let _held = turn.lock().await;
            // The request before this one may have left the void to a reconciliation.
            if self.is_reconciling(&key) {
                VoidAnswer::Unknown
            } else {
                self.void_in_turn(request, asker).await
            }
        };
        self.leave(&key, turn);
        answer
    }

    async fn void_in_turn(self: &Arc<Self>, request: VoidRequest, asker: String) -> VoidAnswer {
        let started = Instant::now();
        // A recorded refusal is the answer, read in the intent's own transaction.
        let outlet = request.outlet().clone();
        let result = self
            .ledger
            .asked_by(asker)
            .void_unless(&self.client, &request, move |standing| {
                recorded_refusal(standing, &outlet).cloned()
            })
            .await;
        if let Ok(Guarded::Sent(_)) = &result {
            self.metrics.upstream("void", started.elapsed());
        }
        let guarded = match result {
            Ok(guarded) => guarded,
            Err(error) => return VoidAnswer::Ledger(chain(&error)),
        };
        match guarded {
            Guarded::Known(entry) => known(&entry),
            Guarded::Sent(Ok(confirmation)) => VoidAnswer::Voided(confirmed(&confirmation)),
            Guarded::Sent(Err(error)) => self.void_failed(request, &error),
            // A void is never held by the refund rules; whatever else comes is no proof.
            _ => {
                self.reconcile_later(request);
                VoidAnswer::Unknown
            }
        }
    }

    fn void_failed(self: &Arc<Self>, request: VoidRequest, error: &Error) -> VoidAnswer {
        if error.outcome_unknown() {
            self.reconcile_later(request);
            return VoidAnswer::Unknown;
        }
        if let Some(refusal) = error.refusal() {
            return void_refused(error, refusal, request.payment());
        }
        if error.never_sent() {
            VoidAnswer::NotSent(chain(error))
        } else if matches!(error, Error::AuthenticationRefused { .. }) {
            VoidAnswer::CredentialsRefused
        } else {
            VoidAnswer::Rejected(chain(error))
        }
    }

    /// Refunds `request.amount()` of its payment once, to the end even if the ERP hangs up
    /// meanwhile ([`to_the_end`]).
    pub(crate) async fn refund(
        self: &Arc<Self>,
        request: RefundRequest,
        asker: String,
    ) -> RefundAnswer {
        let money = self.clone();
        to_the_end(async move { money.refund_here(request, asker).await })
            .await
            // The refund may be out: the ledger holds it for a person.
            .unwrap_or(RefundAnswer::OnHold { entry: None })
    }

    async fn refund_here(self: &Arc<Self>, request: RefundRequest, asker: String) -> RefundAnswer {
        let key = key(request.payment());
        // A void of the payment being reconciled holds every refund until it is settled.
        if self.is_reconciling(&key) {
            return RefundAnswer::VoidUnsettled;
        }
        let turn = self.turn(&key);
        let answer = {
            let _held = turn.lock().await;
            self.refund_in_turn(request, asker).await
        };
        self.leave(&key, turn);
        answer
    }

    async fn refund_in_turn(
        self: &Arc<Self>,
        request: RefundRequest,
        asker: String,
    ) -> RefundAnswer {
        let started = Instant::now();
        let result = self
            .ledger
            .asked_by(asker)
            .refund(&self.client, &request, None)
            .await;
        if let Ok(Guarded::Sent(_)) = &result {
            self.metrics.upstream("refund", started.elapsed());
        }
        let guarded = match result {
            Ok(guarded) => guarded,
            Err(error) => return RefundAnswer::Ledger(chain(&error)),
        };
        match guarded {
            Guarded::Known(entry) => RefundAnswer::Refunded(made_statuses(&entry)),
            Guarded::OnHold(entry) => RefundAnswer::OnHold {
                entry: Some(entry.id),
            },
            Guarded::AlreadyRefunded(entry) => RefundAnswer::AlreadyRefunded {
                entry: entry.id,
                refund_id: entry.refund_id.clone(),
            },
            Guarded::VoidUnsettled(open) => {
                // A page a person may still void or cancel on is theirs to settle: a SOAP void
                // sent to "reconcile" it would void the whole payment on a guess.
                if !open.is_sso_void() {
                    let void =
                        VoidRequest::new(request.outlet().clone(), request.payment().clone());
                    self.reconcile_later(void);
                }
                RefundAnswer::VoidUnsettled
            }
            Guarded::Sent(Ok(receipt)) => RefundAnswer::Refunded(refunded(&receipt)),
            Guarded::Sent(Err(error)) => refund_failed(&error, &request),
            _ => RefundAnswer::OnHold { entry: None },
        }
    }

    /// Voids `request`'s payment or, only when InstaMed refuses the void as too late on its
    /// statuses, refunds `amount` of it: once, however often asked ([`Ledger::void_or_refund`]).
    pub(crate) async fn void_or_refund(
        self: &Arc<Self>,
        request: VoidRequest,
        amount: Amount,
        asker: String,
    ) -> OrRefundAnswer {
        let money = self.clone();
        to_the_end(async move { money.void_or_refund_here(request, amount, asker).await })
            .await
            // A refund may be out: the ledger holds it for a person, and a void is reconciled
            // by the next request.
            .unwrap_or(OrRefundAnswer::Refund(RefundAnswer::OnHold { entry: None }))
    }

    async fn void_or_refund_here(
        self: &Arc<Self>,
        request: VoidRequest,
        amount: Amount,
        asker: String,
    ) -> OrRefundAnswer {
        let key = key(request.payment());
        if self.is_reconciling(&key) {
            return OrRefundAnswer::Void(VoidAnswer::Unknown);
        }
        let turn = self.turn(&key);
        let answer = {
            let _held = turn.lock().await;
            if self.is_reconciling(&key) {
                OrRefundAnswer::Void(VoidAnswer::Unknown)
            } else {
                self.void_or_refund_in_turn(request, amount, asker).await
            }
        };
        self.leave(&key, turn);
        answer
    }

    async fn void_or_refund_in_turn(
        self: &Arc<Self>,
        request: VoidRequest,
        amount: Amount,
        asker: String,
    ) -> OrRefundAnswer {
        let started = Instant::now();
        let result = self
            .ledger
            .asked_by(asker)
            .void_or_refund(&self.client, &request, amount)
            .await;
        if let Ok(Guarded::Sent(_)) = &result {
            self.metrics.upstream("void_or_refund", started.elapsed());
        }
        let guarded = match result {
            Ok(guarded) => guarded,
            Err(error) => return OrRefundAnswer::Void(VoidAnswer::Ledger(chain(&error))),
        };
        match guarded {
            Guarded::Sent(Ok(VoidOrRefund::Voided(receipt))) => OrRefundAnswer::Void(
                VoidAnswer::Voided(confirmed(&VoidConfirmation::Voided(receipt))),
            ),
            Guarded::Sent(Ok(VoidOrRefund::Confirmed(confirmation))) => {
                OrRefundAnswer::Void(VoidAnswer::Voided(confirmed(&confirmation)))
            }
            Guarded::Sent(Ok(VoidOrRefund::Refunded(receipt))) => {
                OrRefundAnswer::Refund(RefundAnswer::Refunded(refunded(&receipt)))
            }
            Guarded::Sent(Ok(_)) => OrRefundAnswer::Void(VoidAnswer::Unknown),
            Guarded::Sent(Err(error)) => match &error {
                Error::RefundOutcomeUnknown(_) => {
                    OrRefundAnswer::Refund(RefundAnswer::OnHold { entry: None })
                }
                Error::OverRefundable(_) | Error::RefundWindowPassed(_) => {
                    let refund = RefundRequest::for_void(&request, amount);
                    match refund {
                        Ok(refund) => OrRefundAnswer::Refund(refund_failed(&error, &refund)),
                        Err(invalid) => {
                            OrRefundAnswer::Refund(RefundAnswer::Rejected(invalid.to_string()))
                        }
                    }
                }
                _ => OrRefundAnswer::Void(self.void_failed(request, &error)),
            },
            Guarded::Known(entry) if entry.action == Action::Refund => {
                OrRefundAnswer::Refund(RefundAnswer::Refunded(made_statuses(&entry)))
            }
            Guarded::Known(entry) => match entry.verdict {
                Some(Verdict::AlreadyVoided) => OrRefundAnswer::Void(VoidAnswer::Refused(
                    Verdict::AlreadyVoided,
                    statuses_of(&entry),
                )),
                _ => OrRefundAnswer::Void(VoidAnswer::Voided(voided_statuses(&entry))),
            },
            Guarded::OnHold(entry) => OrRefundAnswer::Refund(RefundAnswer::OnHold {
                entry: Some(entry.id),
            }),
            Guarded::AlreadyRefunded(entry) => {
                OrRefundAnswer::Refund(RefundAnswer::AlreadyRefunded {
                    entry: entry.id,
                    refund_id: entry.refund_id.clone(),
                })
            }
            Guarded::VoidUnsettled(_) => {
                self.reconcile_later(request);
                OrRefundAnswer::Refund(RefundAnswer::VoidUnsettled)
            }
            _ => OrRefundAnswer::Void(VoidAnswer::Unknown),
        }
    }

    /// Everything the ledger holds about `payment`, read on a blocking thread.
    pub(crate) async fn standing(&self, payment: TransactionId) -> Result<Standing, String> {
        let ledger = self.ledger.clone();
        match off_runtime(move || ledger.standing(&payment)).await {
            Some(Ok(standing)) => Ok(standing),
            Some(Err(error)) => Err(chain(&error)),
            None => Err("the ledger's thread failed".to_owned()),
        }
    }

    /// Reconciles `request`'s void in the background, once at a time per payment; meanwhile
    /// every request about the payment is told the outcome is open.
    fn reconcile_later(self: &Arc<Self>, request: VoidRequest) {
        let key = key(request.payment());
        if !self
            .reconciling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let money = self.clone();
        let task = async move {
            let turn = money.turn(&key);
            {
                let _held = turn.lock().await;
                for round in 0..RECONCILE_ROUNDS {
                    tokio::time::sleep(money.retry_after / 2).await;
                    money.metrics.reconcile_attempt();
                    let started = Instant::now();
                    let result = money.ledger.reconcile(&money.client, &request).await;
                    if let Ok(Guarded::Sent(_)) = &result {
                        money.metrics.upstream("reconcile", started.elapsed());
                    }
                    let settled = match &result {
                        Ok(Guarded::Sent(Err(error))) => {
                            !(error.outcome_unknown() || error.never_sent())
                        }
                        Ok(_) => true,
                        Err(_) => false,
                    };
                    // The void's own span writes no line in a server: this one says what came,
                    // in the words an ERP's answer would be named by.
                    let verdict = match &result {
                        Ok(Guarded::Sent(Ok(_))) => Outcome::Voided.name(),
                        Ok(Guarded::Sent(Err(error))) => error.outcome().name(),
                        Ok(Guarded::Known(entry)) => known(entry).named().0,
                        Ok(_) => Outcome::OutcomeUnknown.name(),
                        Err(_) => "ledger_unavailable",
                    };
                    tracing::info!(
                        payment = %request.payment(),
                        round,
                        settled,
                        verdict,
                        "reconciling a void of unknown outcome"
                    );
                    if settled {
                        break;
                    }
                }
            }
            money
                .reconciling
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            money.leave(&key, turn);
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Finished tasks are let go of here, so the set does not grow with the payments.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Reconciles, in the background, every void the ledger holds open from before this start:
    /// answered with an unknown outcome, or still `sent` by a process that has ended (a gateway
    /// killed with its requests out). Its outlet comes from the entry; its card-present status
    /// is the default, as the entry does not keep it. On a ledger that replicas share, the
    /// lost voids are claimed as they are taken, so replicas starting together share them out;
    /// and the sweep comes round again once every `lease` for as long as the gateway runs:
    /// a replica that died and never came back, or a verdict the database lost in a crash
    /// (a void's is committed without waiting for the flush), leaves a void no request may
    /// ever ask about again, and the live replicas settle it.
    pub(crate) fn sweep(self: &Arc<Self>, lease: Duration) {
        let money = self.clone();
        let sweep = async move {
            if Ledger::is_database_url(money.ledger.path()) {
                loop {
                    let ledger = money.ledger.clone();
                    match off_runtime(move || ledger.claim_lost_voids(SWEPT)).await {
                        Some(Ok(lost)) => {
                            for entry in lost {
                                money.reconcile_entry(&entry);
                            }
                        }
                        _ => tracing::warn!("the ledger's lost voids could not be read"),
                    }
                    tokio::time::sleep(lease).await;
                }
            }
            let ledger = money.ledger.clone();
            let open = match off_runtime(move || ledger.open_entries()).await {
                Some(Ok(open)) => open,
                _ => {
                    tracing::warn!("the ledger's open entries could not be read at start");
                    return;
                }
            };
            for entry in open {
                let lost = match entry.verdict {
                    None => entry.process_ended() || money.left_by_predecessor(&entry),
                    Some(verdict) => verdict == Verdict::Unknown,
                };
                if entry.action != Action::Void || !lost {
                    continue;
                }
                money.reconcile_entry(&entry);
            }
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.spawn(sweep);
    }

    /// Reconciles the void of `entry` in the background ([`Self::reconcile_later`]).
    fn reconcile_entry(self: &Arc<Self>, entry: &Entry) {
        match (entry.outlet.clone(), TransactionId::new(&entry.payment)) {
            (Some(outlet), Ok(payment)) => self.reconcile_later(VoidRequest::new(outlet, payment)),
            // An entry an older version wrote (no outlet, or a card number as its payment)
            // cannot be asked about again: a person settles it (`ledger settle`).
            _ => tracing::warn!(
                entry = entry.id,
                "a void of unknown outcome cannot be reconciled: its entry names no outlet or \
                 no valid payment ID; settle it by hand"
            ),
        }
    }

    /// Whether `entry`, still `sent`, was left by an earlier gateway of this very process (one
    /// embedded, stopped and started again): the ledger tells a predecessor *process* with this
    /// ID (a container's process 1) by when this process began, not by when this gateway did.
    /// A gateway's intent written before this one started is its predecessor's.
    fn left_by_predecessor(&self, entry: &Entry) -> bool {
        let ours = self.ledger.command();
        entry.pid == std::process::id()
            && (entry.command == ours
                || entry
                    .command
                    .strip_prefix(ours)
                    .is_some_and(|rest| rest.starts_with(' ')))
            && entry.started < self.started
    }

    /// How many payments are being reconciled now.
    pub(crate) fn open_outcomes(&self) -> usize {
        self.reconciling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Stops the background reconciliations: a void they leave open stays open in the ledger,
    /// and the next request about its payment (or the next start) reconciles it.
    pub(crate) async fn stop(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    fn is_reconciling(&self, key: &str) -> bool {
        self.reconciling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }

    /// Launches InstaMed's void page for `void.payment` through the ledger
    /// ([`Ledger::sso_launch`]), in the payment's turn: a payment known voided is answered from
    /// the ledger, an earlier void of unknown outcome is reconciled first (by its token) and
    /// while it stays unknown nothing is launched.
    pub(crate) async fn sso_launch(
        self: &Arc<Self>,
        sso: SsoClient,
        void: SsoVoid,
        asker: String,
    ) -> Result<SsoLaunched, VoidAnswer> {
        let key = key(&void.payment);
        let turn = self.turn(&key);
        let launched = {
            let _held = turn.lock().await;
            self.ledger.asked_by(asker).sso_launch(&sso, &void).await
        };
        self.leave(&key, turn);
        match launched {
            Ok(Guarded::Sent(Ok(launched))) => Ok(launched),
            Ok(Guarded::Known(entry)) => Err(known(&entry)),
            // The page's URL reached nobody: nothing can have been voided, whatever the error.
            Ok(Guarded::Sent(Err(error))) => Err(match error {
                Error::AuthenticationRefused { .. } => VoidAnswer::CredentialsRefused,
                error => VoidAnswer::NotSent(chain(&error)),
            }),
            Ok(_) => Err(VoidAnswer::Unknown),
            Err(error) => Err(VoidAnswer::Ledger(chain(&error))),
        }
    }

    /// Waits for the person on `launched`'s page, records the verdict in the ledger
    /// ([`Ledger::sso_wait`]) and says it as a void's answer.
    pub(crate) async fn sso_wait(&self, sso: SsoClient, launched: SsoLaunched) -> SsoAnswer {
        let payment = launched.launch.payment().clone();
        let result = self.ledger.sso_wait(&sso, &launched, |_, _| {}).await;
        let answer = match result {
            Ok(SsoOutcome::Voided(receipt)) => {
                VoidAnswer::Voided(confirmed(&VoidConfirmation::Voided(receipt)))
            }
            Ok(SsoOutcome::NothingDone(why)) => {
                return SsoAnswer::NothingDone(match why {
                    NothingDone::Expired => "the token expired before the person voided",
                    NothingDone::NotVoided => "the payment's record shows it captured",
                    _ => "the person left InstaMed's page without voiding",
                });
            }
            Err(error) => match error.refusal() {
                Some(refusal) => void_refused(&error, refusal, &payment),
                // The page was out: a person may have voided. The next request asks the token.
                None => VoidAnswer::Unknown,
            },
            _ => VoidAnswer::Unknown,
        };
        SsoAnswer::Void(answer)
    }

    /// The lock requests about `key` take turns on.
    fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.payments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// Lets go of `turn`, forgetting the payment's lock when nobody else holds it.
    fn leave(&self, key: &str, turn: Arc<tokio::sync::Mutex<()>>) {
        let mut payments = self.payments.lock().unwrap_or_else(|e| e.into_inner());
        drop(turn);
        if payments
            .get(key)
            .is_some_and(|left| Arc::strong_count(left) == 1)
        {
            payments.remove(key);
        }
    }
}

fn refund_failed(error: &Error, request: &RefundRequest) -> RefundAnswer {
    if error.outcome_unknown() {
        // The ledger recorded it refund_unknown: held for a person, as every repeat is told.
        return RefundAnswer::OnHold { entry: None };
    }
    if let Some(refusal) = error.refusal() {
        let outcome = match error {
            Error::OverRefundable(_) => Outcome::OverRefundable,
            Error::RefundWindowPassed(_) => Outcome::RefundWindowPassed,
            Error::UnknownTransaction(_) => Outcome::UnknownPayment,
            _ => Outcome::Declined,
        };
        return RefundAnswer::Refused(outcome, refused_statuses(refusal, request.payment()));
    }
    if error.never_sent() {
        RefundAnswer::NotSent(chain(error))
    } else if matches!(error, Error::AuthenticationRefused { .. }) {
        RefundAnswer::CredentialsRefused
    } else {
        RefundAnswer::Rejected(chain(error))
    }
}

/// A void InstaMed refused on statuses about `payment` (`error`, whose refusal is `refusal`),
/// as the ERP is told it: by a request, or on a Single Sign-On page.
fn void_refused(error: &Error, refusal: &Refusal, payment: &TransactionId) -> VoidAnswer {
    let verdict = match error {
        Error::AlreadyVoided(_) => Verdict::AlreadyVoided,
        Error::NotVoidable(_) => Verdict::NotVoidable,
        Error::UnknownTransaction(_) => Verdict::UnknownPayment,
        _ => Verdict::Declined,
    };
    VoidAnswer::Refused(verdict, refused_statuses(refusal, payment))
}

/// The statuses of a refusal about `payment`, as the ERP is told them again.
fn refused_statuses(refusal: &Refusal, payment: &TransactionId) -> Statuses {
    Statuses {
        transaction_status: refusal.transaction_status.clone(),
        primary_transaction_status: refusal.primary_transaction_status.clone(),
        response_code: refusal.response_code.clone(),
        response_message: refusal.response_message.clone(),
        transaction_id: Some(payment.as_str().to_owned()),
        authorization_number: None,
    }
}

/// The refusal the ledger recorded for the payment's latest void, when nothing proved it
/// voided since and that void named `outlet`: InstaMed's statuses said no, so asking again
/// would only hear it again. A refusal heard at another outlet (a payment InstaMed does not
/// find at a mistyped merchant) says nothing of this one, and is asked again: after a refusal
/// a void is safe to send.
fn recorded_refusal<'s>(standing: &'s Standing, outlet: &Outlet) -> Option<&'s Entry> {
    if standing.voided().is_some() {
        return None;
    }
    standing
        .entries
        .iter()
        .rev()
        .find(|entry| entry.action == Action::Void)
        .filter(|entry| {
            matches!(
                entry.verdict,
                Some(Verdict::NotVoidable | Verdict::UnknownPayment | Verdict::Declined)
            ) && entry.outlet.as_ref() == Some(outlet)
        })
}

/// A void the ledger answers: the payment known voided, or a refusal recorded on its statuses,
/// as its answer says it.
fn known(entry: &Entry) -> VoidAnswer {
    match entry.verdict {
        Some(Verdict::AlreadyVoided) => {
            VoidAnswer::Refused(Verdict::AlreadyVoided, statuses_of(entry))
        }
        Some(Verdict::NotVoidable | Verdict::UnknownPayment | Verdict::Declined) => {
            VoidAnswer::Refused(verdict_of(entry), statuses_of(entry))
        }
        _ => VoidAnswer::Voided(voided_statuses(entry)),
    }
}

fn verdict_of(entry: &Entry) -> Verdict {
    entry.verdict.unwrap_or(Verdict::Declined)
}

/// What the ledger recorded of an answer.
fn statuses_of(entry: &Entry) -> Statuses {
    Statuses {
        transaction_status: entry.transaction_status.clone(),
        primary_transaction_status: entry.primary_transaction_status.clone(),
        response_code: entry.response_code.clone(),
        response_message: None,
        transaction_id: Some(entry.payment.clone()),
        authorization_number: None,
    }
}

/// A payment the ledger knows voided: a completed void (`C`) of a voided payment (`V`),
/// whatever the proving answer's own words were (a reconciliation's "already voided").
fn voided_statuses(entry: &Entry) -> Statuses {
    Statuses {
        transaction_status: Some("C".to_owned()),
        primary_transaction_status: Some("V".to_owned()),
        response_code: entry
            .response_code
            .clone()
            .filter(|_| entry.transaction_status.as_deref() == Some("C")),
        response_message: None,
        transaction_id: Some(entry.payment.clone()),
        authorization_number: None,
    }
}

/// A refund the ledger knows made: a completed refund (`C`) with its own ID, whatever the
/// entry recorded of the answer (a refund a person settled by hand recorded none).
fn made_statuses(entry: &Entry) -> Statuses {
    Statuses {
        transaction_status: entry
            .transaction_status
            .clone()
            .or_else(|| Some("C".to_owned())),
        primary_transaction_status: entry.primary_transaction_status.clone(),
        response_code: entry.response_code.clone(),
        response_message: None,
        transaction_id: entry.refund_id.clone(),
        authorization_number: None,
    }
}

fn refunded(receipt: &RefundReceipt) -> Statuses {
    Statuses {
        transaction_status: Some(receipt.transaction_status.clone()),
        primary_transaction_status: receipt.primary_transaction_status.clone(),
        response_code: receipt.response_code.clone(),
        response_message: receipt.response_message.clone(),
        transaction_id: Some(receipt.refund_id.clone()),
        authorization_number: receipt.authorization_number.clone(),
    }
}

fn confirmed(confirmation: &VoidConfirmation) -> Statuses {
    match confirmation {
        VoidConfirmation::Voided(receipt) | VoidConfirmation::VoidedOnRetry { receipt, .. } => {
            Statuses {
                transaction_status: Some(receipt.transaction_status.clone()),
                primary_transaction_status: Some(receipt.primary_transaction_status.clone()),
                response_code: receipt.response_code.clone(),
                response_message: receipt.response_message.clone(),
                transaction_id: Some(
                    receipt
                        .transaction_id
                        .clone()
                        .unwrap_or_else(|| receipt.payment.as_str().to_owned()),
                ),
                authorization_number: receipt.authorization_number.clone(),
            }
        }
        // An earlier void of ours went through: the payment is voided.
        _ => Statuses {
            transaction_status: Some("C".to_owned()),
            primary_transaction_status: Some("V".to_owned()),
            ..Statuses::default()
        },
    }
}

/// `time` cut to the millisecond, as the ledger writes when an intent started.
fn whole_milliseconds(time: std::time::SystemTime) -> std::time::SystemTime {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(since.as_millis()).unwrap_or(0))
}

/// The key a payment is filed under, as the ledger files it: without regard to case.
pub(crate) fn key(payment: &TransactionId) -> String {
    payment.as_str().trim().to_ascii_uppercase()
}

/// Runs `work` as a task of its own and waits for it. An ERP that hangs up mid-request (its
/// timeout fired) makes the server drop the request's future, and with it whatever the future
/// held: the payment's turn would pass to the ERP's retry while the ledger's thread still has
/// the void or refund out, and the retry would reconcile beside it (a second void) or find the
/// refund in flight (held for a person). A task of its own holds the turn until the verdict is
/// recorded, however the request ends. `None` if it panicked.
pub(crate) async fn to_the_end<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    tokio::spawn(work).await.ok()
}

/// Runs `work` on a blocking thread, so that the ledger's synchronous reads never hold a
/// runtime worker. `None` if it panicked.
async fn off_runtime<T, F>(work: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.ok()
}

/// An error with its causes, for a fault's reason (the client took secrets out already).
pub(crate) use instamed_soap::error::chain;
