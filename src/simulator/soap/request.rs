//! Reading a SOAP request: which version, which operation, which fields.
//!
//! Dispatch follows ASP.NET (FACTS §6): the media type says which envelope to expect
//! (`text/xml` for 1.1, `application/soap+xml` for 1.2), but a SOAP 1.2 envelope sent as
//! `text/xml` is still read as SOAP 1.2. SOAP 1.1 is routed by its `SOAPAction` header (quoted
//! or not), or by the body's first element when the header is absent or empty; SOAP 1.2 is
//! always routed by the body's element, its `action` parameter ignored. Elements are matched by
//! namespace URI, never by prefix. roxmltree refuses document type declarations, so no entity
//! is ever expanded.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use roxmltree::{Document, Node, NodeType};

use crate::soap::SoapVersion;

use super::super::answer::Rejection;
use super::super::engine::Fields;
use super::response::{Blame, Fault};
use super::schema::{self, Kind, NAMESPACE, OperationInfo};

/// The operation a request calls and its fields, or why it cannot be carried out.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub op: &'static OperationInfo,
    pub fields: Result<Texts<'a>, Rejection>,
}

/// The text of the request fields the rules look at, each read whole: a value that comments or
/// processing instructions split is joined (CDATA sections and references are joined by the
/// parser already), so it is borrowed from the document unless it was split.
#[derive(Debug, Default)]
pub(crate) struct Texts<'a> {
    merchant_id: Option<Cow<'a, str>>,
    store_id: Option<Cow<'a, str>>,
    terminal_id: Option<Cow<'a, str>>,
    primary_transaction_id: Option<Cow<'a, str>>,
    amount: Option<Cow<'a, str>>,
    card_number: Option<Cow<'a, str>>,
}

impl Texts<'_> {
    /// The fields, borrowed for the rules.
    pub(crate) fn fields(&self) -> Fields<'_> {
        Fields {
            merchant_id: self.merchant_id.as_deref(),
            store_id: self.store_id.as_deref(),
            terminal_id: self.terminal_id.as_deref(),
            primary_transaction_id: self.primary_transaction_id.as_deref(),
            amount: self.amount.as_deref(),
            card_number: self.card_number.as_deref(),
        }
    }
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

/// How ASP.NET takes an envelope whose media type announced `declared`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Envelope {
    /// Read and answered in this version.
    Read(SoapVersion),
    /// A SOAP 1.1 envelope sent as `application/soap+xml`: 415 with an empty body.
    Unsupported,
    /// Not a SOAP envelope of either version: a version-mismatch fault in `declared`.
    Mismatch,
}

/// Which version the envelope `root` is read as, given the `declared` one.
pub(crate) fn envelope(root: Node<'_, '_>, declared: SoapVersion) -> Envelope {
    let namespace = root.tag_name().namespace();
    let is = |version: SoapVersion| namespace == Some(version.envelope_namespace());
    match declared {
        // ASP.NET reads the envelope's namespace after the media type: a 1.2 envelope under
        // the 1.1 media type is read and answered as 1.2.
        SoapVersion::Soap12 if is(SoapVersion::Soap12) => Envelope::Read(SoapVersion::Soap12),
        SoapVersion::Soap12 if is(SoapVersion::Soap11) => Envelope::Unsupported,
        _ if is(SoapVersion::Soap11) => Envelope::Read(SoapVersion::Soap11),
        _ if is(SoapVersion::Soap12) => Envelope::Read(SoapVersion::Soap12),
        _ => Envelope::Mismatch,
    }
}

