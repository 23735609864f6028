//! `SSOService.asmx`: what the application asks about a token, SOAP 1.1 and 1.2, answered as an
//! ASMX stack answers (the same envelopes, faults and media-type rules as `service.asmx`).
//!
//! - `GetSSOTokenStatus`: `NEW`, `complete` or `EXPIRED`.
//! - `GetTransactionDetails`: the record of the token's payment as the page left it
//!   (`TransactionID` the payment's own, `TransactionStatus` its status: `C`, `V`, or `S` once
//!   its funds transfer has begun), with the `ResponseCode` and `ResponseMessage` of the
//!   page's void when the person made one; an empty result while the token is `NEW` or
//!   `EXPIRED`, or when the payment is unknown. [guess: what InstaMed puts there is not
//!   published]
//! - `GetTransactionDetailsByTransactionID`: the same record for any payment, the token aside.
//!
//! Wrong credentials are a client fault "Invalid AccountID or Password."; an unknown token, or
//! one another account asked for, a client fault "Invalid token." [guess].

use http::{HeaderMap, StatusCode};

use instamed_soap::soap::{Operation, SoapVersion};

use super::super::answer::{Label, OperationName};
use super::super::bindings::sso::{TARGET_NAMESPACE, operations};
use super::super::ledger::PaymentStatus;
use super::super::reply::{HttpResponse, reply};
use super::super::shared::Shared;
use super::super::soap::request::{self, Envelope};
use super::super::soap::response::{self, Blame, Fault};
use super::super::tokens::{State, Status};
use super::BAD_CREDENTIALS;

/// The WSDL the SSO bindings were generated from; `build.rs` puts a copy beside them.
const WSDL: &str = include_str!(concat!(env!("OUT_DIR"), "/sso-service.wsdl"));

