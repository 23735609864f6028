//! Generated leaks: a password, its Basic tokens and test card numbers, each written in every
//! encoding or grouping a server, a proxy or a capture may write it in; and [`leaked`], which
//! finds any of them, whole or in part, in what a program printed or stored.
//!
//! The suites that search an output path (`tests/sensitive.rs`, `cli/tests/sensitive.rs`) put
//! each leak where a hostile server, a client or a capture would, and ask [`leaked`] about
//! every byte that came out.

use base64::Engine as _;
use instamed_soap::Protocol;

use super::{PAYMENT, Reply, TNS, Version, aspnet_fault, void_result};

/// The account the leaks' Basic tokens are for.
pub const ACCOUNT: &str = "clinic@instamed.test";
/// A password with a character of each kind an encoding treats apart: a space, the characters
/// XML, JSON, forms and URLs escape, and a non-ASCII one. Its first nine characters are the
/// same in every encoding, so that a part left behind is found too.
pub const PASSWORD: &str = "Tr0ub4dor&3 x<y>\"q'\\/+é";
/// What every encoding of [`PASSWORD`] starts with.
const PASSWORD_HEAD: &str = "Tr0ub4dor";
/// Test card numbers of each length, all Luhn-valid.
pub const CARDS: [&str; 4] = [
    "4111111111111111",    // Visa, 16 digits
    "378282246310005",     // American Express, 15
    "4222222222222",       // Visa, 13
    "6304939911111111112", // Maestro, 19
];
/// A CVV, found wherever it is written: four digits that nothing else here holds.
pub const CVV: &str = "7391";

/// What a leak gives away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The password or a Basic token.
    Secret,
    /// A card number.
    Card,
}

/// One way a secret or a card may be written.
#[derive(Debug, Clone)]
pub struct Leak {
    /// What it is and how it is written, for failure messages.
    pub name: String,
    /// The text as written.
    pub written: String,
    /// Whether it is a secret or a card, for the suites that search each apart.
    pub kind: Kind,
    /// Whether every byte of it may stand in a URL as it is (a path segment, a query value).
    pub url_safe: bool,
}

/// The Basic token of `user` and [`PASSWORD`].
pub fn token(user: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}"))
}

/// The two tokens a client may send: the whole account ID, and its part before `@`.
pub fn tokens() -> [String; 2] {
    [
        token(ACCOUNT),
        token(ACCOUNT.split('@').next().unwrap_or(ACCOUNT)),
    ]
}

use super::encodings::encodings;

/// Every way a person or a system groups the digits of `card`, and glues them to what stands
/// beside them.
fn groupings(card: &str) -> Vec<(String, String)> {
    let group = |sizes: &[usize], separator: &str| {
        let mut parts = Vec::new();
        let mut at = 0;
        for size in sizes {
            let end = (at + size).min(card.len());
            if at < end {
                parts.push(&card[at..end]);
            }
            at = end;
        }
        if at < card.len() {
            parts.push(&card[at..]);
        }
        parts.join(separator)
    };
    let mut written = vec![("as written".to_owned(), card.to_owned())];
    for (name, separator) in [
        ("spaces", " "),
        ("double spaces", "  "),
        ("tabs", "\t"),
        ("no-break spaces", "\u{a0}"),
        ("narrow no-break spaces", "\u{202f}"),
        ("dots", "."),
        ("dashes", "-"),
        ("spaced dashes", " - "),
        ("slashes", "/"),
        ("underscores", "_"),
        ("plus signs", "+"),
        ("%20", "%20"),
        ("%09", "%09"),
        ("%C2%A0", "%C2%A0"),
        ("&#32;", "&#32;"),
        ("&nbsp;", "&nbsp;"),
        ("JSON \\t", "\\t"),
        ("JSON \\u00a0", "\\u00a0"),
    ] {
        written.push((format!("in fours, {name}"), group(&[4, 4, 4, 4], separator)));
        written.push((format!("4-6-5, {name}"), group(&[4, 6, 5], separator)));
    }
    let percent: String = card.bytes().map(|b| format!("%{b:02X}")).collect();
    let references: String = card.bytes().map(|b| format!("&#{b};")).collect();
    let json: String = card.bytes().map(|b| format!("\\u{b:04x}")).collect();
    written.extend([
        ("percent-encoded digits".to_owned(), percent),
        ("character references".to_owned(), references),
        ("JSON \\u digits".to_owned(), json),
        ("glued to a word and _".to_owned(), format!("card_{card}")),
        ("glued to letters".to_owned(), format!("card{card}x")),
        ("glued to _ after".to_owned(), format!("{card}_exp")),
    ]);
    written
}

