//! Known secret values found in text in whichever encoding a server or a capture wrote them.
//!
//! A secret is matched where a stretch of text reads as it in one of these encodings:
//! - as written;
//! - percent-encoded: any byte as `%HH` (either case of hex), the others as written, so `%20`
//!   and a space both stand for a space;
//! - form-encoded: the same, with `+` for a space;
//! - JSON-escaped: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX` (surrogate pairs
//!   included), other characters as written;
//! - XML-escaped: `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`, `&#N;` and `&#xH;`, other
//!   characters as written.
//!
//! Each match is read in one encoding (what a server writes is encoded one way), and the
//! longest match at the leftmost place wins, so a secret that holds another goes whole.
//! Base64 is not an encoding here but a secret of its own: the Basic tokens of a client's
//! credentials are added as secrets (see [`Secrets::of`]).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::REDACTED;
use crate::credentials::{ApiKey, Credentials};

/// Longest character reference read (`&#x0000034;`): a longer one is read as text, so that a
/// stray `&` costs a bounded look ahead.
const LONGEST_REFERENCE: usize = 32;

/// A set of secret values, and the search that takes them out of text.
#[derive(Clone)]
pub struct Secrets {
    secrets: Vec<Box<str>>,
    /// A substring search for each secret as written, built once.
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// The length of the shortest secret: a text shorter than that holds none (no encoding
    /// makes a secret shorter than it is written), and most of a receipt's texts are such.
    shortest: usize,
    /// The bytes a match can start with: each secret's first byte, and the first bytes of the
    /// encodings (`%`, `+`, `\`, `&`).
    starts: [bool; 256],
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            finders: Vec::new(),
            shortest: usize::MAX,
            starts: [false; 256],
        }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("count", &self.secrets.len())
            .finish()
    }
}

impl Secrets {
    /// No secrets: [`Secrets::remove`] leaves every text as it is.
    pub fn new() -> Self {
        Self::default()
    }

    /// The secrets of whichever of `credentials` and the REST `api_key` a client holds: the
    /// API secret, the password and its Basic tokens ([`Secrets::insert_basic`]).
    pub fn of(credentials: Option<&Credentials>, api_key: Option<&ApiKey>) -> Self {
        let mut secrets = Self::new();
        if let Some(api_key) = api_key {
            secrets.insert(api_key.secret());
        }
        if let Some(credentials) = credentials {
            secrets.insert_basic(credentials.account_id(), credentials.password());
        }
        secrets
    }

    /// Adds `password` and the Basic tokens (`base64(user:password)`) of `user` in both forms
    /// a client signs in with (the account ID, and its part before `@`: see [`UserName`](crate::UserName)), each
    /// with and without its `=` padding: a server may echo any of them.
    pub fn insert_basic(&mut self, user: &str, password: &str) {
        self.insert(password);
        let local = user.split('@').next().unwrap_or(user);
        for user in [user, local] {
            let token = BASE64.encode(format!("{user}:{password}"));
            self.insert(token.trim_end_matches('='));
            self.insert(&token);
        }
    }

    /// Adds `secret` (an empty one is ignored), and, when it is not ASCII, its UTF-8 bytes
    /// read as Latin-1 (`é` as `Ã©`), with and without the C1 control characters that reading
    /// gives (which a shown line leaves out): HTTP Basic credentials are decoded as Latin-1 by
    /// many servers (RFC 7617 leaves the charset to them), and one that echoes them in a UTF-8
    /// page writes the password so. Unknown, the rest of the password would be shown.
    pub fn insert(&mut self, secret: &str) {
        self.insert_one(secret);
        if !secret.is_ascii() {
            let latin1: String = secret.bytes().map(char::from).collect();
            let printable: String = latin1.chars().filter(|c| !c.is_control()).collect();
            self.insert_one(&latin1);
            self.insert_one(&printable);
        }
    }

    fn insert_one(&mut self, secret: &str) {
        if secret.is_empty() || self.secrets.iter().any(|known| &**known == secret) {
            return;
        }
        let first = secret.as_bytes()[0];
        for byte in [first, b'%', b'\\', b'&'] {
            self.starts[usize::from(byte)] = true;
        }
        if first == b' ' {
            self.starts[usize::from(b'+')] = true;
        }
        self.shortest = self.shortest.min(secret.len());
        self.finders
            .push(memchr::memmem::Finder::new(secret.as_bytes()).into_owned());
        self.secrets.push(secret.into());
    }

