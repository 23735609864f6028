//! `contract verify`: does today's client still honour each recorded exchange?
//!
//! For each cassette the request is rebuilt from its domain inputs by the same code the client
//! sends with, compared by meaning with the recorded one, and the recorded answer is decoded
//! by the same code the client reads with; the outcome must be the one the cassette expects.
//! A REST cassette is rebuilt and judged through the call layer's [`Rest`]
//! type, its JSON compared by meaning; a REST simple refund (an `amount:` in the head) is
//! rebuilt as a [`RefundRequest`] and must decode to `refunded` or an error code.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::cassette::{Cassette, Message, VoidInputs};
use super::matcher::{self, Comparison};
use super::record::SeenRequest;
use instamed_soap::call::{Call, Rest, Route, Wire};
use instamed_soap::{
    ApiKey, Credentials, Error, InvalidRequest, Protocol, RefundRequest, UserName, VoidRequest,
};

/// The domain exchange a cassette's inputs describe.
#[derive(Debug, Clone)]
pub(crate) enum Exchange {
    /// A void.
    Void(VoidRequest),
    /// A simple refund.
    Refund(RefundRequest),
}

impl Exchange {
    /// The exchange of `inputs`: a refund when they carry an amount, a void otherwise.
    pub(crate) fn of(inputs: &VoidInputs) -> Result<Self, InvalidRequest> {
        match inputs.to_refund() {
            Some(refund) => refund.map(Self::Refund),
            None => inputs.to_request().map(Self::Void),
        }
    }

    /// The request the client sends for this exchange over `wire`.
    fn request(&self, wire: &Wire) -> Result<http::Request<Bytes>, Error> {
        match self {
            Self::Void(request) => wire.request(request),
            Self::Refund(request) => wire.request(request),
        }
    }

    /// What the client makes of `response`: `voided`, `refunded` or an error code.
    pub(crate) fn outcome(&self, wire: &Wire, response: &Message) -> &'static str {
        let result = match self {
            Self::Void(request) => judge(wire, request, response).map(|_| "voided"),
            Self::Refund(request) => judge(wire, request, response).map(|_| "refunded"),
        };
        result.unwrap_or_else(|error| error.code())
    }
}

/// One way a cassette is not honoured: where the difference is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// Where the recorded exchange and this build part: `inputs`, `request.method`,
    /// `request.target`, `request.header.content-type`, `request.header.content-type.action`,
    /// `request.header.soapaction`, `request.body` followed by the matcher's path of the first
    /// difference in the body (`request.body/Envelope/Body/…/StoreID`, `request.body$.Outlet.StoreID`,
    /// `request.body?storeid`), `request` when the request cannot be built, or `outcome`.
    pub path: String,
    /// The difference in words.
    pub message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What verifying one cassette found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The cassette file.
    pub file: PathBuf,
    /// Every way the cassette is not honoured; empty when it passes.
    pub problems: Vec<Problem>,
    /// Why the cassette could not be read at all (it is then neither passed nor checked).
    pub error: Option<String>,
    /// Why the cassette was not verified, for an exchange that is not a void (replay only).
    pub skipped: Option<String>,
    /// How long reading and checking the cassette took.
    pub elapsed: Duration,
}

impl Verdict {
    /// Whether the cassette is honoured (a skipped one is not a failure).
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.error.is_none()
    }

    /// The cassette's file name, as reports name it.
    pub fn name(&self) -> String {
        self.file.file_name().map_or_else(
            || self.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        if let Some(why) = &self.skipped {
            return write!(f, "skip  {name} ({why})");
        }
        if self.passed() {
            return write!(f, "pass  {name}");
        }
        write!(f, "FAIL  {name}")?;
        if let Some(error) = &self.error {
            write!(f, "\n      cannot read it: {error}")?;
        }
        for problem in &self.problems {
            write!(f, "\n      {problem}")?;
        }
        Ok(())
    }
}

/// The cassette files of a directory (`*.cassette`), sorted by name.
pub fn cassette_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "cassette"))
        .collect();
    files.sort();
    Ok(files)
}

