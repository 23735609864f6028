//! Cassette bodies laid out for a reviewer: XML indented one element a line, attributes in a
//! stable order; JSON indented, its numbers and strings kept as written.
//!
//! Only white space between elements (XML) or between tokens (JSON) changes: the matcher
//! compares by meaning and ignores it, so a laid-out cassette matches and verifies as the
//! recorded one does. A body that cannot be laid out safely is kept as it is: one that is
//! not UTF-8, XML with mixed content (text beside elements, where white space is content),
//! a document that does not parse, and form pairs (a line break inside them would be data).

use quick_xml::events::{BytesStart, Event};

use crate::cassette::{Cassette, Message};

const INDENT: &str = "  ";

impl Cassette {
    /// The same cassette, its bodies laid out (see [`pretty`](crate::pretty)).
    pub fn pretty_printed(&self) -> Self {
        let mut laid_out = self.clone();
        laid_out.request = pretty_message(&self.request);
        laid_out.response = pretty_message(&self.response);
        laid_out
    }
}

fn pretty_message(message: &Message) -> Message {
    let mut message = message.clone();
    if let Some(body) = body(&message.body) {
        message.body = body.into_bytes();
    }
    message
}

/// `body` laid out, when it is XML or JSON that can be laid out safely.
pub fn body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.trim_start();
    if start.starts_with('<') {
        xml(text)
    } else if start.starts_with(['{', '[']) {
        json(text)
    } else {
        None
    }
}

/// XML one element a line; `None` for mixed content, a DTD or XML that does not parse.
pub fn xml(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut events = Vec::new();
    loop {
        match reader.read_event().ok()? {
            Event::Eof => break,
            Event::DocType(_) => return None,
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            event => events.push(event.into_owned()),
        }
    }
    let mut out = String::new();
    let mut depth = 0usize;
    let mut index = 0;
    while index < events.len() {
        let event = &events[index];
        let pad = INDENT.repeat(depth);
        match event {
            Event::Start(start) => {
                // An element holding text alone stays on one line, its text untouched.
                let texts = events[index + 1..]
                    .iter()
                    .take_while(|e| {
                        matches!(e, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))
                    })
                    .count();
                let closes = matches!(events.get(index + 1 + texts), Some(Event::End(_)));
                if !closes && texts > 0 {
                    return None;
                }
                line(&mut out, &pad, &open(start, false));
                if closes {
                    for inner in &events[index + 1..=index + texts] {
                        out.push_str(&raw(inner)?);
                    }
                    out.push_str(&raw(&events[index + 1 + texts])?);
                    index += texts + 2;
                    continue;
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                line(&mut out, &INDENT.repeat(depth), &raw(event)?);
            }
            Event::Empty(start) => line(&mut out, &pad, &open(start, true)),
            // Text beside elements: white space there is content.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => return None,
            other => line(&mut out, &pad, &raw(other)?),
        }
        index += 1;
    }
    Some(out)
}

fn line(out: &mut String, pad: &str, text: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(pad);
    out.push_str(text);
}

/// A start tag, its namespace declarations first, then its attributes by name: a stable
/// order whatever order the sender chose. Values are kept as written, escapes included.
fn open(start: &BytesStart<'_>, empty: bool) -> String {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes: Vec<(String, String)> = start
        .attributes()
        .filter_map(Result::ok)
        .map(|a| {
            (
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                String::from_utf8_lossy(&a.value).into_owned(),
            )
        })
        .collect();
    attributes.sort_by(|(a, _), (b, _)| {
        let declaration = |n: &str| !(n == "xmlns" || n.starts_with("xmlns:"));
        (declaration(a), a).cmp(&(declaration(b), b))
    });
    let mut tag = format!("<{name}");
    for (key, value) in attributes {
        let quote = if value.contains('"') { '\'' } else { '"' };
        tag.push_str(&format!(" {key}={quote}{value}{quote}"));
    }
    tag.push_str(if empty { "/>" } else { ">" });
    tag
}

/// An event as it was written.
fn raw(event: &Event<'_>) -> Option<String> {
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
    Some(match event {
        Event::Text(t) => text(t)?,
        Event::CData(t) => format!("<![CDATA[{}]]>", text(t)?),
        Event::GeneralRef(r) => format!("&{};", text(r)?),
        Event::End(end) => format!("</{}>", text(end.name().as_ref())?),
        Event::Comment(c) => format!("<!--{}-->", text(c)?),
        Event::Decl(d) => format!("<?{}?>", text(d)?),
        Event::PI(p) => format!("<?{}?>", text(p)?),
        _ => return None,
    })
}

/// JSON indented; strings and numbers kept byte for byte. `None` when the brackets and
/// quotes do not balance.
pub fn json(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&INDENT.repeat(depth));
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                loop {
                    let c = chars.next()?;
                    out.push(c);
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                if !out.ends_with(['{', '[']) {
                    depth = depth.checked_sub(1)?;
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    (depth == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_laid_out_one_element_a_line_attributes_in_order() {
        let laid =
            xml(r#"<?xml version="1.0"?><a b="2" xmlns="urn:x" a="1"><c>t &amp; u</c><d/></a>"#)
                .unwrap();
        assert_eq!(
            laid,
            "<?xml version=\"1.0\"?>\n<a xmlns=\"urn:x\" a=\"1\" b=\"2\">\n  <c>t &amp; u</c>\n  <d/>\n</a>"
        );
        assert_eq!(xml("<a>text<b/></a>"), None, "mixed content is left alone");
    }

    #[test]
    fn json_is_indented_its_values_untouched() {
        assert_eq!(
            json(r#"{"a":[1.50,{}],"b":"x, {y}: \"z\""}"#).unwrap(),
            "{\n  \"a\": [\n    1.50,\n    {}\n  ],\n  \"b\": \"x, {y}: \\\"z\\\"\"\n}"
        );
        assert_eq!(json(r#"{"a":"#), None);
    }
}
