//! Amounts of money as InstaMed reads them: a positive decimal with at most two places, kept as
//! whole cents so that no float ever touches a refund.

use std::fmt;

/// A positive amount of money in cents (`4.00` is 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    cents: u64,
}

impl Money {
    /// The amount in cents.
    pub fn cents(self) -> u64 {
        self.cents
    }

    /// Reads `12`, `12.5` or `12.50`; refuses zero, signs, exponents and a third decimal.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
            return Err(format!("amount {text:?} is not a decimal number like 4.00"));
        }
        if fraction.len() > 2 {
            return Err(format!("amount {text:?} has more than two decimals"));
        }
        let too_large = || format!("amount {text:?} is too large");
        let whole: u64 = whole.parse().map_err(|_| too_large())?;
        let mut cents_part: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| too_large())?
        };
        if fraction.len() == 1 {
            cents_part *= 10;
        }
        let cents = whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents_part))
            .ok_or_else(too_large)?;
        if cents == 0 {
            return Err("amount must be more than zero".to_owned());
        }
        Ok(Self { cents })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn amounts_are_exact_and_bounded() {
        assert_eq!(Money::parse("4").unwrap().to_string(), "4.00");
        assert_eq!(Money::parse("4.5").unwrap().cents(), 450);
        assert_eq!(Money::parse(" 12.34 ").unwrap().cents(), 1234);
        for bad in [
            "", "0", "0.00", "-1", "1.234", "1e3", "1.", ".5", "abc", "1,00",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Money::parse("999999999999999999999").is_err());
    }
}
