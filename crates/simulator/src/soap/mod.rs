//! The SOAP endpoint, `service.asmx`: both SOAP versions on one URL, answers in the version asked.

pub(crate) mod help;
pub(crate) mod request;
pub(crate) mod response;
mod schema;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use instamed_soap::soap::SoapVersion;

use super::answer::{Decision, Label, OperationName, Rejection};
use super::config::RefusalStyle;
use super::engine::Engine;
use super::reply::{HttpResponse, reply};
use request::Envelope;
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
    let Some(declared) = request::version(headers) else {
        return unsupported_media_type();
    };
    // ASP.NET routes a request before it reads the body: an unknown SOAPAction is answered
    // so whatever the body holds, in SOAP 1.1 (the helper that routed it).
    let route = match request::route(headers) {
        Ok(route) => route,
        Err(fault) => return response::fault(declared, node, &fault),
    };
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(error) => return response::fault(declared, node, &request::not_utf8(body, error)),
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(doc) => doc,
        Err(error) => return response::fault(declared, node, &request::malformed(text, &error)),
    };
    let root = doc.root_element();
    let version = match request::envelope(root, declared) {
        Envelope::Read(version) => version,
        Envelope::Unsupported => return unsupported_media_type(),
        Envelope::Mismatch => {
            let fault = request::mismatch(root.tag_name().namespace(), declared);
            return response::fault(declared, node, &fault);
        }
    };
    let call = match request::read(&doc, version, &route) {
        Ok(call) => call,
        Err(fault) => return response::fault(version, node, &fault),
    };
    let operation = OperationName(call.op.name);
    let outcome = call.fields.and_then(|texts| {
        let fields = texts.fields();
        let answer = match call.op.kind {
            Kind::Void => engine.void(&fields),
            Kind::Sale => engine.sale(&fields),
            Kind::Refund => engine.refund(&fields),
            Kind::ECheckVoid => Err(Rejection::Unsupported(call.op.name)),
        };
        // Written here, while the request's texts the answer echoes are alive.
        answer.map(|answer| {
            answer
                .label
                .mark(write(version, node, call.op, &answer, style))
        })
    });
    operation.mark(match outcome {
        Ok(written) => written,
        Err(rejection) => {
            let (blame, verdict) = if rejection.is_sender_fault() {
                (Blame::Sender, Label::REJECTED)
            } else {
                (Blame::Receiver, Label::FAULT)
            };
            verdict.mark(response::fault(
                version,
                node,
                &Fault::new(blame, rejection.reason()),
            ))
        }
    })
}

/// ASP.NET's answer to a media type it does not serve, or to a SOAP 1.1 envelope sent as SOAP
/// 1.2: 415 with an empty body, typed `text/xml` as every ASMX answer is.
fn unsupported_media_type() -> HttpResponse {
    reply(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        response::content_type(SoapVersion::Soap11),
        Bytes::new(),
    )
}

