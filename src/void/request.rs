//! A void request, valid by construction.

use crate::bindings::operations::DoCreditCardSecondaryVoid;
use crate::bindings::types;
use crate::domain::{CardPresentStatus, Outlet, TransactionId};
use crate::soap::{Operation, WriteXml, XmlWriter};

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

/// The void's request element, `DoCreditCardSecondaryVoid`, written from the request's own
/// text: the same bytes as the generated type [`VoidRequest::to_soap`] returns (a test holds
/// them equal), without the five `String`s that type needs copied and freed per void.
pub(crate) struct SoapVoid<'r>(pub(crate) &'r VoidRequest);

/// The `transaction` element inside it (`SecondaryCreditCardVoidRequestData`), holding the
/// fields [`VoidRequest::to_soap`] sets, in the schema's order.
struct SoapTransaction<'r>(&'r VoidRequest);

/// The namespace of the operation and of its children (the service's target namespace).
const NAMESPACE: &str = DoCreditCardSecondaryVoid::NAMESPACE;

impl WriteXml for SoapVoid<'_> {
    fn write_content(&self, writer: &mut XmlWriter) {
        writer.element(NAMESPACE, "transaction", &SoapTransaction(self.0));
    }
}

impl WriteXml for SoapTransaction<'_> {
    fn write_content(&self, writer: &mut XmlWriter) {
        let request = self.0;
        writer.element(NAMESPACE, "MerchantID", request.outlet.merchant_id());
        writer.element(NAMESPACE, "StoreID", request.outlet.store_id());
        writer.element(NAMESPACE, "TerminalID", request.outlet.terminal_id());
        writer.element(NAMESPACE, "PrimaryTransactionID", request.payment.as_str());
        let status = request.card_present_status.as_str();
        writer.element(NAMESPACE, "PrimaryCardPresentStatus", status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::SoapVersion;

    /// The hand-written element and the generated one write the same bytes, in both versions,
    /// for every card-present status and for identifiers of every form the types accept.
    #[test]
    fn the_void_element_is_written_as_the_generated_type_writes_it() {
        let outlets = [
            Outlet::new("123123123", "123", "123").unwrap(),
            Outlet::new("1", "22", "333").unwrap(),
            Outlet::new("m&<1>", "s'\"2", "t é\u{1F600}").unwrap(),
        ];
        let payments = [
            "EE52401813A74328AAA7D93319FF4383",
            "c0ffee00000000000000000000000001",
            "1",
            "a&b<c>d\"e'f g]]>",
        ];
        for outlet in &outlets {
            for payment in payments {
                for status in CardPresentStatus::ALL {
                    let request =
                        VoidRequest::new(outlet.clone(), TransactionId::new(payment).unwrap())
                            .with_card_present_status(status);
                    for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
                        let generated = crate::soap::encode::<DoCreditCardSecondaryVoid>(
                            version,
                            &request.to_soap(),
                        );
                        let written = crate::soap::encode_element(
                            version,
                            DoCreditCardSecondaryVoid::NAMESPACE,
                            DoCreditCardSecondaryVoid::REQUEST_ELEMENT,
                            &SoapVoid(&request),
                        );
                        assert_eq!(
                            String::from_utf8_lossy(&written),
                            String::from_utf8_lossy(&generated)
                        );
                    }
                }
            }
        }
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
}
