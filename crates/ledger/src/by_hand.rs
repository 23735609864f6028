//! What software cannot settle, for a person: the entries that wait for one, one payment's
//! history in words, and what a person found in InstaMed's portal, recorded with who, when and
//! why so that the next request about the payment gets that answer.
//!
//! A void in doubt is reconciled by software (a void is idempotent at InstaMed); it waits for
//! a person only once the reconciliation window has passed without proof. A refund in doubt
//! waits at once: it is not idempotent, so nothing but a person may settle it. A refund
//! InstaMed refused waits too, for someone to decide what the patient gets instead.

use std::time::{Duration, SystemTime};

use super::store::{Action, Entry, IntentState, Ledger, LedgerError, at, now_ms};
use super::stored::{self, Named};
use super::verdict::Verdict;
use instamed_soap::sensitive::redact_cards;

/// Why an entry waits for a person: the list's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attention {
    /// A void whose outcome is still unknown after the reconciliation window.
    VoidUnknown,
    /// A refund that may have been made and nobody knows: held until a person says.
    RefundUnknown,
    /// A refund InstaMed refused on its statuses: nothing was refunded.
    RefundRefused,
}

impl Attention {
    /// Every kind, in the order a person reads them.
    pub const ALL: [Self; 3] = [Self::RefundUnknown, Self::VoidUnknown, Self::RefundRefused];

    /// Its name in the list's filter (`?kind=`): the verdict's own name in the house's one
    /// outcome vocabulary, with `void_unknown` for the void.
    pub fn name(self) -> &'static str {
        match self {
            Self::VoidUnknown => "void_unknown",
            Self::RefundUnknown => Verdict::RefundUnknown.as_str(),
            Self::RefundRefused => Verdict::RefundRefused.as_str(),
        }
    }

    /// The kind a filter names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// What it means, for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Self::VoidUnknown => "void outcome unknown after reconciliation",
            Self::RefundUnknown => "refund outcome unknown (on hold)",
            Self::RefundRefused => "refund refused by InstaMed",
        }
    }
}

/// An entry that waits for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Waiting {
    /// The entry.
    pub entry: Entry,
    /// Why it waits.
    pub attention: Attention,
    /// How long ago its intent was written.
    pub age: Duration,
}

/// What a person found about an entry in InstaMed's portal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settlement {
    /// The payment is voided (for a void).
    Voided,
    /// The payment was refunded, as the refund with this transaction ID (for a refund).
    Refunded(String),
    /// Nothing happened: the void did not go through, or no refund was made. The next request
    /// about the payment sends again, as for anything that never reached InstaMed.
    NothingHappened,
}

impl Settlement {
    /// The verdict it records on an entry of `action` that stands at `now`; `None` when it
    /// does not apply (a void found refunded, say), or to an entry already final.
    fn verdict(&self, action: Action, now: IntentState) -> Option<Verdict> {
        let open = matches!(
            now,
            IntentState::Sent | IntentState::Answered(Verdict::Unknown | Verdict::RefundUnknown)
        );
        match (self, action, now) {
            (Self::Voided, Action::Void, _) if open => Some(Verdict::Voided),
            // Failed is what never took effect: the next void is sent, not reconciled.
            (Self::NothingHappened, Action::Void, _) if open => Some(Verdict::Failed),
            (Self::Refunded(_), Action::Refund, _) if open => Some(Verdict::Refunded),
            (Self::NothingHappened, Action::Refund, _) if open => Some(Verdict::RefundRefused),
            // A refusal a person looked at: what they found in the portal stands.
            (Self::Refunded(_), Action::Refund, IntentState::Answered(Verdict::RefundRefused)) => {
                Some(Verdict::Refunded)
            }
            (
                Self::NothingHappened,
                Action::Refund,
                IntentState::Answered(Verdict::RefundRefused),
            ) => Some(Verdict::RefundRefused),
            _ => None,
        }
    }
}

/// The command text of an intent a service wrote on behalf of one of its clients: `base`
/// (the ledger's command, `gateway`), the face the client came in by (`soap`, `nvp`, `api`)
/// and the client's name, read back by [`Entry::client`] and [`Entry::via`].
pub fn asked_by(base: &str, via: &str, client: &str) -> String {
    format!("{base} via={via} client={client}")
}

impl Entry {
    /// Whether a person may settle it ([`Ledger::settle`]): its outcome is open, or it is a
    /// refund InstaMed refused; and no person settled it yet.
    pub fn settleable(&self) -> bool {
        self.settled_by.is_none()
            && (self.is_open()
                || (self.action == Action::Refund && self.verdict == Some(Verdict::RefundRefused)))
    }

