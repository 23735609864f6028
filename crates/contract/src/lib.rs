//! Contract testing against recorded envelopes: an exchange recorded once becomes a contract
//! that every later build must still honour.
//!
//! - [`Cassette`]: one exchange per human-readable file (see [`cassette`] for the format);
//! - [`matcher`]: requests compared by meaning, with `{{any}}` and `{{ignore}}` placeholders;
//! - [`pretty`]: cassette bodies laid out for review, matched as recorded;
//! - [`redact`]: secrets removed before anything is written;
//! - [`echo`]: response placeholders that echo the request (`{{request.PrimaryTransactionID}}`);
//! - [`ContractServer`]: a recording proxy and a replaying server;
//! - [`Recorder`]: cassettes of a client's own exchanges, written as the proxy writes them;
//! - [`verify`]: does this build's client still honour each cassette? [`report`] says so
//!   in JUnit XML or JSON;
//! - [`journal`]: the requests a replaying server received, and counts checked against them;
//! - [`login`]: the credentials a replaying server may be told to expect;
//! - [`har`]: cassettes from an HTTP Archive captured by a browser or a debugging proxy.

pub mod cassette;
pub mod charset;
pub mod echo;
pub mod har;
pub mod journal;
pub mod login;
pub mod matcher;
mod names;
pub mod observed;
pub mod pretty;
pub mod record;
pub mod redact;
mod rejection;
pub mod replay;
pub mod report;
pub mod server;
mod sso;
mod store;
pub mod verify;
pub mod wire;

pub use cassette::{Cassette, CassetteError, Message, VoidInputs};
pub use matcher::{Comparison, Difference};
pub use observed::Recorder;
pub use server::{ContractServer, ServeOptions, Upstream};
pub use verify::{Problem, Verification, verify_dir};
