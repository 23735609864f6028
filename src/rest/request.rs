//! The JSON bodies a client sends to `/rest/payment/…`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{Amount, Outlet, TransactionId};

/// `Outlet`: the merchant, store and terminal a payment was taken at. **Known** (FACTS §3).
///
/// The IDs are carried as text: the domain's [`Outlet`] checks them before
/// anything is sent, and the service checks them again on arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutletIds {
    /// `MerchantID`.
    #[serde(rename = "MerchantID")]
    pub merchant_id: String,
    /// `StoreID`.
    #[serde(rename = "StoreID")]
    pub store_id: String,
    /// `TerminalID`.
    #[serde(rename = "TerminalID")]
    pub terminal_id: String,
}

impl From<&Outlet> for OutletIds {
    fn from(outlet: &Outlet) -> Self {
        Self {
            merchant_id: outlet.merchant_id().to_owned(),
            store_id: outlet.store_id().to_owned(),
            terminal_id: outlet.terminal_id().to_owned(),
        }
    }
}

/// `Patient`: the patient's account at the provider. **Known** as part of the void (FACTS §3);
/// the service's use of it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Patient {
    /// `AccountNumber`.
    #[serde(rename = "AccountNumber")]
    pub account_number: String,
}

impl Patient {
    /// The patient with account `account_number`.
    pub fn new(account_number: impl Into<String>) -> Self {
        Self {
            account_number: account_number.into(),
        }
    }
}

/// The body of `POST /rest/payment/void`. **Known** (FACTS §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VoidBody {
    /// `Outlet`: where the payment was taken.
    #[serde(rename = "Outlet")]
    pub outlet: OutletIds,
    /// `TransactionID`: the payment to void.
    #[serde(rename = "TransactionID")]
    pub transaction_id: String,
    /// `Patient`, when the integration knows the patient's account.
    #[serde(rename = "Patient", default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<Patient>,
}

impl VoidBody {
    /// A void of payment `transaction_id` taken at `outlet`.
    pub fn new(outlet: &Outlet, transaction_id: &TransactionId) -> Self {
        Self {
            outlet: outlet.into(),
            transaction_id: transaction_id.as_str().to_owned(),
            patient: None,
        }
    }
}

/// The body of `POST /rest/payment/refund-simple`. The path is **known**; the body is a
/// **guess**: the void's body plus `Amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefundBody {
    /// `Outlet`: where the payment was taken.
    #[serde(rename = "Outlet")]
    pub outlet: OutletIds,
    /// `TransactionID`: the payment to give money back on.
    #[serde(rename = "TransactionID")]
    pub transaction_id: String,
    /// `Amount`: how much to give back, a string with two decimals.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `Patient`, when known.
    #[serde(rename = "Patient", default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<Patient>,
}

impl RefundBody {
    /// A refund of `amount` on payment `transaction_id` taken at `outlet`.
    pub fn new(outlet: &Outlet, transaction_id: &TransactionId, amount: Amount) -> Self {
        Self {
            outlet: outlet.into(),
            transaction_id: transaction_id.as_str().to_owned(),
            amount,
            patient: None,
        }
    }
}

/// The body of `POST /rest/payment/sale`. The path is **known**; the body is a **guess**, kept
/// to what the simulator needs to take a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SaleBody {
    /// `Outlet`: where the payment is taken.
    #[serde(rename = "Outlet")]
    pub outlet: OutletIds,
    /// `Amount`: how much, a string with two decimals.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `Card`: the card charged.
    #[serde(rename = "Card")]
    pub card: Card,
    /// `Patient`, when known.
    #[serde(rename = "Patient", default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<Patient>,
}

impl SaleBody {
    /// A sale of `amount` on `card` at `outlet`.
    pub fn new(outlet: &Outlet, amount: Amount, card: Card) -> Self {
        Self {
            outlet: outlet.into(),
            amount,
            card,
            patient: None,
        }
    }
}

/// `Card` in a sale: a **guess** named after the SOAP sale's fields. Its `Debug` never shows
/// the number or the verification code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Card {
    /// `CardNumber`.
    #[serde(rename = "CardNumber")]
    pub card_number: String,
    /// `CardExpiration`, as `MMYY`.
    #[serde(rename = "CardExpiration")]
    pub card_expiration: String,
    /// `CardVerificationNumber`, when given.
    #[serde(
        rename = "CardVerificationNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub card_verification_number: Option<String>,
}

impl Card {
    /// A card without a verification code.
    pub fn new(card_number: impl Into<String>, card_expiration: impl Into<String>) -> Self {
        Self {
            card_number: card_number.into(),
            card_expiration: card_expiration.into(),
            card_verification_number: None,
        }
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("card_number", &"[redacted]")
            .field("card_expiration", &self.card_expiration)
            .field(
                "card_verification_number",
                &self.card_verification_number.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}
