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
     fault, an NVP error in the 500s, an HTTP 5xx); reconcile before retrying or refunding
     (`reconcile`, or `void --reconcile`). For a refund: it may have been made; check the
     payment's refunds by hand before refunding again (a refund is never retried)
  6  void --or-refund: the void was refused as too late, and the amount was refunded instead
  3 also covers a refund refused: more than is left to refund, older than the refund window.
  `batch` has codes of its own (7, 8, and 9 when its only open rows are refunds to settle
  by hand): see `batch --help`";

/// The exit code for a failed void.
pub fn code_for(error: &Error) -> u8 {
    match error {
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
