//! The character set a recorded body was sent in, so that it can be read as text, redacted,
//! kept in a cassette as readable text, and sent again byte for byte.
//!
//! The charset is taken, in this order, from a byte-order mark, the `charset` parameter of the
//! `Content-Type`, the XML declaration's `encoding`, and is UTF-8 otherwise. Labels are read as
//! the WHATWG Encoding Standard reads them (`encoding_rs`): `latin1` and `iso-8859-1` are
//! Windows-1252, `utf-16` is UTF-16LE.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// A body's character set, and whether the body starts with a byte-order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charset {
    encoding: &'static Encoding,
    bom: bool,
}

impl Charset {
    /// UTF-8 without a byte-order mark.
    pub const UTF_8: Self = Self {
        encoding: UTF_8,
        bom: false,
    };

    /// The charset of `body`, sent with `content_type`.
    pub fn of(content_type: Option<&str>, body: &[u8]) -> Self {
        if let Some((encoding, _)) = Encoding::for_bom(body) {
            return Self {
                encoding,
                bom: true,
            };
        }
        let declared = content_type
            .and_then(parameter_charset)
            .or_else(|| xml_declaration_encoding(body))
            .and_then(|label| Encoding::for_label(label.as_bytes()));
        Self {
            encoding: declared.unwrap_or(UTF_8),
            bom: false,
        }
    }

    /// Its name as a cassette writes it: `UTF-16LE`, `windows-1252`, with `+bom` when the body
    /// starts with a byte-order mark.
    pub fn label(&self) -> String {
        let name = self.encoding.name();
        if self.bom {
            format!("{name}+bom")
        } else {
            name.to_owned()
        }
    }

    /// The charset a cassette names with [`label`](Self::label).
    pub fn from_label(label: &str) -> Option<Self> {
        let (name, bom) = match label.strip_suffix("+bom") {
            Some(name) => (name, true),
            None => (label, false),
        };
        Encoding::for_label(name.as_bytes()).map(|encoding| Self { encoding, bom })
    }

    /// Whether it is UTF-8 without a byte-order mark: the text is the bytes.
    pub fn is_plain_utf8(&self) -> bool {
        *self == Self::UTF_8
    }

    /// The text of `body`; `None` when a byte is not valid in this charset.
    pub fn decode<'a>(&self, body: &'a [u8]) -> Option<Cow<'a, str>> {
        let body = if self.bom {
            let (_, bom_length) = Encoding::for_bom(body)?;
            &body[bom_length..]
        } else {
            body
        };
        self.encoding
            .decode_without_bom_handling_and_without_replacement(body)
    }

    /// `text` as bytes in this charset (with its byte-order mark); `None` when a character
    /// cannot be written in it.
    pub fn encode(&self, text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len() + 3);
        if self.encoding == UTF_16LE || self.encoding == UTF_16BE {
            // encoding_rs writes UTF-16 as UTF-8 (as the Encoding Standard says); done here.
            let little = self.encoding == UTF_16LE;
            if self.bom {
                out.extend_from_slice(if little { &[0xff, 0xfe] } else { &[0xfe, 0xff] });
            }
            for unit in text.encode_utf16() {
                let bytes = if little {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                };
                out.extend_from_slice(&bytes);
            }
            return Some(out);
        }
        if self.bom && self.encoding == UTF_8 {
            out.extend_from_slice(&[0xef, 0xbb, 0xbf]);
        }
        let (bytes, _, unmappable) = self.encoding.encode(text);
        if unmappable {
            return None;
        }
        out.extend_from_slice(&bytes);
        Some(out)
    }
}

/// The `charset` parameter of a `Content-Type` value.
fn parameter_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible body.
fn xml_declaration_encoding(body: &[u8]) -> Option<String> {
    let head = body.get(..body.len().min(200))?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_come_from_the_bom_the_header_or_the_declaration() {
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let charset = Charset::of(Some("text/xml; charset=utf-8"), &utf16);
        assert_eq!(charset.label(), "UTF-16LE+bom");
        assert_eq!(charset.decode(&utf16).unwrap(), "<a>é</a>");
        assert_eq!(charset.encode("<a>é</a>").unwrap(), utf16);

        let latin1 = b"<a>caf\xe9</a>";
        let charset = Charset::of(Some("text/xml; charset=ISO-8859-1"), latin1);
        assert_eq!(charset.label(), "windows-1252");
        assert_eq!(charset.decode(latin1).unwrap(), "<a>café</a>");
        assert_eq!(charset.encode("<a>café</a>").unwrap(), latin1);

        let declared = b"<?xml version='1.0' encoding='latin1'?><a>\xe9</a>";
        assert_eq!(Charset::of(None, declared).label(), "windows-1252");

        let broken = b"<a>caf\xe9</a>";
        assert!(
            Charset::of(Some("text/xml"), broken)
                .decode(broken)
                .is_none()
        );
        assert_eq!(
            Charset::from_label("UTF-16LE+bom"),
            Some(Charset::of(None, &utf16))
        );
    }
}
