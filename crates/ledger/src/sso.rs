//! Single Sign-On voids through the ledger: the intent is on disk before the token request
//! leaves, the token beside it as soon as the login answers, and the page's verdict after the
//! poll. Before a page is launched, what the ledger holds about the payment is consulted as
//! for every void: a payment known voided is answered from the ledger, and an earlier void
//! whose outcome is unknown is reconciled first, by its token (an SSO void) or, when the user
//! allowed it, by the payment's record (`GetTransactionDetailsByTransactionID`).
//!
//! An SSO void is a void (`Action::Void`): its entry tells itself apart by its `detail`, which
//! starts with [`TOKEN_MARK`] and the token once the login gave one, so that a later command
//! can ask what the page did even when the process that launched it died.

use std::time::Duration;

use instamed_soap::sso::{SsoClient, SsoLaunch, SsoOutcome, SsoVoid, TOKEN_LIFETIME, TokenStatus};
use instamed_soap::{Error, TransactionId};

use super::finding::Finding;
use super::guard::{AskedBy, Guarded};
use super::store::{Action, Entry, Ledger, LedgerError, Sends, Standing, off_the_runtime};
use super::verdict::Verdict;

/// How an SSO void's entry starts its `detail`: this, the token, then what was found.
const TOKEN_MARK: &str = "sso token ";

/// A void page launched through the ledger: the launch, and the entry that holds its intent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SsoLaunched {
    /// The URL for the person's browser, and the token.
    pub launch: SsoLaunch,
    /// The ledger entry of this SSO void.
    pub entry: i64,
}

/// What to do before launching a page, decided inside the ledger's write transaction.
enum LaunchPlan {
    Launch,
    Known(Box<Entry>),
    Unsettled(Box<Entry>),
}

impl Sends for LaunchPlan {
    fn sends(&self) -> Option<Action> {
        match self {
            Self::Launch => Some(Action::Void),
            Self::Known(_) | Self::Unsettled(_) => None,
        }
    }
}

fn launch_plan(standing: &Standing) -> LaunchPlan {
    if let Some(voided) = standing.voided() {
        LaunchPlan::Known(Box::new(voided.clone()))
    } else if let Some(open) = standing.unsettled_void() {
        LaunchPlan::Unsettled(Box::new(open.clone()))
    } else {
        LaunchPlan::Launch
    }
}

/// The token an SSO void's entry holds, if it is one and the login gave one.
pub(crate) fn token_of(entry: &Entry) -> Option<&str> {
    entry
        .detail
        .strip_prefix(TOKEN_MARK)
        .and_then(|rest| rest.split(char::is_whitespace).next())
        .map(|token| token.trim_end_matches(':'))
        .filter(|token| !token.is_empty())
}

/// `finding` as written on the entry of the page whose token is `token`: the token first, so
/// that the entry stays reconcilable whatever it ended as.
fn with_token(mut finding: Finding, token: &str) -> Finding {
    finding.detail = if finding.detail.is_empty() {
        format!("{TOKEN_MARK}{token}")
    } else {
        format!("{TOKEN_MARK}{token}: {}", finding.detail)
    };
    finding
}

impl AskedBy<'_> {
    /// As [`Ledger::sso_launch`].
    pub async fn sso_launch(
        &self,
        sso: &SsoClient,
        void: &SsoVoid,
    ) -> Result<Guarded<SsoLaunched>, LedgerError> {
        self.ledger.sso_launch_as(&self.command, sso, void).await
    }
}

impl Ledger {
    /// Launches InstaMed's void page for `void.payment` once, however many times it is asked:
    /// a payment the ledger knows voided is answered from it ([`Guarded::Known`]); an earlier
    /// void of unknown outcome is reconciled first (an SSO void by asking its token, any void
    /// by the payment's record when `sso` allows `GetTransactionDetailsByTransactionID`),
    /// and while it stays unknown nothing is launched ([`Guarded::VoidUnsettled`]). Otherwise
    /// the intent is on disk before the token request leaves, and the token beside it as soon
    /// as the login answers; a launch that fails is recorded `failed` (its URL reached nobody).
    /// Follow with [`sso_wait`](Self::sso_wait).
    pub async fn sso_launch(
        &self,
        sso: &SsoClient,
        void: &SsoVoid,
    ) -> Result<Guarded<SsoLaunched>, LedgerError> {
        self.sso_launch_as(self.command(), sso, void).await
    }

