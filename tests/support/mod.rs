//! A real HTTPS server on loopback for tests: a CA and a server certificate made at start with
//! rcgen, rustls, and hyper. Each test gives it a handler that sees the request as it arrived and
//! decides the answer, so the client is tested against real TLS, real HTTP and real bytes.

#![allow(dead_code)] // each test binary uses a different part of it

use std::convert::Infallible;
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
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("request body is UTF-8")
    }
}

/// The answer a handler chooses.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn xml(status: u16, version: Version, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, version.content_type(), body)
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// SOAP version, as the server side sees it (kept apart from the crate's own type on purpose:
/// the server must not trust the code under test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Soap11,
    Soap12,
}

impl Version {
    pub fn envelope_ns(self) -> &'static str {
        match self {
            Version::Soap11 => "http://schemas.xmlsoap.org/soap/envelope/",
            Version::Soap12 => "http://www.w3.org/2003/05/soap-envelope",
        }
    }

    pub fn content_type(self) -> &'static str {
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

pub fn envelope(version: Version, body: &str) -> String {
    let p = version.prefix();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><{p}:Envelope xmlns:{p}=\"{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><{p}:Body>{body}</{p}:Body></{p}:Envelope>",
        version.envelope_ns()
    )
}

/// The SOAP version a request was sent in, judged from its envelope.
pub fn version_of(exchange: &Exchange) -> Version {
    if exchange.body_text().contains(Version::Soap12.envelope_ns()) {
        Version::Soap12
    } else {
        Version::Soap11
    }
}

/// The text of the first element named `local` in the request body.
pub fn field(exchange: &Exchange, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(exchange.body_text()).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == local)
        .and_then(|n| n.text())
        .map(str::to_owned)
}

/// A CA and a server certificate for `localhost` and `127.0.0.1`, made now.
pub struct Pki {
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
}

pub fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "instamed-soap test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");

    let leaf_key = KeyPair::generate().expect("server key");
    let leaf_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .expect("server certificate");

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .expect("server config");

    let ca_pem = ca.pem();
    let dir = std::env::temp_dir().join(format!(
        "instamed-soap-test-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).expect("write CA");
    Pki {
        ca_pem,
        ca_path,
        server: Arc::new(server),
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

type Handler = dyn Fn(&Exchange) -> Reply + Send + Sync;

/// A running HTTPS server on 127.0.0.1.
pub struct Server {
    pub url: String,
    pub addr: SocketAddr,
    pub ca_path: PathBuf,
    seen: Arc<Mutex<Vec<Exchange>>>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    /// Starts a server answering every request with `handler`, at `/payment/service.asmx`.
    pub async fn start(handler: impl Fn(&Exchange) -> Reply + Send + Sync + 'static) -> Server {
        let pki = pki();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let acceptor = TlsAcceptor::from(pki.server.clone());
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen2, connections2) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                tcp.set_nodelay(true).ok();
                connections2.fetch_add(1, Ordering::SeqCst);
                let (acceptor, handler, seen) = (acceptor.clone(), handler.clone(), seen2.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let (handler, seen) = (handler.clone(), seen.clone());
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let exchange = Exchange {
                                    method: parts.method,
                                    path: parts
                                        .uri
                                        .path_and_query()
                                        .map(|p| p.to_string())
                                        .unwrap_or_default(),
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
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Server {
            url: format!("https://localhost:{}/payment/service.asmx", addr.port()),
            addr,
            ca_path: pki.ca_path,
            seen,
            connections,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Exchange> {
        self.seen.lock().unwrap().clone()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
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
