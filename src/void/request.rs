//! A void request, valid by construction.

use crate::bindings::types;
use crate::domain::{CardPresentStatus, Outlet, TransactionId};

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
            merchant_id: Some(self.outlet.merchant_id().to_owned()),
            store_id: Some(self.outlet.store_id().to_owned()),
            terminal_id: Some(self.outlet.terminal_id().to_owned()),
            primary_transaction_id: Some(self.payment.as_str().to_owned()),
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
}
