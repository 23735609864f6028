//! Reading `xs:schema` blocks into a plain model, checking that they stay inside the subset
//! ASP.NET web services use.
//!
//! Nothing is resolved here: type references are kept as qualified names and checked when the
//! bindings are built (see [`crate::resolve`]), so that the order of declarations never matters.

use std::collections::BTreeMap;

use roxmltree::Node;

use crate::error::{Problem, Result};
use crate::reference::{self, Reference};
use crate::xml::{self, QName, XSD};

/// Every global declaration of every schema in the WSDL, keyed by qualified name.
#[derive(Debug, Default)]
pub struct Schemas {
    /// Top-level `xs:element`s.
    pub elements: BTreeMap<QName, ElementDecl>,
    /// Named `xs:complexType`s.
    pub complex_types: BTreeMap<QName, ComplexType>,
    /// Named `xs:simpleType`s.
    pub simple_types: BTreeMap<QName, SimpleType>,
}

/// A top-level element declaration.
#[derive(Debug)]
pub struct ElementDecl {
    /// The element's name, in its schema's target namespace.
    pub name: QName,
    /// Its type.
    pub content: Content,
    /// `xs:documentation` text.
    pub doc: Option<String>,
}

/// The type of an element.
#[derive(Debug)]
pub enum Content {
    /// `type="…"`.
    Named(Reference),
    /// An anonymous `xs:complexType` inside the element.
    Anonymous(Box<ComplexType>),
}

/// A complex type: named, or anonymous inside an element.
#[derive(Debug)]
pub struct ComplexType {
    /// Target namespace of the schema declaring the type.
    pub namespace: String,
    /// `abstract="true"`.
    pub is_abstract: bool,
    /// The base of `xs:complexContent/xs:extension`, whose elements come first.
    pub base: Option<Reference>,
    /// The elements of its sequence, in order.
    pub elements: Vec<LocalElement>,
    /// `xs:documentation` text.
    pub doc: Option<String>,
    /// Element path, for error messages.
    pub path: String,
}

/// An element inside a complex type's sequence.
#[derive(Debug)]
pub struct LocalElement {
    /// A declaration or a reference to a top-level element.
    pub kind: LocalKind,
    /// How often the element may occur.
    pub occurs: Occurs,
    /// `nillable="true"`.
    pub nillable: bool,
    /// `default="…"`: the value a reader assumes when the element is absent.
    pub default: Option<String>,
    /// `xs:documentation` text.
    pub doc: Option<String>,
    /// Element path, for error messages.
    pub path: String,
}

/// How a local element is given.
#[derive(Debug)]
pub enum LocalKind {
    /// `name="…"` with a type.
    Declared {
        /// The element's local name.
        name: String,
        /// Its namespace: the schema's target namespace when qualified, none when unqualified.
        namespace: Option<String>,
        /// Its type.
        content: Content,
    },
    /// `ref="…"` to a top-level element.
    Ref(Reference),
}

/// `minOccurs` and `maxOccurs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurs {
    /// `minOccurs`, 1 when absent.
    pub min: u32,
    /// `maxOccurs`, 1 when absent; `None` for `unbounded`.
    pub max: Option<u32>,
}

/// A named simple type: a restriction of another simple type.
#[derive(Debug)]
pub struct SimpleType {
    /// The restricted type.
    pub base: Reference,
    /// The `xs:enumeration` values, in order; empty when the restriction has none. Other facets
    /// (patterns, lengths) only narrow the lexical space and are not represented.
    pub enumerations: Vec<String>,
    /// `xs:documentation` text.
    pub doc: Option<String>,
    /// Element path, for error messages.
    pub path: String,
}

