//! References in text and attribute values: the five predefined entities and character
//! references. A document without a DTD declares no other entity, so any other name is an
//! error (the "Entity Declared" constraint), never passed through.

/// Why a reference could not be read.
pub(super) enum Problem {
    /// No `;` closes it.
    Unclosed,
    /// `&name;` for an entity that is not one of the five.
    UnknownEntity,
    /// `&#…;` that is not digits, or names a character XML forbids.
    BadCharacter,
}

impl Problem {
    pub(super) fn describe(&self, reference: &str) -> String {
        match self {
            Problem::Unclosed => "an entity reference without its ;".to_owned(),
            Problem::UnknownEntity => format!("unknown entity {reference}"),
            Problem::BadCharacter => format!("{reference} is not a character XML allows"),
        }
    }
}

/// Reads the reference at the start of `text` (which begins with `&`): the character it
/// stands for and its length, `&` to `;`. On error, the length of what was taken for it.
pub(super) fn read(text: &str) -> Result<(char, usize), (Problem, usize)> {
    let bytes = text.as_bytes();
    let Some(&after) = bytes.get(1) else {
        return Err((Problem::Unclosed, 1));
    };
    if after == b'#' {
        return character(bytes);
    }
    let end = super::chars::scan_name(text, 1).end;
    if bytes.get(end) != Some(&b';') {
        return Err((Problem::Unclosed, end));
    }
    let character = match &text[1..end] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return Err((Problem::UnknownEntity, end + 1)),
    };
    Ok((character, end + 1))
}

/// `&#` digits `;` or `&#x` hex digits `;`, by hand: Rust's integer parsers take a leading `+`,
/// which XML does not. Leading zeros are allowed, as many as written.
fn character(bytes: &[u8]) -> Result<(char, usize), (Problem, usize)> {
    let (radix, digits_from) = match bytes.get(2) {
        Some(b'x') => (16, 3),
        _ => (10, 2),
    };
    let mut code: u32 = 0;
    let mut at = digits_from;
    loop {
        let Some(&byte) = bytes.get(at) else {
            return Err((Problem::Unclosed, at));
        };
        if byte == b';' {
            break;
        }
        let Some(digit) = char::from(byte).to_digit(radix) else {
            return Err((Problem::BadCharacter, at + 1));
        };
        // Saturate above the largest code point: the value is refused either way.
        code = code
            .saturating_mul(radix)
            .saturating_add(digit)
            .min(0x11_0000);
        at += 1;
    }
    let allowed =
        matches!(code, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF);
    match char::from_u32(code) {
        Some(character) if allowed && at > digits_from => Ok((character, at + 1)),
        _ => Err((Problem::BadCharacter, at + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<(char, usize)> {
        read(text).ok()
    }

    #[test]
    fn references_are_read_as_xml_writes_them() {
        assert_eq!(value("&amp;x"), Some(('&', 5)));
        assert_eq!(value("&apos;"), Some(('\'', 6)));
        assert_eq!(value("&#67;"), Some(('C', 5)));
        assert_eq!(value("&#x43;"), Some(('C', 6)));
        assert_eq!(value("&#x0000000043;"), Some(('C', 14)));
        assert_eq!(value("&#0000000000067;"), Some(('C', 16)));
        assert_eq!(value("&#x10FFFF;"), Some(('\u{10FFFF}', 10)));
        assert_eq!(value("&#9;"), Some(('\t', 4)));
        for refused in [
            "&#+67;",
            "&#-67;",
            "&# 67;",
            "&#x+43;",
            "&#X43;",
            "&#;",
            "&#x;",
            "&#0;",
            "&#x1;",
            "&#xFFFE;",
            "&#xFFFF;",
            "&#xD800;",
            "&#x110000;",
            "&#99999999999999999999;",
            "&#67",
            "&nbsp;",
            "&AMP;",
            "&amp",
            "&",
            "&#x4g;",
            "&#6 7;",
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }
}