/// The operation a SOAP 1.1 `SOAPAction` names, `None` when it names none (dispatch by body
/// then), or ASP.NET's fault for an action it does not know. SOAP 1.2 is routed by its body
/// alone: ASP.NET ignores an `action` parameter that does not match the body.
pub(crate) fn route(
    headers: &HeaderMap,
    version: SoapVersion,
) -> Result<Option<&'static OperationInfo>, Fault<'static>> {
    if version != SoapVersion::Soap11 {
        return Ok(None);
    }
    let action = headers
        .get("soapaction")
        .and_then(|value| value.to_str().ok())
        .map(unquote);
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

fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// ASP.NET's fault for an envelope in a namespace that is not `version`'s.
pub(crate) fn mismatch(namespace: Option<&str>, version: SoapVersion) -> Fault<'static> {
    Fault::new(
        Blame::VersionMismatch,
        format!(
            "Possible SOAP version mismatch: Envelope namespace {} was unexpected. Expecting {}.",
            namespace.unwrap_or(""),
            version.envelope_namespace()
        ),
    )
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
        return Err(mismatch(root_ns, version));
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
        (_, Some(wrapper)) => match wrapper
            .children()
            .find(|n| n.has_tag_name((NAMESPACE, op.request_child)))
        {
            Some(transaction) => Ok(fields(doc, transaction)?),
            None => Err(Rejection::MissingTransaction),
        },
        (_, None) => Err(Rejection::MissingTransaction),
    };
    Ok(Call { op, fields })
}

/// The fields the rules look at; others are ignored, as ASP.NET's serializer ignores unknown
/// elements. An empty element reads as an empty string; a field holding an element is not a
/// string, and the request cannot be read.
fn fields<'a>(doc: &Document<'a>, transaction: Node<'a, 'a>) -> Result<Texts<'a>, Fault<'static>> {
    let mut texts = Texts::default();
    for child in transaction.children().filter(Node::is_element) {
        if child.tag_name().namespace() != Some(NAMESPACE) {
            continue;
        }
        let slot = match child.tag_name().name() {
            "MerchantID" => &mut texts.merchant_id,
            "StoreID" => &mut texts.store_id,
            "TerminalID" => &mut texts.terminal_id,
            "PrimaryTransactionID" => &mut texts.primary_transaction_id,
            "Amount" => &mut texts.amount,
            "CardNumber" => &mut texts.card_number,
            _ => continue,
        };
        *slot = Some(text(doc, child)?);
    }
    Ok(texts)
}

/// The whole text of a simple element, as an XML reader hands it to a string field: every text
/// node joined, comments and processing instructions left out.
fn text<'a>(doc: &Document<'a>, element: Node<'a, 'a>) -> Result<Cow<'a, str>, Fault<'static>> {
    let mut joined: Option<Cow<'a, str>> = None;
    for node in element.children() {
        match node.node_type() {
            NodeType::Text => {
                let part = node.text().unwrap_or("");
                match &mut joined {
                    None => joined = Some(Cow::Borrowed(part)),
                    // Only a value split by a comment or instruction gets here.
                    Some(whole) => whole.to_mut().push_str(part),
                }
            }
            NodeType::Element => {
                let at = doc.text_pos_at(node.range().start);
                return Err(unreadable(
                    at.row,
                    at.col,
                    &format!(
                        "The element {} has simple content only.",
                        element.tag_name().name()
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(joined.unwrap_or(Cow::Borrowed("")))
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
    fn soap_1_1_actions_are_read_quoted_or_not_and_soap_1_2_ones_ignored() {
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
        // SOAP 1.2 is routed by its body, whatever its action parameter says.
        let h = headers(&[(
            "content-type",
            "application/soap+xml; charset=utf-8; action=\"urn:nope\"",
        )]);
        assert_eq!(version(&h), Some(SoapVersion::Soap12));
        assert!(route(&h, SoapVersion::Soap12).unwrap().is_none());
        let h = headers(&[("soapaction", "\"\"")]);
        assert!(route(&h, SoapVersion::Soap11).unwrap().is_none());
        let h = headers(&[("soapaction", "urn:nope")]);
        let fault = route(&h, SoapVersion::Soap11).unwrap_err();
        assert!(fault.reason.ends_with("SOAPAction: urn:nope."));
    }
}
