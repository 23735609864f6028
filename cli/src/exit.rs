//! Exit codes, so that scripts can tell outcomes apart without parsing text.

use instamed_soap::Error;
use instamed_soap_ledger::Verdict;
use instamed_soap_ledger::batch::Summary;

/// The void went through (or, for other commands, all is well).
pub const VOIDED: u8 = 0;
/// The void did not happen, and InstaMed did not refuse it: connection (a proxy included),
/// TLS, credentials refused, a rejected request (a Client/Sender fault, an NVP error in the
/// 400s, an HTTP 4xx).
pub const FAILED: u8 = 1;
/// The command line, the input or the configuration is invalid (a bad flag value, missing or
/// empty credentials, an unreadable CA file, an unusable proxy URL); nothing was sent.
pub const INVALID: u8 = 2;
/// InstaMed refused the void: declined, not voidable any more, or unknown payment.
pub const REFUSED: u8 = 3;
/// The payment had already been voided: it is voided.
pub const ALREADY_VOIDED: u8 = 4;
/// The void may have gone through: no answer was read, or the service failed while handling
/// it. Reconcile before retrying or refunding.
pub const OUTCOME_UNKNOWN: u8 = 5;
/// `void --or-refund`: the void was refused as too late and the amount was refunded instead.
pub const REFUNDED_INSTEAD: u8 = 6;
/// The ledger or a batch's journal refused to run (cannot be opened or written, in use, not
/// one), or a batch's report cannot be written.
pub const LEDGER: u8 = 7;
/// `batch`: stopped (Ctrl-C, SIGTERM, or `--wait-for-others` ran out) before every row was
/// done: re-run the same command to resume.
pub const INTERRUPTED: u8 = 8;
/// A refund waits for a person: one of this payment may have been made and nobody knows (its
/// answer was lost, or it is in flight elsewhere). Software never sends it again; re-running
/// changes nothing until `instamed-soap ledger settle` records what a person found.
pub const SETTLE_BY_HAND: u8 = 9;
/// The ledger holds a refund made of this payment, and this command asks for a different one:
/// nothing was sent (`--after-refund REFUND_ID`, naming the latest refund, sends a further one on
/// purpose).
pub const ALREADY_REFUNDED: u8 = 10;
/// `serve`, `record`, `replay`: the address asked for is taken by another listener. Its own code, not "failed to
/// start", because a script can pick another port and try again, which it cannot do for the
/// other reasons not to start.
pub const ADDRESS_IN_USE: u8 = 11;
/// `sso void`: nothing was done: the token expired, or the person left InstaMed's page without
/// voiding. A known "not voided", unlike 5: the payment is as it was.
pub const NOTHING_DONE: u8 = 12;

/// Which commands can end with a code.
#[derive(Debug, Clone, Copy)]
pub enum GivenBy {
    /// Every command (success, and a command line clap refuses).
    Every,
    /// These commands only, named as typed after `instamed-soap` (`contract verify`).
    Only(&'static [&'static str]),
}

impl GivenBy {
    /// Whether `command` (as typed after `instamed-soap`, e.g. `contract verify`) can end with
    /// this code. The table names a group (`ledger`) for all its commands, and a group's page
    /// lists what its commands give.
    pub fn includes(self, command: &str) -> bool {
        let within = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        };
        match self {
            Self::Every => true,
            Self::Only(commands) => commands
                .iter()
                .any(|given| within(given, command) || within(command, given)),
        }
    }
}

impl std::fmt::Display for GivenBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Every => f.write_str("every command"),
            Self::Only(commands) => f.write_str(&commands.join(", ")),
        }
    }
}

/// One exit code: what it is called, what it means whichever command gives it, and which
/// commands give it.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    /// The number the process exits with.
    pub code: u8,
    /// A short name, the same in `--help`, the man pages and the README.
    pub name: &'static str,
    /// What it means, and what to do about it.
    pub meaning: &'static str,
    /// The commands that can end with it.
    pub given_by: GivenBy,
}

/// The commands that send payments and consult the ledger around each.
const PAYING: &[&str] = &["void", "refund", "reconcile", "batch", "sso"];

