//! Card numbers found in text however they are written.
//!
//! A card number (PAN) is 13 to 19 digits passing the Luhn check. People and systems write
//! it in groups of any size: `4111 1111 1111 1111`, `3400 000000 00009`, with tabs, no-break
//! spaces, two spaces, dots, dashes, slashes, underscores or `+` between the groups (up to
//! [`MAX_SEPARATORS`] of them), and a recording holds each digit or separator as written,
//! percent-encoded (`%34`, `%20`, `%C2%A0`), as an XML character reference (`&#52;`,
//! `&#x34;`, `&nbsp;`) or as a JSON escape (`\u0034`, `\t`, `\/`).
//!
//! What stands beside a number does not hide it: `card_4111111111111111` and
//! `x4111111111111111y` are redacted. One thing does: a run of digits inside a hex identifier
//! (`887BFFC901103101744246852F5EC81D`, a GUID) belongs to that identifier, which comes back
//! whole. A transaction ID that came back redacted would name another payment.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use super::REDACTED;

/// Card numbers are 13 to 19 digits long.
const CARD_DIGITS: RangeInclusive<usize> = 13..=19;

/// At most this many separators between two groups of one number (`4111 - 1111`, two spaces).
const MAX_SEPARATORS: usize = 3;

/// Longest character reference read (`&#x0000034;`): a longer one is read as text, so that a
/// stray `&` costs a bounded look ahead.
const LONGEST_REFERENCE: usize = 12;

/// One unit of text: a digit, a separator, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Digit(u8),
    Separator,
    Other,
}

/// What a code point is to a card number.
fn of_code(code: u32) -> Unit {
    match code {
        0x30..=0x39 => Unit::Digit((code - 0x30) as u8),
        // Space, tab, `+`, `-`, `.`, `/`, `_`, no-break space, figure, thin and narrow no-break
        // spaces.
        0x20 | 0x09 | 0x2B | 0x2D | 0x2E | 0x2F | 0x5F | 0xA0 | 0x2007 | 0x2009 | 0x202F => {
            Unit::Separator
        }
        _ => Unit::Other,
    }
}

/// The unit at `at` (which is below `bytes.len()` and on a character boundary) and its length.
fn unit(bytes: &[u8], at: usize) -> (Unit, usize) {
    let first = bytes[at];
    // A GUID is one word, whatever digits it holds.
    if first.is_ascii_hexdigit() && guid_at(bytes, at) {
        return (Unit::Other, GUID_LEN);
    }
    match first {
        b'0'..=b'9' => return (Unit::Digit(first - b'0'), 1),
        b' ' | b'\t' | b'+' | b'-' | b'.' | b'/' | b'_' => return (Unit::Separator, 1),
        b'%' => {
            if let Some(found) = percent_encoded(bytes, at) {
                return found;
            }
        }
        b'&' => {
            if let Some(found) = reference(bytes, at) {
                return found;
            }
        }
        b'\\' => {
            if let Some(found) = json_escape(bytes, at) {
                return found;
            }
        }
        0x80.. => {
            let len = utf8_len(first).min(bytes.len() - at);
            let code = std::str::from_utf8(&bytes[at..at + len])
                .ok()
                .and_then(|c| c.chars().next())
                .map_or(0, u32::from);
            return (of_code(code), len);
        }
        _ => {}
    }
    (Unit::Other, 1)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|value| value as u8)
}

/// The byte a `%HH` at `at` stands for.
fn percent_byte(bytes: &[u8], at: usize) -> Option<u8> {
    if bytes.get(at) != Some(&b'%') {
        return None;
    }
    let high = hex_value(*bytes.get(at + 1)?)?;
    let low = hex_value(*bytes.get(at + 2)?)?;
    Some(high << 4 | low)
}

