//! Cassettes from an HTTP Archive (HAR 1.2), the file a browser's developer tools, Fiddler,
//! Charles or mitmproxy save a capture as.
//!
//! Each entry that is an exchange with the service becomes the cassette `record` would have
//! written for it: the entry is handed to [`record::cassette`], so the same redaction runs
//! (nothing secret is written) and the inputs and the expected outcome are derived the same
//! way. What HAR 1.2 says about each part:
//!
//! - `request.url` gives the target (path and query; the host is not stored, as `record`
//!   stores none); `headers` are name/value pairs in the order sent, HTTP/2 pseudo-headers
//!   (`:authority`…) left out; `cookies`, when the capture lists them but dropped the
//!   `Cookie`/`Set-Cookie` header, are put back as that header so that the redaction learns
//!   their values;
//! - `request.postData.text` is the body (`params`, when the tool gave the form as pairs
//!   instead, are encoded back to a form); `response.content.text` is the answer's body,
//!   base64 when `encoding` is `"base64"`. Text is turned back into bytes in the charset the
//!   headers declare. Both are decoded bodies: a `Content-Encoding` header (gzip…) and the
//!   `Content-Length` of the compressed body no longer describe them and are left out;
//! - `bodySize` and `content.size`, when known, catch a body the tool cut short;
//! - `timings`, `cache`, `pageref` and the rest say nothing a contract rests on and are
//!   ignored.
//!
//! An entry that is not an exchange with the service (another path, a page, a WSDL fetch, an
//! operation the service does not have) or that lacks what a cassette needs (no answer, a
//! missing or truncated body) is skipped with a reason.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;

use super::cassette::Cassette;
use super::charset::Charset;
use super::record::{self, SeenRequest};
use super::redact::Redaction;
use super::store::{highest_number, save_numbered};
use instamed_soap::{Protocol, sensitive};

/// A HAR file, as far as import reads it.
#[derive(Debug, Deserialize)]
struct Har {
    log: Log,
}

#[derive(Debug, Deserialize)]
struct Log {
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    request: Request,
    response: Response,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    cookies: Vec<NameValue>,
    post_data: Option<PostData>,
    /// `-1` when unknown.
    body_size: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    text: Option<String>,
    #[serde(default)]
    params: Vec<Param>,
    /// Not in HAR 1.2 for requests, but some tools write base64 request bodies as they do
    /// response bodies.
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Param {
    name: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Response {
    status: f64,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    cookies: Vec<NameValue>,
    content: Content,
}

#[derive(Debug, Deserialize)]
struct Content {
    /// The decoded body's length; `-1` or absent when unknown.
    size: Option<f64>,
    text: Option<String>,
    encoding: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct NameValue {
    name: String,
    value: String,
}

/// Why a HAR file could not be imported at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an HTTP Archive. Only where it went wrong is said: the parser's own
    /// message quotes the value it stumbled on, which may be a password.
    #[error("not an HTTP Archive (HAR 1.2): {what} at line {line}, column {column}")]
    NotHar {
        /// What kind of problem (`syntax`, `data`, `eof`).
        what: &'static str,
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
    },
    /// A cassette could not be written.
    #[error("cannot write a cassette in {}", dir.display())]
    Write {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An entry turned into a cassette.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Imported {
    /// The entry's number in the file, from 1.
    pub entry: usize,
    /// The cassette, secrets removed.
    pub cassette: Cassette,
}

/// An entry left out, and why. Both texts are fit for a terminal: what they quote of the entry
/// (a path, an operation) is swept as its cassette would be (card numbers, and what its headers
/// and cookies show to be secret) and has no control characters, and a header is named by its
/// position, never by its name (a name HTTP cannot carry may be a secret pasted in the wrong
/// place).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The entry's number in the file, from 1.
    pub entry: usize,
    /// The method and the URL without its query or user info (they may hold secrets).
    pub what: String,
    /// Why it was left out.
    pub reason: String,
}

/// What a HAR file holds for contract testing.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Import {
    /// The entries that are exchanges with the service, in the file's order.
    pub cassettes: Vec<Imported>,
    /// The others.
    pub skipped: Vec<Skipped>,
}

/// What [`import_file`] wrote.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Written {
    /// Each cassette written: the entry's number and the file.
    pub files: Vec<(usize, PathBuf)>,
    /// The entries left out.
    pub skipped: Vec<Skipped>,
}

/// The cassettes of a HAR document.
pub fn import(har: &[u8]) -> Result<Import, HarError> {
    // Fiddler writes a byte-order mark.
    let har = har.strip_prefix(b"\xef\xbb\xbf").unwrap_or(har);
    let har: Har = serde_json::from_slice(har).map_err(|error| HarError::NotHar {
        what: match error.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "not the HAR structure",
            serde_json::error::Category::Eof => "cut short",
        },
        line: error.line(),
        column: error.column(),
    })?;
    let mut import = Import::default();
    for (index, entry) in har.log.entries.iter().enumerate() {
        let number = index + 1;
        match cassette(entry) {
            Ok(cassette) => import.cassettes.push(Imported {
                entry: number,
                cassette,
            }),
            Err(reason) => {
                // What the entry's headers show to be secret (a password in its Basic token, a
                // cookie) is taken out of the line as the cassette would have it taken out.
                let sweep = entry_sweep(entry);
                import.skipped.push(Skipped {
                    entry: number,
                    what: sweep.finish_text(&shown(&entry.request)),
                    reason: sweep.finish_text(&reason),
                })
            }
        }
    }
    Ok(import)
}