    /// How many secrets there are (a secret that is not ASCII counts with its Latin-1 readings).
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret, in any of the encodings above, replaced by [`REDACTED`]
    /// (borrowed when it holds none).
    pub fn remove<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if text.len() < self.shortest {
            return Cow::Borrowed(text);
        }
        let bytes = text.as_bytes();
        // Every match starts at a byte of `starts` (the search below looks nowhere else): a
        // text without one, such as a hex transaction ID when no secret starts with a hex
        // digit, holds none. One look-up a byte, where the searches below cost several passes.
        if !bytes.iter().any(|&byte| self.starts[usize::from(byte)]) {
            return Cow::Borrowed(text);
        }
        // With no byte that starts an escape, every encoding reads the text as written: a
        // secret is there only as written, which a substring search finds fastest.
        let escapes = memchr::memchr3(b'%', b'\\', b'&', bytes).is_some()
            || memchr::memchr(b'+', bytes).is_some();
        if !escapes
            && !self
                .finders
                .iter()
                .any(|finder| finder.find(bytes).is_some())
        {
            return Cow::Borrowed(text);
        }
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut at = 0;
        while at + self.shortest <= bytes.len() {
            // A start byte is ASCII or the first byte of a character: a character boundary.
            if !self.starts[usize::from(bytes[at])] {
                at += 1;
                continue;
            }
            let end = self
                .secrets
                .iter()
                .filter_map(|secret| longest_match(bytes, at, secret))
                .max();
            match end {
                Some(end) => {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[copied..at]);
                    out.push_str(REDACTED);
                    copied = end;
                    at = end;
                }
                None => at += 1,
            }
        }
        match out {
            Some(mut out) => {
                out.push_str(&text[copied..]);
                Cow::Owned(out)
            }
            None => Cow::Borrowed(text),
        }
    }
}

/// Where the longest reading of `secret` starting at `at` ends, in any encoding.
fn longest_match(text: &[u8], at: usize, secret: &str) -> Option<usize> {
    let wanted = secret.as_bytes();
    let rest = &text[at..];
    let same = rest.iter().zip(wanted).take_while(|(a, b)| a == b).count();
    let raw = (same == wanted.len()).then_some(at + wanted.len());
    // Each encoding reads bytes as written up to its first escape: one whose escapes do not
    // start among the bytes compared (the first that differs included) reads what the
    // comparison read, and so ends where it ended or fails where it failed. Most starts fail
    // on their first byte, and most texts hold no escape.
    let compared = &rest[..rest.len().min(same + 1)];
    let holds = |byte: u8| compared.contains(&byte);
    let (percent_sign, plus) = (holds(b'%'), holds(b'+'));
    [
        raw,
        percent_sign
            .then(|| percent(text, at, wanted, false))
            .flatten(),
        (percent_sign || plus)
            .then(|| percent(text, at, wanted, true))
            .flatten(),
        holds(b'\\')
            .then(|| by_char(text, at, secret, json_char))
            .flatten(),
        holds(b'&')
            .then(|| by_char(text, at, secret, xml_char))
            .flatten(),
    ]
    .into_iter()
    .flatten()
    .max()
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|value| value as u8)
}

/// Where `secret` read percent-encoded (`form`: with `+` for a space) from `at` ends.
///
/// A `%HH` is a byte; anything else is itself. A stretch that ends inside a `%HH` holds that
/// `%` as written, as a decoder given only that stretch reads it.
fn percent(text: &[u8], mut at: usize, secret: &[u8], form: bool) -> Option<usize> {
    let mut cut = None;
    for (n, &want) in secret.iter().enumerate() {
        let Some(&byte) = text.get(at) else {
            return cut;
        };
        let escaped = (byte == b'%')
            .then(|| Some(hex_value(*text.get(at + 1)?)? << 4 | hex_value(*text.get(at + 2)?)?))
            .flatten();
        match escaped {
            Some(decoded) => {
                let rest = &secret[n..];
                if rest.len() <= 2 && text[at..].starts_with(rest) {
                    cut = Some(at + rest.len());
                }
                if decoded != want {
                    return cut;
                }
                at += 3;
            }
            None => {
                let byte = if form && byte == b'+' { b' ' } else { byte };
                if byte != want {
                    return cut;
                }
                at += 1;
            }
        }
    }
    Some(at)
}

/// Reads the character at a place of a text: the character and how many bytes it takes.
type ReadChar = fn(&[u8], usize) -> Option<(char, usize)>;

/// Where `secret` read character by character with `read` from `at` ends.
fn by_char(text: &[u8], mut at: usize, secret: &str, read: ReadChar) -> Option<usize> {
    for want in secret.chars() {
        let (c, len) = read(text, at)?;
        if c != want {
            return None;
        }
        at += len;
    }
    Some(at)
}

