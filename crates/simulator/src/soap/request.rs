//! Reading a SOAP request: which version, which operation, which fields.
//!
//! Dispatch follows ASP.NET (FACTS §6): the media type says which envelope to expect
//! (`text/xml` for 1.1, `application/soap+xml` for 1.2), but a SOAP 1.2 envelope sent as
//! `text/xml` is still read as SOAP 1.2. Which operation a request calls is decided as
//! System.Web.Services decides it (see [`route`]): by the `SOAPAction` header when a `text/xml`
//! request has one, otherwise by the `action` media-type parameter and then by the body's first
//! element. Elements are matched by namespace URI, never by prefix. roxmltree refuses document
//! type declarations, so no entity is ever expanded.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use roxmltree::{Document, Node, NodeType};

use instamed_soap::soap::SoapVersion;

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

/// Which operation a request calls, as far as its headers tell.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// An action named this operation: the body is read as its request, whatever element it
    /// holds.
    Action(&'static OperationInfo),
    /// No action named an operation: the body's first element decides. `action` is the
    /// `action` media-type parameter that named none, when one was sent.
    Body { action: Option<String> },
}

/// Routes a request by its headers, as System.Web.Services does [asmx].
///
/// - `SoapServerProtocol.GuessVersion` hands a request to the SOAP 1.1 helper only when it
///   has a `SOAPAction` header and is not `application/soap+xml`; every other request, a
///   `text/xml` one without `SOAPAction` included, goes to the SOAP 1.2 helper (a service
///   serves both versions: InstaMed's WSDL has a `ServiceSoap12` port, which ASP.NET writes
///   only when SOAP 1.2 is on).
/// - The SOAP 1.1 helper (`Soap11ServerProtocolHelper.RouteRequest`) looks the header up,
///   quotes stripped and URL-decoded; no operation has that action (an empty one included,
///   `SOAPAction: ""`) gives a Client fault "Server did not recognize the value of HTTP Header
///   SOAPAction: …", before the body is read.
/// - The SOAP 1.2 helper (`Soap12ServerProtocolHelper.RouteRequest`) looks up the `action`
///   media-type parameter first, then the body's first element; see [`read`].
///
/// So a SOAP 1.1 request without `SOAPAction` is routed by its body and served, on .NET
/// Framework as on Mono: the helper's "Unable to handle request without a valid action
/// parameter" fault is thrown only when the body's element names no operation either.
pub(crate) fn route(headers: &HeaderMap) -> Result<Route, Fault<'static>> {
    let soap12_media = version(headers) == Some(SoapVersion::Soap12);
    match headers.get("soapaction") {
        Some(value) if !soap12_media => {
            let header = String::from_utf8_lossy(value.as_bytes());
            let action = url_decode(unquote(&header));
            schema::by_action(&action)
                .map(Route::Action)
                .ok_or_else(|| {
                    Fault::new(
                        Blame::Sender,
                        format!(
                            "System.Web.Services.Protocols.SoapException: Server did not \
                             recognize the value of HTTP Header SOAPAction: {action}."
                        ),
                    )
                })
        }
        _ => {
            let action = headers
                .get(CONTENT_TYPE)
                .and_then(|value| action_parameter(&String::from_utf8_lossy(value.as_bytes())))
                .filter(|action| !action.is_empty());
            Ok(match action.as_deref().and_then(schema::by_action) {
                Some(op) => Route::Action(op),
                None => Route::Body { action },
            })
        }
    }
}

/// The `action` parameter of a media type, read as .NET's `ContentType.GetAction` reads it:
/// the first parameter whose name starts with `action` (any case), its value trimmed of
/// spaces, tabs and quotes, then URL-decoded.
fn action_parameter(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let parameter = parameter.trim_start();
        let name = parameter.get(..6)?;
        if !name.eq_ignore_ascii_case("action") {
            return None;
        }
        let (_, value) = parameter[6..].split_once('=')?;
        let value = value.trim_matches([' ', '\'', '"', '\t']);
        Some(url_decode(value).into_owned())
    })
}

/// `HttpUtility.UrlDecode`: `+` is a space and `%XX` a byte, the bytes read as UTF-8.
pub(crate) fn url_decode(value: &str) -> Cow<'_, str> {
    if !value.contains(['+', '%']) {
        return Cow::Borrowed(value);
    }
    let spaced = value.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