    /// The client of a service that asked for it ([`asked_by`]), if one did.
    pub fn client(&self) -> Option<&str> {
        // The name comes last: it is the client's own, and may hold anything but a colon.
        self.command
            .split_once(" client=")
            .map(|(_, client)| client)
            .filter(|client| !client.is_empty())
    }

    /// The command that wrote it, without the service client that asked ([`asked_by`]): what
    /// may be shown to a client other than the one that asked.
    pub fn command_alone(&self) -> &str {
        self.command
            .split_once(" via=")
            .map_or(self.command.as_str(), |(command, _)| command)
    }

    /// The face a service's client came in by ([`asked_by`]), if one did.
    pub fn via(&self) -> Option<&str> {
        let (_, after) = self.command.split_once(" via=")?;
        after.split(' ').next().filter(|via| !via.is_empty())
    }

    /// Whether it is a Single Sign-On void: a page handed to a person, who voids or cancels on
    /// it, rather than a request software sent (written with its token, and without an outlet).
    pub fn is_sso_void(&self) -> bool {
        self.action == Action::Void
            && (crate::sso::token_of(self).is_some() || self.outlet.is_none())
    }

    /// What the answer said ([`Entry::detail`]) as it may be shown on a page or a terminal: an
    /// SSO void's token, which opens InstaMed's void page for whoever holds it while it lives,
    /// is kept for reconciliation and never shown.
    pub fn detail_shown(&self) -> std::borrow::Cow<'_, str> {
        match crate::sso::token_of(self) {
            Some(token) => self.detail.replacen(token, "(kept, not shown)", 1).into(),
            None => self.detail.as_str().into(),
        }
    }

    /// What the entry's answer showed, in words for a person: the statuses read, the refund's
    /// ID, what the answer said (already cleaned of secrets and card numbers by the client)
    /// and who settled it by hand and why.
    pub fn evidence(&self) -> String {
        let mut said = Vec::new();
        let statuses = [
            ("TransactionStatus", &self.transaction_status),
            ("PrimaryTransactionStatus", &self.primary_transaction_status),
            ("ResponseCode", &self.response_code),
        ];
        for (name, value) in statuses {
            if let Some(value) = value {
                said.push(format!("{name} {value}"));
            }
        }
        if let Some(id) = &self.refund_id {
            said.push(format!("refund transaction {id}"));
        }
        let detail = self.detail_shown();
        if !detail.is_empty() {
            said.push(redact_cards(&detail).into_owned());
        }
        if let Some(by) = &self.settled_by {
            let note = self.settled_note.as_deref().unwrap_or("");
            said.push(format!("settled by hand by {by}: {}", redact_cards(note)));
        }
        if said.is_empty() {
            match self.verdict {
                None => "no answer recorded".to_owned(),
                Some(_) => "no statuses recorded".to_owned(),
            }
        } else {
            said.join("; ")
        }
    }
}

impl Ledger {
    /// Entry `id`, if the ledger holds one.
    pub fn entry(&self, id: i64) -> Result<Option<Entry>, LedgerError> {
        Ok(self.entries_matching("id = $1", id)?.pop())
    }

