//! Judging an answer on its evidence, the way InstaMed says to: by transaction status, never
//! by the response code or message, which only give context and vary in production. A void and
//! a simple refund are judged here by the same statuses, each with its own [`Rule`].
//!
//! The rules, one row each, are in `docs/outcomes.md`. In short:
//! - every answer must be about this payment: its `PrimaryTransactionID`, when given, names
//!   it; a void's `TransactionID`, when given, is the payment's own (a void keeps the payment's
//!   ID), a refund's never is (a refund is a new transaction with an ID of its own);
//! - a receipt needs `TransactionStatus` `C` and `PrimaryTransactionStatus` `V` about this
//!   payment;
//! - a *known refusal* needs structured evidence: `TransactionStatus` `D` or `X` in a result, in
//!   a fault's detail or beside an NVP error; or a request the service rejected as such (a
//!   SOAP `Client`/`Sender` fault, an NVP error code in the 400s), which voided nothing;
//! - statuses pick which refusal it is (`PrimaryTransactionStatus` `V`: already voided; `S`,
//!   `SE`: not voidable any more); only then may the wording pick, and only among refusals
//!   already known to be refusals;
//! - "not voidable", the refusal that advises and triggers a refund, needs both statuses:
//!   `TransactionStatus` `D`/`X` and a `PrimaryTransactionStatus` present and not `V`. Money
//!   never moves on words: without a payment status a refusal is at most "already voided"
//!   or "unknown payment" by its wording, otherwise declined;
//! - anything else the service said about a void it may have carried out (a `Server`/`Receiver`
//!   fault, an NVP error in the 500s or without a code) leaves the outcome unknown, whatever its
//!   words.
//!
//! Where each part lives: `statuses` maps a result's statuses to a verdict, `fault` reads a SOAP
//! fault's detail, `nvp` reads NVP pairs and errors, `refusal` sorts a known refusal by the
//! void's rules (`void`) or the refund's (`refund`), `sso` reads what a Single Sign-On void's
//! details say about the payment, and `wording` is where words are read.

mod evidence;
mod fault;
mod kind;
mod nvp;
mod refund;
mod refusal;
mod sso;
mod statuses;
mod void;
mod wording;

#[cfg(test)]
pub(crate) mod testing;

pub use evidence::Evidence;
pub(crate) use fault::fault_verdict;
pub(crate) use nvp::nvp_statuses;
pub(crate) use sso::{PageVerdict, sso_details};
pub(crate) use statuses::verdict;

/// What an answer must show for an exchange to have succeeded, and how its refusals are told
/// apart: a void and a simple refund are judged by the same statuses, with their own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `TransactionStatus` `C` and `PrimaryTransactionStatus` `V`.
    Void,
    /// `TransactionStatus` `C`, the refund's own `TransactionID` (not the payment's), and no
    /// `PrimaryTransactionStatus` `V`.
    Refund,
}