/// A percent-encoded character at `at`: one `%HH`, or the two or three of a UTF-8 space.
fn percent_encoded(bytes: &[u8], at: usize) -> Option<(Unit, usize)> {
    let first = percent_byte(bytes, at)?;
    let len = utf8_len(first);
    if first.is_ascii() || !(2..=3).contains(&len) {
        return Some((of_code(u32::from(first)), 3));
    }
    let mut encoded = [first, 0, 0];
    for (n, byte) in encoded.iter_mut().enumerate().take(len).skip(1) {
        match percent_byte(bytes, at + 3 * n) {
            Some(next) => *byte = next,
            None => return Some((Unit::Other, 3)),
        }
    }
    let code = std::str::from_utf8(&encoded[..len])
        .ok()
        .and_then(|c| c.chars().next())
        .map_or(0, u32::from);
    Some((of_code(code), 3 * len))
}

/// A numeric character reference (`&#52;`, `&#x34;`) or `&nbsp;` at `at`.
fn reference(bytes: &[u8], at: usize) -> Option<(Unit, usize)> {
    let window = &bytes[at..bytes.len().min(at + LONGEST_REFERENCE)];
    let end = window.iter().position(|&b| b == b';')?;
    let name = &window[1..end];
    if name == b"nbsp" {
        return Some((Unit::Separator, end + 1));
    }
    let number = name.strip_prefix(b"#")?;
    let (digits, radix) = match number.first()? {
        b'x' | b'X' => (&number[1..], 16),
        _ => (number, 10),
    };
    if digits.is_empty() || !digits.iter().all(|&b| (b as char).is_digit(radix)) {
        return None;
    }
    let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
    Some((of_code(code), end + 1))
}

/// A JSON escape at `at`: `\uXXXX`, `\t` and `\/` may be digits or separators; any other
/// escape is one unit, so that `\\u0034` is a backslash and text.
fn json_escape(bytes: &[u8], at: usize) -> Option<(Unit, usize)> {
    match bytes.get(at + 1)? {
        b't' | b'/' => Some((Unit::Separator, 2)),
        b'u' => {
            let hex = bytes.get(at + 2..at + 6)?;
            let code = hex
                .iter()
                .try_fold(0u32, |code, &b| Some(code << 4 | u32::from(hex_value(b)?)))?;
            Some((of_code(code), 6))
        }
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' => Some((Unit::Other, 2)),
        _ => None,
    }
}

/// Whether a GUID (`8-4-4-4-12` hex digits) starts at `at` and stands alone.
fn guid_at(bytes: &[u8], at: usize) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let joined = |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-');
    // The first dash is where most words that are no GUID show it.
    if bytes.get(at + 8) != Some(&b'-') || (at > 0 && joined(bytes.get(at - 1))) {
        return false;
    }
    let mut p = at;
    for (n, digits) in SHAPE.into_iter().enumerate() {
        if n > 0 {
            if bytes.get(p) != Some(&b'-') {
                return false;
            }
            p += 1;
        }
        for _ in 0..digits {
            if !bytes.get(p).is_some_and(u8::is_ascii_hexdigit) {
                return false;
            }
            p += 1;
        }
    }
    !joined(bytes.get(p))
}

/// Length of a GUID in bytes.
const GUID_LEN: usize = 36;

/// The last run of ASCII letters and digits looked at, and where its first and last letters
/// past `f` are: the groups of one long token share it, which keeps the sweep linear.
#[derive(Default)]
struct Word {
    start: usize,
    end: usize,
    /// The first and the last byte that is no hex digit, if any.
    not_hex: Option<(usize, usize)>,
}

