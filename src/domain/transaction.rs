//! The ID that names a payment.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::InvalidRequest;
use super::id::checked;
use crate::sensitive;

/// The ID InstaMed gave a payment (a 32-digit hex GUID in practice, either case).
///
/// Cheap to clone (the text is shared): a receipt names the payment its request named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionId(Arc<str>);

impl TransactionId {
    /// A transaction ID, if it is 1 to 50 characters with no control characters.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidRequest> {
        checked("PrimaryTransactionID", id.as_ref()).map(Self)
    }

    /// The ID as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ID as a log line or a span may show it: an ID that is a card number (typed where
    /// the ID goes) masked, as [`sensitive::shown`] masks any text from a request.
    pub fn shown(&self) -> Cow<'_, str> {
        sensitive::shown(&self.0)
    }

    /// Whether `other` names the same payment (InstaMed writes GUIDs in either case).
    pub fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(super::trimmed(other))
    }
}

impl FromStr for TransactionId {
    type Err = InvalidRequest;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::new(id)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_checked_and_compared_case_blind() {
        assert!(TransactionId::new(" EE52").is_err());
        assert!(TransactionId::new("a\nb").is_err());
        let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap();
        assert!(id.matches("ee52401813a74328aaa7d93319ff4383"));
        assert!(!id.matches("EE52401813A74328AAA7D93319FF4384"));
    }

    #[test]
    fn an_id_is_shown_as_given_unless_it_is_a_card_number() {
        let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap();
        assert_eq!(id.shown(), id.as_str());
        let card = TransactionId::new("4111111111111111").unwrap();
        assert!(
            !card.shown().contains("4111111111111111"),
            "{}",
            card.shown()
        );
        assert_eq!(
            card.as_str(),
            "4111111111111111",
            "the ID itself is kept as given"
        );
    }
}
