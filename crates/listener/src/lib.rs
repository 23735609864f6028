//! An HTTPS listener for the house's servers: the InstaMed simulator, the contract tools'
//! replaying server and recording proxy on loopback, and the gateway, which may serve other
//! machines with a certificate of the operator's ([`Listening::start_with_certificate`]).
//!
//! It knows nothing of InstaMed. It binds an address, makes a certificate authority and a
//! server certificate at start (or takes the operator's, or serves plain HTTP), speaks HTTP/1.1 with keep-alive, bounds
//! slow and numerous clients ([`Limits`]), and stops gracefully. What a request means is the
//! [`Handler`]'s business.
//!
//! Each accepted socket gets `TCP_NODELAY` (an answer
//! written in two pieces must not wait for a delayed ACK) and a task of its own. A `watch`
//! channel carries the stop signal: every connection holds a receiver, so
//! [`Listening::stop`] knows all of them are done when the channel has no receiver left.
//!
//! # Slow senders
//!
//! A client may not hold a connection by sending slowly: a request's headers must arrive within
//! [`Limits::request_timeout`] (hyper's header timer, which also closes a keep-alive connection
//! idle that long) and its body within the same time after them (else 408 and the connection is
//! closed). At most [`Limits::max_connections`] connections are served at once. When one more
//! arrives, the connection that has waited longest on its client (idle, in a TLS handshake, or
//! sending headers or a body) is closed to make room; connections whose request is being worked
//! on are never closed for this. If every connection is working, the new one waits for a free
//! place for up to a second, then is closed. So many slow clients cost each other their places,
//! while a client that sends its request promptly is served.

mod body;
mod error;
mod hostname;
mod listening;
mod pki;
pub mod wsdl;

pub use body::{BodyRefused, milliseconds, read_body};
pub use error::ListenError;
pub use hostname::{Hostname, InvalidHostname};
pub use listening::{
    Abort, BodyTimedOut, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT, Handler, Limits,
    Listening, local_addr, read_within_deadline,
};
pub use pki::server_config_from_pem_files;
