//! Redaction of XML (and of HTML error pages, read the same lenient way).
//!
//! The document is read as markup, not searched as text: tags with their attributes, text,
//! CDATA sections, comments and processing instructions. Everything an element named like a
//! secret holds (text, CDATA, comments, child elements) becomes one [`REDACTED`]; an attribute
//! named like a secret keeps its name and loses its value. Other text and attribute values are
//! read after decoding references (`&#52;`, `&amp;`), and rewritten only when a value found in
//! them must go. Anything else stays byte for byte as recorded.
//!
//! The reader keeps a depth counter and no stack of its own, so nesting of any depth costs
//! nothing; it never fails: a truncated document is redacted as far as it goes, and whatever
//! is left inside a secret element at the end is dropped.

use super::{REDACTED, Sweep, names};

/// Redacts an XML document. `None` when the document declares entities of its own (a DTD):
/// their values are not expanded here, so the text cannot be judged and is not stored.
pub fn redact(text: &str, sweep: &mut Sweep) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut depth = 0usize;
    // The depth at which a secret element opened, and whether it held anything.
    let mut secret: Option<(usize, bool)> = None;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            text_node(rest, &mut secret, &mut out, sweep);
            break;
        };
        if open > 0 {
            text_node(&rest[..open], &mut secret, &mut out, sweep);
            rest = &rest[open..];
        }
        let (raw, kind) = markup(rest);
        rest = &rest[raw.len()..];
        match kind {
            Markup::Doctype if raw.contains("<!ENTITY") || raw.contains("<!entity") => {
                return None;
            }
            Markup::Comment | Markup::Cdata | Markup::Instruction | Markup::Doctype => {
                match &mut secret {
                    Some((_, held)) => *held = true,
                    None => out.push_str(raw),
                }
            }
            Markup::End => {
                depth = depth.saturating_sub(1);
                if let Some((at, held)) = secret {
                    if depth != at {
                        continue;
                    }
                    if held {
                        out.push_str(REDACTED);
                    }
                    secret = None;
                }
                out.push_str(raw);
            }
            Markup::Start { empty } => {
                if let Some((_, held)) = &mut secret {
                    *held = true;
                    depth += usize::from(!empty);
                    continue;
                }
                let name = tag_name(raw);
                out.push_str(&start_tag(raw, sweep));
                if !empty {
                    if names::is_secret(local(name)) {
                        secret = Some((depth, false));
                    }
                    depth += 1;
                }
            }
            Markup::Unterminated => {
                // A document cut inside a tag: the rest may hold anything of that tag.
                if secret.is_none() {
                    out.push_str(&sweep.text(raw));
                }
            }
        }
    }
    if let Some((_, true)) = secret {
        out.push_str(REDACTED);
    }
    Some(out)
}

enum Markup {
    Start { empty: bool },
    End,
    Comment,
    Cdata,
    Instruction,
    Doctype,
    Unterminated,
}

/// The markup at the start of `text` (which starts with `<`): its raw bytes and kind.
fn markup(text: &str) -> (&str, Markup) {
    let delimited = |open: &str, close: &str, kind: Markup| match text[open.len()..].find(close) {
        Some(at) => (&text[..open.len() + at + close.len()], kind),
        None => (text, Markup::Unterminated),
    };
    if text.starts_with("<!--") {
        return delimited("<!--", "-->", Markup::Comment);
    }
    if text.starts_with("<![CDATA[") {
        return delimited("<![CDATA[", "]]>", Markup::Cdata);
    }
    if text.starts_with("<?") {
        return delimited("<?", "?>", Markup::Instruction);
    }
    if text.starts_with("<!") {
        // A DOCTYPE may hold an internal subset in brackets, with `>` inside.
        let mut bracket = 0usize;
        for (at, c) in text.char_indices() {
            match c {
                '[' => bracket += 1,
                ']' => bracket = bracket.saturating_sub(1),
                '>' if bracket == 0 => return (&text[..=at], Markup::Doctype),
                _ => {}
            }
        }
        return (text, Markup::Unterminated);
    }
    // A tag ends at the first `>` outside quotes.
    let mut quote: Option<char> = None;
    for (at, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                let raw = &text[..=at];
                let kind = if raw.starts_with("</") {
                    Markup::End
                } else {
                    Markup::Start {
                        empty: raw.ends_with("/>"),
                    }
                };
                return (raw, kind);
            }
            _ => {}
        }
    }
    (text, Markup::Unterminated)
}

fn text_node(raw: &str, secret: &mut Option<(usize, bool)>, out: &mut String, sweep: &mut Sweep) {
    match secret {
        Some((_, held)) => *held |= !raw.trim().is_empty(),
        None => out.push_str(&value(raw, sweep)),
    }
}

/// Text or an attribute value, rewritten only when decoding it shows something to redact.
fn value(raw: &str, sweep: &mut Sweep) -> String {
    let decoded = decode(raw);
    let redacted = sweep.value(&decoded);
    if redacted == decoded {
        raw.to_owned()
    } else {
        instamed_soap::soap::escaped(&redacted).into_owned()
    }
}

