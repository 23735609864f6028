//! Reading the generated types out of XML, fast, with quick-xml.
//!
//! yaserde's derived deserializers sit on xml-rs, which spends tens of microseconds on a
//! one-kilobyte answer; that was most of a void's client CPU. The generator therefore also
//! emits a [`ReadXml`] impl for every type: a loop over the child elements that matches each
//! one by namespace URI and local name and reads its value. The types and their yaserde
//! derives stay as they are for anyone who uses them directly.
//!
//! The reader borrows the whole answer (the transport has already read and capped it), refuses
//! document type declarations and unknown entities, limits nesting, and reads `xsi:nil="true"`
//! as absent. Unknown child elements are skipped, so a field the service adds later does not
//! break older bindings. An element read into a single-valued field ([`read`](XmlReader::read),
//! [`read_option`](XmlReader::read_option)) may appear once per parent: a second one (two
//! `TransactionStatus`, two results) is an error, never a silent "last one wins".

use std::fmt;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

/// Deepest element nesting read; SOAP answers are a dozen levels deep.
const MAX_DEPTH: usize = 64;
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Why XML could not be read into a generated type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    message: String,
    position: u64,
}

impl ReadError {
    fn new(message: impl Into<String>, position: u64) -> Self {
        Self {
            message: message.into(),
            position,
        }
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The byte offset where it was found.
    pub fn position(&self) -> u64 {
        self.position
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for ReadError {}

/// A value that can be read from the element the reader stands in.
///
/// Implemented by the generated structs and enums and by the types their fields use. An
/// implementation is called right after the element's start tag and must consume everything up
/// to and including its end tag.
pub trait ReadXml: Sized {
    /// Reads the value of the current element.
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError>;
}

/// A streaming reader over a whole XML document held in memory.
///
/// It walks element by element: [`enter_child`](Self::enter_child) moves to the next child of
/// the current element (or consumes the current element's end tag and says there is none),
/// [`child_is`](Self::child_is) tells which child it is, and [`read`](Self::read),
/// [`read_option`](Self::read_option), [`read_into`](Self::read_into) or
/// [`skip`](Self::skip) consume it.
pub struct XmlReader<'i> {
    inner: NsReader<&'i [u8]>,
    depth: usize,
    /// Namespace of the child just entered (empty for none).
    child_namespace: String,
    /// Local name of the child just entered.
    child_local: String,
    /// Whether the child just entered carries `xsi:nil="true"`.
    child_nil: bool,
    /// The single-valued children read so far in each open element: their depth and a hash
    /// of their expanded name, innermost last.
    read_once: Vec<(usize, u64)>,
}

impl fmt::Debug for XmlReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlReader")
            .field("position", &self.inner.buffer_position())
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl<'i> XmlReader<'i> {
    /// A reader over `document`, before its root element.
    pub fn new(document: &'i str) -> Self {
        let mut inner = NsReader::from_str(document);
        let config = inner.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        Self {
            inner,
            depth: 0,
            child_namespace: String::new(),
            child_local: String::new(),
            child_nil: false,
            read_once: Vec::new(),
        }
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::new(message, self.inner.buffer_position())
    }

    /// The next event, with where it starts and its namespace resolved (owned, so that the
    /// reader can be borrowed again).
    fn next_event(&mut self) -> Result<(u64, Resolved, Event<'i>), ReadError> {
        let position = self.inner.buffer_position();
        let (resolved, event) = self
            .inner
            .read_resolved_event()
            .map_err(|e| ReadError::new(e.to_string(), position))?;
        Ok((position, resolved_owned(resolved), event))
    }

    /// Moves to the next child element of the current one and returns `true`, or consumes the
    /// current element's end tag and returns `false`. At the top level, `false` means the end
    /// of the document. White space, comments and processing instructions are passed over;
    /// other text between elements is an error.
    pub fn enter_child(&mut self) -> Result<bool, ReadError> {
        loop {
            let (position, resolved, event) = self.next_event()?;
            match event {
                Event::Start(start) => {
                    self.entered(resolved_namespace(resolved)?.as_deref(), &start, position)?;
                    return Ok(true);
                }
                Event::End(_) => {
                    self.closed();
                    return Ok(false);
                }
                Event::Eof if self.depth == 0 => return Ok(false),
                Event::Eof => return Err(self.error("the document ends inside an element")),
                Event::Text(text) if is_blank(&text) => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(self.error("text where an element was expected"));
                }
                Event::DocType(_) => {
                    return Err(self.error("a document type declaration, which SOAP forbids"));
                }
                // `expand_empty_elements` turns `<a/>` into a start and an end tag.
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::Empty(_) => {}
            }
        }
    }

    /// Records the child whose start tag was just read.
    fn entered(
        &mut self,
        namespace: Option<&str>,
        start: &BytesStart<'_>,
        position: u64,
    ) -> Result<(), ReadError> {
        if self.depth >= MAX_DEPTH {
            return Err(ReadError::new(
                format!("elements nested deeper than {MAX_DEPTH}"),
                position,
            ));
        }
        self.depth += 1;
        self.child_namespace.clear();
        self.child_namespace.push_str(namespace.unwrap_or(""));
        self.child_local.clear();
        self.child_local.push_str(start.local_name().into_inner());
        let resolver = self.inner.resolver();
        // Most elements have no attribute at all: look at them only when one may say nil.
        self.child_nil = start.attributes_raw().contains("nil")
            && start.attributes().flatten().any(|attribute| {
                let (namespace, local) = resolver.resolve_attribute(attribute.key);
                matches!(namespace, ResolveResult::Bound(ns) if ns.into_inner() == XSI)
                    && local.into_inner() == "nil"
                    && matches!(&*attribute.value, "true" | "1")
            });
        Ok(())
    }

    /// The content of the child just entered: its text, when it holds nothing else, or `None`
    /// after entering its first child element (text beside elements is dropped).
    pub fn text_or_child(&mut self) -> Result<Option<String>, ReadError> {
        let mut text = String::new();
        loop {
            let (position, resolved, event) = self.next_event()?;
            match event {
                Event::Start(start) => {
                    self.entered(resolved_namespace(resolved)?.as_deref(), &start, position)?;
                    return Ok(None);
                }
                Event::End(_) => {
                    self.closed();
                    return Ok(Some(text.trim().to_owned()));
                }
                Event::Text(part) => text.push_str(&part.xml10_content()),
                Event::CData(part) => text.push_str(&part),
                Event::GeneralRef(reference) => text.push_str(&self.resolve_reference(&reference)?),
                Event::Eof => return Err(self.error("the document ends inside an element")),
                Event::DocType(_) => return Err(self.error("a document type declaration")),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::Empty(_) => {}
            }
        }
    }

    fn resolve_reference(&self, reference: &BytesRef<'_>) -> Result<String, ReadError> {
        let resolved = match reference.resolve_char_ref() {
            Ok(Some(character)) => Some(character.to_string()),
            Ok(None) => {
                let name = reference.xml10_content();
                quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
            }
            Err(_) => None,
        };
        resolved
            .ok_or_else(|| self.error(format!("unknown entity &{};", reference.xml10_content())))
    }

    /// Whether the child just entered is `{namespace}local` (`""` for no namespace).
    pub fn child_is(&self, namespace: &str, local: &str) -> bool {
        self.child_local == local && self.child_namespace == namespace
    }

    /// The namespace of the child just entered (empty for none).
    pub fn child_namespace(&self) -> &str {
        &self.child_namespace
    }

    /// The local name of the child just entered.
    pub fn child_local(&self) -> &str {
        &self.child_local
    }

    /// The child as `{namespace}local`, for messages.
    pub fn child_name(&self) -> String {
        if self.child_namespace.is_empty() {
            self.child_local.clone()
        } else {
            format!("{{{}}}{}", self.child_namespace, self.child_local)
        }
    }

    /// The text of the child just entered as a QName (`soap:Client`): the text as written,
    /// the namespace its prefix is bound to there (the default namespace for no prefix), and
    /// the local part. Consumes the child.
    pub fn qname(&mut self) -> Result<(String, Option<String>, String), ReadError> {
        let written = self.text()?;
        // The end tag's bindings are popped only at the next read, so the element's own
        // declarations still apply here.
        let (namespace, local) = self.inner.resolver().resolve_element(QName(&written));
        let namespace = match namespace {
            ResolveResult::Bound(namespace) => Some(namespace.into_inner().to_owned()),
            _ => None,
        };
        let local = local.into_inner().to_owned();
        Ok((written, namespace, local))
    }

    /// Reads the child just entered as a `T`, the one value of a single-valued field: an error
    /// if its parent already had a child of that name read.
    pub fn read<T: ReadXml>(&mut self) -> Result<T, ReadError> {
        self.read_once()?;
        T::read_xml(self)
    }

    /// Reads the child just entered as a `T`, or `None` when it is `xsi:nil="true"`: the one
    /// value of an optional field, like [`read`](Self::read).
    pub fn read_option<T: ReadXml>(&mut self) -> Result<Option<T>, ReadError> {
        self.read_once()?;
        self.read_item()
    }

    /// Reads the child just entered as one more item of a repeated element.
    pub fn read_into<T: ReadXml>(&mut self, items: &mut Vec<T>) -> Result<(), ReadError> {
        if let Some(item) = self.read_item()? {
            items.push(item);
        }
        Ok(())
    }

    fn read_item<T: ReadXml>(&mut self) -> Result<Option<T>, ReadError> {
        if self.child_nil {
            self.skip()?;
            return Ok(None);
        }
        T::read_xml(self).map(Some)
    }

    /// Notes that the child just entered is read as a single value, refusing a second child of
    /// the same name in the same parent.
    fn read_once(&mut self) -> Result<(), ReadError> {
        // FNV-1a over the expanded name; a collision can only refuse an answer, never pass one.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let name = self.child_namespace.bytes().chain([0xFF]);
        for byte in name.chain(self.child_local.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let depth = self.depth;
        let siblings = self
            .read_once
            .iter()
            .rev()
            .take_while(|(at, _)| *at == depth);
        if siblings.clone().any(|(_, seen)| *seen == hash) {
            return Err(self.error(format!(
                "{} appears more than once in the same element",
                self.child_name()
            )));
        }
        self.read_once.push((depth, hash));
        Ok(())
    }

    /// Leaves the current element: its children's names no longer count.
    fn closed(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        let depth = self.depth;
        while self.read_once.last().is_some_and(|(at, _)| *at > depth + 1) {
            self.read_once.pop();
        }
    }

    /// Consumes the child just entered, whatever it holds.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            match self
                .inner
                .read_event()
                .map_err(|e| self.error(e.to_string()))?
            {
                Event::Start(_) => {
                    if self.depth >= MAX_DEPTH {
                        return Err(self.error(format!("elements nested deeper than {MAX_DEPTH}")));
                    }
                    self.depth += 1;
                }
                Event::End(_) => self.depth -= 1,
                Event::Eof => return Err(self.error("the document ends inside an element")),
                Event::DocType(_) => return Err(self.error("a document type declaration")),
                _ => {}
            }
        }
        Ok(())
    }

