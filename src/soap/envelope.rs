//! Envelope bytes to and from the generated types.
//!
//! Encoding writes the envelope around the payload that yaserde serialises, ASP.NET style (the
//! payload declares the service namespace as its default). Decoding streams the reply once: it
//! checks the envelope, finds the single child of `Body`, and hands either the expected response
//! element to its generated deserializer or a `Fault` to [`read_fault`]. Anything else is an
//! [`UnreadableEnvelope`], never an empty success.

use yaserde::__xml::name::OwnedName;
use yaserde::__xml::namespace::Namespace;
use yaserde::__xml::reader::{EventReader, ParserConfig, XmlEvent};
use yaserde::de::Deserializer;
use yaserde::{YaDeserialize, YaSerialize};

use super::fault::bounded;
use super::{FaultCode, Operation, SoapFault, SoapVersion};

/// Deepest element nesting read inside a fault; a real fault is four levels deep.
const MAX_FAULT_DEPTH: usize = 16;

/// What came back in the SOAP body.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<T> {
    /// The operation's response element.
    Response(T),
    /// A SOAP fault.
    Fault(SoapFault),
}

/// Why a reply could not be read as a SOAP envelope of the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnreadableEnvelope {
    /// SOAP forbids a document type declaration; refusing it also rules out entity expansion.
    #[error("the reply carries a document type declaration, which SOAP forbids")]
    DocumentType,
    /// The bytes are not well-formed XML, or the payload does not fit the generated type.
    #[error("the reply is not well-formed XML of the expected shape")]
    Xml(#[source] yaserde::Error),
    /// The document's root is not a SOAP envelope.
    #[error("the reply's root element is {found}, not a SOAP envelope")]
    NotAnEnvelope {
        /// The root element, as `{namespace}local`.
        found: String,
    },
    /// The reply is an envelope of the other SOAP version.
    #[error("expected a {expected} envelope, got a {found} one")]
    VersionMismatch {
        /// The version the request was sent in.
        expected: SoapVersion,
        /// The version of the reply.
        found: SoapVersion,
    },
    /// The envelope has no `Body`.
    #[error("the envelope has no Body")]
    NoBody,
    /// The `Body` is empty.
    #[error("the envelope's Body is empty")]
    EmptyBody,
    /// The body holds an element that is neither the expected response nor a fault.
    #[error("expected {expected} or a Fault in the Body, found {found}")]
    UnexpectedElement {
        /// The expected response element, as `{namespace}local`.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// Something follows the body's one element (a second result, text, trailing markup).
    #[error("unexpected content after the body's element: {found}")]
    TrailingContent {
        /// What followed.
        found: String,
    },
    /// A fault too deeply nested to be a real one.
    #[error("the fault is nested more than {MAX_FAULT_DEPTH} levels deep")]
    FaultTooDeep,
}

/// Writes the SOAP envelope of `version` around `payload`.
pub fn encode<T: YaSerialize>(
    version: SoapVersion,
    payload: &T,
) -> Result<Vec<u8>, yaserde::Error> {
    let mut envelope = Vec::with_capacity(1024);
    envelope.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    envelope.extend_from_slice(b"<soap:Envelope xmlns:soap=\"");
    envelope.extend_from_slice(version.envelope_namespace().as_bytes());
    envelope.extend_from_slice(
        b"\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
          xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>",
    );
    let mut serializer = yaserde::ser::Serializer::new_for_inner(envelope);
    payload.serialize(&mut serializer)?;
    let mut envelope = serializer.into_inner();
    envelope.extend_from_slice(b"</soap:Body></soap:Envelope>");
    Ok(envelope)
}

/// Reads a reply to operation `O` sent as `version`.
pub fn decode<O: Operation>(
    version: SoapVersion,
    body: &[u8],
) -> Result<Reply<O::Response>, UnreadableEnvelope> {
    if has_document_type(body) {
        return Err(UnreadableEnvelope::DocumentType);
    }
    let mut reader = Deserializer::new(EventReader::new_with_config(body, parser_config()));
    let env = version.envelope_namespace();

    let root = expect_start(&mut reader)?;
    if root.local_name != "Envelope" || root.namespace.as_deref() != Some(env) {
        return Err(
            match root
                .namespace
                .as_deref()
                .and_then(SoapVersion::from_envelope_namespace)
            {
                Some(found) if root.local_name == "Envelope" => {
                    UnreadableEnvelope::VersionMismatch {
                        expected: version,
                        found,
                    }
                }
                _ => UnreadableEnvelope::NotAnEnvelope {
                    found: expanded(&root),
                },
            },
        );
    }

    enter_body(&mut reader, env)?;

    let found = match next_ref(&mut reader)? {
        XmlEvent::StartElement { name, .. }
            if name.local_name == "Fault" && name.namespace.as_deref() == Some(env) =>
        {
            BodyChild::Fault
        }
        XmlEvent::StartElement { name, .. }
            if name.local_name == O::RESPONSE_ELEMENT
                && name.namespace.as_deref() == Some(O::NAMESPACE) =>
        {
            BodyChild::Response
        }
        XmlEvent::StartElement { name, .. } => BodyChild::Other(expanded(name)),
        _ => BodyChild::Nothing,
    };
    let reply = match found {
        BodyChild::Fault => Reply::Fault(read_fault(&mut reader, version)?),
        BodyChild::Response => {
            let response =
                O::Response::deserialize(&mut reader).map_err(UnreadableEnvelope::Xml)?;
            // yaserde leaves the element's own end tag to its caller.
            match next(&mut reader)? {
                XmlEvent::EndElement { .. } => Reply::Response(response),
                other => return Err(trailing(&other)),
            }
        }
        BodyChild::Other(found) => {
            return Err(UnreadableEnvelope::UnexpectedElement {
                expected: format!("{{{}}}{}", O::NAMESPACE, O::RESPONSE_ELEMENT),
                found,
            });
        }
        BodyChild::Nothing => return Err(UnreadableEnvelope::EmptyBody),
    };

    // Body and Envelope must close with nothing in between, and nothing may follow them.
    for _ in 0..2 {
        match next(&mut reader)? {
            XmlEvent::EndElement { .. } => {}
            other => return Err(trailing(&other)),
        }
    }
    match next(&mut reader)? {
        XmlEvent::EndDocument => Ok(reply),
        other => Err(trailing(&other)),
    }
}

/// What the body's first child is.
enum BodyChild {
    Fault,
    Response,
    Other(String),
    Nothing,
}

/// Skips an optional `Header` and consumes the `Body` start tag.
fn enter_body<R: std::io::Read>(
    reader: &mut Deserializer<R>,
    env: &str,
) -> Result<(), UnreadableEnvelope> {
    loop {
        match next(reader)? {
            XmlEvent::StartElement { name, .. } if name.namespace.as_deref() == Some(env) => {
                match name.local_name.as_str() {
                    "Body" => return Ok(()),
                    "Header" => reader
                        .skip_element(|_| {})
                        .map_err(UnreadableEnvelope::Xml)?,
                    _ => return Err(UnreadableEnvelope::NoBody),
                }
            }
            _ => return Err(UnreadableEnvelope::NoBody),
        }
    }
}

/// Reads the `Fault` element the reader is positioned on, of either version.
fn read_fault<R: std::io::Read>(
    reader: &mut Deserializer<R>,
    version: SoapVersion,
) -> Result<SoapFault, UnreadableEnvelope> {
    let fault = read_tree(reader)?;
    let env = version.envelope_namespace();
    let qname = |node: &Node| {
        let written = node.text.trim().to_owned();
        let (prefix, local) = match written.split_once(':') {
            Some((prefix, local)) => (Some(prefix), local.to_owned()),
            None => (None, written.clone()),
        };
        let namespace = node.scope.get(prefix.unwrap_or(""));
        // An unprefixed standard code is read as standard: some stacks write `Client` bare.
        let is_soap = namespace.is_none_or(|ns| ns == env);
        (written, local, is_soap)
    };
    let mut out = SoapFault::new(version, FaultCode::Other(String::new()), "");
    out.reason = None;
    match version {
        SoapVersion::Soap11 => {
            // SOAP 1.1 fault children are unqualified.
            let code = fault.child("faultcode", None);
            let (written, local, is_soap) = code.map(qname).unwrap_or_default();
            out.code = FaultCode::from_qname(&written, &local, is_soap);
            out.raw_code = written;
            out.reason = fault.child("faultstring", None).map(Node::text_value);
            out.actor = fault.child("faultactor", None).map(Node::text_value);
            out.detail = fault.child("detail", None).and_then(Node::flattened);
        }
        SoapVersion::Soap12 => {
            let ns = Some(env);
            let mut code = fault.child("Code", ns);
            if let Some(value) = code.and_then(|c| c.child("Value", ns)) {
                let (written, local, is_soap) = qname(value);
                out.code = FaultCode::from_qname(&written, &local, is_soap);
                out.raw_code = written;
            }
            while let Some(subcode) = code.and_then(|c| c.child("Subcode", ns)) {
                if let Some(value) = subcode.child("Value", ns) {
                    out.subcodes.push(value.text_value());
                }
                code = Some(subcode);
            }
            out.reason = fault
                .child("Reason", ns)
                .and_then(|reason| reason.child("Text", ns))
                .map(Node::text_value);
            out.actor = fault.child("Role", ns).map(Node::text_value);
            out.detail = fault.child("Detail", ns).and_then(Node::flattened);
        }
    }
    Ok(out)
}

/// A small element tree, read only for faults.
#[derive(Debug)]
struct Node {
    name: Option<OwnedName>,
    scope: Namespace,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, local: &str, namespace: Option<&str>) -> Option<&Node> {
        self.children.iter().find(|child| {
            child.name.as_ref().is_some_and(|name| {
                name.local_name == local && name.namespace.as_deref() == namespace
            })
        })
    }

    fn text_value(&self) -> String {
        bounded(self.text.clone())
    }

    /// `Name=text` pairs of the leaves below, or the node's own text if it has no children;
    /// `None` when that is empty.
    fn flattened(&self) -> Option<String> {
        fn walk(node: &Node, out: &mut Vec<String>) {
            for child in &node.children {
                if child.children.is_empty() {
                    let name = child.name.as_ref().map_or("", |n| n.local_name.as_str());
                    out.push(format!("{name}={}", child.text.trim()));
                } else {
                    walk(child, out);
                }
            }
        }
        let mut pairs = Vec::new();
        walk(self, &mut pairs);
        let flat = bounded(if pairs.is_empty() {
            self.text.clone()
        } else {
            pairs.join("; ")
        });
        (!flat.is_empty()).then_some(flat)
    }
}