/// The character written as is at `at` (a character boundary).
fn raw_char(text: &[u8], at: usize) -> Option<(char, usize)> {
    let first = *text.get(at)?;
    let len = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    let c = std::str::from_utf8(text.get(at..at + len)?)
        .ok()?
        .chars()
        .next()?;
    Some((c, len))
}

fn hex4(text: &[u8], at: usize) -> Option<u32> {
    text.get(at..at + 4)?
        .iter()
        .try_fold(0u32, |code, &b| Some(code << 4 | u32::from(hex_value(b)?)))
}

/// The character at `at` of a JSON string's contents, as a JSON parser reads it; `None` where
/// a parser would fail (a bare `"`, a control character, a broken escape, a lone surrogate).
fn json_char(text: &[u8], at: usize) -> Option<(char, usize)> {
    let first = *text.get(at)?;
    match first {
        b'"' | 0x00..=0x1f => None,
        b'\\' => {
            let c = match text.get(at + 1)? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let code = hex4(text, at + 2)?;
                    return match code {
                        0xD800..=0xDBFF => {
                            if text.get(at + 6..at + 8)? != b"\\u" {
                                return None;
                            }
                            let low = hex4(text, at + 8)?;
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return None;
                            }
                            let code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            Some((char::from_u32(code)?, 12))
                        }
                        0xDC00..=0xDFFF => None,
                        _ => Some((char::from_u32(code)?, 6)),
                    };
                }
                _ => return None,
            };
            Some((c, 2))
        }
        _ => raw_char(text, at),
    }
}

