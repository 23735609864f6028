//! Envelope bytes to and from the generated types.
//!
//! Encoding writes the envelope around the request element with its generated
//! [`WriteXml`](super::WriteXml), ASP.NET style (the element declares the service namespace as
//! its default). Decoding streams the answer once with
//! the project's [`XmlReader`]: it checks the envelope, finds the single child of `Body`, and
//! hands either the expected response element to its generated [`ReadXml`](super::ReadXml) or
//! a `Fault` to [`read_fault`]. Anything else is an [`UnreadableEnvelope`], never an empty
//! success.

use super::fault::bounded;
use super::fault::{DetailEntry, MAX_DETAIL_ENTRIES};
use super::read::{ReadError, ReadXml, XmlReader};
use super::write::{WriteXml, XmlWriter};
use super::{FaultCode, Operation, SoapFault, SoapVersion};

/// What came back in the SOAP body.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// The operation's response element.
    Result(T),
    /// A SOAP fault.
    Fault(SoapFault),
}

/// Why an answer could not be read as a SOAP envelope of the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnreadableEnvelope {
    /// SOAP forbids a document type declaration; refusing it also rules out entity expansion.
    #[error("the answer carries a document type declaration, which SOAP forbids")]
    DocumentType,
    /// The bytes are not well-formed XML, or the payload does not fit the generated type.
    #[error("not a SOAP answer of the expected shape")]
    Xml(#[source] ReadError),
    /// The bytes are not UTF-8 (a UTF-16 or Latin-1 answer, or garbage).
    #[error("the answer is not UTF-8")]
    NotUtf8,
    /// The document's root is not a SOAP envelope.
    #[error("the answer's root element is {found}, not a SOAP envelope")]
    NotAnEnvelope {
        /// The root element, as `{namespace}local`.
        found: String,
    },
    /// The answer is an envelope of the other SOAP version.
    #[error("expected a {expected} envelope, got a {found} one")]
    VersionMismatch {
        /// The version the request was sent in.
        expected: SoapVersion,
        /// The version of the answer.
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
    /// A `Fault` without the code SOAP requires (1.1 `faultcode`, 1.2 `Code/Value`): nothing
    /// says who failed or whether the request was processed, so it is not read as an answer.
    #[error("the fault has no {missing}")]
    IncompleteFault {
        /// The missing part, as the version names it.
        missing: &'static str,
    },
}

/// Writes the SOAP envelope of `version` around operation `O`'s request element.
pub fn encode<O: Operation>(version: SoapVersion, request: &O::Request) -> Vec<u8> {
    encode_element(version, O::NAMESPACE, O::REQUEST_ELEMENT, request)
}

/// Writes the SOAP envelope of `version` around operation `O`'s response element: the answer a
/// service of InstaMed's contract gives, as the gateway writes a settled answer for an ERP.
pub fn encode_response<O: Operation>(version: SoapVersion, response: &O::Response) -> Vec<u8>
where
    O::Response: WriteXml,
{
    encode_element(version, O::NAMESPACE, O::RESPONSE_ELEMENT, response)
}

/// Writes the SOAP envelope of `version` around the element `{namespace}local` holding
/// `value`: [`encode`] for a value other than the generated request type that writes the same
/// element.
pub(crate) fn encode_element<T: WriteXml + ?Sized>(
    version: SoapVersion,
    namespace: &'static str,
    local: &str,
    value: &T,
) -> Vec<u8> {
    let mut envelope = Vec::with_capacity(1024);
    envelope.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    envelope.extend_from_slice(b"<soap:Envelope xmlns:soap=\"");
    envelope.extend_from_slice(version.envelope_namespace().as_bytes());
    envelope.extend_from_slice(
        b"\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
          xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>",
    );
    let mut writer = XmlWriter::new(envelope);
    writer.element(namespace, local, value);
    let mut envelope = writer.into_inner();
    envelope.extend_from_slice(b"</soap:Body></soap:Envelope>");
    envelope
}

/// Reads an answer to operation `O` sent as `version`.
pub fn decode<O: Operation>(
    version: SoapVersion,
    body: &[u8],
) -> Result<Answer<O::Response>, UnreadableEnvelope> {
    decode_element(version, O::NAMESPACE, O::RESPONSE_ELEMENT, body)
}

/// Reads an answer whose response element is `{namespace}local` as a `T`: [`decode`] for a
/// type other than the generated response type that reads the same element. The envelope, the
/// fault and every check around the element are [`decode`]'s.
pub(crate) fn decode_element<T: ReadXml>(
    version: SoapVersion,
    namespace: &'static str,
    local: &'static str,
    body: &[u8],
) -> Result<Answer<T>, UnreadableEnvelope> {
    if has_document_type(body) {
        return Err(UnreadableEnvelope::DocumentType);
    }
    // SOAP answers are UTF-8 (InstaMed's are); checking it once spares every event the check.
    let body = std::str::from_utf8(body).map_err(|_| UnreadableEnvelope::NotUtf8)?;
    let mut reader = XmlReader::new(body);
    let env = version.envelope_namespace();
    if !enter(&mut reader)? {
        return Err(UnreadableEnvelope::NotAnEnvelope {
            found: "nothing".to_owned(),
        });
    }
    if !reader.child_is(env, "Envelope") {
        let other = SoapVersion::from_envelope_namespace(reader.child_namespace());
        return Err(match other {
            Some(found) if reader.child_local() == "Envelope" => {
                UnreadableEnvelope::VersionMismatch {
                    expected: version,
                    found,
                }
            }
            _ => UnreadableEnvelope::NotAnEnvelope {
                found: reader.child_name(),
            },
        });
    }
    enter_body(&mut reader, env)?;

    if !enter(&mut reader)? {
        return Err(UnreadableEnvelope::EmptyBody);
    }
    let answer = if reader.child_is(env, "Fault") {
        Answer::Fault(read_fault(&mut reader, version)?)
    } else if reader.child_is(namespace, local) {
        Answer::Result(
            reader
                .read::<T>(&mut false)
                .map_err(UnreadableEnvelope::Xml)?,
        )
    } else {
        return Err(UnreadableEnvelope::UnexpectedElement {
            expected: format!("{{{namespace}}}{local}"),
            found: reader.child_name(),
        });
    };

    // Body and Envelope must close with nothing in between, and nothing may follow them.
    for _ in 0..3 {
        if enter(&mut reader)? {
            let found = format!("element {}", reader.child_name());
            return Err(UnreadableEnvelope::TrailingContent { found });
        }
    }
    Ok(answer)
}

/// Whether a `<!DOCTYPE` appears in the prolog, where XML allows it. The prolog is walked
/// construct by construct (declaration, comments, processing instructions, white space), so
/// markup-like text inside a comment does not end it early. The reader refuses a declaration
/// anywhere; this names the refusal.
fn has_document_type(body: &[u8]) -> bool {
    let mut rest = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    loop {
        rest = rest.trim_ascii_start();
        // Both closers end in `>`: jump from one `>` to the next rather than try every offset.
        let skip_past = |rest: &[u8], open: &[u8], close: &[u8]| -> Option<usize> {
            let inner = rest.strip_prefix(open)?;
            let mut from = close.len() - 1;
            loop {
                let last = from + memchr::memchr(b'>', inner.get(from..)?)?;
                if inner[..=last].ends_with(close) {
                    return Some(open.len() + last + 1);
                }
                from = last + 1;
            }
        };
        let skipped = skip_past(rest, b"<!--", b"-->").or_else(|| skip_past(rest, b"<?", b"?>"));
        match skipped {
            Some(length) => rest = &rest[length..],
            None => {
                return rest
                    .get(..9)
                    .is_some_and(|start| start.eq_ignore_ascii_case(b"<!DOCTYPE"));
            }
        }
    }
}

fn enter(reader: &mut XmlReader<'_>) -> Result<bool, UnreadableEnvelope> {
    reader.enter_child().map_err(UnreadableEnvelope::Xml)
}

/// Skips an optional `Header` and enters the `Body`.
fn enter_body(reader: &mut XmlReader<'_>, env: &str) -> Result<(), UnreadableEnvelope> {
    while enter(reader)? {
        if reader.child_is(env, "Body") {
            return Ok(());
        }
        if !reader.child_is(env, "Header") {
            return Err(UnreadableEnvelope::NoBody);
        }
        reader.skip().map_err(UnreadableEnvelope::Xml)?;
    }
    Err(UnreadableEnvelope::NoBody)
}

/// Reads the `Fault` element the reader has entered, of either version.
fn read_fault(
    reader: &mut XmlReader<'_>,
    version: SoapVersion,
) -> Result<SoapFault, UnreadableEnvelope> {
    let env = version.envelope_namespace();
    let xml = UnreadableEnvelope::Xml;
    let mut fault = SoapFault::new(version, FaultCode::Other(String::new()), "");
    fault.reason = None;
    let set_code =
        |fault: &mut SoapFault, (written, namespace, local): (String, Option<String>, String)| {
            // An unprefixed standard code is read as standard: some stacks write `Client` bare.
            let is_soap = namespace.as_deref().is_none_or(|ns| ns == env);
            fault.code = FaultCode::from_qname(&written, &local, is_soap);
            fault.raw_code = written;
        };
    while enter(reader)? {
        match version {
            // SOAP 1.1 fault children are unqualified.
            SoapVersion::Soap11 if reader.child_is("", "faultcode") => {
                let code = reader.qname().map_err(xml)?;
                set_code(&mut fault, code);
            }
            SoapVersion::Soap11 if reader.child_is("", "faultstring") => {
                fault.reason = Some(bounded(reader.text().map_err(xml)?));
            }
            SoapVersion::Soap11 if reader.child_is("", "faultactor") => {
                fault.actor = Some(bounded(reader.text().map_err(xml)?));
            }
            // Unqualified as SOAP 1.1 says; a qualified one is read too, as lenient stacks do.
            SoapVersion::Soap11
                if reader.child_is("", "detail") || reader.child_is(env, "detail") =>
            {
                fault.detail = detail_entries(reader).map_err(xml)?;
            }
            SoapVersion::Soap12 if reader.child_is(env, "Code") => {
                // Code/Value, then Subcode/Value, Subcode/Subcode/Value…: `open` counts the
                // Code and Subcode elements the reader is inside.
                let mut open = 1;
                while open > 0 {
                    if !enter(reader)? {
                        open -= 1;
                    } else if reader.child_is(env, "Value") {
                        let code = reader.qname().map_err(xml)?;
                        if open == 1 {
                            set_code(&mut fault, code);
                        } else {
                            fault.subcodes.push(code.0);
                        }
                    } else if reader.child_is(env, "Subcode") {
                        open += 1;
                    } else {
                        reader.skip().map_err(xml)?;
                    }
                }
            }
            SoapVersion::Soap12 if reader.child_is(env, "Reason") => {
                while enter(reader)? {
                    if reader.child_is(env, "Text") && fault.reason.is_none() {
                        fault.reason = Some(bounded(reader.text().map_err(xml)?));
                    } else {
                        reader.skip().map_err(xml)?;
                    }
                }
            }
            SoapVersion::Soap12 if reader.child_is(env, "Role") => {
                fault.actor = Some(bounded(reader.text().map_err(xml)?));
            }
            SoapVersion::Soap12 if reader.child_is(env, "Node") => {
                fault.node = Some(bounded(reader.text().map_err(xml)?));
            }
            // ASP.NET writes the SOAP 1.2 detail unqualified, as in SOAP 1.1 (FACTS §6).
            SoapVersion::Soap12
                if reader.child_is(env, "Detail") || reader.child_is("", "detail") =>
            {
                fault.detail = detail_entries(reader).map_err(xml)?;
            }
            _ => reader.skip().map_err(xml)?,
        }
    }
    if fault.raw_code.is_empty() {
        return Err(UnreadableEnvelope::IncompleteFault {
            missing: match version {
                SoapVersion::Soap11 => "faultcode",
                SoapVersion::Soap12 => "Code/Value",
            },
        });
    }
    Ok(fault)
}

/// The leaves of the detail the reader has entered, in document order: each element that holds
/// text (or nothing), wherever it sits, keeps its namespace, local name and text. A detail of
/// bare text is one entry named after the detail element. Past [`MAX_DETAIL_ENTRIES`] leaves
/// the rest is read (so it must be well-formed) but not kept.
fn detail_entries(reader: &mut XmlReader<'_>) -> Result<Vec<DetailEntry>, ReadError> {
    let mut entries = Vec::new();
    let (namespace, name) = (
        reader.child_namespace().to_owned(),
        reader.child_local().to_owned(),
    );
    match reader.text_or_child()? {
        Some(text) if text.is_empty() => {}
        Some(text) => entries.push(DetailEntry::new(namespace, name, text)),
        None => {
            leaves(reader, &mut entries)?;
            while reader.enter_child()? {
                leaves(reader, &mut entries)?;
            }
        }
    }
    Ok(entries)
}

/// Adds an entry for the child just entered if it is a leaf, or for each leaf below it.
/// Nesting is bounded by the reader's depth limit.
fn leaves(reader: &mut XmlReader<'_>, entries: &mut Vec<DetailEntry>) -> Result<(), ReadError> {
    let (namespace, name) = (
        reader.child_namespace().to_owned(),
        reader.child_local().to_owned(),
    );
    match reader.text_or_child()? {
        Some(text) => {
            if entries.len() < MAX_DETAIL_ENTRIES {
                entries.push(DetailEntry::new(namespace, name, text));
            }
        }
        None => {
            leaves(reader, entries)?;
            while reader.enter_child()? {
                leaves(reader, entries)?;
            }
        }
    }
    Ok(())
}
