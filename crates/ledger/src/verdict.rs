//! A row's verdict, its exit-code class, and the exit code of a whole batch.

use std::fmt;

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

/// The exit codes of `instamed-soap batch`.
pub mod exit {
    /// Every row ends voided (or had been voided before).
    pub const VOIDED: u8 = 0;
    /// Some row failed without reaching a verdict (connection, credentials, a rejected
    /// request); none is unknown.
    pub const FAILED: u8 = 1;
    /// The input was refused (unreadable, duplicates: nothing sent), or some rows were invalid
    /// (never sent) and none failed or is unknown: the others may be voided, refused or
    /// refunded, which need nothing, while an invalid row needs its input fixed.
    pub const INVALID: u8 = 2;
    /// Some row was refused by InstaMed (not voidable, unknown payment, declined, refund
    /// refused); none is unknown, failed or invalid.
    pub const REFUSED: u8 = 3;
    /// Some void's outcome is unknown (it may have happened): re-run to reconcile it.
    pub const UNKNOWN: u8 = 5;
    /// Some rows were refunded instead of voided, every other one voided.
    pub const REFUNDED: u8 = 6;
    /// The journal, the ledger or the report could not be used: the journal in use by another
    /// process, a changed input, not a journal; or the report could not be written, whatever
    /// the rows' verdicts (the journal holds them: re-running writes the report).
    pub const JOURNAL: u8 = 7;
    /// Stopped (Ctrl-C, SIGTERM) before every row was done: re-run the same command to resume.
    pub const INTERRUPTED: u8 = 8;
    /// A refund waits for a person: its outcome is unknown and it is never sent again, so
    /// nothing a re-run does settles it. No void is unknown and no row pending: automation
    /// that re-runs on 5 and 8 stops here and hands the rows `refund_unknown` to a person.
    pub const SETTLE_BY_HAND: u8 = 9;
}

/// The classes of rows a batch's exit code reports, most urgent first, each with its code:
/// the first class any row falls in sets the code (every row voided: 0).
///
/// What a re-run settles comes first (stopped, an unknown void), so that automation re-running
/// on 8 and 5 ends; then what only a person settles (a refund of unknown outcome), before any
/// row a re-run would retry (failed). Among the final classes, invalid rows come first: they
/// need someone to fix the input, where a refusal or a refund needs nothing. So a row that
/// failed or was invalid is never hidden behind a refusal or a refund, and a code that hides
/// it (8, 5, 9, 1) is one whose re-run or settling brings it out.
const BATCH_EXIT_ORDER: [(u8, &[Verdict]); 7] = [
    (exit::INTERRUPTED, &[Verdict::Pending]),
    (exit::UNKNOWN, &[Verdict::Unknown]),
    (exit::SETTLE_BY_HAND, &[Verdict::RefundUnknown]),
    (exit::FAILED, &[Verdict::Failed]),
    (exit::INVALID, &[Verdict::Invalid]),
    (
        exit::REFUSED,
        &[
            Verdict::NotVoidable,
            Verdict::UnknownPayment,
            Verdict::Declined,
            Verdict::RefundRefused,
        ],
    ),
    (exit::REFUNDED, &[Verdict::Refunded]),
];

/// The exit code of a batch from how many rows ended with each verdict: the most urgent class
/// wins, in the order of `BATCH_EXIT_ORDER` (pending, unknown void, refund to settle by hand,
/// failed, invalid, refused, refunded), then voided.
pub fn batch_exit_code(count: impl Fn(Verdict) -> u64) -> u8 {
    BATCH_EXIT_ORDER
        .iter()
        .find(|(_, verdicts)| verdicts.iter().any(|v| count(*v) > 0))
        .map_or(exit::VOIDED, |(code, _)| *code)
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

    fn only(wanted: &[Verdict]) -> impl Fn(Verdict) -> u64 + '_ {
        move |v: Verdict| u64::from(wanted.contains(&v))
    }

    #[test]
    fn an_invalid_or_failed_row_is_never_hidden_behind_a_refusal_or_a_refund() {
        use Verdict::*;
        assert_eq!(batch_exit_code(only(&[Voided, Refunded, Invalid])), 2);
        assert_eq!(batch_exit_code(only(&[NotVoidable, Invalid])), 2);
        assert_eq!(
            batch_exit_code(only(&[RefundRefused, Refunded, Invalid])),
            2
        );
        assert_eq!(batch_exit_code(only(&[Refunded, Failed])), 1);
        assert_eq!(batch_exit_code(only(&[Declined, Failed, Invalid])), 1);
    }

    /// The order `docs/ledger.md`, the README and `batch --help` give, written out here so
    /// that the code and the documents cannot part: for any two verdicts, the code is the one
    /// of the verdict whose code comes first.
    #[test]
    fn every_pair_of_verdicts_gives_the_code_that_comes_first_in_the_documented_order() {
        const DOCUMENTED: [u8; 8] = [8, 5, 9, 1, 2, 3, 6, 0];
        let rank = |code: u8| {
            DOCUMENTED
                .iter()
                .position(|c| *c == code)
                .unwrap_or_else(|| panic!("code {code} is not documented"))
        };
        for a in Verdict::ALL {
            for b in Verdict::ALL {
                let alone_a = batch_exit_code(only(&[a]));
                let alone_b = batch_exit_code(only(&[b]));
                let expected = if rank(alone_a) <= rank(alone_b) {
                    alone_a
                } else {
                    alone_b
                };
                assert_eq!(batch_exit_code(only(&[a, b])), expected, "{a} with {b}");
            }
        }
    }
}
