//! References to named definitions (`type="tns:Foo"`), resolved by the namespaces in scope
//! where they are written.

use roxmltree::Node;

use crate::error::{Problem, Result};
use crate::xml::{QName, element_path};

/// A reference to a named definition, as found in an attribute value (`type="tns:Foo"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The resolved name.
    pub name: QName,
    /// The attribute value as written, for error messages.
    pub written: String,
    /// Path of the element holding the reference, for error messages.
    pub at: String,
}

/// Resolves the QName in attribute `attribute` of `node` by the namespace declarations in scope.
pub fn resolve(node: Node<'_, '_>, attribute: &str) -> Result<Option<Reference>> {
    let Some(written) = node.attribute(attribute) else {
        return Ok(None);
    };
    let (prefix, local) = match written.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, written),
    };
    let namespace = match node.lookup_namespace_uri(prefix) {
        Some(namespace) => namespace,
        // An unprefixed name with no default namespace in scope is in no namespace.
        None if prefix.is_none() => "",
        None => {
            return Err(Problem::at(
                node,
                format!("undeclared namespace prefix in {attribute}=\"{written}\""),
            ));
        }
    };
    Ok(Some(Reference {
        name: QName::new(namespace, local),
        written: written.to_owned(),
        at: element_path(node),
    }))
}
