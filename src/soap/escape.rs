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
    while let Some(at) = first_escaped(table, rest.as_bytes()) {
        push(&rest[..at]);
        push(entity(rest.as_bytes()[at]));
        rest = &rest[at + 1..];
    }
    push(rest);
}

/// Eight copies of one byte.
const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// Whether some byte of `word` is below `bound` (at most 0x80); exact as a yes or no, though
/// not as to which byte.
#[inline]
fn has_byte_below(word: u64, bound: u8) -> bool {
    word.wrapping_sub(splat(bound)) & !word & splat(0x80) != 0
}

/// Whether `word` may hold a byte either table escapes. Every such byte is below `(` (tab, line
/// feed, CR, `"`, `&`, `'`) or one of `<` and `>`; digits, letters, `/`, `:`, `.` and `-`, and
/// every byte of a non-ASCII character, are neither, so the text of a request passes eight
/// bytes at a time. A `=` or `?` is a false alarm, settled by the tables.
#[inline]
fn may_escape(word: u64) -> bool {
    // `<` to `?` (0x3C..=0x3F) become 0..=3 once 0x3C is taken off by exclusive or.
    has_byte_below(word, b'(') || has_byte_below(word ^ splat(b'<'), 4)
}

/// The offset of the first byte of `bytes` that `table` escapes: runs of eight bytes that
/// [`may_escape`] clears are passed whole, and only the others are looked up byte by byte.
#[inline]
fn first_escaped(table: &[bool; 256], bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if may_escape(u64::from_le_bytes(word)) {
            if let Some(n) = chunk.iter().position(|&b| table[usize::from(b)]) {
                return Some(at + n);
            }
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| table[usize::from(b)])
        .map(|n| at + n)
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
    if first_escaped(&ESCAPED, text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(&mut out, text);
    Cow::Owned(out)
}

/// `text` escaped for an attribute value, quoted either way: tabs and line feeds as well.
pub fn escaped_attribute(text: &str) -> Cow<'_, str> {
    if first_escaped(&ESCAPED_IN_ATTRIBUTE, text.as_bytes()).is_none() {
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

    /// The eight-byte pre-check never clears a word holding a byte either table escapes,
    /// wherever in the word it stands and whatever surrounds it (the carries of the
    /// subtraction included).
    #[test]
    fn the_word_check_never_clears_a_byte_that_is_escaped() {
        for byte in 0..=u8::MAX {
            if !ESCAPED_IN_ATTRIBUTE[usize::from(byte)] {
                continue;
            }
            for fill in [0x00, 0x01, 0x27, 0x28, 0x3B, 0x40, 0x7F, 0x80, 0xC3, 0xFF] {
                for place in 0..8 {
                    let mut word = [fill; 8];
                    word[place] = byte;
                    assert!(
                        may_escape(u64::from_le_bytes(word)),
                        "{byte:#x} in {word:x?}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// The first escaped byte is the one a byte-by-byte look-up finds, for both tables.
        #[test]
        fn the_first_escaped_byte_is_the_byte_by_byte_one(
            text in "(\\PC|[&<>\"'\r\n\t=?;(/:.0-9a-zA-Z]){0,40}",
        ) {
            for table in [&ESCAPED, &ESCAPED_IN_ATTRIBUTE] {
                let slow = text.bytes().position(|b| table[usize::from(b)]);
                proptest::prop_assert_eq!(first_escaped(table, text.as_bytes()), slow);
            }
        }
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