    /// What waits for a person, newest first; only the kind asked for when one is. A void
    /// counts once its intent is older than `window` (until then software still reconciles
    /// it), a refund of unknown outcome at once (unless it is still in flight: its answer is
    /// on the way), a refusal until a later refund of the payment or a person settles it.
    pub fn waiting(
        &self,
        kind: Option<Attention>,
        window: Duration,
    ) -> Result<Vec<Waiting>, LedgerError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(window_ms);
        // The latest entry of its action for its payment: an earlier open one is settled by
        // a later answer (a definite void settles the voids before it), or superseded.
        let latest = format!(
            "NOT EXISTS (SELECT 1 FROM intents AS later WHERE later.payment = intents.payment \
             AND later.action = intents.action AND later.id > intents.id \
             AND later.state <> '{}')",
            IntentState::Answered(Verdict::Failed).name()
        );
        let open_voids = stored::sql_in(
            "state",
            &[IntentState::Sent, IntentState::Answered(Verdict::Unknown)],
        );
        let open_refunds = stored::sql_in(
            "state",
            &[
                IntentState::Sent,
                IntentState::Answered(Verdict::RefundUnknown),
            ],
        );
        let refused = IntentState::Answered(Verdict::RefundRefused).name();
        let (void, refund) = (Action::Void.name(), Action::Refund.name());
        let entries = self.entries_matching(
            &format!(
                "settled_by IS NULL AND {latest} AND (
                     (action = '{void}' AND {open_voids} AND started_ms <= $1)
                  OR (action = '{refund}' AND {open_refunds})
                  OR (action = '{refund}' AND state = '{refused}'))
                 ORDER BY started_ms DESC, intents.id DESC"
            ),
            before,
        )?;
        let now = SystemTime::now();
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let attention = match (entry.action, entry.verdict) {
                    (Action::Void, _) => Attention::VoidUnknown,
                    (Action::Refund, Some(Verdict::RefundRefused)) => Attention::RefundRefused,
                    // Its answer is on the way, unless its process died with it (on
                    // PostgreSQL: unless its claim's lease ran out).
                    (Action::Refund, None)
                        if !entry.process_ended() && entry.started > at(before) =>
                    {
                        return None;
                    }
                    (Action::Refund, _) => Attention::RefundUnknown,
                };
                let age = now.duration_since(entry.started).unwrap_or_default();
                Some(Waiting {
                    entry,
                    attention,
                    age,
                })
            })
            .filter(|waiting| kind.is_none_or(|kind| waiting.attention == kind))
            .collect())
    }

    /// Records what a person found in InstaMed's portal about entry `id`, with who they are and
    /// why (`note`; a card number in it is redacted before it is stored). What it records is
    /// the answer the next request about the payment gets: a void found voided is answered
    /// voided; a refund found made is the same refund's answer; nothing happened lets the next
    /// request send again.
    ///
    /// Applies to an open void (in flight in a process that ended, or of unknown outcome), an
    /// open refund, and a refund InstaMed refused that no person settled yet; the entry is
    /// returned as it now stands, or `None` when the settlement does not apply to it (a void
    /// found refunded, an entry already final or settled). An entry still in flight is
    /// refused ([`LedgerError::InFlight`]): its answer is on the way. On SQLite that is an
    /// entry whose process still runs; on PostgreSQL, whose writers run on several machines,
    /// one whose claim's lease still holds.
    pub fn settle(
        &self,
        id: i64,
        found: &Settlement,
        by: &str,
        note: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        self.settle_only(id, None, found, by, note)
    }

    /// Records what a person found about an open refund: made (with the refund's transaction
    /// ID) or not made. Only an open refund can be settled this way; the entry is returned as
    /// it now stands. [`Ledger::settle`] settles voids too.
    pub fn settle_refund(
        &self,
        id: i64,
        made: Option<&str>,
        by: &str,
        note: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        let found = match made {
            Some(refund_id) => Settlement::Refunded(refund_id.to_owned()),
            None => Settlement::NothingHappened,
        };
        self.settle_only(id, Some(Action::Refund), &found, by, note)
    }

    /// [`settle`](Self::settle), only on an entry of `action` when one is named.
    pub(crate) fn settle_only(
        &self,
        id: i64,
        action: Option<Action>,
        found: &Settlement,
        by: &str,
        note: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        // What a person found is the next request's answer: flushed before it is confirmed,
        // as an intent is, whatever mode the ledger's last group of verdicts left SQLite in.
        self.book(true, |book| {
            // Locked (on PostgreSQL, the payment's lock) against a verdict arriving meanwhile.
            let Some(entry) = book.entry(id)?.filter(|entry| entry.settled_by.is_none()) else {
                return Ok(None);
            };
            if action.is_some_and(|action| action != entry.action) {
                return Ok(None);
            }
            let now = match entry.verdict {
                None => IntentState::Sent,
                Some(verdict) => IntentState::Answered(verdict),
            };
            // An entry still in flight has its answer on the way, and whatever a person finds
            // now (often "nothing happened") could be wrong by the time they act.
            if now == IntentState::Sent && !entry.process_ended() {
                return Err(LedgerError::InFlight {
                    entry: id,
                    pid: entry.pid,
                });
            }
            let Some(verdict) = found.verdict(entry.action, now) else {
                return Ok(None);
            };
            // A card number typed where the refund's ID goes is never kept.
            let refund_id = match found {
                Settlement::Refunded(refund_id) => Some(redact_cards(refund_id.trim())),
                _ => None,
            };
            let settled = book.settle(
                id,
                now,
                verdict,
                refund_id.as_deref(),
                by,
                &redact_cards(note),
            )?;
            if settled { book.entry(id) } else { Ok(None) }
        })
    }
}
