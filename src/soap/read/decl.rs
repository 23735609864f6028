//! The XML declaration, `<?xml version="1.0" encoding="utf-8" standalone="yes"?>`, read to the
//! letter of productions [23]–[26], [32], [80] and [81]: it is not a processing instruction,
//! and its order, quotes and values are fixed.

/// Whether `text` begins with an XML declaration (rather than a processing instruction whose
/// target merely starts with `xml`).
pub(super) fn starts_declaration(text: &[u8]) -> bool {
    text.starts_with(b"<?xml") && matches!(text.get(5), Some(b' ' | b'\t' | b'\n' | b'\r' | b'?'))
}

/// Reads the declaration at the start of `text` and returns its length; `document_is_ascii`
/// tells whether an ASCII-only encoding may be declared. The error is a message and the offset
/// it refers to.
pub(super) fn read(
    text: &str,
    document_is_ascii: impl Fn() -> bool,
) -> Result<usize, (String, usize)> {
    // The declaration .NET services (InstaMed's among them) write, letter for letter, is
    // accepted by the general reading below; recognising its exact bytes spares the
    // pseudo-attribute parser on every answer. A test holds both readings equal.
    for usual in USUAL {
        if text.as_bytes().starts_with(usual) {
            return Ok(usual.len());
        }
    }
    read_in_full(text, document_is_ascii)
}

/// Declarations read by their bytes alone: version 1.0 and a UTF-8 encoding, nothing else.
const USUAL: [&[u8]; 2] = [
    b"<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
];

/// [`read`] production by production.
fn read_in_full(
    text: &str,
    document_is_ascii: impl Fn() -> bool,
) -> Result<usize, (String, usize)> {
    let mut cursor = Cursor {
        bytes: text.as_bytes(),
        at: 5,
    };
    let version = cursor
        .pseudo_attribute("version")?
        .ok_or_else(|| cursor.error("an XML declaration without its version"))?;
    let digits = version.strip_prefix(b"1.").unwrap_or_default();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(cursor.error(format!(
            "XML version {:?}, where this reader reads 1.x",
            String::from_utf8_lossy(version)
        )));
    }
    if let Some(encoding) = cursor.pseudo_attribute("encoding")? {
        check_encoding(encoding, document_is_ascii).map_err(|message| cursor.error(message))?;
    }
    if let Some(standalone) = cursor.pseudo_attribute("standalone")? {
        if standalone != b"yes" && standalone != b"no" {
            return Err(cursor.error("standalone must be \"yes\" or \"no\""));
        }
    }
    cursor.skip_space();
    if cursor.rest().starts_with(b"?>") {
        Ok(cursor.at + 2)
    } else {
        Err(cursor.error("a malformed XML declaration"))
    }
}

/// The document reaches the reader as UTF-8, so the declaration must name UTF-8, or an
/// encoding that reads ASCII-only bytes the same way when the document is ASCII-only.
fn check_encoding(name: &[u8], document_is_ascii: impl Fn() -> bool) -> Result<(), String> {
    let well_formed = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let is = |names: &[&str]| {
        names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
    };
    if well_formed && is(&["UTF-8", "UTF8"]) {
        return Ok(());
    }
    let ascii_compatible = is(&[
        "US-ASCII",
        "ASCII",
        "ISO-8859-1",
        "LATIN1",
        "ISO-8859-15",
        "WINDOWS-1252",
    ]);
    let name = String::from_utf8_lossy(name);
    match well_formed {
        false => Err(format!("{name:?} is not an encoding name")),
        true if ascii_compatible && document_is_ascii() => Ok(()),
        true => Err(format!(
            "the declared encoding {name} contradicts the bytes, which are UTF-8"
        )),
    }
}

struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Cursor<'b> {
    fn rest(&self) -> &'b [u8] {
        self.bytes.get(self.at..).unwrap_or_default()
    }

    fn error(&self, message: impl Into<String>) -> (String, usize) {
        (message.into(), self.at)
    }

    fn skip_space(&mut self) -> usize {
        let from = self.at;
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
        self.at - from
    }

    /// Reads ` name = "value"` when `name` comes next (after the white space it needs), and
    /// returns the value; `None`, with nothing consumed, when another name or the end comes.
    fn pseudo_attribute(&mut self, name: &str) -> Result<Option<&'b [u8]>, (String, usize)> {
        let start = self.at;
        let space = self.skip_space();
        if !self.rest().starts_with(name.as_bytes()) {
            self.at = start;
            return Ok(None);
        }
        if space == 0 {
            return Err(self.error(format!("no white space before {name}")));
        }
        self.at += name.len();
        self.skip_space();
        if self.bytes.get(self.at) != Some(&b'=') {
            return Err(self.error(format!("{name} without =")));
        }
        self.at += 1;
        self.skip_space();
        let quote = match self.bytes.get(self.at) {
            Some(&quote @ (b'"' | b'\'')) => quote,
            _ => return Err(self.error(format!("the value of {name} is not quoted"))),
        };
        self.at += 1;
        let value_start = self.at;
        let length = self
            .rest()
            .iter()
            .position(|&b| b == quote || b == b'?' || b == b'>')
            .filter(|&n| self.rest()[n] == quote)
            .ok_or_else(|| self.error(format!("the value of {name} is not closed")))?;
        self.at += length + 1;
        Ok(Some(&self.bytes[value_start..value_start + length]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaration(text: &str) -> Result<usize, String> {
        read(text, || text.is_ascii()).map_err(|(message, _)| message)
    }

    #[test]
    fn the_usual_declarations_read_as_in_full() {
        for usual in USUAL {
            let usual = std::str::from_utf8(usual).expect("the usual declarations are ASCII");
            for after in ["", "<a/>", " ", "?>"] {
                let text = format!("{usual}{after}");
                assert_eq!(read(&text, || false), Ok(usual.len()), "{text}");
                assert_eq!(read_in_full(&text, || false), Ok(usual.len()), "{text}");
            }
        }
        // Anything else, however close, takes the full reading and its checks.
        for other in [
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"maybe\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-8\"",
            "<?xml version=\"2.0\" encoding=\"utf-8\"?>",
        ] {
            assert_eq!(
                read(other, || true),
                read_in_full(other, || true),
                "{other}"
            );
            assert!(read(other, || true).is_err(), "{other}");
        }
    }

    #[test]
    fn declarations_are_read_to_the_letter() {
        for accepted in [
            "<?xml version=\"1.0\"?>",
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
            "<?xml version = \"1.0\" encoding = \"UTF-8\" ?>",
            "<?xml version=\"1.1\"?>",
            "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
            "<?xml version=\"1.0\" standalone=\"no\"?>",
        ] {
            assert_eq!(declaration(accepted), Ok(accepted.len()), "{accepted}");
        }
        for (refused, problem) in [
            ("<?xml version=\"2.0\"?>", "version"),
            ("<?xml version=\"1\"?>", "version"),
            ("<?xml version=\"1.0a\"?>", "version"),
            ("<?xml?>", "without its version"),
            ("<?xml encoding=\"UTF-8\"?>", "without its version"),
            (
                "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?>",
                "malformed",
            ),
            ("<?xml version=\"1.0\"encoding=\"UTF-8\"?>", "white space"),
            ("<?xml version=\"1.0' ?>", "not closed"),
            ("<?xml version=1.0 ?>", "not quoted"),
            ("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "contradicts"),
            (
                "<?xml version=\"1.0\" encoding=\"_UTF-8\"?>",
                "not an encoding name",
            ),
            ("<?xml version=\"1.0\" standalone=\"YES\"?>", "standalone"),
            ("<?xml VERSION=\"1.0\"?>", "without its version"),
            ("<?xml version=\"1.0\" >", "malformed"),
            ("<?xml version=\"1.0\" other=\"x\"?>", "malformed"),
        ] {
            match declaration(refused) {
                Err(message) => assert!(message.contains(problem), "{refused}: {message}"),
                Ok(_) => panic!("{refused} was read"),
            }
        }
        // An ASCII-only encoding fits a document only while the document is ASCII.
        let latin = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é</a>";
        assert!(declaration(latin).is_err());
    }
}
