//! The listening side: accepting connections, TLS, HTTP/1.1 with keep-alive, and a graceful stop.
//!
//! [`Listening`] serves any [`Handler`]: the simulator's service, and the contract tools'
//! replaying server and recording proxy. Each accepted socket gets `TCP_NODELAY` (an answer
//! written in two pieces must not wait for a delayed ACK) and a task of its own. A `watch`
//! channel carries the stop signal: every connection holds a receiver, so
//! [`Listening::stop`] knows all of them are done when the channel has no receiver left.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::auth::Accounts;
use super::config::SimulatorConfig;
use super::engine::Engine;
use super::error::SimulatorError;
use super::faults::Injector;
use super::ledger::Ledger;
use super::service::{self, Abort, Shared};
use super::{pki, seed};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Simulator::shutdown`] waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers the requests of a [`Listening`] server.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The answer to `request`; [`Abort`] closes the connection without one.
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send;
}

/// A server on a local address, over TLS with a CA made at start or over plain HTTP.
#[derive(Debug)]
pub(crate) struct Listening {
    local_addr: SocketAddr,
    tls: bool,
    ca_path: Option<PathBuf>,
    /// The CA's private directory when it is ours: removed when this server is dropped.
    ca_dir: Option<tempfile::TempDir>,
    stop: watch::Sender<bool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Listening {
    /// Binds `listen`, makes the certificates when `tls` is on (writing the CA to `ca_out`, or
    /// to a temporary file), and serves `handler` on the current Tokio runtime.
    pub(crate) async fn start<H: Handler>(
        listen: SocketAddr,
        tls: bool,
        ca_out: Option<&Path>,
        handler: Arc<H>,
    ) -> Result<Self, SimulatorError> {
        let bind_error = |source| SimulatorError::Bind {
            addr: listen,
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let pki = match tls {
            true => Some(pki::make(local_addr.ip(), ca_out)?),
            false => None,
        };
        let (stop, stopped) = watch::channel(false);
        let acceptor = pki
            .as_ref()
            .map(|pki| TlsAcceptor::from(pki.server.clone()));
        let task = tokio::spawn(accept(listener, acceptor, handler, stopped));
        let (ca_path, ca_dir) = pki.map_or((None, None), |pki| (Some(pki.ca_path), pki.ca_dir));
        Ok(Self {
            local_addr,
            tls,
            ca_path,
            ca_dir,
            stop,
            acceptor: Some(task),
        })
    }

    /// `scheme://host:port`, naming the host as the certificate does.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let ip = self.local_addr.ip();
        let host = match ip {
            ip if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        format!("{scheme}://{host}:{}", self.local_addr.port())
    }

    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The CA certificate (PEM) that clients must trust; `None` without TLS.
    pub(crate) fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// Stops accepting connections, lets the requests in flight finish (for up to 10 seconds)
    /// and closes idle keep-alive connections.
    pub(crate) async fn stop(&mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.acceptor.take() {
            let _ = task.await;
        }
        if tokio::time::timeout(DRAIN_TIMEOUT, self.stop.closed())
            .await
            .is_err()
        {
            tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(dir) = self.ca_dir.take() {
            // A failure only leaves litter in the temporary directory: nothing to act on.
            let _ = dir.close();
        }
    }
}

impl Handler for Shared {
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send {
        service::handle(self, request)
    }
}

/// A running InstaMed look-alike. Dropping it stops accepting connections; prefer
/// [`shutdown`](Simulator::shutdown), which also waits for requests in flight and flushes the
/// ledger.
///
/// ```no_run
/// use instamed_soap::simulator::{Simulator, SimulatorConfig, DEMO_ACCOUNT_ID, DEMO_PASSWORD};
/// use instamed_soap::{Client, Credentials, Outlet, VoidRequest};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let simulator = Simulator::start(SimulatorConfig::default()).await?;
/// let outlet = Outlet::new("123123123", "123", "123")?;
/// let payment = simulator.ledger().create_payment(&outlet, "12.34")?;
///
/// let client = Client::builder(simulator.endpoint())
///     .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
///     .ca_certificate_file(simulator.ca_path().expect("TLS is on by default"))
///     .build()?;
/// client.void(&VoidRequest::new(outlet, payment)).await?;
/// simulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Simulator {
    listening: Listening,
    shared: Arc<Shared>,
}