impl Word {
    /// The run of letters and digits holding `bytes[at]` (which is one).
    fn at(&mut self, bytes: &[u8], at: usize) -> &Self {
        if !(self.start..self.end).contains(&at) {
            let mut start = at;
            while start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                start -= 1;
            }
            let mut end = at;
            while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
                end += 1;
            }
            let not_hex = |b: &u8| !b.is_ascii_hexdigit();
            let first = bytes[start..end].iter().position(not_hex);
            let last = bytes[start..end].iter().rposition(not_hex);
            let not_hex = first.zip(last).map(|(f, l)| (start + f, start + l));
            *self = Self {
                start,
                end,
                not_hex,
            };
        }
        self
    }

    /// Whether the digits at `start..end` sit in a hex identifier: the letters and digits
    /// written just before and just after them are all hex digits.
    fn hex_around(&mut self, bytes: &[u8], start: usize, end: usize) -> bool {
        let alphanumeric = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphanumeric);
        let before = start == 0
            || !alphanumeric(start - 1)
            || self
                .at(bytes, start - 1)
                .not_hex
                .is_none_or(|(first, _)| first >= start);
        before
            && (!alphanumeric(end)
                || self
                    .at(bytes, end)
                    .not_hex
                    .is_none_or(|(_, last)| last < end))
    }
}

/// A run of digit groups joined by separators, being read.
#[derive(Default)]
struct Sequence {
    /// The digits of every group, in order.
    digits: Vec<u8>,
    /// Each group's byte range and where its digits start in `digits`.
    groups: Vec<(usize, usize, usize)>,
    /// Separators read since the last group.
    separators: usize,
}

impl Sequence {
    /// Adds to `cuts` the card numbers read, and starts again.
    fn flush(&mut self, cuts: &mut Vec<(usize, usize)>) {
        if self.groups.is_empty() {
            return;
        }
        self.windows(cuts);
        self.digits.clear();
        self.groups.clear();
        self.separators = 0;
    }

    /// Adds to `cuts` the byte range of every run of whole groups that is a card number. A
    /// window stops growing past 19 digits, so the work is linear.
    fn windows(&self, cuts: &mut Vec<(usize, usize)>) {
        let groups = &self.groups;
        for first in 0..groups.len() {
            let from = groups[first].2;
            for last in first..groups.len() {
                let to = groups.get(last + 1).map_or(self.digits.len(), |g| g.2);
                let count = to - from;
                if count > *CARD_DIGITS.end() {
                    break;
                }
                if CARD_DIGITS.contains(&count) && luhn_digits(&self.digits[from..to]) {
                    cuts.push((groups[first].0, groups[last].1));
                }
            }
        }
    }
}

/// `text` with every card number replaced by [`REDACTED`] (borrowed when it holds none).
pub fn redact_cards(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    // Every spelling of a digit holds an ASCII digit (`4`, `%34`, `&#52;`, `\u0034`): a text
    // with fewer than 13 holds no card, and most texts (a status, a code, a short ID) are such.
    // Shorter than 13 bytes, it cannot hold 13 digits: not even counted.
    if bytes.len() < *CARD_DIGITS.start() {
        return Cow::Borrowed(text);
    }
    let (digits, hex_word) = digits_and_hex_word(bytes);
    if digits < *CARD_DIGITS.start() {
        return Cow::Borrowed(text);
    }
    // A text that is one hex identifier (a transaction ID, a GUID) comes back whole: every
    // group of digits in it is glued to one of its letters.
    if hex_word || (bytes.len() == GUID_LEN && guid_at(bytes, 0)) {
        return Cow::Borrowed(text);
    }
    let cuts = cuts(bytes);
    if cuts.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(replaced(text, cuts))
}

/// How many ASCII digits `bytes` holds, and whether it is one hex word (hex digits only, a
/// letter among them). The receipt's transaction ID is such a text on every void, so this is
/// written for the compiler to vectorise: no early exit, and a byte-wide count per 128 bytes,
/// which cannot overflow.
fn digits_and_hex_word(bytes: &[u8]) -> (usize, bool) {
    let mut digits = 0;
    let (mut not_hex, mut letters) = (0u8, 0u8);
    for chunk in bytes.chunks(128) {
        let mut count = 0u8;
        for &byte in chunk {
            let digit = byte.wrapping_sub(b'0') < 10;
            // Folded to lower case, a letter is 0..26 past `a`, and a hex letter 0..6.
            let letter = (byte | 0x20).wrapping_sub(b'a');
            count += u8::from(digit);
            not_hex |= u8::from(!digit & (letter >= 6));
            letters |= u8::from(letter < 26);
        }
        digits += usize::from(count);
    }
    (digits, not_hex == 0 && letters != 0)
}