pub(crate) fn unquote(value: &str) -> &str {
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

/// ASP.NET's fault for a document its XML reader cannot read, at line `row`, character
/// `column` (both from 1) [asmx]: `SoapServerProtocol.ReadParameters` wraps what
/// `XmlSerializer.Deserialize` throws, which is "There is an error in XML document (row,
/// column)." around the reader's `XmlException`, whose message ends with the same place as
/// "Line N, position M.".
///
/// Two simplifications, both about where the place is reported rather than which place: an
/// error before the body's first element is thrown by ASP.NET's own envelope reading, without
/// the "error in XML document" layer; and .NET Framework 4.x (its
/// `SoapServerProtocolHelper.SetResponseErrorCode`) answers any Client fault caused by an
/// `XmlException` with HTTP 400 and no body at all, where Mono's System.Web.Services writes
/// this fault with 500. The simulator writes the fault (500), so that a person sees what was
/// wrong and where.
pub(crate) fn unreadable(row: usize, column: usize, why: &str) -> Fault<'static> {
    Fault::new(
        Blame::Sender,
        format!(
            "Server was unable to read request. ---> There is an error in XML document \
             ({row}, {column}). ---> {why} Line {row}, position {column}."
        ),
    )
}

/// The line and character (both from 1) of byte `at` of `text`, as an XML reader counts them.
pub(crate) fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let row = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line = before.rfind('\n').map_or(before, |i| &before[i + 1..]);
    (row, line.chars().count() + 1)
}

/// The fault for a body that is not UTF-8: the place of its first byte that is not, as .NET's
/// decoder reports it ("Invalid character in the given encoding.").
pub(crate) fn not_utf8(body: &[u8], error: std::str::Utf8Error) -> Fault<'static> {
    let valid = std::str::from_utf8(&body[..error.valid_up_to()]).unwrap_or("");
    let (row, column) = position(valid, valid.len());
    unreadable(row, column, "Invalid character in the given encoding.")
}

/// The fault for a document that is not well-formed XML, at the place of the error.
///
/// roxmltree gives no place for some errors; the place is then the one .NET's reader reports:
/// the end of the text for a document cut short or without an element, the document type
/// declaration for a DTD. Messages are .NET's where they are commonly met; otherwise
/// roxmltree's, without its own "at row:column".
pub(crate) fn malformed(text: &str, error: &roxmltree::Error) -> Fault<'static> {
    use roxmltree::Error as E;
    let end = position(text, text.len());
    let (why, (row, column)) = match error {
        E::UnexpectedEndOfStream | E::UnclosedRootNode => {
            ("Unexpected end of file has occurred.".to_owned(), end)
        }
        E::NoRootNode => ("Root element is missing.".to_owned(), end),
        E::DtdDetected => (
            "DTD is prohibited in this XML document.".to_owned(),
            text.find("<!DOCTYPE")
                .map_or((1, 1), |at| position(text, at)),
        ),
        E::NodesLimitReached | E::AttributesLimitReached | E::NamespacesLimitReached => {
            (sentence(&error.to_string()), end)
        }
        other => {
            let at = other.pos();
            let said = other.to_string().replacen(&format!(" at {at}"), "", 1);
            (sentence(&said), (at.row as usize, at.col as usize))
        }
    };
    unreadable(row, column, &why)
}

/// `text` as a sentence: a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The fault when the envelope or its body is missing (`part` is `Envelope` or `Body`)
/// [asmx]. ASP.NET throws "Request format is invalid: Missing required soap:Body element."
/// (an `InvalidOperationException`) from where it meets the gap: reading the parameters of
/// an operation an action named (a Client fault, "unable to read request"), or looking for
/// the body's element to route by (`GetRequestElement`, during routing, where anything that
/// is not a `SoapException` becomes a Server fault, "unable to process request").
fn missing(route: &Route, part: &str) -> Fault<'static> {
    let why = format!("Request format is invalid: Missing required soap:{part} element.");
    match route {
        Route::Action(_) => Fault::new(
            Blame::Sender,
            format!("Server was unable to read request. ---> {why}"),
        ),
        Route::Body { .. } => Fault::new(
            Blame::Receiver,
            format!("Server was unable to process request. ---> {why}"),
        ),
    }
}

/// The fault when neither an action nor the body's element names an operation [asmx]:
/// `Soap12ServerProtocolHelper.RouteRequest` says the action is missing when none was sent,
/// and that it was not recognized when one was.
fn unrouted(action: Option<&str>) -> Fault<'static> {
    Fault::new(
        Blame::Sender,
        match action {
            None => "Unable to handle request without a valid action parameter. Please supply \
                     a valid soap action."
                .to_owned(),
            Some(action) => {
                format!("Unable to handle request. The action '{action}' was not recognized.")
            }
        },
    )
}

