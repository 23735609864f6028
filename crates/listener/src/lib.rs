//! An HTTPS listener for loopback servers: the InstaMed simulator, the contract tools' replaying
//! server and recording proxy.
//!
//! It knows nothing of InstaMed. It binds an address, makes a certificate authority and a
//! server certificate at start (or serves plain HTTP), speaks HTTP/1.1 with keep-alive, bounds
//! slow and numerous clients ([`Limits`]), and stops gracefully. What a request means is the
//! [`Handler`]'s business.

mod body;
mod error;
mod hostname;
mod listening;
mod pki;

pub use body::{BodyRefused, milliseconds, read_body};
pub use error::ListenError;
pub use hostname::{Hostname, InvalidHostname};
pub use listening::{
    Abort, BodyTimedOut, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT, Handler, Limits,
    Listening, local_addr, read_within_deadline,
};
