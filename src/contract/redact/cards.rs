//! The last net: card numbers found in text whatever surrounds them.
//!
//! A card number is 13 to 19 digits passing the Luhn check, standing on its own (not inside a
//! longer word such as a hex transaction ID), possibly split into groups by separators. Digits
//! and separators are recognised as written in any of the encodings a recording holds:
//! - digits: `4`, `%34` (percent-encoded), `&#52;`, `&#x34;` (XML character references);
//! - separators: space, tab, `-`, `+` (a form's space), `%20`, `%2D`, `%2B`, and their
//!   character references.
//!
//! The sweep runs over every byte that is written (bodies after decoding their charset, start
//! lines and header values), after the structural redaction, so a number that no field name
//! gave away is still caught.

use super::REDACTED;

/// One unit of text: what it stands for and how many bytes it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Digit(u8),
    Separator,
    /// Anything else; `true` for a letter or digit of a longer word.
    Other(bool),
}

/// Reads the unit at `at`; `None` at the end.
fn unit(bytes: &[u8], at: usize) -> Option<(Unit, usize)> {
    let first = *bytes.get(at)?;
    let rest = &bytes[at..];
    if first.is_ascii_digit() {
        return Some((Unit::Digit(first - b'0'), 1));
    }
    match first {
        b' ' | b'\t' | b'-' | b'+' => return Some((Unit::Separator, 1)),
        b'%' if rest.len() >= 3 && rest[1] == b'3' && rest[2].is_ascii_digit() => {
            return Some((Unit::Digit(rest[2] - b'0'), 3));
        }
        b'%' if rest.len() >= 3
            && rest[1] == b'2'
            && matches!(rest[2].to_ascii_uppercase(), b'0' | b'B' | b'D') =>
        {
            return Some((Unit::Separator, 3));
        }
        b'&' => {
            if let Some((code, len)) = character_reference(rest) {
                return Some(match code {
                    48..=57 => (Unit::Digit((code - 48) as u8), len),
                    32 | 9 | 43 | 45 => (Unit::Separator, len),
                    _ => (Unit::Other(false), len),
                });
            }
        }
        _ => {}
    }
    // A multi-byte character is one unit: it is never a digit and never splits a word.
    let len = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    let len = len.min(rest.len());
    let alphanumeric = first.is_ascii_alphanumeric() || first >= 0x80;
    Some((Unit::Other(alphanumeric), len))
}

