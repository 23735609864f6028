//! The domain: what a void asks for, what it returns, and how an answer is judged.

mod outcome;
mod receipt;
mod reconcile;
mod request;

pub use outcome::VoidAnswer;
pub(crate) use outcome::{judge_nvp, judge_soap};
pub use receipt::VoidReceipt;
pub use reconcile::VoidConfirmation;
pub use request::{CardPresentStatus, Outlet, TransactionId, VoidRequest};
