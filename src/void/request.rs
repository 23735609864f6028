//! A void request, valid by construction.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::bindings::types;
use crate::error::InvalidRequest;

/// Longest outlet identifier or transaction ID InstaMed accepts.
const MAX_ID_LEN: usize = 50;

/// Checks one identifier against InstaMed's rules: 1 to 50 characters, no control characters and
/// no surrounding white space (the service trims it, so the ID that arrives would differ).
fn checked(field: &'static str, value: &str) -> Result<Arc<str>, InvalidRequest> {
    // One pass over the characters: a caller may build an ID for every void it sends. IDs are
    // ASCII in practice, where bytes are characters.
    let (count, control, non_character) = if value.is_ascii() {
        let control = value.bytes().any(|b| b.is_ascii_control());
        (value.len(), control, false)
    } else {
        value
            .chars()
            .fold((0, false, false), |(count, control, non_character), c| {
                (
                    count + 1,
                    control || c.is_control(),
                    non_character || matches!(c, '\u{FFFE}' | '\u{FFFF}'),
                )
            })
    };
    let padded = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    let problem = if value.is_empty() {
        "is required".to_owned()
    } else if count > MAX_ID_LEN {
        format!("must be at most {MAX_ID_LEN} characters, got {count}")
    } else if control {
        "must not contain control characters".to_owned()
    } else if non_character {
        // Not characters XML can carry: the envelope would not be XML.
        "must not contain U+FFFE or U+FFFF".to_owned()
    } else if padded {
        "must not start or end with white space".to_owned()
    } else {
        return Ok(Arc::from(value));
    };
    Err(InvalidRequest::new(field, problem))
}

/// Where a payment was taken: InstaMed's merchant, store and terminal IDs.
///
/// Cheap to clone (the IDs are shared), so one outlet can go into every void it sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Outlet {
    merchant_id: Arc<str>,
    store_id: Arc<str>,
    terminal_id: Arc<str>,
}

impl Outlet {
    /// An outlet, if each ID is 1 to 50 characters with no control characters.
    ///
    /// ```
    /// use instamed_soap::Outlet;
    /// assert!(Outlet::new("123123123", "123", "123").is_ok());
    /// assert_eq!(Outlet::new("", "123", "123").unwrap_err().field, "MerchantID");
    /// ```
    pub fn new(
        merchant_id: impl AsRef<str>,
        store_id: impl AsRef<str>,
        terminal_id: impl AsRef<str>,
    ) -> Result<Self, InvalidRequest> {
        Ok(Self {
            merchant_id: checked("MerchantID", merchant_id.as_ref())?,
            store_id: checked("StoreID", store_id.as_ref())?,
            terminal_id: checked("TerminalID", terminal_id.as_ref())?,
        })
    }

    /// The merchant ID.
    pub fn merchant_id(&self) -> &str {
        &self.merchant_id
    }

    /// The store ID.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The terminal ID.
    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }
}

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

    /// Whether `other` names the same payment (InstaMed writes GUIDs in either case).
    pub fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.trim())
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

/// How the card was present for the original payment, as InstaMed codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[allow(missing_docs)] // the variants are InstaMed's own codes, named as on the wire
pub enum CardPresentStatus {
    PresentSwipeNoSign,
    PresentSwipeSign,
    PresentEMV,
    NotPresentGenericMailOrder,
    NotPresentMailOrFax,
    NotPresentPhone,
    NotPresentInternet,
    NotPresentRecurring,
    NotPresentInstallment,
    NotPresentPayerAuth,
    /// Keyed in by hand: InstaMed's samples use it for voids.
    #[default]
    PresentManualKey,
    InAppApplePay,
    MSDContactless,
}

impl CardPresentStatus {
    /// Every code, in InstaMed's order.
    pub const ALL: [Self; 13] = [
        Self::PresentSwipeNoSign,
        Self::PresentSwipeSign,
        Self::PresentEMV,
        Self::NotPresentGenericMailOrder,
        Self::NotPresentMailOrFax,
        Self::NotPresentPhone,
        Self::NotPresentInternet,
        Self::NotPresentRecurring,
        Self::NotPresentInstallment,
        Self::NotPresentPayerAuth,
        Self::PresentManualKey,
        Self::InAppApplePay,
        Self::MSDContactless,
    ];

    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PresentSwipeNoSign => "PresentSwipeNoSign",
            Self::PresentSwipeSign => "PresentSwipeSign",
            Self::PresentEMV => "PresentEMV",
            Self::NotPresentGenericMailOrder => "NotPresentGenericMailOrder",
            Self::NotPresentMailOrFax => "NotPresentMailOrFax",
            Self::NotPresentPhone => "NotPresentPhone",
            Self::NotPresentInternet => "NotPresentInternet",
            Self::NotPresentRecurring => "NotPresentRecurring",
            Self::NotPresentInstallment => "NotPresentInstallment",
            Self::NotPresentPayerAuth => "NotPresentPayerAuth",
            Self::PresentManualKey => "PresentManualKey",
            Self::InAppApplePay => "InAppApplePay",
            Self::MSDContactless => "MSDContactless",
        }
    }
}