/// Every exit code of every command, in order: the one place they are defined. `--help`, the
/// man pages and the README's "Exit codes" are generated from or checked against it, so that
/// no code can come to mean two things in two places.
pub const TABLE: [Status; 13] = [
    Status {
        code: VOIDED,
        name: "success",
        meaning: "voided (refund: refunded; reconcile: the payment is voided; batch: every row \
                  voided); for the other commands, done (a server: stopped by Ctrl-C or SIGTERM \
                  after answering the requests in flight)",
        given_by: GivenBy::Every,
    },
    Status {
        code: FAILED,
        name: "failed",
        meaning: "not done and not refused: connection (proxy included), TLS, credentials \
                  refused, a rejected request (Client/Sender fault, NVP error in the 400s, HTTP \
                  4xx); a server that could not start; a cassette that failed, or a count of replayed \
                  requests that does not hold",
        given_by: GivenBy::Only(&[
            "void",
            "refund",
            "reconcile",
            "batch",
            "sso",
            "serve",
            "gateway",
            "demo",
            "record",
            "replay",
            "bench",
            "soak",
            "contract verify",
            "contract verify-calls",
            "contract import-har",
            "man",
        ]),
    },
    Status {
        code: INVALID,
        name: "invalid",
        meaning: "the command line, the input or the configuration is wrong (missing or empty credentials, a \
                  bad --timeout, an unreadable CA file, an unusable proxy URL, rows never sent); \
                  nothing was sent",
        given_by: GivenBy::Every,
    },
    Status {
        code: REFUSED,
        name: "refused",
        meaning: "InstaMed refused it: declined, not voidable any more (refund instead), unknown \
                  payment; a refund of more than is left or older than the refund window",
        given_by: GivenBy::Only(PAYING),
    },
    Status {
        code: ALREADY_VOIDED,
        name: "already voided",
        meaning: "the payment had been voided before: it is voided",
        given_by: GivenBy::Only(&["void", "reconcile", "sso"]),
    },
    Status {
        code: OUTCOME_UNKNOWN,
        name: "outcome unknown",
        meaning: "the void may have gone through (no answer read, a Server/Receiver fault, an NVP \
                  error in the 500s, an HTTP 5xx); re-run, or `reconcile`: the ledger makes the \
                  next run reconcile before anything else is sent",
        given_by: GivenBy::Only(PAYING),
    },
    Status {
        code: REFUNDED_INSTEAD,
        name: "refunded instead",
        meaning: "void --or-refund: the void was refused as too late, and the amount was \
                  refunded instead",
        given_by: GivenBy::Only(&["void", "batch"]),
    },
    Status {
        code: LEDGER,
        name: "ledger unavailable",
        meaning: "the ledger or a batch journal refused to run (cannot be opened or written, in \
                  use by another process, not one, a changed input): nothing was sent; or a \
                  batch report cannot be written (the journal keeps the verdicts: re-run to \
                  write it)",
        given_by: GivenBy::Only(&[
            "void",
            "refund",
            "reconcile",
            "batch",
            "ledger",
            "gateway",
            "sso",
        ]),
    },
    Status {
        code: INTERRUPTED,
        name: "interrupted",
        meaning: "stopped (Ctrl-C, SIGTERM, or --wait-for-others ran out) before every row was \
                  done: re-run the same command to resume",
        given_by: GivenBy::Only(&["batch"]),
    },
    Status {
        code: SETTLE_BY_HAND,
        name: "settle by hand",
        meaning: "a refund waits for a person: it may have been made (its answer was lost, or it \
                  is in flight elsewhere) and is never sent again; check the payment's refunds \
                  with InstaMed, then record what you found with `instamed-soap ledger settle`",
        given_by: GivenBy::Only(&["void", "refund", "batch"]),
    },
    Status {
        code: ALREADY_REFUNDED,
        name: "already refunded",
        meaning: "the ledger holds a refund made of this payment and this is a different one: \
                  nothing sent (add --after-refund REFUND_ID, the latest refund, to refund again \
                  on purpose)",
        given_by: GivenBy::Only(&["void", "refund"]),
    },
    Status {
        code: ADDRESS_IN_USE,
        name: "address in use",
        meaning: "the address asked for is already in use: pick another port, or port 0 for a \
                  free one",
        given_by: GivenBy::Only(&["serve", "record", "replay", "gateway"]),
    },
    Status {
        code: NOTHING_DONE,
        name: "nothing done",
        meaning: "sso: the token expired or the person left InstaMed's page without voiding; the \
                  payment is as it was (launch the page again to void it)",
        given_by: GivenBy::Only(&["sso"]),
    },
];

/// The line that starts the exit-code section of `--help`: the man pages put that section
/// under EXIT STATUS instead, and cut it from the text they show.
pub const HEADING: &str = "Exit codes:";

/// How wide `--help` text is wrapped: clap does not wrap `after_help` (no `wrap_help`).
const WIDTH: usize = 92;

/// The codes `command` (as typed after `instamed-soap`, e.g. `contract verify`) can end with.
pub fn of_command(command: &str) -> impl Iterator<Item = &'static Status> + '_ {
    TABLE.iter().filter(move |s| s.given_by.includes(command))
}