/// Verifies every cassette of `dir`.
pub fn verify_dir(dir: &Path) -> std::io::Result<Vec<Verdict>> {
    Ok(cassette_files(dir)?
        .into_iter()
        .map(|file| verify_file(&file))
        .collect())
}

/// Verifies one cassette file.
pub fn verify_file(file: &Path) -> Verdict {
    let started = Instant::now();
    let mut verdict = Verdict {
        file: file.to_path_buf(),
        problems: Vec::new(),
        error: None,
        skipped: None,
        elapsed: Duration::ZERO,
    };
    match Cassette::load(file) {
        Ok(cassette) if cassette.inputs.is_none() => {
            verdict.skipped = Some(format!(
                "{} is not a void; it is kept for replay",
                cassette.operation
            ));
        }
        Ok(cassette) => verdict.problems = problems(&cassette),
        Err(error) => verdict.error = Some(error.to_string()),
    }
    verdict.elapsed = started.elapsed();
    verdict
}

/// Every way `cassette` is not honoured by this build's client, in words; [`problems`] also
/// says where each difference is.
pub fn verify(cassette: &Cassette) -> Vec<String> {
    problems(cassette)
        .into_iter()
        .map(|problem| problem.message)
        .collect()
}

/// Every way `cassette` is not honoured by this build's client, each with the path of the
/// difference.
pub fn problems(cassette: &Cassette) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(inputs) = &cassette.inputs else {
        return vec![Problem::new(
            "inputs",
            "the cassette has no domain inputs (transaction-id and the outlet)",
        )];
    };
    let request = match Exchange::of(inputs) {
        Ok(request) => request,
        Err(error) => {
            return vec![Problem::new(
                "inputs",
                format!("its inputs are invalid: {error}"),
            )];
        }
    };
    let target = cassette
        .request
        .start
        .split_whitespace()
        .nth(1)
        .unwrap_or("/");
    let wire = match offline_wire(cassette.protocol, target) {
        Ok(wire) => wire,
        Err(problem) => return vec![Problem::new("request.target", problem)],
    };

    let mut response = cassette.response.clone();
    match request.request(&wire) {
        Ok(built) => {
            problems.extend(compare_request(cassette, &built));
            let target = built.uri().path_and_query().map_or("/", |p| p.as_str());
            let sent = SeenRequest {
                method: built.method(),
                target,
                headers: built.headers(),
                body: built.body(),
            };
            response.body = sent.echo(&cassette.response.body).into_owned();
        }
        Err(error) => problems.push(Problem::new(
            "request",
            format!("the client cannot build the request: {}", error.report()),
        )),
    }

    let outcome = request.outcome(&wire, &response);
    match &cassette.expect {
        Some(expected) if expected == outcome => {}
        Some(expected) => problems.push(Problem::new(
            "outcome",
            format!("the response decodes to {outcome}, expected {expected}"),
        )),
        None => problems.push(Problem::new(
            "outcome",
            format!("the cassette expects no outcome; the response decodes to {outcome}"),
        )),
    }
    problems
}

/// The call layer for the address the cassette was recorded at: it builds requests and
/// judges answers, and never connects.
pub(crate) fn offline_wire(protocol: Protocol, target: &str) -> Result<Wire, String> {
    const ORIGIN: &str = "http://127.0.0.1";
    let path = target.split('?').next().unwrap_or(target);
    if protocol == Protocol::Rest {
        // The base URL is what comes before the interface's own `/rest/payment/…` path.
        let base = path
            .to_ascii_lowercase()
            .find("/rest/payment/")
            .map_or("", |at| &path[..at]);
        let uri: http::Uri = format!("{ORIGIN}{base}")
            .parse()
            .map_err(|error| format!("the recorded target {path:?} is not a path: {error}"))?;
        return Rest::new(&uri, &ApiKey::new("contract", "contract"))
            .map(Wire::Rest)
            .map_err(|error| format!("cannot set up the call: {}", error.report()));
    }
    let nvp = protocol == Protocol::Nvp;
    let soap_path = if nvp { "/payment/service.asmx" } else { path };
    let credentials = Credentials::new("contract", "contract");
    let route = |path: &str| {
        let uri: http::Uri = format!("{ORIGIN}{path}")
            .parse()
            .map_err(|error| format!("the recorded target {path:?} is not a path: {error}"))?;
        Route::new(&uri, &credentials, UserName::default())
            .map_err(|error| format!("cannot set up the call: {}", error.report()))
    };
    let nvp_route = if nvp { Some(route(path)?) } else { None };
    Wire::new(protocol, route(soap_path)?, nvp_route)
        .map_err(|error| format!("cannot set up the call: {}", error.report()))
}

