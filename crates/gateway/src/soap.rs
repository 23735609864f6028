//! `/payment/service.asmx` on the ERP's side: InstaMed's own contract. Voids and refunds are
//! read and put through the ledger; everything else goes to InstaMed as the ERP wrote it.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::Full;
use instamed_soap::bindings::{operations, types};
use instamed_soap::rest::Amount;
use instamed_soap::soap::{Operation, SoapVersion, encode_response};
use instamed_soap::{CardPresentStatus, Outlet, RefundRequest, TransactionId, VoidRequest};

use crate::Upstream;
use crate::faults::{self, Blame, Detail, Fault};
use crate::money::{Money, RefundAnswer, Statuses, VoidAnswer, chain};
use crate::request_log;

/// The operation a request asks for, as far as the gateway cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Void,
    Refund,
    Other,
}

/// The answer to a `POST` of an ERP.
pub(crate) async fn answer(
    money: &Arc<Money>,
    upstream: &Upstream,
    client: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> (Response<Full<Bytes>>, &'static str) {
    let declared = declared_version(headers);
    let action = action(headers);
    let text = std::str::from_utf8(&body).ok();
    let doc = text.and_then(|text| roxmltree::Document::parse(text).ok());
    let element = doc.as_ref().and_then(body_element);
    let asked = [
        action.as_deref().map(by_name),
        element.map(|e| by_name(e.tag_name().name())),
    ];
    let money_moving: Vec<Asked> = asked
        .iter()
        .flatten()
        .copied()
        .filter(|asked| *asked != Asked::Other)
        .collect();
    let version = doc
        .as_ref()
        .and_then(|doc| {
            SoapVersion::from_envelope_namespace(
                doc.root_element().tag_name().namespace().unwrap_or(""),
            )
        })
        .unwrap_or(declared.unwrap_or(SoapVersion::Soap11));
    let Some(&asked) = money_moving.first() else {
        // Never forwarded unread, whatever the headers name: InstaMed runs a SOAP 1.2
        // envelope (even one sent as `text/xml`) by its body's element, whatever its action
        // says, so a body the gateway cannot read (a declared encoding other than UTF-8)
        // might hold a void or a refund. Nor without an operation named anywhere.
        if doc.is_none() || (action.as_deref().is_none_or(str::is_empty) && element.is_none()) {
            return (
                client_fault(
                    version,
                    "The request could not be read: the gateway reads UTF-8 SOAP envelopes, \
                     whose Body holds an operation of InstaMed's namespace or whose SOAPAction \
                     names it.",
                ),
                "rejected",
            );
        }
        return (
            forward(upstream, declared, headers, body).await,
            "forwarded",
        );
    };
    if money_moving.iter().any(|other| *other != asked) {
        return (
            client_fault(
                version,
                "The SOAPAction and the body name different operations.",
            ),
            "rejected",
        );
    }
    // A void or a refund is never sent on unread: what the gateway cannot read, it cannot
    // put through the ledger.
    let Some(fields) = element.and_then(|element| transaction(element)) else {
        return (
            client_fault(
                version,
                "The request could not be read: a SOAP envelope whose Body holds the operation \
                 with its transaction element is expected.",
            ),
            "rejected",
        );
    };
    match asked {
        Asked::Void => match void_request(&fields) {
            Ok(request) => {
                request_log::names_payment(request.payment());
                let answer = money
                    .void(request.clone(), money.asker("soap", client))
                    .await;
                let (label, _) = answer.named();
                money.metrics().verdict(label);
                (void_reply(version, &request, &answer, money), label)
            }
            Err(reason) => (client_fault(version, &reason), "rejected"),
        },
        _ => match refund_request(&fields) {
            Ok(request) => {
                request_log::names_payment(request.payment());
                let answer = money
                    .refund(request.clone(), money.asker("soap", client))
                    .await;
                let (label, _) = answer.named();
                money.metrics().verdict(label);
                (refund_reply(version, &request, &answer, money), label)
            }
            Err(reason) => (client_fault(version, &reason), "rejected"),
        },
    }
}

/// The SOAP version the `Content-Type` declares; `None` for a type ASP.NET does not serve.
fn declared_version(headers: &HeaderMap) -> Option<SoapVersion> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim();
    if media.eq_ignore_ascii_case("application/soap+xml") {
        Some(SoapVersion::Soap12)
    } else if media.eq_ignore_ascii_case("text/xml") {
        Some(SoapVersion::Soap11)
    } else {
        None
    }
}