/// Reads the envelope: checks its version, finds the operation (by `route`, or by the body's
/// element) and the fields the rules need.
///
/// An operation an action named is read from the body whatever element the body holds
/// [asmx]: XmlSerializer's reader of a wrapped document/literal request
/// (`GenerateLiteralMembersElement`) skips any element that is not the operation's wrapper
/// (`UnknownNode`, which skips when no handler is set, the default), so the method is called
/// with every parameter null, exactly as for a wrapper without `transaction`: InstaMed's code
/// then fails as on a missing `transaction` (a Server fault, "Object reference not set to an
/// instance of an object."). This holds for SOAP 1.2 too: its helper looks the `action`
/// parameter up before the body, so an action naming one operation with the body of another,
/// or of none, is answered so, not routed by the body.
pub(crate) fn read<'a>(
    doc: &'a Document<'a>,
    version: SoapVersion,
    route: &Route,
) -> Result<Call<'a>, Fault<'static>> {
    let envelope_ns = version.envelope_namespace();
    let root = doc.root_element();
    let root_ns = root.tag_name().namespace();
    if root.tag_name().name() != "Envelope" {
        return Err(missing(route, "Envelope"));
    }
    if root_ns != Some(envelope_ns) {
        return Err(mismatch(root_ns, version));
    }
    let body = root
        .children()
        .find(|n| n.has_tag_name((envelope_ns, "Body")))
        .ok_or_else(|| missing(route, "Body"))?;

    let op = match route {
        Route::Action(op) => *op,
        Route::Body { action } => body
            .children()
            .find(Node::is_element)
            .and_then(|first| {
                let name = first.tag_name();
                schema::by_request_element(name.namespace(), name.name())
            })
            .ok_or_else(|| unrouted(action.as_deref()))?,
    };
    // The first wrapper of the operation: the serializer skips other elements, and reads
    // each parameter once.
    let wrapper = body
        .children()
        .find(|n| n.has_tag_name((NAMESPACE, op.request_element)));
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
                // [asmx] The serializer reads a string field with `ReadElementString`, whose
                // `XmlException` names the node met and stands where its name begins (after
                // the `<`).
                let (row, column) = position(doc.input_text(), node.range().start + 1);
                return Err(unreadable(
                    row,
                    column,
                    "Unexpected node type Element. ReadElementString method can only be \
                     called on elements with simple or empty content.",
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

    fn routed_to(route: Result<Route, Fault<'static>>) -> Option<&'static str> {
        match route {
            Ok(Route::Action(op)) => Some(op.name),
            _ => None,
        }
    }

    #[test]
    fn actions_are_read_where_asp_net_reads_them() {
        let text_xml = ("content-type", "text/xml; charset=utf-8");
        // SOAP 1.1: the header, quoted or not, URL-decoded.
        for action in [
            "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"",
            "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid",
            "http%3A%2F%2Fonline.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid",
        ] {
            let route = route(&headers(&[text_xml, ("soapaction", action)]));
            assert_eq!(
                routed_to(route),
                Some("DoCreditCardSecondaryVoid"),
                "{action}"
            );
        }
        // An empty action names no operation.
        for action in ["\"\"", ""] {
            let fault = route(&headers(&[text_xml, ("soapaction", action)])).unwrap_err();
            assert_eq!(fault.blame, Blame::Sender);
            assert!(
                fault.reason.ends_with("HTTP Header SOAPAction: ."),
                "{}",
                fault.reason
            );
        }
        let fault = route(&headers(&[text_xml, ("soapaction", "urn:nope")])).unwrap_err();
        assert!(fault.reason.ends_with("SOAPAction: urn:nope."));
        // Without the header: the SOAP 1.2 helper's routing, by body.
        assert!(matches!(
            route(&headers(&[text_xml])),
            Ok(Route::Body { action: None })
        ));
        // SOAP 1.2: the action parameter first; one naming nothing leaves the body to decide;
        // a SOAPAction header is not looked at.
        let h = headers(&[(
            "content-type",
            "application/soap+xml; charset=utf-8; Action='http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid'",
        )]);
        assert_eq!(routed_to(route(&h)), Some("DoCreditCardSecondaryVoid"));
        let h = headers(&[
            (
                "content-type",
                "application/soap+xml; charset=utf-8; action=\"urn:nope\"",
            ),
            ("soapaction", "urn:other"),
        ]);
        assert_eq!(version(&h), Some(SoapVersion::Soap12));
        assert!(matches!(
            route(&h),
            Ok(Route::Body { action: Some(action) }) if action == "urn:nope"
        ));
    }

    #[test]
    fn places_are_counted_in_lines_and_characters_from_one() {
        assert_eq!(position("", 0), (1, 1));
        assert_eq!(position("<a>\n  <é", 7), (2, 4));
        assert_eq!(position("<a>\n  <é", 9), (2, 5));
        assert_eq!(position("<a>\n", 4), (2, 1));
        // Past the end, or inside a character: the end.
        assert_eq!(position("ab", 99), (1, 3));
        assert_eq!(position("é", 1), (1, 2));
    }
}