/// How [`import_file_with`] writes its cassettes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Lay the cassettes' XML and JSON bodies out for review, as `record --pretty` does (see
    /// [`pretty`](crate::pretty)); off by default.
    pub pretty: bool,
}

impl ImportOptions {
    /// The same options, bodies laid out for review when `pretty`.
    pub fn with_pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }
}

/// Imports the HAR file `har` into `dir` (created if missing), each cassette numbered after
/// those already there and named as `record` names them.
pub fn import_file(har: &Path, dir: &Path) -> Result<Written, HarError> {
    import_file_with(har, dir, &ImportOptions::default())
}

/// [`import_file`], with `options`.
pub fn import_file_with(
    har: &Path,
    dir: &Path,
    options: &ImportOptions,
) -> Result<Written, HarError> {
    let text = std::fs::read(har).map_err(|source| HarError::Read {
        path: har.to_path_buf(),
        source,
    })?;
    let import = import(&text)?;
    let mut written = Written {
        files: Vec::new(),
        skipped: import.skipped,
    };
    if import.cassettes.is_empty() {
        return Ok(written);
    }
    let write_error = |source| HarError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let mut next = highest_number(dir).map_err(write_error)? + 1;
    for imported in import.cassettes {
        let cassette = if options.pretty {
            imported.cassette.pretty_printed()
        } else {
            imported.cassette
        };
        let file = save_numbered(dir, &mut next, &cassette).map_err(write_error)?;
        written.files.push((imported.entry, file));
    }
    Ok(written)
}

/// The request as a line may show it: no query, no user info, no card number.
fn shown(request: &Request) -> String {
    let method = sensitive::shown(&request.method);
    match url(request) {
        Ok(uri) => {
            let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
            // Masked as well: a password with a `/` in it ends the host part early and
            // leaves its tail, up to an `@`, in the path.
            let address = format!(
                "{}://{}{port}{}",
                uri.scheme_str().unwrap_or("?"),
                uri.host().unwrap_or("?"),
                uri.path()
            );
            format!(
                "{method} {}",
                instamed_soap::sensitive::redacted_url(&address)
            )
        }
        Err(_) => format!("{method} (a URL that cannot be read)"),
    }
}

/// The redaction `record` would run on `entry`, knowing the secrets its headers and cookies
/// show; what HTTP cannot carry is left out (and is not quoted either).
fn entry_sweep(entry: &Entry) -> Redaction {
    let lenient = |pairs: &[NameValue], cookies: &[NameValue], cookie_header: HeaderName| {
        let mut map = HeaderMap::new();
        let cookies = cookies.iter().map(|c| NameValue {
            name: cookie_header.as_str().to_owned(),
            value: format!("{}={}", c.name, c.value),
        });
        for pair in pairs.iter().cloned().chain(cookies) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(pair.name.trim()),
                HeaderValue::try_from(pair.value.trim()),
            ) {
                map.append(name, value);
            }
        }
        map
    };
    Redaction::new(
        &lenient(
            &entry.request.headers,
            &entry.request.cookies,
            http::header::COOKIE,
        ),
        &lenient(
            &entry.response.headers,
            &entry.response.cookies,
            http::header::SET_COOKIE,
        ),
    )
}

