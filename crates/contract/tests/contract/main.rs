//! The contract tools: cassettes, record, replay, verify, and the redaction of what they write.

mod cassettes;
mod journal;
mod observed;
mod pretty;
mod redaction;
mod sso;
