//! Response placeholders that echo the request being answered.
//!
//! A cassette's response may hold `{{request.<Field>}}`: when the cassette answers (in
//! `replay`, and in `contract verify` against the request this build sends), the placeholder
//! becomes the value of `<Field>` in that request: the text of the first element of that local
//! name in a SOAP envelope, the value of that key (case-blind) in NVP pairs, or the value of the
//! first key of that name in a REST request's JSON (a string as it is, a number as written). So a cassette
//! whose request says `{{any}}` for the payment answers about the payment it was asked about:
//!
//! ```text
//! <PrimaryTransactionID>{{request.PrimaryTransactionID}}</PrimaryTransactionID>
//! primaryTransactionID={{request.primaryTransactionID}}
//! {"TransactionID":"{{request.TransactionID}}"}
//! ```
//!
//! The value is escaped for where it goes (XML text, or a form value); a field the request
//! does not have echoes as nothing.

use std::borrow::Cow;

/// How a placeholder starts; the field name runs to the next `}}`.
pub const PREFIX: &str = "{{request.";

/// Where a filled value goes, for escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// XML text or attribute values.
    Xml,
    /// Form pairs.
    Form,
    /// The inside of a JSON string (the placeholder is written between quotes).
    Json,
}

/// `body` with every `{{request.<Field>}}` replaced by `field(<Field>)`, escaped for `escape`.
/// A body without placeholders (or that is not UTF-8) is returned as it is.
pub fn fill<'a>(
    body: &'a [u8],
    escape: Escape,
    field: impl Fn(&str) -> Option<String>,
) -> Cow<'a, [u8]> {
    let Some(text) = std::str::from_utf8(body)
        .ok()
        .filter(|t| t.contains(PREFIX))
    else {
        return Cow::Borrowed(body);
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at]);
        let after = &rest[at + PREFIX.len()..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let value = field(after[..end].trim()).unwrap_or_default();
        match escape {
            Escape::Xml => instamed_soap::soap::push_escaped(&mut out, &value),
            Escape::Form => out.extend(form_urlencoded::byte_serialize(value.as_bytes())),
            Escape::Json => {
                let quoted = serde_json::Value::String(value).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Cow::Owned(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_take_the_request_values_escaped() {
        let field = |name: &str| (name == "Id").then(|| "A&B <1>".to_owned());
        let xml = fill(
            b"<Id>{{request.Id}}</Id><X>{{request.Missing}}</X>",
            Escape::Xml,
            field,
        );
        assert_eq!(&*xml, b"<Id>A&amp;B &lt;1&gt;</Id><X></X>");
        let form = fill(b"id={{request.Id}}&x=1", Escape::Form, field);
        assert_eq!(&*form, b"id=A%26B+%3C1%3E&x=1");
        let field = |name: &str| (name == "Id").then(|| "say \"hi\"\\\n".to_owned());
        let json = fill(br#"{"Id":"{{request.Id}}"}"#, Escape::Json, field);
        assert_eq!(&*json, br#"{"Id":"say \"hi\"\\\n"}"#);
        assert!(matches!(
            fill(b"plain", Escape::Xml, field),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            &*fill(b"a {{request.Id", Escape::Xml, field),
            b"a {{request.Id"
        );
    }
}