    /// [`sso_launch`](Self::sso_launch), its intent written under `command`.
    pub(crate) async fn sso_launch_as(
        &self,
        command: &str,
        sso: &SsoClient,
        void: &SsoVoid,
    ) -> Result<Guarded<SsoLaunched>, LedgerError> {
        let payment = &void.payment;
        // Read and written on the caller's thread, as a person's page is rare: without holding
        // up the runtime's other tasks (a gateway serves on one thread).
        let standing = off_the_runtime(|| self.standing(payment))?;
        if let Some(open) = standing.unsettled_void() {
            self.sso_reconcile(sso, payment, open).await;
        }
        let (plan, id) = self
            .intend(command, None, payment, None, launch_plan)
            .await?;
        let id = match (plan, id) {
            (LaunchPlan::Known(entry), _) => return Ok(Guarded::Known(entry)),
            (LaunchPlan::Unsettled(entry), _) => return Ok(Guarded::VoidUnsettled(entry)),
            (LaunchPlan::Launch, Some(intent)) => intent.id,
            // A plan that sends has its intent: `intend` writes it before it returns.
            (LaunchPlan::Launch, None) => {
                return Err(LedgerError::Sqlite(rusqlite::Error::InvalidQuery));
            }
        };
        match sso.launch(void).await {
            Ok(launch) => {
                off_the_runtime(|| self.note_token(id, launch.token()))?;
                Ok(Guarded::Sent(Ok(SsoLaunched { launch, entry: id })))
            }
            Err(error) => {
                self.write_finding(id, &Finding::of_sso_launch(&error))
                    .await;
                Ok(Guarded::Sent(Err(error)))
            }
        }
    }

    /// Waits for the person on `launched`'s page ([`SsoClient::wait`]) and records what it came
    /// to on its entry: voided, a refusal, nothing done, or unknown (then the next
    /// [`sso_launch`](Self::sso_launch) of the payment asks the token again before anything
    /// else).
    pub async fn sso_wait(
        &self,
        sso: &SsoClient,
        launched: &SsoLaunched,
        progress: impl FnMut(&TokenStatus, Duration),
    ) -> Result<SsoOutcome, Error> {
        let result = sso.wait(&launched.launch, progress).await;
        self.sso_record(launched, &result).await;
        result
    }

    /// Records `result`, what `launched`'s page came to as its caller learned it (a caller that
    /// polls on its own, with [`SsoClient::outcome`]).
    pub async fn sso_record(&self, launched: &SsoLaunched, result: &Result<SsoOutcome, Error>) {
        let finding = with_token(Finding::of_sso_void(result), launched.launch.token());
        self.write_finding(launched.entry, &finding).await;
    }

    /// Tries to settle `open`, a void of `payment` whose outcome is unknown, without moving
    /// money: by its token when it is an SSO void, then by the payment's record when `sso`
    /// allows that look-up. What nothing proves stays open. A void still in flight in a living
    /// process is left to it.
    async fn sso_reconcile(&self, sso: &SsoClient, payment: &TransactionId, open: &Entry) {
        if open.verdict.is_none() && !open.process_ended() {
            return;
        }
        // A page launched less than a token's life ago may still be voided on.
        let page_may_be_open = open
            .started
            .elapsed()
            .map_or(true, |age| age < TOKEN_LIFETIME);
        if let Some(token) = token_of(open) {
            match sso.outcome(token, payment).await {
                Ok(Some(outcome)) => {
                    let finding = with_token(Finding::of_sso_void(&Ok(outcome)), token);
                    self.write_finding(open.id, &finding).await;
                    return;
                }
                Err(error) if error.refusal().is_some() => {
                    let finding = with_token(Finding::of_sso_void(&Err(error)), token);
                    self.write_finding(open.id, &finding).await;
                    return;
                }
                Ok(None) if page_may_be_open => return,
                Ok(None) => {}
                Err(error) => {
                    tracing::info!(entry = open.id, error = %super::chain(&error),
                        "the SSO void's token could not settle it");
                }
            }
        }
        if !sso.lookup_by_transaction_id_allowed() {
            return;
        }
        let result = sso.outcome_by_transaction_id(payment).await;
        let mut finding = match &result {
            Ok(_) => Finding::of_sso_void(&result),
            Err(error) if error.refusal().is_some() => Finding::of_sso_void(&result),
            Err(error) => {
                tracing::info!(entry = open.id, error = %super::chain(&error),
                    "the payment's record could not settle its void");
                return;
            }
        };
        if finding.verdict == Some(Verdict::NothingDone) {
            match token_of(open) {
                // Not voided now says nothing of a page a person may still void on.
                Some(_) if page_may_be_open => return,
                Some(_) => {}
                // A plain void the record shows not voided did not go through: sending it
                // again is what `failed` means.
                None => finding.verdict = Some(Verdict::Failed),
            }
        }
        let finding = match token_of(open) {
            Some(token) => with_token(finding, token),
            None => finding,
        };
        self.write_finding(open.id, &finding).await;
    }

    /// Writes the token on entry `id` before the URL is handed out, flushed: without it a page
    /// whose process died could not be asked what it did.
    fn note_token(&self, id: i64, token: &str) -> Result<(), LedgerError> {
        if token.contains(char::is_whitespace) {
            tracing::warn!(
                entry = id,
                "the SSO token holds white space and is not kept: reconcile this void by hand"
            );
            return Ok(());
        }
        let detail = format!("{TOKEN_MARK}{token}");
        self.book(true, |book| book.set_detail(id, &detail))
    }

    /// Records `finding` on entry `id`; a failure is said, and the entry stays open until this
    /// process writes it before its next decision, or, should it end first, for the next
    /// command to reconcile.
    async fn write_finding(&self, id: i64, finding: &Finding) {
        if let Err(error) = self.record(id, finding, false, true).await {
            tracing::warn!(
                entry = id,
                error = %super::chain(&error),
                "the SSO void's verdict could not be written to the ledger; the entry stays open"
            );
        }
    }
}
