//! One HTTP request, start to finish: sign-in, routing, body limits, injected faults.

use std::time::Instant;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::admin;
use super::answer::{OperationName, Verdict};
use super::auth::{Accounts, ApiKeys};
use super::config::RefusalStyle;
use super::engine::Engine;
use super::faults::{Injected, Injector};
use super::nvp;
use super::reply::{HTML, HttpResponse, empty, page, reply};
use super::rest;
use super::soap;
pub(crate) use instamed_soap_listener::Abort;
use instamed_soap_listener::BodyRefused;

/// Largest request body read; a void is under 1 KiB.
const MAX_BODY: usize = 1 << 20;

const SOAP_PATH: &str = "/payment/service.asmx";
const NVP_PATH: &str = "/payment/NVP.aspx";

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub engine: Engine,
    pub accounts: Accounts,
    pub api_keys: ApiKeys,
    pub refusal_style: RefusalStyle,
    pub faults: Injector,
}

/// Answers one request, and says so in one line at info level: method, path, protocol,
/// operation, verdict, status and latency. Never the query (it may carry a card number), a
/// header value or the body; of the path, its route (`/rest/payment/{…}/void`): a REST or
/// admin path names a payment, and a client may put anything there, a card number included.
pub(crate) async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Abort> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let answered = route(shared, &parts.method, &parts.uri, &parts.headers, body).await;
    let latency_ms = instamed_soap_listener::milliseconds(started.elapsed());
    let protocol = protocol_of(parts.uri.path(), &parts.headers);
    let path = instamed_soap::sensitive::route(parts.uri.path());
    match &answered {
        Ok(response) => tracing::info!(
            method = %parts.method,
            path = %path,
            protocol = %protocol,
            operation = %response.extensions().get::<OperationName>().map_or("-", |op| op.0),
            verdict = %verdict_of(response),
            status = response.status().as_u16(),
            latency_ms,
            "answered"
        ),
        Err(abort) => tracing::info!(
            method = %parts.method,
            path = %path,
            protocol = %protocol,
            verdict = %abort.0,
            latency_ms,
            "closed the connection without an answer"
        ),
    }
    answered.map(|response| response.map(Full::new))
}

/// Which of the service's doors a request knocked at.
fn protocol_of(path: &str, headers: &HeaderMap) -> &'static str {
    if rest::is_rest_path(path) {
        "rest"
    } else if path.eq_ignore_ascii_case(NVP_PATH) {
        "nvp"
    } else if path.eq_ignore_ascii_case(SOAP_PATH) {
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::trim);
        match media_type {
            Some(t) if t.eq_ignore_ascii_case("text/xml") => "soap11",
            Some(t) if t.eq_ignore_ascii_case("application/soap+xml") => "soap12",
            // A GET for the WSDL or a help page, or a POST of something that is not SOAP.
            _ => "soap",
        }
    } else if admin_path(path).is_some() {
        "admin"
    } else {
        "other"
    }
}

/// What the writer said the answer carries; from the status alone when no writer did (an
/// answer refused before any operation ran, or a page).
fn verdict_of(response: &HttpResponse) -> &'static str {
    if let Some(verdict) = response.extensions().get::<Verdict>() {
        return verdict.0;
    }
    match response.status() {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::REQUEST_TIMEOUT => "timed_out",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        status if status.is_server_error() => "fault",
        status if status.is_client_error() => "rejected",
        _ => "-",
    }
}

