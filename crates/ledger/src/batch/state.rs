//! What the journal stores about a row's progress: the step it takes, where it stands, and
//! which step reached its verdict. Each is one enum, kept in SQLite by name (see `stored.rs`),
//! so that no state is spelled in a query.

use crate::Verdict;
use crate::stored::{Named, stored_by_name};

/// What a step does to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Void the payment: it was never sent, or was known not to have reached the service.
    Void,
    /// Settle an unknown outcome on proof only.
    Reconcile,
    /// Refund the amount after a known not-voidable refusal.
    Refund,
}

impl Action {
    const ALL: [Self; 3] = [Self::Void, Self::Reconcile, Self::Refund];
}

impl Named for Action {
    const WHAT: &'static str = "journal step";

    fn name(self) -> &'static str {
        match self {
            Self::Void => "void",
            Self::Reconcile => "reconcile",
            Self::Refund => "refund",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.name() == name)
    }
}

/// Where a row stands: the `state` column of `rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowState {
    /// The step's request is on its way, or was when the process died: its intent is on disk
    /// and its answer is not.
    Sent(Action),
    /// A verdict; [`Verdict::Pending`] for a row no step has reached.
    At(Verdict),
}

impl RowState {
    /// A row no step has reached.
    pub(crate) const PENDING: Self = Self::At(Verdict::Pending);

    /// The verdict a report gives the row: one caught in flight is an unknown outcome (of a
    /// refund, when the step was one: a refund is never sent twice).
    pub(crate) fn verdict(self) -> Verdict {
        match self {
            Self::Sent(Action::Void | Action::Reconcile) => Verdict::Unknown,
            Self::Sent(Action::Refund) => Verdict::RefundUnknown,
            Self::At(verdict) => verdict,
        }
    }
}

impl Named for RowState {
    const WHAT: &'static str = "journal row state";

    fn name(self) -> &'static str {
        match self {
            Self::Sent(Action::Void) => "void_sent",
            Self::Sent(Action::Reconcile) => "reconcile_sent",
            Self::Sent(Action::Refund) => "refund_sent",
            Self::At(verdict) => verdict.name(),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Action::ALL
            .into_iter()
            .map(Self::Sent)
            .find(|state| state.name() == name)
            .or_else(|| Verdict::from_name(name).map(Self::At))
    }
}

/// What reached a row's verdict: the `step` column of `rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing yet (a pending or invalid row).
    None,
    /// A step sent to the service.
    Took(Action),
    /// The ledger, with nothing sent: another run or command had settled the payment.
    Ledger,
}

impl Named for Step {
    const WHAT: &'static str = "journal row step";

    fn name(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Took(action) => action.name(),
            Self::Ledger => "ledger",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "" => Some(Self::None),
            "ledger" => Some(Self::Ledger),
            other => Action::from_name(other).map(Self::Took),
        }
    }
}

stored_by_name!(Action, RowState, Step);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stored::tests::{read_error, round_trip};

    fn every_state() -> Vec<RowState> {
        Action::ALL
            .into_iter()
            .map(RowState::Sent)
            .chain(Verdict::ALL.into_iter().map(RowState::At))
            .collect()
    }

    #[test]
    fn every_row_state_round_trips_through_sqlite() {
        for state in every_state() {
            assert_eq!(round_trip(state), state, "{}", state.name());
        }
    }

    #[test]
    fn no_two_row_states_share_a_name() {
        let states = every_state();
        for state in &states {
            let same = states.iter().filter(|s| s.name() == state.name()).count();
            assert_eq!(same, 1, "{}", state.name());
        }
    }

    #[test]
    fn every_step_round_trips_through_sqlite() {
        let steps = Action::ALL
            .into_iter()
            .map(Step::Took)
            .chain([Step::None, Step::Ledger]);
        for step in steps {
            assert_eq!(round_trip(step), step, "{:?}", step.name());
        }
        for action in Action::ALL {
            assert_eq!(round_trip(action), action);
        }
    }

    #[test]
    fn a_row_caught_in_flight_reads_as_an_unknown_outcome() {
        assert_eq!(RowState::Sent(Action::Void).verdict(), Verdict::Unknown);
        assert_eq!(
            RowState::Sent(Action::Reconcile).verdict(),
            Verdict::Unknown
        );
        assert_eq!(
            RowState::Sent(Action::Refund).verdict(),
            Verdict::RefundUnknown
        );
        assert_eq!(RowState::PENDING.verdict(), Verdict::Pending);
    }

    #[test]
    fn an_unknown_stored_state_is_an_error_naming_it() {
        let error = read_error::<RowState>("half_sent");
        assert!(error.contains("journal row state \"half_sent\""), "{error}");
        let error = read_error::<Step>("guess");
        assert!(error.contains("journal row step \"guess\""), "{error}");
        let error = read_error::<Action>("charge");
        assert!(error.contains("journal step \"charge\""), "{error}");
    }
}
