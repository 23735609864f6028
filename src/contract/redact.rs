//! Secrets are removed at record time, so that they never reach the disk.
//!
//! What counts as a secret: the `Authorization` header (and any `Api-Secret`/`Api-Key`), the
//! content of elements or form fields named like a password, a card verification number or
//! track data, and any Luhn-valid run of 13 to 19 digits standing on its own (a card number
//! wherever it appears).

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Header names whose values are secrets.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "api-secret",
    "cookie",
    "set-cookie",
];

/// Field names (XML local names or form keys, compared case-blind) whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "pwd",
    "cvn",
    "cvv",
    "cvv2",
    "cvc",
    "cid",
    "cardverificationnumber",
    "cardcode",
    "securitycode",
    "track1",
    "track2",
    "track3",
    "trackdata",
    "track1data",
    "track2data",
    "magstripe",
    "swipedata",
    "encryptedtrack",
];

/// Whether a header's value must be redacted.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// Whether a field's value must be redacted.
pub fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// Redacts a body: secret XML elements or form fields, then card numbers anywhere.
pub fn body(text: &str, form: bool) -> String {
    let fields_done = if form {
        form_fields(text)
    } else {
        xml_elements(text)
    };
    card_numbers(&fields_done)
}

/// Replaces the values of secret form fields, keeping the form's order and encoding.
fn form_fields(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if decoded(key).is_some_and(|k| is_secret_field(&k)) => {
                // Left unescaped so that a reviewer reads it; form parsers take brackets as is.
                format!("{key}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn decoded(key: &str) -> Option<String> {
    form_urlencoded::parse(format!("{key}=").as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
}

/// Replaces the text of secret elements (`<x:CVN>123</x:CVN>` → `<x:CVN>[redacted]</x:CVN>`).
/// Works on the text so that the rest of the document stays byte for byte as recorded.
fn xml_elements(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let (before, tag_on) = rest.split_at(open);
        out.push_str(before);
        let Some(close) = tag_on.find('>') else {
            out.push_str(tag_on);
            return out;
        };
        let tag = &tag_on[..=close];
        out.push_str(tag);
        rest = &tag_on[close + 1..];
        let name = tag[1..tag.len() - 1]
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        let opening = !tag.starts_with("</")
            && !tag.starts_with("<?")
            && !tag.starts_with("<!")
            && !tag.ends_with("/>");
        if opening && is_secret_field(local) {
            // The element's text runs to the next tag; a nested element is left for the loop.
            let end = rest.find('<').unwrap_or(rest.len());
            if !rest[..end].trim().is_empty() {
                out.push_str(REDACTED);
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces every Luhn-valid run of 13 to 19 digits that stands on its own (not inside a
/// longer word such as a hex transaction ID).
pub fn card_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &text[start..i];
        // A run inside a longer word (a hex transaction ID, say) is not a card number.
        let alphanumeric = |at: Option<&u8>| at.is_some_and(u8::is_ascii_alphanumeric);
        let standalone = !alphanumeric(start.checked_sub(1).and_then(|b| bytes.get(b)))
            && !alphanumeric(bytes.get(i));
        if standalone && (13..=19).contains(&run.len()) && luhn(run) {
            out.push_str(&text[last..start]);
            out.push_str(REDACTED);
            last = i;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// The Luhn check card numbers carry.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (position, byte) in digits.bytes().rev().enumerate() {
        let mut digit = u32::from(byte - b'0');
        if position % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_found_anywhere_and_only_when_luhn_valid() {
        let text =
            "pan 4111111111111111, amex 340000000000009; id 4111111111111112 guid EE52401813A74328";
        let out = card_numbers(text);
        assert_eq!(
            out,
            "pan [redacted], amex [redacted]; id 4111111111111112 guid EE52401813A74328"
        );
        assert_eq!(card_numbers("12345"), "12345");
        // Inside a hex ID a Luhn-valid run of digits is part of the ID, not a card number.
        let id = "EE5A4111111111111111B2";
        assert_eq!(card_numbers(id), id);
        assert_eq!(
            card_numbers("<CardNumber>4111111111111111</CardNumber>"),
            "<CardNumber>[redacted]</CardNumber>"
        );
    }

    #[test]
    fn secret_elements_lose_their_text_whatever_their_prefix() {
        let xml = "<t:Req><t:CVN>123</t:CVN><Track2>;4111111111111111=2512?</Track2><Password/><Amount>10</Amount></t:Req>";
        assert_eq!(
            body(xml, false),
            "<t:Req><t:CVN>[redacted]</t:CVN><Track2>[redacted]</Track2><Password/><Amount>10</Amount></t:Req>"
        );
    }

    #[test]
    fn secret_form_fields_are_redacted_case_blind() {
        let form = "cardNumber=5500000000000004&CVV2=999&amount=1.00&password=hunter2";
        assert_eq!(
            body(form, true),
            "cardNumber=[redacted]&CVV2=[redacted]&amount=1.00&password=[redacted]"
        );
    }
}
