//! A real HTTPS server on loopback for tests: a CA and a server certificate made at start with
//! rcgen, rustls, and hyper. Each test gives it a handler that sees the request as it arrived and
//! decides the answer, so the client is tested against real TLS, real HTTP and real bytes.
//!
//! Two more shapes for what hyper would never write:
//! - [`Server::start_with`] serves with any rustls configuration (certificates made to order by
//!   [`TestCa`], one protocol version only), or plain HTTP, and counts completed handshakes;
//! - [`RawServer`] hands each connection to the test, before TLS ([`RawServer::start_tcp`]) or
//!   after it ([`RawServer::start`]), to write broken HTTP byte by byte, stall, or reset.

pub mod connect_proxy;
pub mod encodings;
pub mod hostile;
pub mod leaks;
pub mod logs;
pub mod postgres;
pub mod raw_https;
pub mod simulated;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request method, as the client sent it.
    pub method: Method,
    /// The request-target as it came on the request line: a client talking to an origin
    /// server sends the path alone (RFC 9112, section 3.2.1), never the whole URL.
    pub path: String,
    headers: HeaderMap,
    /// The body as it came, after the server read it to the end: what the client put on the
    /// wire, for the tests that read the envelope, the form or the JSON it sent.
    pub body: Bytes,
}

impl Received {
    /// The value of header `name` as text; `None` when it is absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for the tests that search it; panics when the client sent bytes that
    /// are not UTF-8.
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("request body is UTF-8")
    }
}

/// The answer a handler chooses.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, written in this order; hyper adds `content-length` when they do not frame
    /// the body themselves.
    pub headers: Vec<(&'static str, String)>,
    /// The body, as bytes, so that a test can answer with text that is not UTF-8.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    delay: Duration,
}

impl Reply {
    /// An answer of `status` with `body` and one header, its `content-type`, answered at once.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// An answer with the content type a SOAP `version` service writes its envelopes in.
    pub fn xml(status: u16, version: Version, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, version.content_type(), body)
    }

    /// The same answer, sent only after `delay`: for the deadline tests.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The same answer with one more header, after those already there (a second of the same
    /// name is written too, not merged).
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// SOAP version, as the server side sees it (kept apart from the crate's own type on purpose:
/// the server must not trust the code under test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SOAP 1.1, answered as `text/xml`.
    Soap11,
    /// SOAP 1.2, answered as `application/soap+xml`.
    Soap12,
}

impl Version {
    /// The namespace of the envelope of this version: what a server's answer is written in, and
    /// how [`version_of`] tells a request's version.
    pub fn envelope_ns(self) -> &'static str {
        match self {
            Version::Soap11 => "http://schemas.xmlsoap.org/soap/envelope/",
            Version::Soap12 => "http://www.w3.org/2003/05/soap-envelope",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Version::Soap11 => "text/xml; charset=utf-8",
            Version::Soap12 => "application/soap+xml; charset=utf-8",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Version::Soap11 => "soap",
            Version::Soap12 => "soap12",
        }
    }
}

/// The namespace of the InstaMed payment service, the one its operation and result elements
/// are in.
pub const TNS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";

/// A void result as ASP.NET writes it: default namespace on the operation element, null
/// fields left out.
pub fn void_result(version: Version, fields: &[(&str, &str)]) -> String {
    let mut children = String::new();
    for (name, value) in fields {
        children.push_str(&format!("<{name}>{value}</{name}>"));
    }
    envelope(
        version,
        &format!(
            "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\"><DoCreditCardSecondaryVoidResult>{children}</DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse>"
        ),
    )
}

/// A fault as ASP.NET writes it for `version`.
pub fn fault(version: Version, sender: bool, reason: &str, detail: &str) -> String {
    let p = version.prefix();
    let body = match version {
        Version::Soap11 => format!(
            "<{p}:Fault><faultcode>{p}:{}</faultcode><faultstring>{reason}</faultstring><detail>{detail}</detail></{p}:Fault>",
            if sender { "Client" } else { "Server" }
        ),
        Version::Soap12 => format!(
            "<{p}:Fault><{p}:Code><{p}:Value>{p}:{}</{p}:Value></{p}:Code><{p}:Reason><{p}:Text xml:lang=\"en\">{reason}</{p}:Text></{p}:Reason><{p}:Detail>{detail}</{p}:Detail></{p}:Fault>",
            if sender { "Sender" } else { "Receiver" }
        ),
    };
    envelope(version, &body)
}

