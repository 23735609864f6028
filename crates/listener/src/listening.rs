//! The listener itself: accepting, TLS, HTTP/1.1, admission and the graceful stop (the crate
//! documentation says how it treats slow and numerous clients).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::{Hostname, ListenError, pki};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection waits for a free place when every place is working.
const PLACE_WAIT: Duration = Duration::from_secs(1);
/// How long [`Simulator::shutdown`] waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Returned to hyper to close the connection without answering (an injected reset, or a body
/// that could not be read); says which, for the server's line about the request.
#[derive(Debug, thiserror::Error)]
#[error("connection closed without an answer ({0})")]
pub struct Abort(pub &'static str);

/// Answers the requests of a [`Listening`] server.
pub trait Handler: Send + Sync + 'static {
    /// The answer to `request`; [`Abort`] closes the connection without one.
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send;
}

/// A server on a local address, over TLS with a CA made at start or over plain HTTP.
#[derive(Debug)]
pub struct Listening {
    local_addr: SocketAddr,
    tls: bool,
    /// The host [`origin`](Self::origin) names instead of the one derived from the address.
    host: Option<Hostname>,
    ca_path: Option<PathBuf>,
    /// The CA's private directory when it is ours: removed when this server is dropped.
    ca_dir: Option<tempfile::TempDir>,
    stop: watch::Sender<bool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Listening {
    /// Binds `listen`, makes the certificates when `tls` is on (writing the CA to `ca_out`, or
    /// to a temporary file), and serves `handler` on the current Tokio runtime.
    pub async fn start<H: Handler>(
        listen: SocketAddr,
        tls: bool,
        ca_out: Option<&Path>,
        handler: Arc<H>,
    ) -> Result<Self, ListenError> {
        Self::start_with(listen, tls, ca_out, &[], handler, Limits::default()).await
    }

    /// [`start`](Self::start), with `hostnames` in the certificate (the first one also names
    /// the host of [`origin`](Self::origin)) and `limits` on slow and numerous clients.
    pub async fn start_with<H: Handler>(
        listen: SocketAddr,
        tls: bool,
        ca_out: Option<&Path>,
        hostnames: &[Hostname],
        handler: Arc<H>,
        limits: Limits,
    ) -> Result<Self, ListenError> {
        if limits.max_connections == 0 || limits.request_timeout.is_zero() {
            return Err(ListenError::InvalidLimits);
        }
        let listener = bind(listen).await?;
        let local_addr = local(&listener, listen)?;
        let pki = match tls {
            true => Some(pki::make(local_addr.ip(), hostnames, ca_out)?),
            false => None,
        };
        let server = pki.as_ref().map(|pki| pki.server.clone());
        let (ca_path, ca_dir) = pki.map_or((None, None), |pki| (Some(pki.ca_path), pki.ca_dir));
        let mut listening = Self::serve(listener, local_addr, server, handler, limits);
        listening.host = hostnames.first().cloned();
        listening.ca_path = ca_path;
        listening.ca_dir = ca_dir;
        Ok(listening)
    }

    /// Binds `listen` and serves `handler` over TLS with a certificate the operator gave
    /// ([`server_config_from_pem_files`](crate::server_config_from_pem_files)), for a service
    /// reached from other machines rather than a loopback test server. `host` names the host of
    /// [`origin`](Self::origin) (a name the certificate holds).
    pub async fn start_with_certificate<H: Handler>(
        listen: SocketAddr,
        server: Arc<rustls::ServerConfig>,
        host: Option<Hostname>,
        handler: Arc<H>,
        limits: Limits,
    ) -> Result<Self, ListenError> {
        if limits.max_connections == 0 || limits.request_timeout.is_zero() {
            return Err(ListenError::InvalidLimits);
        }
        let listener = bind(listen).await?;
        let local_addr = local(&listener, listen)?;
        let mut listening = Self::serve(listener, local_addr, Some(server), handler, limits);
        listening.host = host;
        Ok(listening)
    }

    /// Serves a bound socket, over TLS when `server` is given.
    fn serve<H: Handler>(
        listener: TcpListener,
        local_addr: SocketAddr,
        server: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<H>,
        limits: Limits,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let tls = server.is_some();
        let acceptor = server.map(TlsAcceptor::from);
        let connections = Arc::new(Connections::new(limits));
        let task = tokio::spawn(accept(listener, acceptor, handler, connections, stopped));
        Self {
            local_addr,
            tls,
            host: None,
            ca_path: None,
            ca_dir: None,
            stop,
            acceptor: Some(task),
        }
    }

    /// `scheme://host:port`, naming the host as the certificate does: the first host name
    /// asked for, else `localhost` for a loopback or unspecified address, else the address.
    pub fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = match (&self.host, self.local_addr.ip()) {
            (Some(name), _) => name.url_host(),
            (None, ip) if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
            (None, IpAddr::V6(v6)) => format!("[{v6}]"),
            (None, IpAddr::V4(v4)) => v4.to_string(),
        };
        format!("{scheme}://{host}:{}", self.local_addr.port())
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The CA certificate (PEM) that clients must trust; `None` without TLS.
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// Stops accepting connections, lets the requests in flight finish (for up to 10 seconds)
    /// and closes idle keep-alive connections.
    pub async fn stop(&mut self) {
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

async fn bind(listen: SocketAddr) -> Result<TcpListener, ListenError> {
    TcpListener::bind(listen)
        .await
        .map_err(|source| ListenError::Bind {
            addr: listen,
            source,
        })
}

/// The address a bound socket listens on (the port the system chose for port 0).
fn local(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, ListenError> {
    listener.local_addr().map_err(|source| ListenError::Bind {
        addr: asked,
        source,
    })
}

/// Resolves once the server is stopping (or was dropped).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, before anything awaits.
    let _ = stop.wait_for(|stopping| *stopping).await.map(drop);
}

/// Bounds on slow and numerous clients; the crate documentation says how they act.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Limits {
    /// How long a request's headers may take, and then its body.
    pub request_timeout: Duration,
    /// How many connections are served at once.
    pub max_connections: usize,
}

impl Limits {
    /// Headers, then a body, each within `request_timeout`; at most `max_connections` at once.
    pub fn new(request_timeout: Duration, max_connections: usize) -> Self {
        Self {
            request_timeout,
            max_connections,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The default of [`Limits::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// The default of [`Limits::max_connections`]: far below a process's usual 1 024 descriptors.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The connections being served, and their places.
#[derive(Debug)]
struct Connections {
    limits: Limits,
    places: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<Place>>>,
    next: AtomicU64,
    epoch: Instant,
}

/// One connection's place: whether its request is being worked on, and since when it has
/// waited on its client.
#[derive(Debug)]
struct Place {
    working: AtomicBool,
    /// Milliseconds from [`Connections::epoch`] to when it last began waiting on its client.
    waiting_since: AtomicU64,
    evicted: AtomicBool,
    evict: Notify,
    epoch: Instant,
}

impl Place {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The request is being worked on: the connection must not be closed to make room.
    fn work(&self) {
        self.working.store(true, Ordering::Relaxed);
    }

    /// The connection waits on its client again (for a body, or for the next request).
    fn wait(&self) {
        self.waiting_since.store(self.now_ms(), Ordering::Relaxed);
        self.working.store(false, Ordering::Relaxed);
    }
}

/// Removes a connection's place when its task ends, however it ends.
struct Occupied {
    connections: Arc<Connections>,
    id: u64,
    place: Arc<Place>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Occupied {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

impl Connections {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            places: Arc::new(Semaphore::new(limits.max_connections)),
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Place>>> {
        // The map is whole after every statement that can panic.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a new connection: a free one, or one freed by closing the connection that
    /// has waited longest on its client; `None` if none is freed in time.
    async fn admit(self: &Arc<Self>) -> Option<Occupied> {
        let permit = match self.places.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.evict_longest_waiting();
                tokio::time::timeout(PLACE_WAIT, self.places.clone().acquire_owned())
                    .await
                    .ok()?
                    .ok()?
            }
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let place = Arc::new(Place {
            working: AtomicBool::new(false),
            waiting_since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            epoch: self.epoch,
        });
        place.wait();
        self.lock().insert(id, place.clone());
        Some(Occupied {
            connections: self.clone(),
            id,
            place,
            _permit: permit,
        })
    }

    fn evict_longest_waiting(&self) {
        let open = self.lock();
        let longest = open
            .values()
            .filter(|place| {
                !place.working.load(Ordering::Relaxed) && !place.evicted.load(Ordering::Relaxed)
            })
            .min_by_key(|place| place.waiting_since.load(Ordering::Relaxed));
        if let Some(place) = longest {
            place.evicted.store(true, Ordering::Relaxed);
            // `notify_one` keeps the wake-up if the connection is not waiting for it yet.
            place.evict.notify_one();
            tracing::debug!(
                open = open.len(),
                "closing the connection that waited longest on its client, to make room"
            );
        }
    }
}

tokio::task_local! {
    /// The place and limits of the connection whose request is being handled, and the local
    /// address it was accepted on.
    static CONNECTION: (Arc<Place>, Limits, Option<SocketAddr>);
}

/// The local address of the connection whose request is being handled (what IIS calls
/// `LOCAL_ADDR` and `SERVER_PORT`); `None` outside a connection (unit tests).
pub fn local_addr() -> Option<SocketAddr> {
    CONNECTION.try_with(|(_, _, local)| *local).ok().flatten()
}

/// Why a body was not read: it took longer than the connection's request timeout.
#[derive(Debug)]
pub struct BodyTimedOut;

/// Runs `read` (reading a request's body) within the request timeout of the connection, which
/// meanwhile may be closed to make room; outside a connection (unit tests), within the default.
pub async fn read_within_deadline<F: Future>(read: F) -> Result<F::Output, BodyTimedOut> {
    let current = CONNECTION.try_with(|(place, limits, _)| (place.clone(), limits.request_timeout));
    let (place, timeout) = match current {
        Ok((place, timeout)) => (Some(place), timeout),
        Err(_) => (None, DEFAULT_REQUEST_TIMEOUT),
    };
    if let Some(place) = &place {
        place.wait();
    }
    let read = tokio::time::timeout(timeout, read).await;
    if let Some(place) = &place {
        place.work();
    }
    read.map_err(|_| BodyTimedOut)
}

/// Accepts connections until told to stop.
async fn accept<H: Handler>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    connections: Arc<Connections>,
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
        // Waiting here, not in a task, keeps the number of open sockets bounded: the next
        // clients wait in the kernel's backlog meanwhile.
        let occupied = tokio::select! {
            biased;
            () = stopping(&mut stop) => return,
            occupied = connections.admit() => occupied,
        };
        let Some(occupied) = occupied else {
            tracing::warn!("every connection is working; closing a new one");
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        tokio::spawn(connection(
            stream,
            tls.clone(),
            handler.clone(),
            occupied,
            stop.clone(),
        ));
    }
}

/// Serves one connection, over TLS when an acceptor is given, until it ends, the simulator
/// stops, or it is closed to make room.
async fn connection<H: Handler>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    occupied: Occupied,
    stop: watch::Receiver<bool>,
) {
    let place = occupied.place.clone();
    let limits = occupied.connections.limits;
    // Taken before TLS wraps the stream: the service names it in the URLs it writes.
    let local = stream.local_addr().ok();
    let serving = CONNECTION.scope(
        (place.clone(), limits, local),
        handshake_and_serve(stream, tls, handler, place, limits, stop),
    );
    tokio::select! {
        () = occupied.place.evict.notified() => {}
        () = serving => {}
    }
    drop(occupied);
}

async fn handshake_and_serve<H: Handler>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    place: Arc<Place>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let Some(acceptor) = tls else {
        return serve(stream, handler, place, limits, stop).await;
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
    serve(stream, handler, place, limits, stop).await;
}

/// HTTP/1.1 with keep-alive until the client leaves or the server stops.
async fn serve<I, H>(
    io: I,
    handler: Arc<H>,
    place: Arc<Place>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let working = place.clone();
    let service = service_fn(move |request| {
        let handler = handler.clone();
        let place = working.clone();
        async move {
            place.work();
            let answer = handler.handle(request).await;
            place.wait();
            answer
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
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
            // A connection waiting on its client (idle, or a slow body) is closed at once; one
            // whose request is being worked on finishes it, then closes.
            if place.working.load(Ordering::Relaxed) {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}
