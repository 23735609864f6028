//! The domain: what a void asks for, what it returns, and how an answer is judged.

mod outcome;
mod receipt;
mod reconcile;
mod request;
mod response;

pub(crate) use outcome::{judge, judge_nvp, judge_soap};
pub use receipt::VoidReceipt;
pub use reconcile::VoidConfirmation;
pub(crate) use request::SoapVoid;
pub use request::VoidRequest;
pub(crate) use response::SoapVoidResponse;
// The evidence of an answer, which the refund shares, lives with the rules that judge it.
pub use crate::verdict::Evidence;
