//! The JSON bodies the service answers with: a payment answer (2xx) or an error (non-2xx).

use serde::{Deserialize, Serialize};

use super::TransactionStatus;

/// The body of a 2xx answer to a void, refund or sale.
///
/// That it carries `TransactionID` is **known** (FACTS §3); every other field is a **guess**
/// modelled on the SOAP result (`BasePaymentResponseData` and the void's
/// `PrimaryTransactionStatus`), PascalCase as in the request. `TransactionStatus` is required:
/// without it nothing can be judged, so an answer lacking it does not read at all (an unreadable
/// answer, whose outcome is unknown). Fields this model does not know are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentAnswer {
    /// `TransactionID`: for a void, the payment's own ID (a void keeps it); for a refund or a
    /// sale, the new transaction's ID.
    #[serde(
        rename = "TransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    /// `TransactionStatus`: the status of this transaction (`C` done, `D` declined).
    #[serde(rename = "TransactionStatus")]
    pub transaction_status: TransactionStatus,
    /// `PrimaryTransactionID`: the payment the request named.
    #[serde(
        rename = "PrimaryTransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_transaction_id: Option<String>,
    /// `PrimaryTransactionStatus`: where that payment stands now (`V` once voided).
    #[serde(
        rename = "PrimaryTransactionStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_transaction_status: Option<TransactionStatus>,
    /// `ResponseCode`: context only (`000` approved).
    #[serde(
        rename = "ResponseCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_code: Option<String>,
    /// `ResponseMessage`: context only.
    #[serde(
        rename = "ResponseMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_message: Option<String>,
    /// `AuthorizationNumber`.
    #[serde(
        rename = "AuthorizationNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization_number: Option<String>,
    /// `AuthorizationText`.
    #[serde(
        rename = "AuthorizationText",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization_text: Option<String>,
}

impl PaymentAnswer {
    /// The keys this model reads, spelled as it reads them.
    pub(crate) const FIELDS: &'static [&'static str] = &[
        "TransactionID",
        "TransactionStatus",
        "PrimaryTransactionID",
        "PrimaryTransactionStatus",
        "ResponseCode",
        "ResponseMessage",
        "AuthorizationNumber",
        "AuthorizationText",
    ];

    /// An answer with `transaction_status` and nothing else.
    pub fn new(transaction_status: TransactionStatus) -> Self {
        Self {
            transaction_id: None,
            transaction_status,
            primary_transaction_id: None,
            primary_transaction_status: None,
            response_code: None,
            response_message: None,
            authorization_number: None,
            authorization_text: None,
        }
    }
}

/// The body of a non-2xx answer. Entirely a **guess**: ASP.NET Web API's error body
/// (`{"Message": …}`) with the payment answer's status fields beside it, so that a refusal
/// sent as an error can still say, in structured fields, what it refuses. Every field is
/// optional: the HTTP status already says the request failed, and a proxy's error may carry
/// none of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorAnswer {
    /// `Message`: what went wrong, in words (context only).
    #[serde(rename = "Message", default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `TransactionID`.
    #[serde(
        rename = "TransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    /// `TransactionStatus` (`D` for a refusal).
    #[serde(
        rename = "TransactionStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_status: Option<TransactionStatus>,
    /// `PrimaryTransactionID`.
    #[serde(
        rename = "PrimaryTransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_transaction_id: Option<String>,
    /// `PrimaryTransactionStatus`.
    #[serde(
        rename = "PrimaryTransactionStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_transaction_status: Option<TransactionStatus>,
    /// `ResponseCode`.
    #[serde(
        rename = "ResponseCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_code: Option<String>,
    /// `ResponseMessage`.
    #[serde(
        rename = "ResponseMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_message: Option<String>,
}

impl ErrorAnswer {
    /// The keys this model reads, spelled as it reads them.
    pub(crate) const FIELDS: &'static [&'static str] = &[
        "Message",
        "TransactionID",
        "TransactionStatus",
        "PrimaryTransactionID",
        "PrimaryTransactionStatus",
        "ResponseCode",
        "ResponseMessage",
    ];

    /// An error saying `message` and nothing structured.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            ..Self::default()
        }
    }
}