/// A fault exactly as an ASP.NET ASMX stack writes it (FACTS §6): `code` is the local part of
/// the code (`Client`, `Server`, `Sender`, `Receiver`, `VersionMismatch`…); SOAP 1.2 names the
/// service URL in `Node` and, like SOAP 1.1, writes the detail unqualified.
pub fn aspnet_fault(version: Version, code: &str, reason: &str, detail: &str) -> String {
    let p = version.prefix();
    let body = match version {
        Version::Soap11 => format!(
            "<{p}:Fault><faultcode>{p}:{code}</faultcode><faultstring>{reason}</faultstring><detail>{detail}</detail></{p}:Fault>"
        ),
        Version::Soap12 => format!(
            "<{p}:Fault><{p}:Code><{p}:Value>{p}:{code}</{p}:Value></{p}:Code><{p}:Reason><{p}:Text xml:lang=\"en\">{reason}</{p}:Text></{p}:Reason><{p}:Node>https://localhost/payment/service.asmx</{p}:Node><detail>{detail}</detail></{p}:Fault>"
        ),
    };
    envelope(version, &body)
}

/// The structured statuses a service puts in a fault's detail, in the service namespace.
pub fn error_info(fields: &[(&str, &str)]) -> String {
    let mut out = format!("<ErrorInfo xmlns=\"{TNS}\">");
    for (name, value) in fields {
        out.push_str(&format!("<{name}>{value}</{name}>"));
    }
    out.push_str("</ErrorInfo>");
    out
}

/// A whole SOAP `version` document with `body` (raw XML) as the content of its `Body`, with the
/// XML declaration and the `xsi` and `xsd` declarations ASP.NET writes: for answers the other
/// helpers here cannot shape.
pub fn envelope(version: Version, body: &str) -> String {
    let p = version.prefix();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><{p}:Envelope xmlns:{p}=\"{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><{p}:Body>{body}</{p}:Body></{p}:Envelope>",
        version.envelope_ns()
    )
}

/// The SOAP version a request was sent in, judged from its envelope.
pub fn version_of(exchange: &Received) -> Version {
    if exchange.body_text().contains(Version::Soap12.envelope_ns()) {
        Version::Soap12
    } else {
        Version::Soap11
    }
}

/// The text of the first element named `local` in the request body.
pub fn field(exchange: &Received, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(exchange.body_text()).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == local)
        .and_then(|n| n.text())
        .map(str::to_owned)
}

/// A CA and a server certificate for `localhost` and `127.0.0.1`, made now.
pub struct Pki {
    /// The CA certificate's PEM file, for a client told to trust it; a test that must see a
    /// certificate refused gives its client the CA of another [`pki`].
    pub ca_path: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

/// A new CA, with a server certificate it signed for `localhost` and `127.0.0.1`, each call its
/// own: what [`Server::start`] and [`RawServer::start`] serve with.
pub fn pki() -> Pki {
    let ca = TestCa::new("instamed-soap test CA");
    let leaf_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    let (chain, key) = ca.leaf(leaf_params);
    Pki {
        ca_path: ca.path.clone(),
        server: server_config(chain, key, &[]),
    }
}

/// A certificate authority made now, its certificate written to a PEM file a client can trust.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pem: String,
    /// The CA certificate's PEM file, in a directory of its own, for the client to trust.
    pub path: PathBuf,
}

impl TestCa {
    /// A self-signed CA named `common_name`, with no constraint on what it signs, its PEM
    /// written to [`path`](Self::path).
    pub fn new(common_name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let pem = issuer.pem();
        let path = temp_dir().join("ca.pem");
        std::fs::write(&path, &pem).expect("write CA");
        TestCa { issuer, pem, path }
    }

