//! Start tags: the element's name, its attributes (kept inline up to a bound, checked for
//! duplicates), and what they declare or say (namespaces, `xsi:nil`).

use std::borrow::Cow;

use memchr::{memchr2, memchr3};

use super::chars::scan_name;
use super::lexer::{Token, is_space, skip_space};
use super::scope::Binding;
use super::{INLINE_ATTRIBUTES, MAX_ATTRIBUTES, MAX_DEPTH, ReadError, XmlReader};

impl<'i> XmlReader<'i> {
    /// Reads a start tag: its attributes, the namespaces it declares, its own namespace, and
    /// whether it is nil. The element becomes the child just entered.
    pub(super) fn start_tag(&mut self) -> Result<Token<'i>, ReadError> {
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
        self.open[self.depth] = Some(qname);
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
                .flatten()
                .any(|(seen, _)| *seen == name)
            {
                return Err(self.error_at(at, format!("attribute {name} appears twice")));
            }
            self.attributes[count] = Some((name, value));
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

    /// The start tag's attributes, in the order written.
    pub(super) fn attribute_list(&self) -> impl Iterator<Item = &(&'i str, &'i str)> {
        let inline = self.attribute_count.min(INLINE_ATTRIBUTES);
        let more = match self.attribute_count > INLINE_ATTRIBUTES {
            true => &self.more_attributes[..],
            false => &[],
        };
        self.attributes[..inline].iter().flatten().chain(more)
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
}
