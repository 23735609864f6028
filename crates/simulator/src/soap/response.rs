//! Envelopes as ASP.NET writes them: the `soap` prefix for SOAP 1.1 and `soap12` for SOAP 1.2,
//! `xsi` and `xsd` declared on the envelope, the response wrapper declaring the service
//! namespace as its default, null fields left out.

use std::borrow::Cow;

use http::StatusCode;

use instamed_soap::soap::SoapVersion;

use super::super::answer::{Refusal, ResultFields};
use super::super::reply::{HttpResponse, reply};
use super::schema::{NAMESPACE, OperationInfo};
use instamed_soap::soap::push_escaped;

/// Who a fault blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    /// 1.1 `Client`, 1.2 `Sender`.
    Sender,
    /// 1.1 `Server`, 1.2 `Receiver`.
    Receiver,
    /// The envelope is of the other SOAP version.
    VersionMismatch,
}

/// A fault to write.
#[derive(Debug, Clone)]
pub(crate) struct Fault<'a> {
    pub blame: Blame,
    pub reason: Cow<'a, str>,
    /// The refusal whose facts go in the detail, if the fault is one.
    pub refusal: Option<&'a Refusal>,
}

impl<'a> Fault<'a> {
    pub(crate) fn new(blame: Blame, reason: impl Into<Cow<'a, str>>) -> Self {
        Self {
            blame,
            reason: reason.into(),
            refusal: None,
        }
    }
}

fn prefix(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::Soap12 => "soap12",
        _ => "soap",
    }
}

/// The `Content-Type` of an answer in `version`.
pub(crate) fn content_type(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
        _ => "text/xml; charset=utf-8",
    }
}

pub(crate) fn open_envelope(out: &mut String, version: SoapVersion) {
    let p = prefix(version);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?><");
    out.push_str(p);
    out.push_str(":Envelope xmlns:");
    out.push_str(p);
    out.push_str("=\"");
    out.push_str(version.envelope_namespace());
    out.push_str(
        "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><",
    );
    out.push_str(p);
    out.push_str(":Body>");
}

pub(crate) fn close_envelope(out: &mut String, version: SoapVersion) {
    let p = prefix(version);
    out.push_str("</");
    out.push_str(p);
    out.push_str(":Body></");
    out.push_str(p);
    out.push_str(":Envelope>");
}

pub(crate) fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_escaped(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The result envelope of `op` (HTTP 200).
pub(crate) fn result(
    version: SoapVersion,
    op: &OperationInfo,
    fields: &ResultFields<'_>,
) -> HttpResponse {
    let mut out = String::with_capacity(768);
    result_body(&mut out, version, op, fields);
    reply(StatusCode::OK, content_type(version), out)
}

/// Writes the result envelope of `op` into `out`.
pub(crate) fn result_body(
    out: &mut String,
    version: SoapVersion,
    op: &OperationInfo,
    fields: &ResultFields<'_>,
) {
    open_envelope(out, version);
    out.push('<');
    out.push_str(op.response_element);
    out.push_str(" xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\"><");
    out.push_str(op.result_element);
    out.push('>');
    for (name, value) in fields.in_wire_order() {
        if let Some(value) = value {
            element(out, name, value);
        }
    }
    out.push_str("</");
    out.push_str(op.result_element);
    out.push_str("></");
    out.push_str(op.response_element);
    out.push('>');
    close_envelope(out, version);
}

/// A fault envelope, with HTTP 500 whoever is to blame: ASP.NET sends SOAP 1.2 sender faults
/// with 500 too, not the 400 the SOAP 1.2 HTTP binding suggests. `node` is the service's URL,
/// named in a SOAP 1.2 fault the service built (a refusal).
pub(crate) fn fault(version: SoapVersion, node: &str, fault: &Fault<'_>) -> HttpResponse {
    let mut out = String::with_capacity(768);
    fault_body(&mut out, version, node, fault);
    reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        content_type(version),
        out,
    )
}

/// Writes a fault envelope into `out` as ASP.NET does [asmx].
///
/// Who built the `SoapException` decides its `Node` and detail (`Soap12ServerProtocolHelper
/// .WriteFault` writes `Node` only for a non-empty actor, and an empty `soap:Detail` for an
/// exception without detail):
///
/// - A refusal is a fault the service throws itself, the documented way (FACTS §6): the
///   service's URL as its actor, written in SOAP 1.2 as `Node` (`scheme://host/path`, no port,
///   as on the stack observed), and an unqualified `<detail>` holding `ErrorInfo`, in both
///   versions.
/// - Every other fault is ASP.NET's own (a request it cannot route or read, an exception the
///   service did not handle): no actor, so no `Node`, and no detail, so SOAP 1.2 writes an
///   empty `soap12:Detail` in the envelope's namespace and SOAP 1.1 an empty `<detail />`.
pub(crate) fn fault_body(out: &mut String, version: SoapVersion, node: &str, fault: &Fault<'_>) {
    let p = prefix(version);
    let code = match (version, fault.blame) {
        (_, Blame::VersionMismatch) => "VersionMismatch",
        (SoapVersion::Soap12, Blame::Sender) => "Sender",
        (SoapVersion::Soap12, Blame::Receiver) => "Receiver",
        (_, Blame::Sender) => "Client",
        (_, Blame::Receiver) => "Server",
    };
    open_envelope(out, version);
    out.push('<');
    out.push_str(p);
    out.push_str(":Fault>");
    if version == SoapVersion::Soap12 {
        for part in [
            "<",
            p,
            ":Code><",
            p,
            ":Value>",
            p,
            ":",
            code,
            "</",
            p,
            ":Value></",
        ] {
            out.push_str(part);
        }
        for part in [p, ":Code><", p, ":Reason><", p, ":Text xml:lang=\"en\">"] {
            out.push_str(part);
        }
        push_escaped(out, &fault.reason);
        for part in ["</", p, ":Text></", p, ":Reason>"] {
            out.push_str(part);
        }
        match fault.refusal {
            Some(refusal) => {
                element(out, &format!("{p}:Node"), node);
                detail(out, "detail", Some(refusal));
            }
            None => detail(out, &format!("{p}:Detail"), None),
        }
    } else {
        out.push_str("<faultcode>");
        out.push_str(p);
        out.push(':');
        out.push_str(code);
        out.push_str("</faultcode>");
        element(out, "faultstring", &fault.reason);
        detail(out, "detail", fault.refusal);
    }
    out.push_str("</");
    out.push_str(p);
    out.push_str(":Fault>");
    close_envelope(out, version);
}

/// The detail element: for a refusal, the statuses a client judges it by (`ResponseCode`,
/// `TransactionStatus` `D`, `PrimaryTransactionStatus` when the payment is known), in the
/// service namespace inside an `ErrorInfo` element, as a service builds it for ASP.NET.
fn detail(out: &mut String, name: &str, refusal: Option<&Refusal>) {
    let Some(refusal) = refusal else {
        out.push('<');
        out.push_str(name);
        out.push_str(" />");
        return;
    };
    out.push('<');
    out.push_str(name);
    out.push_str("><ErrorInfo xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">");
    element(out, "ResponseCode", refusal.code);
    element(out, "TransactionStatus", "D");
    if let Some(status) = refusal.primary_status {
        element(out, "PrimaryTransactionStatus", status);
    }
    out.push_str("</ErrorInfo></");
    out.push_str(name);
    out.push('>');
}
