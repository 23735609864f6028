//! What the ledger holds: entries (an intent and, once recorded, its verdict) and a
//! payment's standing, the entries about it read together.

use std::time::SystemTime;

use instamed_soap::Outlet;
use rusqlite::Row;

use super::super::stored::{Named, stored_by_name};
use super::super::verdict::Verdict;
use super::{at, process_alive, this_process, this_process_since};

/// What moves money: a void, or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A void (a reconciliation is a void sent again).
    Void,
    /// A simple refund.
    Refund,
}

impl Action {
    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Void => "void",
            Self::Refund => "refund",
        }
    }
}

impl Named for Action {
    const WHAT: &'static str = "ledger action";

    fn name(self) -> &'static str {
        self.as_str()
    }

    /// Unlike every other stored name, an action this build does not know is read, as a
    /// refund: its entry is then held for a person, never taken for a void that may be sent
    /// again. Refusing to read it would instead stop every command on the payment.
    fn from_name(name: &str) -> Option<Self> {
        Some(if name == Self::Void.as_str() {
            Self::Void
        } else {
            Self::Refund
        })
    }
}

/// Where an entry stands: the `state` column of `intents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntentState {
    /// Written before the request left; no answer recorded yet (or ever, if its process died).
    Sent,
    /// The answer's verdict recorded.
    Answered(Verdict),
}

impl IntentState {
    /// What a person or the next command may still have to settle.
    pub(super) const OPEN: [Self; 3] = [
        Self::Sent,
        Self::Answered(Verdict::Unknown),
        Self::Answered(Verdict::RefundUnknown),
    ];

    pub(crate) fn verdict(self) -> Option<Verdict> {
        match self {
            Self::Sent => None,
            Self::Answered(verdict) => Some(verdict),
        }
    }
}

impl Named for IntentState {
    const WHAT: &'static str = "ledger entry state";

    fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Answered(verdict) => verdict.name(),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        if name == Self::Sent.name() {
            return Some(Self::Sent);
        }
        Verdict::from_name(name).map(Self::Answered)
    }
}

stored_by_name!(Action, IntentState);

/// One intent and, once recorded, its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The entry's number in the ledger.
    pub id: i64,
    /// The payment, as the command named it.
    pub payment: String,
    /// What the command set out to do.
    pub action: Action,
    /// The verdict recorded; `None` while the request is in flight, or when the process died
    /// before its answer was recorded (then nobody knows what happened).
    pub verdict: Option<Verdict>,
    /// The amount of a refund.
    pub amount: Option<String>,
    /// The refund's own transaction ID, once known.
    pub refund_id: Option<String>,
    /// The command that wrote the intent (`instamed-soap void --or-refund`, `batch`, …).
    pub command: String,
    /// The process that wrote it.
    pub pid: u32,
    /// When the intent was written (before the request left).
    pub started: SystemTime,
    /// When the verdict was written.
    pub finished: Option<SystemTime>,
    /// `TransactionStatus` read.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` read.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode` read.
    pub response_code: Option<String>,
    /// What the answer said, cleaned of secrets by the client.
    pub detail: String,
    /// The outlet the request named, as merchant, store and terminal IDs (absent in entries
    /// an older version wrote without them).
    pub outlet: Option<Outlet>,
    /// Who settled it by hand, when a person did.
    pub settled_by: Option<String>,
    /// Why, in their words.
    pub settled_note: Option<String>,
    /// On PostgreSQL, while the entry is `sent`: until when the process that wrote it holds
    /// its claim on the payment (its lease). Past it, that process is taken to have died
    /// mid-call, wherever it ran. `None` on SQLite, and once answered.
    pub lease_until: Option<SystemTime>,
}

