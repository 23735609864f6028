//! Turning a live exchange into a cassette: what it was, what it meant, secrets removed.

use http::{HeaderMap, Method, StatusCode};

use super::cassette::{Cassette, Message, VoidInputs};
use super::wire::{DomainRequest, media_type_and_action, offline_wire};
use super::{echo, redact};
use instamed_soap::Protocol;
use instamed_soap::exact_json::Json;

/// A request as a proxy or a replaying server received it.
#[derive(Debug, Clone)]
pub struct SeenRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path and query.
    pub target: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Body.
    pub body: &'a [u8],
}

impl SeenRequest<'_> {
    /// The protocol, judged from the path and the media type.
    pub fn protocol(&self) -> Option<Protocol> {
        let path = self.target.split('?').next().unwrap_or(self.target);
        if is_rest_path(path) {
            return Some(Protocol::Rest);
        }
        if is_form_path(path) {
            return Some(Protocol::Nvp);
        }
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        match media_type_and_action(content_type).0.as_str() {
            "text/xml" => Some(Protocol::Soap11),
            "application/soap+xml" => Some(Protocol::Soap12),
            _ => None,
        }
    }

    /// The operation: the SOAP action's last segment, or the body element under `Body`; for
    /// NVP, the `transactionAction`; for REST, the path's last segment (`void`,
    /// `refund-simple`).
    pub fn operation(&self) -> String {
        let protocol = self.protocol();
        if protocol == Some(Protocol::Rest) {
            let path = self.target.split('?').next().unwrap_or(self.target);
            return path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("unknown")
                .to_ascii_lowercase();
        }
        if protocol == Some(Protocol::Nvp) {
            // The SSO login names no action: its path's last segment (`SSOLogin`) does.
            return self.form_value("transactionAction").unwrap_or_else(|| {
                let path = self.target.split('?').next().unwrap_or(self.target);
                match path.trim_end_matches('/').rsplit('/').next() {
                    Some(last) if is_sso_login(path) => last.to_owned(),
                    _ => "unknown".into(),
                }
            });
        }
        let header_action = self
            .headers
            .get("soapaction")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let type_action = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| media_type_and_action(v).1);
        if let Some(action) = header_action
            .or(type_action)
            .filter(|a| !a.trim_matches('"').is_empty())
        {
            let action = action.trim_matches('"');
            return action.rsplit('/').next().unwrap_or(action).to_owned();
        }
        self.body_element()
            .map(|(name, _)| name)
            .unwrap_or_else(|| "unknown".into())
    }

    /// The local name and namespace of the element under a SOAP body, if the body is one.
    pub(crate) fn body_element(&self) -> Option<(String, Option<String>)> {
        let text = std::str::from_utf8(self.body).ok()?;
        let doc = roxmltree::Document::parse(text).ok()?;
        let body = doc
            .root_element()
            .children()
            .find(|n| n.tag_name().name() == "Body")?;
        body.children().find(|n| n.is_element()).map(|n| {
            let name = n.tag_name();
            (name.name().to_owned(), name.namespace().map(str::to_owned))
        })
    }

    /// The value of `name` in the request: the text of the first element of that local name in
    /// a SOAP envelope, the form value of that key (case-blind) for NVP, or the value of the
    /// first key of that name in a REST request's JSON.
    pub fn field(&self, name: &str) -> Option<String> {
        match self.protocol() {
            Some(Protocol::Nvp) => return self.form_value(name),
            Some(Protocol::Rest) => {
                let value = json_document(self.body)?;
                return json_field(&value, name);
            }
            _ => {}
        }
        let text = std::str::from_utf8(self.body).ok()?;
        let doc = roxmltree::Document::parse(text).ok()?;
        doc.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == name)
            .map(|n| {
                n.descendants()
                    .filter(|d| d.is_text())
                    .filter_map(|d| d.text())
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
    }

    /// The response `body` of a cassette answering this request, its
    /// [`{{request.<Field>}}`](super::echo) placeholders filled from this request.
    pub fn echo<'b>(&self, body: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        let escape = match self.protocol() {
            Some(Protocol::Nvp) => echo::Escape::Form,
            Some(Protocol::Rest) => echo::Escape::Json,
            _ => echo::Escape::Xml,
        };
        echo::fill(body, escape, |name| self.field(name))
    }

    /// A form field, from the body of a POST or the query of a GET; keys case-blind.
    pub fn form_value(&self, key: &str) -> Option<String> {
        form_urlencoded::parse(self.form_text().as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.into_owned())
    }

    /// The form pairs: the body of a POST, the query of a GET.
    pub fn form_text(&self) -> String {
        if self.method == Method::GET {
            self.target
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default()
        } else {
            String::from_utf8_lossy(self.body).into_owned()
        }
    }

    /// The exchange's domain inputs, when the request is a void or a simple refund (its amount
    /// then given).
    pub fn void_inputs(&self) -> Option<VoidInputs> {
        let protocol = self.protocol()?;
        if protocol == Protocol::Rest {
            return self.rest_inputs();
        }
        // The envelope is parsed once for all the fields.
        let text = std::str::from_utf8(self.body).ok();
        let doc = match protocol {
            Protocol::Nvp => None,
            _ => text.and_then(|text| roxmltree::Document::parse(text).ok()),
        };
        let field = |soap: &str, nvp: &str| -> Option<String> {
            match &doc {
                None if protocol == Protocol::Nvp => self.form_value(nvp),
                None => None,
                Some(doc) => doc
                    .descendants()
                    .find(|n| n.tag_name().name() == soap)
                    .and_then(|n| n.text())
                    .map(|t| t.trim().to_owned()),
            }
        };
        // A simple refund is recorded and verified as a void is: the same outlet and payment,
        // and the amount, which `contract verify` sends again digit for digit.
        let operation = self.operation();
        let refund = match protocol {
            Protocol::Nvp if operation.eq_ignore_ascii_case("Void") => false,
            Protocol::Nvp if operation.eq_ignore_ascii_case("SimpleRefund") => true,
            Protocol::Nvp => return None,
            _ if operation == "DoCreditCardSecondaryVoid" => false,
            _ if operation == "DoCreditCardSimpleRefund" => true,
            _ => return None,
        };
        Some(VoidInputs {
            merchant_id: field("MerchantID", "MerchantID").unwrap_or_default(),
            store_id: field("StoreID", "StoreID").unwrap_or_default(),
            terminal_id: field("TerminalID", "TerminalID").unwrap_or_default(),
            transaction_id: field("PrimaryTransactionID", "primaryTransactionID")
                .unwrap_or_default(),
            card_present_status: field("PrimaryCardPresentStatus", "primaryCardPresentStatus")
                .unwrap_or_else(|| "PresentManualKey".into()),
            amount: refund.then(|| field("Amount", "amount").unwrap_or_default()),
        })
    }
}

