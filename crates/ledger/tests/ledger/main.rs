//! The ledger as a caller uses it: the same instruction twice moves money once.

mod by_hand;
mod guard;
mod sso;
