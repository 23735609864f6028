//! The operations the simulator serves, named as the generated bindings name them.
//!
//! Names, wrapper elements and actions come from the [`Operation`] implementations generated
//! from the WSDL, so they cannot drift from what the client sends. The field lists (used by the
//! help pages) are written out in the WSDL's order; a test checks them against the WSDL.

use crate::bindings::operations;
use crate::soap::Operation;

/// What the simulator does with an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sale,
    Void,
    Refund,
    ECheckVoid,
}

/// One operation of the service.
#[derive(Debug)]
pub(crate) struct OperationInfo {
    pub kind: Kind,
    pub name: &'static str,
    pub soap11_action: Option<&'static str>,
    pub soap12_action: Option<&'static str>,
    pub request_element: &'static str,
    pub response_element: &'static str,
    pub result_element: &'static str,
    /// The request wrapper's one child.
    pub request_child: &'static str,
    /// The child's fields, when it is a complex type (empty for a plain string).
    pub request_fields: &'static [&'static [&'static str]],
    /// The result's fields.
    pub result_fields: &'static [&'static [&'static str]],
}

impl OperationInfo {
    const fn of<O: Operation>(
        kind: Kind,
        result_element: &'static str,
        request_child: &'static str,
        request_fields: &'static [&'static [&'static str]],
        result_fields: &'static [&'static [&'static str]],
    ) -> Self {
        Self {
            kind,
            name: O::NAME,
            soap11_action: O::SOAP11_ACTION,
            soap12_action: O::SOAP12_ACTION,
            request_element: O::REQUEST_ELEMENT,
            response_element: O::RESPONSE_ELEMENT,
            result_element,
            request_child,
            request_fields,
            result_fields,
        }
    }

    /// Whether `action` names this operation (in either binding).
    pub(crate) fn has_action(&self, action: &str) -> bool {
        self.soap11_action == Some(action) || self.soap12_action == Some(action)
    }
}

/// The service's target namespace, where every wrapper and field element lives.
pub(crate) const NAMESPACE: &str = crate::bindings::TARGET_NAMESPACE;

const BASE: &[&str] = &[
    "MerchantID",
    "StoreID",
    "TerminalID",
    "TransactionID",
    "TransactionNumber",
    "BatchID",
    "TransactionCode",
    "MarketSegment",
    "TransactionStatus",
    "PaymentPlanID",
    "ReasonCode",
    "ReasonText",
    "InstaMedAccountID",
];
const RESPONSE_BASE: &[&str] = &[
    "AuthorizationNumber",
    "ResponseCode",
    "ResponseMessage",
    "PrimaryTransactionID",
    "AuthorizationText",
    "interfaceTransactionStatus",
];

/// Every operation, in the WSDL's order.
pub(crate) const OPERATIONS: [OperationInfo; 4] = [
    OperationInfo::of::<operations::DoCreditCardAuthAndCapt>(
        Kind::Sale,
        "DoCreditCardAuthAndCaptResult",
        "transaction",
        &[
            BASE,
            &[
                "Amount",
                "CardNumber",
                "ExpirationMonth",
                "ExpirationYear",
                "CVN",
                "CardPresentStatus",
            ],
        ],
        &[BASE, RESPONSE_BASE],
    ),
    OperationInfo::of::<operations::DoCreditCardSecondaryVoid>(
        Kind::Void,
        "DoCreditCardSecondaryVoidResult",
        "transaction",
        &[BASE, &["PrimaryTransactionID", "PrimaryCardPresentStatus"]],
        &[BASE, RESPONSE_BASE, &["PrimaryTransactionStatus"]],
    ),
    OperationInfo::of::<operations::DoCreditCardSimpleRefund>(
        Kind::Refund,
        "DoCreditCardSimpleRefundResult",
        "transaction",
        &[BASE, &["Amount", "PrimaryTransactionID"]],
        &[BASE, RESPONSE_BASE],
    ),
    OperationInfo::of::<operations::DoECheckVoidByTransactionId>(
        Kind::ECheckVoid,
        "DoECheckVoidByTransactionIDResult",
        "transactionID",
        &[],
        &[
            BASE,
            RESPONSE_BASE,
            &["PrimaryTransactionStatus", "TransactionServiceFee"],
        ],
    ),
];

/// The operation whose action is `action`.
pub(crate) fn by_action(action: &str) -> Option<&'static OperationInfo> {
    OPERATIONS.iter().find(|op| op.has_action(action))
}

/// The operation whose request wrapper is `{namespace}local`.
pub(crate) fn by_request_element(
    namespace: Option<&str>,
    local: &str,
) -> Option<&'static OperationInfo> {
    (namespace == Some(NAMESPACE))
        .then(|| OPERATIONS.iter().find(|op| op.request_element == local))
        .flatten()
}

/// The operation called `name`.
pub(crate) fn by_name(name: &str) -> Option<&'static OperationInfo> {
    OPERATIONS.iter().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::soap::help::WSDL;

    const XS: &str = "http://www.w3.org/2001/XMLSchema";

    /// The fields of complex type `name`, base type first, read from the WSDL.
    fn fields_of(doc: &roxmltree::Document<'_>, name: &str) -> Vec<String> {
        let ty = doc
            .descendants()
            .find(|n| n.has_tag_name((XS, "complexType")) && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no type {name}"));
        let mut fields = Vec::new();
        if let Some(extension) = ty.descendants().find(|n| n.has_tag_name((XS, "extension"))) {
            let base = extension.attribute("base").unwrap();
            fields = fields_of(doc, base.trim_start_matches("tns:"));
        }
        let own = ty
            .descendants()
            .filter(|n| n.has_tag_name((XS, "element")))
            .filter_map(|n| n.attribute("name").map(str::to_owned));
        fields.extend(own);
        fields
    }

    /// The type of the one child of wrapper element `element`.
    fn child_type(doc: &roxmltree::Document<'_>, element: &str) -> (String, String) {
        let wrapper = doc
            .descendants()
            .find(|n| n.has_tag_name((XS, "element")) && n.attribute("name") == Some(element))
            .unwrap();
        let child = wrapper
            .descendants()
            .skip(1)
            .find(|n| n.has_tag_name((XS, "element")))
            .unwrap();
        let ty = child.attribute("type").unwrap();
        (child.attribute("name").unwrap().to_owned(), ty.to_owned())
    }

    #[test]
    fn the_field_lists_match_the_wsdl() {
        let doc = roxmltree::Document::parse(WSDL).unwrap();
        let flat = |lists: &[&'static [&'static str]]| lists.concat();
        for op in &OPERATIONS {
            let (child, ty) = child_type(&doc, op.request_element);
            assert_eq!(child, op.request_child, "{}", op.name);
            if op.request_fields.is_empty() {
                assert_eq!(ty, "s:string");
            } else {
                let ty = ty.trim_start_matches("tns:");
                assert_eq!(fields_of(&doc, ty), flat(op.request_fields), "{}", op.name);
            }
            let (result, ty) = child_type(&doc, op.response_element);
            assert_eq!(result, op.result_element);
            let ty = ty.trim_start_matches("tns:");
            assert_eq!(fields_of(&doc, ty), flat(op.result_fields), "{}", op.name);
        }
    }

    #[test]
    fn the_answer_writer_follows_the_wsdl_order() {
        let written: Vec<&str> = crate::simulator::answer::ResultFields::default()
            .in_wire_order()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let void = by_name("DoCreditCardSecondaryVoid")
            .unwrap()
            .result_fields
            .concat();
        let positions: Vec<usize> = written
            .iter()
            .map(|name| void.iter().position(|f| f == name).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }
}
