//! Money: whole cents, never floating point, written with two decimals.
//!
//! On the wire (REST JSON, SOAP, NVP) an amount is a string such as `"12.34"`. Reading one
//! accepts up to two decimals (`12`, `0.5`, `12.34`) and nothing else: no sign, no exponent, no
//! grouping, no surrounding space. In JSON an amount must be a string: a JSON number is refused,
//! because a client that sent one may already have rounded it through a float.

use std::fmt;
use std::str::FromStr;

/// An amount in dollars and cents, as InstaMed writes it (`12.34`, `12`, `0.5`), always written
/// back with two decimals (`12.34`, `12.00`, `0.50`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    cents: u64,
}

impl Amount {
    /// The amount of `cents` cents.
    pub const fn from_cents(cents: u64) -> Self {
        Self { cents }
    }

    /// The amount in cents.
    pub const fn cents(self) -> u64 {
        self.cents
    }

    /// `self - other`, or `None` if that would be negative.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.cents.checked_sub(other.cents).map(Self::from_cents)
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.cents.checked_add(other.cents).map(Self::from_cents)
    }
}

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an amount (expected dollars with up to two decimals, like 12.34)")]
pub struct InvalidAmount(String);

impl FromStr for Amount {
    type Err = InvalidAmount;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidAmount(text.chars().take(32).collect());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
            return Err(invalid());
        }
        if text.ends_with('.') {
            return Err(invalid());
        }
        let dollars: u64 = whole.parse().map_err(|_| invalid())?;
        let mut cents: u64 = 0;
        for (i, digit) in fraction.bytes().enumerate() {
            let weight = if i == 0 { 10 } else { 1 };
            cents += u64::from(digit - b'0') * weight;
        }
        dollars
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents))
            .map(Self::from_cents)
            .ok_or_else(invalid)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(AmountVisitor)
    }
}

/// Reads an amount from a JSON string, and only from a string.
struct AmountVisitor;

impl serde::de::Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount as a string with up to two decimals, like \"12.34\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Amount, E> {
        text.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dollars_and_cents() {
        let cents = |text: &str| text.parse::<Amount>().map(Amount::cents);
        assert_eq!(cents("12.34"), Ok(1234));
        assert_eq!(cents("12"), Ok(1200));
        assert_eq!(cents("0.5"), Ok(50));
        assert_eq!(cents("007.05"), Ok(705));
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "1,00",
            "1e3",
            " 1",
            "99999999999999999999",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?}");
        }
        assert_eq!(Amount::from_cents(705).to_string(), "7.05");
    }
}