/// The exit-code section of `--help`: for a command, its own codes; for `None` (the top),
/// every code and the commands that give it. Always last in `after_help` (see [`HEADING`]).
pub fn section(command: Option<&str>) -> String {
    let mut text = String::from(HEADING);
    let statuses: Vec<&Status> = match command {
        Some(command) => of_command(command).collect(),
        None => TABLE.iter().collect(),
    };
    for status in statuses {
        let mut entry = format!("{}: {}", status.name, status.meaning);
        if command.is_none() {
            entry = format!("{entry} ({})", status.given_by);
        }
        text.push('\n');
        text.push_str(&wrapped(&format!("{:>3}  ", status.code), &entry));
    }
    text
}

/// A command's `after_help`: its notes (none when empty), its outcomes (none for a command
/// that has none), then its exit codes.
pub fn help(command: &str, notes: &str) -> String {
    [notes.to_owned(), outcomes(command), section(Some(command))]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `text` after `first`, wrapped at [`WIDTH`] on spaces only (so that joining the lines with
/// one space gives the text back), the following lines indented as far as `first`.
fn wrapped(first: &str, text: &str) -> String {
    let indent = " ".repeat(first.len());
    let mut out = String::from(first);
    let mut line_len = first.len();
    let mut at_start = true;
    for word in text.split(' ') {
        if !at_start && line_len + 1 + word.len() > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            line_len = indent.len();
            at_start = true;
        }
        if !at_start {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
        at_start = false;
    }
    out
}

/// What `void`, `refund` and `reconcile` say in `--help` before their exit codes.
pub const PAYING_NOTES: &str = "\
Credentials come from INSTAMED_ACCOUNT_ID and INSTAMED_PASSWORD (SOAP, NVP), or
INSTAMED_API_KEY and INSTAMED_API_SECRET (REST); never echoed.

The ledger (--ledger, INSTAMED_LEDGER; default $XDG_STATE_HOME/instamed-soap/ledger.db or
~/.local/state/instamed-soap/ledger.db) records every intent before it is sent and every
answer after: run twice, the same instruction moves money once. A payment known voided is
answered from it (0, or 4); the same refund, once made, too (0, or 6); an earlier void of
unknown outcome is reconciled before anything else is sent.";

/// The exit code for a failed void, refund or reconciliation: its outcome's, from the one
/// outcome table (an error's outcome gives every command the same code).
pub fn code_for(error: &Error) -> u8 {
    error
        .outcome()
        .described()
        .exits
        .first()
        .map_or(FAILED, |exit| exit.code)
}

/// The exit code `void` (or `void --or-refund`) would give a batch row alone: the report's
/// `exit_class` column, from the one outcome table.
pub fn of_row(verdict: Verdict) -> u8 {
    let outcome = verdict.outcome();
    // A verdict the table gives no code for may hide a void or a refund that happened.
    outcome
        .exit_code("void")
        .or_else(|| outcome.exit_code("batch"))
        .unwrap_or(OUTCOME_UNKNOWN)
}

/// The heading of the outcome section of `--help`, before the exit codes; the man pages put
/// it under OUTCOMES.
pub const OUTCOMES_HEADING: &str =
    "Outcomes (the \"outcome\" of --json, a ledger entry's and a batch row's verdict):";

/// The outcome section of `--help` for `command`: each outcome it can end with, its exit code
/// and meaning, from `instamed_soap::outcome::TABLE`. Empty for a command that has none.
pub fn outcomes(command: &str) -> String {
    let rows: Vec<String> = instamed_soap::outcome::TABLE
        .iter()
        .filter_map(|row| {
            // A batch row's code is the one `void` would give it alone (the report's
            // exit_class); the batch's own is its most urgent row's.
            let code = if command == "batch" {
                Verdict::ALL
                    .into_iter()
                    .find(|verdict| verdict.outcome() == row.outcome)
                    .map(of_row)?
            } else {
                row.outcome.exit_code(command)?
            };
            // The name two spaces in, its meaning's further lines four: a reader (and the
            // man page) tells the rows apart.
            let text = wrapped("    ", &format!("{} ({code}): {}", row.name, row.meaning));
            Some(text[2..].to_owned())
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!("{OUTCOMES_HEADING}\n{}", rows.join("\n"))
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
    (INTERRUPTED, &[Verdict::Pending]),
    (OUTCOME_UNKNOWN, &[Verdict::Unknown]),
    (SETTLE_BY_HAND, &[Verdict::RefundUnknown]),
    (FAILED, &[Verdict::Failed]),
    (INVALID, &[Verdict::Invalid]),
    (
        REFUSED,
        &[
            Verdict::NotVoidable,
            Verdict::UnknownPayment,
            Verdict::Declined,
            Verdict::RefundRefused,
        ],
    ),
    (REFUNDED_INSTEAD, &[Verdict::Refunded]),
];

/// The exit code of a batch from how many rows ended with each verdict: the most urgent class
/// wins, in the order of `BATCH_EXIT_ORDER` (pending, unknown void, refund to settle by hand,
/// failed, invalid, refused, refunded), then voided.
fn of_counts(count: impl Fn(Verdict) -> u64) -> u8 {
    BATCH_EXIT_ORDER
        .iter()
        .find(|(_, verdicts)| verdicts.iter().any(|v| count(*v) > 0))
        .map_or(VOIDED, |(code, _)| *code)
}

/// The exit code of a batch: a run that was stopped says so (8), whatever its rows say,
/// because a re-run has work left (a refund it did not start); otherwise its most urgent rows.
pub fn of_batch(summary: &Summary) -> u8 {
    if summary.interrupted {
        return INTERRUPTED;
    }
    of_counts(|verdict| summary.count(verdict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_exit_code_means_two_things() {
        for (i, status) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..]
                    .iter()
                    .all(|other| other.code != status.code && other.name != status.name),
                "{} ({}) is in the table twice",
                status.code,
                status.name
            );
        }
        // In order, so that `--help`, the man pages and the README read 0, 1, 2...
        assert!(TABLE.windows(2).all(|pair| pair[0].code < pair[1].code));
    }

    /// The outcome table (in the client) and this exit-code table must agree: every code an
    /// outcome gives is here, for the same commands.
    #[test]
    fn every_outcome_exit_code_is_in_the_exit_table_for_its_commands() {
        for row in instamed_soap::outcome::TABLE {
            for given in row.exits {
                let status = TABLE
                    .iter()
                    .find(|status| status.code == given.code)
                    .unwrap_or_else(|| {
                        panic!("{} gives {}, not in the table", row.name, given.code)
                    });
                for command in given.commands {
                    assert!(
                        status.given_by.includes(command),
                        "{} gives {command} exit {}, which the table does not give it",
                        row.name,
                        given.code
                    );
                }
            }
        }
        assert!(outcomes("void").contains("unknown_payment (3)"));
        assert!(outcomes("refund").contains("refunded (0)"));
        assert!(outcomes("void").contains("refunded (6)"));
        assert!(outcomes("serve").is_empty());
    }

    #[test]
    fn help_lines_fit_and_each_command_lists_only_its_own_codes() {
        let top = section(None);
        assert!(top.lines().all(|line| line.len() <= WIDTH), "{top}");
        assert_eq!(
            section(Some("serve"))
                .lines()
                .filter(|l| l.starts_with(" 11"))
                .count(),
            1
        );
        assert!(!section(Some("void")).contains(" 11  "));
    }

    #[test]
    fn the_most_urgent_class_sets_the_exit_code() {
        let only = |wanted: &'static [Verdict]| move |v: Verdict| u64::from(wanted.contains(&v));
        assert_eq!(
            of_counts(only(&[Verdict::Voided, Verdict::AlreadyVoided])),
            0
        );
        assert_eq!(of_counts(only(&[Verdict::Voided, Verdict::Refunded])), 6);
        assert_eq!(
            of_counts(only(&[Verdict::Refunded, Verdict::NotVoidable])),
            3
        );
        assert_eq!(
            of_counts(only(&[Verdict::NotVoidable, Verdict::Unknown])),
            5
        );
        assert_eq!(of_counts(only(&[Verdict::Voided, Verdict::Invalid])), 2);
        assert_eq!(
            of_counts(only(&[Verdict::RefundUnknown, Verdict::Failed])),
            9
        );
        assert_eq!(
            of_counts(only(&[Verdict::Voided, Verdict::RefundUnknown])),
            9
        );
        assert_eq!(
            of_counts(only(&[Verdict::RefundUnknown, Verdict::Unknown])),
            5
        );
        assert_eq!(
            of_counts(only(&[Verdict::RefundUnknown, Verdict::Pending])),
            8
        );
        assert_eq!(of_counts(only(&[Verdict::Unknown, Verdict::Pending])), 8);
    }

    fn only(wanted: &[Verdict]) -> impl Fn(Verdict) -> u64 + '_ {
        move |v: Verdict| u64::from(wanted.contains(&v))
    }

    #[test]
    fn an_invalid_or_failed_row_is_never_hidden_behind_a_refusal_or_a_refund() {
        use Verdict::*;
        assert_eq!(of_counts(only(&[Voided, Refunded, Invalid])), 2);
        assert_eq!(of_counts(only(&[NotVoidable, Invalid])), 2);
        assert_eq!(of_counts(only(&[RefundRefused, Refunded, Invalid])), 2);
        assert_eq!(of_counts(only(&[Refunded, Failed])), 1);
        assert_eq!(of_counts(only(&[Declined, Failed, Invalid])), 1);
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
                let alone_a = of_counts(only(&[a]));
                let alone_b = of_counts(only(&[b]));
                let expected = if rank(alone_a) <= rank(alone_b) {
                    alone_a
                } else {
                    alone_b
                };
                assert_eq!(of_counts(only(&[a, b])), expected, "{a} with {b}");
            }
        }
    }
}
