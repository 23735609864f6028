//! The document as a stream of tokens: start tags (read by `tag`), end tags, text and CDATA
//! sections, with comments, processing instructions and the XML declaration checked and passed
//! over.

use memchr::{memchr, memmem};

use super::chars::{self, scan_name};
use super::{ReadError, XmlReader, decl};

/// What the next piece of the document is. A start tag's name and namespace are left in the
/// reader's `child_*` fields.
pub(super) enum Token<'i> {
    Start,
    End,
    /// Character data as written, references not yet resolved.
    Text(&'i str),
    /// The inside of a CDATA section, taken literally.
    CData(&'i str),
    Eof,
}

impl<'i> XmlReader<'i> {
    /// Checks what comes before any token: that every character is one XML allows, and the
    /// XML declaration if there is one. Runs once, before the first token.
    #[cold]
    #[inline(never)]
    pub(super) fn start(&mut self) -> Result<(), ReadError> {
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

    /// The next start tag, end tag or run of text, passing over comments, processing
    /// instructions and the XML declaration.
    pub(super) fn next_token(&mut self) -> Result<Token<'i>, ReadError> {
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
    pub(super) fn end_tag(&mut self) -> Result<Token<'i>, ReadError> {
        let bytes = self.document.as_bytes();
        let at = self.position;
        let Some(open) =
            (self.depth.checked_sub(1)).and_then(|i| self.open.get(i).copied().flatten())
        else {
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
    pub(super) fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

pub(super) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).copied().is_some_and(is_space) {
        at += 1;
    }
    at
}
