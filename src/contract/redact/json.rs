//! Redaction of JSON bodies (the REST interface).
//!
//! The document is parsed; the value of every key named like a secret becomes the string
//! [`REDACTED`] whatever it was (a string, a number, an object); other strings are swept, and a
//! number that is a card number becomes the string [`REDACTED`]. The result is written back
//! compact, keys in sorted order: a JSON cassette body is the recorded document, not its bytes.

use serde_json::Value;

use super::{REDACTED, Sweep, cards, names};

/// Redacts a JSON document; `None` when it does not parse (then it cannot be judged).
pub fn redact(text: &str, sweep: &mut Sweep) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    walk(&mut value, sweep);
    serde_json::to_string(&value).ok()
}

/// The parser's own depth limit (128) bounds this recursion.
fn walk(value: &mut Value, sweep: &mut Sweep) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if names::is_secret(key) && !value.is_null() {
                    if let Value::String(text) = value {
                        sweep.remember(text);
                    }
                    *value = Value::String(REDACTED.to_owned());
                } else {
                    walk(value, sweep);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, sweep)),
        Value::String(text) => *text = sweep.value(text),
        Value::Number(number) => {
            if cards::sweep(&number.to_string()) != number.to_string() {
                *value = Value::String(REDACTED.to_owned());
            }
        }
        Value::Bool(_) | Value::Null => {}
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
}