/// Whether a digit (as written or encoded) or a GUID may start at `at`: never inside a
/// character, so the bytes skipped before it are whole characters.
#[inline]
fn may_start(bytes: &[u8], at: usize) -> bool {
    match START[usize::from(bytes[at])] {
        ALWAYS => true,
        HEX_LETTER => at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'-'),
        _ => false,
    }
}

const NEVER: u8 = 0;
const ALWAYS: u8 = 1;
const HEX_LETTER: u8 = 2;

/// What each byte may start: a digit or an escape always, a hex letter a GUID at a word's
/// start.
static START: [u8; 256] = {
    let mut table = [NEVER; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'0'..=b'9' | b'%' | b'&' | b'\\' => ALWAYS,
            b'a'..=b'f' | b'A'..=b'F' => HEX_LETTER,
            _ => NEVER,
        };
        byte += 1;
    }
    table
};

/// The byte ranges of the card numbers in `bytes`, in order of their starts.
fn cuts(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut cuts = Vec::new();
    let mut sequence = Sequence::default();
    let mut word = Word::default();
    let mut at = 0;
    while at < bytes.len() {
        if sequence.groups.is_empty() {
            // Nothing read yet: what precedes the next digit or GUID changes nothing.
            while at < bytes.len() && !may_start(bytes, at) {
                at += 1;
            }
            if at == bytes.len() {
                break;
            }
        }
        let (kind, len) = unit(bytes, at);
        match kind {
            Unit::Digit(_) => {
                let joined = !sequence.groups.is_empty()
                    && (1..=MAX_SEPARATORS).contains(&sequence.separators);
                if !joined {
                    sequence.flush(&mut cuts);
                }
                let start = at;
                let from = sequence.digits.len();
                while at < bytes.len() {
                    // A digit after a digit as written is a digit: no GUID starts there.
                    if at > start && bytes[at].is_ascii_digit() && bytes[at - 1].is_ascii_digit() {
                        sequence.digits.push(bytes[at] - b'0');
                        at += 1;
                        continue;
                    }
                    match unit(bytes, at) {
                        (Unit::Digit(digit), len) => {
                            sequence.digits.push(digit);
                            at += len;
                        }
                        _ => break,
                    }
                }
                let glued = (start > 0 && bytes[start - 1].is_ascii_alphabetic())
                    || bytes.get(at).is_some_and(u8::is_ascii_alphabetic);
                if glued && word.hex_around(bytes, start, at) {
                    // Part of an identifier: neither a card nor a link between two groups.
                    sequence.digits.truncate(from);
                    sequence.flush(&mut cuts);
                    // So are the identifier's other groups when it is all hex digits, unless
                    // its last one goes on in encoded digits: the rest of it is skipped.
                    if at < word.end
                        && word.not_hex.is_none()
                        && !matches!(bytes.get(word.end), Some(b'%' | b'&' | b'\\'))
                    {
                        at = word.end;
                    }
                    continue;
                }
                sequence.groups.push((start, at, from));
                sequence.separators = 0;
            }
            Unit::Separator => {
                if !sequence.groups.is_empty() {
                    sequence.separators += 1;
                    if sequence.separators > MAX_SEPARATORS {
                        sequence.flush(&mut cuts);
                    }
                }
                at += len;
            }
            Unit::Other => {
                sequence.flush(&mut cuts);
                at += len;
            }
        }
    }
    sequence.flush(&mut cuts);
    cuts
}

