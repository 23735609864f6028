//! The ID that names a payment.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::InvalidRequest;
use super::id::checked;
use crate::sensitive;

/// The wire name of the field a transaction ID fills, for errors.
const FIELD: &str = "PrimaryTransactionID";

/// The ID InstaMed gave a payment (a 32-digit hex GUID in practice, either case).
///
/// Cheap to clone (the text is shared): a receipt names the payment its request named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionId(Arc<str>);

impl TransactionId {
    /// A transaction ID, if it is 1 to 50 characters with no control characters, and not a
    /// card number.
    ///
    /// A card number typed where the payment's ID goes (13 to 19 digits passing the Luhn
    /// check, as the redactor finds them) is refused: InstaMed's IDs are GUIDs, and an ID is
    /// written to the ledger, journals, logs and answers, where a card number must never be.
    ///
    /// ```
    /// use instamed_soap::TransactionId;
    ///
    /// assert!(TransactionId::new("EE52401813A74328AAA7D93319FF4383").is_ok());
    /// let card = TransactionId::new("4111111111111111").unwrap_err();
    /// assert!(card.problem.contains("card number"));
    /// ```
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidRequest> {
        let id = checked(FIELD, id.as_ref())?;
        if matches!(sensitive::redact_cards(&id), Cow::Owned(_)) {
            return Err(InvalidRequest::new(
                FIELD,
                "holds a card number (digits that pass the Luhn check), not InstaMed's \
                 transaction ID; a card number is never sent, stored or logged",
            ));
        }
        Ok(Self(id))
    }

    /// The ID as given.
    pub fn as_str(&self) -> &str {
        &self.0
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
    fn a_card_number_is_refused_as_an_id_and_a_guid_with_digit_runs_is_not() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "TXN4111111111111111",
            "5555555555554444",
        ] {
            let refused = TransactionId::new(card).expect_err(card);
            assert_eq!(refused.field, "PrimaryTransactionID");
            assert!(!refused.problem.contains(card), "{}", refused.problem);
        }
        for id in [
            "EE52401813A74328AAA7D93319FF4383",
            "ee5a4111111111111111b2c3d4e5f6a7",
            "4111111111111112",
            "12345",
        ] {
            assert!(TransactionId::new(id).is_ok(), "{id}");
        }
    }
}
