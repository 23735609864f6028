//! The contract tools as servers: a replaying server and a recording proxy, on a local address,
//! over TLS with a CA made at start or over plain HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;

use super::journal::{Entry, Journal};
use super::login::ExpectedCredentials;
use super::record::SeenRequest;
use super::replay::{Replay, ReplayError};
use super::store::highest_number;
use instamed_soap::{Client, ClientBuilder, Credentials, Error, Protocol};
mod recording;
mod replaying;

use instamed_soap_listener::{
    Abort, BodyRefused, Handler, ListenError, Listening, milliseconds, read_body,
};
use recording::Recording;
use replaying::Replaying;

/// Where and how a contract server listens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Address to listen on (default `127.0.0.1:0`: a free port on loopback).
    pub listen: SocketAddr,
    /// HTTPS with a CA made at start (default), or plain HTTP.
    pub tls: bool,
    /// Where to write the CA certificate (default: a temporary file).
    pub ca_out: Option<PathBuf>,
    /// A replaying server's journal file, written as JSON Lines (see [`journal`](crate::journal));
    /// emptied at start. The journal is kept in memory all the same
    /// ([`ContractServer::requests`]). A recording proxy keeps none: its cassettes are its record.
    pub journal: Option<PathBuf>,
    /// A recording proxy's cassettes with their XML and JSON bodies laid out for review (see
    /// [`pretty`](crate::pretty)); off by default, so that a recording is byte for byte what
    /// the committed corpus was made with.
    pub pretty: bool,
    /// The credentials a replaying server expects (see
    /// [`ExpectedCredentials`]); none checked by default.
    pub credentials: ExpectedCredentials,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            ca_out: None,
            journal: None,
            pretty: false,
            credentials: ExpectedCredentials::default(),
        }
    }
}

impl ServeOptions {
    /// The same options over plain HTTP.
    pub fn plain_http(mut self) -> Self {
        self.tls = false;
        self
    }
}

/// Where a recording proxy forwards to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Upstream {
    /// The real service's SOAP address (`https://connect.instamed.com/payment/service.asmx`),
    /// or a simulator's. The proxy's [`endpoint`](ContractServer::endpoint) has the same path,
    /// and each request is forwarded to the upstream's origin with the path it came with: a
    /// client pointed at the proxy's endpoint reaches the upstream's.
    pub endpoint: String,
    /// Trust only these CA certificates for the upstream (the simulator's, say).
    pub ca_cert: Option<PathBuf>,
    /// Allow a plain-HTTP upstream on loopback.
    pub allow_plain_http: bool,
    /// Deadline for each forwarded exchange.
    pub timeout: Duration,
    /// The forwarding client's settings, when given whole (see [`Upstream::with_client`]).
    client: Option<ClientBuilder>,
}

impl Upstream {
    /// An upstream at `endpoint`, trusting the Mozilla roots, with a 30-second deadline.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            ca_cert: None,
            allow_plain_http: false,
            timeout: Duration::from_secs(30),
            client: None,
        }
    }

    /// The same upstream, reached by a client made from `builder`, which
    /// [`Client::builder`] made with this upstream's endpoint: its trust roots, proxy,
    /// deadline and plain HTTP on loopback are used in place of `ca_cert`, `timeout` and
    /// `allow_plain_http`, so that the recorder reaches its upstream exactly as the client
    /// tool reaches the service. Its credentials are not used: the proxy forwards each
    /// caller's own.
    pub fn with_client(mut self, builder: ClientBuilder) -> Self {
        self.client = Some(builder);
        self
    }

    /// The same upstream, trusting only the CA certificates in `path`.
    pub fn with_ca_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_cert = Some(path.into());
        self
    }

    /// The same upstream, allowing plain HTTP on loopback.
    pub fn with_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }
}

