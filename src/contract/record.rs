//! Turning a live exchange into a cassette: what it was, what it meant, secrets removed.

use http::{HeaderMap, Method, StatusCode};

use super::cassette::{Cassette, Message, VoidInputs};
use super::redact;
use super::verify::{media_type_and_action, offline_wire, response_of};
use crate::Protocol;
use crate::call::Call;

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
        if path.to_ascii_lowercase().ends_with("/nvp.aspx") {
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
    /// NVP, the `transactionAction`.
    pub fn operation(&self) -> String {
        let protocol = self.protocol();
        if protocol == Some(Protocol::Nvp) {
            return self
                .form_value("transactionAction")
                .unwrap_or_else(|| "unknown".into());
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
        self.body_element().unwrap_or_else(|| "unknown".into())
    }

    fn body_element(&self) -> Option<String> {
        let text = std::str::from_utf8(self.body).ok()?;
        let doc = roxmltree::Document::parse(text).ok()?;
        let body = doc
            .root_element()
            .children()
            .find(|n| n.tag_name().name() == "Body")?;
        body.children()
            .find(|n| n.is_element())
            .map(|n| n.tag_name().name().to_owned())
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

    /// The void's domain inputs, when the request is a void.
    pub fn void_inputs(&self) -> Option<VoidInputs> {
        let protocol = self.protocol()?;
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
        let is_void = match protocol {
            Protocol::Nvp => self.operation().eq_ignore_ascii_case("Void"),
            _ => self.operation() == "DoCreditCardSecondaryVoid",
        };
        if !is_void {
            return None;
        }
        Some(VoidInputs {
            merchant_id: field("MerchantID", "MerchantID").unwrap_or_default(),
            store_id: field("StoreID", "StoreID").unwrap_or_default(),
            terminal_id: field("TerminalID", "TerminalID").unwrap_or_default(),
            transaction_id: field("PrimaryTransactionID", "primaryTransactionID")
                .unwrap_or_default(),
            card_present_status: field("PrimaryCardPresentStatus", "primaryCardPresentStatus")
                .unwrap_or_else(|| "PresentManualKey".into()),
        })
    }
}

/// Writes an exchange as a cassette, with every secret redacted.
pub fn cassette(
    request: &SeenRequest<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Cassette {
    let protocol = request.protocol().unwrap_or_default();
    let form = protocol == Protocol::Nvp;
    let request_message = Message::new(
        format!(
            "{} {}",
            request.method,
            redact::card_numbers(request.target)
        ),
        redacted_headers(request.headers),
        redact::body(&String::from_utf8_lossy(request.body), form).into_bytes(),
    );
    let response_message = Message::new(
        status.as_u16().to_string(),
        redacted_headers(headers),
        match std::str::from_utf8(body) {
            Ok(text) => redact::body(text, form).into_bytes(),
            // Not text: nothing to search, and rewriting it would change what is replayed.
            Err(_) => body.to_vec(),
        },
    );
    let inputs = request.void_inputs();
    let expect = inputs
        .as_ref()
        .and_then(|inputs| outcome(protocol, request.target, inputs, &response_message));
    Cassette {
        comments: Vec::new(),
        protocol,
        operation: request.operation(),
        inputs,
        expect,
        request: request_message,
        response: response_message,
    }
}

/// What this build's client makes of the response: `voided` or an error code.
fn outcome(
    protocol: Protocol,
    target: &str,
    inputs: &VoidInputs,
    response: &Message,
) -> Option<String> {
    let request = inputs.to_request().ok()?;
    let wire = offline_wire(protocol, target).ok()?;
    Some(match wire.judge(&request, &response_of(response)) {
        Ok(_) => "voided".to_owned(),
        Err(error) => error.code().to_owned(),
    })
}

/// Headers worth keeping in a cassette, secrets redacted. Hop-by-hop and volatile headers
/// (`date`, `connection`, `content-length`, `user-agent`) are left out: they change from run
/// to run or from release to release, and no contract rests on them.
fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    const DROPPED: &[&str] = &[
        "date",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "host",
        "user-agent",
    ];
    headers
        .iter()
        .filter(|(name, _)| !DROPPED.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = if redact::is_secret_header(name.as_str()) {
                let scheme = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.split_whitespace().next())
                    .filter(|s| s.len() < 16);
                scheme.map_or_else(
                    || redact::REDACTED.to_owned(),
                    |s| format!("{s} {}", redact::REDACTED),
                )
            } else {
                redact::card_numbers(&String::from_utf8_lossy(value.as_bytes()))
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
