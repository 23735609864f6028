//! The bottom layer: the values a payment is named and measured by (its ID, the outlet that
//! took it, how the card was present, an amount of money) and the error a value that breaks
//! InstaMed's rules is refused with.
//!
//! Everything above (errors, the SOAP, NVP and REST models, the call layer, the client) builds
//! on these, so this module imports nothing of the crate: a value is checked once, when it is
//! made, and the same rules hold whichever protocol carries it.

mod amount;
mod card_present;
mod id;
mod invalid;
mod outlet;
mod transaction;

pub use amount::{Amount, InvalidAmount};
pub use card_present::CardPresentStatus;
pub use invalid::InvalidRequest;
pub use outlet::Outlet;
pub use transaction::TransactionId;