/// Why a contract server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractServerError {
    /// The cassettes cannot be loaded.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The upstream cannot be used.
    #[error("bad upstream")]
    Upstream(#[source] Error),
    /// The upstream cannot be reached as configured: no connection, or a TLS handshake that
    /// failed with the trust given (see [`Error::Tls`] and [`Error::Connect`]). Checked before
    /// the proxy listens, so that a setup mistake is never answered to a void.
    #[error("cannot reach the upstream {upstream}")]
    Unreachable {
        /// The upstream's address, without any credentials written in it.
        upstream: String,
        /// Why, from the client that forwards requests.
        #[source]
        source: Error,
    },
    /// The cassette directory cannot be created or listed.
    #[error("cannot use the cassette directory {dir}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The journal file cannot be created.
    #[error("cannot write the journal {file}")]
    Journal {
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server cannot listen.
    #[error(transparent)]
    Listen(#[from] ListenError),
}

/// A running replaying server or recording proxy.
///
/// ```no_run
/// use instamed_soap_contract::server::{ContractServer, ServeOptions};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let replay = ContractServer::replay("tests/envelopes".as_ref(), ServeOptions::default()).await?;
/// // Point the client under test at replay.endpoint(), trusting replay.ca_path().
/// println!("{} {:?}", replay.endpoint(), replay.ca_path());
/// replay.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ContractServer {
    listening: Listening,
    /// The paths clients should send SOAP requests to, the main one first.
    soap_paths: Vec<String>,
    /// The paths clients should send NVP requests to.
    nvp_paths: Vec<String>,
    /// A replaying server's journal.
    journal: Option<Arc<Journal>>,
}

/// Where a client sends SOAP when nothing says otherwise: InstaMed's own path.
const DEFAULT_SOAP_PATH: &str = "/payment/service.asmx";

impl ContractServer {
    /// Serves the cassettes of `dir`: each request gets the recorded response of the cassette it
    /// matches, and a request that matches none gets a fault (or NVP error) naming the closest
    /// cassette and the first difference.
    pub async fn replay(dir: &Path, options: ServeOptions) -> Result<Self, ContractServerError> {
        let replay = Replay::load(dir)?;
        let (soap_paths, nvp_paths) = replay.paths();
        let journal = match &options.journal {
            Some(file) => {
                Journal::to_file(file).map_err(|source| ContractServerError::Journal {
                    file: file.clone(),
                    source,
                })?
            }
            None => Journal::in_memory(),
        };
        let journal = Arc::new(journal);
        let handler = Arc::new(Replaying {
            replay,
            journal: Arc::clone(&journal),
            credentials: options.credentials.clone(),
        });
        let mut server = Self::start(options, handler, soap_paths, nvp_paths).await?;
        server.journal = Some(journal);
        Ok(server)
    }

    /// Forwards every request to `upstream` and writes each exchange to `dir` as a cassette,
    /// secrets redacted, then hands the upstream's answer back.
    ///
    /// The upstream is reached once before the proxy listens (a connection and the TLS
    /// handshake, with a `HEAD` of its path); [`ContractServerError::Unreachable`] when that
    /// fails. A request that later cannot be forwarded at all is answered as a rejected
    /// request (a client fault, an NVP error in the 400s, a REST 400) saying it was not
    /// forwarded; one that may have reached the upstream, with a 502.
    pub async fn record(
        upstream: Upstream,
        dir: &Path,
        options: ServeOptions,
    ) -> Result<Self, ContractServerError> {
        let directory_error = |source| ContractServerError::Directory {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(directory_error)?;
        let next = highest_number(dir).map_err(directory_error)? + 1;
        let origin: Uri = upstream.endpoint.parse().map_err(|_| {
            ContractServerError::Upstream(Error::InvalidConfig {
                reason: format!(
                    "upstream {:?} is not a URL",
                    instamed_soap::sensitive::redacted_url(&upstream.endpoint)
                ),
                source: None,
            })
        })?;
        let builder = match upstream.client {
            Some(builder) => builder,
            None => {
                let mut builder = Client::builder(&upstream.endpoint)
                    .allow_plain_http_on_loopback(upstream.allow_plain_http)
                    .timeout(upstream.timeout);
                if let Some(ca) = &upstream.ca_cert {
                    builder = builder.ca_certificate_file(ca);
                }
                builder
            }
        };
        // The proxy forwards the caller's own Authorization header; these are never sent.
        let client = builder
            .credentials(Credentials::new("proxy", "proxy"))
            .build()
            .map_err(ContractServerError::Upstream)?;
        let soap_path = match origin.path() {
            "" | "/" => DEFAULT_SOAP_PATH.to_owned(),
            path => path.to_owned(),
        };
        recording::reach(&client, &origin, &soap_path)
            .await
            .map_err(|source| ContractServerError::Unreachable {
                upstream: instamed_soap::sensitive::redacted_url(&upstream.endpoint),
                source,
            })?;
        let nvp_path = format!(
            "{}NVP.aspx",
            &soap_path[..soap_path.rfind('/').map_or(0, |slash| slash + 1)]
        );
        let handler = Arc::new(Recording {
            client,
            origin,
            dir: dir.to_path_buf(),
            next: Mutex::new(next),
            pretty: options.pretty,
        });
        Self::start(options, handler, vec![soap_path], vec![nvp_path]).await
    }

    async fn start<H: Handler>(
        options: ServeOptions,
        handler: Arc<H>,
        soap_paths: Vec<String>,
        nvp_paths: Vec<String>,
    ) -> Result<Self, ContractServerError> {
        let listening = Listening::start(
            options.listen,
            options.tls,
            options.ca_out.as_deref(),
            handler,
        )
        .await?;
        Ok(Self {
            listening,
            soap_paths,
            nvp_paths,
            journal: None,
        })
    }

    /// The SOAP address to point a client at: a recording proxy's has its upstream's path; a
    /// replaying server's has the path of its first SOAP cassette (`/payment/service.asmx`
    /// when it has none).
    pub fn endpoint(&self) -> String {
        let path = self
            .soap_paths
            .first()
            .map_or(DEFAULT_SOAP_PATH, String::as_str);
        format!("{}{path}", self.listening.origin())
    }

    /// Every SOAP address the server answers at: the upstream's for a recording proxy, one per
    /// path its cassettes were recorded at for a replaying server.
    pub fn endpoints(&self) -> Vec<String> {
        let origin = self.listening.origin();
        self.soap_paths
            .iter()
            .map(|path| format!("{origin}{path}"))
            .collect()
    }

    /// Every NVP address the server answers at (`NVP.aspx` beside the upstream's SOAP path for
    /// a recording proxy; the paths of its NVP cassettes for a replaying server).
    pub fn nvp_endpoints(&self) -> Vec<String> {
        let origin = self.listening.origin();
        self.nvp_paths
            .iter()
            .map(|path| format!("{origin}{path}"))
            .collect()
    }

    /// The REST base URL to point a client at (its `/rest/payment/…` requests are recorded or
    /// replayed): the origin, as for InstaMed's own `https://connect.instamed.com`. A recording
    /// proxy forwards them to its upstream's origin with the path they came with.
    pub fn rest_base(&self) -> String {
        self.listening.origin()
    }

    /// `scheme://host:port`.
    pub fn origin(&self) -> String {
        self.listening.origin()
    }

    /// The CA certificate clients must trust; `None` over plain HTTP.
    pub fn ca_path(&self) -> Option<&Path> {
        self.listening.ca_path()
    }

    /// The requests a replaying server has received so far, matched or not, in the order they
    /// were read (see [`journal`](crate::journal)); none for a recording proxy.
    pub fn requests(&self) -> Vec<Entry> {
        self.journal
            .as_ref()
            .map_or_else(Vec::new, |journal| journal.entries())
    }

    /// Stops accepting connections and lets the requests in flight finish.
    pub async fn shutdown(mut self) {
        self.listening.stop().await;
    }
}

/// Reads a request whole; `Err` carries the answer refusing it.
async fn seen(
    request: Request<Incoming>,
) -> Result<(http::request::Parts, Bytes), Result<Response<Full<Bytes>>, Abort>> {
    let (parts, body) = request.into_parts();
    match read_body(&parts.headers, body, MAX_BODY).await {
        Ok(Ok(body)) => Ok((parts, body)),
        Ok(Err(refused)) => Err(Ok(refusal(refused))),
        Err(abort) => Err(Err(abort)),
    }
}

/// The largest request body read: an envelope is a few kilobytes.
const MAX_BODY: usize = 1 << 20;

/// 413 for a body too large; 408 for one too slow, closing the connection (the rest of the
/// body is not worth waiting for).
fn refusal(refused: BodyRefused) -> Response<Full<Bytes>> {
    let (status, close) = match refused {
        BodyRefused::TimedOut => (http::StatusCode::REQUEST_TIMEOUT, true),
        _ => (http::StatusCode::PAYLOAD_TOO_LARGE, false),
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    if close {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// A request refused before it was read whole (too large, too slow, or the client went away):
/// said in the server's log as any other.
fn refused(
    answer: Result<Response<Full<Bytes>>, Abort>,
    started: Instant,
) -> Result<Response<Full<Bytes>>, Abort> {
    let latency_ms = milliseconds(started.elapsed());
    match &answer {
        Ok(response) => tracing::info!(
            status = response.status().as_u16(),
            latency_ms,
            "refused a request before reading it whole"
        ),
        Err(abort) => tracing::info!(
            reason = %abort.0,
            latency_ms,
            "closed the connection without an answer"
        ),
    }
    answer
}

/// What the server's line says about a request: never its query (it may carry a card
/// number), a header value or its body; its path swept as a cassette's is, of card numbers and
/// of what the request's headers show to be secret (the password in its Basic token).
struct Line<'a> {
    method: &'a http::Method,
    path: String,
    protocol: &'static str,
    latency_ms: f64,
}

impl<'a> Line<'a> {
    fn of(request: &SeenRequest<'a>, started: Instant) -> Self {
        Self {
            method: request.method,
            path: super::redact::Redaction::new(request.headers, &http::HeaderMap::new())
                .finish_text(&instamed_soap::sensitive::shown(
                    request.target.split('?').next().unwrap_or(""),
                )),
            protocol: request.protocol().map_or("other", Protocol::as_str),
            latency_ms: milliseconds(started.elapsed()),
        }
    }
}

/// The operation a request names, when it is a request of one of the protocols (a cassette
/// that matched names it from what it stored, which is preferred).
/// The operation a request names, fit for a log line: the client chose those bytes (an NVP
/// `transactionAction` is any text), and a line break or a terminal escape in them would forge
/// lines in the operator's log.
fn operation_of(request: &SeenRequest<'_>) -> String {
    if request.protocol().is_some() {
        crate::names::loggable(&request.operation())
    } else {
        "-".to_owned()
    }
}

fn target_of(parts: &http::request::Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned())
}

fn internal_error(why: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(why.as_bytes())));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
