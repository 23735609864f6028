//! Redaction of JSON bodies (the REST interface).
//!
//! The document is parsed; the value of every key named like a secret becomes the string
//! [`REDACTED`] whatever it was (a string, a number, an object); other strings are swept, and a
//! number that is a card number becomes the string [`REDACTED`]. The result is written back
//! compact, keys in sorted order: a JSON cassette body is the recorded document, not its bytes.

use instamed_soap::exact_json::Json;

use super::{REDACTED, Sweep, names};
use instamed_soap::sensitive::redact_cards;

/// Redacts a JSON document; `None` when it does not parse (then it cannot be judged).
///
/// Numbers are read and written as their own text: through a float, an amount would be stored
/// as another amount (`4.10000000000000000001` as `4.1`), and an integer beyond 64 bits as an
/// approximation.
pub fn redact(text: &str, sweep: &mut Sweep) -> Option<String> {
    let mut value = Json::parse(text).ok()?;
    walk(&mut value, sweep);
    value.sort_names();
    Some(value.to_string())
}

/// The parser's own depth limit (128) bounds this recursion.
fn walk(value: &mut Json, sweep: &mut Sweep) {
    match value {
        Json::Object(members) => {
            for (key, value) in members.iter_mut() {
                if names::is_secret(key) && *value != Json::Null {
                    if let Json::String(text) = value {
                        sweep.remember(text);
                    }
                    *value = Json::String(REDACTED.to_owned());
                } else {
                    walk(value, sweep);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|item| walk(item, sweep)),
        Json::String(text) => *text = sweep.value(text),
        Json::Number(number) => {
            if redact_cards(number) != number.as_str() {
                *value = Json::String(REDACTED.to_owned());
            }
        }
        Json::Bool(_) | Json::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_and_card_numbers_go() {
        let json = r#"{"Outlet":{"MerchantID":"1"},"Api-Secret":"s3cr3t","card":{"Number":4111111111111111,"CVV":737},"note":"4111 1111 1111 1111","TransactionID":"AB"}"#;
        let out = redact(json, &mut Sweep::default()).unwrap();
        assert_eq!(
            out,
            r#"{"Api-Secret":"[redacted]","Outlet":{"MerchantID":"1"},"TransactionID":"AB","card":{"CVV":"[redacted]","Number":"[redacted]"},"note":"[redacted]"}"#
        );
        assert!(redact("{not json", &mut Sweep::default()).is_none());
    }

    /// A recorded amount stays the amount that was sent.
    #[test]
    fn numbers_are_kept_as_written_never_through_a_float() {
        let json = r#"{"Amount":4.10000000000000000001,"Big":12345678901234567890123,"Pan":9112345678901234568}"#;
        let out = redact(json, &mut Sweep::default()).unwrap();
        assert_eq!(
            out,
            r#"{"Amount":4.10000000000000000001,"Big":12345678901234567890123,"Pan":"[redacted]"}"#
        );
    }
}
