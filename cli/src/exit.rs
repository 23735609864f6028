//! Exit codes, so that scripts can tell outcomes apart without parsing text.

use instamed_soap::Error;

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
/// The ledger cannot be opened or written (and for `batch`, the journal refused to run):
/// nothing was sent.
pub const LEDGER: u8 = 7;
/// A refund waits for a person: one of this payment may have been made and nobody knows (its
/// answer was lost, or it is in flight elsewhere). Software never sends it again; re-running
/// changes nothing until `instamed-soap ledger settle` records what a person found.
pub const SETTLE_BY_HAND: u8 = 9;
/// The ledger holds a refund made of this payment, and this command asks for a different one:
/// nothing was sent (`--after-refund REFUND_ID`, naming the latest refund, sends a further one on
/// purpose).
pub const ALREADY_REFUNDED: u8 = 10;

/// The exit codes, for `--help`.
pub const HELP: &str = "\
Credentials come from INSTAMED_ACCOUNT_ID and INSTAMED_PASSWORD (SOAP, NVP), or
INSTAMED_API_KEY and INSTAMED_API_SECRET (REST); never echoed.

Exit codes:
  0  voided (refund: refunded; reconcile: the payment is voided)
  1  not voided, not refused: connection (proxy included), TLS, credentials refused, a
     rejected request (Client/Sender fault, NVP error in the 400s, HTTP 4xx)
  2  invalid command line, input or configuration (missing or empty credentials, a bad
     --timeout, an unreadable CA file, an unusable proxy URL); nothing was sent
  3  refused by InstaMed: declined, not voidable any more (refund instead), unknown payment
  4  already voided: the payment is voided
  5  outcome unknown: the void may have gone through (no answer read, a Server/Receiver
     fault, an NVP error in the 500s, an HTTP 5xx); re-run, or `reconcile`: the ledger
     makes the next run reconcile before anything else is sent
  6  void --or-refund: the void was refused as too late, and the amount was refunded instead
  7  the ledger cannot be opened or written; nothing was sent
  9  a refund waits for a person: it may have been made (its answer was lost, or it is in
     flight elsewhere) and is never sent again; check the payment's refunds with InstaMed,
     then record what you found with `instamed-soap ledger settle`
 10  the ledger holds a refund made of this payment and this is a different one: nothing
     sent (add --after-refund REFUND_ID, the latest refund, to refund again on purpose)
  3 also covers a refund refused: more than is left to refund, older than the refund window

The ledger (--ledger, INSTAMED_LEDGER; default $XDG_STATE_HOME/instamed-soap/ledger.db or
~/.local/state/instamed-soap/ledger.db) records every intent before it is sent and every
answer after: run twice, the same instruction moves money once. A payment known voided is
answered from it (0, or 4); the same refund, once made, too (0, or 6); an earlier void of
unknown outcome is reconciled before anything else is sent.";

/// The exit code for a failed void.
pub fn code_for(error: &Error) -> u8 {
    match error {
        // Nothing a re-run does settles it: a person must.
        Error::RefundOutcomeUnknown(_) => SETTLE_BY_HAND,
        _ if error.outcome_unknown() => OUTCOME_UNKNOWN,
        Error::InvalidRequest(_) | Error::InvalidConfig { .. } => INVALID,
        Error::AlreadyVoided(_) => ALREADY_VOIDED,
        Error::Declined(_)
        | Error::NotVoidable(_)
        | Error::UnknownTransaction(_)
        | Error::OverRefundable(_)
        | Error::RefundWindowPassed(_) => REFUSED,
        _ => FAILED,
    }
}
