//! The bottom layer: the values a payment is named and measured by (its ID, the outlet that
//! took it, how the card was present, an amount of money) and the error a value that breaks
//! InstaMed's rules is refused with.
//!
//! Everything above (errors, the SOAP, NVP and REST models, the call layer, the client) builds
//! on these, so this module imports nothing of the crate: a value is checked once, when it is
//! made, and the same rules hold whichever protocol carries it.

mod amount;
mod card_present;
mod id;
mod invalid;
mod outlet;
mod transaction;

pub use amount::{Amount, InvalidAmount};
pub use card_present::CardPresentStatus;
pub use invalid::InvalidRequest;
pub use outlet::Outlet;
pub use transaction::TransactionId;

/// `text` without the white space around it, as `str::trim` has it. Statuses, codes and IDs
/// are compared trimmed on every answer, and nearly all of them start and end with a printable
/// ASCII character, which settles it without decoding a character.
#[inline]
pub(crate) fn trimmed(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::trimmed;

    /// The fast path gives what `str::trim` gives, at either end and with white space of
    /// every kind, ASCII or not.
    #[test]
    fn trimmed_is_str_trim() {
        let ends = [
            "", " ", "\t", "\r\n", "\u{A0}", "\u{2003}", "\u{3000}", "\u{85}", "a", "é", "~", "\0",
            "\u{7F}", "1",
        ];
        for first in ends {
            for last in ends {
                for middle in ["", "C", "a b", " ", "\u{A0}"] {
                    let text = format!("{first}{middle}{last}");
                    assert_eq!(trimmed(&text), text.trim(), "{text:?}");
                }
            }
        }
    }
}