/// The action the request names: `SOAPAction` (1.1) or the `action` parameter of the
/// `Content-Type` (1.2), quotes removed.
fn action(headers: &HeaderMap) -> Option<String> {
    let unquote = |value: &str| value.trim().trim_matches('"').to_owned();
    if let Some(value) = headers.get("soapaction").and_then(|v| v.to_str().ok()) {
        return Some(unquote(value));
    }
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("action")
            .then(|| unquote(value))
    })
}

/// Which operation a name (an action URI, or the body element's local name) means.
fn by_name(name: &str) -> Asked {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last == operations::DoCreditCardSecondaryVoid::NAME {
        Asked::Void
    } else if last == operations::DoCreditCardSimpleRefund::NAME {
        Asked::Refund
    } else {
        Asked::Other
    }
}

/// The one element of the envelope's `Body`, whatever prefixes the ERP chose.
fn body_element<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
) -> Option<roxmltree::Node<'a, 'input>> {
    let root = doc.root_element();
    let envelope_ns = root.tag_name().namespace()?;
    SoapVersion::from_envelope_namespace(envelope_ns)?;
    let body = root
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "Body")
        .filter(|n| n.tag_name().namespace() == Some(envelope_ns))?;
    let element = body.children().find(|n| n.is_element())?;
    (element.tag_name().namespace() == Some(operations::DoCreditCardSecondaryVoid::NAMESPACE))
        .then_some(element)
}

/// The fields of the operation's `transaction` element, each its whole text (text split by
/// comments or CDATA reads as one value, as ASP.NET reads it).
fn transaction(element: roxmltree::Node<'_, '_>) -> Option<Vec<(String, String)>> {
    let namespace = element.tag_name().namespace();
    let transaction = element.children().find(|n| {
        n.is_element()
            && n.tag_name().name() == "transaction"
            && n.tag_name().namespace() == namespace
    })?;
    Some(
        transaction
            .children()
            .filter(|n| n.is_element() && n.tag_name().namespace() == namespace)
            .map(|field| {
                let text: String = field
                    .descendants()
                    .filter(|n| n.is_text())
                    .filter_map(|n| n.text())
                    .collect();
                (field.tag_name().name().to_owned(), text)
            })
            .collect(),
    )
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, String> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| format!("Invalid request: {name} is required"))
}

fn outlet(fields: &[(String, String)]) -> Result<Outlet, String> {
    Outlet::new(
        field(fields, "MerchantID")?,
        field(fields, "StoreID")?,
        field(fields, "TerminalID")?,
    )
    .map_err(|invalid| format!("Invalid request: {invalid}"))
}

pub(crate) fn void_request(fields: &[(String, String)]) -> Result<VoidRequest, String> {
    let payment = TransactionId::new(field(fields, "PrimaryTransactionID")?)
        .map_err(|invalid| format!("Invalid request: {invalid}"))?;
    let mut request = VoidRequest::new(outlet(fields)?, payment);
    if let Ok(status) = field(fields, "PrimaryCardPresentStatus") {
        let status: CardPresentStatus = status
            .parse()
            .map_err(|invalid| format!("Invalid request: {invalid}"))?;
        request = request.with_card_present_status(status);
    }
    Ok(request)
}

pub(crate) fn refund_request(fields: &[(String, String)]) -> Result<RefundRequest, String> {
    let payment = TransactionId::new(field(fields, "PrimaryTransactionID")?)
        .map_err(|invalid| format!("Invalid request: {invalid}"))?;
    let amount: Amount = field(fields, "Amount")?
        .parse()
        .map_err(|invalid| format!("Invalid request: Amount {invalid}"))?;
    RefundRequest::new(outlet(fields)?, payment, amount)
        .map_err(|invalid| format!("Invalid request: {invalid}"))
}

