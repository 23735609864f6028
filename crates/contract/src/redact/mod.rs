//! Secrets are removed at record time, so that they never reach the disk.
//!
//! Redaction reads each part of an exchange for what it is, never as raw bytes alone:
//! - **headers** are kept by an allowlist ([`KEPT_HEADERS`]); any other header keeps its name
//!   and is stored as [`REDACTED`] (an `Authorization` with or without a scheme word, cookies,
//!   API keys, and whatever a service invents), and volatile ones ([`DROPPED_HEADERS`]) are
//!   left out;
//! - **bodies** are decoded in their charset (a byte-order mark, the declared `charset`, the
//!   XML declaration; UTF-16 and Latin-1/Windows-1252 included: see
//!   [`charset`](super::charset)) and read as XML ([`markup`]: elements and attributes, after
//!   references and CDATA are decoded, comments included), as form pairs ([`form`]: after
//!   percent-decoding) or as JSON ([`json`]). A body that cannot be decoded, a compressed
//!   body, or XML declaring entities of its own is not stored: a placeholder saying why takes
//!   its place, and the recorder warns;
//! - **the request target**: its query string is read as form pairs, for every request (an
//!   NVP GET included);
//! - **names**: [`names::is_secret`] judges element, attribute, key and header names by a
//!   documented list and by pattern, case-blind;
//! - **values seen as secret are remembered** (the password in an `Authorization: Basic`
//!   token, an API key, a cookie, a password field) and removed wherever else they appear in
//!   the exchange, in any encoding [`Secrets`] reads (percent- and form-encoded, JSON- and
//!   XML-escaped);
//! - **the last net**, [`redact_cards`], replaces every card number left anywhere, in any
//!   grouping and encoding.
//!
//! Names, remembered secrets and card numbers are judged by [`instamed_soap::sensitive`], the module
//! the client's own output goes through too.
//!
//! `docs/redaction.md` lists what is redacted and the probes that test it.

pub mod form;
pub mod json;
pub mod markup;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;

use super::charset::Charset;
pub use instamed_soap::sensitive::{REDACTED, names};
use instamed_soap::sensitive::{Secrets, redact_cards};

/// Headers stored with their values (still swept for card numbers and remembered secrets).
/// Every other header is stored with [`REDACTED`] for a value.
pub const KEPT_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "soapaction",
    "content-encoding",
    "www-authenticate",
    "location",
    // The SSO login's answer: the page's URL, its token redacted as a `Location`'s query is.
    "relaystate",
];

/// Headers left out of cassettes: they change from run to run or from release to release, and
/// no contract rests on them.
pub const DROPPED_HEADERS: &[&str] = &[
    "date",
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "host",
    "user-agent",
];

/// `Content-Type` parameters stored as sent; any other parameter's value is redacted.
const KEPT_PARAMETERS: &[&str] = &["charset", "action", "boundary"];

/// Remembered secrets shorter than this are not searched for elsewhere: three digits of a CVV
/// would match inside unrelated numbers. Such values are still removed where their field is.
const SHORTEST_REMEMBERED: usize = 4;

/// The secrets one exchange has shown, and the sweep that removes them with card numbers.
#[derive(Debug, Default)]
pub struct Sweep {
    known: Secrets,
}

impl Sweep {
    /// Remembers a secret value, to remove it wherever else it appears.
    pub fn remember(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() >= SHORTEST_REMEMBERED {
            self.known.insert(value);
        }
    }

    /// A decoded value (text, attribute, form value, JSON string) with secrets removed: a
    /// credential as a whole, remembered secrets and card numbers wherever they are.
    pub fn value(&mut self, decoded: &str) -> String {
        if names::is_secret_value(decoded) {
            self.remember(decoded);
            if let Some((_, token)) = decoded.trim().split_once(' ') {
                self.remember(token);
            }
            return REDACTED.to_owned();
        }
        self.text(decoded)
    }

    /// Raw text (a whole body, a header value, a start line) with remembered secrets, in any
    /// of their encodings, and card numbers removed.
    pub fn text(&self, raw: &str) -> String {
        redact_cards(&self.known.remove(raw)).into_owned()
    }

