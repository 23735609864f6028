//! Raw HTTP requests to the simulator, over TLS trusting its CA (or plain HTTP without one),
//! for the simulator tests that must see every status and byte, whatever the client does with
//! them.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use instamed_soap_simulator::Simulator;
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The namespace of the InstaMed payment service, which [`soap`] writes the operation in.
pub const TNS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";
/// The SOAP 1.1 envelope namespace, for tests that write or look for a 1.1 envelope.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace, for tests that write or look for a 1.2 envelope.
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// What a request got back.
#[derive(Debug)]
pub struct RawResponse {
    /// The status, as the server sent it.
    pub status: StatusCode,
    headers: HeaderMap,
    /// The body as text; bytes that are not UTF-8 are replaced, never a reason to fail.
    pub body: String,
}

impl RawResponse {
    /// Every value of a header given more than once (`Set-Cookie`), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A top-level JSON string field, if present.
    pub fn field(&self, name: &str) -> Option<String> {
        self.json()
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
}

/// Sends one request, with exactly `headers` (and `host`), over TLS when the simulator has a
/// CA. `Err` when no answer came (the connection closed).
pub async fn send(
    simulator: &Simulator,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<RawResponse, String> {
    let host = host(&simulator.origin());
    let target = Target {
        addr: simulator.local_addr(),
        host: &host,
        ca: simulator.ca_path(),
    };
    send_to(target, method, path, headers, body).await
}

/// Where a request goes: an address, the host name its certificate has, and its CA (none for
/// plain HTTP).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The address to connect to.
    pub addr: std::net::SocketAddr,
    /// The name sent in `Host` and checked against the certificate.
    pub host: &'a str,
    /// The PEM file of the CA to trust; `None` sends plain HTTP.
    pub ca: Option<&'a std::path::Path>,
}

/// [`send`] to any server.
pub async fn send_to(
    target: Target<'_>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<RawResponse, String> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", target.host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(body.into()))
        .map_err(|e| e.to_string())?;
    match target.ca {
        Some(ca) => {
            let ca = CertificateDer::from_pem_file(ca).map_err(|e| e.to_string())?;
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).map_err(|e| e.to_string())?;
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let name = ServerName::try_from(target.host.to_owned()).map_err(|e| e.to_string())?;
            let tls = TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            exchange(TokioIo::new(tls), request).await
        }
        None => exchange(TokioIo::new(tcp), request).await,
    }
}

async fn exchange<I>(io: I, request: Request<Full<Bytes>>) -> Result<RawResponse, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(RawResponse {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The host of an origin (`https://localhost:1234` → `localhost`).
pub fn host(origin: &str) -> String {
    let authority = origin.split("://").nth(1).unwrap_or(origin);
    match authority.rsplit_once(':') {
        Some((host, _port)) => host.trim_matches(['[', ']']).to_owned(),
        None => authority.to_owned(),
    }
}

/// The demo API key pair's headers, with a JSON content type.
pub const REST_HEADERS: [(&str, &str); 3] = [
    ("api-key", DEMO_API_KEY),
    ("api-secret", DEMO_API_SECRET),
    ("content-type", "application/json"),
];

/// POSTs `body` (JSON) to `path` with the demo key pair.
pub async fn rest(simulator: &Simulator, path: &str, body: serde_json::Value) -> RawResponse {
    send(
        simulator,
        Method::POST,
        path,
        &REST_HEADERS,
        body.to_string(),
    )
    .await
    .expect("an answer")
}

/// `Authorization: Basic …` for the demo account.
pub fn basic() -> String {
    basic_of(&format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"))
}

/// `Authorization: Basic …` for `client`, written `NAME:SECRET`.
pub fn basic_of(client: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(client)
    )
}

/// POSTs a SOAP 1.1 or 1.2 envelope whose body is `operation` with `transaction` fields.
pub async fn soap(
    simulator: &Simulator,
    soap12: bool,
    operation: &str,
    fields: &[(&str, &str)],
) -> RawResponse {
    let ns = if soap12 { SOAP12 } else { SOAP11 };
    let inner: String = fields
        .iter()
        .map(|(name, value)| format!("<v:{name}>{value}</v:{name}>"))
        .collect();
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><e:Envelope xmlns:e=\"{ns}\"><e:Body>\
         <v:{operation} xmlns:v=\"{TNS}\"><v:transaction>{inner}</v:transaction>\
         </v:{operation}></e:Body></e:Envelope>"
    );
    let action = format!("\"{TNS}{operation}\"");
    let basic = basic();
    let headers: Vec<(&str, &str)> = if soap12 {
        vec![
            ("authorization", &basic),
            ("content-type", "application/soap+xml; charset=utf-8"),
        ]
    } else {
        vec![
            ("authorization", &basic),
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", &action),
        ]
    };
    send(
        simulator,
        Method::POST,
        "/payment/service.asmx",
        &headers,
        envelope,
    )
    .await
    .expect("an answer")
}

/// POSTs NVP pairs.
pub async fn nvp(simulator: &Simulator, pairs: &[(&str, &str)]) -> RawResponse {
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let basic = basic();
    send(
        simulator,
        Method::POST,
        "/payment/NVP.aspx",
        &[
            ("authorization", &basic),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form,
    )
    .await
    .expect("an answer")
}

/// The text of the first element named `local` in `xml`.
pub fn xml_text(xml: &str, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == local)
        .map(|n| n.text().unwrap_or("").to_owned())
}

/// The value of `key` in form pairs.
pub fn form_value(form: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// What an ERP sends a gateway over SOAP 1.1: `operation` (`DoCreditCardSecondaryVoid`,
/// `DoCreditCardSimpleRefund`) of `payment` at outlet 123123123/123/456, `extra` fields after
/// the payment (an `<Amount>`), signed in as `client` (`NAME:SECRET`, HTTP Basic), to
/// `/payment/service.asmx` at `target`.
pub async fn erp_soap11(
    target: Target<'_>,
    client: &str,
    operation: &str,
    payment: &str,
    extra: &str,
) -> Result<RawResponse, String> {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP11}\">\
         <soap:Body><{operation} xmlns=\"{TNS}\"><transaction>\
         <MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>456</TerminalID>\
         <PrimaryTransactionID>{payment}</PrimaryTransactionID>{extra}</transaction>\
         </{operation}></soap:Body></soap:Envelope>"
    );
    let basic = basic_of(client);
    let action = format!("\"{TNS}{operation}\"");
    send_to(
        target,
        Method::POST,
        "/payment/service.asmx",
        &[
            ("authorization", &basic),
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", &action),
        ],
        envelope,
    )
    .await
}
