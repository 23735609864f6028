//! The operations the simulator serves, named as the generated bindings name them.
//!
//! Names, wrapper elements, actions and fields all come from the [`Operation`] and [`Shape`]
//! implementations generated from the WSDL, so they cannot drift from what the client sends,
//! whichever WSDL the crate was built from.

use crate::bindings::operations;
use instamed_soap::soap::{Child, Operation, Shape};

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
    /// The request wrapper's one child (`transaction`).
    pub request_child: &'static str,
    /// The response wrapper's one child (`…Result`).
    pub result_element: &'static str,
    /// The request wrapper's children, with their types' shapes.
    pub request: &'static [Child],
    /// The response wrapper's children.
    pub response: &'static [Child],
}

impl OperationInfo {
    const fn of<O: Operation>(kind: Kind) -> Self
    where
        O::Request: Shape,
        O::Response: Shape,
    {
        let request = <O::Request as Shape>::CONTENT.children();
        let response = <O::Response as Shape>::CONTENT.children();
        Self {
            kind,
            name: O::NAME,
            soap11_action: O::SOAP11_ACTION,
            soap12_action: O::SOAP12_ACTION,
            request_element: O::REQUEST_ELEMENT,
            response_element: O::RESPONSE_ELEMENT,
            request_child: first_name(request),
            result_element: first_name(response),
            request,
            response,
        }
    }

    /// Whether `action` names this operation (in either binding).
    pub(crate) fn has_action(&self, action: &str) -> bool {
        self.soap11_action == Some(action) || self.soap12_action == Some(action)
    }
}

/// The service's target namespace, where every wrapper and field element lives.
pub(crate) const NAMESPACE: &str = crate::bindings::TARGET_NAMESPACE;

/// The name of a document/literal wrapper's one child. ASMX wrappers always have one; a WSDL
/// whose wrapper has none stops the build here.
const fn first_name(children: &'static [Child]) -> &'static str {
    match children {
        [first, ..] => first.name,
        [] => panic!("an operation's wrapper element has no child in this WSDL"),
    }
}

/// Every operation, in the WSDL's order.
pub(crate) const OPERATIONS: [OperationInfo; 4] = [
    OperationInfo::of::<operations::DoCreditCardAuthAndCapt>(Kind::Sale),
    OperationInfo::of::<operations::DoCreditCardSecondaryVoid>(Kind::Void),
    OperationInfo::of::<operations::DoCreditCardSimpleRefund>(Kind::Refund),
    OperationInfo::of::<operations::DoECheckVoidByTransactionId>(Kind::ECheckVoid),
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
    use crate::soap::help::WSDL;
    use instamed_soap::soap::Content;

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
        let names = |children: &[Child]| -> Vec<String> {
            children.iter().map(|child| child.name.to_owned()).collect()
        };
        for op in &OPERATIONS {
            let (child, ty) = child_type(&doc, op.request_element);
            assert_eq!(child, op.request_child, "{}", op.name);
            let transaction = (op.request[0].content)();
            match ty.strip_prefix("tns:") {
                Some(ty) => assert_eq!(
                    fields_of(&doc, ty),
                    names(transaction.children()),
                    "{}",
                    op.name
                ),
                None => assert!(matches!(transaction, Content::Text(_)), "{}", op.name),
            }
            let (result, ty) = child_type(&doc, op.response_element);
            assert_eq!(result, op.result_element);
            let ty = ty.trim_start_matches("tns:");
            let fields = names((op.response[0].content)().children());
            assert_eq!(fields_of(&doc, ty), fields, "{}", op.name);
        }
    }

    #[test]
    fn the_answer_writer_follows_the_wsdl_order() {
        let written: Vec<&str> = crate::answer::ResultFields::default()
            .in_wire_order()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let void: Vec<&str> = (by_name("DoCreditCardSecondaryVoid").unwrap().response[0].content)()
            .children()
            .iter()
            .map(|child| child.name)
            .collect();
        let positions: Vec<usize> = written
            .iter()
            .map(|name| void.iter().position(|f| f == name).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }
}
