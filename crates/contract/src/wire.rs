//! A recorded exchange as the client would have lived it: the domain exchange a cassette's
//! inputs describe, the call layer for the address it was recorded at (which never connects),
//! and the recorded answer handed over as the transport would have, then judged by the client's
//! own rules.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use instamed_soap::call::{Call, Rest, Route, Wire};
use instamed_soap::{
    ApiKey, Credentials, Error, InvalidRequest, Protocol, RefundRequest, UserName, VoidRequest,
};

use super::cassette::{Message, VoidInputs};

/// The domain exchange a cassette's inputs describe.
#[derive(Debug, Clone)]
pub(crate) enum DomainRequest {
    /// A void.
    Void(VoidRequest),
    /// A simple refund.
    Refund(RefundRequest),
}

impl DomainRequest {
    /// The exchange of `inputs`: a refund when they carry an amount, a void otherwise.
    pub(crate) fn of(inputs: &VoidInputs) -> Result<Self, InvalidRequest> {
        match inputs.to_refund() {
            Some(refund) => refund.map(Self::Refund),
            None => inputs.to_request().map(Self::Void),
        }
    }

    /// The request the client sends for this exchange over `wire`.
    pub(crate) fn request(&self, wire: &Wire) -> Result<http::Request<Bytes>, Error> {
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
