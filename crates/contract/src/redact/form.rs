//! Redaction of form-encoded pairs: NVP bodies and every query string.
//!
//! Keys and values are judged after percent-decoding (`+` is a space), so
//! `merchant%50assword` is a password and `4111%201111…` a card. A pair whose key is secret
//! keeps its key and gets [`REDACTED`] for a value; any other pair is rewritten only when its
//! decoded key or value holds something to redact. Untouched pairs keep their bytes.

use percent_encoding::percent_decode_str;

use super::{REDACTED, Sweep, names};

/// Redacts `key=value&…` text.
pub fn redact(text: &str, sweep: &mut Sweep) -> String {
    text.split('&')
        .map(|pair| {
            let (raw_key, raw_value) = match pair.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (pair, None),
            };
            let key = decode(raw_key);
            if names::is_secret(&key) {
                let value = raw_value.map(decode).unwrap_or_default();
                if value.is_empty() {
                    return pair.to_owned();
                }
                sweep.remember(&value);
                // Left unescaped so that a reviewer reads it; form parsers take brackets as is.
                return format!("{}={REDACTED}", part(raw_key, &key, sweep));
            }
            match raw_value {
                Some(raw_value) => {
                    let value = decode(raw_value);
                    format!(
                        "{}={}",
                        part(raw_key, &key, sweep),
                        part(raw_value, &value, sweep)
                    )
                }
                None => part(raw_key, &key, sweep),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The raw text of a key or value, or its redacted form when redaction changes it.
fn part(raw: &str, decoded: &str, sweep: &mut Sweep) -> String {
    let redacted = sweep.value(decoded);
    if redacted == decoded {
        raw.to_owned()
    } else {
        // Brackets stay readable; everything else a form needs escaped is escaped.
        form_urlencoded::byte_serialize(redacted.as_bytes())
            .collect::<String>()
            .replace("%5Bredacted%5D", REDACTED)
    }
}

/// A key or value percent-decoded, `+` read as a space.
pub fn decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(form: &str) -> String {
        redact(form, &mut Sweep::default())
    }

    #[test]
    fn secret_keys_are_judged_decoded_and_case_blind() {
        assert_eq!(
            redacted("cardNumber=5500000000000004&CVV2=999&amount=1.00&password=hunter2"),
            "cardNumber=[redacted]&CVV2=[redacted]&amount=1.00&password=[redacted]"
        );
        assert_eq!(
            redacted("userPassword=a&merchant%50assword=b&Track1Data=c&x=1"),
            "userPassword=[redacted]&merchant%50assword=[redacted]&Track1Data=[redacted]&x=1"
        );
    }

    #[test]
    fn values_are_judged_decoded() {
        assert_eq!(
            redacted("note=4111+1111+1111+1111&ref=%34111111111111111&a=b"),
            "note=[redacted]&ref=[redacted]&a=b"
        );
        assert_eq!(
            redacted("h=Basic%20ZGVtbzpkZW1v&empty=&flag"),
            "h=[redacted]&empty=&flag"
        );
    }
}