    /// Remembers the secrets a header shows: the whole value of a header named like a secret,
    /// the token after an authorization scheme, the password inside a Basic token, and each
    /// cookie's value.
    fn learn_header(&mut self, name: &str, value: &str) {
        if !names::is_secret(name) {
            return;
        }
        self.remember(value);
        // Every word after the scheme may be the secret, whatever else a client put beside
        // it: a value read in a way the server would not is still a value an answer can echo.
        let words: Vec<&str> = value.split_whitespace().collect();
        let tokens = if words.len() > 1 {
            &words[1..]
        } else {
            &words[..]
        };
        for token in tokens {
            self.remember(token);
        }
        if let [scheme, token, ..] = words.as_slice()
            && scheme.eq_ignore_ascii_case("basic")
        {
            let decoded = BASE64.decode(token).ok();
            if let Some(pair) = decoded.as_deref().and_then(|d| std::str::from_utf8(d).ok()) {
                self.remember(pair);
                // The password, and the token of the other user-name form too: an answer may
                // echo either.
                if let Some((user, password)) = pair.split_once(':')
                    && password.trim().chars().count() >= SHORTEST_REMEMBERED
                {
                    self.known.insert_basic(user, password.trim());
                }
            }
        }
        for cookie in value.split(';') {
            if let Some((_, cookie_value)) = cookie.split_once('=') {
                self.remember(cookie_value);
            }
        }
    }
}

/// A body as the redaction leaves it: text to sweep and encode again, or a placeholder.
#[derive(Debug)]
pub(crate) struct Body {
    text: String,
    charset: Charset,
}

/// The redaction of one exchange: what its headers and fields showed to be secret is removed
/// from every part of it.
pub(crate) struct Redaction {
    sweep: Sweep,
    /// Why a body was not stored, for the recorder to warn about.
    pub warnings: Vec<String>,
}

impl Redaction {
    /// Starts redacting an exchange, remembering the secrets its headers show.
    pub fn new(request_headers: &HeaderMap, response_headers: &HeaderMap) -> Self {
        let mut sweep = Sweep::default();
        for (name, value) in request_headers.iter().chain(response_headers) {
            sweep.learn_header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
        Self {
            sweep,
            warnings: Vec::new(),
        }
    }

    /// A request target (`/path?query`), its query read as form pairs.
    pub fn target(&mut self, target: &str) -> String {
        match target.split_once('?') {
            Some((path, query)) => {
                let query = form::redact(query, &mut self.sweep);
                format!("{}?{query}", self.sweep.text(path))
            }
            None => self.sweep.text(target),
        }
    }

    /// Headers by the allowlist: kept ones swept, others [`REDACTED`], volatile ones left out.
    pub fn headers(&mut self, headers: &HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes());
                let value = match name.as_str() {
                    "content-type" => content_type(&value),
                    // URLs: their queries read as form pairs (an SSO page's `token`).
                    "location" | "relaystate" => self.target(&value),
                    kept if KEPT_HEADERS.contains(&kept) => value.into_owned(),
                    _ => REDACTED.to_owned(),
                };
                (name.as_str().to_owned(), value)
            })
            .collect()
    }

    /// A body read for what it is; see the module documentation. `form_hint` says the
    /// exchange is NVP, whose bodies are form pairs whatever their media type says.
    pub fn body(&mut self, headers: &HeaderMap, body: &[u8], form_hint: bool) -> Body {
        if body.is_empty() {
            return Body {
                text: String::new(),
                charset: Charset::UTF_8,
            };
        }
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if let Some(coding) = header(http::header::CONTENT_ENCODING)
            .filter(|coding| !coding.trim().eq_ignore_ascii_case("identity"))
        {
            return self.placeholder(body, &format!("a body sent with Content-Encoding {coding}"));
        }
        let content_type = header(http::header::CONTENT_TYPE);
        let charset = Charset::of(content_type.as_deref(), body);
        let Some(text) = charset.decode(body) else {
            return self.placeholder(
                body,
                &format!("a body that is not valid {}", charset.label()),
            );
        };
        let media_type = content_type
            .as_deref()
            .and_then(|t| t.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let start = text.trim_start();
        let declared_json = media_type.ends_with("json");
        let redacted = if declared_json || (media_type.is_empty() && start.starts_with(['{', '[']))
        {
            match json::redact(&text, &mut self.sweep) {
                Some(json) => Some(json),
                None if declared_json => {
                    return self.placeholder(body, "a JSON body that does not parse");
                }
                None => Some(self.sweep.text(&text)),
            }
        } else if media_type == "application/x-www-form-urlencoded"
            || (!start.starts_with('<') && (form_hint || looks_like_form(&text)))
        {
            Some(form::redact(&text, &mut self.sweep))
        } else if media_type.contains("xml") || media_type == "text/html" || start.starts_with('<')
        {
            markup::redact(&text, &mut self.sweep)
        } else {
            Some(self.sweep.text(&text))
        };
        match redacted {
            Some(text) => Body { text, charset },
            None => self.placeholder(body, "an XML body declaring entities of its own (a DTD)"),
        }
    }

    fn placeholder(&mut self, body: &[u8], why: &str) -> Body {
        self.warnings.push(format!("{why} was not stored"));
        Body {
            text: format!("{REDACTED} {why}: {} bytes not stored", body.len()),
            charset: Charset::UTF_8,
        }
    }

    /// The last pass over a piece of text once every secret of the exchange is known.
    pub fn finish_text(&self, text: &str) -> String {
        self.sweep.text(text)
    }

    /// The body as text, after the last pass: for a journal, which is text whatever the
    /// body's charset.
    pub fn finish_body_text(&self, body: Body) -> String {
        self.sweep.text(&body.text)
    }

    /// The body's bytes, in its charset, after the last pass.
    pub fn finish_body(&self, body: Body) -> Vec<u8> {
        let text = self.sweep.text(&body.text);
        body.charset
            .encode(&text)
            .unwrap_or_else(|| text.into_bytes())
    }
}

