//! Measuring the client, kept out of the client: `compare` runs voids through our client and
//! through a bare hyper + rustls client posting the same envelopes, side by side, and reports
//! calls per second, CPU per call and memory; `soak` sends many concurrent voids at the
//! simulator with faults injected and accounts for every one against the simulator's books;
//! `gateway` measures what the gateway adds over a direct call, beside nginx and the disk's
//! fsync, with its throughput, its ledger's CPU and its memory, and (`--ledgers`) with its
//! ledger on SQLite beside one and more replicas on PostgreSQL.
//!
//! The command-line tool runs them as `instamed-soap bench`, `instamed-soap bench gateway` and
//! `instamed-soap soak`.

pub mod compare;
pub mod gateway;
mod postgres;
mod process;
pub mod soak;
