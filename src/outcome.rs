//! The one vocabulary of outcomes: a name for each way an instruction about a payment can end,
//! the same in every command's text and `--json`, in the ledger and a batch's journal and
//! report, in the simulator's request lines, in the client's spans and in any API built on the
//! client.
//!
//! [`TABLE`] holds each name with what it means, the exit code it gives and the commands that
//! end with it. `--help`, the man pages and `docs/outcomes.md` are generated from it or checked
//! against it, so a name cannot mean two things in two places.
//!
//! An outcome is coarser than an [`Error`](crate::Error)'s kind: a refused TLS handshake and
//! refused credentials are both `failed` (nothing happened, and InstaMed refused nothing),
//! while [`Error::code`](crate::Error::code) keeps the finer, stable word (`tls_error`,
//! `authentication_refused`) for scripts, logs and cassettes that need it.

use std::fmt;

/// How an instruction about a payment ended (or stands), in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// The payment is voided: by this void, or confirmed voided by reconciliation.
    Voided,
    /// The payment had been voided before this void.
    AlreadyVoided,
    /// Too late to void: the payment's funds transfer has begun (a refund is the way on).
    NotVoidable,
    /// InstaMed knows no such payment at that outlet.
    UnknownPayment,
    /// InstaMed declined for another reason.
    Declined,
    /// The amount was refunded (by `refund`, or instead of a void that came too late).
    Refunded,
    /// A refund asked for more than is left of the payment.
    OverRefundable,
    /// The payment is older than the refund window.
    RefundWindowPassed,
    /// A batch row's refund was refused on structured evidence (any refusal of a refund).
    RefundRefused,
    /// A refund may have been made: a person settles it, software never resends it.
    RefundUnknown,
    /// The ledger holds a refund made of this payment, and this is a different one.
    AlreadyRefunded,
    /// The void may have gone through: reconcile before anything else.
    OutcomeUnknown,
    /// Not done and not refused: nothing reached InstaMed, or it rejected the request itself.
    Failed,
    /// The command line, the input or the configuration is wrong; nothing was sent.
    Invalid,
    /// A batch row not reached: the batch was stopped before it.
    Pending,
    /// A ledger entry sent (or about to be) whose answer is not recorded yet.
    Sent,
    /// Single Sign-On: the person left InstaMed's page without voiding, or the token expired.
    NothingDone,
}

/// An exit code an outcome gives, and the commands that give it with that code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exit {
    /// The process's exit code.
    pub code: u8,
    /// The commands, as typed after `instamed-soap`, that end with this code (`batch`: a
    /// batch whose most urgent row has this outcome).
    pub commands: &'static [&'static str],
}

/// One row of the outcome table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Described {
    /// The outcome.
    pub outcome: Outcome,
    /// Its one name, in `snake_case`: the `outcome` of every `--json`, a ledger entry's and a
    /// batch row's `verdict`.
    pub name: &'static str,
    /// What it means for the money, and what to do next.
    pub meaning: &'static str,
    /// The exit codes it gives, by command (none: a state shown, never an ending).
    pub exits: &'static [Exit],
}

const fn exit(code: u8, commands: &'static [&'static str]) -> Exit {
    Exit { code, commands }
}

