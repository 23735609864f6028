//! Escaping text for XML, once for the whole house: the envelope writer, the simulator's
//! answers and pages, the contract tools' cassettes and redactions, and the tests that look for
//! a secret in its escaped form all use these functions.
//!
//! The five markup characters become entities, which makes the text safe in element content
//! and in an attribute quoted either way, and in HTML too (`&#39;`, not XML's `&apos;`, which
//! HTML 4 lacks). A carriage return becomes `&#13;`: a reader turns a bare CR into LF, so a
//! value that holds one would not read back as written. In an attribute, a tab and a line feed
//! become entities too ([`escaped_attribute`]): a reader turns them into spaces there.

use std::borrow::Cow;

/// The bytes that are replaced, looked up rather than compared one by one: the scan runs over
/// every byte of every value the client writes.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// [`ESCAPED`], and the whitespace an attribute value loses to normalisation.
static ESCAPED_IN_ATTRIBUTE: [bool; 256] = {
    let mut table = ESCAPED;
    table[b'\t' as usize] = true;
    table[b'\n' as usize] = true;
    table
};

fn entity(byte: u8) -> &'static str {
    match byte {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        b'\'' => "&#39;",
        b'\t' => "&#9;",
        b'\n' => "&#10;",
        _ => "&#13;",
    }
}

/// Hands `push` the pieces of `text` escaped: runs of plain text whole, and an entity for each
/// byte that needs one. Every escaped byte is ASCII, so each piece is whole characters.
#[inline]
pub(crate) fn escape_with(text: &str, push: impl FnMut(&str)) {
    escape_by(&ESCAPED, text, push);
}

#[inline]
fn escape_by(table: &[bool; 256], text: &str, mut push: impl FnMut(&str)) {
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|b| table[usize::from(b)]) {
        push(&rest[..at]);
        push(entity(rest.as_bytes()[at]));
        rest = &rest[at + 1..];
    }
    push(rest);
}

/// Appends `text` to `out`, escaped.
pub fn push_escaped(out: &mut String, text: &str) {
    escape_with(text, |piece| out.push_str(piece));
}

/// `text` escaped; borrowed when nothing needed escaping, as most values do not.
///
/// ```
/// use instamed_soap::soap::escaped;
///
/// assert_eq!(escaped("Tom & Jerry's <list>"), "Tom &amp; Jerry&#39;s &lt;list&gt;");
/// assert_eq!(escaped("plain"), "plain");
/// ```
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| ESCAPED[usize::from(b)]) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(&mut out, text);
    Cow::Owned(out)
}

/// `text` escaped for an attribute value, quoted either way: tabs and line feeds as well.
pub fn escaped_attribute(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| ESCAPED_IN_ATTRIBUTE[usize::from(b)]) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    escape_by(&ESCAPED_IN_ATTRIBUTE, text, |piece| out.push_str(piece));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_and_a_carriage_return_become_entities() {
        assert_eq!(
            escaped("a&b<c>d\"e'f\rg"),
            "a&amp;b&lt;c&gt;d&quot;e&#39;f&#13;g"
        );
    }

    #[test]
    fn an_attribute_keeps_its_tabs_and_line_feeds() {
        assert_eq!(escaped("a\tb\nc"), "a\tb\nc");
        assert_eq!(escaped_attribute("a\tb\nc\"d"), "a&#9;b&#10;c&quot;d");
    }

    #[test]
    fn text_around_and_beyond_ascii_is_kept_whole() {
        assert_eq!(escaped("é&ü"), "é&amp;ü");
        assert!(matches!(escaped("no markup, é"), Cow::Borrowed(_)));
        let mut out = String::from(">");
        push_escaped(&mut out, "<");
        assert_eq!(out, ">&lt;");
    }
}
