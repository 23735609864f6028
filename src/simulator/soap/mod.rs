//! The SOAP endpoint, `service.asmx`: both SOAP versions on one URL, answers in the version asked.

pub(crate) mod help;
mod request;
mod response;
mod schema;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::soap::SoapVersion;

use super::answer::{Answer, OperationName, Rejection, Verdict};
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
    let Ok(text) = std::str::from_utf8(body) else {
        let fault = request::unreadable(1, 1, "Invalid character in the given encoding.");
        return response::fault(declared, node, &fault);
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(doc) => doc,
        Err(error) => {
            let at = error.pos();
            let fault = request::unreadable(at.row, at.col, &error.to_string());
            return response::fault(declared, node, &fault);
        }
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
    let routed = match request::route(headers, version) {
        Ok(routed) => routed,
        Err(fault) => return response::fault(version, node, &fault),
    };
    let call = match request::read(&doc, version, routed) {
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
                .verdict
                .mark(write(version, node, call.op, &answer, style))
        })
    });
    operation.mark(match outcome {
        Ok(written) => written,
        Err(rejection) => {
            let (blame, verdict) = if rejection.is_sender_fault() {
                (Blame::Sender, Verdict::REJECTED)
            } else {
                (Blame::Receiver, Verdict::FAULT)
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

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::CONTENT_TYPE;

    use super::*;
    use crate::simulator::config::SuccessMessage;
    use crate::simulator::journal::tests::FullDisk;
    use crate::simulator::ledger::{Ledger, PaymentStatus};
    use crate::{Outlet, TransactionId};

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