/// The answer to a void, in the version the ERP asked in.
fn void_reply(
    version: SoapVersion,
    request: &VoidRequest,
    answer: &VoidAnswer,
    money: &Money,
) -> Response<Full<Bytes>> {
    let payment = request.payment().as_str();
    match answer {
        VoidAnswer::Voided(statuses) | VoidAnswer::Refused(_, statuses) => {
            let mut data = types::SecondaryCreditCardVoidResponseData::default();
            data.merchant_id = Some(request.outlet().merchant_id().to_owned());
            data.store_id = Some(request.outlet().store_id().to_owned());
            data.terminal_id = Some(request.outlet().terminal_id().to_owned());
            data.transaction_id = statuses.transaction_id.clone();
            data.transaction_status = statuses.transaction_status.clone();
            data.response_code = statuses.response_code.clone();
            data.response_message = statuses.response_message.clone();
            data.authorization_number = statuses.authorization_number.clone();
            data.primary_transaction_id = Some(payment.to_owned());
            data.primary_transaction_status = statuses.primary_transaction_status.clone();
            let mut response = types::DoCreditCardSecondaryVoidResponse::default();
            response.do_credit_card_secondary_void_result = Some(data);
            let body = encode_response::<operations::DoCreditCardSecondaryVoid>(version, &response);
            faults::reply(StatusCode::OK, version, body)
        }
        VoidAnswer::Unknown => outcome_unknown(version, payment, money),
        VoidAnswer::NotSent(reason) => not_sent(version, payment, reason, money),
        VoidAnswer::Rejected(reason) => client_fault(version, reason),
        VoidAnswer::CredentialsRefused => credentials_refused(version, payment, money),
        VoidAnswer::Ledger(reason) => ledger_unavailable(version, payment, reason, money),
    }
}

/// The answer to a refund, in the version the ERP asked in.
fn refund_reply(
    version: SoapVersion,
    request: &RefundRequest,
    answer: &RefundAnswer,
    money: &Money,
) -> Response<Full<Bytes>> {
    let payment = request.payment().as_str();
    let result = |statuses: &Statuses| {
        let mut data = types::CreditCardCreditResponseData::default();
        data.merchant_id = Some(request.outlet().merchant_id().to_owned());
        data.store_id = Some(request.outlet().store_id().to_owned());
        data.terminal_id = Some(request.outlet().terminal_id().to_owned());
        data.transaction_id = statuses.transaction_id.clone();
        data.transaction_status = statuses.transaction_status.clone();
        data.response_code = statuses.response_code.clone();
        data.response_message = statuses.response_message.clone();
        data.authorization_number = statuses.authorization_number.clone();
        data.primary_transaction_id = Some(payment.to_owned());
        let mut response = types::DoCreditCardSimpleRefundResponse::default();
        response.do_credit_card_simple_refund_result = Some(data);
        let body = encode_response::<operations::DoCreditCardSimpleRefund>(version, &response);
        faults::reply(StatusCode::OK, version, body)
    };
    match answer {
        RefundAnswer::Refunded(statuses) | RefundAnswer::Refused(_, statuses) => result(statuses),
        RefundAnswer::OnHold { entry } => {
            let mut fields = vec![("Payment", payment.to_owned())];
            if let Some(entry) = entry {
                fields.push(("LedgerEntry", entry.to_string()));
            }
            faults::write(
                version,
                &Fault {
                    blame: Blame::Receiver,
                    reason: "A refund of this payment may have been made and nobody knows yet. \
                             It is never sent again by software: a person checks the payment's \
                             refunds at InstaMed and settles it in the gateway's ledger."
                        .to_owned(),
                    detail: Detail {
                        kind: "RefundOnHold",
                        fields,
                    },
                    retry_after: None,
                },
            )
        }
        RefundAnswer::AlreadyRefunded { entry, refund_id } => {
            let mut fields = vec![
                ("Payment", payment.to_owned()),
                ("LedgerEntry", entry.to_string()),
            ];
            if let Some(id) = refund_id {
                fields.push(("RefundTransactionID", id.clone()));
            }
            faults::write(
                version,
                &Fault {
                    blame: Blame::Sender,
                    reason: "A refund of another amount was made of this payment: nothing was \
                             sent. A further refund is an operator's decision."
                        .to_owned(),
                    detail: Detail {
                        kind: "AlreadyRefunded",
                        fields,
                    },
                    retry_after: None,
                },
            )
        }
        RefundAnswer::VoidUnsettled => outcome_unknown(version, payment, money),
        RefundAnswer::NotSent(reason) => not_sent(version, payment, reason, money),
        RefundAnswer::Rejected(reason) => client_fault(version, reason),
        RefundAnswer::CredentialsRefused => credentials_refused(version, payment, money),
        RefundAnswer::Ledger(reason) => ledger_unavailable(version, payment, reason, money),
    }
}