    /// The text of the child just entered, entities resolved and surrounding white space
    /// trimmed; consumes it. An element inside it is an error.
    pub fn text(&mut self) -> Result<String, ReadError> {
        let mut text = String::new();
        loop {
            match self
                .inner
                .read_event()
                .map_err(|e| self.error(e.to_string()))?
            {
                Event::Text(part) => text.push_str(&part.xml10_content()),
                Event::CData(part) => text.push_str(&part),
                Event::GeneralRef(reference) => text.push_str(&self.resolve_reference(&reference)?),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    let trimmed = text.trim();
                    return Ok(if trimmed.len() == text.len() {
                        text
                    } else {
                        trimmed.to_owned()
                    });
                }
                Event::Start(_) => {
                    return Err(self.error(format!(
                        "an element inside the text of {}",
                        self.child_name()
                    )));
                }
                Event::Eof => return Err(self.error("the document ends inside an element")),
                Event::DocType(_) => return Err(self.error("a document type declaration")),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::Empty(_) => {}
            }
        }
    }
}

/// A resolved element namespace, owned, so that the reader can be borrowed again.
enum Resolved {
    Bound(String),
    Unbound,
    Unknown(String),
}

fn resolved_owned(resolved: ResolveResult<'_>) -> Resolved {
    match resolved {
        ResolveResult::Bound(namespace) => Resolved::Bound(namespace.into_inner().to_owned()),
        ResolveResult::Unbound => Resolved::Unbound,
        ResolveResult::Unknown(prefix) => Resolved::Unknown(prefix),
    }
}

