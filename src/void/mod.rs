//! The domain: what a void asks for, what it returns, and how an answer is judged.

mod outcome;
mod receipt;
mod reconcile;
mod request;

pub use outcome::VoidAnswer;
pub(crate) use outcome::{
    Rule, fault_verdict, judge, judge_nvp, judge_soap, nvp_statuses, verdict,
};
pub use receipt::VoidReceipt;
pub use reconcile::VoidConfirmation;
// The payment ID, where the judging code (`outcome`) has always found it.
use crate::domain::TransactionId;
pub use request::VoidRequest;