impl SeenRequest<'_> {
    /// The inputs of a REST void or simple refund.
    fn rest_inputs(&self) -> Option<VoidInputs> {
        let operation = self.operation();
        let refund = match operation.as_str() {
            "void" => false,
            "refund-simple" => true,
            _ => return None,
        };
        let value = json_document(self.body)?;
        let outlet = value.get("Outlet");
        let outlet_field = |name: &str| {
            outlet
                .and_then(|outlet| json_field(outlet, name))
                .unwrap_or_default()
        };
        Some(VoidInputs {
            merchant_id: outlet_field("MerchantID"),
            store_id: outlet_field("StoreID"),
            terminal_id: outlet_field("TerminalID"),
            transaction_id: value
                .get("TransactionID")
                .and_then(json_text)
                .unwrap_or_default(),
            card_present_status: instamed_soap::CardPresentStatus::default()
                .as_str()
                .to_owned(),
            amount: if refund {
                Some(value.get("Amount").and_then(json_text).unwrap_or_default())
            } else {
                None
            },
        })
    }
}

/// Whether `path` takes form pairs, as NVP's: `NVP.aspx`, and the Single Sign-On login
/// (`…/SSO/SSOLogin`), whose token request is a form post recorded, redacted, matched and
/// replayed as NVP's pairs are.
fn is_form_path(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with("/nvp.aspx") || is_sso_login(path)
}

/// Whether `path` is the Single Sign-On login's.
fn is_sso_login(path: &str) -> bool {
    path.trim_end_matches('/')
        .to_ascii_lowercase()
        .ends_with("/ssologin")
}

/// Whether `path` is one of the REST interface's (`…/rest/payment/void`, say).
fn is_rest_path(path: &str) -> bool {
    path.to_ascii_lowercase().contains("/rest/payment/")
}

/// A string as it is, a number as written (its own text, never a float's: an amount recorded
/// here is the amount `contract verify` sends again); `None` for anything else.
fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.clone()),
        _ => None,
    }
}

/// A request's JSON, read exactly; `None` when it does not parse or gives a key twice (which
/// of the two was meant cannot be told).
fn json_document(body: &[u8]) -> Option<Json> {
    Json::parse_slice(body)
        .ok()
        .filter(|value| value.repeated_name().is_none())
}

