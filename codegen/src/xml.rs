//! Small helpers over roxmltree: namespaces, qualified names, element paths for error messages.

use roxmltree::Node;

/// Namespace of WSDL 1.1 documents.
pub const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
/// Namespace of the WSDL SOAP 1.1 binding extension.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
/// Namespace of the WSDL SOAP 1.2 binding extension.
pub const SOAP12: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
/// Namespace of XML Schema.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// Namespace where ASP.NET declares its `guid` and `char` simple types.
pub const MS_TYPES: &str = "http://microsoft.com/wsdl/types/";

/// A namespace-qualified name, compared by namespace URI and local name (never by prefix).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    /// Namespace URI, empty for no namespace.
    pub namespace: String,
    /// Local part.
    pub local: String,
}

impl QName {
    /// A name in `namespace`.
    pub fn new(namespace: &str, local: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            local: local.to_owned(),
        }
    }
}

/// Whether `node` is the element `{namespace}local`.
pub fn is(node: Node<'_, '_>, namespace: &str, local: &str) -> bool {
    node.is_element() && node.has_tag_name((namespace, local))
}

/// The element children of `node`, in document order.
pub fn elements<'a, 'input>(
    node: Node<'a, 'input>,
) -> impl Iterator<Item = Node<'a, 'input>> + use<'a, 'input> {
    node.children().filter(Node::is_element)
}

/// The element name as written in the file, prefix included (`s:complexType`).
pub fn written_name<'input>(node: Node<'_, 'input>) -> &'input str {
    let input = node.document().input_text();
    // An element's range starts at its `<`, which is followed by the name as written.
    let after_bracket = input.get(node.range().start + 1..).unwrap_or_default();
    let end = after_bracket
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(after_bracket.len());
    match &after_bracket[..end] {
        "" => node.tag_name().name(),
        name => name,
    }
}

/// An XPath-like path to `node` for error messages: prefixes as written, siblings told apart by
/// `[@name='…']` when the element has a name, else by a 1-based `[n]` when several siblings share
/// its name.
pub fn element_path(node: Node<'_, '_>) -> String {
    let mut steps: Vec<String> = node
        .ancestors()
        .filter(Node::is_element)
        .map(path_step)
        .collect();
    steps.reverse();
    format!("/{}", steps.join("/"))
}

fn path_step(node: Node<'_, '_>) -> String {
    let name = written_name(node);
    if let Some(value) = node.attribute("name") {
        return format!("{name}[@name='{value}']");
    }
    let same_name = |other: &Node<'_, '_>| other.tag_name() == node.tag_name();
    let Some(parent) = node.parent() else {
        return name.to_owned();
    };
    let siblings = elements(parent).filter(same_name).count();
    if siblings < 2 {
        return name.to_owned();
    }
    // `prev_siblings` starts with the node itself, so the count is the 1-based position.
    let position = node
        .prev_siblings()
        .filter(|n| n.is_element() && same_name(n))
        .count();
    format!("{name}[{position}]")
}

/// The text of the `documentation` children of `node`'s annotation (XML Schema) or of `node`
/// itself (WSDL), trimmed; `None` when there is none.
pub fn documentation(node: Node<'_, '_>) -> Option<String> {
    let direct = elements(node).filter(|child| is(*child, WSDL, "documentation"));
    let annotated = elements(node)
        .filter(|child| is(*child, XSD, "annotation"))
        .flat_map(elements)
        .filter(|child| is(*child, XSD, "documentation"));
    let text: Vec<String> = direct
        .chain(annotated)
        .map(|doc| {
            doc.descendants()
                .filter(Node::is_text)
                .filter_map(|text| text.text())
                .collect::<String>()
        })
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    (!text.is_empty()).then(|| text.join("\n\n"))
}
