//! The service as the generator understands it, for people rather than for the compiler: each
//! operation's request and answer as trees of elements with their schema types and occurrence.
//!
//! It is read off the very [`Bindings`] the generated code comes from, so what a person inspects
//! is what the bindings send and read, base types flattened in the same order.

use std::collections::BTreeMap;

use crate::model::{Bindings, Field, FieldType, TypeItem};

/// A web service's SOAP operations, as [`crate::inspect()`] reads them from a WSDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Name of the `wsdl:service`.
    pub name: String,
    /// `targetNamespace` of the WSDL.
    pub target_namespace: String,
    /// Address of the SOAP 1.1 port, if the WSDL has one.
    pub soap11_address: Option<String>,
    /// Address of the SOAP 1.2 port, if the WSDL has one.
    pub soap12_address: Option<String>,
    /// The operations of the SOAP bindings, sorted by name.
    pub operations: Vec<Operation>,
}

impl Service {
    /// The operation named `name` in the WSDL (case matters, as on the wire).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.name == name)
    }
}

/// One SOAP operation: its actions and the two wrapper elements it exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name in the WSDL.
    pub name: String,
    /// Its `wsdl:documentation`, one entry a line; empty when it has none.
    pub doc: Vec<String>,
    /// `soapAction` of the SOAP 1.1 binding.
    pub soap11_action: Option<String>,
    /// `soapAction` of the SOAP 1.2 binding.
    pub soap12_action: Option<String>,
    /// Namespace of both wrapper elements.
    pub namespace: String,
    /// The request's wrapper element (the body's child), with every element below it.
    pub request: Element,
    /// The answer's wrapper element, with every element below it.
    pub response: Element,
}

/// An element and, when its type is complex, the elements it contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Local name, exactly as in the schema.
    pub name: String,
    /// The schema type: `xs:…` for a built-in, the local name for a type of the service's
    /// schemas, `None` for an anonymous type (wrapper elements have one).
    pub xsd_type: Option<String>,
    /// `minOccurs`.
    pub min_occurs: u32,
    /// `maxOccurs`; `None` for `unbounded`.
    pub max_occurs: Option<u32>,
    /// Whether the element is `nillable`.
    pub nillable: bool,
    /// The values an enumerated type allows, in schema order; empty for other types.
    pub values: Vec<String>,
    /// The contained elements in sequence order, a base type's first; empty for a simple type.
    pub children: Vec<Element>,
    /// Whether the element's type is one of its ancestors' (possible through `maxOccurs` > 1):
    /// its children are those of that ancestor and are not repeated here.
    pub recursive: bool,
}

/// The public view of `bindings`.
pub(crate) fn service(bindings: &Bindings) -> Service {
    let types: BTreeMap<&str, &TypeItem> = bindings
        .types
        .iter()
        .map(|item| (item.rust_name(), item))
        .collect();
    let wrapper = |element: &str, rust_name: &str| Element {
        name: element.to_owned(),
        xsd_type: None,
        min_occurs: 1,
        max_occurs: Some(1),
        nillable: false,
        values: Vec::new(),
        children: children(&types, rust_name, &mut vec![rust_name]),
        recursive: false,
    };
    let mut operations: Vec<Operation> = bindings
        .operations
        .iter()
        .map(|op| Operation {
            name: op.name.clone(),
            doc: op.doc.clone(),
            soap11_action: op.soap11_action.clone(),
            soap12_action: op.soap12_action.clone(),
            namespace: op.namespace.clone(),
            request: wrapper(&op.request_element, &op.request),
            response: wrapper(&op.response_element, &op.response),
        })
        .collect();
    // The bindings sort by Rust name; a person looks an operation up by its WSDL name.
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    Service {
        name: bindings.service_name.clone(),
        target_namespace: bindings.target_namespace.clone(),
        soap11_address: bindings.soap11_address.clone(),
        soap12_address: bindings.soap12_address.clone(),
        operations,
    }
}

/// The elements of the struct `rust_name`; `path` holds the structs above, so that a type
/// containing itself (through a list) ends the descent instead of recursing forever.
fn children<'b>(
    types: &BTreeMap<&str, &'b TypeItem>,
    rust_name: &str,
    path: &mut Vec<&'b str>,
) -> Vec<Element> {
    let Some(TypeItem::Struct(item)) = types.get(rust_name) else {
        return Vec::new();
    };
    item.fields
        .iter()
        .map(|field| element(types, field, path))
        .collect()
}

fn element<'b>(
    types: &BTreeMap<&str, &'b TypeItem>,
    field: &'b Field,
    path: &mut Vec<&'b str>,
) -> Element {
    let mut element = Element {
        name: field.xml_name.clone(),
        xsd_type: field.xsd_type.clone(),
        min_occurs: field.occurs.0,
        max_occurs: field.occurs.1,
        nillable: field.nillable,
        values: Vec::new(),
        children: Vec::new(),
        recursive: false,
    };
    let FieldType::Named(name) = &field.ty else {
        return element;
    };
    match types.get(name.as_str()) {
        Some(TypeItem::Enum(item)) => {
            element.values = item.variants.iter().map(|v| v.value.clone()).collect();
        }
        Some(TypeItem::Struct(_)) if path.contains(&name.as_str()) => element.recursive = true,
        Some(TypeItem::Struct(_)) => {
            path.push(name);
            element.children = children(types, name, path);
            path.pop();
        }
        None => {}
    }
    element
}