    /// The CA certificate in DER, to end a chain a test builds by hand.
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server certificate with `params` and a fresh ECDSA key, signed by this CA: the chain
    /// (leaf, then this CA) and the key.
    pub fn leaf(
        &self,
        params: CertificateParams,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("server key");
        let leaf = self.sign(params, &key);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![leaf, self.der()], key)
    }

    /// Like [`leaf`](Self::leaf), in PEM for tools outside the process: the chain (leaf, then
    /// this CA) and the PKCS#8 key.
    pub fn leaf_pem(&self, params: CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("server key");
        let leaf = params.signed_by(&key, &self.issuer).expect("certificate");
        (format!("{}{}", leaf.pem(), self.pem), key.serialize_pem())
    }

    /// A certificate with `params` for `public_key`, signed by this CA.
    pub fn sign(
        &self,
        params: CertificateParams,
        public_key: &impl PublicKeyData,
    ) -> CertificateDer<'static> {
        params
            .signed_by(public_key, &self.issuer)
            .expect("certificate")
            .der()
            .clone()
    }
}

/// A rustls server configuration (ring) for `chain` and `key`, limited to `versions` (all the
/// safe ones when empty).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ServerConfig> {
    let config = server_builder(versions)
        .with_single_cert(chain, key)
        .expect("server config");
    Arc::new(config)
}

/// The start of a rustls server configuration (ring), limited to `versions` (all the safe ones
/// when empty), for a test that brings its own certificate resolver.
pub fn server_builder(
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider);
    let builder = if versions.is_empty() {
        builder.with_safe_default_protocol_versions()
    } else {
        builder.with_protocol_versions(versions)
    };
    builder.expect("protocol versions").with_no_client_auth()
}

/// A directory of its own for one test's files.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "instamed-soap-test-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

/// A running HTTPS (or, from [`Server::start_plain`], HTTP) server on 127.0.0.1.
pub struct Server {
    /// The service URL to give a client: `https://localhost:PORT/payment/service.asmx` (or
    /// `http://` when plain).
    pub url: String,
    /// The loopback address and port it listens on, for URLs the tests write themselves.
    pub addr: SocketAddr,
    /// The PEM file of the CA its certificate comes from, for the client to trust.
    pub ca_path: PathBuf,
    seen: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
}

impl Server {
    /// Starts a server answering every request with `handler`, at `/payment/service.asmx`.
    pub async fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Server {
        let pki = pki();
        Server::start_with(Some(pki.server), pki.ca_path, handler).await
    }

    /// Starts a plain-HTTP server (no TLS at all) answering every request with `handler`.
    pub async fn start_plain(
        handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::start_with(None, PathBuf::new(), handler).await
    }

