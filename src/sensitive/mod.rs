//! What must never be shown or stored: secrets in every encoding a server or a capture may
//! write them in, card numbers in every grouping a person or a system writes them in, and the
//! names of fields that hold either.
//!
//! One module for every output path, so that a form caught in one place is caught in all:
//! the client's receipts and errors (`Display`, `Debug`, [`Error::report`]), its spans and log
//! lines, the simulator's and the contract servers' request lines, cassettes, the lines of a
//! HAR import, and whatever a tool built on this crate writes.
//!
//! - [`Secrets`]: known secret values (a password, an API secret, the Basic tokens of both
//!   user-name forms) found as written, percent-encoded (`%20` or `+` for a space, either case
//!   of hex), form-encoded, JSON-escaped (`\"`, `\\`, `\/`, `\uXXXX`) and XML-escaped
//!   (`&amp;`, `&#38;`, `&#x26;`);
//! - [`redact_cards`]: card numbers, 13 to 19 digits passing the Luhn check ([`luhn`]), written
//!   in groups of any size separated by spaces, tabs, no-break spaces, dots, dashes, slashes,
//!   underscores or `+` (up to three between two groups), with digits and separators also
//!   percent-encoded, written as XML character references or as JSON `\u` escapes, standing
//!   alone or glued to letters or `_`; a hex identifier (a transaction ID, a GUID) that holds a
//!   card-like run of digits comes back whole;
//! - [`shown`]: text from the outside world that a line is about to show (a URL path, a query,
//!   a header name, an operation name), cards redacted and control characters dropped; [`route`]:
//!   a path reduced to its words, for a line that cannot know what else to take out;
//! - [`names`]: which names (of elements, attributes, form keys, JSON keys, headers) hold
//!   secrets.
//!
//! `docs/redaction.md` lists every form covered and every output path swept.
//!
//! [`Error::report`]: crate::Error::report

mod cards;
pub mod names;
mod secrets;

use std::borrow::Cow;

pub use cards::{luhn, redact_cards};
pub use secrets::Secrets;

pub(crate) use cards::trim_hanging_digits;

/// What replaces a secret or a card number.
pub const REDACTED: &str = "[redacted]";

/// `path` as a route: each segment that is not a plain word (ASCII letters, with `.`, `-` or
/// `_` between them) becomes `{…}`, so `/rest/payment/4111111111111111/void` is
/// `/rest/payment/{…}/void`. For a span or a line whose writer knows nothing of the request's
/// secrets: a segment with a digit, an escape or a mark in it may be anything.
pub fn route(path: &str) -> Cow<'_, str> {
    let plain = |segment: &str| {
        segment
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b"._-".contains(&b))
    };
    if path.split('/').all(plain) {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| if plain(segment) { segment } else { "{…}" })
        .collect();
    Cow::Owned(segments.join("/"))
}

/// `text` as a line may show it: card numbers redacted ([`redact_cards`]) and control characters
/// left out, so that a URL path, a query, a header name or an operation name taken from a
/// request can go into a log line, a skip line, an error or a span field without carrying a
/// card number or forging a line.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.contains(char::is_control) {
        return redact_cards(text);
    }
    // Masked after the control characters go: what is judged is what is shown.
    let printable: String = text.chars().filter(|c| !c.is_control()).collect();
    Cow::Owned(redact_cards(&printable).into_owned())
}

/// `url` with everything between its scheme and its last `@` replaced by `***`, so that an
/// address can go in an error message or a log whatever was typed into it. The last `@`
/// anywhere, not only in what a parser takes as the authority: a password with an unencoded
/// `/`, `?` or `#` in it ends the authority early and leaves the rest of it in the path. A
/// path or query is data too: card numbers in it are redacted, control characters left out.
pub fn redacted_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |at| at + 3);
    let url = match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    };
    shown(&url).into_owned()
}

/// `bytes` as text when they are UTF-8; `None` otherwise. With `cut`, `bytes` are the start of
/// a text, and a character cut short at their end is left out.
///
/// Text that is not UTF-8 is never shown as lossy text: a password echoed in UTF-16 or
/// Latin-1 would lose its non-ASCII characters to U+FFFD, the sweep (which finds a secret
/// whole, in the encodings a text format writes) would no longer know it, and the rest of it
/// would be printed. The client reads only UTF-8 answers, so such a body is refused anyway.
pub(crate) fn utf8_text(bytes: &[u8], cut: bool) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(error) if cut && error.error_len().is_none() => {
            std::str::from_utf8(&bytes[..error.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_path_holds_no_card_and_no_line_break() {
        assert_eq!(
            shown("/rest/payment/4111111111111111/void"),
            "/rest/payment/[redacted]/void"
        );
        assert_eq!(
            shown("/simulator/payments/4111%201111%201111%201111"),
            "/simulator/payments/[redacted]"
        );
        assert_eq!(shown("/a\r\nforged line"), "/aforged line");
        assert!(matches!(
            shown("/payment/service.asmx"),
            Cow::Borrowed("/payment/service.asmx")
        ));
    }

    #[test]
    fn a_route_keeps_the_words_of_a_path_only() {
        for (path, route_of) in [
            ("/payment/service.asmx", "/payment/service.asmx"),
            ("/rest/payment/refund-simple", "/rest/payment/refund-simple"),
            (
                "/rest/payment/4111111111111111/void",
                "/rest/payment/{…}/void",
            ),
            ("/cards/4111%201111/x", "/cards/{…}/x"),
            ("/p/Tr0ub4dor%26x/a", "/p/{…}/a"),
            ("/", "/"),
        ] {
            assert_eq!(route(path), route_of);
        }
    }

    proptest::proptest! {
        /// Any text at all, however odd its characters and escapes: nothing panics, and a
        /// sweep never grows a text that held nothing to take out.
        #[test]
        fn any_text_is_swept_without_a_panic(
            text in "(\\PC|[%&#;x\\\\u0-9 ._/+-]){0,64}",
            secret in "\\PC{1,6}",
        ) {
            let mut secrets = Secrets::new();
            secrets.insert(&secret);
            let removed = secrets.remove(&text);
            let masked = redact_cards(&removed);
            let _ = (shown(&text), route(&text), trim_hanging_digits(&text));
            if !masked.contains(REDACTED) {
                proptest::prop_assert_eq!(masked.as_ref(), text.as_str());
            }
        }
    }
}