/// A `Receiver` fault about `payment` that the ERP answers by asking again after
/// `RetryAfterSeconds` (also the `Retry-After` header): the detail `kind` says why.
fn retry_later(
    version: SoapVersion,
    kind: &'static str,
    reason: String,
    payment: &str,
    money: &Money,
) -> Response<Full<Bytes>> {
    let after = money.retry_after();
    faults::write(
        version,
        &Fault {
            blame: Blame::Receiver,
            reason,
            detail: Detail {
                kind,
                fields: vec![
                    ("Payment", payment.to_owned()),
                    ("RetryAfterSeconds", after.as_secs().to_string()),
                ],
            },
            retry_after: Some(after),
        },
    )
}

/// A void of the payment may have gone through and nobody knows yet: ask again after
/// `RetryAfterSeconds`, and the settled answer comes back.
fn outcome_unknown(version: SoapVersion, payment: &str, money: &Money) -> Response<Full<Bytes>> {
    retry_later(
        version,
        "OutcomeUnknown",
        "The outcome of the void is not known yet; the gateway is settling it with InstaMed. \
         Send the same request again after RetryAfterSeconds: it is answered with the settled \
         result, and the payment is never voided twice."
            .to_owned(),
        payment,
        money,
    )
}

fn not_sent(
    version: SoapVersion,
    payment: &str,
    reason: &str,
    money: &Money,
) -> Response<Full<Bytes>> {
    retry_later(
        version,
        "NotSent",
        format!("InstaMed could not be reached; nothing was sent: {reason}"),
        payment,
        money,
    )
}

fn ledger_unavailable(
    version: SoapVersion,
    payment: &str,
    reason: &str,
    money: &Money,
) -> Response<Full<Bytes>> {
    retry_later(
        version,
        "LedgerUnavailable",
        format!("The gateway's ledger cannot be written; nothing was sent: {reason}"),
        payment,
        money,
    )
}

/// InstaMed refused the gateway's own account: nothing was carried out, and the ERP can do
/// nothing about it but wait for an operator.
fn credentials_refused(
    version: SoapVersion,
    payment: &str,
    money: &Money,
) -> Response<Full<Bytes>> {
    retry_later(
        version,
        "GatewayMisconfigured",
        "InstaMed refused the gateway's own credentials; nothing was carried out. An operator \
         must fix the gateway's InstaMed account."
            .to_owned(),
        payment,
        money,
    )
}

fn client_fault(version: SoapVersion, reason: &str) -> Response<Full<Bytes>> {
    faults::write(
        version,
        &Fault {
            blame: Blame::Sender,
            reason: reason.to_owned(),
            detail: Detail {
                kind: "Rejected",
                fields: Vec::new(),
            },
            retry_after: None,
        },
    )
}

