//! The simulator as clients see it: ASMX behaviour, the three protocols, refunds and the
//! listener's limits.

mod asmx;
mod refunds;
mod rest;
mod server;
mod service;
mod sso;
