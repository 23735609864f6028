//! A refund request, valid by construction, and what a refund or the void-or-refund policy
//! gives back.

use crate::Protocol;
use crate::bindings::types;
use crate::domain::{Amount, InvalidRequest, Outlet, TransactionId};
use crate::void::{VoidReceipt, VoidRequest};

/// A simple refund of `amount` on one captured payment.
///
/// ```
/// use instamed_soap::rest::Amount;
/// use instamed_soap::{Outlet, RefundRequest, TransactionId};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let request = RefundRequest::new(
///     Outlet::new("123123123", "123", "123")?,
///     TransactionId::new("EE52401813A74328AAA7D93319FF4383")?,
///     "4.00".parse::<Amount>()?,
/// )?;
/// assert_eq!(request.amount().to_string(), "4.00");
/// assert!(RefundRequest::new(request.outlet().clone(), request.payment().clone(),
///     Amount::from_cents(0)).is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    outlet: Outlet,
    payment: TransactionId,
    amount: Amount,
}

impl RefundRequest {
    /// A refund of `amount` (more than zero; an [`Amount`] has at most two decimals by
    /// construction) on `payment`, taken at `outlet`.
    pub fn new(
        outlet: Outlet,
        payment: TransactionId,
        amount: Amount,
    ) -> Result<Self, InvalidRequest> {
        if amount.cents() == 0 {
            return Err(InvalidRequest::new("Amount", "must be more than 0.00"));
        }
        Ok(Self {
            outlet,
            payment,
            amount,
        })
    }

    /// A refund of `amount` on the payment `void` was for.
    pub fn for_void(void: &VoidRequest, amount: Amount) -> Result<Self, InvalidRequest> {
        Self::new(void.outlet().clone(), void.payment().clone(), amount)
    }

    /// The outlet.
    pub fn outlet(&self) -> &Outlet {
        &self.outlet
    }

    /// The payment to give money back on.
    pub fn payment(&self) -> &TransactionId {
        &self.payment
    }

    /// How much to give back.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The generated SOAP request element (`DoCreditCardSimpleRefund`).
    pub fn to_soap(&self) -> types::DoCreditCardSimpleRefund {
        let transaction = types::CreditCardSimpleRefundRequestData {
            merchant_id: Some(self.outlet.merchant_id().to_owned()),
            store_id: Some(self.outlet.store_id().to_owned()),
            terminal_id: Some(self.outlet.terminal_id().to_owned()),
            amount: Some(self.amount.to_string()),
            primary_transaction_id: Some(self.payment.as_str().to_owned()),
            ..Default::default()
        };
        types::DoCreditCardSimpleRefund {
            transaction: Some(transaction),
        }
    }

    /// The pairs of this refund's NVP form (`transactionAction=SimpleRefund`), with the amount
    /// written in `amount` (two decimals).
    pub fn to_nvp<'a>(&'a self, amount: &'a str) -> [(&'a str, &'a str); 7] {
        [
            ("transactionType", "CreditCard"),
            ("transactionAction", "SimpleRefund"),
            ("MerchantID", self.outlet.merchant_id()),
            ("StoreID", self.outlet.store_id()),
            ("TerminalID", self.outlet.terminal_id()),
            ("amount", amount),
            ("primaryTransactionID", self.payment.as_str()),
        ]
    }
}

/// Proof that InstaMed made a refund: `TransactionStatus` `C` and the refund's own
/// transaction ID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundReceipt {
    /// The payment refunded.
    pub payment: TransactionId,
    /// The amount asked for and given back.
    pub amount: Amount,
    /// The refund's own `TransactionID` (a new transaction, not the payment's).
    pub refund_id: String,
    /// `TransactionStatus` of the refund (always `C`).
    pub transaction_status: String,
    /// `PrimaryTransactionStatus` of the payment, if given.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode`, context only.
    pub response_code: Option<String>,
    /// `ResponseMessage`, context only.
    pub response_message: Option<String>,
    /// `AuthorizationNumber`, if given.
    pub authorization_number: Option<String>,
    /// The protocol the refund went over.
    pub protocol: Protocol,
}

/// What [`Client::void_or_refund`](crate::Client::void_or_refund) did. A refund is never
/// reported as a void.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VoidOrRefund {
    /// The payment was voided.
    Voided(VoidReceipt),
    /// The void was refused as too late (a known not-voidable refusal) and the amount was
    /// refunded instead.
    Refunded(RefundReceipt),
    /// An earlier void's outcome was unknown, and reconciling it proved the payment voided
    /// (by that void or by this command's): nothing was refunded.
    Confirmed(crate::VoidConfirmation),
}