/// Whether every byte of `text` may stand in a URL's path or query as it is.
fn url_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@/%".contains(&b))
}

/// Every leak: the password in every encoding, both Basic tokens as written and
/// percent-encoded, and every test card in every grouping.
pub fn leaks() -> Vec<Leak> {
    let mut leaks = Vec::new();
    for (encoding, written) in encodings(PASSWORD) {
        leaks.push(Leak {
            name: format!("the password, {encoding}"),
            url_safe: url_safe(&written),
            written,
            kind: Kind::Secret,
        });
    }
    for (form, token) in ["account ID", "local part"].into_iter().zip(tokens()) {
        for (encoding, written) in [
            ("as written", token.clone()),
            ("without padding", token.trim_end_matches('=').to_owned()),
            ("percent-encoded", encodings(&token)[1].1.clone()),
            ("JSON-escaped, \\/", token.replace('/', "\\/")),
        ] {
            leaks.push(Leak {
                name: format!("the Basic token of the {form}, {encoding}"),
                url_safe: url_safe(&written),
                written,
                kind: Kind::Secret,
            });
        }
    }
    for card in CARDS {
        for (grouping, written) in groupings(card) {
            leaks.push(Leak {
                name: format!("card {card}, {grouping}"),
                url_safe: url_safe(&written),
                written,
                kind: Kind::Card,
            });
        }
    }
    leaks
}

/// `text` with every escape a leak may be written with read, and every separator between
/// digits taken out: what a reader would piece together.
fn pieced_together(text: &str) -> String {
    let text = text.replace("%C2%A0", " ").replace("%c2%a0", " ");
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        let (value, len) = escape(rest).unwrap_or((Some(c), c.len_utf8()));
        if let Some(value) = value {
            decoded.push(value);
        }
        rest = &rest[len..];
    }
    decoded
        .chars()
        .filter(|c| {
            !matches!(
                c,
                ' ' | '\t' | '\u{a0}' | '\u{202f}' | '.' | '-' | '/' | '_' | '+'
            )
        })
        .collect()
}

/// The character an escape at the start of `text` stands for, and its length.
fn escape(text: &str) -> Option<(Option<char>, usize)> {
    let hex = |digits: &str| {
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
    };
    if let Some(rest) = text.strip_prefix('%') {
        let byte = u8::from_str_radix(rest.get(..2)?, 16).ok()?;
        return Some((Some(char::from(byte)), 3));
    }
    if let Some(rest) = text.strip_prefix("\\u") {
        return Some((hex(rest.get(..4)?), 6));
    }
    if text.starts_with("\\t") || text.starts_with("\\/") {
        return Some((Some(' '), 2));
    }
    if text.starts_with("&nbsp;") {
        return Some((Some(' '), 6));
    }
    if let Some(rest) = text.strip_prefix("&#") {
        let end = rest.find(';').filter(|&end| end <= 8)?;
        let code = match rest[..end].strip_prefix(['x', 'X']) {
            Some(digits) => hex(digits),
            None => rest[..end].parse().ok().and_then(char::from_u32),
        };
        return Some((code, end + 3));
    }
    None
}

