//! Card-number checks. Card numbers are only checked, never stored or logged.

/// Whether `number` looks like a card number: 13 to 19 ASCII digits passing the Luhn check.
pub(crate) fn is_valid_card_number(number: &str) -> bool {
    let digits = number.as_bytes();
    if !(13..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // Luhn: from the right, double every second digit and fold two-digit results.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_cards_pass_and_near_misses_fail() {
        for card in [
            "4111111111111111",
            "5500000000000004",
            "340000000000009",
            "6011000000000004",
        ] {
            assert!(is_valid_card_number(card), "{card}");
        }
        for bad in [
            "4111111111111112",
            "411111111111",
            "4111 1111 1111 1111",
            "",
        ] {
            assert!(!is_valid_card_number(bad), "{bad}");
        }
    }
}