impl Simulator {
    /// Opens the ledger (replaying its journal), creates the seed file's payments, makes the
    /// certificates and starts listening, on the current Tokio runtime.
    pub async fn start(config: SimulatorConfig) -> Result<Self, SimulatorError> {
        if config.accounts.is_empty() {
            return Err(SimulatorError::InvalidConfig(
                "at least one account is required".to_owned(),
            ));
        }
        config.faults.validate()?;

        let ledger = Ledger::open(config.ledger_file.as_deref(), config.void_cutoff)?;
        if let Some(path) = &config.seed_file {
            let created = seed::load(path, &ledger)?;
            tracing::info!(created, path = %path.display(), "seeded the ledger");
        }
        let shared = Arc::new(Shared {
            engine: Engine {
                ledger,
                success_message: config.success_message,
            },
            accounts: Accounts::new(&config.accounts),
            refusal_style: config.refusal_style,
            faults: Injector::new(config.faults),
        });
        let listening = Listening::start(
            config.listen,
            config.tls,
            config.ca_out.as_deref(),
            shared.clone(),
        )
        .await?;
        tracing::info!(local_addr = %listening.local_addr(), tls = config.tls, "simulator listening");
        Ok(Self { listening, shared })
    }

    /// The SOAP endpoint: `https://localhost:PORT/payment/service.asmx` (`http://` without TLS).
    pub fn endpoint(&self) -> String {
        format!("{}/payment/service.asmx", self.origin())
    }

    /// The NVP endpoint: `https://localhost:PORT/payment/NVP.aspx`.
    pub fn nvp_endpoint(&self) -> String {
        format!("{}/payment/NVP.aspx", self.origin())
    }

    /// `scheme://host:port`, naming the host as the certificate does.
    pub fn origin(&self) -> String {
        self.listening.origin()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listening.local_addr()
    }

    /// The CA certificate (PEM) that clients must trust; `None` without TLS.
    pub fn ca_path(&self) -> Option<&Path> {
        self.listening.ca_path()
    }

    /// The ledger, for tests and demos: create payments, start transfers, read statuses.
    pub fn ledger(&self) -> &Ledger {
        &self.shared.engine.ledger
    }

    /// Stops accepting connections, lets the requests in flight finish (for up to 10 seconds),
    /// closes idle keep-alive connections and puts the ledger's journal on disk.
    pub async fn shutdown(mut self) {
        self.listening.stop().await;
        if let Err(error) = self.ledger().sync() {
            tracing::warn!(%error, "could not put the ledger journal on disk");
        }
    }
}

/// Resolves once the server is stopping (or was dropped).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, before anything awaits.
    let _ = stop.wait_for(|stopping| *stopping).await.map(drop);
}

/// Accepts connections until told to stop.
async fn accept<H: Handler>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stopping(&mut stop) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors, most likely: back off rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        tokio::spawn(connection(
            stream,
            tls.clone(),
            handler.clone(),
            stop.clone(),
        ));
    }
}

/// Serves one connection, over TLS when an acceptor is given.
async fn connection<H: Handler>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(acceptor) = tls else {
        return serve(stream, handler, stop).await;
    };
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        () = stopping(&mut stop) => return,
        result = handshake => match result {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                return;
            }
        },
    };
    serve(stream, handler, stop).await;
}

/// HTTP/1.1 with keep-alive until the client leaves or the simulator stops.
async fn serve<I, H>(io: I, handler: Arc<H>, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let service = service_fn(move |request| {
        let handler = handler.clone();
        async move { handler.handle(request).await }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = stopping(&mut stop) => {
            // Finish the request in flight, if any, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