/// Everything secret found in `output`, whole or in part, in any of the leaks' forms: the
/// password's first characters, the tokens' first characters, and (once escapes are read and
/// separators taken out) the first twelve digits of each card. Empty when nothing leaked.
pub fn leaked(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    if output.contains(PASSWORD_HEAD) {
        found.push(format!("the password ({PASSWORD_HEAD}…)"));
    }
    for token in tokens() {
        // Its start, and the end that holds the password.
        let tail = &token[token.len() - 20..token.len() - 4];
        for part in [&token[..16], tail] {
            if output.contains(part) {
                found.push(format!("a Basic token ({part})"));
            }
        }
    }
    let pieced = pieced_together(output);
    for card in CARDS {
        if pieced.contains(&card[..12]) {
            found.push(format!("card {card}"));
        }
    }
    found
}

/// Where a hostile server puts the text it echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// The response message of a declined SOAP 1.1 void.
    Soap11Decline,
    /// The response message of a SOAP 1.1 void that succeeded.
    Soap11Receipt,
    /// The reason and the detail of a SOAP 1.2 fault.
    Soap12Fault,
    /// The `errorMessage` of an NVP error answer.
    NvpError,
    /// The `ResponseMessage` of a declined REST void.
    RestDecline,
    /// The body of an HTML page sent with status 500.
    HttpErrorPage,
}

/// Every carrier, for the suites that try each leak in each of them.
pub const CARRIERS: [Carrier; 6] = [
    Carrier::Soap11Decline,
    Carrier::Soap11Receipt,
    Carrier::Soap12Fault,
    Carrier::NvpError,
    Carrier::RestDecline,
    Carrier::HttpErrorPage,
];

impl Carrier {
    /// The protocol the client must speak to read this carrier's answer.
    pub fn protocol(self) -> Protocol {
        match self {
            Carrier::Soap12Fault => Protocol::Soap12,
            Carrier::NvpError => Protocol::Nvp,
            Carrier::RestDecline => Protocol::Rest,
            _ => Protocol::Soap11,
        }
    }

    /// The answer that says `text` to a client, each carrier writing it as its format wants:
    /// the client reads back exactly `text`.
    pub fn reply(self, version: Version, text: &str) -> Reply {
        let message = format!("Refused for {text} (see the log)");
        match self {
            Carrier::Soap11Decline | Carrier::Soap11Receipt => {
                let (status, primary) = match self {
                    Carrier::Soap11Decline => ("D", "C"),
                    _ => ("C", "V"),
                };
                let message = xml_escaped(&message);
                let body = void_result(
                    version,
                    &[
                        ("TransactionStatus", status),
                        ("ResponseCode", "005"),
                        ("ResponseMessage", &message),
                        ("PrimaryTransactionID", PAYMENT),
                        ("PrimaryTransactionStatus", primary),
                    ],
                );
                Reply::xml(200, version, body)
            }
            Carrier::Soap12Fault => {
                let message = xml_escaped(&message);
                let detail = format!("<Echo xmlns=\"{TNS}\">{message}</Echo>");
                Reply::xml(
                    500,
                    version,
                    aspnet_fault(version, "Receiver", &message, &detail),
                )
            }
            Carrier::NvpError => {
                let message: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
                Reply::new(
                    200,
                    "application/x-www-form-urlencoded",
                    format!("errorCode=500&errorMessage={message}"),
                )
            }
            Carrier::RestDecline => {
                let body = serde_json::json!({
                    "TransactionID": PAYMENT,
                    "TransactionStatus": "D",
                    "PrimaryTransactionStatus": "C",
                    "ResponseCode": "005",
                    "ResponseMessage": message,
                });
                Reply::new(200, "application/json", body.to_string())
            }
            Carrier::HttpErrorPage => Reply::new(
                500,
                "text/html",
                format!("<html><body>{message}</body></html>"),
            ),
        }
    }
}

/// Text as an XML writer of this house escapes it: the one escaping the client, the simulator
/// and the contract tools use.
pub use instamed_soap::soap::escaped as xml_escaped;
