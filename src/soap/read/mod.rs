//! Reading the generated types out of a SOAP answer, in one pass over its bytes.
//!
//! The generator emits a [`ReadXml`] impl for every type: a loop over the child elements that
//! matches each one by namespace URI and local name and reads its value. Under it sits
//! [`XmlReader`], a pull reader written for this one job. A void's answer is about a kilobyte of
//! short elements, and general-purpose readers spent more instructions on it than the whole TLS
//! round trip (namespace resolution re-run for every event, each event checked and copied); this
//! one walks the text once, resolves a prefix only where an element starts, and hands out
//! borrowed slices until a field's value is kept. The yaserde derives stay on the types for
//! anyone who uses them directly.
//!
//! What it accepts is well-formed XML 1.0 (fifth edition) with Namespaces 1.0, minus what SOAP
//! forbids: a document type declaration is an error (so no entity can be declared, let alone
//! expanded), and only the five predefined entities and character references are read. Every
//! part of the document is checked as XML says, whether it is read or passed over with
//! [`skip`](XmlReader::skip): the characters (a pass over the whole text before the first
//! token), the XML declaration, names, references, comments, processing instructions, `]]>` in
//! text, one root element, and the namespace rules (declared prefixes, the reserved `xml` and
//! `xmlns`, one attribute per expanded name). Nesting and attributes per element are capped.
//! `docs/xml-conformance.md` gives the figures against the W3C conformance suite.
//! `xsi:nil="true"` reads as absent. Unknown child elements are skipped, so a field the service
//! adds later does not break older bindings. An element read into a single-valued field
//! ([`read`](XmlReader::read), [`read_option`](XmlReader::read_option)) may appear once per
//! parent: a second one (two `TransactionStatus`, two results) is an error, never a silent "last
//! one wins".

use std::borrow::Cow;
use std::fmt;

mod chars;
mod decl;
mod lexer;
mod reference;
mod scalars;
mod scope;
mod tag;
#[cfg(test)]
mod tests;
mod text;

use lexer::{Token, skip_space};
use scope::Binding;
use text::{Text, is_blank};