/// Reads one `xs:schema` element into `schemas`.
pub fn read_schema(node: Node<'_, '_>, schemas: &mut Schemas) -> Result<()> {
    let scope = SchemaScope {
        target_namespace: node.attribute("targetNamespace").unwrap_or_default(),
        qualified: match node.attribute("elementFormDefault") {
            None | Some("unqualified") => false,
            Some("qualified") => true,
            Some(other) => {
                return Err(Problem::at(
                    node,
                    format!("invalid elementFormDefault \"{other}\""),
                ));
            }
        },
    };
    for child in xml::elements(node) {
        match xsd_name(child) {
            Some("annotation") => {}
            Some("import") => {
                if child.attribute("schemaLocation").is_some() {
                    return Err(Problem::unsupported(child, "xs:import with schemaLocation"));
                }
                // Without a location the import only declares that another namespace is used;
                // its declarations come from the other schemas in the WSDL.
            }
            Some("element") => {
                let decl = scope.read_top_element(child)?;
                insert_unique(
                    &mut schemas.elements,
                    decl.name.clone(),
                    decl,
                    child,
                    "element",
                )?;
            }
            Some("complexType") => {
                let name = scope.global_name(child)?;
                let complex = scope.read_complex_type(child)?;
                insert_unique(&mut schemas.complex_types, name, complex, child, "type")?;
            }
            Some("simpleType") => {
                let name = scope.global_name(child)?;
                let simple = read_simple_type(child)?;
                insert_unique(&mut schemas.simple_types, name, simple, child, "type")?;
            }
            _ => return Err(unsupported_child(child)),
        }
    }
    Ok(())
}

/// What a schema's declarations inherit from the `xs:schema` element.
struct SchemaScope<'s> {
    target_namespace: &'s str,
    /// `elementFormDefault="qualified"`.
    qualified: bool,
}