/// Writes an answer: a result, or a fault for a refusal when refusals are faults.
fn write(
    version: SoapVersion,
    node: &str,
    op: &schema::OperationInfo,
    answer: &Decision<'_>,
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

/// The service's URL as a service names itself as the actor of the faults it throws: the host
/// as the request named it, no port (as on the stack observed, FACTS §6), so that answers do
/// not vary with the port a simulator was given either (the contract corpus records them byte
/// for byte).
fn service_url(engine: &Engine, headers: &HeaderMap) -> String {
    format!(
        "{}://{}/payment/service.asmx",
        engine.scheme,
        server_name(headers)
    )
}

/// The URL a `GET` of `path` was made to, as ASP.NET's `Request.Url` names it, and so as its
/// WSDL names the service's address [asmx]: `HttpRequest.Url` (without the
/// `aspnet:UseHostHeaderForRequestUrl` setting) is the connection's scheme, IIS's
/// `SERVER_NAME` (the `Host` header's host) and the connection's local port (`SERVER_PORT`),
/// then the path; `System.Uri` writes the host in lower case and leaves out the scheme's
/// default port. `X-Forwarded-*` headers play no part: ASP.NET does not read them.
pub(crate) fn request_url(engine: &Engine, headers: &HeaderMap, path: &str) -> String {
    let scheme = engine.scheme;
    let host = server_name(headers);
    // Outside a connection (unit tests) the Host header's port stands for the local one.
    let port = instamed_soap_listener::local_addr()
        .map(|local| local.port())
        .or_else(|| host_header(headers).and_then(|host| host.port_u16()));
    let default = if scheme == "https" { 443 } else { 80 };
    match port {
        Some(port) if port != default => format!("{scheme}://{host}:{port}{path}"),
        _ => format!("{scheme}://{host}{path}"),
    }
}

/// The request's `Host` header, when it is a plain authority (`host` or `host:port`).
fn host_header(headers: &HeaderMap) -> Option<http::uri::Authority> {
    let value = headers.get(http::header::HOST)?.to_str().ok()?;
    // A user name before the host is no host name; http.sys refuses such a request.
    (!value.contains('@'))
        .then(|| value.parse::<http::uri::Authority>().ok())
        .flatten()
        .filter(|authority| !authority.host().is_empty())
}

/// IIS's `SERVER_NAME`: the `Host` header's host, in lower case, or, without a usable `Host`
/// header (HTTP/1.0), the address the connection came in on.
fn server_name(headers: &HeaderMap) -> String {
    if let Some(authority) = host_header(headers) {
        return authority.host().to_ascii_lowercase();
    }
    match instamed_soap_listener::local_addr().map(|local| local.ip()) {
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
        None => "localhost".to_owned(),
    }
}

/// The content type of an answer to a request with these headers.
pub(crate) fn content_type(headers: &HeaderMap) -> &'static str {
    response::content_type(request::version(headers).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::CONTENT_TYPE;

    use super::*;
    use crate::config::SuccessMessage;
    use crate::journal::tests::FullDisk;
    use crate::ledger::{Ledger, PaymentStatus};
    use instamed_soap::{Outlet, TransactionId};

    fn void_envelope(payment: &TransactionId) -> String {
        format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
             <DoCreditCardSecondaryVoid xmlns=\"{}\"><transaction><MerchantID>1</MerchantID>\
             <StoreID>2</StoreID><TerminalID>3</TerminalID>\
             <PrimaryTransactionID>{payment}</PrimaryTransactionID></transaction>\
             </DoCreditCardSecondaryVoid></s:Body></s:Envelope>",
            schema::NAMESPACE
        )
    }

    #[test]
    fn the_request_url_is_written_as_system_uri_writes_it() {
        let engine = |scheme| Engine {
            ledger: Ledger::open(None, None).unwrap(),
            success_message: SuccessMessage::Approved,
            scheme,
        };
        let path = "/payment/service.asmx";
        for (scheme, host, expected) in [
            (
                "https",
                "Example.TEST:443",
                "https://example.test/payment/service.asmx",
            ),
            (
                "https",
                "example.test:8443",
                "https://example.test:8443/payment/service.asmx",
            ),
            (
                "http",
                "example.test:80",
                "http://example.test/payment/service.asmx",
            ),
            (
                "http",
                "example.test",
                "http://example.test/payment/service.asmx",
            ),
            (
                "http",
                "[::1]:8080",
                "http://[::1]:8080/payment/service.asmx",
            ),
            // No host name in it: outside a connection, `localhost`.
            (
                "http",
                "user@example.test:81",
                "http://localhost/payment/service.asmx",
            ),
            ("http", "", "http://localhost/payment/service.asmx"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
            assert_eq!(
                request_url(&engine(scheme), &headers, path),
                expected,
                "{host}"
            );
        }
    }

    #[test]
    fn a_void_whose_entry_was_not_written_is_not_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        // The payment's line is written; the void's line meets a full disk halfway.
        let ledger = Ledger::open_on(&path, FullDisk::failing_at(1)).unwrap();
        let outlet = Outlet::new("1", "2", "3").unwrap();
        let payment = ledger.create_payment(&outlet, "5.00").unwrap();
        let engine = Engine {
            ledger,
            success_message: SuccessMessage::Approved,
            scheme: "https",
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));

        let answer = super::answer(
            &engine,
            RefusalStyle::Decline,
            &headers,
            void_envelope(&payment).as_bytes(),
        );
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = std::str::from_utf8(answer.body()).unwrap();
        assert!(
            body.contains("<faultcode>soap:Server</faultcode>"),
            "{body}"
        );
        assert!(
            body.contains("Server was unable to process request."),
            "{body}"
        );
        assert_eq!(
            engine.ledger.status(&payment),
            Some(PaymentStatus::Captured)
        );

        // The disk has room again: the void goes through, and only it is in the journal.
        let answer = super::answer(
            &engine,
            RefusalStyle::Decline,
            &headers,
            void_envelope(&payment).as_bytes(),
        );
        assert_eq!(answer.status(), StatusCode::OK);
        drop(engine);
        let reopened = Ledger::open(Some(&path), None).unwrap();
        assert_eq!(reopened.status(&payment), Some(PaymentStatus::Voided));
    }
}
