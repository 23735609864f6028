//! The evidence an answer gives, whatever protocol carried it.

/// The parts of a void's answer that decide its outcome, whatever protocol carried it. A
/// refund's answer is read into the same fields and judged by the same statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evidence {
    /// `TransactionStatus` of the void.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` of the payment.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode`.
    pub response_code: Option<String>,
    /// `ResponseMessage`.
    pub response_message: Option<String>,
    /// `PrimaryTransactionID`.
    pub primary_transaction_id: Option<String>,
    /// `TransactionID`.
    pub transaction_id: Option<String>,
    /// `AuthorizationNumber`.
    pub authorization_number: Option<String>,
}