/// The value of the first key `name` in `value`, depth-first.
fn json_field(value: &Json, name: &str) -> Option<String> {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Json::Object(members) => {
                if let Some(found) = value.get(name).and_then(json_text) {
                    return Some(found);
                }
                pending.extend(members.iter().map(|(_, value)| value).rev());
            }
            Json::Array(items) => pending.extend(items.iter().rev()),
            _ => {}
        }
    }
    None
}

/// Writes an exchange as a cassette, with every secret redacted (see [`redact`]). Why a body
/// could not be stored is said in a `warning:` comment of the cassette, and logged.
pub fn cassette(
    request: &SeenRequest<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Cassette {
    let form = request.protocol() == Some(Protocol::Nvp);
    let mut exchange = redact::Redaction::new(request.headers, headers);
    let target = exchange.target(request.target);
    let request_headers = exchange.headers(request.headers);
    let request_body = exchange.body(request.headers, request.body, form);
    let response_headers = exchange.headers(headers);
    let response_body = exchange.body(headers, body, form);
    // Every secret of the exchange is known now: the last pass runs over everything written.
    let finish_headers = |headers: Vec<(String, String)>| -> Vec<(String, String)> {
        headers
            .into_iter()
            .map(|(name, value)| (name, exchange.finish_text(&value)))
            .collect()
    };
    let request_message = Message::new(
        format!("{} {}", request.method, exchange.finish_text(&target)),
        finish_headers(request_headers),
        exchange.finish_body(request_body),
    );
    let response_message = Message::new(
        status.as_u16().to_string(),
        finish_headers(response_headers),
        exchange.finish_body(response_body),
    );
    for warning in &exchange.warnings {
        tracing::warn!(target = %request_message.start, "{warning}");
    }

    // What the cassette says about the exchange is read from what is stored, never from the
    // secrets that were removed.
    let stored_target = request_message
        .start
        .split_once(' ')
        .map_or("", |(_, target)| target);
    let mut stored_headers = HeaderMap::new();
    for (name, value) in &request_message.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) {
            stored_headers.append(name, value);
        }
    }
    let stored = SeenRequest {
        method: request.method,
        target: stored_target,
        headers: &stored_headers,
        body: &request_message.body,
    };
    let protocol = stored.protocol().unwrap_or_default();
    let inputs = stored.void_inputs();
    let operation = stored.operation();
    let expect = match &inputs {
        Some(inputs) => outcome(protocol, stored_target, inputs, &response_message),
        None if super::sso::is_sso(&operation) => {
            let path = stored_target.split('?').next().unwrap_or(stored_target);
            let field = |name: &str| stored.field(name);
            super::sso::rebuild(protocol, &operation, path, &field, &response_message)
                .ok()
                .map(|(_, outcome)| outcome)
        }
        None => None,
    };
    Cassette {
        comments: exchange
            .warnings
            .iter()
            .map(|warning| format!("warning: {warning}"))
            .collect(),
        protocol,
        operation,
        inputs,
        expect,
        request: request_message,
        response: response_message,
    }
}

/// What this build's client makes of the recorded answer: `voided`, `refunded` or an error code.
fn outcome(
    protocol: Protocol,
    target: &str,
    inputs: &VoidInputs,
    response: &Message,
) -> Option<String> {
    let exchange = DomainRequest::of(inputs).ok()?;
    let wire = offline_wire(protocol, target).ok()?;
    Some(exchange.outcome(&wire, response).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(body: &str) -> Option<VoidInputs> {
        let headers = HeaderMap::new();
        SeenRequest {
            method: &Method::POST,
            target: "/rest/payment/refund-simple",
            headers: &headers,
            body: body.as_bytes(),
        }
        .void_inputs()
    }

    /// The amount in a cassette's head is sent again by `contract verify`: it must be the
    /// amount the recorded request carried, digit for digit.
    #[test]
    fn a_recorded_refund_amount_is_kept_as_written_never_through_a_float() {
        let outlet =
            r#""Outlet":{"MerchantID":"1","StoreID":"2","TerminalID":"3"},"TransactionID":"AB""#;
        let amount = |amount: &str| {
            refund(&format!("{{{outlet},\"Amount\":{amount}}}")).and_then(|inputs| inputs.amount)
        };
        assert_eq!(amount(r#""4.00""#).as_deref(), Some("4.00"));
        assert_eq!(
            amount("4.10000000000000000001").as_deref(),
            Some("4.10000000000000000001")
        );
        assert_eq!(amount("4.50").as_deref(), Some("4.50"));
        // Two amounts: which one was sent cannot be told, so none is recorded.
        assert!(
            refund(&format!(
                "{{{outlet},\"Amount\":\"1.00\",\"Amount\":\"9.00\"}}"
            ))
            .is_none()
        );
    }
}