impl FromStr for CardPresentStatus {
    type Err = InvalidRequest;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == code)
            .ok_or_else(|| {
                InvalidRequest::new("PrimaryCardPresentStatus", format!("unknown code {code:?}"))
            })
    }
}

impl fmt::Display for CardPresentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to void one captured credit-card payment.
///
/// ```
/// use instamed_soap::{CardPresentStatus, Outlet, TransactionId, VoidRequest};
/// # fn main() -> Result<(), instamed_soap::InvalidRequest> {
/// let request = VoidRequest::new(
///     Outlet::new("123123123", "123", "123")?,
///     TransactionId::new("EE52401813A74328AAA7D93319FF4383")?,
/// )
/// .with_card_present_status(CardPresentStatus::PresentEMV);
/// assert_eq!(request.card_present_status(), CardPresentStatus::PresentEMV);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidRequest {
    outlet: Outlet,
    payment: TransactionId,
    card_present_status: CardPresentStatus,
}

impl VoidRequest {
    /// A void of `payment`, taken at `outlet`, with card-present status `PresentManualKey`.
    pub fn new(outlet: Outlet, payment: TransactionId) -> Self {
        Self {
            outlet,
            payment,
            card_present_status: CardPresentStatus::default(),
        }
    }

    /// The same request with another card-present status.
    pub fn with_card_present_status(mut self, status: CardPresentStatus) -> Self {
        self.card_present_status = status;
        self
    }

    /// The outlet.
    pub fn outlet(&self) -> &Outlet {
        &self.outlet
    }

    /// The payment to void.
    pub fn payment(&self) -> &TransactionId {
        &self.payment
    }

    /// The card-present status sent with it.
    pub fn card_present_status(&self) -> CardPresentStatus {
        self.card_present_status
    }

    /// The pairs of this void's NVP form, in the order of InstaMed's sample.
    pub fn to_nvp(&self) -> [(&str, &str); 7] {
        [
            ("transactionType", "CreditCard"),
            ("transactionAction", "Void"),
            ("MerchantID", self.outlet.merchant_id()),
            ("StoreID", self.outlet.store_id()),
            ("TerminalID", self.outlet.terminal_id()),
            (
                "primaryCardPresentStatus",
                self.card_present_status.as_str(),
            ),
            ("primaryTransactionID", self.payment.as_str()),
        ]
    }

    /// The generated SOAP request element for this void.
    pub fn to_soap(&self) -> types::DoCreditCardSecondaryVoid {
        // `str::to_owned` copies; `to_string` on an `Arc<str>` would go through the formatter.
        let transaction = types::SecondaryCreditCardVoidRequestData {
            merchant_id: Some(self.outlet.merchant_id.as_ref().to_owned()),
            store_id: Some(self.outlet.store_id.as_ref().to_owned()),
            terminal_id: Some(self.outlet.terminal_id.as_ref().to_owned()),
            primary_transaction_id: Some(self.payment.0.as_ref().to_owned()),
            primary_card_present_status: Some(self.card_present_status.as_str().to_owned()),
            ..Default::default()
        };
        types::DoCreditCardSecondaryVoid {
            transaction: Some(transaction),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outlet_field_is_named_in_its_error() {
        let long = "9".repeat(51);
        assert_eq!(
            Outlet::new(&long, "1", "1").unwrap_err().field,
            "MerchantID"
        );
        assert_eq!(Outlet::new("1", "", "1").unwrap_err().field, "StoreID");
        assert_eq!(
            Outlet::new("1", "1", "a\u{7}").unwrap_err().field,
            "TerminalID"
        );
        assert!(Outlet::new("9".repeat(50), "1", "1").is_ok());
    }

    #[test]
    fn transaction_ids_are_checked_and_compared_case_blind() {
        assert!(TransactionId::new(" EE52").is_err());
        assert!(TransactionId::new("a\nb").is_err());
        let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap();
        assert!(id.matches("ee52401813a74328aaa7d93319ff4383"));
        assert!(!id.matches("EE52401813A74328AAA7D93319FF4384"));
    }

    #[test]
    fn the_nvp_form_is_instameds_sample() {
        let request = VoidRequest::new(
            Outlet::new("123123123", "123", "123").unwrap(),
            TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap(),
        );
        assert_eq!(
            crate::nvp::encode(request.to_nvp()),
            "transactionType=CreditCard&transactionAction=Void&MerchantID=123123123&StoreID=123\
             &TerminalID=123&primaryCardPresentStatus=PresentManualKey\
             &primaryTransactionID=EE52401813A74328AAA7D93319FF4383"
        );
    }

    #[test]
    fn card_present_codes_round_trip() {
        for status in CardPresentStatus::ALL {
            assert_eq!(
                status.as_str().parse::<CardPresentStatus>().unwrap(),
                status
            );
        }
        assert!("Swiped".parse::<CardPresentStatus>().is_err());
    }
}