    /// Starts a server with the TLS configuration `tls` (plain HTTP for `None`); `ca_path` is
    /// only passed on, for the test's client.
    pub async fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        ca_path: PathBuf,
        handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let acceptor = tls.map(TlsAcceptor::from);
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let (seen2, connections2, handshakes2) =
            (seen.clone(), connections.clone(), handshakes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                tcp.set_nodelay(true).ok();
                connections2.fetch_add(1, Ordering::SeqCst);
                let (acceptor, handler, seen, handshakes) = (
                    acceptor.clone(),
                    handler.clone(),
                    seen2.clone(),
                    handshakes2.clone(),
                );
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            handshakes.fetch_add(1, Ordering::SeqCst);
                            serve_http(tls, handler, seen).await;
                        }
                        None => serve_http(tcp, handler, seen).await,
                    }
                });
            }
        });
        Server {
            url: format!("{scheme}://localhost:{}/payment/service.asmx", addr.port()),
            addr,
            ca_path,
            seen,
            connections,
            handshakes,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Serves HTTP/1.1 on one connection, each request answered by `handler`.
async fn serve_http<I>(io: I, handler: Arc<Handler>, seen: Arc<Mutex<Vec<Received>>>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let (handler, seen) = (handler.clone(), seen.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let exchange = Received {
                method: parts.method,
                path: parts.uri.to_string(),
                headers: parts.headers,
                body,
            };
            seen.lock().unwrap().push(exchange.clone());
            let reply = handler(&exchange);
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let mut response = http::Response::builder().status(reply.status);
            for (name, value) in &reply.headers {
                response = response.header(*name, value);
            }
            Ok::<_, Infallible>(
                response
                    .body(Full::new(Bytes::from(reply.body)))
                    .expect("response"),
            )
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A loopback server that hands each connection to the test as a byte stream.
pub struct RawServer {
    /// The service URL to give a client: `https://localhost:PORT/payment/service.asmx`.
    pub url: String,
    /// The PEM file of the CA its certificate comes from, for the client to trust.
    pub ca_path: PathBuf,
    seen: Arc<Mutex<Vec<Received>>>,
    handshakes: Arc<AtomicUsize>,
}

impl RawServer {
    /// Completes the TLS handshake of each connection (with a CA and certificate made now) and
    /// gives the connection to `handler`.
    pub async fn start<F, Fut>(handler: F) -> RawServer
    where
        F: Fn(RawConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let pki = pki();
        let acceptor = TlsAcceptor::from(pki.server);
        let handler = Arc::new(handler);
        RawServer::listen(pki.ca_path, move |tcp, seen, handshakes| {
            let (acceptor, handler) = (acceptor.clone(), handler.clone());
            async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                handshakes.fetch_add(1, Ordering::SeqCst);
                handler(RawConnection {
                    stream,
                    buffer: Vec::new(),
                    seen,
                })
                .await;
            }
        })
        .await
    }

    /// Gives each TCP connection to `handler` before any TLS: the client is still waiting for
    /// the server's side of the handshake.
    pub async fn start_tcp<F, Fut>(handler: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        RawServer::listen(pki().ca_path, move |tcp, _, _| handler(tcp)).await
    }

    async fn listen<F, Fut>(ca_path: PathBuf, on_connection: F) -> RawServer
    where
        F: Fn(TcpStream, Arc<Mutex<Vec<Received>>>, Arc<AtomicUsize>) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let (seen2, handshakes2) = (seen.clone(), handshakes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                tcp.set_nodelay(true).ok();
                tokio::spawn(on_connection(tcp, seen2.clone(), handshakes2.clone()));
            }
        });
        RawServer {
            url: format!("https://localhost:{}/payment/service.asmx", addr.port()),
            ca_path,
            seen,
            handshakes,
        }
    }

    /// Every request read so far with [`RawConnection::read_request`].
    pub fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// One TLS connection of a [`RawServer`], after the handshake.
