//! Why a server could not start listening.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A boxed error from a lower layer, kept whole for `source()` chains.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a [`Listening`](crate::Listening) server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// A limit of zero would serve nobody.
    #[error("max_connections and request_timeout must be more than zero")]
    InvalidLimits,
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The CA or server certificate could not be made.
    #[error("cannot make the server's TLS certificates")]
    Certificates(#[source] BoxError),
    /// A certificate or key file given by the operator cannot be read or holds no PEM block
    /// of its kind.
    #[error("cannot read {}", path.display())]
    PemFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The CA certificate could not be written.
    #[error("cannot write the CA certificate to {path}")]
    CaFile {
        /// Where it was to go.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}