/// Differences between the recorded request and the one the client builds now.
fn compare_request(cassette: &Cassette, built: &http::Request<Bytes>) -> Vec<Problem> {
    let recorded = &cassette.request;
    let mut problems = Vec::new();
    let mut words = recorded.start.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if !method.eq_ignore_ascii_case(built.method().as_str()) {
        problems.push(Problem::new(
            "request.method",
            format!("method: recorded {method}, sent {}", built.method()),
        ));
    }
    let built_target = built.uri().path_and_query().map_or("/", |p| p.as_str());
    if target != built_target {
        problems.push(Problem::new(
            "request.target",
            format!("target: recorded {target}, sent {built_target}"),
        ));
    }
    let header = |name: &str| {
        built
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let (recorded_type, recorded_action) =
        media_type_and_action(recorded.header("content-type").unwrap_or(""));
    let (built_type, built_action) = media_type_and_action(header("content-type"));
    if recorded_type != built_type {
        problems.push(Problem::new(
            "request.header.content-type",
            format!("content type: recorded {recorded_type:?}, sent {built_type:?}"),
        ));
    }
    if recorded_action != built_action {
        problems.push(Problem::new(
            "request.header.content-type.action",
            format!("action parameter: recorded {recorded_action:?}, sent {built_action:?}"),
        ));
    }
    let recorded_soap_action = recorded.header("soapaction").map(|a| a.trim_matches('"'));
    let built_soap_action = built
        .headers()
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .map(|a| a.trim_matches('"'));
    if recorded_soap_action != built_soap_action {
        problems.push(Problem::new(
            "request.header.soapaction",
            format!("SOAPAction: recorded {recorded_soap_action:?}, sent {built_soap_action:?}"),
        ));
    }
    let body = built_body(built);
    let comparison: Comparison = match cassette.protocol {
        Protocol::Nvp => matcher::form(&recorded.body_text(), &body),
        Protocol::Rest => matcher::json(&recorded.body_text(), &body),
        _ => matcher::xml(&recorded.body_text(), &body),
    };
    if let Some(difference) = comparison.difference {
        problems.push(Problem::new(
            format!("request.body{}", difference.path),
            format!("request body differs {difference}"),
        ));
    }
    problems
}

/// The media type (lower case) and the `action` parameter of a `Content-Type` value.
pub(crate) fn media_type_and_action(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let action = parts.find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("action")
            .then(|| value.trim().trim_matches('"').to_owned())
    });
    (media_type, action)
}

fn built_body(built: &http::Request<Bytes>) -> String {
    String::from_utf8_lossy(built.body()).into_owned()
}

/// What the call layer makes of a recorded answer to `request`, by the rules a client with
/// default settings reads a live answer with, its size limit included: an answer larger than
/// the limit (by its body or its declared `Content-Length`) is refused as the transport refuses
/// it, before anything else.
pub(crate) fn judge<R: instamed_soap::call::Exchange>(
    wire: &Wire,
    request: &R,
    response: &Message,
) -> Result<R::Receipt, Error>
where
    Wire: Call<R>,
{
    let answer = response_of(response);
    instamed_soap::call::within_limit(&answer, instamed_soap::DEFAULT_MAX_RESPONSE_BYTES)?;
    wire.judge(request, &answer)
}

/// A recorded answer as the transport would have handed it over.
pub(crate) fn response_of(message: &Message) -> http::Response<Bytes> {
    let status = message
        .start
        .split_whitespace()
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (name, value) in &message.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    let mut answer = http::Response::new(Bytes::from(message.body.clone()));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    answer
}
