//! `contract verify`: does today's client still honour each recorded exchange?
//!
//! For each cassette the request is rebuilt from its domain inputs by the same code the client
//! sends with, compared by meaning with the recorded one, and the recorded answer is decoded
//! by the same code the client reads with; the outcome must be the one the cassette expects.
//! A REST cassette is rebuilt and judged through the call layer's [`Rest`](instamed_soap::call::Rest)
//! type, its JSON compared by meaning; a REST simple refund (an `amount:` in the head) is
//! rebuilt as a [`RefundRequest`](instamed_soap::RefundRequest) and must decode to `refunded` or an error code.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::cassette::Cassette;
use super::matcher::{self, Comparison};
use super::record::SeenRequest;
use super::wire::{DomainRequest, media_type_and_action, offline_wire};
use instamed_soap::Protocol;

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
pub struct Verification {
    /// The cassette file.
    pub file: PathBuf,
    /// Every way the cassette is not honoured; empty when it passes.
    pub problems: Vec<Problem>,
    /// Why the cassette could not be read at all (it is then neither passed nor checked).
    pub error: Option<String>,
    /// Why the cassette was not verified, for an exchange that is neither a void nor a simple
    /// refund (kept for replay only).
    pub skipped: Option<String>,
    /// How long reading and checking the cassette took.
    pub elapsed: Duration,
}

impl Verification {
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

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        if let Some(why) = &self.skipped {
            return write!(f, "skip  {name} ({why})");
        }
        if self.passed() {
            return write!(f, "pass  {name}");
        }
        // An unreadable cassette is an error, as the JUnit report and the JSON document call
        // it: nothing was compared, so nothing failed.
        if let Some(error) = &self.error {
            return write!(f, "ERROR {name}\n      cannot read it: {error}");
        }
        write!(f, "FAIL  {name}")?;
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
pub fn verify_dir(dir: &Path) -> std::io::Result<Vec<Verification>> {
    Ok(cassette_files(dir)?
        .into_iter()
        .map(|file| verify_file(&file))
        .collect())
}

/// Verifies one cassette file.
pub fn verify_file(file: &Path) -> Verification {
    let started = Instant::now();
    let mut verdict = Verification {
        file: file.to_path_buf(),
        problems: Vec::new(),
        error: None,
        skipped: None,
        elapsed: Duration::ZERO,
    };
    match Cassette::load(file) {
        Ok(cassette) if super::sso::is_sso(&cassette.operation) => {
            verdict.problems = sso_problems(&cassette);
        }
        Ok(cassette) if cassette.inputs.is_none() => {
            verdict.skipped = Some(format!(
                "{} is neither a void nor a simple refund; it is kept for replay",
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
    let request = match DomainRequest::of(inputs) {
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

/// Every way `cassette`, a Single Sign-On exchange, is not honoured: the request the client
/// builds now from the recorded fields, compared by meaning, and what it reads from the
/// recorded answer (see [`sso`](super::sso)).
fn sso_problems(cassette: &Cassette) -> Vec<Problem> {
    let mut words = cassette.request.start.split_whitespace();
    let method = http::Method::from_bytes(words.next().unwrap_or("POST").as_bytes())
        .unwrap_or(http::Method::POST);
    let target = words.next().unwrap_or("/");
    let mut headers = http::HeaderMap::new();
    for (name, value) in &cassette.request.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    let seen = SeenRequest {
        method: &method,
        target,
        headers: &headers,
        body: &cassette.request.body,
    };
    let path = target.split('?').next().unwrap_or(target);
    let field = |name: &str| seen.field(name);
    let rebuilt = super::sso::rebuild(
        cassette.protocol,
        &cassette.operation,
        path,
        &field,
        &cassette.response,
    );
    let (built, outcome) = match rebuilt {
        Ok(rebuilt) => rebuilt,
        Err(problem) => return vec![Problem::new("request", problem)],
    };
    let mut problems = compare_request(cassette, &built);
    match &cassette.expect {
        Some(expected) if *expected == outcome => {}
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

fn built_body(built: &http::Request<Bytes>) -> String {
    String::from_utf8_lossy(built.body()).into_owned()
}
