//! The SOAP endpoint, `service.asmx`: both SOAP versions on one URL, answers in the version asked.

pub(crate) mod help;
mod request;
mod response;
mod schema;

use http::{HeaderMap, StatusCode};

use crate::soap::SoapVersion;

use super::answer::{Answer, Rejection};
use super::config::RefusalStyle;
use super::engine::Engine;
use super::reply::{HttpResponse, page};
use response::{Blame, Fault};
use schema::Kind;

/// Answers a `POST` to `service.asmx`.
pub(crate) fn answer(
    engine: &Engine,
    style: RefusalStyle,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let node = service_url(engine, headers);
    let node = node.as_str();
    let Some(version) = request::version(headers) else {
        // ASP.NET answers a POST that is neither SOAP version with 415 and an HTML page.
        return page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            "The request's Content-Type must be text/xml (SOAP 1.1) or application/soap+xml \
             (SOAP 1.2).",
        );
    };
    let routed = match request::route(headers, version) {
        Ok(routed) => routed,
        Err(fault) => return response::fault(version, node, &fault),
    };
    let Ok(text) = std::str::from_utf8(body) else {
        let fault = request::unreadable(1, 1, "Invalid character in the given encoding.");
        return response::fault(version, node, &fault);
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(doc) => doc,
        Err(error) => {
            let at = error.pos();
            let fault = request::unreadable(at.row, at.col, &error.to_string());
            return response::fault(version, node, &fault);
        }
    };
    let call = match request::read(&doc, version, routed) {
        Ok(call) => call,
        Err(fault) => return response::fault(version, node, &fault),
    };
    let outcome = call.fields.and_then(|fields| match call.op.kind {
        Kind::Void => engine.void(&fields),
        Kind::Sale => engine.sale(&fields),
        Kind::Refund => engine.refund(&fields),
        Kind::ECheckVoid => Err(Rejection::Unsupported(call.op.name)),
    });
    match outcome {
        Ok(answer) => write(version, node, call.op, &answer, style),
        Err(rejection) => {
            let blame = if rejection.is_sender_fault() {
                Blame::Sender
            } else {
                Blame::Receiver
            };
            response::fault(version, node, &Fault::new(blame, rejection.reason()))
        }
    }
}

/// Writes an answer: a result, or a fault for a refusal when refusals are faults.
fn write(
    version: SoapVersion,
    node: &str,
    op: &schema::OperationInfo,
    answer: &Answer<'_>,
    style: RefusalStyle,
) -> HttpResponse {
    match (&answer.refusal, style) {
        (Some(refusal), RefusalStyle::Fault) => response::fault(
            version,
            node,
            &Fault {
                blame: Blame::Sender,
                reason: refusal.fault_reason.as_ref().into(),
                refusal: Some(refusal),
            },
        ),
        _ => response::result(version, op, &answer.fields),
    }
}

/// The injected receiver fault, in the version the request asked for (1.1 if it named none).
pub(crate) fn simulated_fault(engine: &Engine, headers: &HeaderMap) -> HttpResponse {
    let version = request::version(headers).unwrap_or_default();
    response::fault(
        version,
        &service_url(engine, headers),
        &Fault::new(
            Blame::Receiver,
            "Server was unable to process request. ---> Simulated fault.",
        ),
    )
}

/// The service's URL as the request named its host, which ASP.NET names as the faulting node.
/// The port is left out so that answers do not vary with the port a simulator was given (the
/// contract corpus records them byte for byte).
fn service_url(engine: &Engine, headers: &HeaderMap) -> String {
    let authority = headers
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<http::uri::Authority>().ok());
    let host = authority.as_ref().map_or("localhost", |a| a.host());
    format!("{}://{host}/payment/service.asmx", engine.scheme)
}

/// The content type of an answer to a request with these headers.
pub(crate) fn content_type(headers: &HeaderMap) -> &'static str {
    response::content_type(request::version(headers).unwrap_or_default())
}