async fn route(
    shared: &Shared,
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<HttpResponse, Abort> {
    // REST signs in with an API key pair, not HTTP Basic.
    if rest::is_rest_path(uri.path()) {
        return rest::route(shared, method, uri.path(), headers, body).await;
    }
    if !shared.accounts.admits(headers.get(AUTHORIZATION)) {
        return Ok(unauthorized());
    }
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    // IIS matches paths case-insensitively.
    if path.eq_ignore_ascii_case(SOAP_PATH) {
        match *method {
            Method::GET => Ok(help(&shared.engine, path, query, headers)),
            Method::POST => {
                let body = match read_body(headers, body).await? {
                    Ok(body) => body,
                    Err(refused) => return Ok(refused),
                };
                let process = || soap::answer(&shared.engine, shared.refusal_style, headers, &body);
                with_faults(
                    shared,
                    process,
                    || soap::simulated_fault(&shared.engine, headers),
                    soap::content_type(headers),
                )
                .await
            }
            _ => Ok(method_not_allowed()),
        }
    } else if path.eq_ignore_ascii_case(NVP_PATH) {
        let form = match *method {
            Method::GET => Bytes::copy_from_slice(query.as_bytes()),
            Method::POST if is_form(headers) => match read_body(headers, body).await? {
                Ok(body) => body,
                Err(refused) => return Ok(refused),
            },
            Method::POST => {
                return Ok(page(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Media Type",
                    "NVP requests must be application/x-www-form-urlencoded.",
                ));
            }
            _ => return Ok(method_not_allowed()),
        };
        let process = || nvp::answer(&shared.engine, shared.refusal_style, &form);
        with_faults(
            shared,
            process,
            nvp::simulated_fault,
            "text/xml; charset=utf-8",
        )
        .await
    } else if let Some(rest) = admin_path(path) {
        let body = match read_body(headers, body).await? {
            Ok(body) => body,
            Err(refused) => return Ok(refused),
        };
        Ok(admin::answer(&shared.engine.ledger, method, rest, &body))
    } else {
        Ok(page(
            StatusCode::NOT_FOUND,
            "The resource cannot be found.",
            "HTTP 404. The resource you are looking for has been removed, had its name changed, \
             or is temporarily unavailable.",
        ))
    }
}

/// Runs `process` unless the fault plan says otherwise, then waits the plan's latency.
///
/// Every injected fault except truncation replaces processing, so the ledger is untouched; a
/// truncated answer is the real one cut in half, after the ledger changed (the "answer lost
/// after the service acted" case). The latency comes after processing, so a client that gives
/// up waiting leaves a change behind, as with a slow real service.
pub(crate) async fn with_faults(
    shared: &Shared,
    process: impl FnOnce() -> HttpResponse,
    simulated_fault: impl FnOnce() -> HttpResponse,
    garbage_type: &'static str,
) -> Result<HttpResponse, Abort> {
    let fate = shared.faults.draw();
    if let Some(kind) = fate {
        tracing::debug!(?kind, "injected a fault");
    }
    // An injected fault is named as such in the verdict, so that a person watching the server
    // does not take it for the service's own (a cut answer was processed: the ledger shows what
    // it did).
    let response = match fate {
        None => process(),
        Some(Injected::Truncate) => {
            Verdict("injected_truncation").mark(process().map(|body| body.slice(..body.len() / 2)))
        }
        Some(Injected::Fault) => Verdict("injected_fault").mark(simulated_fault()),
        Some(Injected::Unavailable) => Verdict("injected_unavailable").mark(page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "HTTP Error 503. The service is unavailable.",
        )),
        Some(Injected::BareFault) => {
            Verdict("injected_bare_fault").mark(empty(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Some(Injected::Malformed) => Verdict("injected_garbage").mark(reply(
            StatusCode::OK,
            garbage_type,
            Bytes::from_static(b"\x00\x13 <<< this is not XML &&& >>>"),
        )),
        Some(Injected::Reset) => {
            pause(shared).await;
            return Err(Abort("injected_reset"));
        }
    };
    pause(shared).await;
    Ok(response)
}

async fn pause(shared: &Shared) {
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// The body, or the answer refusing it (413, or 408 when it is not all there within the
/// request timeout), or `Abort` if the client went away mid-body.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Result<Bytes, HttpResponse>, Abort> {
    Ok(instamed_soap_listener::read_body(headers, body, MAX_BODY)
        .await?
        .map_err(|refused| match refused {
            BodyRefused::TimedOut => timed_out(),
            _ => too_large(),
        }))
}

/// The answer to a body that took too long: 408, and the connection is closed (the rest of
/// the body is not worth waiting for).
fn timed_out() -> HttpResponse {
    let mut response = empty(StatusCode::REQUEST_TIMEOUT);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large() -> HttpResponse {
    page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
        "The request body is larger than 1 MiB.",
    )
}

/// `GET service.asmx`: the WSDL, an operation's help page, or the service page.
fn help(engine: &Engine, path: &str, query: &str, headers: &HeaderMap) -> HttpResponse {
    if query.eq_ignore_ascii_case("wsdl") {
        return soap::help::wsdl(&soap::request_url(engine, headers, path));
    }
    let op = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key.eq_ignore_ascii_case("op"))
        .map(|(_, name)| name);
    match op {
        Some(name) => {
            let host = headers
                .get(HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("localhost");
            soap::help::operation_page(&name, host)
        }
        None => soap::help::service_page(),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn admin_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(admin::PREFIX)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn unauthorized() -> HttpResponse {
    let mut response = page(
        StatusCode::UNAUTHORIZED,
        "401 - Unauthorized: Access is denied due to invalid credentials.",
        "You do not have permission to view this directory or page using the credentials \
         that you supplied.",
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"InstaMed\""),
    );
    response
}

fn method_not_allowed() -> HttpResponse {
    let mut response = reply(
        StatusCode::METHOD_NOT_ALLOWED,
        HTML,
        "<!DOCTYPE html><html><body><h1>405 - Method Not Allowed</h1></body></html>",
    );
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}