/// The element name of a start tag (`<x:CVN a="1">` → `x:CVN`).
fn tag_name(raw: &str) -> &str {
    raw.trim_start_matches('<')
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or("")
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// A start tag with the values of secret attributes replaced and other values swept. An
/// attribute is secret by its own name, or, for `value` and `content`, by the name the tag
/// gives its field (`<input name="cvv" value="…">`, `<Field key="Password" value="…"/>`).
fn start_tag(raw: &str, sweep: &mut Sweep) -> String {
    let name_end = 1 + tag_name(raw).len();
    let mut attributes = Vec::new();
    let mut rest = &raw[name_end..];
    while let Some(quote_at) = rest.find(['"', '\'']) {
        let quote = &rest[quote_at..=quote_at];
        let Some(close) = rest[quote_at + 1..].find(quote) else {
            break;
        };
        let before = &rest[..quote_at];
        let name = before
            .trim_end()
            .trim_end_matches('=')
            .trim_end()
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        let inner = &rest[quote_at + 1..quote_at + 1 + close];
        attributes.push((before, name, quote, inner));
        rest = &rest[quote_at + 1 + close + 1..];
    }
    let secret_field = attributes.iter().any(|(_, name, _, inner)| {
        ["name", "id", "key", "field"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(local(name)))
            && names::is_secret(&decode(inner))
    });
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..name_end]);
    for (before, name, quote, inner) in attributes {
        out.push_str(before);
        out.push_str(quote);
        let is_namespace = name == "xmlns" || name.starts_with("xmlns:");
        let holds_field = secret_field
            && ["value", "content"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(local(name)));
        if (holds_field || names::is_secret(local(name))) && !is_namespace && !inner.is_empty() {
            sweep.remember(&decode(inner));
            out.push_str(REDACTED);
        } else {
            out.push_str(&value(inner, sweep));
        }
        out.push_str(quote);
    }
    out.push_str(rest);
    out
}

/// Text with the predefined entities and character references decoded; anything else (an
/// entity a DTD would define) is kept as written.
pub fn decode(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&end| end <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let decoded = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name.strip_prefix('#').and_then(|number| {
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None if number.bytes().all(|b| b.is_ascii_digit()) => number.parse().ok(),
                    None => None,
                };
                code.and_then(char::from_u32)
            }),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(xml: &str) -> String {
        redact(xml, &mut Sweep::default()).unwrap()
    }

    #[test]
    fn secret_elements_lose_everything_they_hold_whatever_their_prefix() {
        let xml = "<t:Req><t:CVN>123</t:CVN><Track2>;4111111111111111=2512?</Track2><Password/><Amount>10</Amount></t:Req>";
        assert_eq!(
            redacted(xml),
            "<t:Req><t:CVN>[redacted]</t:CVN><Track2>[redacted]</Track2><Password/><Amount>10</Amount></t:Req>"
        );
        for hidden in [
            "<CVN><![CDATA[737]]></CVN>",
            "<CVN><!-- x -->737</CVN>",
            "<CVN>7<!-- x -->37</CVN>",
            "<CVN><a>7</a><b>37</b></CVN>",
            "<CVN>&#55;37</CVN>",
        ] {
            assert_eq!(redacted(hidden), "<CVN>[redacted]</CVN>", "{hidden}");
        }
        assert_eq!(redacted("<CVN>737"), "<CVN>[redacted]");
    }

    #[test]
    fn secret_attributes_lose_their_value() {
        assert_eq!(
            redacted(r#"<Login user="a" password='p&amp;ss' x:Api-Key="k" xmlns:x="urn:k"/>"#),
            r#"<Login user="a" password='[redacted]' x:Api-Key="[redacted]" xmlns:x="urn:k"/>"#
        );
    }

    #[test]
    fn a_field_named_like_a_secret_loses_its_value_attribute() {
        assert_eq!(
            redacted(r#"<input type="text" name="CVV" value="737"><input name="q" value="1">"#),
            r#"<input type="text" name="CVV" value="[redacted]"><input name="q" value="1">"#
        );
    }

    #[test]
    fn cards_are_found_after_decoding_references() {
        assert_eq!(
            redacted("<Note>card &#52;11111111111111&#x31; ok</Note>"),
            "<Note>card [redacted] ok</Note>"
        );
        assert_eq!(
            redacted(r#"<A ref="&#52;111 1111 1111 1111"/>"#),
            r#"<A ref="[redacted]"/>"#
        );
    }

    #[test]
    fn a_dtd_with_entities_is_not_judged() {
        let xml = r#"<!DOCTYPE a [<!ENTITY c "4111">]><a>&c;</a>"#;
        assert!(redact(xml, &mut Sweep::default()).is_none());
    }

    #[test]
    fn deep_nesting_costs_nothing() {
        let xml = format!("{}x{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert_eq!(redacted(&xml), xml);
    }
}