/// One operation: its name, actions, wrapper elements.
struct Op {
    name: &'static str,
    actions: [Option<&'static str>; 2],
    request: &'static str,
    response: &'static str,
}

impl Op {
    const fn of<O: Operation>() -> Self {
        Self {
            name: O::NAME,
            actions: [O::SOAP11_ACTION, O::SOAP12_ACTION],
            request: O::REQUEST_ELEMENT,
            response: O::RESPONSE_ELEMENT,
        }
    }
}

const STATUS: Op = Op::of::<operations::GetSsoTokenStatus>();
const DETAILS: Op = Op::of::<operations::GetTransactionDetails>();
const BY_ID: Op = Op::of::<operations::GetTransactionDetailsByTransactionId>();
const OPERATIONS: [&Op; 3] = [&STATUS, &DETAILS, &BY_ID];

/// `GET SSOService.asmx?WSDL`: the WSDL, its addresses naming the URL it was fetched from.
pub(super) fn wsdl(url: &str, query: &str) -> HttpResponse {
    if !query.eq_ignore_ascii_case("wsdl") {
        return super::pages::error_page("404", "Add ?WSDL to read the service's description.");
    }
    let address = super::super::bindings::sso::SOAP11_ADDRESS.unwrap_or_default();
    let text = if address.is_empty() {
        WSDL.to_owned()
    } else {
        WSDL.replace(address, url)
    };
    reply(StatusCode::OK, "text/xml; charset=utf-8", text)
}

/// Answers a `POST` to `SSOService.asmx`.
pub(super) fn answer(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    let node = super::super::soap::request_url(&shared.engine, headers, super::SERVICE_PATH);
    let Some(declared) = request::version(headers) else {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            response::content_type(SoapVersion::Soap11),
            "",
        );
    };
    let fault = |version, blame, reason: &str| {
        let verdict = if blame == Blame::Sender {
            Label::REJECTED
        } else {
            Label::FAULT
        };
        verdict.mark(response::fault(version, &node, &Fault::new(blame, reason)))
    };
    let action = headers
        .get("soapaction")
        .filter(|_| declared == SoapVersion::Soap11)
        .map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes());
            request::url_decode(request::unquote(&text)).into_owned()
        });
    let by_action = match action.as_deref() {
        Some(action) => match OPERATIONS
            .iter()
            .find(|op| op.actions.contains(&Some(action)))
        {
            Some(op) => Some(*op),
            None => {
                let reason = format!(
                    "System.Web.Services.Protocols.SoapException: Server did not recognize the \
                     value of HTTP Header SOAPAction: {action}."
                );
                return fault(declared, Blame::Sender, &reason);
            }
        },
        None => None,
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return fault(
            declared,
            Blame::Sender,
            "There is an error in the XML document.",
        );
    };
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return fault(
            declared,
            Blame::Sender,
            "There is an error in the XML document.",
        );
    };
    let root = doc.root_element();
    let version = match request::envelope(root, declared) {
        Envelope::Read(version) => version,
        Envelope::Unsupported => {
            return reply(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                response::content_type(SoapVersion::Soap11),
                "",
            );
        }
        Envelope::Mismatch => {
            return fault(
                declared,
                Blame::VersionMismatch,
                "Possible SOAP version mismatch.",
            );
        }
    };
    let envelope_ns = version.envelope_namespace();
    let wrapper = root
        .children()
        .find(|node| node.has_tag_name((envelope_ns, "Body")))
        .and_then(|body| body.children().find(roxmltree::Node::is_element));
    let by_body = wrapper.and_then(|wrapper| {
        (wrapper.tag_name().namespace() == Some(TARGET_NAMESPACE))
            .then(|| {
                OPERATIONS
                    .iter()
                    .find(|op| op.request == wrapper.tag_name().name())
            })
            .flatten()
            .copied()
    });
    let Some(op) = by_action.or(by_body) else {
        return fault(
            version,
            Blame::Sender,
            "Unable to handle request without a valid action parameter. Please supply a valid \
             soap action.",
        );
    };
    let get = |name: &str| -> String {
        wrapper
            .and_then(|wrapper| {
                wrapper
                    .children()
                    .find(|child| child.has_tag_name((TARGET_NAMESPACE, name)))
            })
            .map(|child| {
                child
                    .descendants()
                    .filter(roxmltree::Node::is_text)
                    .filter_map(|text| text.text())
                    .collect()
            })
            .unwrap_or_default()
    };
    let account = get("accountID");
    if !shared.sso.admits(&account, &get("alias"), &get("password")) {
        return OperationName(op.name).mark(fault(version, Blame::Sender, BAD_CREDENTIALS));
    }
    let fields = if op.name == BY_ID.name {
        match instamed_soap::TransactionId::new(get("transactionID").trim()) {
            Ok(payment) => record(shared, &payment, None),
            Err(_) => Vec::new(),
        }
    } else {
        let token = shared
            .sso
            .get(get("tokenID").trim())
            .filter(|(token, _)| token.account_id.eq_ignore_ascii_case(&account));
        let Some((token, status)) = token else {
            return OperationName(op.name).mark(fault(version, Blame::Sender, "Invalid token."));
        };
        if op.name == STATUS.name {
            let mut out = String::with_capacity(512);
            response::open_envelope(&mut out, version);
            out.push_str(&format!(
                "<{} xmlns=\"{TARGET_NAMESPACE}\">",
                STATUS.response
            ));
            response::element(&mut out, "GetSSOTokenStatusResult", status.as_str());
            out.push_str(&format!("</{}>", STATUS.response));
            response::close_envelope(&mut out, version);
            return OperationName(op.name).mark(Label(status_label(status)).mark(reply(
                StatusCode::OK,
                response::content_type(version),
                out,
            )));
        }
        match (&token.state, status) {
            (State::Complete(result), Status::Complete) => {
                record(shared, &token.payment, Some(result))
            }
            _ => Vec::new(),
        }
    };
    let mut out = String::with_capacity(1024);
    response::open_envelope(&mut out, version);
    let result = op.response.trim_end_matches("Response");
    out.push_str(&format!(
        "<{} xmlns=\"{TARGET_NAMESPACE}\"><{result}Result>",
        op.response
    ));
    for (name, value) in &fields {
        response::element(&mut out, name, value);
    }
    out.push_str(&format!("</{result}Result></{}>", op.response));
    response::close_envelope(&mut out, version);
    let label = if fields.is_empty() {
        "empty"
    } else {
        "details"
    };
    OperationName(op.name).mark(Label(label).mark(reply(
        StatusCode::OK,
        response::content_type(version),
        out,
    )))
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::New => "token_new",
        Status::Complete => "token_complete",
        Status::Expired => "token_expired",
    }
}

/// The payment's record as `BasePaymentDetailedResponse` fields, in the WSDL's order: empty
/// when the ledger has no such payment.
fn record(
    shared: &Shared,
    payment: &instamed_soap::TransactionId,
    page: Option<&super::super::tokens::PageResult>,
) -> Vec<(&'static str, String)> {
    let Some(payment) = shared.engine.ledger.payment(payment) else {
        return Vec::new();
    };
    let status = match (payment.status, payment.transfer_started) {
        (PaymentStatus::Voided, _) => "V",
        (_, true) => "S",
        _ => payment.status.code(),
    };
    let mut fields = vec![
        ("MerchantID", payment.outlet.merchant_id().to_owned()),
        ("StoreID", payment.outlet.store_id().to_owned()),
        ("TerminalID", payment.outlet.terminal_id().to_owned()),
        ("TransactionID", payment.id.as_str().to_owned()),
        ("TransactionStatus", status.to_owned()),
    ];
    if let Some(page) = page {
        if let Some(code) = page.response_code {
            fields.push(("ResponseCode", code.to_owned()));
        }
        if let Some(message) = &page.response_message {
            fields.push(("ResponseMessage", message.clone()));
        }
    }
    fields.push(("TenderType", "CreditCard".to_owned()));
    fields
}
