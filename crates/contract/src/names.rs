//! How an operation and a cassette are named in a log line or a journal: short, one token, and
//! never a card number.

use std::path::Path;

/// `name` as one short token: operation names are letters, digits and a few marks; anything
/// else is shown as `?`, and a long name is cut. Card numbers are redacted first (a REST
/// operation is a path segment, which may be one), while their separators are still there to
/// be read.
pub(crate) fn loggable(name: &str) -> String {
    const LONGEST: usize = 64;
    let swept = instamed_soap::sensitive::redact_cards(name);
    let mut shown: String = swept
        .chars()
        .take(LONGEST)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '[' | ']') {
                c
            } else {
                '?'
            }
        })
        .collect();
    if swept.chars().count() > LONGEST {
        shown.push('…');
    }
    shown
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn a_client_chosen_operation_cannot_forge_a_log_line() {
        assert_eq!(
            loggable("DoCreditCardSecondaryVoid"),
            "DoCreditCardSecondaryVoid"
        );
        let forged = loggable("Void\n2026-12-01T00:00:00Z  INFO verdict=voided\u{1b}[31m");
        assert!(!forged.contains(['\n', '\u{1b}', ' ']), "{forged}");
        assert!(forged.starts_with("Void?"), "{forged}");
        let long = loggable(&"A".repeat(500));
        assert!(long.chars().count() <= 65, "{long}");
    }
}
