//! A row's verdict, its exit-code class, and the exit code of a whole batch.

use std::fmt;

/// Where a row ends (or stands, when the batch stopped before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Verdict {
    /// Voided: by this run, by an earlier run of the journal, or confirmed by reconciliation.
    Voided,
    /// InstaMed said the payment had been voided before this batch touched it.
    AlreadyVoided,
    /// Too late to void (funds transfer begun), and no refund was asked for or possible.
    NotVoidable,
    /// No such payment at that outlet.
    UnknownPayment,
    /// Declined for another reason.
    Declined,
    /// Refunded instead of voided (`--or-refund`, after a known not-voidable refusal).
    Refunded,
    /// The refund was refused on structured evidence: nothing was refunded.
    RefundRefused,
    /// The refund may have happened: settle it by hand, never refund again blindly.
    RefundUnknown,
    /// The void may have happened: reconcile (a re-run does) before anything else.
    Unknown,
    /// Not voided and not refused: nothing reached InstaMed or it rejected the request (a
    /// re-run sends it again).
    Failed,
    /// The row is invalid; it was never sent.
    Invalid,
    /// Not reached: the batch was stopped before it (a re-run does it).
    Pending,
}

impl Verdict {
    /// Every verdict, in summary order.
    pub const ALL: [Self; 12] = [
        Self::Voided,
        Self::AlreadyVoided,
        Self::Refunded,
        Self::NotVoidable,
        Self::UnknownPayment,
        Self::Declined,
        Self::RefundRefused,
        Self::Unknown,
        Self::RefundUnknown,
        Self::Failed,
        Self::Invalid,
        Self::Pending,
    ];

    /// The name used in reports and `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voided => "voided",
            Self::AlreadyVoided => "already_voided",
            Self::NotVoidable => "not_voidable",
            Self::UnknownPayment => "unknown_payment",
            Self::Declined => "declined",
            Self::Refunded => "refunded",
            Self::RefundRefused => "refund_refused",
            Self::RefundUnknown => "refund_unknown",
            Self::Unknown => "outcome_unknown",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
            Self::Pending => "pending",
        }
    }

    /// The verdict a stored name stands for; a name this build does not know reads as an
    /// unknown outcome, which is never acted on blindly.
    pub fn from_stored(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == name)
            .unwrap_or(Self::Unknown)
    }

    /// The exit code `instamed-soap void` (or `void --or-refund`) would give this row alone.
    pub fn exit_class(self) -> u8 {
        match self {
            Self::Voided => exit::VOIDED,
            Self::Failed => exit::FAILED,
            Self::Invalid => exit::INVALID,
            Self::NotVoidable | Self::UnknownPayment | Self::Declined | Self::RefundRefused => {
                exit::REFUSED
            }
            Self::AlreadyVoided => 4,
            Self::Unknown => exit::UNKNOWN,
            Self::RefundUnknown => exit::SETTLE_BY_HAND,
            Self::Refunded => exit::REFUNDED,
            Self::Pending => exit::INTERRUPTED,
        }
    }

    /// Whether a re-run leaves the row alone.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Unknown | Self::Failed | Self::Pending)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The exit codes of `instamed-soap batch`.
pub mod exit {
    /// Every row ends voided (or had been voided before).
    pub const VOIDED: u8 = 0;
    /// Some row failed without reaching a verdict (connection, credentials, a rejected
    /// request); none is unknown.
    pub const FAILED: u8 = 1;
    /// The input was refused (unreadable, duplicates: nothing sent), or some rows were invalid
    /// (never sent) and every other row ended voided.
    pub const INVALID: u8 = 2;
    /// Some row was refused by InstaMed (not voidable, unknown payment, declined, refund
    /// refused); none is unknown or failed.
    pub const REFUSED: u8 = 3;
    /// Some void's outcome is unknown (it may have happened): re-run to reconcile it.
    pub const UNKNOWN: u8 = 5;
    /// Some rows were refunded instead of voided, every other one voided.
    pub const REFUNDED: u8 = 6;
    /// The journal refused to run: in use by another process, a changed input, not a journal.
    pub const JOURNAL: u8 = 7;
    /// Stopped (Ctrl-C, SIGTERM) before every row was done: re-run the same command to resume.
    pub const INTERRUPTED: u8 = 8;
    /// A refund waits for a person: its outcome is unknown and it is never sent again, so
    /// nothing a re-run does settles it. No void is unknown and no row pending: automation
    /// that re-runs on 5 and 8 stops here and hands the rows `refund_unknown` to a person.
    pub const SETTLE_BY_HAND: u8 = 9;
}

/// The exit code of a batch from how many rows ended with each verdict: the most urgent class
/// wins (pending, unknown void, refund to settle by hand, failed, refused, refunded, invalid,
/// then voided). The first two are what a re-run settles; the third is what it never will, so
/// a loop that re-runs on 5 and 8 ends.
pub fn batch_exit_code(count: impl Fn(Verdict) -> u64) -> u8 {
    let any = |verdicts: &[Verdict]| verdicts.iter().any(|v| count(*v) > 0);
    if any(&[Verdict::Pending]) {
        exit::INTERRUPTED
    } else if any(&[Verdict::Unknown]) {
        exit::UNKNOWN
    } else if any(&[Verdict::RefundUnknown]) {
        exit::SETTLE_BY_HAND
    } else if any(&[Verdict::Failed]) {
        exit::FAILED
    } else if any(&[
        Verdict::NotVoidable,
        Verdict::UnknownPayment,
        Verdict::Declined,
        Verdict::RefundRefused,
    ]) {
        exit::REFUSED
    } else if any(&[Verdict::Refunded]) {
        exit::REFUNDED
    } else if any(&[Verdict::Invalid]) {
        exit::INVALID
    } else {
        exit::VOIDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_urgent_class_sets_the_exit_code() {
        let only = |wanted: &'static [Verdict]| move |v: Verdict| u64::from(wanted.contains(&v));
        assert_eq!(
            batch_exit_code(only(&[Verdict::Voided, Verdict::AlreadyVoided])),
            0
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::Voided, Verdict::Refunded])),
            6
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::Refunded, Verdict::NotVoidable])),
            3
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::NotVoidable, Verdict::Unknown])),
            5
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::Voided, Verdict::Invalid])),
            2
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::RefundUnknown, Verdict::Failed])),
            9
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::Voided, Verdict::RefundUnknown])),
            9
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::RefundUnknown, Verdict::Unknown])),
            5
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::RefundUnknown, Verdict::Pending])),
            8
        );
        assert_eq!(
            batch_exit_code(only(&[Verdict::Unknown, Verdict::Pending])),
            8
        );
        for verdict in Verdict::ALL {
            assert_eq!(
                Verdict::ALL
                    .iter()
                    .filter(|v| v.as_str() == verdict.as_str())
                    .count(),
                1
            );
        }
    }
}
