//! A row's verdict, its exit-code class, and the exit code of a whole batch.

use std::fmt;

use instamed_soap::Outcome;

use crate::stored::{Named, stored_by_name};

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
    /// Single Sign-On: the person did not void (the token expired, they cancelled, or the
    /// payment's record shows it captured). Nothing was voided; another page may be launched.
    NothingDone,
}

impl Verdict {
    /// Every verdict, in summary order.
    pub const ALL: [Self; 13] = [
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
        Self::NothingDone,
    ];

    /// The outcome it is, in the one vocabulary of `instamed_soap::outcome`.
    pub fn outcome(self) -> Outcome {
        match self {
            Self::Voided => Outcome::Voided,
            Self::AlreadyVoided => Outcome::AlreadyVoided,
            Self::NotVoidable => Outcome::NotVoidable,
            Self::UnknownPayment => Outcome::UnknownPayment,
            Self::Declined => Outcome::Declined,
            Self::Refunded => Outcome::Refunded,
            Self::RefundRefused => Outcome::RefundRefused,
            Self::RefundUnknown => Outcome::RefundUnknown,
            Self::Unknown => Outcome::OutcomeUnknown,
            Self::Failed => Outcome::Failed,
            Self::Invalid => Outcome::Invalid,
            Self::Pending => Outcome::Pending,
            Self::NothingDone => Outcome::NothingDone,
        }
    }

    /// The name used in reports, `--json` and the journal: its outcome's one name.
    pub fn as_str(self) -> &'static str {
        self.outcome().name()
    }

    /// Whether a re-run leaves the row alone.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Unknown | Self::Failed | Self::Pending)
    }
}

// Stored by its report name: a name this build does not know is an error, never read as some
// verdict, because every verdict decides what is sent next.
impl Named for Verdict {
    const WHAT: &'static str = "verdict";

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

stored_by_name!(Verdict);

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_has_its_own_name() {
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

    /// The names a journal has stored since before the outcome table must still read back.
    #[test]
    fn every_verdict_keeps_the_name_it_is_stored_by() {
        let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            names,
            [
                "voided",
                "already_voided",
                "refunded",
                "not_voidable",
                "unknown_payment",
                "declined",
                "refund_refused",
                "outcome_unknown",
                "refund_unknown",
                "failed",
                "invalid",
                "pending",
                "nothing_done"
            ]
        );
    }

    #[test]
    fn every_verdict_round_trips_through_sqlite() {
        for verdict in Verdict::ALL {
            assert_eq!(crate::stored::tests::round_trip(verdict), verdict);
        }
    }

    #[test]
    fn an_unknown_stored_verdict_is_an_error_naming_it() {
        let error = crate::stored::tests::read_error::<Verdict>("half_voided");
        assert!(error.contains("verdict \"half_voided\""), "{error}");
    }
}