fn resolved_namespace(resolved: Resolved) -> Result<Option<String>, ReadError> {
    match resolved {
        Resolved::Bound(namespace) => Ok(Some(namespace)),
        Resolved::Unbound => Ok(None),
        Resolved::Unknown(prefix) => Err(ReadError::new(
            format!("undeclared namespace prefix {prefix:?}"),
            0,
        )),
    }
}

fn is_blank(text: &quick_xml::events::BytesText<'_>) -> bool {
    text.bytes().all(|byte| byte.is_ascii_whitespace())
}

impl ReadXml for String {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        reader.text()
    }
}

impl ReadXml for bool {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        match reader.text()?.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(reader.error(format!("{other:?} is not an xs:boolean"))),
        }
    }
}

/// Text-valued types read through their `FromStr`.
macro_rules! read_parsed {
    ($($type:ty),* $(,)?) => {$(
        impl ReadXml for $type {
            fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
                let text = reader.text()?;
                text.parse().map_err(|error| {
                    reader.error(format!("{text:?} is not a valid {}: {error}", stringify!($type)))
                })
            }
        }
    )*};
}

read_parsed!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
read_parsed!(
    crate::xsd::Decimal,
    crate::xsd::DateTime,
    crate::xsd::Base64Binary,
    crate::xsd::Guid,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_matched_by_namespace_and_nil_is_absent() {
        let xml = br#"<r xmlns="urn:a" xmlns:b="urn:b" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
            <x> one &amp; &#50; </x><b:x>other</b:x><y xsi:nil="true"/><z><deep>1</deep></z></r>"#;
        let mut reader = XmlReader::new(std::str::from_utf8(xml).unwrap());
        assert!(reader.enter_child().unwrap());
        assert!(reader.child_is("urn:a", "r"));
        let mut seen = Vec::new();
        while reader.enter_child().unwrap() {
            if reader.child_is("urn:a", "x") {
                seen.push(format!("x={}", reader.read::<String>().unwrap()));
            } else if reader.child_is("urn:a", "y") {
                seen.push(format!("y={:?}", reader.read_option::<String>().unwrap()));
            } else {
                seen.push(format!("skip {}", reader.child_name()));
                reader.skip().unwrap();
            }
        }
        assert_eq!(
            seen,
            ["x=one & 2", "skip {urn:b}x", "y=None", "skip {urn:a}z"]
        );
        assert!(!reader.enter_child().unwrap());
    }

    #[test]
    fn hostile_documents_are_errors() {
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        let mut reader = XmlReader::new(&deep);
        assert!(reader.enter_child().unwrap());
        let error = reader.skip().unwrap_err();
        assert!(error.message().contains("deeper"), "{error}");

        let mut reader = XmlReader::new("<a>&lol;</a>");
        assert!(reader.enter_child().unwrap());
        assert!(
            reader
                .text()
                .unwrap_err()
                .message()
                .contains("unknown entity")
        );

        let mut reader = XmlReader::new("<!DOCTYPE a [<!ENTITY e \"x\">]><a/>");
        assert!(reader.enter_child().is_err());

        let mut reader = XmlReader::new("<p:a/>");
        assert!(
            reader
                .enter_child()
                .unwrap_err()
                .message()
                .contains("undeclared")
        );
    }

    #[test]
    fn values_are_parsed_or_refused() {
        let mut reader = XmlReader::new("<r><n>42</n><b>maybe</b></r>");
        assert!(reader.enter_child().unwrap());
        assert!(reader.enter_child().unwrap());
        assert_eq!(reader.read::<i32>().unwrap(), 42);
        assert!(reader.enter_child().unwrap());
        assert!(reader.read::<bool>().is_err());
    }

    /// Reads `<r>`'s children: `s` as single values, `i` as repeated items, `p` as a parent
    /// whose own `s` children are single values. Returns the values or the first error.
    fn read_fields(xml: &str) -> Result<Vec<String>, ReadError> {
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child()?);
        let mut values = Vec::new();
        let mut items: Vec<String> = Vec::new();
        while reader.enter_child()? {
            if reader.child_is("", "s") {
                values.extend(reader.read_option::<String>()?);
            } else if reader.child_is("", "i") {
                reader.read_into(&mut items)?;
            } else if reader.child_is("", "p") {
                while reader.enter_child()? {
                    if reader.child_is("", "s") {
                        values.push(reader.read::<String>()?);
                    } else {
                        reader.skip()?;
                    }
                }
            } else {
                reader.skip()?;
            }
        }
        values.extend(items);
        Ok(values)
    }

    #[test]
    fn a_single_valued_element_may_appear_once_per_parent() {
        // Repeated items, unknown elements and same-named elements in other parents are fine.
        let fields = "<r><i>1</i><u/><p><s>a</s></p><i>2</i><u/><p><s>b</s></p><s>c</s></r>";
        assert_eq!(read_fields(fields).unwrap(), ["a", "b", "c", "1", "2"]);
        // A second value for one field is an error, nil or not, in either order.
        for twice in [
            "<r><s>D</s><s>C</s></r>",
            "<r><s>C</s><i>1</i><s>C</s></r>",
            "<r xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><s xsi:nil=\"true\"/><s>C</s></r>",
            "<r><p><s>a</s><s>b</s></p></r>",
        ] {
            let error = read_fields(twice).unwrap_err();
            assert!(
                error.message().contains("more than once"),
                "{twice}: {error}"
            );
        }
    }
}
