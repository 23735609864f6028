//! The bindings to generate, in Rust terms: every name is final and every type resolved.

/// Everything the generated file contains.
#[derive(Debug)]
pub struct Bindings {
    /// `targetNamespace` of the WSDL.
    pub target_namespace: String,
    /// Name of the WSDL service.
    pub service_name: String,
    /// The service's `wsdl:documentation`.
    pub service_doc: Option<String>,
    /// Address of the SOAP 1.1 port.
    pub soap11_address: Option<String>,
    /// Address of the SOAP 1.2 port.
    pub soap12_address: Option<String>,
    /// Structs and enums of the `types` module, sorted by Rust name.
    pub types: Vec<TypeItem>,
    /// Operations, sorted by Rust name.
    pub operations: Vec<Operation>,
    /// Bindings that are not SOAP bindings, skipped on purpose.
    pub skipped_bindings: Vec<String>,
    /// Top-level elements with a named type, which need no struct of their own: element name
    /// and type as written.
    pub typed_elements: Vec<(String, String)>,
}

/// An item of the `types` module.
#[derive(Debug)]
pub enum TypeItem {
    /// A complex type or element.
    Struct(Struct),
    /// A simple type with enumerations.
    Enum(Enum),
}

impl TypeItem {
    /// The item's Rust name.
    pub fn rust_name(&self) -> &str {
        match self {
            Self::Struct(item) => &item.rust_name,
            Self::Enum(item) => &item.rust_name,
        }
    }
}

/// A struct for a complex type or an element.
#[derive(Debug)]
pub struct Struct {
    /// Rust name.
    pub rust_name: String,
    /// Element name used when the struct is serialized on its own.
    pub xml_name: String,
    /// Namespace prefix for `namespace`, `None` when there is no namespace.
    pub prefix: Option<String>,
    /// Whether the struct declares its namespace as the default one (ASMX style,
    /// `<X xmlns="…"><Child>`), which is only right when every element it is used for, and every
    /// child, is in that namespace.
    pub default_namespace: bool,
    /// Every (prefix, namespace) the struct and its fields use, sorted by prefix.
    pub namespaces: Vec<(String, String)>,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Fields in sequence order, base type's first.
    pub fields: Vec<Field>,
}

/// A field for a child element.
#[derive(Debug)]
pub struct Field {
    /// Rust name (before keyword escaping).
    pub rust_name: String,
    /// The element's local name, exactly as in the schema.
    pub xml_name: String,
    /// Namespace prefix of the element; `None` for an unqualified element.
    pub prefix: Option<String>,
    /// Type of one occurrence.
    pub ty: FieldType,
    /// How many occurrences.
    pub cardinality: Cardinality,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The schema's name of the type, for people: `xs:string` for a built-in, the local name
    /// for a type of the service's schemas; `None` for an anonymous type. [`FieldType`] names
    /// the Rust type instead, which loses restrictions without enumerations.
    pub xsd_type: Option<String>,
    /// `minOccurs` and `maxOccurs` exactly as the schema says (`None` for `unbounded`), which
    /// [`Cardinality`] folds into four cases.
    pub occurs: (u32, Option<u32>),
    /// Whether the element is `nillable`.
    pub nillable: bool,
}

/// How many times a child element occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// Exactly once: `T`.
    Required,
    /// At most once: `Option<T>`, left out when `None`.
    Optional,
    /// Exactly once but nillable: `Option<T>`, written as `xsi:nil="true"` when `None`, since
    /// the schema requires the element to be there.
    Nillable,
    /// Any number of times: `Vec<T>`.
    Many,
}

/// The Rust type of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// A built-in XML Schema type.
    Builtin(Builtin),
    /// A struct or enum of the `types` module.
    Named(String),
}

/// The built-in XML Schema types the generator maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `xs:string` → `String`.
    String,
    /// `xs:boolean` → `bool`.
    Boolean,
    /// `xs:byte` → `i8`.
    Byte,
    /// `xs:short` → `i16`.
    Short,
    /// `xs:int` → `i32`.
    Int,
    /// `xs:long` → `i64`.
    Long,
    /// `xs:unsignedByte` → `u8`.
    UnsignedByte,
    /// `xs:unsignedShort` → `u16`.
    UnsignedShort,
    /// `xs:unsignedInt` → `u32`.
    UnsignedInt,
    /// `xs:unsignedLong` → `u64`.
    UnsignedLong,
    /// `xs:float` → `f32`.
    Float,
    /// `xs:double` → `f64`.
    Double,
    /// `xs:decimal` → the runtime's `xsd::Decimal`.
    Decimal,
    /// `xs:dateTime` → the runtime's `xsd::DateTime`.
    DateTime,
    /// `xs:base64Binary` → the runtime's `xsd::Base64Binary`.
    Base64Binary,
    /// Microsoft's `guid` → the runtime's `xsd::Guid`.
    Guid,
}

impl Builtin {
    /// The mapping of the XML Schema type `local`, if it is one of the supported built-ins.
    pub fn from_xsd(local: &str) -> Option<Self> {
        Some(match local {
            "string" => Self::String,
            "boolean" => Self::Boolean,
            "byte" => Self::Byte,
            "short" => Self::Short,
            "int" => Self::Int,
            "long" => Self::Long,
            "unsignedByte" => Self::UnsignedByte,
            "unsignedShort" => Self::UnsignedShort,
            "unsignedInt" => Self::UnsignedInt,
            "unsignedLong" => Self::UnsignedLong,
            "float" => Self::Float,
            "double" => Self::Double,
            "decimal" => Self::Decimal,
            "dateTime" => Self::DateTime,
            "base64Binary" => Self::Base64Binary,
            _ => return None,
        })
    }

    /// Whether yaserde's derive handles the type itself (reading it with `FromStr`), rather than
    /// through the type's own `YaDeserialize` implementation.
    pub fn is_yaserde_primitive(self) -> bool {
        !matches!(
            self,
            Self::Decimal | Self::DateTime | Self::Base64Binary | Self::Guid
        )
    }
}

/// An enum for a simple type with enumerations.
#[derive(Debug)]
pub struct Enum {
    /// Rust name.
    pub rust_name: String,
    /// The simple type's local name.
    pub xml_name: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// One variant per enumeration value, in schema order.
    pub variants: Vec<Variant>,
}

/// One enumeration value.
#[derive(Debug)]
pub struct Variant {
    /// Rust name.
    pub rust_name: String,
    /// The value, exactly as in the schema.
    pub value: String,
}

/// A SOAP operation.
#[derive(Debug)]
pub struct Operation {
    /// The operation's name in the WSDL.
    pub name: String,
    /// Name of the marker type in the `operations` module.
    pub rust_name: String,
    /// The operation's `wsdl:documentation` lines; empty when it has none.
    pub doc: Vec<String>,
    /// Rust name of the request wrapper struct.
    pub request: String,
    /// Rust name of the response wrapper struct.
    pub response: String,
    /// Namespace of both wrapper elements.
    pub namespace: String,
    /// Local name of the request wrapper element.
    pub request_element: String,
    /// Local name of the response wrapper element.
    pub response_element: String,
    /// SOAP 1.1 `soapAction`.
    pub soap11_action: Option<String>,
    /// SOAP 1.2 `soapAction`.
    pub soap12_action: Option<String>,
}
