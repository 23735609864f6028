//! One HTTP request, start to finish: sign-in, routing, body limits, injected faults.

use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::admin;
use super::answer::{Label, OperationName};
use super::engine::Engine;
use super::nvp;
use super::reply::{HTML, HttpResponse, page, reply};
use super::rest;
use super::shared::{Shared, read_body, with_faults};
use super::soap;
use super::sso;
use instamed_soap_listener::Abort;

const SOAP_PATH: &str = "/payment/service.asmx";
const NVP_PATH: &str = "/payment/NVP.aspx";

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
    } else if sso::is_sso_path(path) {
        "sso"
    } else {
        "other"
    }
}

/// What the writer said the answer carries; from the status alone when no writer did (an
/// answer refused before any operation ran, or a page).
fn verdict_of(response: &HttpResponse) -> &'static str {
    if let Some(verdict) = response.extensions().get::<Label>() {
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
    // The SSO side signs in with its own fields (account, alias, security key; a token).
    if sso::is_sso_path(uri.path()) {
        return sso::route(shared, method, uri, headers, body).await;
    }
    if !shared.accounts.admits(headers) {
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
