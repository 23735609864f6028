//! Money as the simulator keeps it: the crate's [`Amount`](crate::rest::Amount), whole cents.

pub use crate::rest::{Amount, InvalidAmount};