/// Reads the element the reader is positioned on, whole, into a [`Node`].
fn read_tree<R: std::io::Read>(reader: &mut Deserializer<R>) -> Result<Node, UnreadableEnvelope> {
    let mut stack: Vec<Node> = Vec::new();
    loop {
        match next(reader)? {
            XmlEvent::StartElement {
                name, namespace, ..
            } => {
                if stack.len() >= MAX_FAULT_DEPTH {
                    return Err(UnreadableEnvelope::FaultTooDeep);
                }
                stack.push(Node {
                    name: Some(name),
                    scope: namespace,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            XmlEvent::Characters(text) | XmlEvent::CData(text) => {
                if let Some(top) = stack.last_mut() {
                    // Keep a little more than the bound so `bounded` can mark the cut.
                    if top.text.len() < 4 * 4096 {
                        top.text.push_str(&text);
                    }
                }
            }
            XmlEvent::EndElement { .. } => {
                let done = stack.pop().ok_or(UnreadableEnvelope::EmptyBody)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            XmlEvent::EndDocument => return Err(UnreadableEnvelope::EmptyBody),
            _ => {}
        }
    }
}

fn parser_config() -> ParserConfig {
    ParserConfig::new()
        .trim_whitespace(true)
        .whitespace_to_characters(true)
        .cdata_to_characters(true)
        .ignore_comments(true)
        .coalesce_characters(true)
}

/// Whether a `<!DOCTYPE` appears before the first element (where XML allows it).
fn has_document_type(body: &[u8]) -> bool {
    let prolog_end = body
        .windows(2)
        .position(|w| w[0] == b'<' && w[1].is_ascii_alphabetic());
    let prolog = &body[..prolog_end.unwrap_or(body.len())];
    prolog
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))
}

fn next<R: std::io::Read>(reader: &mut Deserializer<R>) -> Result<XmlEvent, UnreadableEnvelope> {
    reader.next_event().map_err(UnreadableEnvelope::Xml)
}

fn next_ref<R: std::io::Read>(
    reader: &mut Deserializer<R>,
) -> Result<&XmlEvent, UnreadableEnvelope> {
    reader.peek().map_err(UnreadableEnvelope::Xml)
}

fn expect_start<R: std::io::Read>(
    reader: &mut Deserializer<R>,
) -> Result<OwnedName, UnreadableEnvelope> {
    match next(reader)? {
        XmlEvent::StartElement { name, .. } => Ok(name),
        other => Err(UnreadableEnvelope::NotAnEnvelope {
            found: describe(&other),
        }),
    }
}

fn expanded(name: &OwnedName) -> String {
    match &name.namespace {
        Some(ns) => format!("{{{ns}}}{}", name.local_name),
        None => name.local_name.clone(),
    }
}

fn trailing(event: &XmlEvent) -> UnreadableEnvelope {
    UnreadableEnvelope::TrailingContent {
        found: describe(event),
    }
}

fn describe(event: &XmlEvent) -> String {
    match event {
        XmlEvent::StartElement { name, .. } => format!("element {}", expanded(name)),
        XmlEvent::EndElement { name } => format!("end of {}", expanded(name)),
        XmlEvent::Characters(_) | XmlEvent::CData(_) => "text".to_owned(),
        XmlEvent::EndDocument => "end of document".to_owned(),
        _ => "markup".to_owned(),
    }
}
