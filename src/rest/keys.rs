//! What the keys of a JSON answer say before a model reads it.
//!
//! serde reads a key exactly as spelled and, for a key the model does not know, not at all: a
//! `transactionStatus` beside `TransactionStatus` would be skipped without a word, and an error
//! body whose statuses do not fit the model would read as if it had none. A verdict may hang on
//! those keys, so they are looked at first, once, by this scan.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

/// The keys of one JSON document: whether any object in it, at any depth, has a key naming a
/// transaction status, and the keys of its top-level object.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    /// Whether a key at any depth names `TransactionStatus` or `PrimaryTransactionStatus`,
    /// whatever its case or underscores.
    mentions_status: bool,
    /// The keys of the top-level object, in document order, repeats included.
    top: Vec<String>,
    /// Whether the document parsed as JSON at all.
    parsed: bool,
}

impl Keys {
    /// Scans `body`. A body that is not JSON (cut, HTML, garbage) is scanned as text: it
    /// mentions a status when the words are there, so that an answer nobody can read is never
    /// taken for one that says nothing about the payment.
    pub(crate) fn scan(body: &[u8]) -> Self {
        let mut keys = Keys::default();
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let read = Scan {
            depth: 0,
            keys: &mut keys,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if read.is_ok() {
            keys.parsed = true;
        } else {
            keys.top.clear();
            keys.mentions_status = text_mentions_status(body);
        }
        keys
    }

    /// Whether the body names a transaction status anywhere, as a key or, when it is not
    /// JSON, as text.
    pub(crate) fn mentions_status(&self) -> bool {
        self.mentions_status
    }

    /// Why the top-level keys cannot be read as `fields` (the model's names, exactly as the
    /// model spells them): a field given twice, or spelled in another case or with underscores,
    /// says two things or something the model would skip. `None` when every field present is
    /// there once, as spelled, or when the body is not JSON (the model's own reading says why).
    pub(crate) fn problem(&self, fields: &[&str]) -> Option<String> {
        if !self.parsed {
            return None;
        }
        for field in fields {
            let wanted = folded(field);
            let mut spelled = self.top.iter().filter(|key| folded(key) == wanted);
            let Some(first) = spelled.next() else {
                continue;
            };
            if let Some(second) = spelled.next() {
                return Some(format!(
                    "the answer gives {field} twice (as {} and {})",
                    shown(first),
                    shown(second)
                ));
            }
            if first != field {
                return Some(format!("the answer spells {field} as {}", shown(first)));
            }
        }
        None
    }
}

/// A key as it may be shown: quoted, cut short, control characters escaped.
fn shown(key: &str) -> String {
    let cut: String = key.chars().take(40).collect();
    format!("{cut:?}")
}

/// A key's letters and digits, lower case: `transaction_status` and `TRANSACTIONSTATUS` are
/// both `transactionstatus`.
fn folded(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn names_status(key: &str) -> bool {
    matches!(
        folded(key).as_str(),
        "transactionstatus" | "primarytransactionstatus"
    )
}

/// Whether `body`, read as text, holds the words of a status key (`TransactionStatus`, any
/// case, underscores ignored).
fn text_mentions_status(body: &[u8]) -> bool {
    let letters: Vec<u8> = body
        .iter()
        .filter(|b| **b != b'_')
        .map(u8::to_ascii_lowercase)
        .collect();
    memchr::memmem::find(&letters, b"transactionstatus").is_some()
}

/// One value of the document: its keys are noted, its children scanned in turn. serde_json's
/// own depth limit (128) bounds the recursion.
struct Scan<'k> {
    depth: usize,
    keys: &'k mut Keys,
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (depth, keys) = (self.depth + 1, self.keys);
        while seq
            .next_element_seed(Scan {
                depth,
                keys: &mut *keys,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (depth, keys) = (self.depth + 1, self.keys);
        while let Some(key) = map.next_key::<String>()? {
            keys.mentions_status |= names_status(&key);
            if depth == 1 {
                keys.top.push(key);
            }
            map.next_value_seed(Scan {
                depth,
                keys: &mut *keys,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["TransactionStatus", "PrimaryTransactionStatus", "Message"];

    #[test]
    fn a_status_key_is_found_at_any_depth_and_in_any_case() {
        for body in [
            r#"{"TransactionStatus":"D"}"#,
            r#"{"transactionstatus":1}"#,
            r#"{"Error":{"primary_transaction_status":"V"}}"#,
            r#"[{"x":[{"TRANSACTIONSTATUS":null}]}]"#,
            r#"{"Transaction\u0053tatus":"C"}"#,
            // Not JSON: the words are enough.
            r#"{"TransactionStatus":"C","#,
            "<html>Transaction_Status: C</html>",
        ] {
            assert!(Keys::scan(body.as_bytes()).mentions_status(), "{body}");
        }
        for body in [
            r#"{"Message":"TransactionStatus is required"}"#,
            r#"{"Status":"D"}"#,
            "<html>Bad request</html>",
            "",
        ] {
            assert!(!Keys::scan(body.as_bytes()).mentions_status(), "{body}");
        }
    }

    #[test]
    fn a_field_given_twice_or_in_another_case_is_a_problem() {
        let problem = |body: &str| Keys::scan(body.as_bytes()).problem(FIELDS);
        assert_eq!(problem(r#"{"TransactionStatus":"D","Other":1}"#), None);
        assert_eq!(problem(r#"{"Nested":{"transactionStatus":"C"}}"#), None);
        assert!(
            problem(r#"{"TransactionStatus":"D","TransactionStatus":"C"}"#)
                .is_some_and(|p| p.contains("twice"))
        );
        assert!(
            problem(r#"{"TransactionStatus":"D","transactionStatus":"C"}"#)
                .is_some_and(|p| p.contains("twice"))
        );
        assert!(problem(r#"{"transaction_status":"D"}"#).is_some_and(|p| p.contains("spells")));
        assert!(problem(r#"{"message":"x"}"#).is_some());
        assert_eq!(problem("not json"), None);
    }
}