/// The request's URL; a fragment (`#…`), which browsers keep and never send, is left out.
fn url(request: &Request) -> Result<Uri, http::uri::InvalidUri> {
    let url = request.url.split('#').next().unwrap_or("");
    url.parse()
}

/// The cassette `record` would have written for `entry`, or why there is none.
fn cassette(entry: &Entry) -> Result<Cassette, String> {
    let request = &entry.request;
    let response = &entry.response;
    let status = status(response.status)?;
    let uri = url(request).map_err(|_| "its URL cannot be read".to_owned())?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err("not an HTTP or HTTPS exchange".into());
    }
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| "its method cannot be read".to_owned())?;
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let request_headers = headers(
        "request",
        &request.headers,
        &request.cookies,
        "cookie",
        "; ",
    )?;

    // Which interface, judged as `record` judges it, before asking for a body.
    let probe = SeenRequest {
        method: &method,
        target,
        headers: &request_headers,
        body: b"",
    };
    let Some(protocol) = probe.protocol() else {
        let query = uri.query().unwrap_or("").to_ascii_lowercase();
        if method == Method::GET && (query.starts_with("wsdl") || query.starts_with("disco")) {
            return Err("a WSDL fetch, not an exchange".into());
        }
        return Err(format!(
            "not an exchange with the service: {} {} is no SOAP, NVP or REST call",
            method,
            sensitive::shown(uri.path())
        ));
    };

    let body = request_body(request, &request_headers)?;
    let seen = SeenRequest {
        method: &method,
        target,
        headers: &request_headers,
        body: &body,
    };
    known_operation(protocol, &seen)?;

    let response_headers = headers(
        "answer",
        &response.headers,
        &response.cookies,
        "set-cookie",
        "",
    )?;
    let answer = response_body(&response.content, &response_headers)?;
    Ok(record::cassette(&seen, status, &response_headers, &answer))
}

fn status(status: f64) -> Result<StatusCode, String> {
    if status.fract() != 0.0 || !(100.0..=999.0).contains(&status) {
        return Err(format!(
            "no answer was captured (status {status}): the request failed or was cancelled"
        ));
    }
    // In range and whole: the conversion is exact.
    StatusCode::from_u16(status as u16).map_err(|_| format!("status {status} cannot be read"))
}

/// The headers as a server would have received them: pseudo-headers, and the two that
/// described the body before the tool decoded it, left out; cookies put back when the capture
/// lists them only apart. A header that HTTP cannot carry, even with the spaces a tool may add
/// around it trimmed, refuses the entry: no server received that exchange, and a secret in a
/// header the redaction never sees could be echoed in the answer and written as it is. Such a
/// header is named by its position among the `whose` headers, never quoted: a name HTTP
/// cannot carry is often a value pasted in the wrong place (`Basic dXNlcj…`).
fn headers(
    whose: &str,
    pairs: &[NameValue],
    cookies: &[NameValue],
    cookie_header: &str,
    join: &str,
) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (index, pair) in pairs.iter().enumerate() {
        let name = pair.name.trim();
        if name.starts_with(':') {
            continue;
        }
        let unreadable = |part: &str| {
            format!(
                "the {part} of its {whose} header {} (of {}) cannot be carried by HTTP",
                index + 1,
                pairs.len()
            )
        };
        let name = HeaderName::try_from(name).map_err(|_| unreadable("name"))?;
        if name == http::header::CONTENT_ENCODING || name == http::header::CONTENT_LENGTH {
            continue;
        }
        let value = HeaderValue::try_from(pair.value.trim()).map_err(|_| unreadable("value"))?;
        map.append(name, value);
    }
    if !cookies.is_empty() && !map.contains_key(cookie_header) {
        let values: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        let values = if join.is_empty() {
            values
        } else {
            vec![values.join(join)]
        };
        let name = HeaderName::try_from(cookie_header)
            .map_err(|_| format!("its {cookie_header} header cannot be rebuilt"))?;
        for value in values {
            let value = HeaderValue::try_from(value)
                .map_err(|_| "one of its cookies cannot be carried by HTTP".to_owned())?;
            map.append(name.clone(), value);
        }
    }
    Ok(map)
}

