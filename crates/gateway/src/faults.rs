//! The gateway's own SOAP faults, written as ASP.NET writes faults (HTTP 500, `soap:Server` /
//! `soap:Receiver` or `soap:Client` / `soap:Sender`), with a detail in the gateway's namespace
//! that says what the ERP should do.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;
use instamed_soap::soap::{SoapVersion, push_escaped};

/// The namespace of the gateway's fault details (`OutcomeUnknown`, `RefundOnHold`, …).
pub const NAMESPACE: &str = "urn:instamed-soap:gateway:v1";

/// Who a fault blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    /// The request (1.1 `Client`, 1.2 `Sender`): the same request will fail again.
    Sender,
    /// The service (1.1 `Server`, 1.2 `Receiver`).
    Receiver,
}

/// A fault's detail: an element of [`NAMESPACE`] and its fields, in order.
#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub kind: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// A fault of the gateway's own.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub blame: Blame,
    pub reason: String,
    pub detail: Detail,
    /// Sent as `Retry-After` too, for an ERP (or a proxy) that reads headers.
    pub retry_after: Option<Duration>,
}

/// The `Content-Type` of an answer in `version`.
pub(crate) fn content_type(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
        _ => "text/xml; charset=utf-8",
    }
}

/// An answer of `status` with a body typed for `version`.
pub(crate) fn reply(
    status: StatusCode,
    version: SoapVersion,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type(version)),
    );
    response
}

/// The fault envelope, HTTP 500 as ASP.NET sends every fault.
pub(crate) fn write(version: SoapVersion, fault: &Fault) -> Response<Full<Bytes>> {
    let mut out = String::with_capacity(768);
    let (p, ns) = match version {
        SoapVersion::Soap12 => ("soap12", version.envelope_namespace()),
        _ => ("soap", version.envelope_namespace()),
    };
    let code = match (version, fault.blame) {
        (SoapVersion::Soap12, Blame::Sender) => "Sender",
        (SoapVersion::Soap12, Blame::Receiver) => "Receiver",
        (_, Blame::Sender) => "Client",
        (_, Blame::Receiver) => "Server",
    };
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    out.push_str(&format!(
        "<{p}:Envelope xmlns:{p}=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><{p}:Body><{p}:Fault>"
    ));
    if version == SoapVersion::Soap12 {
        out.push_str(&format!(
            "<{p}:Code><{p}:Value>{p}:{code}</{p}:Value></{p}:Code><{p}:Reason><{p}:Text xml:lang=\"en\">"
        ));
        push_escaped(&mut out, &fault.reason);
        out.push_str(&format!("</{p}:Text></{p}:Reason>"));
    } else {
        out.push_str(&format!("<faultcode>{p}:{code}</faultcode><faultstring>"));
        push_escaped(&mut out, &fault.reason);
        out.push_str("</faultstring>");
    }
    // Unqualified `detail` in both versions, as a service's own detail is on ASP.NET [asmx];
    // a .NET client reads it by local name.
    out.push_str("<detail><");
    out.push_str(fault.detail.kind);
    out.push_str(" xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">");
    for (name, value) in &fault.detail.fields {
        out.push('<');
        out.push_str(name);
        out.push('>');
        push_escaped(&mut out, value);
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out.push_str("</");
    out.push_str(fault.detail.kind);
    out.push_str(&format!("></detail></{p}:Fault></{p}:Body></{p}:Envelope>"));
    let mut response = reply(StatusCode::INTERNAL_SERVER_ERROR, version, out);
    if let Some(after) = fault.retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            http::HeaderValue::from(after.as_secs()),
        );
    }
    response
}