impl SchemaScope<'_> {
    fn global_name(&self, node: Node<'_, '_>) -> Result<QName> {
        let name = node
            .attribute("name")
            .ok_or_else(|| Problem::at(node, "global declaration without a name"))?;
        Ok(QName::new(self.target_namespace, name))
    }

    fn read_top_element(&self, node: Node<'_, '_>) -> Result<ElementDecl> {
        for attribute in ["substitutionGroup", "abstract", "fixed", "default"] {
            if node.attribute(attribute).is_some() {
                return Err(Problem::unsupported(
                    node,
                    format!("xs:element {attribute}="),
                ));
            }
        }
        // `nillable` is allowed and has no effect: the struct of a top-level element is the
        // message body itself, which is never nil.
        read_bool(node, "nillable")?;
        Ok(ElementDecl {
            name: self.global_name(node)?,
            content: self.read_content(node)?,
            doc: xml::documentation(node),
        })
    }

    fn read_local_element(&self, node: Node<'_, '_>) -> Result<LocalElement> {
        for attribute in ["fixed", "abstract", "substitutionGroup"] {
            if node.attribute(attribute).is_some() {
                return Err(Problem::unsupported(
                    node,
                    format!("xs:element {attribute}="),
                ));
            }
        }
        let kind = match (node.attribute("name"), reference::resolve(node, "ref")?) {
            (Some(name), None) => LocalKind::Declared {
                name: name.to_owned(),
                namespace: self.local_namespace(node)?,
                content: self.read_content(node)?,
            },
            (None, Some(reference)) => {
                if node.attribute("type").is_some() || xml::elements(node).any(is_type_definition) {
                    return Err(Problem::at(node, "an element reference cannot have a type"));
                }
                LocalKind::Ref(reference)
            }
            _ => {
                return Err(Problem::at(
                    node,
                    "a local element needs either name= or ref=",
                ));
            }
        };
        Ok(LocalElement {
            kind,
            occurs: read_occurs(node)?,
            nillable: read_bool(node, "nillable")?,
            default: node.attribute("default").map(str::to_owned),
            doc: xml::documentation(node),
            path: xml::element_path(node),
        })
    }

    /// The namespace of a local element: `form=` wins over the schema's `elementFormDefault`.
    fn local_namespace(&self, node: Node<'_, '_>) -> Result<Option<String>> {
        let qualified = match node.attribute("form") {
            None => self.qualified,
            Some("qualified") => true,
            Some("unqualified") => false,
            Some(other) => return Err(Problem::at(node, format!("invalid form \"{other}\""))),
        };
        Ok(qualified.then(|| self.target_namespace.to_owned()))
    }

    /// The type of an element: `type=` or one anonymous complex type.
    fn read_content(&self, node: Node<'_, '_>) -> Result<Content> {
        let mut inline = None;
        for child in xml::elements(node) {
            match xsd_name(child) {
                Some("annotation") => {}
                Some("complexType") if inline.is_none() => inline = Some(child),
                Some("simpleType") => {
                    return Err(Problem::unsupported(child, "anonymous xs:simpleType"));
                }
                _ => return Err(unsupported_child(child)),
            }
        }
        match (reference::resolve(node, "type")?, inline) {
            (Some(reference), None) => Ok(Content::Named(reference)),
            (None, Some(complex)) => Ok(Content::Anonymous(Box::new(
                self.read_complex_type(complex)?,
            ))),
            (Some(_), Some(_)) => Err(Problem::at(
                node,
                "an element cannot have both type= and an inline type",
            )),
            (None, None) => Err(Problem::unsupported(
                node,
                "element without a type (xs:anyType)",
            )),
        }
    }

    fn read_complex_type(&self, node: Node<'_, '_>) -> Result<ComplexType> {
        if read_bool(node, "mixed")? {
            return Err(Problem::unsupported(node, "mixed content"));
        }
        let mut complex = ComplexType {
            namespace: self.target_namespace.to_owned(),
            is_abstract: read_bool(node, "abstract")?,
            base: None,
            elements: Vec::new(),
            doc: xml::documentation(node),
            path: xml::element_path(node),
        };
        let mut has_content = false;
        for child in xml::elements(node) {
            let name = xsd_name(child);
            if name == Some("annotation") {
                continue;
            }
            if has_content {
                return Err(unsupported_child(child));
            }
            has_content = true;
            match name {
                Some("sequence") => complex.elements = self.read_sequence(child)?,
                Some("complexContent") => {
                    let (base, elements) = self.read_complex_content(child)?;
                    complex.base = Some(base);
                    complex.elements = elements;
                }
                _ => return Err(unsupported_child(child)),
            }
        }
        Ok(complex)
    }

    /// `xs:complexContent/xs:extension`: the base and the elements added to it.
    fn read_complex_content(&self, node: Node<'_, '_>) -> Result<(Reference, Vec<LocalElement>)> {
        if read_bool(node, "mixed")? {
            return Err(Problem::unsupported(node, "mixed content"));
        }
        let mut derivation = None;
        for child in xml::elements(node) {
            match xsd_name(child) {
                Some("annotation") => {}
                Some("extension") if derivation.is_none() => derivation = Some(child),
                Some("restriction") => {
                    return Err(Problem::unsupported(
                        child,
                        "xs:complexContent/xs:restriction",
                    ));
                }
                _ => return Err(unsupported_child(child)),
            }
        }
        let extension = derivation
            .ok_or_else(|| Problem::at(node, "xs:complexContent without a derivation"))?;
        let base = reference::resolve(extension, "base")?
            .ok_or_else(|| Problem::at(extension, "xs:extension without base="))?;
        let mut elements = Vec::new();
        let mut has_sequence = false;
        for child in xml::elements(extension) {
            match xsd_name(child) {
                Some("annotation") => {}
                Some("sequence") if !has_sequence => {
                    has_sequence = true;
                    elements = self.read_sequence(child)?;
                }
                _ => return Err(unsupported_child(child)),
            }
        }
        Ok((base, elements))
    }

    fn read_sequence(&self, node: Node<'_, '_>) -> Result<Vec<LocalElement>> {
        if read_occurs(node)?
            != (Occurs {
                min: 1,
                max: Some(1),
            })
        {
            return Err(Problem::unsupported(
                node,
                "xs:sequence with minOccurs/maxOccurs",
            ));
        }
        let mut elements = Vec::new();
        for child in xml::elements(node) {
            match xsd_name(child) {
                Some("annotation") => {}
                Some("element") => elements.push(self.read_local_element(child)?),
                _ => return Err(unsupported_child(child)),
            }
        }
        Ok(elements)
    }
}

