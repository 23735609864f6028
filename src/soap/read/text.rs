//! Character data: a field's text read off the document, references resolved, line ends and
//! attribute white space normalised, and text passed over still checked. What a reference may
//! be is `reference`'s, which characters may appear at all is `chars`'.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memchr3, memmem};

use super::lexer::is_space;
use super::{ReadError, XmlReader, reference};
use crate::domain::trimmed;

impl<'i> XmlReader<'i> {
    /// The usual leaf, `<a>text</a>` with no reference, comment or CDATA in the text, read
    /// straight off the document; `None` (nothing consumed) for anything else.
    #[inline]
    pub(super) fn plain_text(&mut self) -> Option<&'i str> {
        if self.empty_pending {
            return None;
        }
        let open = self
            .open
            .get(self.depth.checked_sub(1)?)
            .copied()
            .flatten()?;
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
        Some(trimmed(&self.document[at..end]))
    }

    /// Reads the reference at the start of `text` into its character and length.
    fn reference(&self, text: &str) -> Result<(char, usize), ReadError> {
        reference::read(text).map_err(|(problem, length)| {
            let written = text.get(..length).unwrap_or("&");
            self.error(problem.describe(written))
        })
    }

    /// Checks every reference in `raw` without resolving it.
    pub(super) fn check_references(&self, raw: &str) -> Result<(), ReadError> {
        let mut at = 0;
        while let Some(found) = memchr(b'&', &raw.as_bytes()[at..]) {
            let (_, length) = self.reference(&raw[at + found..])?;
            at += found + length;
        }
        Ok(())
    }

    /// Checks character data passed over: its references, and no `]]>` in it.
    pub(super) fn check_text(&self, raw: &str) -> Result<(), ReadError> {
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
    pub(super) fn attribute_value(&self, raw: &'i str) -> Result<Cow<'i, str>, ReadError> {
        let bytes = raw.as_bytes();
        // The usual value has none: one pass without an early exit, which the compiler
        // vectorises (below 0x20 only tab, LF and CR get past the character survey).
        if !bytes
            .iter()
            .fold(false, |seen, &b| seen | (b == b'&') | (b < 0x20))
        {
            return Ok(Cow::Borrowed(raw));
        }
        let Some(first) = Normalise::Attribute.next(bytes, 0) else {
            return Ok(Cow::Borrowed(raw));
        };
        self.normalise(raw, first, Normalise::Attribute)
            .map(Cow::Owned)
    }

    /// Character data with its references resolved and its line ends normalised to `\n`.
    pub(super) fn unescape(&self, raw: &'i str) -> Result<Cow<'i, str>, ReadError> {
        self.check_brackets(raw)?;
        let Some(first) = Normalise::Text.next(raw.as_bytes(), 0) else {
            return Ok(Cow::Borrowed(raw));
        };
        self.normalise(raw, first, Normalise::Text).map(Cow::Owned)
    }

    /// `raw` with its references resolved and its white space made what `how` says, from
    /// `first`, the first byte that changes: text and attribute values differ only in that.
    fn normalise(&self, raw: &str, first: usize, how: Normalise) -> Result<String, ReadError> {
        let bytes = raw.as_bytes();
        let line_end = match how {
            Normalise::Text => '\n',
            Normalise::Attribute => ' ',
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
                    out.push(line_end);
                    at += 1;
                    if bytes.get(at) == Some(&b'\n') {
                        at += 1;
                    }
                }
                b'\t' | b'\n' if how == Normalise::Attribute => {
                    out.push(' ');
                    at += 1;
                }
                _ => {
                    let end = how.next(bytes, at).unwrap_or(bytes.len());
                    out.push_str(&raw[at..end]);
                    at = end;
                }
            }
        }
        Ok(out)
    }
}

/// What becomes of character data once read, besides its references being resolved (XML 1.0,
/// sections 2.11 and 3.3.3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Normalise {
    /// Text: a line end (CR LF, or a CR alone) becomes `\n`.
    Text,
    /// An attribute value: a line end, a tab or an LF becomes a space.
    Attribute,
}

impl Normalise {
    /// Where the next byte this normalisation changes stands, from `at`.
    fn next(self, bytes: &[u8], at: usize) -> Option<usize> {
        let rest = &bytes[at..];
        let found = match self {
            Self::Text => memchr2(b'&', b'\r', rest),
            Self::Attribute => rest
                .iter()
                .position(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r')),
        };
        found.map(|n| at + n)
    }
}

/// A field's text, gathered from the pieces comments and CDATA sections split it into. One
/// piece, the usual case, is borrowed until the end.
#[derive(Default)]
pub(super) struct Text<'i> {
    text: Option<Cow<'i, str>>,
}

impl<'i> Text<'i> {
    pub(super) fn push(&mut self, piece: Cow<'i, str>) {
        match &mut self.text {
            None => self.text = Some(piece),
            Some(text) => text.to_mut().push_str(&piece),
        }
    }

    /// The text with surrounding white space trimmed, still borrowed if it was one piece.
    pub(super) fn finish(self) -> Cow<'i, str> {
        match self.text {
            None => Cow::Borrowed(""),
            Some(Cow::Borrowed(text)) => Cow::Borrowed(trimmed(text)),
            Some(Cow::Owned(text)) if trimmed(&text).len() == text.len() => Cow::Owned(text),
            Some(Cow::Owned(text)) => Cow::Owned(trimmed(&text).to_owned()),
        }
    }
}

pub(super) fn is_blank(text: &str) -> bool {
    text.bytes().all(is_space)
}