/// The character at `at` of XML text, as an XML parser reads it; `None` where a parser would
/// fail (an `&` that starts no reference it knows).
fn xml_char(text: &[u8], at: usize) -> Option<(char, usize)> {
    if text.get(at) != Some(&b'&') {
        return raw_char(text, at);
    }
    let window = &text[at..text.len().min(at + LONGEST_REFERENCE)];
    let end = window.iter().position(|&b| b == b';')?;
    let c = match &window[1..end] {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"quot" => '"',
        b"apos" => '\'',
        name => {
            let number = name.strip_prefix(b"#")?;
            let (digits, radix) = match number.first()? {
                b'x' | b'X' => (&number[1..], 16),
                _ => (number, 10),
            };
            if digits.is_empty() || !digits.iter().all(|&b| (b as char).is_digit(radix)) {
                return None;
            }
            let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::credentials::UserName;

    /// A password with a character of each kind an encoding treats apart: a space, the
    /// characters XML, JSON, forms and URLs escape, and non-ASCII ones.
    const PASSWORD: &str = "p&ss wo+rd<1>\"q'\\/%é😀";

    // The same list the leak suites generate from: one place says what "every encoding" is.
    use instamed_soap_test_support::encodings::encodings;

    fn secrets(values: &[&str]) -> Secrets {
        let mut secrets = Secrets::new();
        for value in values {
            secrets.insert(value);
        }
        secrets
    }

    #[test]
    fn a_secret_is_taken_out_in_every_encoding() {
        let secrets = secrets(&[PASSWORD]);
        for (encoding, written) in encodings(PASSWORD) {
            let text = format!("denied for {written}, try again");
            assert_eq!(
                secrets.remove(&text),
                format!("denied for {REDACTED}, try again"),
                "{encoding}: {written}"
            );
        }
    }

    #[test]
    fn the_basic_tokens_of_both_user_forms_are_secrets_padded_or_not() {
        let credentials = Credentials::new("acct@clinic.test", "pw:with spaces");
        let secrets = Secrets::of(Some(&credentials), None);
        for form in [UserName::AccountId, UserName::LocalPart] {
            let token = credentials.basic_token(form);
            for written in [token.as_str(), token.trim_end_matches('=')] {
                for (encoding, written) in encodings(written) {
                    let text = format!("Authorization: Basic {written}.");
                    assert_eq!(
                        secrets.remove(&text),
                        format!("Authorization: Basic {REDACTED}."),
                        "{encoding}"
                    );
                }
            }
        }
        let api = ApiKey::new("key", "api \"secret\"");
        let secrets = Secrets::of(None, Some(&api));
        assert_eq!(
            secrets.remove("x api \\\"secret\\\" y"),
            format!("x {REDACTED} y")
        );
    }

    /// The look for a byte a match can start with never passes over a secret: each encoding
    /// of secrets starting with each kind of character is found standing alone (no other byte
    /// for the look to see) and between hex digits, as a transaction ID would hold it.
    #[test]
    fn the_start_byte_look_never_passes_over_a_secret() {
        for value in [
            PASSWORD, " pw", "épw", "😀pw", "<pw>", "\"pw", "\\pw", "/pw", "%pw", "+pw",
        ] {
            let secrets = secrets(&[value]);
            for (encoding, written) in encodings(value) {
                assert_eq!(
                    secrets.remove(&written),
                    REDACTED,
                    "{encoding}: {written:?}"
                );
                let text = format!("0A9F{written}B7E2");
                assert_eq!(
                    secrets.remove(&text),
                    format!("0A9F{REDACTED}B7E2"),
                    "{encoding}: {written:?}"
                );
            }
        }
        let secrets = secrets(&["demo-password"]);
        assert!(matches!(
            secrets.remove("BE0000000000000000000000000001F4"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn what_is_not_a_secret_stays_as_it_was() {
        let secrets = secrets(&["hunter2"]);
        for text in [
            "",
            "hunter",
            "Hunter2",
            "hunter%33x",
            "hunter&#50",
            "h\\u0075nter",
        ] {
            assert_eq!(secrets.remove(text), text);
        }
        assert!(matches!(secrets.remove("short"), Cow::Borrowed(_)));
        assert!(matches!(Secrets::new().remove("hunter2"), Cow::Borrowed(_)));
        assert!(!format!("{secrets:?}").contains("hunter2"));
    }

    #[test]
    fn a_secret_holding_another_goes_whole() {
        let secrets = secrets(&["abc", "abcdef"]);
        assert_eq!(
            secrets.remove("xabcdefy abc"),
            format!("x{REDACTED}y {REDACTED}")
        );
    }

    /// Whether `sub`, decoded whole in one encoding by a plain decoder, is `secret`.
    fn reads_as(sub: &str, secret: &str) -> bool {
        let percent = |text: &str| percent_encoding::percent_decode_str(text).collect::<Vec<u8>>();
        sub == secret
            || percent(sub) == secret.as_bytes()
            || percent(&sub.replace('+', " ")) == secret.as_bytes()
            || serde_json::from_str::<String>(&format!("\"{sub}\"")).is_ok_and(|s| s == secret)
            || xml_unescaped(sub).is_some_and(|s| s == secret)
    }

    /// XML text with its references read, or `None` where an `&` starts none.
    fn xml_unescaped(text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let semicolon = rest[at..]
                .find(';')
                .filter(|&end| end < LONGEST_REFERENCE)?;
            let name = &rest[at + 1..at + semicolon];
            out.push(match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let (digits, radix) = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => (hex, 16),
                        None => (number, 10),
                    };
                    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                        return None;
                    }
                    char::from_u32(u32::from_str_radix(digits, radix).ok()?)?
                }
            });
            rest = &rest[at + semicolon + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The search as specified, the slowest way: at each character from the left, the longest
    /// stretch that decodes to a secret.
    fn reference(secrets: &[&str], text: &str) -> String {
        let ends: Vec<usize> = text
            .char_indices()
            .map(|(at, _)| at)
            .chain([text.len()])
            .collect();
        let mut out = String::new();
        let mut at = 0;
        while at < text.len() {
            let found = ends
                .iter()
                .rev()
                .filter(|&&end| end > at)
                .find(|&&end| secrets.iter().any(|s| reads_as(&text[at..end], s)));
            match found {
                Some(&end) => {
                    out.push_str(REDACTED);
                    at = end;
                }
                None => {
                    let c = text[at..].chars().next().unwrap_or_default();
                    out.push(c);
                    at += c.len_utf8();
                }
            }
        }
        out
    }

    fn secret() -> impl Strategy<Value = String> {
        "[ab &<>\"'\\\\/+%;#xé😀]{1,5}"
    }

    proptest! {
        #[test]
        fn the_search_takes_out_what_the_reference_takes_out(
            values in proptest::collection::vec(secret(), 1..3),
            pieces in proptest::collection::vec(
                prop_oneof![
                    "[ab &<>\"'\\\\/+%;#xu0-9A-F]{1,3}",
                    (0..22usize).prop_map(|n| n.to_string()),
                ],
                0..6,
            ),
        ) {
            let forms: Vec<String> = values
                .iter()
                .flat_map(|value| encodings(value))
                .map(|(_, written)| written)
                .collect();
            let text: String = pieces
                .iter()
                .map(|piece| match piece.parse::<usize>() {
                    Ok(n) if n < forms.len() => forms[n].clone(),
                    _ => piece.clone(),
                })
                .collect();
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let found = secrets(&values).remove(&text).into_owned();
            prop_assert_eq!(found, reference(&values, &text), "{:?} in {:?}", values, text);
        }
    }
}