/// A numeric character reference (`&#52;`, `&#x34;`) at the start of `text`: its code and
/// length.
fn character_reference(text: &[u8]) -> Option<(u32, usize)> {
    let end = text.iter().take(12).position(|&b| b == b';')?;
    let inner = text.get(2..end)?;
    if text.get(1) != Some(&b'#') || inner.is_empty() {
        return None;
    }
    let (digits, radix) = match inner[0] {
        b'x' | b'X' => (&inner[1..], 16),
        _ => (inner, 10),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let digits = std::str::from_utf8(digits).ok()?;
    let code = u32::from_str_radix(digits, radix).ok()?;
    Some((code, end + 1))
}

/// A group of digits: its digits and its byte range.
struct Group {
    digits: Vec<u8>,
    start: usize,
    end: usize,
}

/// At most this many separator units between two groups of one number (`4111 - 1111`).
const MAX_SEPARATORS: usize = 3;

/// Replaces every card number in `text` with [`REDACTED`].
pub fn sweep(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    let mut previous_in_word = false;
    while let Some((kind, len)) = unit(bytes, at) {
        let Unit::Digit(_) = kind else {
            previous_in_word = kind == Unit::Other(true);
            at += len;
            continue;
        };
        let (groups, next, next_in_word) = sequence(bytes, at);
        // A first group that continues a word (`AB12 4111 …`) belongs to that word.
        let from = usize::from(previous_in_word);
        cut_cards(&groups[from..], next_in_word, &mut cuts);
        previous_in_word = next_in_word;
        at = next;
        if next_in_word {
            // The word that ends the sequence is consumed with it.
            at = unit(bytes, at).map_or(at, |(_, len)| at + len);
        }
    }
    if cuts.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in cuts {
        out.push_str(&text[last..start]);
        out.push_str(REDACTED);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Reads digit groups and separators from `at`: the groups, where the sequence ends, and
/// whether it ends against a letter or digit of a word (the last group is then no card).
fn sequence(bytes: &[u8], mut at: usize) -> (Vec<Group>, usize, bool) {
    let mut groups: Vec<Group> = Vec::new();
    loop {
        let start = at;
        let mut digits = Vec::new();
        while let Some((Unit::Digit(digit), len)) = unit(bytes, at) {
            digits.push(digit);
            at += len;
        }
        groups.push(Group {
            digits,
            start,
            end: at,
        });
        let mut probe = at;
        let mut separators = 0;
        while let Some((Unit::Separator, len)) = unit(bytes, probe) {
            separators += 1;
            probe += len;
        }
        match unit(bytes, probe) {
            Some((Unit::Digit(_), _)) if separators > 0 && separators <= MAX_SEPARATORS => {
                at = probe;
            }
            Some((Unit::Other(true), _)) if separators == 0 => return (groups, at, true),
            _ => return (groups, at, false),
        }
    }
}

/// Adds to `cuts` the byte ranges of the cards among `groups`: runs of whole groups holding 13
/// to 19 digits that pass the Luhn check, the longest first from each group on.
fn cut_cards(groups: &[Group], last_in_word: bool, cuts: &mut Vec<(usize, usize)>) {
    let usable = if last_in_word && !groups.is_empty() {
        groups.len().saturating_sub(1)
    } else {
        groups.len()
    };
    let mut first = 0;
    while first < usable {
        let mut found = None;
        let mut digits: Vec<u8> = Vec::new();
        for (last, group) in groups.iter().enumerate().take(usable).skip(first) {
            digits.extend_from_slice(&group.digits);
            if digits.len() > 19 {
                break;
            }
            if digits.len() >= 13 && luhn(&digits) {
                found = Some(last);
            }
        }
        match found {
            Some(last) => {
                cuts.push((groups[first].start, groups[last].end));
                first = last + 1;
            }
            None => first += 1,
        }
    }
}

/// The Luhn check card numbers carry, over digit values.
fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (position, &digit) in digits.iter().rev().enumerate() {
        let mut digit = u32::from(digit);
        if position % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    sum % 10 == 0
}

/// The Luhn check over a string of ASCII digits (`false` for anything else).
pub fn luhn_str(digits: &str) -> bool {
    digits.bytes().all(|b| b.is_ascii_digit())
        && luhn(&digits.bytes().map(|b| b - b'0').collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_card_numbers_are_found_only_when_luhn_valid_and_standing_alone() {
        let text =
            "pan 4111111111111111, amex 340000000000009; id 4111111111111112 guid EE52401813A74328";
        assert_eq!(
            sweep(text),
            "pan [redacted], amex [redacted]; id 4111111111111112 guid EE52401813A74328"
        );
        assert_eq!(sweep("12345"), "12345");
        let id = "EE5A4111111111111111B2";
        assert_eq!(sweep(id), id);
        assert_eq!(
            sweep("<CardNumber>4111111111111111</CardNumber>"),
            "<CardNumber>[redacted]</CardNumber>"
        );
        // Twenty digits are an ID, not a card.
        assert_eq!(sweep("41111111111111111111"), "41111111111111111111");
    }

    #[test]
    fn separated_and_encoded_card_numbers_are_found() {
        for written in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111+1111+1111+1111",
            "4111%201111%201111%201111",
            "4111%2D1111%2d1111%2B1111",
            "%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31",
            "&#52;111&#x31;111 1111 1111",
            "4111&#32;1111&#x2D;1111 - 1111",
            "5500 0000 0000 0004",
        ] {
            assert_eq!(
                sweep(&format!("x={written}&y")),
                "x=[redacted]&y",
                "{written}"
            );
        }
        // The card after other digits is still found; the digits before it stay.
        assert_eq!(sweep("ref 4111 1111 1111 1111."), "ref [redacted].");
        assert_eq!(sweep("AB12 4111 1111 1111 1111"), "AB12 [redacted]");
        // Dates and amounts are no cards.
        let ordinary = "2024-01-15 10:30, 10.00 + 2.50, phone 555-123-4567";
        assert_eq!(sweep(ordinary), ordinary);
    }

    #[test]
    fn luhn_over_strings() {
        assert!(luhn_str("4111111111111111"));
        assert!(!luhn_str("4111111111111112"));
        assert!(!luhn_str("41x1"));
    }
}
