//! What every door of the service (SOAP, NVP, REST) shares: the simulator's state, the body
//! each reads the same way, and the faults injected into each answer.

use bytes::Bytes;
use http::header::{CONNECTION, HeaderValue};
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use instamed_soap_listener::{Abort, BodyRefused};

use super::answer::Label;
use super::auth::{Accounts, ApiKeys};
use super::config::RefusalStyle;
use super::engine::Engine;
use super::faults::{Injected, Injector};
use super::reply::{HttpResponse, empty, page, reply};

/// Largest request body read; a void is under 1 KiB.
const MAX_BODY: usize = 1 << 20;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub engine: Engine,
    pub accounts: Accounts,
    pub api_keys: ApiKeys,
    pub refusal_style: RefusalStyle,
    pub faults: Injector,
    pub sso: super::tokens::Sso,
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
            Label("injected_truncation").mark(process().map(|body| body.slice(..body.len() / 2)))
        }
        Some(Injected::Fault) => Label("injected_fault").mark(simulated_fault()),
        Some(Injected::Unavailable) => Label("injected_unavailable").mark(page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "HTTP Error 503. The service is unavailable.",
        )),
        Some(Injected::BareFault) => {
            Label("injected_bare_fault").mark(empty(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Some(Injected::Malformed) => Label("injected_garbage").mark(reply(
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