pub struct RawConnection {
    stream: tokio_rustls::server::TlsStream<TcpStream>,
    buffer: Vec<u8>,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl RawConnection {
    /// Reads one request (head and `Content-Length` body) and records it; `None` if the
    /// client closed the connection or sent something that is not HTTP/1.1 with a length.
    pub async fn read_request(&mut self) -> Option<Received> {
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .ok()?
            .to_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.parse::<Method>().ok()?;
        let path = request_line.next()?.to_owned();
        let mut headers = HeaderMap::new();
        for line in lines.filter(|line| !line.is_empty()) {
            let (name, value) = line.split_once(':')?;
            headers.append(
                http::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                http::HeaderValue::from_str(value.trim()).ok()?,
            );
        }
        let length: usize = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while self.buffer.len() < head_end + length {
            if !self.fill().await {
                return None;
            }
        }
        let body = Bytes::copy_from_slice(&self.buffer[head_end..head_end + length]);
        self.buffer.drain(..head_end + length);
        let exchange = Received {
            method,
            path,
            headers,
            body,
        };
        self.seen.lock().unwrap().push(exchange.clone());
        Some(exchange)
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Writes `bytes` and flushes them to the socket.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Closes the connection cleanly: TLS close_notify, then FIN.
    pub async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Drops the TCP connection without a TLS close_notify (a FIN, as a crashed peer's kernel
    /// would send).
    pub fn drop_connection(self) {
        drop(self);
    }

    /// Resets the connection (TCP RST, no close_notify).
    pub fn reset(self) {
        let _ = self.stream.get_ref().0.set_zero_linger();
        drop(self);
    }

    /// Keeps the connection open and silent until the client goes away (or the test ends).
    pub async fn hold(mut self) {
        while self.fill().await {}
    }

    /// Waits until the client closes its side or resets the connection.
    pub async fn wait_for_close(mut self) {
        while self.fill().await {}
    }
}

/// An HTTP/1.1 response head and body as bytes: `status_line` (`200 OK`), the headers, and a
/// `Content-Length` unless the headers already say how the body ends.
pub fn raw_response(status_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status_line}\r\n");
    let framed = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !framed {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One chunk of a chunked body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Asserts two XML documents mean the same: same expanded element names, same attributes
/// (namespace declarations aside), same trimmed text, same order. Prefixes do not matter.
pub fn assert_same_xml(actual: &str, expected: &str) {
    let a = roxmltree::Document::parse(actual).expect("actual is XML");
    let e = roxmltree::Document::parse(expected).expect("expected is XML");
    if let Err(path) = same_node(a.root_element(), e.root_element(), String::new()) {
        panic!("XML differs at {path}\nactual:   {actual}\nexpected: {expected}");
    }
}

fn same_node(a: roxmltree::Node, e: roxmltree::Node, path: String) -> Result<(), String> {
    let path = format!("{path}/{}", e.tag_name().name());
    if a.tag_name() != e.tag_name() {
        return Err(format!("{path} (found {:?})", a.tag_name()));
    }
    let attrs = |n: roxmltree::Node| {
        let mut v: Vec<_> = n
            .attributes()
            .map(|x| {
                (
                    x.namespace().map(str::to_owned),
                    x.name().to_owned(),
                    x.value().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    if attrs(a) != attrs(e) {
        return Err(format!("{path} attributes"));
    }
    let text = |n: roxmltree::Node| {
        n.children()
            .filter(|c| c.is_text())
            .map(|c| c.text().unwrap_or("").trim().to_owned())
            .collect::<String>()
    };
    if text(a) != text(e) {
        return Err(format!("{path} text {:?} != {:?}", text(a), text(e)));
    }
    let ac: Vec<_> = a.children().filter(|c| c.is_element()).collect();
    let ec: Vec<_> = e.children().filter(|c| c.is_element()).collect();
    if ac.len() != ec.len() {
        return Err(format!(
            "{path} has {} children, expected {}",
            ac.len(),
            ec.len()
        ));
    }
    for (x, y) in ac.into_iter().zip(ec) {
        same_node(x, y, path.clone())?;
    }
    Ok(())
}

/// The payment most tests void; any 32 hexadecimal digits would do.
pub const PAYMENT: &str = "EE52401813A74328AAA7D93319FF4383";

/// The outlet (merchant, store, terminal) most tests void at.
pub fn outlet() -> instamed_soap::Outlet {
    outlet_at("456")
}

/// The merchant and store of [`outlet`] at another terminal: some suites void at terminal
/// `123`, and what they assert on the wire names it.
pub fn outlet_at(terminal: &str) -> instamed_soap::Outlet {
    instamed_soap::Outlet::new("123123123", "123", terminal).expect("a valid outlet")
}

/// A void of [`PAYMENT`] at [`outlet`].
pub fn request() -> instamed_soap::VoidRequest {
    request_at("456")
}

/// A void of [`PAYMENT`] at [`outlet_at`] `terminal`.
pub fn request_at(terminal: &str) -> instamed_soap::VoidRequest {
    instamed_soap::VoidRequest::new(
        outlet_at(terminal),
        instamed_soap::TransactionId::new(PAYMENT).expect("a valid id"),
    )
}

/// The credentials of a client talking to a hand-written [`Server`] or [`RawServer`].
pub fn credentials() -> instamed_soap::Credentials {
    instamed_soap::Credentials::new("acct@clinic.example", "pa55word")
}

/// A client of a hand-written server at `url`: [`credentials`], and a deadline short enough
/// that a hang shows as a failure.
pub fn builder(url: &str) -> instamed_soap::ClientBuilder {
    instamed_soap::Client::builder(url)
        .credentials(credentials())
        .timeout(Duration::from_secs(5))
}

/// The fields of a result that proves [`PAYMENT`] voided.
pub const VOIDED: &[(&str, &str)] = &[
    ("MerchantID", "123123123"),
    ("TransactionStatus", "C"),
    ("ResponseCode", "000"),
    ("ResponseMessage", "APPROVED"),
    ("PrimaryTransactionID", PAYMENT),
    ("PrimaryTransactionStatus", "V"),
];

/// A SOAP envelope proving [`PAYMENT`] voided.
pub fn voided(version: Version) -> String {
    void_result(version, VOIDED)
}
