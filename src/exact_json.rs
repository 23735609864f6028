//! JSON read with every number kept as written.
//!
//! `serde_json::Value` keeps a number as an `f64` when it is not an integer (the crate's
//! `arbitrary_precision` feature would change that for every user of `serde_json` in the
//! build): `4.10000000000000000001` reads back as `4.1`, and an amount read through it is no
//! longer the amount that was written. Where a document may carry an amount (a batch's input,
//! a recorded exchange), it is read into [`Json`] instead: a number is its own text, and an
//! object keeps its members in order, a repeated name included, so that the reader decides
//! what a repeat means.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::value::RawValue;

/// serde_json's own nesting limit: deeper documents are refused, here as there.
const MAX_DEPTH: usize = 128;

/// A JSON value whose numbers are their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exactly as written (`4.10`, `-5e-1`): valid JSON number syntax.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in document order, repeated names included.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Reads a whole document.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(text)?;
        Self::from_raw(raw, 0)
    }

    /// Reads a whole document given as bytes (UTF-8).
    pub fn parse_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: &RawValue = serde_json::from_slice(bytes)?;
        Self::from_raw(raw, 0)
    }

    /// Each level is read from its raw text, one level at a time: a number is never handed
    /// to a visitor as a float. The depth is counted here because skipping a raw value does
    /// not count it.
    fn from_raw(raw: &RawValue, depth: usize) -> Result<Self, serde_json::Error> {
        if depth > MAX_DEPTH {
            return Err(serde_json::Error::custom(
                "nested more than 128 levels deep",
            ));
        }
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'{') => {
                let Members(members) = serde_json::from_str(text)?;
                let members = members
                    .into_iter()
                    .map(|(name, value)| Ok((name, Self::from_raw(value, depth + 1)?)))
                    .collect::<Result<_, serde_json::Error>>()?;
                Self::Object(members)
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                let items = items
                    .into_iter()
                    .map(|item| Self::from_raw(item, depth + 1))
                    .collect::<Result<_, _>>()?;
                Self::Array(items)
            }
            Some(b'"') => Self::String(serde_json::from_str(text)?),
            Some(b't' | b'f') => Self::Bool(serde_json::from_str(text)?),
            Some(b'n') => Self::Null,
            _ => Self::Number(text.to_owned()),
        })
    }

    /// The value of the first member named `name`, when this is an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Self::Object(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first name an object (this one or one inside it) gives twice, if any.
    pub fn repeated_name(&self) -> Option<&str> {
        let mut pending = vec![self];
        while let Some(value) = pending.pop() {
            match value {
                Self::Object(members) => {
                    if let Some((name, _)) = members
                        .iter()
                        .enumerate()
                        .find(|(i, (name, _))| members[..*i].iter().any(|(n, _)| n == name))
                        .map(|(_, member)| member)
                    {
                        return Some(name);
                    }
                    pending.extend(members.iter().map(|(_, v)| v));
                }
                Self::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        None
    }

    /// Every object's members sorted by name (stable: repeats keep their order), at every
    /// depth.
    pub fn sort_names(&mut self) {
        let mut pending = vec![self];
        while let Some(value) = pending.pop() {
            match value {
                Self::Object(members) => {
                    members.sort_by(|(a, _), (b, _)| a.cmp(b));
                    pending.extend(members.iter_mut().map(|(_, v)| v));
                }
                Self::Array(items) => pending.extend(items.iter_mut()),
                _ => {}
            }
        }
    }
}

/// Written compact, numbers as they were read, strings escaped as serde_json escapes them.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(value) => write!(f, "{value}"),
            Self::Number(text) => f.write_str(text),
            Self::String(text) => write_string(f, text),
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Self::Object(members) => {
                f.write_str("{")?;
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, name)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    // Writing a `str` as JSON cannot fail.
    let quoted = serde_json::to_string(text).map_err(|_| fmt::Error)?;
    f.write_str(&quoted)
}

/// An object's members as raw values, in order, repeats included.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Pairs<'a> {
            type Value = Members<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_objects_their_order_and_repeats() {
        let json = Json::parse(
            r#" {"b": 4.10000000000000000001, "a": [1e2, -0.5, 12345678901234567890123],
                "a": "x\u0041", "n": null, "t": true} "#,
        )
        .unwrap();
        assert_eq!(
            json.get("b"),
            Some(&Json::Number("4.10000000000000000001".into()))
        );
        assert_eq!(
            json.get("a"),
            Some(&Json::Array(vec![
                Json::Number("1e2".into()),
                Json::Number("-0.5".into()),
                Json::Number("12345678901234567890123".into()),
            ]))
        );
        assert_eq!(json.repeated_name(), Some("a"));
        assert_eq!(
            json.to_string(),
            r#"{"b":4.10000000000000000001,"a":[1e2,-0.5,12345678901234567890123],"a":"xA","n":null,"t":true}"#
        );
        let mut sorted = json.clone();
        sorted.sort_names();
        assert!(sorted.to_string().starts_with(r#"{"a":[1e2"#), "{sorted}");
        assert_eq!(
            Json::parse(r#"{"x":{"y":1,"y":2}}"#)
                .unwrap()
                .repeated_name(),
            Some("y")
        );
    }

    #[test]
    fn what_is_not_json_is_refused_and_depth_is_bounded() {
        for bad in ["", "{", "[1,]", "01", "1.", "{\"a\":1} x", "NaN"] {
            assert!(Json::parse(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(Json::parse(&deep).is_err());
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(Json::parse(&fine).is_ok());
    }
}