/// InstaMed's own WSDL (fetched from the upstream's `?WSDL` with InstaMed's credentials), every
/// port's address replaced by `address`, the gateway's: a client generated from it calls the
/// gateway, as one generated from InstaMed's calls InstaMed. Anything but a 200 with a WSDL is
/// a 502 saying so.
pub(crate) async fn wsdl(upstream: &Upstream, address: &str) -> Response<Full<Bytes>> {
    let bad_gateway = |reason: &str| {
        let mut response = Response::new(Full::new(Bytes::from(format!(
            "the WSDL could not be fetched from InstaMed: {reason}"
        ))));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    };
    let mut uri = upstream.endpoint.clone().into_parts();
    let path = uri
        .path_and_query
        .as_ref()
        .map_or("/", |p| p.path())
        .to_owned();
    uri.path_and_query = match format!("{path}?WSDL").parse() {
        Ok(path) => Some(path),
        Err(_) => return bad_gateway("its address cannot take a query"),
    };
    let Ok(uri) = http::Uri::from_parts(uri) else {
        return bad_gateway("its address cannot take a query");
    };
    let mut request = Request::new(Bytes::new());
    *request.uri_mut() = uri;
    if let Some(credentials) = &upstream.credentials
        && let Ok(value) = credentials.authorization(upstream.user_name)
    {
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let answer = match upstream.client.execute(request).await {
        Ok(answer) if answer.status() == StatusCode::OK => answer,
        Ok(answer) => return bad_gateway(&format!("HTTP {}", answer.status().as_u16())),
        Err(error) => return bad_gateway(&chain(&error)),
    };
    let Ok(text) = std::str::from_utf8(answer.body()) else {
        return bad_gateway("it is not UTF-8");
    };
    let Some(locations) = instamed_soap_listener::wsdl::address_locations(text) else {
        return bad_gateway("it is not XML");
    };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for range in locations {
        out.push_str(text.get(from..range.start).unwrap_or(""));
        instamed_soap::soap::push_escaped(&mut out, address);
        from = range.end;
    }
    out.push_str(text.get(from..).unwrap_or(""));
    faults::reply(StatusCode::OK, SoapVersion::Soap11, out)
}

/// Sends the ERP's request to InstaMed once, with InstaMed's credentials in place of the
/// ERP's, and answers exactly what InstaMed answered. Never retried: a sale is not
/// idempotent.
async fn forward(
    upstream: &Upstream,
    declared: Option<SoapVersion>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let version = declared.unwrap_or(SoapVersion::Soap11);
    let unavailable = |kind: &'static str, reason: String| {
        faults::write(
            version,
            &Fault {
                blame: Blame::Receiver,
                reason,
                detail: Detail {
                    kind,
                    fields: Vec::new(),
                },
                retry_after: None,
            },
        )
    };
    let sent = forward_once(
        upstream,
        http::Method::POST,
        upstream.endpoint.clone(),
        headers,
        &[
            header::CONTENT_TYPE,
            http::HeaderName::from_static("soapaction"),
        ],
        body,
    )
    .await;
    match sent {
        Forwarded::Answered(response) => response,
        Forwarded::NotSent(reason) => unavailable("NotSent", reason),
        Forwarded::Unknown(reason) => unavailable("OutcomeUnknown", reason),
    }
}

/// What became of a request forwarded as the ERP wrote it.
pub(crate) enum Forwarded {
    /// InstaMed's answer, status, `Content-Type` and body as it sent them.
    Answered(Response<Full<Bytes>>),
    /// Nothing left the gateway (why, for the ERP).
    NotSent(String),
    /// It reached InstaMed and no answer was read: it may have been carried out.
    Unknown(String),
}

/// Sends `body` to `uri` once with InstaMed's credentials in place of the ERP's, and the
/// ERP's `copied` headers; never retried. SOAP and NVP forward through here alike.
pub(crate) async fn forward_once(
    upstream: &Upstream,
    method: http::Method,
    uri: http::Uri,
    headers: &HeaderMap,
    copied: &[http::HeaderName],
    body: Bytes,
) -> Forwarded {
    let Some(credentials) = &upstream.credentials else {
        return Forwarded::NotSent(
            "This gateway forwards voids and refunds only (it has no InstaMed account for \
             other operations); nothing was sent."
                .to_owned(),
        );
    };
    let Ok(authorization) = credentials.authorization(upstream.user_name) else {
        return Forwarded::NotSent(
            "The gateway's InstaMed credentials cannot be put in a header; nothing was sent."
                .to_owned(),
        );
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    for name in copied {
        if let Some(value) = headers.get(name) {
            request.headers_mut().insert(name.clone(), value.clone());
        }
    }
    request
        .headers_mut()
        .insert(header::AUTHORIZATION, authorization);
    match upstream.client.execute(request).await {
        Ok(answer) => {
            let (parts, body) = answer.into_parts();
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = parts.status;
            if let Some(value) = parts.headers.get(header::CONTENT_TYPE) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, value.clone());
            }
            Forwarded::Answered(response)
        }
        Err(error) if error.never_sent() => Forwarded::NotSent(format!(
            "InstaMed could not be reached; nothing was sent: {}",
            chain(&error)
        )),
        Err(error) => Forwarded::Unknown(format!(
            "The request reached InstaMed and no answer was read: it may have been carried \
             out. It is not sent again; check with InstaMed before repeating it: {}",
            chain(&error)
        )),
    }
}