/// A `Content-Type` with parameters other than [`KEPT_PARAMETERS`] redacted.
fn content_type(value: &str) -> String {
    let mut parts = value.split(';');
    let mut out = parts.next().unwrap_or("").trim().to_owned();
    for part in parts {
        let (key, parameter) = part.split_once('=').unwrap_or((part, ""));
        let key = key.trim();
        out.push_str("; ");
        out.push_str(key);
        if KEPT_PARAMETERS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            out.push('=');
            out.push_str(parameter.trim());
        } else if !parameter.is_empty() {
            out.push('=');
            out.push_str(REDACTED);
        }
    }
    out
}

/// Whether text reads as form pairs: `key=value` joined by `&`, no white space inside.
fn looks_like_form(text: &str) -> bool {
    let text = text.trim_end();
    text.contains('=') && !text.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn headers_are_kept_by_an_allowlist() {
        let request = map(&[
            ("content-type", "text/xml; charset=utf-8; token=abc"),
            ("soapaction", "\"urn:x/Op\""),
            ("authorization", "ZGVtbzpzZWNyZXQ="),
            ("x-anything", "who knows"),
            ("date", "today"),
        ]);
        let mut exchange = Redaction::new(&request, &HeaderMap::new());
        assert_eq!(
            exchange.headers(&request),
            vec![
                (
                    "content-type".to_owned(),
                    "text/xml; charset=utf-8; token=[redacted]".to_owned()
                ),
                ("soapaction".to_owned(), "\"urn:x/Op\"".to_owned()),
                ("authorization".to_owned(), REDACTED.to_owned()),
                ("x-anything".to_owned(), REDACTED.to_owned()),
            ]
        );
    }

    #[test]
    fn secrets_seen_in_headers_are_removed_everywhere_in_any_encoding() {
        let request = map(&[("authorization", "Basic ZGVtbzpzM2NyZXQrcGFzcw==")]);
        let mut exchange = Redaction::new(&request, &HeaderMap::new());
        let target = exchange.target("/p?q=ZGVtbzpzM2NyZXQrcGFzcw%3D%3D&echo=s3cret%2Bpass");
        assert_eq!(target, "/p?q=[redacted]&echo=[redacted]");
        let body = exchange.body(&HeaderMap::new(), b"<a>s3cret+pass</a>", false);
        assert_eq!(exchange.finish_body(body), b"<a>[redacted]</a>");
    }

    #[test]
    fn undecodable_bodies_become_a_placeholder() {
        let headers = map(&[("content-type", "text/xml; charset=utf-8")]);
        let mut exchange = Redaction::new(&headers, &HeaderMap::new());
        let body = exchange.body(&headers, b"<a>4111111111111111 caf\xe9</a>", false);
        let stored = String::from_utf8(exchange.finish_body(body)).unwrap();
        assert!(
            stored.starts_with("[redacted] a body that is not valid UTF-8"),
            "{stored}"
        );
        assert_eq!(exchange.warnings.len(), 1);
    }
}