/// A body's bytes from HAR text: base64 as such, text in the charset the headers declare.
fn bytes_of(text: &str, encoding: Option<&str>, headers: &HeaderMap) -> Result<Vec<u8>, String> {
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        return base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "its base64 body cannot be decoded".to_owned());
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let charset = Charset::of(content_type, text.as_bytes());
    Ok(charset
        .encode(text)
        .unwrap_or_else(|| text.as_bytes().to_vec()))
}

fn request_body(request: &Request, headers: &HeaderMap) -> Result<Vec<u8>, String> {
    let declared = request.body_size.filter(|size| *size >= 0.0);
    let body = match &request.post_data {
        Some(PostData {
            text: Some(text),
            encoding,
            ..
        }) => bytes_of(text, encoding.as_deref(), headers)?,
        Some(PostData { params, .. }) if !params.is_empty() => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for param in params {
                form.append_pair(&param.name, param.value.as_deref().unwrap_or(""));
            }
            form.finish().into_bytes()
        }
        _ if request.method.eq_ignore_ascii_case("GET") || declared == Some(0.0) => Vec::new(),
        _ => return Err("the request body is not in the HAR".into()),
    };
    if let Some(size) = declared.filter(|size| (body.len() as f64) < *size) {
        return Err(format!(
            "the request body is truncated ({} of {size} bytes)",
            body.len()
        ));
    }
    Ok(body)
}

fn response_body(content: &Content, headers: &HeaderMap) -> Result<Vec<u8>, String> {
    let declared = content.size.filter(|size| *size >= 0.0);
    let body = match &content.text {
        Some(text) => bytes_of(text, content.encoding.as_deref(), headers)?,
        None if declared == Some(0.0) => Vec::new(),
        None => return Err("the answer's body is not in the HAR (no content.text)".into()),
    };
    if let Some(size) = declared.filter(|size| (body.len() as f64) < *size) {
        return Err(format!(
            "the answer's body is truncated ({} of {size} bytes)",
            body.len()
        ));
    }
    Ok(body)
}

/// Whether the request calls an operation of the service: a SOAP action (or body element) in
/// the service's namespace, an NVP `transactionAction`, a REST void or simple refund.
fn known_operation(protocol: Protocol, seen: &SeenRequest<'_>) -> Result<(), String> {
    let operation = match protocol {
        // As written, not folded to lower case: the line is swept for what the entry's
        // headers show to be secret, and a secret is matched as written.
        Protocol::Rest => seen
            .target
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned(),
        _ => seen.operation(),
    };
    let unknown = || {
        format!(
            "operation {:?} is not one of the service's",
            sensitive::shown(&operation)
        )
    };
    match protocol {
        Protocol::Rest => seen.void_inputs().map(|_| ()).ok_or_else(unknown),
        Protocol::Nvp if operation == "unknown" => {
            Err("an NVP request without a transactionAction".into())
        }
        Protocol::Nvp => Ok(()),
        _ => {
            let namespace = soap_namespace(seen).ok_or_else(unknown)?;
            if namespace.trim_end_matches('/')
                == instamed_soap::bindings::TARGET_NAMESPACE.trim_end_matches('/')
            {
                Ok(())
            } else {
                Err(unknown())
            }
        }
    }
}