/// `text` with the byte ranges `cuts` (in order of their starts; overlapping ones merge)
/// replaced by [`REDACTED`].
fn replaced(text: &str, cuts: Vec<(usize, usize)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in cuts {
        if end <= copied {
            continue;
        }
        if start >= copied {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The Luhn check over digit values (0 to 9).
fn luhn_digits(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (position, &digit) in digits.iter().rev().enumerate() {
        let mut value = u32::from(digit);
        if position % 2 == 1 {
            value *= 2;
            if value > 9 {
                value -= 9;
            }
        }
        sum += value;
    }
    sum % 10 == 0
}

/// Whether `digits` (ASCII digits only, anything else is `false`) pass the Luhn check that
/// card numbers carry.
pub fn luhn(digits: &str) -> bool {
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && luhn_digits(&digits.bytes().map(|b| b - b'0').collect::<Vec<_>>())
}

/// `text` cut short without the digits and separators that hang at its end: a card number a
/// cut splits is too short to be recognised as one, so its first digits go with the rest.
pub(crate) fn trim_hanging_digits(text: &str) -> &str {
    let bytes = text.as_bytes();
    // Read forwards, as the sweep reads: a unit read backwards (`%20` ends in a digit) may be
    // something else.
    let mut tail = 0;
    let mut at = 0;
    while at < bytes.len() {
        let (kind, len) = unit(bytes, at);
        at += len;
        if kind == Unit::Other {
            tail = at;
        }
    }
    &text[..tail.min(text.len())]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Test cards of each length and brand, all Luhn-valid.
    const CARDS: [&str; 5] = [
        "4111111111111111",    // Visa, 16
        "340000000000009",     // American Express, 15
        "4222222222222",       // Visa, 13
        "6011000000000004",    // Discover, 16
        "6304000000000000018", // Maestro, 19
    ];

    #[test]
    fn every_spelling_of_a_digit_or_a_separator_is_read_as_one() {
        let digits = ["4", "%34", "&#52;", "&#x34;", "&#X34;", "&#052;", "\\u0034"];
        for spelled in digits {
            assert_eq!(
                unit(spelled.as_bytes(), 0),
                (Unit::Digit(4), spelled.len()),
                "{spelled}"
            );
        }
        let separators = [
            " ",
            "\t",
            "+",
            "-",
            ".",
            "/",
            "_",
            "\u{a0}",
            "\u{2007}",
            "\u{2009}",
            "\u{202f}",
            "%20",
            "%09",
            "%2B",
            "%2b",
            "%2D",
            "%2E",
            "%2F",
            "%2f",
            "%5F",
            "%C2%A0",
            "%c2%a0",
            "%E2%80%AF",
            "&#32;",
            "&#x20;",
            "&#9;",
            "&#45;",
            "&#46;",
            "&#47;",
            "&#95;",
            "&#160;",
            "&#xA0;",
            "&nbsp;",
            "\\t",
            "\\/",
            "\\u0020",
            "\\u00a0",
            "\\u00A0",
            "\\u002d",
            "\\u202f",
        ];
        for spelled in separators {
            assert_eq!(
                unit(spelled.as_bytes(), 0),
                (Unit::Separator, spelled.len()),
                "{spelled}"
            );
        }
        for (other, len) in [
            ("%41", 3),
            ("%zz", 1),
            ("&amp;", 1),
            ("&#65;", 5),
            ("&#;", 1),
            ("\\\\", 2),
            ("\\n", 2),
            ("\\u0041", 6),
            ("\\x", 1),
            ("é", 2),
            ("a", 1),
            ("12345678-1234-1234-1234-123456789012", 36),
        ] {
            assert_eq!(unit(other.as_bytes(), 0), (Unit::Other, len), "{other}");
        }
    }

    /// Every way a person or a system groups the digits of `card`.
    fn groupings(card: &str) -> Vec<String> {
        let group = |sizes: &[usize], separator: &str| {
            let mut out = Vec::new();
            let mut at = 0;
            for size in sizes {
                let end = (at + size).min(card.len());
                if at < end {
                    out.push(&card[at..end]);
                }
                at = end;
            }
            if at < card.len() {
                out.push(&card[at..]);
            }
            out.join(separator)
        };
        let mut written = vec![card.to_owned()];
        for separator in [
            " ", "  ", "\t", "\u{a0}", "\u{202f}", ".", "-", " - ", "/", "_", "+", "%20", "%C2%A0",
            "&#32;", "&nbsp;", "\\t", "\\u0020",
        ] {
            written.push(group(&[4, 4, 4, 4], separator));
            written.push(group(&[4, 6, 5], separator));
        }
        let percent: String = card.bytes().map(|b| format!("%{b:02X}")).collect();
        let references: String = card.bytes().map(|b| format!("&#{b};")).collect();
        let json: String = card.bytes().map(|b| format!("\\u{b:04x}")).collect();
        written.extend([percent, references, json]);
        written
    }

    #[test]
    fn a_card_is_masked_in_every_grouping_and_beside_anything() {
        for card in CARDS {
            for written in groupings(card) {
                for (before, after) in [
                    ("card ", ", declined"),
                    ("card:", ";"),
                    ("card_", "_x"),
                    ("card", "x"),
                    ("x", "y"),
                    ("/rest/payment/", "/void"),
                    ("pan=", "&a=1"),
                    ("<Pan>", "</Pan>"),
                    ("\"", "\""),
                ] {
                    let text = format!("{before}{written}{after}");
                    assert_eq!(
                        redact_cards(&text),
                        format!("{before}{REDACTED}{after}"),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_hex_identifier_comes_back_whole() {
        // Random hex IDs whose digit runs hold a Luhn-valid card-length run: once redacted
        // inside a receipt, which then named another payment.
        for id in [
            "887BFFC901103101744246852F5EC81D",
            "EE5A4111111111111111B2",
            "ABCD4111111111111111",
            "4111111111111111ABCD",
            "C0FFEE00000000000000000000000001",
            "EE52401813A74328AAA7D93319FF4383",
            "12345678-1234-5678-1234-567812345678",
            "{41111111-1111-1111-1111-111111111111}",
        ] {
            assert_eq!(redact_cards(id), id);
            let text = format!("payment {id} voided");
            assert_eq!(redact_cards(&text), text);
        }
        // A hex identifier beside a card hides neither.
        assert_eq!(
            redact_cards("AB12 4111 1111 1111 1111"),
            format!("AB12 {REDACTED}")
        );
    }

    /// The one-pass count tells digits and hex words as `u8`'s own predicates do, for every
    /// byte, at every place, in texts that cross the 128-byte count.
    #[test]
    fn digits_and_hex_words_are_told_as_byte_by_byte() {
        let by_byte = |bytes: &[u8]| {
            let digits = bytes.iter().filter(|byte| byte.is_ascii_digit()).count();
            let hex_word = bytes.iter().all(u8::is_ascii_hexdigit)
                && bytes.iter().any(u8::is_ascii_alphabetic);
            (digits, hex_word)
        };
        for fill in [b'7', b'c', b'E'] {
            for length in [0, 1, 15, 16, 17, 127, 128, 129, 255, 256, 257, 300] {
                for byte in 0..=u8::MAX {
                    for place in [0, length / 2, length] {
                        let mut bytes = vec![fill; length];
                        bytes.insert(place, byte);
                        assert_eq!(
                            digits_and_hex_word(&bytes),
                            by_byte(&bytes),
                            "{byte:#04x} at {place} of {length}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in [
            "4111111111111112",                 // fails the Luhn check
            "411111111111",                     // too short
            "41111111111111111111",             // twenty digits: an identifier
            "at 2024-01-05 12:30:45, code 012", // a date
            "10.00 + 2.50, phone 555-123-4567",
            "4111    1111 1111 1111", // four separators apart: two numbers
        ] {
            assert_eq!(redact_cards(text), text);
        }
        assert!(matches!(
            redact_cards("status V, code 000"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn luhn_over_strings() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("41x1"));
        assert!(!luhn(""));
    }

    #[test]
    fn a_cut_leaves_no_digits_hanging() {
        for (cut, kept) in [
            ("card 4111 1111 11", "card"),
            ("card 4111_1111_1111_1", "card"),
            ("card 4111%201111%2011", "card"),
            ("card 4111\u{a0}1111\u{a0}", "card"),
            ("ok", "ok"),
            ("4111", ""),
        ] {
            assert_eq!(trim_hanging_digits(cut), kept, "{cut:?}");
        }
    }

    /// Whether the letters and digits around the digits at `start..end` are all hex digits,
    /// read the plain way.
    fn hex_word(bytes: &[u8], start: usize, end: usize) -> bool {
        let mut hex = true;
        let mut before = start;
        while before > 0 && bytes[before - 1].is_ascii_alphanumeric() {
            before -= 1;
            hex &= bytes[before].is_ascii_hexdigit();
        }
        let mut after = end;
        while after < bytes.len() && bytes[after].is_ascii_alphanumeric() {
            hex &= bytes[after].is_ascii_hexdigit();
            after += 1;
        }
        hex
    }

    /// The sweep as its specification reads, in the slowest, plainest way: every run of whole
    /// groups between any two groups is tried, with no shortcut.
    fn reference(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut units = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (kind, len) = unit(bytes, at);
            units.push((kind, at, at + len));
            at += len;
        }
        // Groups: maximal runs of digits, as (first unit, last unit).
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for (n, (kind, _, _)) in units.iter().enumerate() {
            if let Unit::Digit(_) = kind {
                match groups.last_mut() {
                    Some((_, last)) if *last + 1 == n => *last = n,
                    _ => groups.push((n, n)),
                }
            }
        }
        let span = |(first, last): (usize, usize)| (units[first].1, units[last].2);
        let excluded = |group: (usize, usize)| {
            let (start, end) = span(group);
            let glued = (start > 0 && bytes[start - 1].is_ascii_alphabetic())
                || bytes.get(end).is_some_and(u8::is_ascii_alphabetic);
            glued && hex_word(bytes, start, end)
        };
        let linked = |left: (usize, usize), right: (usize, usize)| {
            let between = &units[left.1 + 1..right.0];
            (1..=MAX_SEPARATORS).contains(&between.len())
                && between.iter().all(|(kind, _, _)| *kind == Unit::Separator)
        };
        let mut cuts = Vec::new();
        for a in 0..groups.len() {
            for b in a..groups.len() {
                let window = &groups[a..=b];
                if window.iter().any(|&g| excluded(g))
                    || window.windows(2).any(|pair| !linked(pair[0], pair[1]))
                {
                    continue;
                }
                let digits: Vec<u8> = window
                    .iter()
                    .flat_map(|&(first, last)| &units[first..=last])
                    .filter_map(|(kind, _, _)| match kind {
                        Unit::Digit(d) => Some(*d),
                        _ => None,
                    })
                    .collect();
                if CARD_DIGITS.contains(&digits.len()) && luhn_digits(&digits) {
                    cuts.push((span(groups[a]).0, span(groups[b]).1));
                }
            }
        }
        cuts.sort_unstable();
        replaced(text, cuts)
    }

    fn piece() -> impl Strategy<Value = String> {
        let cards: Vec<String> = CARDS.iter().flat_map(|card| groupings(card)).collect();
        prop_oneof![
            "[0-9]{1,8}",
            proptest::sample::select(cards),
            proptest::sample::select(vec![
                " ", "  ", "\t", "\u{a0}", ".", "-", "/", "_", "+", "%20", "%34", "&#52;",
                "\\u0034", "\\t", "&nbsp;", "%", "&", "\\", "#", ";",
            ])
            .prop_map(str::to_owned),
            "[a-fA-F]{1,3}",
            "[g-zG-Z]{1,3}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9A-F]{20,32}",
            "[:,é<>]",
        ]
    }

    proptest! {
        #[test]
        fn the_sweep_masks_what_the_reference_masks(
            pieces in proptest::collection::vec(piece(), 0..10)
        ) {
            let text = pieces.concat();
            prop_assert_eq!(redact_cards(&text).into_owned(), reference(&text), "{:?}", text);
        }
    }
}