/// `text` with every reference XML reads in it resolved (the five entities and character
/// references); one that cannot be read is left as written. For a view of raw markup that is
/// not being parsed: the wire view looks for secrets in a text node as a reader would get it.
pub(crate) fn resolve_references(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find('&') else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match reference::read(rest) {
            Ok((character, length)) => {
                out.push(character);
                rest = &rest[length..];
            }
            Err(_) => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Deepest element nesting read; SOAP answers are a dozen levels deep.
const MAX_DEPTH: usize = 64;
/// Most attributes on one element: generous, since XML sets no limit, yet a bound on the work
/// one start tag can ask for.
const MAX_ATTRIBUTES: usize = 1024;
/// Attributes kept in the reader itself; SOAP elements carry a handful, and more spill to the
/// heap. Up to this many, duplicates are found by comparing each with the others.
const INLINE_ATTRIBUTES: usize = 32;

/// Why XML could not be read into a generated type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    message: String,
    position: u64,
}

impl ReadError {
    fn new(message: impl Into<String>, position: usize) -> Self {
        Self {
            message: message.into(),
            position: position as u64,
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
    document: &'i str,
    /// Byte offset of the next unread character.
    position: usize,
    depth: usize,
    /// Qualified names of the open elements, outermost first (`open[depth - 1]` is the
    /// innermost), to match end tags against. `Option`s, so that a new reader starts as all
    /// zero bytes, which is a fill rather than a store per entry (`""` is not zero bytes).
    open: [Option<&'i str>; MAX_DEPTH],
    /// Set after `<a/>`: the next token is its end.
    empty_pending: bool,
    /// Whether the document's characters and XML declaration have been checked.
    started: bool,
    /// Whether the document holds a `]` anywhere (else no text can hold `]]>`).
    brackets: bool,
    /// Whether the root element has been entered: a second one is an error.
    root_seen: bool,
    bindings: Vec<Binding<'i>>,
    /// The current start tag's attributes (name, value as written): the first
    /// `attribute_count`, up to [`INLINE_ATTRIBUTES`] here and the rest in `more_attributes`
    /// (`Option`s for the same reason as `open`).
    attributes: [Option<(&'i str, &'i str)>; INLINE_ATTRIBUTES],
    more_attributes: Vec<(&'i str, &'i str)>,
    attribute_count: usize,
    /// How many of them have a prefix and are not namespace declarations.
    prefixed_attributes: usize,
    /// Namespace of the child just entered (empty for none).
    child_namespace: Cow<'i, str>,
    /// Local name of the child just entered.
    child_local: &'i str,
    /// Whether the child just entered carries `xsi:nil="true"`.
    child_nil: bool,
}

impl fmt::Debug for XmlReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlReader")
            .field("position", &self.position)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl<'i> XmlReader<'i> {
    /// A reader over `document`, before its root element. A leading byte order mark is passed
    /// over.
    #[inline]
    pub fn new(document: &'i str) -> Self {
        let position = if document.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Self {
            document,
            position,
            depth: 0,
            open: [None; MAX_DEPTH],
            empty_pending: false,
            started: false,
            brackets: true,
            root_seen: false,
            bindings: Vec::new(),
            attributes: [None; INLINE_ATTRIBUTES],
            more_attributes: Vec::new(),
            attribute_count: 0,
            prefixed_attributes: 0,
            child_namespace: Cow::Borrowed(""),
            child_local: "",
            child_nil: false,
        }
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::new(message, self.position)
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> ReadError {
        ReadError::new(message, position)
    }

    /// Moves to the next child element of the current one and returns `true`, or consumes the
    /// current element's end tag and returns `false`. At the top level, `false` means the end
    /// of the document. White space, comments and processing instructions are passed over;
    /// other text between elements is an error.
    pub fn enter_child(&mut self) -> Result<bool, ReadError> {
        if !self.started {
            self.start()?;
        }
        // The usual case, a tag after optional white space, without the general loop.
        if !self.empty_pending {
            self.leave_scopes();
            let bytes = self.document.as_bytes();
            let at = skip_space(bytes, self.position);
            if bytes.get(at) == Some(&b'<') {
                match bytes.get(at + 1) {
                    Some(b'/') => {
                        self.position = at;
                        self.end_tag()?;
                        return Ok(false);
                    }
                    Some(b'!' | b'?') | None => {}
                    Some(_) => {
                        self.position = at;
                        self.start_tag()?;
                        return Ok(true);
                    }
                }
            }
        }
        loop {
            match self.next_token()? {
                Token::Start => return Ok(true),
                Token::End => return Ok(false),
                Token::Eof if self.depth == 0 => return Ok(false),
                Token::Eof => return Err(self.error("the document ends inside an element")),
                Token::Text(text) if is_blank(text) => {}
                Token::Text(_) | Token::CData(_) => {
                    return Err(self.error("text where an element was expected"));
                }
            }
        }
    }

    /// The content of the child just entered: its text, when it holds nothing else, or `None`
    /// after entering its first child element (text beside elements is dropped).
    pub fn text_or_child(&mut self) -> Result<Option<String>, ReadError> {
        let mut text = Text::default();
        loop {
            match self.next_token()? {
                Token::Start => return Ok(None),
                Token::End => return Ok(Some(text.finish())),
                Token::Text(raw) => text.push(self.unescape(raw)?),
                Token::CData(raw) => text.push(Cow::Borrowed(raw)),
                Token::Eof => return Err(self.error("the document ends inside an element")),
            }
        }
    }

    /// Whether the child just entered is `{namespace}local` (`""` for no namespace).
    #[inline]
    pub fn child_is(&self, namespace: &str, local: &str) -> bool {
        self.child_local == local && self.child_namespace == namespace
    }

    /// The namespace of the child just entered (empty for none).
    pub fn child_namespace(&self) -> &str {
        &self.child_namespace
    }

    /// The local name of the child just entered.
    pub fn child_local(&self) -> &str {
        self.child_local
    }

    /// The child as `{namespace}local`, for messages.
    pub fn child_name(&self) -> String {
        if self.child_namespace.is_empty() {
            self.child_local.to_owned()
        } else {
            format!("{{{}}}{}", self.child_namespace, self.child_local)
        }
    }

    /// The text of the child just entered as a QName (`soap:Client`): the text as written,
    /// the namespace its prefix is bound to there (the default namespace for no prefix), and
    /// the local part. Consumes the child.
    pub fn qname(&mut self) -> Result<(String, Option<String>, String), ReadError> {
        let written = self.text()?;
        // The element's own declarations are dropped only at the next read, so they still
        // apply here.
        let (prefix, local) = written.split_once(':').unwrap_or(("", &written));
        let namespace = match self.lookup(prefix) {
            Some(uri) if !uri.is_empty() => Some(String::from(uri.as_ref())),
            _ => None,
        };
        let local = local.to_owned();
        Ok((written, namespace, local))
    }

    /// Reads the child just entered as a `T`, the one value of a single-valued field. `seen`
    /// is the field's flag in its parent's reader, false until the field is read: a second
    /// child of that name is an error, never a silent "last one wins".
    #[inline]
    pub fn read<T: ReadXml>(&mut self, seen: &mut bool) -> Result<T, ReadError> {
        self.read_once(seen)?;
        T::read_xml(self)
    }

    /// Reads the child just entered as a `T`, or `None` when it is `xsi:nil="true"`: the one
    /// value of an optional field, flagged in `seen` like [`read`](Self::read).
    #[inline]
    pub fn read_option<T: ReadXml>(&mut self, seen: &mut bool) -> Result<Option<T>, ReadError> {
        self.read_once(seen)?;
        self.read_item()
    }

    /// Reads the child just entered as one more item of a repeated element.
    pub fn read_into<T: ReadXml>(&mut self, items: &mut Vec<T>) -> Result<(), ReadError> {
        if let Some(item) = self.read_item()? {
            items.push(item);
        }
        Ok(())
    }

    #[inline]
    fn read_item<T: ReadXml>(&mut self) -> Result<Option<T>, ReadError> {
        if self.child_nil {
            self.skip()?;
            return Ok(None);
        }
        T::read_xml(self).map(Some)
    }

    /// Notes that the child just entered is read as a single value, refusing a second one.
    #[inline]
    fn read_once(&self, seen: &mut bool) -> Result<(), ReadError> {
        if std::mem::replace(seen, true) {
            return Err(self.repeated());
        }
        Ok(())
    }

    #[cold]
    fn repeated(&self) -> ReadError {
        self.error(format!(
            "{} appears more than once in the same element",
            self.child_name()
        ))
    }

    /// Consumes the child just entered, whatever it holds.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            match self.next_token()? {
                Token::Eof => return Err(self.error("the document ends inside an element")),
                // Passed over, yet checked as strictly as text that is read.
                Token::Text(raw) => self.check_text(raw)?,
                Token::Start | Token::End | Token::CData(_) => {}
            }
        }
        Ok(())
    }

    /// The text of the child just entered, entities resolved and surrounding white space
    /// trimmed; consumes it. An element inside it is an error.
    pub fn text(&mut self) -> Result<String, ReadError> {
        if let Some(text) = self.plain_text() {
            return Ok(text);
        }
        let mut text = Text::default();
        loop {
            match self.next_token()? {
                Token::Text(raw) => text.push(self.unescape(raw)?),
                Token::CData(raw) => text.push(Cow::Borrowed(raw)),
                Token::End => return Ok(text.finish()),
                Token::Start => {
                    return Err(self.error(format!(
                        "an element inside the text of {}",
                        self.child_name()
                    )));
                }
                Token::Eof => return Err(self.error("the document ends inside an element")),
            }
        }
    }
}