/// The namespace a SOAP request's operation lives in: its action without the last segment,
/// or the namespace of the element under `Body`.
fn soap_namespace(seen: &SeenRequest<'_>) -> Option<String> {
    let header_action = seen
        .headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .map(|a| a.trim_matches('"').to_owned());
    let type_action = seen
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| super::wire::media_type_and_action(v).1);
    if let Some(action) = header_action.or(type_action).filter(|a| !a.is_empty()) {
        return action
            .rsplit_once('/')
            .map(|(namespace, _)| namespace.to_owned());
    }
    seen.body_element().and_then(|(_, namespace)| namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har(url: &str, content: &str) -> Vec<u8> {
        format!(
            "\u{feff}{{\"log\":{{\"entries\":[{{\"request\":{{\"method\":\"POST\",\"url\":\"{url}\",\
             \"headers\":[{{\"name\":\"content-type\",\"value\":\"application/json\"}}],\
             \"postData\":{{\"text\":\"{{\\\"Outlet\\\":{{\\\"MerchantID\\\":\\\"1\\\"}},\\\"TransactionID\\\":\\\"AB\\\"}}\"}}}},\
             \"response\":{{\"status\":200,\"headers\":[],\"content\":{content}}}}}]}}}}"
        )
        .into_bytes()
    }

    #[test]
    fn a_fragment_and_a_byte_order_mark_do_not_stop_an_import() {
        let import = import(&har(
            "http://127.0.0.1/rest/payment/void#top",
            r#"{"size":2,"text":"{}"}"#,
        ))
        .unwrap();
        assert_eq!(import.skipped, []);
        assert_eq!(
            import.cassettes[0].cassette.request.start,
            "POST /rest/payment/void"
        );
    }

    #[test]
    fn a_skipped_entry_is_shown_without_its_query_or_user_info() {
        let import = import(&har(
            "http://user:pw-in-url@127.0.0.1/rest/payment/void?password=pw-in-query",
            r#"{"size":40,"text":"e30="}"#,
        ))
        .unwrap();
        let skipped = &import.skipped[0];
        assert_eq!(skipped.what, "POST http://127.0.0.1/rest/payment/void");
        assert!(skipped.reason.contains("truncated"), "{}", skipped.reason);
        // A `/` in the password ends the host part early; what follows it is still hidden.
        let cut = super::import(&har(
            "http://user:pw/tail-of-pw@127.0.0.1/rest/payment/void",
            r#"{"size":40,"text":"e30="}"#,
        ))
        .unwrap();
        let what = &cut.skipped[0].what;
        assert!(
            !what.contains("tail-of-pw") && !what.contains("user"),
            "{what}"
        );
    }

    #[test]
    fn bad_base64_is_a_reason_not_a_failure() {
        let import = import(&har(
            "http://127.0.0.1/rest/payment/void",
            r#"{"size":-1,"text":"@@@","encoding":"base64"}"#,
        ))
        .unwrap();
        assert!(import.skipped[0].reason.contains("base64"));
    }

    /// A HAR whose SOAP void carries `authorization` and whose fault answer echoes the
    /// password, as a careless server would.
    fn echoing_har(name: &str, value: &str) -> Vec<u8> {
        let body = "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><DoCreditCardSecondaryVoid xmlns=\"http://online.instamed.com/TransactionServices/Payment/v1r3/\"><transaction><MerchantID>1</MerchantID><StoreID>2</StoreID><TerminalID>3</TerminalID><PrimaryTransactionID>T1</PrimaryTransactionID></transaction></DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>";
        let answer = format!(
            "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad password {ECHOED}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
        );
        let header = |name: &str, value: &str| serde_json::json!({ "name": name, "value": value });
        serde_json::to_vec(&serde_json::json!({ "log": { "entries": [{
            "request": {
                "method": "POST",
                "url": "https://connect.instamed.test/payment/service.asmx",
                "headers": [
                    header(name, value),
                    header("Content-Type", "text/xml; charset=utf-8"),
                    header("SOAPAction", "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\""),
                ],
                "postData": { "mimeType": "text/xml", "text": body },
            },
            "response": {
                "status": 500,
                "headers": [header("Content-Type", "text/xml; charset=utf-8")],
                "content": { "text": answer },
            },
        }]}}))
        .unwrap()
    }

    const ECHOED: &str = "Hunter2PWxyz";

    #[test]
    fn a_password_in_an_odd_authorization_header_never_reaches_a_cassette() {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("merchant@clinic.test:{ECHOED}"));
        for (name, value) in [
            // Spaces a tool added around the name or the value are trimmed, as HTTP does.
            ("Authorization ", format!(" Basic {token}")),
            // A third word: the token is still decoded.
            ("Authorization", format!("Basic {token} x")),
            // A control character: no server received that header, so no cassette is made.
            ("Authorization", format!("Basic {token}\u{1}")),
        ] {
            let import = import(&echoing_har(name, &value)).unwrap();
            let written: String = import
                .cassettes
                .iter()
                .map(|c| c.cassette.to_text())
                .collect();
            let skipped = format!("{:?}", import.skipped);
            assert!(!written.contains(ECHOED), "{name:?} {value:?}:\n{written}");
            assert!(!skipped.contains(ECHOED), "{skipped}");
            assert_eq!(import.cassettes.len() + import.skipped.len(), 1);
        }
    }
}
