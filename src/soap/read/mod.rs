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
//! What it accepts is XML 1.0 with namespaces, minus what SOAP forbids: a document type
//! declaration is an error (so no entity can be declared, let alone expanded), only the five
//! predefined entities and character references are read, nesting is capped, start and end tags
//! must match, an attribute may appear once per element and a prefix must be declared.
//! `xsi:nil="true"` reads as absent. Unknown child elements are skipped, so a field the service
//! adds later does not break older bindings. An element read into a single-valued field
//! ([`read`](XmlReader::read), [`read_option`](XmlReader::read_option)) may appear once per
//! parent: a second one (two `TransactionStatus`, two results) is an error, never a silent "last
//! one wins".

use std::borrow::Cow;
use std::fmt;

use memchr::{memchr, memchr2, memchr3};

/// Deepest element nesting read; SOAP answers are a dozen levels deep.
const MAX_DEPTH: usize = 64;
/// Most attributes on one element. SOAP elements carry a handful; the cap keeps the
/// duplicate check (quadratic, and cheaper than hashing at this size) bounded and lets the
/// attributes live in the reader rather than on the heap.
const MAX_ATTRIBUTES: usize = 32;
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace the `xml` prefix is bound to without a declaration.
const XML: &str = "http://www.w3.org/XML/1998/namespace";

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
    bindings: Vec<Binding<'i>>,
    /// The current start tag's attributes (name, value as written): the first
    /// `attribute_count` entries.
    attributes: [(&'i str, &'i str); MAX_ATTRIBUTES],
    attribute_count: usize,
    /// How many of them are not namespace declarations.
    plain_attributes: usize,
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
            bindings: Vec::new(),
            attributes: [("", ""); MAX_ATTRIBUTES],
            attribute_count: 0,
            plain_attributes: 0,
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
            if let Token::Eof = self.next_token()? {
                return Err(self.error("the document ends inside an element"));
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
        if !closes {
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
                Some(b'?') => self.pass_over(at, 2, "?>", "a processing instruction")?,
                Some(b'!') => {
                    let rest = &bytes[at..];
                    if rest.starts_with(b"<!--") {
                        self.pass_over(at, 4, "-->", "a comment")?;
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

    /// Passes over markup that opens at `at` (`skip` bytes long) and ends with `close`.
    fn pass_over(
        &mut self,
        at: usize,
        skip: usize,
        close: &str,
        what: &str,
    ) -> Result<(), ReadError> {
        let end = self.find(at + skip, close, what)?;
        self.position = end + close.len();
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
            let (end, _) = scan_name(bytes, at + 2);
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
        let depth = self.depth + 1;
        let (name_end, colon) = scan_name(bytes, at + 1);
        let qname = &self.document[at + 1..name_end];
        if !is_qname(qname, colon) {
            return Err(self.error_at(at, "a malformed element name"));
        }
        // Most elements have no attribute: `<a>` and `<a/>` skip the attribute reader.
        self.attribute_count = 0;
        self.plain_attributes = 0;
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
        // Namespace declarations cannot say nil, nor carry an undeclared prefix.
        self.child_nil = self.plain_attributes > 0 && self.has_nil(at)?;
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
        let (name_end, colon) = scan_name(bytes, at);
        let name = &self.document[at..name_end];
        let equals = skip_space(bytes, name_end);
        let quote_at = skip_space(bytes, equals + 1);
        let quote = bytes.get(quote_at).copied();
        if !is_qname(name, colon)
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

        let count = self.attribute_count;
        if count >= MAX_ATTRIBUTES {
            return Err(self.error_at(at, format!("more than {MAX_ATTRIBUTES} attributes")));
        }
        if self.attributes[..count]
            .iter()
            .any(|(seen, _)| *seen == name)
        {
            return Err(self.error_at(at, format!("attribute {name} appears twice")));
        }
        self.attributes[count] = (name, value);
        self.attribute_count = count + 1;

        let declared = match name.strip_prefix("xmlns") {
            Some("") => Some(""),
            Some(prefix) => prefix.strip_prefix(':'),
            None => None,
        };
        if let Some(prefix) = declared {
            let uri = match references {
                true => self.unescape(value)?,
                false => Cow::Borrowed(value),
            };
            if !prefix.is_empty() && uri.is_empty() {
                return Err(self.error_at(at, format!("prefix {prefix:?} bound to no namespace")));
            }
            self.bindings.push(Binding { prefix, uri, depth });
        } else {
            self.plain_attributes += 1;
        }
        Ok(value_end + 1)
    }

    /// Whether the start tag's attributes (already read) say `xsi:nil="true"`; an attribute
    /// with an undeclared prefix is an error.
    fn has_nil(&self, at: usize) -> Result<bool, ReadError> {
        let mut nil = false;
        for (name, value) in &self.attributes[..self.attribute_count] {
            let Some((prefix, local)) = name.split_once(':') else {
                continue;
            };
            if prefix == "xmlns" {
                continue;
            }
            let Some(namespace) = self.lookup(prefix) else {
                return Err(self.error_at(at, format!("undeclared namespace prefix {prefix:?}")));
            };
            if local == "nil" && namespace == XSI && matches!(*value, "true" | "1") {
                nil = true;
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

    /// Character data with its references resolved and its line ends normalised to `\n`.
    fn unescape(&self, raw: &'i str) -> Result<Cow<'i, str>, ReadError> {
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
                    let end = memchr(b';', &bytes[at..])
                        .filter(|&n| n <= 12)
                        .ok_or_else(|| self.error("an entity reference without its ;"))?;
                    let name = &raw[at + 1..at + end];
                    let character = reference(name)
                        .ok_or_else(|| self.error(format!("unknown entity &{name};")))?;
                    out.push(character);
                    at += end + 1;
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

/// The character a reference names: one of XML's five entities, or `#N` / `#xH` for a
/// character XML allows.
fn reference(name: &str) -> Option<char> {
    let code = match name {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        _ => match name.strip_prefix('#')? {
            hex if hex.starts_with('x') => u32::from_str_radix(&hex[1..], 16).ok()?,
            decimal => decimal.parse().ok()?,
        },
    };
    let allowed =
        matches!(code, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF);
    allowed.then(|| char::from_u32(code)).flatten()
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

/// How a byte reads inside a name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameByte {
    Part,
    Colon,
    /// White space, markup delimiters, and whatever ends a name.
    Stop,
}

/// [`NameByte`] of every byte, so that a name is scanned with one lookup per byte. Bytes of
/// non-ASCII characters are name parts; names are compared, not classified, so the finer rules
/// on which letters may be in a name are not checked.
static NAME_BYTES: [NameByte; 256] = {
    let mut table = [NameByte::Part; 256];
    let stops = b" \t\r\n<>&\"'=/!?";
    let mut i = 0;
    while i < stops.len() {
        table[stops[i] as usize] = NameByte::Stop;
        i += 1;
    }
    table[b':' as usize] = NameByte::Colon;
    table
};

/// Where the name that starts at `at` ends, and the offset of its first colon within it.
fn scan_name(bytes: &[u8], at: usize) -> (usize, Option<usize>) {
    let rest = bytes.get(at..).unwrap_or_default();
    // Up to the first byte that is not a name part; past it only if that is a colon, to the
    // first stop (a second colon stays inside, for `is_qname` to refuse).
    let first = run_until(rest, |class| class != NameByte::Part);
    if rest.get(first) != Some(&b':') {
        return (at + first, None);
    }
    let after = first + 1;
    let end = after + run_until(&rest[after..], |class| class == NameByte::Stop);
    (at + end, Some(first))
}

/// How many bytes at the start of `rest` come before the first whose class `ends` the run.
///
/// Every byte from 0x40 up is a name part (all delimiters, and the colon, are below it), and
/// names are mostly letters: eight bytes are checked at once, and only a byte below 0x40 is
/// looked up in [`NAME_BYTES`].
#[inline]
fn run_until(rest: &[u8], ends: impl Fn(NameByte) -> bool) -> usize {
    const TOP_BITS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = rest.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // The top bit of each byte below 0x40: neither of its two high bits is set.
        let low = !(word | (word << 1)) & TOP_BITS;
        if low == 0 {
            at += 8;
            continue;
        }
        let next = at + (low.trailing_zeros() / 8) as usize;
        if ends(NAME_BYTES[usize::from(rest[next])]) {
            return next;
        }
        at = next + 1;
    }
    let tail = rest.get(at..).unwrap_or_default();
    at + tail
        .iter()
        .position(|&b| ends(NAME_BYTES[usize::from(b)]))
        .unwrap_or(tail.len())
}

/// Whether a name [`scan_name`] found can be a qualified name: not empty, not starting like a
/// number, and at most one colon with something on both sides.
fn is_qname(name: &str, colon: Option<usize>) -> bool {
    let starts_well = name
        .bytes()
        .next()
        .is_some_and(|b| !b.is_ascii_digit() && !matches!(b, b'-' | b'.' | b':'));
    starts_well
        && colon.is_none_or(|colon| {
            let local = &name[colon + 1..];
            !local.is_empty() && !local.contains(':')
        })
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
            ("<r><a>C\u{b}</a></r>", "C"),
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
            ("<r><a>&#0;</a></r>", "unknown entity"),
            ("<r><a>&#xD800;</a></r>", "unknown entity"),
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

    /// `scan_name` as it reads, one byte at a time.
    fn scan_name_bytewise(bytes: &[u8], at: usize) -> (usize, Option<usize>) {
        let rest = &bytes[at..];
        let class = |b: &u8| NAME_BYTES[usize::from(*b)];
        let first = rest
            .iter()
            .position(|b| class(b) != NameByte::Part)
            .unwrap_or(rest.len());
        if rest.get(first) != Some(&b':') {
            return (at + first, None);
        }
        let end = rest
            .iter()
            .position(|b| class(b) == NameByte::Stop)
            .unwrap_or(rest.len());
        (at + end, Some(first))
    }

    #[test]
    fn names_are_scanned_eight_bytes_at_a_time_as_they_are_one_at_a_time() {
        // The fast path rests on this: every byte from 0x40 up is a name part.
        assert!((0x40..=0xFF).all(|b: usize| NAME_BYTES[b] == NameByte::Part));
        // Every delimiter, a colon and a digit (a part below 0x40) at every offset of names
        // around the eight-byte boundaries, from every start.
        for length in 0..26 {
            for special in [b' ', b'>', b'/', b'=', b':', b'7', b'-', b'<', b'\n', b'?'] {
                for place in 0..=length {
                    let mut name: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
                    name.insert(place, special);
                    name.extend_from_slice(b"Tail:x>rest");
                    for at in 0..name.len() {
                        assert_eq!(
                            scan_name(&name, at),
                            scan_name_bytewise(&name, at),
                            "{:?} from {at}",
                            String::from_utf8_lossy(&name)
                        );
                    }
                }
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
}