impl Entry {
    /// The entry in a row of `intents`, read by column name.
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            payment: row.get("payment")?,
            action: row.get("action")?,
            verdict: row.get::<_, IntentState>("state")?.verdict(),
            amount: row.get("amount")?,
            refund_id: row.get("refund_id")?,
            command: row.get("command")?,
            // A pid that does not fit was not written by this program; 0 reads as no process.
            pid: row.get::<_, i64>("pid")?.try_into().unwrap_or(0),
            started: at(row.get("started_ms")?),
            finished: row.get::<_, Option<i64>>("finished_ms")?.map(at),
            transaction_status: row.get("transaction_status")?,
            primary_transaction_status: row.get("primary_transaction_status")?,
            response_code: row.get("response_code")?,
            detail: row.get("detail")?,
            outlet: match (
                row.get::<_, Option<String>>("merchant_id")?,
                row.get::<_, Option<String>>("store_id")?,
                row.get::<_, Option<String>>("terminal_id")?,
            ) {
                (Some(merchant), Some(store), Some(terminal)) => {
                    Outlet::new(merchant, store, terminal).ok()
                }
                _ => None,
            },
            settled_by: row.get("settled_by")?,
            settled_note: row.get("settled_note")?,
            lease_until: None,
        })
    }

    /// Whether the process that wrote it has ended (on this machine; where that cannot be told,
    /// it is taken to run): an entry still `sent` then lost its answer with that process. On
    /// PostgreSQL, whose writers run on several machines, it is whether its lease expired.
    ///
    /// An entry with this process's own ID written before this process first used a ledger is
    /// a predecessor's: in a container a service is process 1 at every start, so the ID alone
    /// would keep a killed predecessor's entry looking in flight for good.
    pub fn process_ended(&self) -> bool {
        match self.lease_until {
            Some(until) => SystemTime::now() > until,
            None if self.pid == this_process() => self.started < at(this_process_since()),
            None => !process_alive(self.pid),
        }
    }

    /// Whether its outcome is open: in flight, lost with its process, or unknown.
    pub fn is_open(&self) -> bool {
        matches!(
            self.verdict,
            None | Some(Verdict::Unknown | Verdict::RefundUnknown)
        )
    }

    /// The entry in one line for a person: what, how much, when, by which command, and where
    /// it stands.
    pub fn describe(&self) -> String {
        let what = match (&self.action, &self.amount) {
            (Action::Refund, Some(amount)) => format!("a refund of {amount}"),
            (Action::Refund, None) => "a refund".to_owned(),
            (Action::Void, _) => "a void".to_owned(),
        };
        let stands = match self.verdict {
            None => format!(
                "has no recorded answer (in flight in process {}, or that process died)",
                self.pid
            ),
            Some(verdict) => format!("ended {verdict}"),
        };
        let refund_id = self
            .refund_id
            .as_deref()
            .map(|id| format!(" as transaction {id}"))
            .unwrap_or_default();
        format!(
            "{what} of payment {} sent at {} by `{}` {stands}{refund_id} (ledger entry {})",
            self.payment,
            httpdate::fmt_http_date(self.started),
            self.command,
            self.id
        )
    }
}

/// Everything the ledger holds about one payment, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Standing {
    pub(super) fn of(&self, action: Action) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.action == action)
    }

    /// The void that proved the payment voided, if one did.
    pub fn voided(&self) -> Option<&Entry> {
        self.of(Action::Void)
            .rev()
            .find(|e| matches!(e.verdict, Some(Verdict::Voided | Verdict::AlreadyVoided)))
    }

    /// The latest void whose outcome nobody knows, unless a later answer settled it. A void
    /// that never left (`failed`) settles nothing, nor does a Single Sign-On page on which
    /// nothing was done (`nothing_done`): neither says anything about an earlier void.
    pub fn unsettled_void(&self) -> Option<&Entry> {
        if self.voided().is_some() {
            return None;
        }
        self.of(Action::Void)
            .rev()
            .find(|e| !matches!(e.verdict, Some(Verdict::Failed | Verdict::NothingDone)))
            .filter(|e| e.is_open())
    }

    /// A refund that may have been made and is not settled: in flight, lost with its
    /// process, or of unknown outcome. Nothing but a person may settle it.
    pub fn refund_on_hold(&self) -> Option<&Entry> {
        self.of(Action::Refund).rev().find(|e| e.is_open())
    }

    /// The latest refund a person settled as not made, if that is where the refunds stand.
    pub fn refund_settled_not_made(&self) -> Option<&Entry> {
        self.of(Action::Refund)
            .next_back()
            .filter(|e| e.verdict == Some(Verdict::RefundRefused) && e.settled_by.is_some())
    }

    /// The refunds made, oldest first.
    pub fn refunds_made(&self) -> Vec<&Entry> {
        self.of(Action::Refund)
            .filter(|e| e.verdict == Some(Verdict::Refunded))
            .collect()
    }
}