fn read_simple_type(node: Node<'_, '_>) -> Result<SimpleType> {
    let mut restriction = None;
    for child in xml::elements(node) {
        match xsd_name(child) {
            Some("annotation") => {}
            Some("restriction") if restriction.is_none() => restriction = Some(child),
            _ => return Err(unsupported_child(child)),
        }
    }
    let restriction =
        restriction.ok_or_else(|| Problem::at(node, "xs:simpleType without a restriction"))?;
    let base = reference::resolve(restriction, "base")?
        .ok_or_else(|| Problem::unsupported(restriction, "xs:restriction without base="))?;
    let mut enumerations = Vec::new();
    for facet in xml::elements(restriction) {
        match xsd_name(facet) {
            Some("enumeration") => {
                let value = facet
                    .attribute("value")
                    .ok_or_else(|| Problem::at(facet, "xs:enumeration without value="))?;
                if enumerations.iter().any(|known| known == value) {
                    return Err(Problem::at(
                        facet,
                        format!("duplicate enumeration value \"{value}\""),
                    ));
                }
                enumerations.push(value.to_owned());
            }
            // Facets that only narrow the lexical space: the Rust type is the base's.
            Some(
                "annotation" | "pattern" | "length" | "minLength" | "maxLength" | "whiteSpace"
                | "minInclusive" | "maxInclusive" | "minExclusive" | "maxExclusive" | "totalDigits"
                | "fractionDigits",
            ) => {}
            _ => return Err(unsupported_child(facet)),
        }
    }
    Ok(SimpleType {
        base,
        enumerations,
        doc: xml::documentation(node),
        path: xml::element_path(node),
    })
}

/// `minOccurs` and `maxOccurs` of `node`.
fn read_occurs(node: Node<'_, '_>) -> Result<Occurs> {
    let number = |attribute: &str, value: &str| {
        value
            .trim()
            .parse::<u32>()
            .map_err(|_| Problem::at(node, format!("invalid {attribute}=\"{value}\"")))
    };
    let min = match node.attribute("minOccurs") {
        Some(value) => number("minOccurs", value)?,
        None => 1,
    };
    let max = match node.attribute("maxOccurs") {
        Some(value) if value.trim() == "unbounded" => None,
        Some(value) => Some(number("maxOccurs", value)?),
        None => Some(1),
    };
    if max.is_some_and(|max| max < min) {
        return Err(Problem::at(node, "maxOccurs is smaller than minOccurs"));
    }
    Ok(Occurs { min, max })
}

/// An `xs:boolean` attribute, `false` when absent.
fn read_bool(node: Node<'_, '_>, attribute: &str) -> Result<bool> {
    match node.attribute(attribute).map(str::trim) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(Problem::at(
            node,
            format!("invalid {attribute}=\"{other}\""),
        )),
    }
}

/// The local name of an XML Schema element, `None` for elements of other namespaces.
fn xsd_name<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    (node.tag_name().namespace() == Some(XSD)).then(|| node.tag_name().name())
}

fn is_type_definition(node: Node<'_, '_>) -> bool {
    matches!(xsd_name(node), Some("complexType" | "simpleType"))
}

/// The error for a child element the subset does not allow where it appears.
fn unsupported_child(node: Node<'_, '_>) -> Problem {
    match xsd_name(node) {
        Some(name) => Problem::unsupported(node, format!("xs:{name}")),
        None => Problem::unsupported(node, format!("element {}", xml::written_name(node))),
    }
}

fn insert_unique<T>(
    map: &mut BTreeMap<QName, T>,
    name: QName,
    value: T,
    node: Node<'_, '_>,
    kind: &str,
) -> Result<()> {
    if map.contains_key(&name) {
        return Err(Problem::at(
            node,
            format!(
                "duplicate {kind} '{}' in namespace '{}'",
                name.local, name.namespace
            ),
        ));
    }
    map.insert(name, value);
    Ok(())
}
