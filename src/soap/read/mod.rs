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

use memchr::{memchr, memchr2, memchr3, memmem};

mod chars;
mod decl;
mod reference;

use chars::scan_name;

/// Deepest element nesting read; SOAP answers are a dozen levels deep.
const MAX_DEPTH: usize = 64;
/// Most attributes on one element: generous, since XML sets no limit, yet a bound on the work
/// one start tag can ask for.
const MAX_ATTRIBUTES: usize = 1024;
/// Attributes kept in the reader itself; SOAP elements carry a handful, and more spill to the
/// heap. Up to this many, duplicates are found by comparing each with the others.
const INLINE_ATTRIBUTES: usize = 32;
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace the `xml` prefix is bound to without a declaration.
const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` itself, which nothing may be bound to.
const XMLNS: &str = "http://www.w3.org/2000/xmlns/";

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

/// A namespace declaration in scope.
struct Binding<'i> {
    /// The declared prefix, `""` for the default namespace.
    prefix: &'i str,
    /// The namespace URI, `""` where `xmlns=""` undeclares the default.
    uri: Cow<'i, str>,
    /// Depth of the element that declares it.
    depth: usize,
}

/// What the next piece of the document is. A start tag's name and namespace are left in the
/// reader's `child_*` fields.
enum Token<'i> {
    Start,
    End,
    /// Character data as written, references not yet resolved.
    Text(&'i str),
    /// The inside of a CDATA section, taken literally.
    CData(&'i str),
    Eof,
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
    /// innermost), to match end tags against.
    open: [&'i str; MAX_DEPTH],
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
    /// `attribute_count`, up to [`INLINE_ATTRIBUTES`] here and the rest in `more_attributes`.
    attributes: [(&'i str, &'i str); INLINE_ATTRIBUTES],
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
            open: [""; MAX_DEPTH],
            empty_pending: false,
            started: false,
            brackets: true,
            root_seen: false,
            bindings: Vec::new(),
            attributes: [("", ""); INLINE_ATTRIBUTES],
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

    /// Checks what comes before any token: that every character is one XML allows, and the
    /// XML declaration if there is one. Runs once, before the first token.
    #[cold]
    #[inline(never)]
    fn start(&mut self) -> Result<(), ReadError> {
        let survey = chars::survey(self.document)
            .map_err(|at| self.error_at(at, "a character XML forbids"))?;
        let rest = &self.document[self.position..];
        if decl::starts_declaration(rest.as_bytes()) {
            let document = self.document;
            let length = decl::read(rest, || document.is_ascii())
                .map_err(|(message, at)| self.error_at(self.position + at, message))?;
            self.position += length;
        }
        self.brackets = survey.brackets;
        self.started = true;
        Ok(())
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

    /// The usual leaf, `<a>text</a>` with no reference, comment or CDATA in the text, read
    /// straight off the document; `None` (nothing consumed) for anything else.
    #[inline]
    fn plain_text(&mut self) -> Option<String> {
        if self.empty_pending {
            return None;
        }
        let open = self.open.get(self.depth.checked_sub(1)?)?;
        let bytes = self.document.as_bytes();
        let at = self.position;
        // The first `<`, `&` or CR: only a `<` means the text is plain so far.
        let end = at + memchr3(b'<', b'&', b'\r', bytes.get(at..)?)?;
        let name = end + 2;
        let closes = bytes[end] == b'<'
            && bytes.get(end + 1) == Some(&b'/')
            && bytes.get(name..name + open.len()) == Some(open.as_bytes())
            && bytes.get(name + open.len()) == Some(&b'>');
        if !closes || (self.brackets && memmem::find(&bytes[at..end], b"]]>").is_some()) {
            return None;
        }
        self.position = name + open.len() + 1;
        self.close();
        Some(trimmed(&self.document[at..end]).to_owned())
    }

    // -----------------------------------------------------------------------------------------
    // Tokens

    /// Drops the declarations of elements that have closed.
    #[inline]
    fn leave_scopes(&mut self) {
        while self.bindings.last().is_some_and(|b| b.depth > self.depth) {
            self.bindings.pop();
        }
    }

    /// The next start tag, end tag or run of text, passing over comments, processing
    /// instructions and the XML declaration.
    fn next_token(&mut self) -> Result<Token<'i>, ReadError> {
        if !self.started {
            self.start()?;
        }
        if self.empty_pending {
            self.empty_pending = false;
            self.close();
            return Ok(Token::End);
        }
        self.leave_scopes();
        loop {
            let bytes = self.document.as_bytes();
            let at = self.position;
            let Some(&first) = bytes.get(at) else {
                return Ok(Token::Eof);
            };
            if first != b'<' {
                let end = memchr(b'<', &bytes[at..]).map_or(bytes.len(), |n| at + n);
                self.position = end;
                return Ok(Token::Text(&self.document[at..end]));
            }
            match bytes.get(at + 1) {
                Some(b'/') => return self.end_tag(),
                Some(b'?') => self.processing_instruction(at)?,
                Some(b'!') => {
                    let rest = &bytes[at..];
                    if rest.starts_with(b"<!--") {
                        self.comment(at)?;
                    } else if rest.starts_with(b"<![CDATA[") {
                        let inside = at + 9;
                        let end = self.find(inside, "]]>", "a CDATA section")?;
                        self.position = end + 3;
                        return Ok(Token::CData(&self.document[inside..end]));
                    } else if rest.starts_with(b"<!DOCTYPE") {
                        return Err(
                            self.error_at(at, "a document type declaration, which SOAP forbids")
                        );
                    } else {
                        return Err(self.error_at(at, "unexpected markup after <!"));
                    }
                }
                _ => return self.start_tag(),
            }
        }
    }

    /// Passes over the processing instruction at `at`: a target that is a name without a colon
    /// and not `xml` in any case (the XML declaration is read only at the very start), then
    /// nothing or white space and anything up to `?>`.
    fn processing_instruction(&mut self, at: usize) -> Result<(), ReadError> {
        let bytes = self.document.as_bytes();
        let name = scan_name(self.document, at + 2);
        let target = &self.document[at + 2..name.end];
        if !name.qualified || name.colon.is_some() {
            return Err(self.error_at(at, "a malformed processing instruction target"));
        }
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.error_at(
                at,
                "an XML declaration that is not at the very start of the document",
            ));
        }
        let end = self.find(name.end, "?>", "a processing instruction")?;
        if end > name.end && !is_space(bytes[name.end]) {
            return Err(self.error_at(at, "a malformed processing instruction target"));
        }
        self.position = end + 2;
        Ok(())
    }

    /// Passes over the comment at `at`, which may not hold `--`.
    fn comment(&mut self, at: usize) -> Result<(), ReadError> {
        let from = at + 4;
        let bytes = self.document.as_bytes();
        let Some(dashes) = memmem::find(&bytes[from..], b"--") else {
            return Err(self.error_at(at, "a comment that is never closed"));
        };
        let dashes = from + dashes;
        if bytes.get(dashes + 2) != Some(&b'>') {
            let message = match bytes.get(dashes + 2) {
                Some(_) => "-- inside a comment",
                None => "a comment that is never closed",
            };
            return Err(self.error_at(dashes, message));
        }
        self.position = dashes + 3;
        Ok(())
    }

    /// Where `close` (`?>`, `-->` or `]]>`) next occurs from `from`, or an error naming the
    /// unclosed `what`. Each ends in `>`, so the search jumps from one `>` to the next: cheaper
    /// than setting up a substring searcher for a few dozen bytes.
    fn find(&self, from: usize, close: &str, what: &str) -> Result<usize, ReadError> {
        let bytes = self.document.as_bytes();
        let close = close.as_bytes();
        let mut end = from + close.len() - 1;
        while let Some(found) = bytes.get(end..).and_then(|rest| memchr(b'>', rest)) {
            let last = end + found;
            let start = last + 1 - close.len();
            if start >= from && &bytes[start..=last] == close {
                return Ok(start);
            }
            end = last + 1;
        }
        Err(self.error(format!("{what} that is never closed")))
    }

    /// Reads `</name>` and leaves the element it closes.
    fn end_tag(&mut self) -> Result<Token<'i>, ReadError> {
        let bytes = self.document.as_bytes();
        let at = self.position;
        let Some(open) = self.depth.checked_sub(1).and_then(|i| self.open.get(i)) else {
            return Err(self.error_at(at, "an end tag that closes nothing"));
        };
        // The name can only be the open element's: compare it whole rather than scan it.
        let name_end = at + 2 + open.len();
        let matches = bytes.get(at + 2..name_end) == Some(open.as_bytes());
        let close = skip_space(bytes, name_end);
        if !matches || bytes.get(close) != Some(&b'>') {
            let end = scan_name(self.document, at + 2).end;
            let name = &self.document[at + 2..end];
            return Err(self.error_at(at, format!("</{name}> where </{open}> was expected")));
        }
        self.position = close + 1;
        self.close();
        Ok(Token::End)
    }

    /// Leaves the current element.
    #[inline]
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Reads a start tag: its attributes, the namespaces it declares, its own namespace, and
    /// whether it is nil. The element becomes the child just entered.
    fn start_tag(&mut self) -> Result<Token<'i>, ReadError> {
        let bytes = self.document.as_bytes();
        let at = self.position;
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(at, format!("elements nested deeper than {MAX_DEPTH}")));
        }
        if self.depth == 0 {
            if self.root_seen {
                return Err(self.error_at(at, "a second root element"));
            }
            self.root_seen = true;
        }
        let depth = self.depth + 1;
        let name = scan_name(self.document, at + 1);
        let (name_end, colon) = (name.end, name.colon);
        let qname = &self.document[at + 1..name_end];
        if !name.qualified {
            return Err(self.error_at(at, "a malformed element name"));
        }
        // Most elements have no attribute: `<a>` and `<a/>` skip the attribute reader.
        self.attribute_count = 0;
        self.prefixed_attributes = 0;
        let (end, empty) = match bytes.get(name_end) {
            Some(b'>') => (name_end + 1, false),
            Some(b'/') if bytes.get(name_end + 1) == Some(&b'>') => (name_end + 2, true),
            Some(&byte) if is_space(byte) => self.attributes(at, name_end, depth)?,
            _ => return Err(self.error_at(at, "a malformed element name")),
        };

        let (prefix, local) = match colon {
            Some(colon) => (&qname[..colon], &qname[colon + 1..]),
            None => ("", qname),
        };
        self.child_namespace = match self.lookup(prefix) {
            // By hand: `Cow::clone` is an out-of-line call, and this runs for every element.
            Some(Cow::Borrowed(uri)) => Cow::Borrowed(uri),
            Some(Cow::Owned(uri)) => Cow::Owned(uri.clone()),
            None if prefix.is_empty() => Cow::Borrowed(""),
            None => {
                return Err(self.error_at(at, format!("undeclared namespace prefix {prefix:?}")));
            }
        };
        if self.attribute_count > INLINE_ATTRIBUTES {
            self.check_many_attributes(at)?;
        }
        // Only a prefixed attribute can say nil, or carry an undeclared prefix.
        self.child_nil = self.prefixed_attributes > 0 && self.prefixed_pass(at)?;
        self.child_local = local;
        self.position = end;
        self.open[self.depth] = qname;
        self.depth = depth;
        self.empty_pending = empty;
        Ok(Token::Start)
    }

    /// Reads the attributes of the start tag at `at`, from `from` (just after its name) to its
    /// end, and returns where the tag ends and whether it is empty (`/>`).
    #[inline(never)]
    fn attributes(
        &mut self,
        at: usize,
        from: usize,
        depth: usize,
    ) -> Result<(usize, bool), ReadError> {
        let bytes = self.document.as_bytes();
        let mut cursor = from;
        loop {
            let next = skip_space(bytes, cursor);
            match bytes.get(next) {
                Some(b'>') => return Ok((next + 1, false)),
                Some(b'/') if bytes.get(next + 1) == Some(&b'>') => return Ok((next + 2, true)),
                Some(_) if next > cursor => cursor = self.attribute(next, depth)?,
                Some(_) => return Err(self.error_at(next, "a malformed start tag")),
                None => return Err(self.error_at(at, "the document ends inside a start tag")),
            }
        }
    }

    /// Reads one `name="value"` of a start tag from `at` and returns where it ends. Namespace
    /// declarations take effect for the element being read (at `depth`).
    fn attribute(&mut self, at: usize, depth: usize) -> Result<usize, ReadError> {
        let bytes = self.document.as_bytes();
        let scanned = scan_name(self.document, at);
        let name_end = scanned.end;
        let name = &self.document[at..name_end];
        let equals = skip_space(bytes, name_end);
        let quote_at = skip_space(bytes, equals + 1);
        let quote = bytes.get(quote_at).copied();
        if !scanned.qualified
            || bytes.get(equals) != Some(&b'=')
            || !matches!(quote, Some(b'"' | b'\''))
        {
            return Err(self.error_at(at, "a malformed attribute"));
        }
        let quote = quote.unwrap_or(b'"');
        let value_start = quote_at + 1;
        // One scan finds the closing quote and says whether there is a reference to resolve.
        let mut end = memchr3(quote, b'<', b'&', &bytes[value_start..]).map(|n| value_start + n);
        let references = end.is_some_and(|end| bytes[end] == b'&');
        if references {
            end = end.and_then(|from| memchr2(quote, b'<', &bytes[from..]).map(|n| from + n));
        }
        let value_end = end
            .filter(|&end| bytes[end] == quote)
            .ok_or_else(|| self.error_at(at, format!("the value of {name} is not closed")))?;
        let value = &self.document[value_start..value_end];
        if references {
            self.check_references(value)?;
        }

        let count = self.attribute_count;
        if count >= MAX_ATTRIBUTES {
            return Err(self.error_at(at, format!("more than {MAX_ATTRIBUTES} attributes")));
        }
        if count < INLINE_ATTRIBUTES {
            // Beyond the inline ones, duplicates are looked for once the tag is read.
            if self.attributes[..count]
                .iter()
                .any(|(seen, _)| *seen == name)
            {
                return Err(self.error_at(at, format!("attribute {name} appears twice")));
            }
            self.attributes[count] = (name, value);
        } else {
            if count == INLINE_ATTRIBUTES {
                self.more_attributes.clear();
            }
            self.more_attributes.push((name, value));
        }
        self.attribute_count = count + 1;

        let declared = match name.strip_prefix("xmlns") {
            Some("") => Some(""),
            Some(prefix) => prefix.strip_prefix(':'),
            None => None,
        };
        if let Some(prefix) = declared {
            let uri = self.attribute_value(value)?;
            self.check_declaration(at, prefix, &uri)?;
            self.bindings.push(Binding { prefix, uri, depth });
        } else if scanned.colon.is_some() {
            self.prefixed_attributes += 1;
        }
        Ok(value_end + 1)
    }

    /// Checks a namespace declaration against Namespaces 1.0 (and its errata): `xmlns` is
    /// never declared, `xml` only to its own namespace, neither namespace to anything else,
    /// and a prefix is not undeclared.
    fn check_declaration(&self, at: usize, prefix: &str, uri: &str) -> Result<(), ReadError> {
        let problem = match (prefix, uri) {
            ("xmlns", _) => "the xmlns prefix declared",
            ("xml", XML) => return Ok(()),
            ("xml", _) => "the xml prefix bound to another namespace",
            (_, XML) => "the XML namespace bound to a prefix other than xml",
            (_, XMLNS) => "the xmlns namespace bound to a prefix",
            ("", _) => return Ok(()),
            (_, "") => "a prefix bound to no namespace",
            _ => return Ok(()),
        };
        Err(self.error_at(at, format!("{problem} ({prefix:?})")))
    }

    /// The start tag's attributes, in the order written.
    fn attribute_list(&self) -> impl Iterator<Item = &(&'i str, &'i str)> {
        let inline = self.attribute_count.min(INLINE_ATTRIBUTES);
        let more = match self.attribute_count > INLINE_ATTRIBUTES {
            true => &self.more_attributes[..],
            false => &[],
        };
        self.attributes[..inline].iter().chain(more)
    }

    /// Looks for a repeated attribute name on a start tag with more attributes than the inline
    /// check covers, sorting rather than comparing each with all.
    #[cold]
    fn check_many_attributes(&self, at: usize) -> Result<(), ReadError> {
        let mut names: Vec<&str> = self.attribute_list().map(|(name, _)| *name).collect();
        names.sort_unstable();
        match names.windows(2).find(|pair| pair[0] == pair[1]) {
            Some(pair) => Err(self.error_at(at, format!("attribute {} appears twice", pair[0]))),
            None => Ok(()),
        }
    }

    /// Resolves the prefixes of the start tag's prefixed attributes (an undeclared one is an
    /// error), refuses two with the same namespace and local name, and says whether one is
    /// `xsi:nil="true"`.
    fn prefixed_pass(&self, at: usize) -> Result<bool, ReadError> {
        let mut nil = false;
        let mut expanded: Vec<(&str, &str)> = Vec::new();
        for (name, value) in self.attribute_list() {
            let Some((prefix, local)) = name.split_once(':') else {
                continue;
            };
            if prefix == "xmlns" {
                continue;
            }
            let Some(namespace) = self.lookup(prefix) else {
                return Err(self.error_at(at, format!("undeclared namespace prefix {prefix:?}")));
            };
            if local == "nil" && namespace == XSI {
                nil = matches!(self.attribute_value(value)?.as_ref(), "true" | "1");
            }
            if self.prefixed_attributes > 1 {
                expanded.push((namespace, local));
            }
        }
        if expanded.len() > 1 {
            expanded.sort_unstable();
            if let Some(pair) = expanded.windows(2).find(|pair| pair[0] == pair[1]) {
                let (namespace, local) = pair[0];
                return Err(self.error_at(
                    at,
                    format!("attribute {{{namespace}}}{local} appears twice"),
                ));
            }
        }
        Ok(nil)
    }

    /// The namespace `prefix` is bound to in the current scope (`""` for the default
    /// namespace); `None` when it is not declared.
    fn lookup(&self, prefix: &str) -> Option<&Cow<'i, str>> {
        static XML_BINDING: Cow<'static, str> = Cow::Borrowed(XML);
        if prefix == "xml" {
            return Some(&XML_BINDING);
        }
        // Unprefixed names are the usual case: find the default without comparing text.
        let declares = |binding: &&Binding<'i>| match prefix {
            "" => binding.prefix.is_empty(),
            _ => binding.prefix == prefix,
        };
        self.bindings
            .iter()
            .rev()
            .find(declares)
            .map(|binding| &binding.uri)
    }

    /// Reads the reference at the start of `text` into its character and length.
    fn reference(&self, text: &str) -> Result<(char, usize), ReadError> {
        reference::read(text).map_err(|(problem, length)| {
            let written = text.get(..length).unwrap_or("&");
            self.error(problem.describe(written))
        })
    }

    /// Checks every reference in `raw` without resolving it.
    fn check_references(&self, raw: &str) -> Result<(), ReadError> {
        let mut at = 0;
        while let Some(found) = memchr(b'&', &raw.as_bytes()[at..]) {
            let (_, length) = self.reference(&raw[at + found..])?;
            at += found + length;
        }
        Ok(())
    }

    /// Checks character data passed over: its references, and no `]]>` in it.
    fn check_text(&self, raw: &str) -> Result<(), ReadError> {
        self.check_brackets(raw)?;
        self.check_references(raw)
    }

    fn check_brackets(&self, raw: &str) -> Result<(), ReadError> {
        if self.brackets && memmem::find(raw.as_bytes(), b"]]>").is_some() {
            return Err(self.error("]]> in character data"));
        }
        Ok(())
    }

    /// An attribute value as XML hands it on: references resolved, and each white space
    /// character (a line end counted once) made a space.
    fn attribute_value(&self, raw: &'i str) -> Result<Cow<'i, str>, ReadError> {
        let special = |b: &u8| matches!(b, b'&' | b'\t' | b'\n' | b'\r');
        let bytes = raw.as_bytes();
        // The usual value has none: one pass without an early exit, which the compiler
        // vectorises (below 0x20 only tab, LF and CR get past the character survey).
        if !bytes
            .iter()
            .fold(false, |seen, &b| seen | (b == b'&') | (b < 0x20))
        {
            return Ok(Cow::Borrowed(raw));
        }
        let Some(first) = bytes.iter().position(special) else {
            return Ok(Cow::Borrowed(raw));
        };
        let mut out = String::with_capacity(raw.len());
        out.push_str(&raw[..first]);
        let mut at = first;
        while at < bytes.len() {
            match bytes[at] {
                b'&' => {
                    let (character, length) = self.reference(&raw[at..])?;
                    out.push(character);
                    at += length;
                }
                b'\r' => {
                    out.push(' ');
                    at += 1;
                    if bytes.get(at) == Some(&b'\n') {
                        at += 1;
                    }
                }
                b'\t' | b'\n' => {
                    out.push(' ');
                    at += 1;
                }
                _ => {
                    let end = bytes[at..]
                        .iter()
                        .position(special)
                        .map_or(bytes.len(), |n| at + n);
                    out.push_str(&raw[at..end]);
                    at = end;
                }
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Character data with its references resolved and its line ends normalised to `\n`.
    fn unescape(&self, raw: &'i str) -> Result<Cow<'i, str>, ReadError> {
        self.check_brackets(raw)?;
        let bytes = raw.as_bytes();
        let Some(first) = memchr2(b'&', b'\r', bytes) else {
            return Ok(Cow::Borrowed(raw));
        };
        let mut out = String::with_capacity(raw.len());
        out.push_str(&raw[..first]);
        let mut at = first;
        while at < bytes.len() {
            match bytes[at] {
                b'&' => {
                    let (character, length) = self.reference(&raw[at..])?;
                    out.push(character);
                    at += length;
                }
                b'\r' => {
                    out.push('\n');
                    at += 1;
                    if bytes.get(at) == Some(&b'\n') {
                        at += 1;
                    }
                }
                _ => {
                    let end = memchr2(b'&', b'\r', &bytes[at..]).map_or(bytes.len(), |n| at + n);
                    out.push_str(&raw[at..end]);
                    at = end;
                }
            }
        }
        Ok(Cow::Owned(out))
    }
}

/// A field's text, gathered from the pieces comments and CDATA sections split it into. One
/// piece, the usual case, is borrowed until the end.
#[derive(Default)]
struct Text<'i> {
    text: Option<Cow<'i, str>>,
}

impl<'i> Text<'i> {
    fn push(&mut self, piece: Cow<'i, str>) {
        match &mut self.text {
            None => self.text = Some(piece),
            Some(text) => text.to_mut().push_str(&piece),
        }
    }

    /// The text with surrounding white space trimmed.
    fn finish(self) -> String {
        match self.text {
            None => String::new(),
            Some(Cow::Owned(text)) if trimmed(&text).len() == text.len() => text,
            Some(text) => trimmed(&text).to_owned(),
        }
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` without the white space around it, as `str::trim` has it; most values start and end
/// with a printable ASCII character, which settles it without decoding a character.
fn trimmed(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(is_space)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).copied().is_some_and(is_space) {
        at += 1;
    }
    at
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
        let (mut x_read, mut y_read) = (false, false);
        while reader.enter_child().unwrap() {
            if reader.child_is("urn:a", "x") {
                seen.push(format!("x={}", reader.read::<String>(&mut x_read).unwrap()));
            } else if reader.child_is("urn:a", "y") {
                let y = reader.read_option::<String>(&mut y_read).unwrap();
                seen.push(format!("y={y:?}"));
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
        assert_eq!(reader.read::<i32>(&mut false).unwrap(), 42);
        assert!(reader.enter_child().unwrap());
        assert!(reader.read::<bool>(&mut false).is_err());
    }

    /// Reads `<r>`'s children: `s` as single values, `i` as repeated items, `p` as a parent
    /// whose own `s` children are single values. Returns the values or the first error.
    fn read_fields(xml: &str) -> Result<Vec<String>, ReadError> {
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child()?);
        let mut values = Vec::new();
        let mut items: Vec<String> = Vec::new();
        let mut s_read = false;
        while reader.enter_child()? {
            if reader.child_is("", "s") {
                values.extend(reader.read_option::<String>(&mut s_read)?);
            } else if reader.child_is("", "i") {
                reader.read_into(&mut items)?;
            } else if reader.child_is("", "p") {
                // Each parent's reader has flags of its own.
                let mut inner_s_read = false;
                while reader.enter_child()? {
                    if reader.child_is("", "s") {
                        values.push(reader.read::<String>(&mut inner_s_read)?);
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

    /// Reads the text of the root element's only child.
    fn leaf(xml: &str) -> Result<String, ReadError> {
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child()?);
        assert!(reader.enter_child()?);
        reader.text()
    }

    #[test]
    fn text_is_read_as_xml_says() {
        let cases = [
            ("<r><a>plain</a></r>", "plain"),
            ("<r><a> \t padded\n </a></r>", "padded"),
            (
                "<r><a>x &lt;&gt;&amp;&quot;&apos; &#65;&#x42;</a></r>",
                "x <>&\"' AB",
            ),
            ("<r><a>one<!-- gone -->two</a></r>", "onetwo"),
            ("<r><a><![CDATA[<not> &markup;]]></a></r>", "<not> &markup;"),
            ("<r><a>line\r\nend\rx</a></r>", "line\nend\nx"),
            ("<r><a/></r>", ""),
            ("<r><a></a ></r>", ""),
            ("\u{feff}<?xml version=\"1.0\"?><r><a>bom</a></r>", "bom"),
            // White space as `str::trim` knows it, not only XML's four (finding F9).
            ("<r><a>C\u{85}</a></r>", "C"),
            ("<r><a>\u{a0}C\u{2003}</a></r>", "C"),
        ];
        for (xml, expected) in cases {
            assert_eq!(leaf(xml).as_deref(), Ok(expected), "{xml}");
        }
    }

    #[test]
    fn namespaces_follow_their_scope() {
        let xml = r#"<r xmlns="urn:d" xmlns:p="urn:p">
            <p:a/><a/><b xmlns=""/><c xmlns:p="urn:q"><p:x/></c><p:y/><xml:lang/></r>"#;
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child().unwrap());
        let mut seen = Vec::new();
        while reader.enter_child().unwrap() {
            if reader.child_local() == "c" {
                assert!(reader.enter_child().unwrap());
                seen.push(reader.child_name());
                reader.skip().unwrap();
                assert!(!reader.enter_child().unwrap());
            } else {
                seen.push(reader.child_name());
                reader.skip().unwrap();
            }
        }
        assert_eq!(
            seen,
            [
                "{urn:p}a",
                "{urn:d}a",
                "b",
                "{urn:q}x",
                "{urn:p}y",
                "{http://www.w3.org/XML/1998/namespace}lang"
            ]
        );
    }

    #[test]
    fn ill_formed_markup_is_an_error_not_a_guess() {
        let cases = [
            ("<r><a>x</b></r>", "</b>"),
            ("<r><a>x</a></r></r>", "closes nothing"),
            ("<r><a x=\"1\" x=\"2\">v</a></r>", "twice"),
            ("<r><a q:x=\"1\">v</a></r>", "undeclared"),
            ("<r><a x=\"a<b\">v</a></r>", "not closed"),
            ("<r><a x=1>v</a></r>", "malformed attribute"),
            ("<r><a x=\"1\"y=\"2\">v</a></r>", "malformed start tag"),
            ("<r xmlns:p=\"\"><a>v</a></r>", "no namespace"),
            ("<r><a>&#0;</a></r>", "not a character XML allows"),
            ("<r><a>&#xD800;</a></r>", "not a character XML allows"),
            ("<r><a>& x</a></r>", "without its ;"),
            ("<r><a><!-- open</a></r>", "never closed"),
            ("<r><a><![CDATA[open</a></r>", "never closed"),
            ("<r><1a>v</1a></r>", "malformed element name"),
            ("<r><p:q:a>v</p:q:a></r>", "malformed element name"),
            ("<r><a>v", "ends inside"),
        ];
        for (xml, problem) in cases {
            let error = leaf(xml).and_then(|_| {
                // Some problems only show once the rest of the document is read.
                let mut reader = XmlReader::new(xml);
                assert!(reader.enter_child()?);
                reader.skip()?;
                reader.enter_child().map(|_| String::new())
            });
            match error {
                Err(error) => assert!(error.message().contains(problem), "{xml}: {error}"),
                Ok(_) => panic!("{xml} was read"),
            }
        }
    }

    #[test]
    fn attributes_may_hold_markup_characters_and_nil_needs_its_namespace() {
        let xml = r#"<r xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns:j="urn:j">
            <a note="1 > 0" i:nil="true"/><b j:nil="true">kept</b><c i:nil='1'></c></r>"#;
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child().unwrap());
        let mut values = Vec::new();
        while reader.enter_child().unwrap() {
            values.push(reader.read_option::<String>(&mut false).unwrap());
        }
        assert_eq!(values, [None, Some("kept".to_owned()), None]);
    }

    /// Reads `xml` whole, as the conformance test does: every element's text or children,
    /// then what follows the root; and again skipping the root. Both must agree.
    fn read_whole(xml: &str) -> Result<(), ReadError> {
        fn element(reader: &mut XmlReader<'_>) -> Result<(), ReadError> {
            if reader.text_or_child()?.is_none() {
                element(reader)?;
                while reader.enter_child()? {
                    element(reader)?;
                }
            }
            Ok(())
        }
        let mut reader = XmlReader::new(xml);
        assert!(reader.enter_child()?, "{xml}: no root");
        element(&mut reader)?;
        let read = reader.enter_child();
        let mut reader = XmlReader::new(xml);
        let skipped = reader
            .enter_child()
            .and_then(|_| reader.skip())
            .and_then(|()| reader.enter_child());
        assert_eq!(
            read.is_ok(),
            skipped.is_ok(),
            "{xml}: {read:?} / {skipped:?}"
        );
        assert!(!read?, "{xml}: a second root was entered");
        Ok(())
    }

    #[test]
    fn what_xml_rejects_is_rejected_even_where_it_is_skipped() {
        let many: String = (0..33).map(|i| format!(" a{i}=\"{i}\"")).collect();
        let cases = [
            // Issue 10, section 3, in its order.
            ("<r><s>&#+67;</s></r>", "not a character"),
            ("<r><s>C\u{1}</s></r>", "character XML forbids"),
            ("<r><!-- a -- b --><s/></r>", "-- inside a comment"),
            ("<r><s>a ]]> b</s></r>", "]]> in character data"),
            ("<r><s a=\"&undefined;\"/></r>", "unknown entity"),
            ("<r xmlns:xmlns=\"urn:x\"/>", "xmlns prefix declared"),
            ("<r xmlns:xml=\"urn:x\"/>", "xml prefix bound"),
            (
                "<r xmlns:a=\"urn:x\" xmlns:b=\"urn:x\"><s a:v=\"1\" b:v=\"2\"/></r>",
                "appears twice",
            ),
            (" <?xml version=\"1.0\"?><r/>", "not at the very start"),
            (
                "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>",
                "contradicts",
            ),
            ("<?xml version=\"2.0\"?><r/>", "version"),
            // And their neighbours.
            ("<r><s>\u{FFFE}</s></r>", "character XML forbids"),
            ("<r><s\u{1}/></r>", "character XML forbids"),
            ("<r><!-- a ---></r>", "-- inside a comment"),
            ("<r><?xml version=\"1.0\"?></r>", "not at the very start"),
            ("<r><?XmL x?></r>", "not at the very start"),
            ("<r><?p:i x?></r>", "processing instruction target"),
            ("<r><?pi?x?></r>", "processing instruction target"),
            (
                "<r xmlns:p=\"http://www.w3.org/XML/1998/namespace\"/>",
                "XML namespace",
            ),
            (
                "<r xmlns=\"http://www.w3.org/XML/1998/namespace\"/>",
                "XML namespace",
            ),
            (
                "<r xmlns:p=\"http://www.w3.org/2000/xmlns/\"/>",
                "xmlns namespace",
            ),
            ("<r/><r/>", "a second root"),
            ("<r/>text", "text where"),
            ("<r a=\"&#x0;\"/>", "not a character"),
            ("<r><s>&#67</s></r>", "without its ;"),
            ("<r><a@b/></r>", "malformed"),
            ("<r><a b@c=\"1\"/></r>", "malformed"),
            ("<r><\u{B7}a/></r>", "malformed element name"),
            (
                "<r><a:\u{300}b xmlns:a=\"urn:a\"/></r>",
                "malformed element name",
            ),
        ];
        for (xml, problem) in cases {
            match read_whole(xml) {
                Err(error) => assert!(error.message().contains(problem), "{xml}: {error}"),
                Ok(()) => panic!("{xml} was read"),
            }
        }
        // The same problems inside a skipped header, as `soap::decode` skips it.
        for inside in [
            "&#+67;",
            "\u{1}",
            "<!-- -- -->",
            "]]>",
            "<h a=\"&x;\"/>",
            "<?xml ?>",
        ] {
            let xml = format!("<r><header>{inside}</header><s>C</s></r>");
            let mut reader = XmlReader::new(&xml);
            let skipped = reader
                .enter_child()
                .and_then(|_| reader.enter_child())
                .and_then(|_| reader.skip());
            assert!(skipped.is_err(), "{xml}: skipped");
        }

        let accepted = [
            "<r><s>&#x0000000043;</s></r>".to_owned(),
            "<r><s>&#0000000000067;</s></r>".to_owned(),
            format!("<r{many}/>"),
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<r/>\n<!-- after -->"
                .to_owned(),
            "<?xml version=\"1.0\" encoding=\"US-ASCII\"?><r/>".to_owned(),
            "<?xml-stylesheet href=\"a\"?><r><?pi?><?pi  data ?></r>".to_owned(),
            "<r><s>]] > ]>]</s><s><![CDATA[]]]]><![CDATA[>]]></s></r>".to_owned(),
            "<r xmlns:xml=\"http://www.w3.org/XML/1998/namespace\" xml:lang=\"en\"/>".to_owned(),
            "<r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><s a:v=\"1\" b:v=\"2\" v=\"3\"/></r>"
                .to_owned(),
            "<r><é\u{B7}x.y-z_9 a\u{300}=\"1\">\u{85}\u{7F}\u{FEFF}</é\u{B7}x.y-z_9></r>"
                .to_owned(),
            "<r><!----><!-- - --></r>".to_owned(),
        ];
        for xml in accepted {
            assert_eq!(read_whole(&xml), Ok(()), "{xml}");
        }
        let mut reader = XmlReader::new("<r><s>&#x0000000043;</s></r>");
        assert!(reader.enter_child().unwrap() && reader.enter_child().unwrap());
        assert_eq!(reader.text().unwrap(), "C");
    }

    #[test]
    fn attributes_are_bounded_and_checked_for_duplicates_beyond_the_inline_ones() {
        let attributes =
            |count: usize| -> String { (0..count).map(|i| format!(" a{i}=\"{i}\"")).collect() };
        assert_eq!(
            read_whole(&format!("<r{}/>", attributes(MAX_ATTRIBUTES))),
            Ok(())
        );
        let error = read_whole(&format!("<r{}/>", attributes(MAX_ATTRIBUTES + 1))).unwrap_err();
        assert!(error.message().contains("more than"), "{error}");
        let twice = format!("<r{} a40=\"again\"/>", attributes(50));
        let error = read_whole(&twice).unwrap_err();
        assert!(error.message().contains("a40 appears twice"), "{error}");
        // The spill of one tag does not linger into the next.
        let xml = format!("<r{}><s a40=\"1\" b=\"2\"/></r>", attributes(50));
        assert_eq!(read_whole(&xml), Ok(()));
    }
}
