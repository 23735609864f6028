//! Reading a SOAP request: which version, which operation, which fields.
//!
//! Dispatch follows ASP.NET: by the SOAP 1.1 `SOAPAction` header (quoted or not) or the SOAP 1.2
//! `action` media-type parameter; without either, by the body's first element. Elements are
//! matched by namespace URI, never by prefix. roxmltree refuses document type declarations, so
//! no entity is ever expanded.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use roxmltree::{Document, Node};

use crate::soap::SoapVersion;

use super::super::answer::Rejection;
use super::super::engine::Fields;
use super::response::{Blame, Fault};
use super::schema::{self, Kind, NAMESPACE, OperationInfo};

/// The operation a request calls and its fields, or why it cannot be carried out.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub op: &'static OperationInfo,
    pub fields: Result<Fields<'a>, Rejection>,
}

/// The SOAP version a `Content-Type` announces, if it is one of SOAP's.
pub(crate) fn version(headers: &HeaderMap) -> Option<SoapVersion> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media_type = value.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("text/xml") {
        Some(SoapVersion::Soap11)
    } else if media_type.eq_ignore_ascii_case("application/soap+xml") {
        Some(SoapVersion::Soap12)
    } else {
        None
    }
}

/// The operation the headers name, `None` when they name none (dispatch by body then), or
/// ASP.NET's fault for an action it does not know.
pub(crate) fn route(
    headers: &HeaderMap,
    version: SoapVersion,
) -> Result<Option<&'static OperationInfo>, Fault<'static>> {
    let action = match version {
        SoapVersion::Soap12 => headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(action_parameter),
        _ => headers
            .get("soapaction")
            .and_then(|value| value.to_str().ok())
            .map(unquote),
    };
    match action.filter(|action| !action.is_empty()) {
        None => Ok(None),
        Some(action) => schema::by_action(action).map(Some).ok_or_else(|| {
            Fault::new(
                Blame::Sender,
                format!(
                    "System.Web.Services.Protocols.SoapException: Server did not recognize the \
                     value of HTTP Header SOAPAction: {action}."
                ),
            )
        }),
    }
}

/// The `action` parameter of a media type, unquoted.
fn action_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("action")
            .then(|| unquote(value))
    })
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// ASP.NET's fault for XML it cannot read, at `(row, column)`.
pub(crate) fn unreadable(row: u32, column: u32, why: &str) -> Fault<'static> {
    Fault::new(
        Blame::Sender,
        format!(
            "Server was unable to read request. ---> There is an error in XML document \
             ({row}, {column}). ---> {why}"
        ),
    )
}

fn no_action() -> Fault<'static> {
    Fault::new(
        Blame::Sender,
        "Unable to handle request without a valid action parameter. Please supply a valid soap \
         action.",
    )
}

/// Reads the envelope: checks its version, finds the operation (by `routed`, or by the body's
/// element) and the fields the rules need.
pub(crate) fn read<'a>(
    doc: &'a Document<'a>,
    version: SoapVersion,
    routed: Option<&'static OperationInfo>,
) -> Result<Call<'a>, Fault<'static>> {
    let envelope_ns = version.envelope_namespace();
    let root = doc.root_element();
    let root_ns = root.tag_name().namespace();
    if root.tag_name().name() != "Envelope" {
        return Err(unreadable(1, 1, "The root element is not a SOAP Envelope."));
    }
    if root_ns != Some(envelope_ns) {
        return Err(Fault::new(
            Blame::VersionMismatch,
            format!(
                "Possible SOAP version mismatch: Envelope namespace {} was unexpected. \
                 Expecting {envelope_ns}.",
                root_ns.unwrap_or("")
            ),
        ));
    }
    let body = root
        .children()
        .find(|n| n.has_tag_name((envelope_ns, "Body")))
        .ok_or_else(|| unreadable(1, 1, "The SOAP Envelope has no Body."))?;
    let wrapper = body.children().find(Node::is_element);

    let op = match (routed, wrapper) {
        (Some(op), None) => {
            return Ok(Call {
                op,
                fields: Err(Rejection::MissingTransaction),
            });
        }
        (None, None) => return Err(no_action()),
        (None, Some(wrapper)) => {
            let name = wrapper.tag_name();
            schema::by_request_element(name.namespace(), name.name()).ok_or_else(no_action)?
        }
        (Some(op), Some(wrapper)) => {
            if !wrapper.has_tag_name((NAMESPACE, op.request_element)) {
                let at = doc.text_pos_at(wrapper.range().start);
                let name = wrapper.tag_name();
                return Err(unreadable(
                    at.row,
                    at.col,
                    &format!(
                        "<{} xmlns='{}'> was not expected.",
                        name.name(),
                        name.namespace().unwrap_or("")
                    ),
                ));
            }
            op
        }
    };
    let fields = match (op.kind, wrapper) {
        (Kind::ECheckVoid, _) => Err(Rejection::Unsupported(op.name)),
        (_, Some(wrapper)) => wrapper
            .children()
            .find(|n| n.has_tag_name((NAMESPACE, op.request_child)))
            .map(fields)
            .ok_or(Rejection::MissingTransaction),
        (_, None) => Err(Rejection::MissingTransaction),
    };
    Ok(Call { op, fields })
}

/// The fields the rules look at; others are ignored, as ASP.NET's serializer ignores unknown
/// elements. An empty element reads as an empty string.
fn fields<'a>(transaction: Node<'a, 'a>) -> Fields<'a> {
    let mut fields = Fields::default();
    for child in transaction.children().filter(Node::is_element) {
        if child.tag_name().namespace() != Some(NAMESPACE) {
            continue;
        }
        let slot = match child.tag_name().name() {
            "MerchantID" => &mut fields.merchant_id,
            "StoreID" => &mut fields.store_id,
            "TerminalID" => &mut fields.terminal_id,
            "PrimaryTransactionID" => &mut fields.primary_transaction_id,
            "Amount" => &mut fields.amount,
            "CardNumber" => &mut fields.card_number,
            _ => continue,
        };
        *slot = Some(child.text().unwrap_or(""));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn actions_are_read_quoted_or_not_from_either_place() {
        let void =
            "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid";
        let h = headers(&[(
            "soapaction",
            "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"",
        )]);
        assert_eq!(
            route(&h, SoapVersion::Soap11)
                .unwrap()
                .unwrap()
                .soap11_action,
            Some(void)
        );
        let h = headers(&[(
            "content-type",
            "application/soap+xml; charset=utf-8; action=http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid",
        )]);
        assert_eq!(version(&h), Some(SoapVersion::Soap12));
        assert!(route(&h, SoapVersion::Soap12).unwrap().is_some());
        let h = headers(&[("soapaction", "\"\"")]);
        assert!(route(&h, SoapVersion::Soap11).unwrap().is_none());
        let h = headers(&[("soapaction", "urn:nope")]);
        let fault = route(&h, SoapVersion::Soap11).unwrap_err();
        assert!(fault.reason.ends_with("SOAPAction: urn:nope."));
    }
}
