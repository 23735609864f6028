//! The ledger as a caller uses it: the same instruction twice moves money once.

mod guard;
mod sso;
