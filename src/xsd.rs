//! XML Schema built-in types that have no exact Rust counterpart.
//!
//! The generated bindings use these for `xs:decimal`, `xs:dateTime`, `xs:base64Binary` and the
//! Microsoft `guid` type that ASP.NET services declare in `http://microsoft.com/wsdl/types/`.
//! Each keeps the value as the service wrote it (a decimal amount is never rounded through a
//! float, a timestamp keeps its offset), and checks only the lexical form, so a value the server
//! sends always survives a round trip.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use yaserde::__xml::attribute::OwnedAttribute;
use yaserde::__xml::namespace::Namespace;
use yaserde::{YaDeserialize, YaSerialize, de, primitives, ser};

/// A value whose text is not of its XML Schema type's lexical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid xs:{type_name}")]
pub struct LexicalError {
    type_name: &'static str,
    value: String,
}

impl LexicalError {
    fn new(type_name: &'static str, value: &str) -> Self {
        // Long garbage is cut so that an error message stays readable and bounded.
        let value = value.chars().take(64).collect();
        Self { type_name, value }
    }
}

/// Lets a text-valued type be a field of a yaserde-derived struct.
macro_rules! text_element {
    ($type:ty, $xsd_name:literal) => {
        impl YaSerialize for $type {
            fn serialize<W: Write>(&self, writer: &mut ser::Serializer<W>) -> yaserde::Result<()> {
                primitives::serialize_primitives(self, $xsd_name, writer, |value| value.to_string())
            }

            fn serialize_attributes(
                &self,
                attributes: Vec<OwnedAttribute>,
                namespace: Namespace,
            ) -> yaserde::Result<(Vec<OwnedAttribute>, Namespace)> {
                Ok((attributes, namespace))
            }
        }

        impl YaDeserialize for $type {
            fn deserialize<R: Read>(reader: &mut de::Deserializer<R>) -> yaserde::Result<Self> {
                primitives::deserialize_primitives(reader, |text| {
                    text.parse().map_err(yaserde::Error::custom)
                })
            }
        }
    };
}

/// An `xs:decimal`, kept exactly as written (`"12.50"` stays `"12.50"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// The decimal as the service wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Decimal {
    fn default() -> Self {
        Self("0".to_owned())
    }
}

impl FromStr for Decimal {
    type Err = LexicalError;

    /// Accepts `[+-]digits[.digits]` or `[+-].digits`, as XML Schema 1.0 does.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(LexicalError::new("decimal", text))
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_element!(Decimal, "decimal");

/// An `xs:dateTime`, kept as written, offset included (`2026-11-23T10:15:00-05:00`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime(String);

impl DateTime {
    /// The timestamp as the service wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for DateTime {
    /// The value .NET writes for an unset `DateTime`.
    fn default() -> Self {
        Self("0001-01-01T00:00:00".to_owned())
    }
}

impl FromStr for DateTime {
    type Err = LexicalError;

    /// Accepts `YYYY-MM-DDThh:mm:ss`, optional fractional seconds, optional `Z` or `±hh:mm`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || LexicalError::new("dateTime", text);
        let (date, time) = text.split_once('T').ok_or_else(invalid)?;
        let date_ok = date.len() >= 10
            && matches!(date.as_bytes(), [y @ .., b'-', m1, m2, b'-', d1, d2]
                if y.len() >= 4 && y.iter().all(u8::is_ascii_digit)
                    && [m1, m2, d1, d2].iter().all(|b| b.is_ascii_digit()));
        let (clock, zone) = match time.find(['Z', '+', '-']) {
            Some(at) => time.split_at(at),
            None => (time, ""),
        };
        let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
        let hms_ok = matches!(hms.as_bytes(), [h1, h2, b':', m1, m2, b':', s1, s2]
            if [h1, h2, m1, m2, s1, s2].iter().all(|b| b.is_ascii_digit()));
        let fraction_ok = !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit());
        let zone_ok = match zone.as_bytes() {
            [] | [b'Z'] => true,
            [b'+' | b'-', h1, h2, b':', m1, m2] => {
                [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit())
            }
            _ => false,
        };
        if date_ok && hms_ok && fraction_ok && zone_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(invalid())
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_element!(DateTime, "dateTime");

/// An `xs:base64Binary`: the decoded bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Binary(pub Vec<u8>);

impl fmt::Debug for Base64Binary {
    // Binary payloads (check images) can be megabytes; their size is what a log needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Binary({} bytes)", self.0.len())
    }
}

impl FromStr for Base64Binary {
    type Err = LexicalError;

    /// Decodes standard base64; line breaks inside the text, which some encoders add, are allowed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        BASE64
            .decode(compact)
            .map(Self)
            .map_err(|_| LexicalError::new("base64Binary", text))
    }
}

impl fmt::Display for Base64Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64.encode(&self.0))
    }
}

text_element!(Base64Binary, "base64Binary");

/// A Microsoft `guid` (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), kept in the case it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guid(String);

impl Guid {
    /// The GUID as the service wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Guid {
    fn default() -> Self {
        Self("00000000-0000-0000-0000-000000000000".to_owned())
    }
}

impl FromStr for Guid {
    type Err = LexicalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let groups: Vec<&str> = text.split('-').collect();
        let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
        if shape_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(LexicalError::new("guid", text))
        }
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_element!(Guid, "guid");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_keeps_its_text_and_rejects_garbage() {
        assert_eq!("12.50".parse::<Decimal>().unwrap().as_str(), "12.50");
        assert!("-.5".parse::<Decimal>().is_ok());
        for bad in ["", ".", "1e5", "12,50", "1.2.3", "NaN"] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn date_time_accepts_zones_and_fractions() {
        for good in [
            "2026-11-23T10:15:00",
            "2026-11-23T10:15:00Z",
            "2026-11-23T10:15:00.1234567-05:00",
        ] {
            assert!(good.parse::<DateTime>().is_ok(), "{good:?} refused");
        }
        for bad in [
            "2026-11-23",
            "2026-11-23T10:15",
            "2026-11-23T10:15:00+5",
            "x",
        ] {
            assert!(bad.parse::<DateTime>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn base64_round_trips_and_tolerates_line_breaks() {
        let value: Base64Binary = "aGVs\nbG8=".parse().unwrap();
        assert_eq!(value.0, b"hello");
        assert_eq!(value.to_string(), "aGVsbG8=");
        assert!("***".parse::<Base64Binary>().is_err());
    }

    #[test]
    fn guid_checks_shape() {
        assert!(
            "ee524018-13a7-4328-aaa7-d93319ff4383"
                .parse::<Guid>()
                .is_ok()
        );
        assert!("EE52401813A74328AAA7D93319FF4383".parse::<Guid>().is_err());
    }

    #[test]
    fn an_element_with_a_bad_value_is_an_error_not_a_default() {
        #[derive(Debug, Default, yaserde::YaDeserialize)]
        struct Holder {
            #[yaserde(rename = "Amount")]
            amount: Option<Decimal>,
        }
        let good: Holder = yaserde::de::from_str("<Holder><Amount>1.25</Amount></Holder>").unwrap();
        assert_eq!(good.amount.unwrap().as_str(), "1.25");
        assert!(yaserde::de::from_str::<Holder>("<Holder><Amount>lots</Amount></Holder>").is_err());
    }
}