/// Every outcome, in the order the documents list them. The one place the names are defined.
pub const TABLE: [Described; 17] = [
    Described {
        outcome: Outcome::Voided,
        name: "voided",
        meaning: "the payment is voided: by this void, or confirmed voided (PrimaryTransactionStatus V) \
                  by reconciliation",
        exits: &[exit(0, &["void", "reconcile", "batch", "sso"])],
    },
    Described {
        outcome: Outcome::AlreadyVoided,
        name: "already_voided",
        meaning: "the payment had been voided before this void: it is voided (a batch row's \
                  exit_class is 4, the batch's own code 0)",
        exits: &[exit(4, &["void", "reconcile", "sso"])],
    },
    Described {
        outcome: Outcome::NotVoidable,
        name: "not_voidable",
        meaning: "too late to void (PrimaryTransactionStatus says the funds transfer began): refund \
                  instead, e.g. with --or-refund",
        exits: &[exit(3, &["void", "reconcile", "batch"])],
    },
    Described {
        outcome: Outcome::UnknownPayment,
        name: "unknown_payment",
        meaning: "InstaMed knows no such payment at that outlet: check the transaction ID and the \
                  outlet",
        exits: &[exit(3, &["void", "reconcile", "refund", "batch"])],
    },
    Described {
        outcome: Outcome::Declined,
        name: "declined",
        meaning: "InstaMed declined for another reason (its words are in the message)",
        exits: &[exit(3, &["void", "reconcile", "refund", "batch", "sso"])],
    },
    Described {
        outcome: Outcome::Refunded,
        name: "refunded",
        meaning: "the amount was refunded: by refund, or instead of a void refused as too late \
                  (void --or-refund, batch --or-refund)",
        exits: &[exit(0, &["refund"]), exit(6, &["void", "batch"])],
    },
    Described {
        outcome: Outcome::OverRefundable,
        name: "over_refundable",
        meaning: "the refund asked for more than is left of the payment; nothing was refunded",
        exits: &[exit(3, &["refund", "void"])],
    },
    Described {
        outcome: Outcome::RefundWindowPassed,
        name: "refund_window_passed",
        meaning: "the payment is older than the refund window; nothing was refunded",
        exits: &[exit(3, &["refund", "void"])],
    },
    Described {
        outcome: Outcome::RefundRefused,
        name: "refund_refused",
        meaning: "a batch row's refund was refused on structured evidence (over the refundable \
                  amount, too old, declined); nothing was refunded",
        exits: &[exit(3, &["batch"])],
    },
    Described {
        outcome: Outcome::RefundUnknown,
        name: "refund_unknown",
        meaning: "a refund may have been made and nothing read proves it either way: it is never \
                  sent again; check the payment's refunds with InstaMed, then record what you \
                  found with `instamed-soap ledger settle`",
        exits: &[exit(9, &["refund", "void", "batch"])],
    },
    Described {
        outcome: Outcome::AlreadyRefunded,
        name: "already_refunded",
        meaning: "the ledger holds a refund made of this payment and this is a different one: \
                  nothing was sent (--after-refund REFUND_ID refunds again on purpose)",
        exits: &[exit(10, &["refund", "void"])],
    },
    Described {
        outcome: Outcome::OutcomeUnknown,
        name: "outcome_unknown",
        meaning: "the void may have gone through (no answer read, or the service failed while \
                  handling it): run the reconcile command the hint gives before anything else",
        exits: &[exit(5, &["void", "reconcile", "refund", "batch", "sso"])],
    },
    Described {
        outcome: Outcome::Failed,
        name: "failed",
        meaning: "not done and not refused: nothing reached InstaMed (connection, proxy, TLS), \
                  it refused the credentials, or it rejected the request itself; safe to send \
                  again once the cause is fixed",
        exits: &[exit(1, &["void", "reconcile", "refund", "batch", "sso"])],
    },
    Described {
        outcome: Outcome::Invalid,
        name: "invalid",
        meaning: "the command line, the input or the configuration is wrong; nothing was sent",
        exits: &[exit(2, &["void", "reconcile", "refund", "batch", "sso"])],
    },
    Described {
        outcome: Outcome::Pending,
        name: "pending",
        meaning: "a batch row not reached: the batch was stopped before it; re-run the same \
                  command to resume",
        exits: &[exit(8, &["batch"])],
    },
    Described {
        outcome: Outcome::Sent,
        name: "sent",
        meaning: "a ledger entry whose request was sent (or was about to be) and whose answer is \
                  not recorded: in flight, or lost with its process (ledger list --open)",
        exits: &[],
    },
    Described {
        outcome: Outcome::NothingDone,
        name: "nothing_done",
        meaning: "sso: the token expired or the person left InstaMed's page without voiding; the \
                  payment is as it was (launch the page again to void it)",
        exits: &[exit(12, &["sso"])],
    },
];

impl Outcome {
    /// Every outcome, in the table's order.
    pub const ALL: [Self; 17] = {
        let mut all = [Self::Voided; 17];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].outcome;
            i += 1;
        }
        all
    };

    /// Its row of [`TABLE`].
    pub const fn described(self) -> &'static Described {
        // A match, not a search: an outcome added without its row does not compile, where a
        // search would need a row to fall back on, and any row would give the new outcome
        // another's name and exit code (the first, `voided`, exit 0).
        &TABLE[match self {
            Self::Voided => 0,
            Self::AlreadyVoided => 1,
            Self::NotVoidable => 2,
            Self::UnknownPayment => 3,
            Self::Declined => 4,
            Self::Refunded => 5,
            Self::OverRefundable => 6,
            Self::RefundWindowPassed => 7,
            Self::RefundRefused => 8,
            Self::RefundUnknown => 9,
            Self::AlreadyRefunded => 10,
            Self::OutcomeUnknown => 11,
            Self::Failed => 12,
            Self::Invalid => 13,
            Self::Pending => 14,
            Self::Sent => 15,
            Self::NothingDone => 16,
        }]
    }

    /// Its one name (`unknown_payment`, `refunded`, …).
    pub const fn name(self) -> &'static str {
        self.described().name
    }

    /// The outcome a name stands for: `None` for a name the table does not hold.
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|d| d.name == name).map(|d| d.outcome)
    }

    /// The exit code `command` (as typed after `instamed-soap`) gives with this outcome.
    pub fn exit_code(self, command: &str) -> Option<u8> {
        self.described()
            .exits
            .iter()
            .find(|exit| exit.commands.contains(&command))
            .map(|exit| exit.code)
    }
}

impl Described {
    /// Whether `command` can end with this outcome.
    pub fn given_by(&self, command: &str) -> bool {
        self.exits
            .iter()
            .any(|exit| exit.commands.contains(&command))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_one_row_and_one_name() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(Outcome::ALL[i], row.outcome);
            assert_eq!(row.outcome.described(), row, "{}", row.name);
            assert!(
                TABLE[i + 1..]
                    .iter()
                    .all(|other| other.name != row.name && other.outcome != row.outcome),
                "{} is in the table twice",
                row.name
            );
            assert_eq!(Outcome::from_name(row.name), Some(row.outcome));
            assert!(
                row.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn no_command_gives_an_outcome_two_exit_codes() {
        for row in TABLE {
            for (i, exit) in row.exits.iter().enumerate() {
                for command in exit.commands {
                    assert!(
                        row.exits[i + 1..]
                            .iter()
                            .all(|other| !other.commands.contains(command)),
                        "{} gives {command} two codes",
                        row.name
                    );
                }
            }
        }
        assert_eq!(Outcome::Refunded.exit_code("refund"), Some(0));
        assert_eq!(Outcome::Refunded.exit_code("void"), Some(6));
        assert_eq!(Outcome::Sent.exit_code("void"), None);
    }
}
