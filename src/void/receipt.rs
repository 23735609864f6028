//! What a successful void returns.

use crate::domain::TransactionId;
use crate::protocol::Protocol;

/// Proof that InstaMed voided a payment: the void completed (`TransactionStatus` `C`) and the
/// payment is now voided (`PrimaryTransactionStatus` `V`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VoidReceipt {
    /// The voided payment. A void keeps the payment's transaction ID.
    pub payment: TransactionId,
    /// `TransactionStatus` of the void (always `C`).
    pub transaction_status: String,
    /// `PrimaryTransactionStatus` of the payment (always `V`).
    pub primary_transaction_status: String,
    /// `ResponseCode`, context only (`000`).
    pub response_code: Option<String>,
    /// `ResponseMessage`, context only (`APPROVED`, `VOIDED`, …).
    pub response_message: Option<String>,
    /// `TransactionID`, if the service returned one.
    pub transaction_id: Option<String>,
    /// `AuthorizationNumber`, if the service returned one.
    pub authorization_number: Option<String>,
    /// The protocol the void was sent over.
    pub protocol: Protocol,
}
